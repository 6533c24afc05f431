-- Serious violence by district, Community Safety Partnership and ward. Documentation, column tests and report placement: areas.toml
WITH located AS (
    SELECT
        s.crime_id,
        l.lad_code, l.lad_name, l.csp_code, l.csp_name, l.ward_code, l.ward_name, lo.locality,
        CASE WHEN y.crime_id IS NULL THEN 0 ELSE 1 END AS young
    FROM sv_offences s
    LEFT JOIN lsoa l ON l.lsoa_code = s.lsoa_code
    LEFT JOIN localities lo ON lo.lsoa_code = s.lsoa_code
    LEFT JOIN young_crimes y ON y.crime_id = s.crime_id
),
has_localities AS (
    SELECT COUNT(*) > 0 AS configured FROM localities
),
areas AS (
    SELECT DISTINCT 'district' AS level, lad_code AS area_code, lad_name AS area_name, lad_name AS district FROM lsoa
    UNION ALL
    SELECT DISTINCT 'csp', csp_code, csp_name, lad_name FROM lsoa
    UNION ALL
    SELECT DISTINCT 'ward', ward_code, ward_name, lad_name FROM lsoa
    UNION ALL
    SELECT 'locality', lo.locality AS area_code, lo.locality AS area_name,
        CASE WHEN COUNT(DISTINCT l.lad_name) = 1 THEN MIN(l.lad_name) ELSE 'Several' END
    FROM localities lo JOIN lsoa l ON l.lsoa_code = lo.lsoa_code
    GROUP BY lo.locality
),
counts AS (
    SELECT 'district' AS level, lad_code AS area_code, COUNT(*) AS offences, SUM(young) AS young FROM located GROUP BY lad_code
    UNION ALL
    SELECT 'csp', csp_code, COUNT(*), SUM(young) FROM located GROUP BY csp_code
    UNION ALL
    SELECT 'ward', ward_code, COUNT(*), SUM(young) FROM located GROUP BY ward_code
    UNION ALL
    SELECT 'locality', locality, COUNT(*), SUM(young)
    FROM located CROSS JOIN has_localities h WHERE h.configured GROUP BY locality
),
pop AS (
    SELECT 'district' AS level, l.lad_code AS area_code, SUM(r.population) AS population
    FROM lsoa_residents r JOIN lsoa l ON l.lsoa_code = r.lsoa_code WHERE r.population IS NOT NULL GROUP BY l.lad_code
    UNION ALL
    SELECT 'csp', l.csp_code, SUM(r.population) FROM lsoa_residents r JOIN lsoa l ON l.lsoa_code = r.lsoa_code WHERE r.population IS NOT NULL GROUP BY l.csp_code
    UNION ALL
    SELECT 'ward', l.ward_code, SUM(r.population) FROM lsoa_residents r JOIN lsoa l ON l.lsoa_code = r.lsoa_code WHERE r.population IS NOT NULL GROUP BY l.ward_code
    UNION ALL
    SELECT 'locality', lo.locality, SUM(r.population) FROM lsoa_residents r JOIN localities lo ON lo.lsoa_code = r.lsoa_code WHERE r.population IS NOT NULL GROUP BY lo.locality
),
py AS (
    SELECT 'district' AS level, l.lad_code AS area_code, SUM(r.person_days) / 365.25 AS person_years
    FROM lsoa_residents r JOIN lsoa l ON l.lsoa_code = r.lsoa_code WHERE r.person_days IS NOT NULL GROUP BY l.lad_code
    UNION ALL
    SELECT 'csp', l.csp_code, SUM(r.person_days) / 365.25 FROM lsoa_residents r JOIN lsoa l ON l.lsoa_code = r.lsoa_code WHERE r.person_days IS NOT NULL GROUP BY l.csp_code
    UNION ALL
    SELECT 'ward', l.ward_code, SUM(r.person_days) / 365.25 FROM lsoa_residents r JOIN lsoa l ON l.lsoa_code = r.lsoa_code WHERE r.person_days IS NOT NULL GROUP BY l.ward_code
    UNION ALL
    SELECT 'locality', lo.locality, SUM(r.person_days) / 365.25 FROM lsoa_residents r JOIN localities lo ON lo.lsoa_code = r.lsoa_code WHERE r.person_days IS NOT NULL GROUP BY lo.locality
),
known AS (
    SELECT COUNT(*) AS known_offences FROM located WHERE lad_code IS NOT NULL
),
rows_all AS (
    SELECT a.level, a.area_code, a.area_name, a.district,
        COALESCE(c.offences, 0) AS offences, pop.population, py.person_years, COALESCE(c.young, 0) AS young
    FROM areas a
    LEFT JOIN counts c ON c.level = a.level AND c.area_code = a.area_code
    LEFT JOIN pop ON pop.level = a.level AND pop.area_code = a.area_code
    LEFT JOIN py ON py.level = a.level AND py.area_code = a.area_code
    UNION ALL
    SELECT c.level, CAST(NULL AS VARCHAR), 'Unknown', 'Unknown', c.offences, CAST(NULL AS BIGINT), CAST(NULL AS DOUBLE), c.young
    FROM counts c WHERE c.area_code IS NULL
)
SELECT
    r.level,
    r.area_code,
    r.area_name,
    r.district,
    r.offences,
    r.population,
    r.person_years,
    1000.0 * r.offences / NULLIF(r.person_years, 0) AS rate_per_1000_year,
    rate_lower(r.offences, r.person_years, 1000) AS lower_95,
    rate_upper(r.offences, r.person_years, 1000) AS upper_95,
    k.known_offences,
    CASE WHEN r.area_code IS NULL THEN NULL ELSE 100.0 * r.offences / NULLIF(k.known_offences, 0) END AS share_pct,
    CASE WHEN r.area_code IS NULL THEN NULL ELSE 100.0 * wilson_lower(r.offences, k.known_offences) END AS share_lower_95,
    CASE WHEN r.area_code IS NULL THEN NULL ELSE 100.0 * wilson_upper(r.offences, k.known_offences) END AS share_upper_95,
    -- Ages come from the persons extract: without it the cohort columns are empty.
    CASE WHEN av.persons THEN r.young END AS under_25_offences,
    CASE WHEN av.persons THEN 100.0 * r.young / NULLIF(r.offences, 0) END AS under_25_pct
FROM rows_all r CROSS JOIN known k CROSS JOIN available av
ORDER BY CASE r.level WHEN 'district' THEN 1 WHEN 'csp' THEN 2 WHEN 'locality' THEN 3 ELSE 4 END, r.area_code IS NULL, r.offences DESC, r.area_name, r.area_code;
