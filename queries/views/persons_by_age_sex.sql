-- Distinct victims and offenders, residents and person-years by role, 5-year age band and sex (F, M). Documentation, column tests and report placement: persons_by_age_sex.toml
CREATE VIEW persons_by_age_sex AS
WITH roles AS (
    SELECT 'victim' AS role UNION ALL SELECT 'offender'
),
pop AS (
    SELECT age_band, sex, SUM(population) AS population FROM age_sex_residents
    WHERE population IS NOT NULL GROUP BY age_band, sex
),
py AS (
    SELECT age_band, sex, SUM(person_days) AS person_days FROM age_sex_residents
    WHERE person_days IS NOT NULL GROUP BY age_band, sex
),
counts AS (
    SELECT role, age_band, sex, COUNT(*) AS persons
    FROM sv_persons
    WHERE age_band IS NOT NULL AND sex IN ('F', 'M')
    GROUP BY role, age_band, sex
)
SELECT
    r.role,
    e.age_band,
    e.band_start,
    e.weight AS esp2013_weight,
    pop.sex,
    COALESCE(c.persons, 0) AS persons,
    pop.population,
    COALESCE(py.person_days, 0) AS person_days,
    COALESCE(py.person_days, 0) / 365.25 AS person_years
FROM roles r
CROSS JOIN esp2013 e
JOIN pop ON pop.age_band = e.age_band
LEFT JOIN py ON py.age_band = e.age_band AND py.sex = pop.sex
LEFT JOIN counts c ON c.role = r.role AND c.age_band = e.age_band AND c.sex = pop.sex;
