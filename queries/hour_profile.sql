-- Serious violence by hour of day
-- One row per hour 0-23 (zero where none) with its share of all serious-violence offences in
-- the period and Wilson limits.
-- hour: hour of day 0-23 (15 means 15:00-15:59)
-- offences: serious-violence offences in the hour
-- total: all serious-violence offences in the period
-- pct: offences as a percentage of total
-- lower_95: lower 95% limit of pct
-- upper_95: upper 95% limit of pct
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
