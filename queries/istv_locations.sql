-- Where assaults seen at the emergency department happened: the most frequent incident locations, places under the disclosure threshold grouped (Cardiff Model). Documentation, column tests and report placement: istv_locations.toml
WITH attendances AS (
    SELECT a.incident_place
    FROM istv_attendances a
    CROSS JOIN params p
    WHERE a.arrived_date BETWEEN p.period_start AND p.period_end
),
places AS (
    SELECT incident_place, COUNT(*) AS attendances FROM attendances GROUP BY incident_place
),
total AS (
    SELECT COUNT(*) AS total FROM attendances
),
shown AS (
    SELECT
        CASE
            WHEN pl.incident_place IS NULL THEN 'not recorded'
            WHEN pl.attendances >= p.disclosure_threshold THEN pl.incident_place
            ELSE 'other places (each fewer than ' || CAST(p.disclosure_threshold AS VARCHAR) || ')'
        END AS place,
        CASE
            WHEN pl.incident_place IS NULL THEN 'not_recorded'
            WHEN pl.attendances >= p.disclosure_threshold THEN 'place'
            ELSE 'grouped'
        END AS kind,
        pl.attendances
    FROM places pl
    CROSS JOIN params p
),
grouped AS (
    SELECT place, kind, SUM(attendances) AS attendances, COUNT(*) AS places
    FROM shown
    GROUP BY place, kind
)
SELECT
    g.place,
    g.kind,
    g.attendances,
    g.places,
    t.total,
    100.0 * g.attendances / NULLIF(t.total, 0) AS pct,
    100.0 * wilson_lower(g.attendances, t.total) AS lower_95,
    100.0 * wilson_upper(g.attendances, t.total) AS upper_95
FROM grouped g
CROSS JOIN total t
ORDER BY CASE g.kind WHEN 'place' THEN 0 WHEN 'grouped' THEN 1 ELSE 2 END, g.attendances DESC, g.place;
