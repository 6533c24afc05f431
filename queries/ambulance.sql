-- Assault-related ambulance incidents by age cohort and conveyance. Documentation, column tests and report placement: ambulance.toml
WITH incidents AS (
    SELECT
        CASE
            WHEN a.age IS NULL THEN 'unknown_age'
            WHEN a.age < p.young_age_cutoff THEN 'under_' || CAST(p.young_age_cutoff AS VARCHAR)
            ELSE CAST(p.young_age_cutoff AS VARCHAR) || '_plus'
        END AS cohort,
        a.conveyed
    FROM ambulance a CROSS JOIN params p
    WHERE a.assault AND CAST(a.called_at AS DATE) BETWEEN p.period_start AND p.period_end
),
cells AS (
    SELECT cohort, conveyed, COUNT(*) AS incidents FROM incidents GROUP BY cohort, conveyed
    UNION ALL
    SELECT 'all', conveyed, COUNT(*) FROM incidents GROUP BY conveyed
)
SELECT
    cohort,
    conveyed,
    incidents,
    SUM(incidents) OVER (PARTITION BY cohort) AS cohort_incidents,
    100.0 * incidents / SUM(incidents) OVER (PARTITION BY cohort) AS pct,
    100.0 * wilson_lower(incidents, SUM(incidents) OVER (PARTITION BY cohort)) AS lower_95,
    100.0 * wilson_upper(incidents, SUM(incidents) OVER (PARTITION BY cohort)) AS upper_95
FROM cells
ORDER BY CASE cohort WHEN 'all' THEN 0 WHEN 'unknown_age' THEN 3 ELSE 1 END, cohort DESC, conveyed DESC;
