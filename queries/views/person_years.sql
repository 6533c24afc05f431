-- Person-years at risk in the period, the denominator of every rate a year. Documentation: person_years.toml
CREATE VIEW person_years AS
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
    -- Each month's residents (its own population year) × the month's days in the period, summed
    -- in whole person-days (exact, so the same in any order) and then over 365.25 days a year.
    -- Jobs sum person_days and divide at the end, for the same reason.
    SUM(CAST(pop.population AS BIGINT) * m.days) AS person_days,
    SUM(CAST(pop.population AS BIGINT) * m.days) / 365.25 AS person_years
FROM period_months m
JOIN population pop ON pop.year = m.population_year
JOIN lsoa l ON l.lsoa_code = pop.lsoa_code
CROSS JOIN params p
GROUP BY pop.lsoa_code, l.lsoa_name, l.ward_name, l.lad_name, l.csp_name, pop.sex, pop.age, p.young_age_cutoff;
