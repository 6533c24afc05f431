-- Whether victims and offenders live in the area. Documentation, column tests and report placement: residence.toml
WITH placed AS (
    SELECT
        h.role AS measure,
        CASE
            WHEN h.home_lsoa IS NULL THEN 'unknown'
            WHEN l.lsoa_code IS NULL THEN 'outside the area'
            ELSE 'in the area'
        END AS residence
    FROM person_homes h LEFT JOIN lsoa l ON l.lsoa_code = h.home_lsoa
),
grid AS (
    SELECT m.position, m.measure, g.place, g.residence
    FROM (VALUES (1, 'victims'), (2, 'offenders')) AS m(position, measure)
    CROSS JOIN (VALUES (1, 'in the area'), (2, 'outside the area'), (3, 'unknown')) AS g(place, residence)
),
counts AS (
    SELECT g.position, g.place, g.measure, g.residence, COUNT(p.measure) AS persons
    FROM grid g
    LEFT JOIN placed p ON p.measure = g.measure AND p.residence = g.residence
    GROUP BY g.position, g.place, g.measure, g.residence
)
SELECT
    c.measure,
    c.residence,
    c.persons,
    t.total,
    100.0 * c.persons / NULLIF(t.total, 0) AS pct,
    100.0 * wilson_lower(c.persons, t.total) AS lower_95,
    100.0 * wilson_upper(c.persons, t.total) AS upper_95
FROM counts c
JOIN (SELECT measure, SUM(persons) AS total FROM counts GROUP BY measure) t ON t.measure = c.measure
ORDER BY c.position, c.place;
