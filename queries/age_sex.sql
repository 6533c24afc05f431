-- Victims and offenders per 1,000 residents by 5-year age band and sex. Documentation, column tests and report placement: age_sex.toml
SELECT
    role,
    age_band,
    sex,
    persons,
    population,
    1000.0 * persons / NULLIF(population, 0) AS rate_per_1000,
    rate_lower(persons, population, 1000) AS lower_95,
    rate_upper(persons, population, 1000) AS upper_95
FROM persons_by_age_sex
ORDER BY role DESC, band_start, sex;
