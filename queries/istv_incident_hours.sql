-- Share of ED assault attendances by hour of the incident, with Wilson intervals (Cardiff Model). Documentation, column tests and report placement: istv_incident_hours.toml
WITH hours AS (
    SELECT CAST(value AS BIGINT) AS hour FROM generate_series(0, 23)
),
timed AS (
    SELECT a.incident_hour AS hour
    FROM istv_attendances a
    CROSS JOIN params p
    WHERE a.arrived_date BETWEEN p.period_start AND p.period_end AND a.incident_at IS NOT NULL
),
counts AS (
    SELECT hour, COUNT(*) AS attendances FROM timed GROUP BY hour
),
totals AS (
    SELECT COUNT(*) AS total FROM timed
)
SELECT
    h.hour,
    COALESCE(c.attendances, 0) AS attendances,
    t.total,
    100.0 * COALESCE(c.attendances, 0) / NULLIF(t.total, 0) AS pct,
    100.0 * wilson_lower(COALESCE(c.attendances, 0), t.total) AS lower_95,
    100.0 * wilson_upper(COALESCE(c.attendances, 0), t.total) AS upper_95
FROM hours h
CROSS JOIN totals t
LEFT JOIN counts c ON c.hour = h.hour
ORDER BY h.hour;
