-- Means of assault of attendances at the emergency department (Cardiff Model). Documentation, column tests and report placement: istv_means.toml
WITH attendances AS (
    SELECT a.means
    FROM istv_attendances a
    CROSS JOIN params p
    WHERE a.arrived_date BETWEEN p.period_start AND p.period_end
),
counts AS (
    SELECT means, COUNT(*) AS attendances FROM attendances GROUP BY means
),
total AS (
    SELECT COUNT(*) AS total FROM attendances
)
SELECT
    c.means,
    CASE c.means
        WHEN 'knife_sharp' THEN 'Knife or sharp object'
        WHEN 'blunt' THEN 'Blunt object'
        WHEN 'firearm' THEN 'Firearm'
        WHEN 'body_part' THEN 'Body (fist, feet, head)'
        WHEN 'other' THEN 'Other'
        ELSE 'Not known'
    END AS means_label,
    c.attendances,
    t.total,
    100.0 * c.attendances / NULLIF(t.total, 0) AS pct,
    100.0 * wilson_lower(c.attendances, t.total) AS lower_95,
    100.0 * wilson_upper(c.attendances, t.total) AS upper_95
FROM counts c
CROSS JOIN total t
ORDER BY c.means = 'unknown', c.attendances DESC, c.means;
