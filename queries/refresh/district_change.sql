-- Serious violence by district: the last 12 months against the 12 months before. Documentation, column tests and report placement: district_change.toml
WITH bounds AS (
    SELECT
        p.period_start AS current_start,
        p.period_end AS current_end,
        CAST(p.period_start - INTERVAL '1 year' AS DATE) AS previous_start,
        CAST(p.period_start - INTERVAL '1 day' AS DATE) AS previous_end,
        p.population_year
    FROM params p
),
previous_year AS (
    SELECT COALESCE(
        (SELECT MAX(pop.year) FROM population pop CROSS JOIN bounds b WHERE pop.year <= b.population_year - 1),
        (SELECT MIN(pop.year) FROM population pop)
    ) AS year
),
districts AS (
    SELECT DISTINCT lad_name AS district FROM lsoa
),
offences AS (
    SELECT
        s.district,
        SUM(CASE WHEN s.committed_date BETWEEN b.current_start AND b.current_end THEN 1 ELSE 0 END) AS current_count,
        SUM(CASE WHEN s.committed_date BETWEEN b.previous_start AND b.previous_end THEN 1 ELSE 0 END) AS previous_count
    FROM sv_offences_all s
    CROSS JOIN bounds b
    WHERE s.committed_date BETWEEN b.previous_start AND b.current_end
    GROUP BY s.district
),
population_current AS (
    SELECT district, SUM(population) AS population FROM residents GROUP BY district
),
population_previous AS (
    SELECT l.lad_name AS district, SUM(CAST(pop.population AS BIGINT)) AS population
    FROM population pop
    JOIN lsoa l ON l.lsoa_code = pop.lsoa_code
    JOIN previous_year y ON y.year = pop.year
    GROUP BY l.lad_name
),
by_district AS (
    SELECT
        1 AS sort_group,
        d.district,
        COALESCE(o.current_count, 0) AS offences_current,
        COALESCE(o.previous_count, 0) AS offences_previous,
        pc.population AS population_current,
        pp.population AS population_previous
    FROM districts d
    LEFT JOIN offences o ON o.district = d.district
    LEFT JOIN population_current pc ON pc.district = d.district
    LEFT JOIN population_previous pp ON pp.district = d.district
),
unknown AS (
    SELECT
        2 AS sort_group,
        'Unknown' AS district,
        COALESCE(SUM(o.current_count), 0) AS offences_current,
        COALESCE(SUM(o.previous_count), 0) AS offences_previous,
        CAST(NULL AS BIGINT) AS population_current,
        CAST(NULL AS BIGINT) AS population_previous
    FROM offences o
    WHERE o.district = 'Unknown'
),
everything AS (
    SELECT
        3 AS sort_group,
        'All districts' AS district,
        COALESCE(SUM(o.current_count), 0) AS offences_current,
        COALESCE(SUM(o.previous_count), 0) AS offences_previous,
        (SELECT SUM(population) FROM population_current) AS population_current,
        (SELECT SUM(population) FROM population_previous) AS population_previous
    FROM offences o
),
rows AS (
    SELECT * FROM by_district
    UNION ALL SELECT * FROM unknown
    UNION ALL SELECT * FROM everything
),
coverage AS (
    SELECT MIN(committed_date) AS first_day FROM offence_dates
),
compared AS (
    -- A previous window the extract does not reach back to has no count, not zero.
    SELECT r.sort_group, r.district, r.offences_current,
        CASE WHEN c.first_day <= b.previous_start THEN r.offences_previous END AS offences_previous,
        r.population_current, r.population_previous
    FROM rows r CROSS JOIN coverage c CROSS JOIN bounds b
)
SELECT
    r.district,
    b.current_start,
    b.current_end,
    b.previous_start,
    b.previous_end,
    r.offences_current,
    r.offences_previous,
    r.offences_current - r.offences_previous AS difference,
    100.0 * (r.offences_current - r.offences_previous) / NULLIF(r.offences_previous, 0) AS change_pct,
    r.population_current,
    r.population_previous,
    1000.0 * r.offences_current / NULLIF(r.population_current, 0) AS rate_current,
    CASE WHEN r.population_current > 0 THEN rate_lower(r.offences_current, r.population_current, 1000) END AS rate_current_lower_95,
    CASE WHEN r.population_current > 0 THEN rate_upper(r.offences_current, r.population_current, 1000) END AS rate_current_upper_95,
    1000.0 * r.offences_previous / NULLIF(r.population_previous, 0) AS rate_previous,
    CASE WHEN r.population_previous > 0 THEN rate_lower(r.offences_previous, r.population_previous, 1000) END AS rate_previous_lower_95,
    CASE WHEN r.population_previous > 0 THEN rate_upper(r.offences_previous, r.population_previous, 1000) END AS rate_previous_upper_95,
    1000.0 * r.offences_current / NULLIF(r.population_current, 0)
        - 1000.0 * r.offences_previous / NULLIF(r.population_previous, 0) AS rate_difference,
    CASE
        WHEN r.offences_previous IS NULL
            THEN 'the data do not reach back to the previous 12 months'
        WHEN r.offences_current < 10 OR r.offences_previous < 10
            THEN 'small numbers: fewer than 10 offences in a period'
        ELSE ''
    END AS caveat
FROM compared r
CROSS JOIN bounds b
ORDER BY r.sort_group, r.offences_current DESC, r.district;
