-- Residents of the area for the period. Documentation, column tests and report placement: residents.toml
CREATE VIEW residents AS
SELECT
    pop.lsoa_code,
    l.lsoa_name,
    l.ward_name AS ward,
    l.lad_name AS district,
    l.csp_name AS csp,
    pop.sex,
    CAST(pop.age AS BIGINT) AS age,
    CASE
        WHEN pop.age >= 90 THEN '90+'
        ELSE CAST(CAST(pop.age AS BIGINT) / 5 * 5 AS VARCHAR) || '-' || CAST(CAST(pop.age AS BIGINT) / 5 * 5 + 4 AS VARCHAR)
    END AS age_band,
    CASE
        -- A population of all ages has no age: no cohort, rather than the older one.
        WHEN pop.age IS NULL THEN NULL
        WHEN pop.age < p.young_age_cutoff THEN 'under_' || CAST(p.young_age_cutoff AS VARCHAR)
        ELSE CAST(p.young_age_cutoff AS VARCHAR) || '_plus'
    END AS cohort,
    CAST(pop.population AS BIGINT) AS population
FROM population pop
JOIN lsoa l ON l.lsoa_code = pop.lsoa_code
CROSS JOIN params p
WHERE pop.year = p.population_year;
