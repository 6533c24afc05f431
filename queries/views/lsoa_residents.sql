-- Residents and person-years of each LSOA in the period, all ages. Documentation: lsoa_residents.toml
CREATE VIEW lsoa_residents AS
WITH by_year AS (
    -- Each LSOA's residents in each population year, all ages and sexes.
    SELECT lsoa_code, CAST(year AS BIGINT) AS year, SUM(CAST(population AS BIGINT)) AS population
    FROM population
    GROUP BY lsoa_code, CAST(year AS BIGINT)
),
in_year AS (
    SELECT b.lsoa_code, b.population
    FROM by_year b CROSS JOIN params p
    WHERE b.year = p.population_year
),
days AS (
    -- Each month's residents (its own population year) × the month's days in the period, in
    -- whole person-days, as in person_years.
    SELECT b.lsoa_code, SUM(b.population * m.days) AS person_days
    FROM period_months m
    JOIN by_year b ON b.year = m.population_year
    GROUP BY b.lsoa_code
)
SELECT
    l.lsoa_code,
    l.lsoa_name,
    l.ward_name AS ward,
    l.lad_name AS district,
    l.csp_name AS csp,
    y.population,
    d.person_days
FROM lsoa l
LEFT JOIN in_year y ON y.lsoa_code = l.lsoa_code
LEFT JOIN days d ON d.lsoa_code = l.lsoa_code
WHERE y.lsoa_code IS NOT NULL OR d.lsoa_code IS NOT NULL;
