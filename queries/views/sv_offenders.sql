-- Offenders (including suspects) of serious-violence offences in the period. Documentation, column tests and report placement: sv_offenders.toml
CREATE VIEW sv_offenders AS
SELECT DISTINCT
    s.crime_id,
    s.committed_at,
    s.ho_group,
    s.offence_code,
    s.district,
    s.knife,
    per.person_id,
    CAST(per.age AS BIGINT) AS age,
    per.sex,
    per.home_lsoa,
    CASE
        WHEN per.age IS NULL THEN NULL
        WHEN per.age >= 90 THEN '90+'
        ELSE CAST(CAST(per.age AS BIGINT) / 5 * 5 AS VARCHAR) || '-' || CAST(CAST(per.age AS BIGINT) / 5 * 5 + 4 AS VARCHAR)
    END AS age_band,
    CASE
        WHEN per.age IS NULL THEN NULL
        WHEN per.age < p.young_age_cutoff THEN 'under_' || CAST(p.young_age_cutoff AS VARCHAR)
        ELSE CAST(p.young_age_cutoff AS VARCHAR) || '_plus'
    END AS cohort
FROM sv_offences s
JOIN persons per ON per.crime_id = s.crime_id AND per.role = 'offender'
CROSS JOIN params p;
