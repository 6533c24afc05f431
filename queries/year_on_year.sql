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
positions AS (
    -- The 12 months of each window: position 0 is the month starting on its first day.
    SELECT position FROM (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11)) t(position)
),
windowed AS (
    -- Each offence in either window with the first day of its window.
    SELECT
        s.offence_group,
        s.committed_date,
        CASE WHEN s.committed_date >= b.current_from THEN 'current' ELSE 'previous' END AS year,
        CASE WHEN s.committed_date >= b.current_from THEN CAST(b.current_from AS DATE)
            ELSE CAST(b.previous_from AS DATE) END AS window_from
    FROM scoped s
    CROSS JOIN bounds b
    WHERE s.committed_date BETWEEN b.previous_from AND b.current_to
),
placed AS (
    -- The position of each offence's month in its window: month k runs from the window's first
    -- day + k months to the day before its first day + k + 1 months.
    SELECT
        offence_group,
        year,
        CAST(
            (date_part('year', committed_date) * 12 + date_part('month', committed_date))
            - (date_part('year', window_from) * 12 + date_part('month', window_from))
            - CASE WHEN date_part('day', committed_date) < date_part('day', window_from) THEN 1 ELSE 0 END
        AS BIGINT) AS position
    FROM windowed
),
monthly AS (
    -- Offences by month of each window, zero months included: the 2 × 12 table whose scatter
    -- around a year and month-of-year fit gives the dispersion.
    SELECT
        g.offence_group,
        m.position,
        SUM(CASE WHEN p.year = 'previous' THEN 1 ELSE 0 END) AS previous,
        SUM(CASE WHEN p.year = 'current' THEN 1 ELSE 0 END) AS current
    FROM groups g
    CROSS JOIN positions m
    LEFT JOIN placed p ON p.offence_group = g.offence_group AND p.position = m.position
    GROUP BY g.offence_group, m.position
),
dispersion AS (
    SELECT offence_group, seasonal_dispersion(position, previous, current) AS phi
    FROM monthly
    GROUP BY offence_group
),
counts AS (
    SELECT
        g.offence_group,
        g.sort_key,
        SUM(m.current) AS current,
        SUM(m.previous) AS previous
    FROM groups g
    JOIN monthly m ON m.offence_group = g.offence_group
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
        CASE WHEN cov.first_day <= b.previous_from THEN CAST(COALESCE(c.previous, 0) AS BIGINT) END AS previous,
        d.phi
    FROM counts c CROSS JOIN bounds b CROSS JOIN coverage cov
    JOIN dispersion d ON d.offence_group = c.offence_group
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
    -- Over-dispersion: phi from the 24 monthly counts (floored at 1), null when either year is
    -- not covered. The limits and the test are the Poisson ones scaled by sqrt(phi).
    CASE WHEN c.current IS NOT NULL AND c.previous IS NOT NULL THEN c.phi END AS dispersion,
    quasi_ratio_lower(c.current, c.previous, c.phi) AS lower_95,
    quasi_ratio_upper(c.current, c.previous, c.phi) AS upper_95,
    CASE WHEN c.current >= 10 AND c.previous >= 10 THEN quasi_ratio_p(c.current, c.previous, c.phi) END AS p_value,
    -- No significance is claimed on counts under 10: the caveat says so instead.
    CASE WHEN c.current >= 10 AND c.previous >= 10 THEN
        quasi_ratio_lower(c.current, c.previous, c.phi) > 1
        OR quasi_ratio_upper(c.current, c.previous, c.phi) < 1
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
