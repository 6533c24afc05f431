-- Offence mix of serious violence. Documentation, column tests and report placement: offence_mix.toml
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
