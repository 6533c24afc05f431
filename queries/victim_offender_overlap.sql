-- Victims who are also offenders of serious violence. Documentation, column tests and report placement: victim_offender_overlap.toml
WITH flagged AS (
    SELECT
        p.role,
        p.person_id,
        COALESCE(p.cohort, 'unknown') AS cohort,
        COALESCE(p.sex, 'unknown') AS sex,
        COALESCE(p.age_band, 'unknown') AS age_band,
        p.offences,
        CASE WHEN other.person_id IS NULL THEN 0 ELSE 1 END AS in_both
    FROM sv_persons p
    LEFT JOIN sv_persons other ON other.person_id = p.person_id AND other.role <> p.role
),
groups AS (
    SELECT 1 AS part, 'all' AS breakdown, 'all' AS category, role, COUNT(*) AS persons, SUM(in_both) AS in_both_roles
    FROM flagged GROUP BY role
    UNION ALL
    SELECT 2, 'cohort', cohort, role, COUNT(*), SUM(in_both) FROM flagged GROUP BY cohort, role
    UNION ALL
    SELECT 3, 'sex', sex, role, COUNT(*), SUM(in_both) FROM flagged GROUP BY sex, role
    UNION ALL
    SELECT 4, 'age_band', age_band, role, COUNT(*), SUM(in_both) FROM flagged GROUP BY age_band, role
    UNION ALL
    SELECT 5, 'repeat_victims', 'two or more offences', role, COUNT(*), SUM(in_both)
    FROM flagged WHERE role = 'victim' AND offences >= 2 GROUP BY role
)
SELECT
    breakdown,
    category,
    role,
    persons,
    in_both_roles,
    100.0 * in_both_roles / NULLIF(persons, 0) AS pct,
    100.0 * wilson_lower(in_both_roles, persons) AS lower_95,
    100.0 * wilson_upper(in_both_roles, persons) AS upper_95
FROM groups
ORDER BY
    part,
    TRY_CAST(split_part(replace(category, '+', ''), '-', 1) AS BIGINT),
    category,
    role DESC;
