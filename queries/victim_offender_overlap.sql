-- Victims who are also offenders of serious violence
-- People named both as a victim and as an offender (or suspect) of serious-violence offences in
-- the period, matched by person_id: as a count and a share of each role, overall and by cohort,
-- sex and age band (each person's characteristics are those on their first offence in that
-- role, as in sv_persons), and the share of repeat victims (two or more offences) who are also
-- offenders. Shares have Wilson 95% limits. Victims and offenders are linked only where the
-- extract gives the same person_id to both, so the overlap is a lower bound.
-- breakdown: all, cohort, sex, age_band or repeat_victims
-- category: the group within the breakdown (`all` for everyone; `unknown` where not recorded)
-- role: whose share it is: victim or offender
-- persons: people of that role in the group
-- in_both_roles: of them, people also named in the other role in the period
-- pct: in_both_roles as a percentage of persons
-- lower_95: lower 95% limit of pct (Wilson)
-- upper_95: upper 95% limit of pct (Wilson)
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
