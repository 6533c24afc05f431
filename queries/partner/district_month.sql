-- Serious violence by district, month and cohort. Documentation, column tests and report placement: district_month.toml
WITH cohorts AS (
    SELECT 'all' AS cohort, 0 AS young_only
    UNION ALL
    -- Ages come from the persons extract, the cohort's residents from a population by age:
    -- without either there is no cohort panel.
    SELECT 'under_' || CAST(young_age_cutoff AS VARCHAR), 1 FROM params CROSS JOIN available
    WHERE available.persons AND available.residents_by_age_sex
),
offence_cohorts AS (
    SELECT s.district, s.month, c.cohort
    FROM sv_offences s
    LEFT JOIN young_crimes y ON y.crime_id = s.crime_id
    CROSS JOIN cohorts c
    WHERE c.young_only = 0 OR y.crime_id IS NOT NULL
),
counts AS (
    SELECT cohort, district, month, COUNT(*) AS offences FROM offence_cohorts GROUP BY cohort, district, month
),
districts AS (
    SELECT DISTINCT lad_name AS district FROM lsoa
    UNION
    SELECT district FROM counts
),
pop AS (
    SELECT r.district, c.cohort, SUM(r.population) AS residents
    FROM residents r CROSS JOIN cohorts c CROSS JOIN params p
    WHERE c.young_only = 0 OR r.age < p.young_age_cutoff
    GROUP BY r.district, c.cohort
),
cells AS (
    SELECT c.cohort, d.district, m.month, COALESCE(n.offences, 0) AS offences, pop.residents
    FROM cohorts c CROSS JOIN districts d CROSS JOIN period_months m
    LEFT JOIN counts n ON n.cohort = c.cohort AND n.district = d.district AND n.month = m.month
    LEFT JOIN pop ON pop.cohort = c.cohort AND pop.district = d.district
)
SELECT cohort, district, month, offences, residents FROM cells
UNION ALL
SELECT cohort, district, 'Total', SUM(offences), MAX(residents) FROM cells GROUP BY cohort, district
UNION ALL
SELECT cohort, 'Total', month, SUM(offences), SUM(residents) FROM cells GROUP BY cohort, month
UNION ALL
SELECT cohort, 'Total', 'Total', SUM(offences), SUM(residents) / COUNT(DISTINCT month) FROM cells GROUP BY cohort
ORDER BY cohort, district = 'Total', district, month = 'Total', month;
