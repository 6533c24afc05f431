-- Serious violence by deprivation: rates by IMD decile with the slope and relative indices of inequality. Documentation, column tests and report placement: deprivation.toml
WITH deciles AS (
    SELECT lsoa_code, CAST(imd2019_decile AS BIGINT) AS decile
    FROM lsoa
    WHERE imd2019_decile BETWEEN 1 AND 10
),
residents_by_decile AS (
    SELECT d.decile, SUM(r.population) AS population
    FROM lsoa_residents r JOIN deciles d ON d.lsoa_code = r.lsoa_code
    WHERE r.population IS NOT NULL
    GROUP BY d.decile
),
py_by_decile AS (
    SELECT d.decile, SUM(r.person_days) / 365.25 AS person_years
    FROM lsoa_residents r JOIN deciles d ON d.lsoa_code = r.lsoa_code
    WHERE r.person_days IS NOT NULL
    GROUP BY d.decile
),
counts AS (
    SELECT 'offences' AS measure, d.decile, COUNT(*) AS count
    FROM sv_offences s JOIN deciles d ON d.lsoa_code = s.lsoa_code
    GROUP BY d.decile
    UNION ALL
    SELECT h.role, d.decile, COUNT(DISTINCT h.person_id)
    FROM person_homes h JOIN deciles d ON d.lsoa_code = h.home_lsoa
    GROUP BY h.role, d.decile
),
grid AS (
    SELECT m.measure, r.decile, r.population, y.person_years
    FROM (VALUES ('offences'), ('victims'), ('offenders')) AS m(measure)
    CROSS JOIN residents_by_decile r
    JOIN py_by_decile y ON y.decile = r.decile
    CROSS JOIN available a
    -- Victims and offenders only with a persons extract.
    WHERE m.measure = 'offences' OR a.persons
),
rates AS (
    SELECT
        g.measure,
        g.decile,
        COALESCE(c.count, 0) AS count,
        g.population,
        1000.0 * COALESCE(c.count, 0) / g.person_years AS rate_per_1000_year,
        rate_lower(COALESCE(c.count, 0), g.person_years, 1000) AS lower_95,
        rate_upper(COALESCE(c.count, 0), g.person_years, 1000) AS upper_95
    FROM grid g
    LEFT JOIN counts c ON c.measure = g.measure AND c.decile = g.decile
    CROSS JOIN params p
),
indices AS (
    SELECT
        measure,
        sii(decile, population, rate_per_1000_year, lower_95, upper_95) AS sii,
        sii_lower(decile, population, rate_per_1000_year, lower_95, upper_95) AS sii_lower_95,
        sii_upper(decile, population, rate_per_1000_year, lower_95, upper_95) AS sii_upper_95,
        rii(decile, population, rate_per_1000_year, lower_95, upper_95) AS rii,
        rii_lower(decile, population, rate_per_1000_year, lower_95, upper_95) AS rii_lower_95,
        rii_upper(decile, population, rate_per_1000_year, lower_95, upper_95) AS rii_upper_95
    FROM rates
    GROUP BY measure
)
SELECT r.*, i.sii, i.sii_lower_95, i.sii_upper_95, i.rii, i.rii_lower_95, i.rii_upper_95
FROM rates r JOIN indices i ON i.measure = r.measure
ORDER BY CASE r.measure WHEN 'offences' THEN 1 WHEN 'victims' THEN 2 ELSE 3 END, r.decile;
