-- Serious violence by LSOA, month and cohort
-- One row per cohort, LSOA and month of the period, with a Total month per LSOA, a Total LSOA
-- per month and a grand total per cohort. Offences with an unknown LSOA appear only in the
-- totals of the area (lsoa_code Unknown). Residents are those of the period's population year.
-- disclosure: panel=cohort rows=lsoa_code columns=month counts=offences groups=district
-- cohort: all, or under_<cutoff> (offences with at least one victim or offender under the cutoff)
-- lsoa_code: LSOA 2021 code, Unknown, or Total
-- lsoa_name: LSOA name
-- district: district of the LSOA
-- month: YYYY-MM, or Total for the whole period
-- offences: serious-violence offences (null when suppressed)
-- offences_suppressed: true when offences is withheld by disclosure control
-- residents: residents of the LSOA (all ages, or under the cutoff) in the period's population year
WITH young_crimes AS (
    SELECT crime_id FROM sv_victims v CROSS JOIN params p WHERE v.age < p.young_age_cutoff
    UNION
    SELECT crime_id FROM sv_offenders o CROSS JOIN params p WHERE o.age < p.young_age_cutoff
),
cohorts AS (
    SELECT 'all' AS cohort, 0 AS young_only
    UNION ALL
    SELECT 'under_' || CAST(young_age_cutoff AS VARCHAR), 1 FROM params
),
offence_cohorts AS (
    SELECT COALESCE(s.lsoa_code, 'Unknown') AS lsoa_code, s.month, c.cohort
    FROM sv_offences s
    LEFT JOIN young_crimes y ON y.crime_id = s.crime_id
    CROSS JOIN cohorts c
    WHERE c.young_only = 0 OR y.crime_id IS NOT NULL
),
areas AS (
    SELECT lsoa_code, lsoa_name, lad_name AS district FROM lsoa
    UNION ALL
    SELECT 'Unknown', CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR)
),
pop AS (
    SELECT r.lsoa_code, c.cohort, SUM(r.population) AS residents
    FROM residents r CROSS JOIN cohorts c CROSS JOIN params p
    WHERE c.young_only = 0 OR r.age < p.young_age_cutoff
    GROUP BY r.lsoa_code, c.cohort
),
counts AS (
    SELECT cohort, lsoa_code, month, COUNT(*) AS offences FROM offence_cohorts GROUP BY cohort, lsoa_code, month
),
cells AS (
    SELECT c.cohort, a.lsoa_code, a.lsoa_name, a.district, m.month, COALESCE(n.offences, 0) AS offences, pop.residents
    FROM cohorts c
    CROSS JOIN areas a
    CROSS JOIN period_months m
    LEFT JOIN counts n ON n.cohort = c.cohort AND n.lsoa_code = a.lsoa_code AND n.month = m.month
    LEFT JOIN pop ON pop.cohort = c.cohort AND pop.lsoa_code = a.lsoa_code
    WHERE a.lsoa_code <> 'Unknown' OR EXISTS (SELECT 1 FROM counts u WHERE u.lsoa_code = 'Unknown')
)
SELECT cohort, lsoa_code, lsoa_name, district, month, offences, residents FROM cells
UNION ALL
SELECT cohort, lsoa_code, lsoa_name, district, 'Total', SUM(offences), MAX(residents)
FROM cells GROUP BY cohort, lsoa_code, lsoa_name, district
UNION ALL
SELECT cohort, 'Total', CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), month, SUM(offences), SUM(residents)
FROM cells GROUP BY cohort, month
UNION ALL
SELECT cohort, 'Total', CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'Total', SUM(offences), SUM(residents) / COUNT(DISTINCT month)
FROM cells GROUP BY cohort
ORDER BY cohort, lsoa_code = 'Total', lsoa_code, month = 'Total', month;
