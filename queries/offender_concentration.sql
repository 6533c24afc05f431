-- Concentration of serious violence among offenders (the Lorenz curve). Documentation, column tests and report placement: offender_concentration.toml
WITH per_offender AS (
    SELECT person_id, COUNT(DISTINCT crime_id) AS offences
    FROM sv_offenders
    GROUP BY person_id
),
thresholds AS (
    SELECT DISTINCT offences AS threshold FROM per_offender
),
covered AS (
    -- For each number of offences k: distinct offences linked to at least one offender with k
    -- or more offences (the headline's repeat_offender_share_pct at k = 2).
    SELECT t.threshold, COUNT(DISTINCT o.crime_id) AS offences_linked
    FROM thresholds t
    JOIN per_offender c ON c.offences >= t.threshold
    JOIN sv_offenders o ON o.person_id = c.person_id
    GROUP BY t.threshold
),
by_count AS (
    SELECT offences AS offences_per_offender,
        COUNT(*) AS offenders,
        SUM(offences) AS offender_offences
    FROM per_offender
    GROUP BY offences
)
SELECT b.offences_per_offender,
    b.offenders,
    b.offender_offences,
    100.0 * SUM(offenders) OVER (ORDER BY offences_per_offender DESC ROWS UNBOUNDED PRECEDING)
        / SUM(offenders) OVER () AS cum_offenders_pct,
    100.0 * SUM(offender_offences) OVER (ORDER BY offences_per_offender DESC ROWS UNBOUNDED PRECEDING)
        / SUM(offender_offences) OVER () AS cum_offences_pct,
    cv.offences_linked,
    100.0 * cv.offences_linked / (SELECT COUNT(DISTINCT crime_id) FROM sv_offenders) AS cum_distinct_offences_pct
FROM by_count b
JOIN covered cv ON cv.threshold = b.offences_per_offender
ORDER BY b.offences_per_offender DESC;
