-- Crimes by police.uk crime type in the period (police.uk open data only). Documentation, column tests and report placement: crime_types.toml
WITH counts AS (
    SELECT o.police_uk_crime_type AS crime_type, COUNT(*) AS crimes
    FROM offences o CROSS JOIN params p
    WHERE CAST(o.month AS DATE) BETWEEN p.period_start AND p.period_end
    GROUP BY o.police_uk_crime_type
),
totals AS (
    SELECT SUM(crimes) AS total FROM counts
)
SELECT
    c.crime_type,
    g.offence_group IS NOT NULL AS serious_violence_proxy,
    c.crimes,
    t.total,
    100.0 * c.crimes / t.total AS pct,
    100.0 * wilson_lower(c.crimes, t.total) AS lower_95,
    100.0 * wilson_upper(c.crimes, t.total) AS upper_95
FROM counts c
CROSS JOIN totals t
LEFT JOIN sv_offence_groups g ON g.offence_group = c.crime_type
ORDER BY c.crimes DESC, c.crime_type;
