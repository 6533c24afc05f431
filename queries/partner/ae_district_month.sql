-- Assault-related A&E attendances by residents, by home district, month and cohort. Documentation, column tests and report placement: ae_district_month.toml
WITH cohorts AS (
    SELECT 'all' AS cohort, 0 AS young_only
    UNION ALL
    -- The cohort's residents need a population by age: without one there is no cohort panel.
    SELECT 'under_' || CAST(young_age_cutoff AS VARCHAR), 1 FROM params CROSS JOIN available
    WHERE available.residents_by_age_sex
),
scoped AS (
    SELECT a.district, a.month, c.cohort
    FROM ae_assaults a CROSS JOIN params p CROSS JOIN cohorts c
    WHERE a.arrived_date BETWEEN p.period_start AND p.period_end
      AND (c.young_only = 0 OR a.age < p.young_age_cutoff)
),
counts AS (
    SELECT cohort, district, month, COUNT(*) AS attendances FROM scoped GROUP BY cohort, district, month
),
districts AS (SELECT DISTINCT lad_name AS district FROM lsoa),
pop AS (
    SELECT r.district, c.cohort, SUM(r.population) AS residents
    FROM residents r CROSS JOIN cohorts c CROSS JOIN params p
    WHERE c.young_only = 0 OR r.age < p.young_age_cutoff
    GROUP BY r.district, c.cohort
),
cells AS (
    SELECT c.cohort, d.district, m.month, COALESCE(n.attendances, 0) AS attendances, pop.residents
    FROM cohorts c CROSS JOIN districts d CROSS JOIN period_months m
    LEFT JOIN counts n ON n.cohort = c.cohort AND n.district = d.district AND n.month = m.month
    LEFT JOIN pop ON pop.cohort = c.cohort AND pop.district = d.district
)
SELECT cohort, district, month, attendances, residents FROM cells
UNION ALL
SELECT cohort, district, 'Total', SUM(attendances), MAX(residents) FROM cells GROUP BY cohort, district
UNION ALL
SELECT cohort, 'Total', month, SUM(attendances), SUM(residents) FROM cells GROUP BY cohort, month
UNION ALL
SELECT cohort, 'Total', 'Total', SUM(attendances), SUM(residents) / COUNT(DISTINCT month) FROM cells GROUP BY cohort
ORDER BY cohort, district = 'Total', district, month = 'Total', month;
