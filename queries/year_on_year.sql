-- Year on year: the last 12 months of the period against the 12 months before. Documentation, column tests and report placement: year_on_year.toml
WITH bounds AS (
    SELECT
        CAST(p.period_end - INTERVAL '12 months' AS DATE) + INTERVAL '1 day' AS current_from,
        p.period_end AS current_to,
        CAST(p.period_end - INTERVAL '24 months' AS DATE) + INTERVAL '1 day' AS previous_from,
        CAST(p.period_end - INTERVAL '12 months' AS DATE) AS previous_to
    FROM params p
),
coverage AS (
    SELECT MIN(committed_date) AS first_day, MAX(covered_to) AS last_day FROM offence_dates
),
groups AS (
    SELECT offence_group, 0 AS sort_key FROM sv_offence_groups
    UNION ALL
    SELECT 'All serious violence', 1
),
scoped AS (
    SELECT offence_group, committed_date FROM sv_offences_all
    UNION ALL
    SELECT 'All serious violence', committed_date FROM sv_offences_all
),
counts AS (
    SELECT
        g.offence_group,
        g.sort_key,
        SUM(CASE WHEN s.committed_date BETWEEN b.current_from AND b.current_to THEN 1 ELSE 0 END) AS current,
        SUM(CASE WHEN s.committed_date BETWEEN b.previous_from AND b.previous_to THEN 1 ELSE 0 END) AS previous
    FROM groups g
    CROSS JOIN bounds b
    LEFT JOIN scoped s ON s.offence_group = g.offence_group
    GROUP BY g.offence_group, g.sort_key
),
overlapping AS (
    -- The configured disrupted periods (by default England's lockdowns) that overlap either
    -- window, in date order.
    SELECT d.name, d.start_date,
        ROW_NUMBER() OVER (ORDER BY d.start_date, d.name) AS nth,
        COUNT(*) OVER () AS n
    FROM disrupted_periods d CROSS JOIN bounds b
    WHERE d.start_date <= b.current_to AND d.end_date >= CAST(b.previous_from AS DATE)
),
disrupted AS (
    -- "a", "a and b", "a, b and c".
    SELECT string_agg(
        CASE WHEN nth = 1 THEN '' WHEN nth = n THEN ' and ' ELSE ', ' END || name, ''
        ORDER BY nth
    ) AS names
    FROM overlapping
),
compared AS (
    SELECT
        c.offence_group,
        c.sort_key,
        -- A window the extract does not reach back to the start of is not counted: its count
        -- would be the part the data covers.
        CASE WHEN cov.first_day <= CAST(b.current_from AS DATE) AND cov.last_day >= b.current_to
            THEN CAST(COALESCE(c.current, 0) AS BIGINT) END AS current,
        CASE WHEN cov.first_day <= b.previous_from THEN CAST(COALESCE(c.previous, 0) AS BIGINT) END AS previous
    FROM counts c CROSS JOIN bounds b CROSS JOIN coverage cov
)
SELECT
    c.offence_group,
    CAST(b.current_from AS DATE) AS current_from,
    b.current_to,
    CAST(b.previous_from AS DATE) AS previous_from,
    b.previous_to,
    c.current,
    c.previous,
    c.current - c.previous AS change,
    100.0 * (c.current - c.previous) / NULLIF(c.previous, 0) AS change_pct,
    1.0 * c.current / NULLIF(c.previous, 0) AS ratio,
    ratio_lower(c.current, c.previous, 1.0 * c.current / NULLIF(c.previous, 0)) AS lower_95,
    ratio_upper(c.current, c.previous, 1.0 * c.current / NULLIF(c.previous, 0)) AS upper_95,
    -- No significance is claimed on counts under 10: the caveat says so instead.
    CASE WHEN c.current >= 10 AND c.previous >= 10 THEN
        ratio_lower(c.current, c.previous, 1.0 * c.current / NULLIF(c.previous, 0)) > 1
        OR ratio_upper(c.current, c.previous, 1.0 * c.current / NULLIF(c.previous, 0)) < 1
    END AS significant,
    d.names AS disrupted,
    CASE
        WHEN c.previous IS NULL THEN NULL
        WHEN c.current < 10 OR c.previous < 10 THEN
            'fewer than 10 offences in a year: too few to test'
            || COALESCE('; the years include ' || d.names, '')
        WHEN d.names IS NOT NULL THEN 'the years include ' || d.names || ': the change may be disruption and recovery, not a trend'
    END AS caveat
FROM compared c CROSS JOIN bounds b CROSS JOIN disrupted d
ORDER BY c.sort_key, c.offence_group;
