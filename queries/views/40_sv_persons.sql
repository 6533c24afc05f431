-- Distinct victims and offenders of serious violence in the period
-- One row per role and person. A person's age, sex, age band and cohort are those on their
-- first serious-violence offence in the period (earliest committed_at, then crime_id).
-- role: victim or offender
-- person_id: pseudonymised person identifier
-- age: age in years on the first offence (null when unknown)
-- sex: F, M or U on the first offence
-- age_band: 5-year band of that age (0-4 ... 85-89, 90+)
-- cohort: under_<cutoff> or <cutoff>_plus by that age; null when the age is unknown
-- offences: distinct serious-violence offences the person is linked to in the period in this role
-- cache: yes
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
