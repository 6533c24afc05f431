-- Serious violence by weekday and hour of day. Documentation, column tests and report placement: time_profile.toml
WITH days AS (
    SELECT * FROM (VALUES (1, 'Monday'), (2, 'Tuesday'), (3, 'Wednesday'), (4, 'Thursday'),
        (5, 'Friday'), (6, 'Saturday'), (7, 'Sunday')) d(weekday_number, weekday)
),
hours AS (
    SELECT CAST(value AS BIGINT) AS hour FROM generate_series(0, 23)
),
counts AS (
    SELECT weekday_number, hour, COUNT(*) AS offences FROM sv_offences GROUP BY weekday_number, hour
)
SELECT d.weekday, CAST(d.weekday_number AS BIGINT) AS weekday_number, h.hour, COALESCE(c.offences, 0) AS offences
FROM days d
CROSS JOIN hours h
LEFT JOIN counts c ON c.weekday_number = d.weekday_number AND c.hour = h.hour
ORDER BY 2, 3;
