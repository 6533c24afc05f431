-- Serious violence by LSOA, financial year and cohort. Documentation, column tests and report placement: lsoa_year.toml
WITH cohorts AS (
    SELECT 'all' AS cohort, 0 AS young_only
    UNION ALL
    -- Ages come from the persons extract, the cohort's residents from a population by age:
    -- without either there is no cohort panel.
    SELECT 'under_' || CAST(young_age_cutoff AS VARCHAR), 1 FROM params CROSS JOIN available
    WHERE available.persons AND available.residents_by_age_sex
),
offence_cohorts AS (
    SELECT COALESCE(s.lsoa_code, 'Unknown') AS lsoa_code, s.financial_year, c.cohort
    FROM sv_offences s
    LEFT JOIN young_crimes y ON y.crime_id = s.crime_id
    CROSS JOIN cohorts c
    WHERE c.young_only = 0 OR y.crime_id IS NOT NULL
),
years AS (SELECT DISTINCT financial_year FROM sv_offences),
areas AS (
    SELECT lsoa_code, lsoa_name, lad_name AS district FROM lsoa
    UNION ALL
    SELECT 'Unknown', CAST(NULL AS VARCHAR), 'Unknown'
),
pop AS (
    SELECT r.lsoa_code, c.cohort, SUM(r.population) AS residents
    FROM residents r CROSS JOIN cohorts c CROSS JOIN params p
    WHERE c.young_only = 0 OR r.age < p.young_age_cutoff
    GROUP BY r.lsoa_code, c.cohort
),
counts AS (
    SELECT cohort, lsoa_code, financial_year, COUNT(*) AS offences FROM offence_cohorts GROUP BY cohort, lsoa_code, financial_year
),
cells AS (
    SELECT c.cohort, a.lsoa_code, a.lsoa_name, a.district, y.financial_year, COALESCE(n.offences, 0) AS offences, pop.residents
    FROM cohorts c
    CROSS JOIN areas a
    CROSS JOIN years y
    LEFT JOIN counts n ON n.cohort = c.cohort AND n.lsoa_code = a.lsoa_code AND n.financial_year = y.financial_year
    LEFT JOIN pop ON pop.cohort = c.cohort AND pop.lsoa_code = a.lsoa_code
    WHERE a.lsoa_code <> 'Unknown' OR EXISTS (SELECT 1 FROM counts u WHERE u.lsoa_code = 'Unknown')
)
SELECT cohort, lsoa_code, lsoa_name, district, financial_year, offences, residents FROM cells
UNION ALL
SELECT cohort, lsoa_code, lsoa_name, district, 'Total', SUM(offences), MAX(residents)
FROM cells GROUP BY cohort, lsoa_code, lsoa_name, district
UNION ALL
SELECT cohort, 'Total', CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), financial_year, SUM(offences), SUM(residents)
FROM cells GROUP BY cohort, financial_year
UNION ALL
SELECT cohort, 'Total', CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'Total', SUM(offences), SUM(residents) / COUNT(DISTINCT financial_year)
FROM cells GROUP BY cohort
ORDER BY cohort, lsoa_code = 'Total', lsoa_code, financial_year = 'Total', financial_year;
