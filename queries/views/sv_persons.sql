-- Distinct victims and offenders of serious violence in the period. Documentation, column tests and report placement: sv_persons.toml
CREATE VIEW sv_persons AS
WITH linked AS (
    SELECT 'victim' AS role, person_id, crime_id, committed_at, age, sex, age_band, cohort FROM sv_victims
    UNION ALL
    SELECT 'offender' AS role, person_id, crime_id, committed_at, age, sex, age_band, cohort FROM sv_offenders
),
ranked AS (
    SELECT *,
        ROW_NUMBER() OVER (PARTITION BY role, person_id ORDER BY committed_at, crime_id, age, sex) AS nth,
        COUNT(DISTINCT crime_id) OVER (PARTITION BY role, person_id) AS offences
    FROM linked
)
SELECT role, person_id, age, sex, age_band, cohort, offences
FROM ranked
WHERE nth = 1;
