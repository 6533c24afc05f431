-- Concentration of serious violence among offenders (the Lorenz curve)
-- One row per number of serious-violence offences linked to an offender in the period, most
-- first, with cumulative shares: the top `cum_offenders_pct` of offenders (ranked by their
-- offences) account for `cum_offences_pct` of offender-offence links. An offence with two
-- offenders is one link for each, so the shares are of links, not of distinct offences (the
-- headline's repeat_offender_share_pct counts distinct offences).
-- offences_per_offender: distinct serious-violence offences linked to each offender in the row
-- offenders: offenders with that many offences
-- offender_offences: offenders × offences_per_offender (offender-offence links)
-- cum_offenders_pct: cumulative percentage of offenders, from the most prolific down
-- cum_offences_pct: cumulative percentage of offender-offence links, from the most prolific down
WITH per_offender AS (
    SELECT person_id, COUNT(DISTINCT crime_id) AS offences
    FROM sv_offenders
    GROUP BY person_id
),
by_count AS (
    SELECT offences AS offences_per_offender,
        COUNT(*) AS offenders,
        SUM(offences) AS offender_offences
    FROM per_offender
    GROUP BY offences
)
SELECT offences_per_offender,
    offenders,
    offender_offences,
    100.0 * SUM(offenders) OVER (ORDER BY offences_per_offender DESC ROWS UNBOUNDED PRECEDING)
        / SUM(offenders) OVER () AS cum_offenders_pct,
    100.0 * SUM(offender_offences) OVER (ORDER BY offences_per_offender DESC ROWS UNBOUNDED PRECEDING)
        / SUM(offender_offences) OVER () AS cum_offences_pct
FROM by_count
ORDER BY offences_per_offender DESC;
