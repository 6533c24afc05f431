-- Against the pre-pandemic baseline: the monthly average of the period (and of its last 12 months) as a percentage of the same calendar months' average in the baseline year. Documentation, column tests and report placement: pre_pandemic_baseline.toml
WITH origin AS (
    -- Month numbers (year × 12 + month − 1) of the first and last month to lay out.
    SELECT
        CAST(date_part('year', LEAST(p.baseline_start, p.period_start)) AS BIGINT) * 12
            + CAST(date_part('month', LEAST(p.baseline_start, p.period_start)) AS BIGINT) - 1 AS first_month,
        CAST(date_part('year', GREATEST(p.baseline_end, p.period_end)) AS BIGINT) * 12
            + CAST(date_part('month', GREATEST(p.baseline_end, p.period_end)) AS BIGINT) - 1 AS last_month
    FROM params p
),
months AS (
    SELECT
        o.first_month + r.value AS month_number,
        make_date(CAST((o.first_month + r.value) / 12 AS INT), CAST((o.first_month + r.value) % 12 + 1 AS INT), 1) AS month_start,
        CAST((o.first_month + r.value) % 12 + 1 AS BIGINT) AS calendar_month
    FROM origin o CROSS JOIN range(0, 3612) r
    WHERE o.first_month + r.value <= o.last_month
),
calendar AS (
    SELECT
        m.month_number,
        m.month_start,
        CAST(m.month_start + INTERVAL '1 month' - INTERVAL '1 day' AS DATE) AS month_end,
        m.calendar_month,
        m.month_start >= p.baseline_start AND m.month_start <= p.baseline_end AS in_baseline
    FROM months m CROSS JOIN params p
),
windows AS (
    SELECT 'the period' AS time_window, 1 AS window_order, p.period_start AS window_from, p.period_end AS window_to
    FROM params p
    UNION ALL
    SELECT 'the last 12 months', 2,
        CAST(CAST(p.period_end - INTERVAL '12 months' AS DATE) + INTERVAL '1 day' AS DATE), p.period_end
    FROM params p
),
series AS (
    SELECT 'Serious violence offences' AS series, 1 AS series_order,
        (SELECT MIN(committed_date) FROM offence_dates) AS first_day,
        (SELECT MAX(covered_to) FROM offence_dates) AS last_day
    UNION ALL
    SELECT 'Assault A&E attendances', 2,
        (SELECT MIN(CAST(arrived_at AS DATE)) FROM ae_attendances),
        (SELECT MAX(CAST(arrived_at AS DATE)) FROM ae_attendances)
),
events AS (
    SELECT 'Serious violence offences' AS series, committed_date AS event_date FROM sv_offences_all
    UNION ALL
    SELECT 'Assault A&E attendances', arrived_date FROM ae_assaults
),
counts AS (
    -- By month number (year × 12 + month − 1), with no timestamp arithmetic: an extract may hold
    -- dates far outside the range of nanosecond timestamps.
    SELECT series,
        CAST(date_part('year', event_date) AS BIGINT) * 12 + CAST(date_part('month', event_date) AS BIGINT) - 1 AS month_number,
        COUNT(*) AS events
    FROM events
    GROUP BY 1, 2
),
monthly AS (
    -- Every month of the layout, for each series: its count and whether the data cover it whole.
    SELECT
        s.series,
        c.month_start,
        c.month_end,
        c.calendar_month,
        c.in_baseline,
        s.first_day IS NOT NULL AND s.first_day <= c.month_start AND s.last_day >= c.month_end AS covered,
        COALESCE(n.events, 0) AS events
    FROM series s
    CROSS JOIN calendar c
    LEFT JOIN counts n ON n.series = s.series AND n.month_number = c.month_number
),
baseline AS (
    SELECT series, calendar_month, events AS baseline_events, covered AS baseline_covered
    FROM monthly
    WHERE in_baseline
),
baseline_state AS (
    SELECT series, COUNT(*) AS baseline_months, BOOL_AND(baseline_covered) AS baseline_covered
    FROM baseline
    GROUP BY series
),
window_months AS (
    -- The whole months of each window that the data cover, and the same calendar month of the
    -- baseline (none when the baseline leaves that calendar month out).
    SELECT
        w.time_window,
        w.window_order,
        m.series,
        m.month_start,
        m.events,
        b.baseline_events
    FROM windows w
    JOIN monthly m ON m.month_start >= w.window_from AND m.month_end <= w.window_to AND m.covered
    LEFT JOIN baseline b ON b.series = m.series AND b.calendar_month = m.calendar_month
),
compared AS (
    SELECT
        s.series,
        s.series_order,
        w.time_window,
        w.window_order,
        w.window_from,
        w.window_to,
        s.first_day,
        COALESCE(SUM(CASE WHEN wm.baseline_events IS NOT NULL THEN 1 ELSE 0 END), 0) AS months_compared,
        COALESCE(SUM(CASE WHEN wm.series IS NOT NULL AND wm.baseline_events IS NULL THEN 1 ELSE 0 END), 0) AS months_left_out,
        string_agg(CASE WHEN wm.baseline_events IS NULL THEN to_char(wm.month_start, '%B %Y') END, ', '
            ORDER BY wm.month_start) AS left_out,
        SUM(CASE WHEN wm.baseline_events IS NOT NULL THEN wm.events END) AS window_events,
        SUM(wm.baseline_events) AS baseline_events
    FROM series s
    CROSS JOIN windows w
    LEFT JOIN window_months wm ON wm.series = s.series AND wm.time_window = w.time_window
    GROUP BY s.series, s.series_order, w.time_window, w.window_order, w.window_from, w.window_to, s.first_day
),
judged AS (
    SELECT c.*, b.baseline_covered,
        c.first_day IS NOT NULL AND b.baseline_covered AND c.months_compared > 0 AS usable
    FROM compared c
    JOIN baseline_state b ON b.series = c.series
)
SELECT
    c.series,
    c.time_window,
    c.window_from,
    c.window_to,
    p.baseline_start AS baseline_from,
    p.baseline_end AS baseline_to,
    to_char(p.baseline_start, '%B %Y') || ' to ' || to_char(p.baseline_end, '%B %Y') AS baseline,
    c.months_compared,
    c.months_left_out,
    CASE WHEN c.usable THEN c.window_events END AS window_events,
    CASE WHEN c.usable THEN 1.0 * c.window_events / c.months_compared END AS window_monthly_avg,
    CASE WHEN c.usable THEN 1.0 * c.baseline_events / c.months_compared END AS baseline_monthly_avg,
    CASE WHEN c.usable AND c.baseline_events > 0 THEN 100.0 * c.window_events / c.baseline_events END AS pct_of_baseline,
    CASE
        WHEN c.first_day IS NULL THEN
            CASE WHEN c.series_order = 2 THEN 'the extract holds no A&E attendances' ELSE 'the extract holds no offences' END
        WHEN NOT c.baseline_covered THEN 'the extract does not cover the whole baseline (' || to_char(p.baseline_start, '%B %Y') || ' to ' || to_char(p.baseline_end, '%B %Y') || ')'
        WHEN c.months_compared = 0 THEN 'no whole month of the window that the extract covers is in the baseline''s calendar months'
        WHEN c.baseline_events = 0 THEN 'none in the baseline''s matching months: no percentage'
        WHEN c.months_left_out > 0 THEN c.left_out || ' left out: the baseline does not hold that calendar month'
    END AS note
FROM judged c
CROSS JOIN params p
CROSS JOIN available a
-- A&E rows only when the extract has A&E (see the `available` table).
WHERE c.series_order = 1 OR a.ae_attendances
ORDER BY c.series_order, c.window_order;
