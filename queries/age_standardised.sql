-- Directly age-standardised rates of victims and offenders per 100,000, by sex
-- One row per role and sex (F, M, and persons for both sexes together), standardised to the
-- European Standard Population 2013 over the 19 age bands, with Dobson 95% limits. Null when
-- fewer than 10 persons (too few for a stable standardised rate).
-- role: victim or offender
-- sex: F, M, or all
-- persons: distinct persons with known age (and, for F or M, that sex)
-- population: residents in the bands used
-- dsr_per_100000: directly standardised rate per 100,000 (ESP2013 weights)
-- lower_95: Dobson lower 95% limit
-- upper_95: Dobson upper 95% limit
WITH rows_all AS (
    SELECT role, sex, age_band, esp2013_weight, persons, population FROM persons_by_age_sex
    UNION ALL
    SELECT role, 'all', age_band, esp2013_weight, SUM(persons), SUM(population)
    FROM persons_by_age_sex
    GROUP BY role, age_band, esp2013_weight
)
SELECT
    role,
    sex,
    SUM(persons) AS persons,
    SUM(population) AS population,
    dsr(persons, population, esp2013_weight) AS dsr_per_100000,
    dsr_lower(persons, population, esp2013_weight) AS lower_95,
    dsr_upper(persons, population, esp2013_weight) AS upper_95
FROM rows_all
GROUP BY role, sex
ORDER BY role DESC, sex;
