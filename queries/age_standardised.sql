-- Directly age-standardised rates of victims and offenders per 100,000 a year, by sex. Documentation, column tests and report placement: age_standardised.toml
WITH rows_all AS (
    SELECT role, sex, age_band, esp2013_weight, persons, population, person_days FROM persons_by_age_sex
    UNION ALL
    SELECT role, 'all', age_band, esp2013_weight, SUM(persons), SUM(population), SUM(person_days)
    FROM persons_by_age_sex
    GROUP BY role, age_band, esp2013_weight
)
SELECT
    role,
    sex,
    SUM(persons) AS persons,
    SUM(population) AS population,
    SUM(person_days) / 365.25 AS person_years,
    dsr(persons, person_days / 365.25, esp2013_weight) AS dsr_per_100000_year,
    dsr_lower(persons, person_days / 365.25, esp2013_weight) AS lower_95,
    dsr_upper(persons, person_days / 365.25, esp2013_weight) AS upper_95
FROM rows_all
GROUP BY role, sex
ORDER BY role DESC, sex;
