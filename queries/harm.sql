-- Crime harm beside crime counts, by district ("harm spots" beside hot spots)
-- One row per district (plus Unknown): serious-violence offences and their total Crime Harm
-- Index days (offence_codes.harm_days: sentencing-guideline starting points in days, in the
-- manner of the Cambridge CHI), each per 1,000 residents.
-- district: local authority district, or Unknown
-- offences: serious-violence offences in the period
-- harm_days: total harm days of those offences
-- population: residents (population year of the period)
-- rate_per_1000: offences per 1,000 residents
-- lower_95: lower 95% limit of rate_per_1000
-- upper_95: upper 95% limit of rate_per_1000
-- harm_per_1000: harm days per 1,000 residents
-- harm_per_offence: mean harm days per offence
-- harm_share_pct: district's share of all harm days with a known district
-- offence_share_pct: district's share of offences with a known district
WITH counts AS (
    SELECT district, COUNT(*) AS offences, SUM(harm_days) AS harm_days FROM sv_offences GROUP BY district
),
pop AS (
    SELECT district, SUM(population) AS population FROM residents GROUP BY district
),
known AS (
    SELECT SUM(offences) AS offences, SUM(harm_days) AS harm_days FROM counts WHERE district <> 'Unknown'
),
districts AS (
    SELECT DISTINCT lad_name AS district FROM lsoa
    UNION
    SELECT district FROM counts
)
SELECT
    d.district,
    COALESCE(c.offences, 0) AS offences,
    COALESCE(c.harm_days, 0) AS harm_days,
    pop.population,
    1000.0 * COALESCE(c.offences, 0) / NULLIF(pop.population, 0) AS rate_per_1000,
    rate_lower(COALESCE(c.offences, 0), pop.population, 1000) AS lower_95,
    rate_upper(COALESCE(c.offences, 0), pop.population, 1000) AS upper_95,
    1000.0 * COALESCE(c.harm_days, 0) / NULLIF(pop.population, 0) AS harm_per_1000,
    1.0 * c.harm_days / NULLIF(c.offences, 0) AS harm_per_offence,
    CASE WHEN d.district = 'Unknown' THEN NULL ELSE 100.0 * COALESCE(c.harm_days, 0) / NULLIF(k.harm_days, 0) END AS harm_share_pct,
    CASE WHEN d.district = 'Unknown' THEN NULL ELSE 100.0 * COALESCE(c.offences, 0) / NULLIF(k.offences, 0) END AS offence_share_pct
FROM districts d
CROSS JOIN known k
LEFT JOIN counts c ON c.district = d.district
LEFT JOIN pop ON pop.district = d.district
ORDER BY d.district = 'Unknown', harm_per_1000 DESC NULLS LAST, d.district;
