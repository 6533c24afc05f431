-- Serious violence by hour of day. Documentation, column tests and report placement: hour_profile.toml
WITH hours AS (
    SELECT CAST(value AS BIGINT) AS hour FROM generate_series(0, 23)
),
counts AS (
    SELECT hour, COUNT(*) AS offences FROM sv_offences GROUP BY hour
),
totals AS (
    SELECT COUNT(*) AS total FROM sv_offences
)
SELECT
    h.hour,
    COALESCE(c.offences, 0) AS offences,
    t.total,
    100.0 * COALESCE(c.offences, 0) / NULLIF(t.total, 0) AS pct,
    100.0 * wilson_lower(COALESCE(c.offences, 0), t.total) AS lower_95,
    100.0 * wilson_upper(COALESCE(c.offences, 0), t.total) AS upper_95
FROM hours h
CROSS JOIN totals t
LEFT JOIN counts c ON c.hour = h.hour
ORDER BY h.hour;
