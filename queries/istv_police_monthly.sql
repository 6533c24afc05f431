-- Assault attendances at the emergency department against police-recorded serious violence, per month (Cardiff Model). Documentation, column tests and report placement: istv_police_monthly.toml
WITH ed AS (
    SELECT
        a.month,
        COUNT(*) AS ed_assaults,
        SUM(CASE WHEN a.reported_to_police IS NOT NULL THEN 1 ELSE 0 END) AS reported_known,
        SUM(CASE WHEN NOT a.reported_to_police THEN 1 ELSE 0 END) AS not_reported
    FROM istv_attendances a
    CROSS JOIN params p
    WHERE a.arrived_date BETWEEN p.period_start AND p.period_end
    GROUP BY a.month
),
police AS (
    SELECT month, COUNT(*) AS police_offences FROM sv_offences GROUP BY month
)
-- A month with no attendance at all is a month with no return (a department sees assaults
-- every month): its ED columns are null, not zero.
SELECT
    m.month,
    ed.month IS NOT NULL AS has_return,
    ed.ed_assaults,
    COALESCE(po.police_offences, 0) AS police_offences,
    100.0 * ed.ed_assaults / NULLIF(COALESCE(po.police_offences, 0), 0) AS ed_per_100_police,
    ed.reported_known,
    ed.not_reported,
    100.0 * ed.not_reported / NULLIF(ed.reported_known, 0) AS pct_not_reported,
    CASE WHEN ed.reported_known > 0 THEN 100.0 * wilson_lower(ed.not_reported, ed.reported_known) END AS lower_95,
    CASE WHEN ed.reported_known > 0 THEN 100.0 * wilson_upper(ed.not_reported, ed.reported_known) END AS upper_95
FROM period_months m
LEFT JOIN ed ON ed.month = m.month
LEFT JOIN police po ON po.month = m.month
ORDER BY m.month;
