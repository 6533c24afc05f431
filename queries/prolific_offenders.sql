-- The most prolific offenders: the top 1% by serious-violence offences. Documentation, column tests and report placement: prolific_offenders.toml
WITH offenders AS (
    SELECT person_id, age, sex, offences FROM sv_persons WHERE role = 'offender'
),
ranked AS (
    -- Ties at the cut are broken by person_id, so the group has exactly ceil(1%) people.
    SELECT *, ROW_NUMBER() OVER (ORDER BY offences DESC, person_id) AS nth FROM offenders
),
cut AS (
    SELECT CAST(CEIL(COUNT(*) * 0.01) AS BIGINT) AS size, COUNT(*) AS offenders FROM offenders
),
top AS (
    SELECT r.* FROM ranked r CROSS JOIN cut c WHERE r.nth <= c.size
),
links AS (
    -- Their offences (an offence with two of them counts once in the share).
    SELECT DISTINCT o.crime_id, o.ho_group
    FROM sv_offenders o JOIN top t ON t.person_id = o.person_id
),
totals AS (
    SELECT COUNT(*) AS offences FROM sv_offences
),
profile AS (
    SELECT 1 AS position, 'group' AS breakdown, 'top 1% of offenders' AS category,
        COUNT(*) AS count, MAX(c.offenders) AS total
    FROM top CROSS JOIN cut c
    UNION ALL
    SELECT 2, 'offences', 'linked to them', COUNT(*), MAX(t.offences)
    FROM links CROSS JOIN totals t
    UNION ALL
    SELECT 3, 'sex', COALESCE(sex, 'unknown'), COUNT(*), (SELECT COUNT(*) FROM top)
    FROM top GROUP BY COALESCE(sex, 'unknown')
    UNION ALL
    SELECT 4, 'cohort',
        CASE WHEN t.age IS NULL THEN 'unknown'
             WHEN t.age < p.young_age_cutoff THEN 'under_' || CAST(p.young_age_cutoff AS VARCHAR)
             ELSE CAST(p.young_age_cutoff AS VARCHAR) || '_plus' END,
        COUNT(*), (SELECT COUNT(*) FROM top)
    FROM top t CROSS JOIN params p
    GROUP BY 3
    UNION ALL
    SELECT 5, 'offence_group', ho_group, COUNT(*), (SELECT COUNT(*) FROM links)
    FROM links GROUP BY ho_group
)
SELECT
    breakdown,
    category,
    count,
    total,
    100.0 * count / NULLIF(total, 0) AS pct,
    100.0 * wilson_lower(count, total) AS lower_95,
    100.0 * wilson_upper(count, total) AS upper_95
FROM profile
ORDER BY position, count DESC, category;
