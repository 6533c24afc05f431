-- Funding formula inputs by area. Documentation, column tests and report placement: areas.toml
WITH area_of AS (
    SELECT
        l.lsoa_code,
        CASE f.level
            WHEN 'district' THEN l.lad_name
            WHEN 'locality' THEN lo.locality
            ELSE l.csp_name
        END AS area
    FROM lsoa l
    LEFT JOIN localities lo ON lo.lsoa_code = l.lsoa_code
    CROSS JOIN funding_params f
),
residents AS (
    SELECT a.area, SUM(p.population) AS population
    FROM population p
    JOIN area_of a ON a.lsoa_code = p.lsoa_code
    CROSS JOIN params pr
    WHERE p.year = pr.population_year
    GROUP BY a.area
),
recorded AS (
    -- offence_harm: every offence with its day and harm, in either form of the extract.
    SELECT
        a.area,
        SUM(CASE WHEN o.committed_date BETWEEN pr.period_start AND pr.period_end THEN 1 ELSE 0 END) AS crimes,
        SUM(CASE WHEN o.committed_date BETWEEN f.harm_start AND pr.period_end THEN o.harm_days ELSE 0 END) AS harm
    FROM offence_harm o
    JOIN area_of a ON a.lsoa_code = o.lsoa_code
    CROSS JOIN params pr
    CROSS JOIN funding_params f
    GROUP BY a.area
)
SELECT
    r.area,
    CAST(r.population AS DOUBLE) AS population,
    CAST(COALESCE(c.crimes, 0) AS DOUBLE) AS crimes,
    CAST(COALESCE(c.harm, 0) AS DOUBLE) AS harm
FROM residents r
LEFT JOIN recorded c ON c.area = r.area
WHERE r.area IS NOT NULL
ORDER BY r.area
