-- Victims and offenders per 1,000 residents by 5-year age band and sex
-- One row per role, age band and sex (F, M). Persons are distinct victims or offenders of
-- serious violence in the period, placed by their age and sex on their first offence; persons
-- with unknown age or sex U are left out (see data_quality).
-- role: victim or offender
-- age_band: 0-4, 5-9, ..., 85-89, 90+
-- sex: F or M
-- persons: distinct persons
-- population: residents of that band and sex (population year of the period)
-- rate_per_1000: persons per 1,000 residents
-- lower_95: lower 95% limit of the rate
-- upper_95: upper 95% limit of the rate
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
