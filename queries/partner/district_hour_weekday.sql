-- Serious violence by district, weekday and hour of day. Documentation, column tests and report placement: district_hour_weekday.toml
WITH days AS (
    SELECT * FROM (VALUES (1, 'Monday'), (2, 'Tuesday'), (3, 'Wednesday'), (4, 'Thursday'),
        (5, 'Friday'), (6, 'Saturday'), (7, 'Sunday')) d(weekday_number, weekday)
),
hours AS (
    SELECT CAST(value AS BIGINT) AS hour FROM generate_series(0, 23)
),
counts AS (
    SELECT district, weekday_number, hour, COUNT(*) AS offences FROM sv_offences GROUP BY district, weekday_number, hour
),
districts AS (
    SELECT DISTINCT lad_name AS district FROM lsoa
    UNION
    SELECT district FROM counts
),
pop AS (
    SELECT district, SUM(population) AS residents FROM residents GROUP BY district
),
cells AS (
    SELECT d.district, w.weekday, w.weekday_number, h.hour AS hour_number, COALESCE(c.offences, 0) AS offences, pop.residents
    FROM districts d CROSS JOIN days w CROSS JOIN hours h
    LEFT JOIN counts c ON c.district = d.district AND c.weekday_number = w.weekday_number AND c.hour = h.hour
    LEFT JOIN pop ON pop.district = d.district
)
SELECT district, weekday, hour, offences, residents FROM (
    SELECT district, weekday, weekday_number, CAST(hour_number AS VARCHAR) AS hour, hour_number AS hour_order, offences, residents FROM cells
    UNION ALL
    SELECT district, weekday, weekday_number, 'Total', 24, SUM(offences), MAX(residents) FROM cells GROUP BY district, weekday, weekday_number
    UNION ALL
    SELECT district, 'Total', 8, CAST(hour_number AS VARCHAR), hour_number, SUM(offences), MAX(residents) FROM cells GROUP BY district, hour_number
    UNION ALL
    SELECT district, 'Total', 8, 'Total', 24, SUM(offences), MAX(residents) FROM cells GROUP BY district
) t
ORDER BY district, weekday_number, hour_order;
