-- Night-time-economy share of serious violence, by district and by hour. Documentation, column tests and report placement: nte.toml
WITH by_category AS (
    SELECT 'district' AS breakdown, district AS category, 0 AS sort_key,
        COUNT(*) AS offences, SUM(CASE WHEN nte THEN 1 ELSE 0 END) AS nte_offences
    FROM sv_offences GROUP BY district
    UNION ALL
    SELECT 'hour', CAST(hour AS VARCHAR), hour,
        COUNT(*), SUM(CASE WHEN nte THEN 1 ELSE 0 END)
    FROM sv_offences GROUP BY hour
)
SELECT
    breakdown,
    category,
    offences,
    nte_offences,
    100.0 * nte_offences / NULLIF(offences, 0) AS nte_pct,
    100.0 * wilson_lower(nte_offences, offences) AS lower_95,
    100.0 * wilson_upper(nte_offences, offences) AS upper_95
FROM by_category
ORDER BY breakdown, category = 'Unknown', sort_key, category;
