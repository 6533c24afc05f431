-- Crime harm beside crime counts, by district ("harm spots" beside hot spots). Documentation, column tests and report placement: harm.toml
WITH counts AS (
    SELECT district, COUNT(*) AS offences, SUM(harm_days) AS harm_days FROM sv_offences GROUP BY district
),
pop AS (
    SELECT district, SUM(population) AS population FROM lsoa_residents WHERE population IS NOT NULL GROUP BY district
),
py AS (
    SELECT district, SUM(person_days) / 365.25 AS person_years FROM lsoa_residents WHERE person_days IS NOT NULL GROUP BY district
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
    py.person_years,
    1000.0 * COALESCE(c.offences, 0) / NULLIF(py.person_years, 0) AS rate_per_1000_year,
    rate_lower(COALESCE(c.offences, 0), py.person_years, 1000) AS lower_95,
    rate_upper(COALESCE(c.offences, 0), py.person_years, 1000) AS upper_95,
    1000.0 * COALESCE(c.harm_days, 0) / NULLIF(py.person_years, 0) AS harm_per_1000_year,
    1.0 * c.harm_days / NULLIF(c.offences, 0) AS harm_per_offence,
    CASE WHEN d.district = 'Unknown' THEN NULL ELSE 100.0 * COALESCE(c.harm_days, 0) / NULLIF(k.harm_days, 0) END AS harm_share_pct,
    CASE WHEN d.district = 'Unknown' THEN NULL ELSE 100.0 * COALESCE(c.offences, 0) / NULLIF(k.offences, 0) END AS offence_share_pct
FROM districts d
CROSS JOIN known k
LEFT JOIN counts c ON c.district = d.district
LEFT JOIN pop ON pop.district = d.district
LEFT JOIN py ON py.district = d.district
ORDER BY d.district = 'Unknown', harm_per_1000_year DESC NULLS LAST, d.district;
