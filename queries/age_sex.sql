-- Victims and offenders per 1,000 residents a year by 5-year age band and sex. Documentation, column tests and report placement: age_sex.toml
SELECT
    role,
    age_band,
    sex,
    persons,
    population,
    person_years,
    1000.0 * persons / NULLIF(person_years, 0) AS rate_per_1000_year,
    rate_lower(persons, person_years, 1000) AS lower_95,
    rate_upper(persons, person_years, 1000) AS upper_95
FROM persons_by_age_sex
ORDER BY role DESC, band_start, sex;
