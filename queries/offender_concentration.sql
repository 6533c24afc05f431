-- Concentration of serious violence among offenders (the Lorenz curve). Documentation, column tests and report placement: offender_concentration.toml
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
