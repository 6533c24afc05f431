-- Offence mix of serious violence
-- One row per offence code with at least one serious-violence offence in the period, grouped by
-- Home Office offence group; shares with Wilson limits.
-- ho_group: Home Office offence group
-- offence_code: Home Office offence code
-- offence_name: offence name
-- offences: serious-violence offences of this code in the period
-- total: all serious-violence offences in the period
-- pct: offences as a percentage of total
-- lower_95: lower 95% limit of pct
-- upper_95: upper 95% limit of pct
-- knife_offences: offences of this code flagged knife-enabled
-- group_offences: serious-violence offences of the whole group
WITH codes AS (
    SELECT ho_group, offence_code, offence_name, COUNT(*) AS offences,
        SUM(CASE WHEN knife THEN 1 ELSE 0 END) AS knife_offences
    FROM sv_offences
    GROUP BY ho_group, offence_code, offence_name
),
totals AS (
    SELECT COUNT(*) AS total FROM sv_offences
)
SELECT
    c.ho_group,
    c.offence_code,
    c.offence_name,
    c.offences,
    t.total,
    100.0 * c.offences / t.total AS pct,
    100.0 * wilson_lower(c.offences, t.total) AS lower_95,
    100.0 * wilson_upper(c.offences, t.total) AS upper_95,
    c.knife_offences,
    SUM(c.offences) OVER (PARTITION BY c.ho_group) AS group_offences
FROM codes c CROSS JOIN totals t
ORDER BY group_offences DESC, c.ho_group, c.offences DESC, c.offence_code;
