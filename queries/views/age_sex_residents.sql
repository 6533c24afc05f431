-- Residents and person-years in the period by sex and single year of age, the whole area. Documentation: age_sex_residents.toml
CREATE VIEW age_sex_residents AS
WITH res AS (
    SELECT sex, age, age_band, cohort, SUM(population) AS population
    FROM residents GROUP BY sex, age, age_band, cohort
),
py AS (
    SELECT sex, age, age_band, cohort, SUM(person_days) AS person_days
    FROM person_years GROUP BY sex, age, age_band, cohort
)
SELECT
    COALESCE(r.sex, y.sex) AS sex,
    COALESCE(r.age, y.age) AS age,
    COALESCE(r.age_band, y.age_band) AS age_band,
    COALESCE(r.cohort, y.cohort) AS cohort,
    r.population,
    y.person_days
FROM res r
FULL JOIN py y ON (y.sex IS NOT DISTINCT FROM r.sex) AND (y.age IS NOT DISTINCT FROM r.age);
