-- Repeat offending, repeat victimisation and repeat A&E attendance. Documentation, column tests and report placement: repeat_offending.toml
WITH links AS (
    SELECT DISTINCT 'offenders' AS population, person_id, crime_id AS event_id FROM sv_offenders
    UNION ALL
    SELECT DISTINCT 'victims', person_id, crime_id FROM sv_victims
    UNION ALL
    SELECT DISTINCT 'ae_patients', a.patient_id, a.attendance_id
    FROM ae_assaults a CROSS JOIN params p
    WHERE a.arrived_date BETWEEN p.period_start AND p.period_end
),
per_person AS (
    SELECT population, person_id, COUNT(*) AS events FROM links GROUP BY population, person_id
),
ranked AS (
    SELECT population, person_id, events,
        ROW_NUMBER() OVER (PARTITION BY population ORDER BY events DESC, person_id) AS position,
        COUNT(*) OVER (PARTITION BY population) AS persons_total
    FROM per_person
),
totals AS (
    SELECT population, COUNT(DISTINCT event_id) AS events_total FROM links GROUP BY population
),
members AS (
    SELECT population, 'events_per_person' AS breakdown,
        CASE WHEN events >= 5 THEN '5+' ELSE CAST(events AS VARCHAR) END AS category,
        LEAST(events, 5) AS sort_key, person_id, persons_total
    FROM ranked
    UNION ALL
    SELECT r.population, 'top_share', 'top_' || CAST(t.top AS VARCHAR) || 'pct', t.top, r.person_id, r.persons_total
    FROM ranked r
    CROSS JOIN (VALUES (1), (5), (10), (20)) t(top)
    WHERE r.position <= CEIL(r.persons_total * t.top / 100.0)
),
grouped AS (
    SELECT m.population, m.breakdown, m.category, m.sort_key, m.persons_total,
        COUNT(DISTINCT m.person_id) AS persons,
        COUNT(DISTINCT l.event_id) AS events
    FROM members m
    JOIN links l ON l.population = m.population AND l.person_id = m.person_id
    GROUP BY m.population, m.breakdown, m.category, m.sort_key, m.persons_total
)
SELECT
    g.population,
    g.breakdown,
    g.category,
    g.persons,
    g.persons_total,
    100.0 * g.persons / g.persons_total AS pct_persons,
    g.events,
    t.events_total,
    100.0 * g.events / t.events_total AS pct_events,
    100.0 * wilson_lower(g.events, t.events_total) AS lower_95,
    100.0 * wilson_upper(g.events, t.events_total) AS upper_95
FROM grouped g
JOIN totals t ON t.population = g.population
ORDER BY CASE g.population WHEN 'offenders' THEN 1 WHEN 'victims' THEN 2 ELSE 3 END, g.breakdown, g.sort_key;
