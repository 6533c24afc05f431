-- ED assault attendances by weekday and hour of the incident (Cardiff Model). Documentation, column tests and report placement: istv_incident_times.toml
WITH days AS (
    SELECT * FROM (VALUES (1, 'Monday'), (2, 'Tuesday'), (3, 'Wednesday'), (4, 'Thursday'),
        (5, 'Friday'), (6, 'Saturday'), (7, 'Sunday')) d(weekday_number, weekday)
),
hours AS (
    SELECT CAST(value AS BIGINT) AS hour FROM generate_series(0, 23)
),
counts AS (
    SELECT a.incident_weekday_number AS weekday_number, a.incident_hour AS hour, COUNT(*) AS attendances
    FROM istv_attendances a
    CROSS JOIN params p
    WHERE a.arrived_date BETWEEN p.period_start AND p.period_end AND a.incident_at IS NOT NULL
    GROUP BY a.incident_weekday_number, a.incident_hour
)
SELECT d.weekday, CAST(d.weekday_number AS BIGINT) AS weekday_number, h.hour, COALESCE(c.attendances, 0) AS attendances
FROM days d
CROSS JOIN hours h
LEFT JOIN counts c ON c.weekday_number = d.weekday_number AND c.hour = h.hour
ORDER BY 2, 3;
