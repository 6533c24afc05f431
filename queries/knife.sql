-- Knife-enabled share of serious violence, by district and by age cohort. Documentation, column tests and report placement: knife.toml
WITH ages AS (
    SELECT crime_id, age FROM sv_victims
    UNION ALL
    SELECT crime_id, age FROM sv_offenders
),
cohorts AS (
    SELECT
        s.crime_id,
        s.district,
        s.knife,
        CASE
            WHEN MAX(CASE WHEN a.age < p.young_age_cutoff THEN 1 ELSE 0 END) = 1 THEN 'under_' || CAST(p.young_age_cutoff AS VARCHAR)
            WHEN COUNT(a.age) > 0 THEN CAST(p.young_age_cutoff AS VARCHAR) || '_plus'
            ELSE 'unknown'
        END AS cohort
    FROM sv_offences s
    CROSS JOIN params p
    LEFT JOIN ages a ON a.crime_id = s.crime_id
    GROUP BY s.crime_id, s.district, s.knife, p.young_age_cutoff
),
by_category AS (
    SELECT 'district' AS breakdown, district AS category, COUNT(*) AS offences,
        SUM(CASE WHEN knife THEN 1 ELSE 0 END) AS knife_offences
    FROM cohorts GROUP BY district
    UNION ALL
    SELECT 'cohort', cohort, COUNT(*), SUM(CASE WHEN knife THEN 1 ELSE 0 END)
    FROM cohorts GROUP BY cohort
)
SELECT
    breakdown,
    category,
    offences,
    knife_offences,
    100.0 * knife_offences / NULLIF(offences, 0) AS knife_pct,
    100.0 * wilson_lower(knife_offences, offences) AS lower_95,
    100.0 * wilson_upper(knife_offences, offences) AS upper_95
FROM by_category
ORDER BY breakdown DESC, category IN ('Unknown', 'unknown'), category;
