-- Serious violence by deprivation: rates by IMD decile with the slope and relative indices of inequality
-- Rates per 1,000 residents a year (residents of the period's population year × the period's
-- length in years) by the Index of Multiple Deprivation 2019 decile of the LSOA (1 = most
-- deprived tenth of neighbourhoods in England, 10 = least): offences by where they happened,
-- victims and offenders by where they live (home LSOA on their first offence in the period;
-- people with no home in the area are left out). Exact Poisson limits below 10, Byar's from 10.
-- Each measure's SII and RII follow PHE's phe_sii with multiplier -1: the SII is the gap in the
-- rate from the least to the most deprived end of the fitted line (positive: higher where more
-- deprived), the RII the ratio of the two ends (most / least deprived), with 95% limits from
-- 100,000 seeded draws; they are on every row of the measure.
-- measure: offences (by place of offence), victims or offenders (by home)
-- decile: IMD 2019 decile, 1 = most deprived
-- count: offences, or distinct people, in the decile
-- population: residents of the decile
-- rate_per_1000_year: count per 1,000 residents a year
-- lower_95: lower 95% limit of the rate
-- upper_95: upper 95% limit of the rate
-- sii: slope index of inequality of the measure's rate (per 1,000 a year)
-- sii_lower_95: lower 95% limit of the SII
-- sii_upper_95: upper 95% limit of the SII
-- rii: relative index of inequality (most / least deprived)
-- rii_lower_95: lower 95% limit of the RII
-- rii_upper_95: upper 95% limit of the RII
WITH deciles AS (
    SELECT lsoa_code, CAST(imd2019_decile AS BIGINT) AS decile
    FROM lsoa
    WHERE imd2019_decile BETWEEN 1 AND 10
),
residents_by_decile AS (
    SELECT d.decile, SUM(r.population) AS population
    FROM residents r JOIN deciles d ON d.lsoa_code = r.lsoa_code
    GROUP BY d.decile
),
first_homes AS (
    SELECT role, person_id, home_lsoa
    FROM (
        SELECT 'victims' AS role, person_id, home_lsoa,
            ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY committed_at, crime_id) AS nth
        FROM sv_victims
        UNION ALL
        SELECT 'offenders', person_id, home_lsoa,
            ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY committed_at, crime_id)
        FROM sv_offenders
    ) ranked
    WHERE nth = 1
),
counts AS (
    SELECT 'offences' AS measure, d.decile, COUNT(*) AS count
    FROM sv_offences s JOIN deciles d ON d.lsoa_code = s.lsoa_code
    GROUP BY d.decile
    UNION ALL
    SELECT h.role, d.decile, COUNT(DISTINCT h.person_id)
    FROM first_homes h JOIN deciles d ON d.lsoa_code = h.home_lsoa
    GROUP BY h.role, d.decile
),
grid AS (
    SELECT m.measure, r.decile, r.population
    FROM (VALUES ('offences'), ('victims'), ('offenders')) AS m(measure)
    CROSS JOIN residents_by_decile r
),
rates AS (
    SELECT
        g.measure,
        g.decile,
        COALESCE(c.count, 0) AS count,
        g.population,
        1000.0 * COALESCE(c.count, 0) / (g.population * p.period_years) AS rate_per_1000_year,
        rate_lower(COALESCE(c.count, 0), g.population * p.period_years, 1000) AS lower_95,
        rate_upper(COALESCE(c.count, 0), g.population * p.period_years, 1000) AS upper_95
    FROM grid g
    LEFT JOIN counts c ON c.measure = g.measure AND c.decile = g.decile
    CROSS JOIN params p
),
indices AS (
    SELECT
        measure,
        sii(decile, population, rate_per_1000_year, lower_95, upper_95) AS sii,
        sii_lower(decile, population, rate_per_1000_year, lower_95, upper_95) AS sii_lower_95,
        sii_upper(decile, population, rate_per_1000_year, lower_95, upper_95) AS sii_upper_95,
        rii(decile, population, rate_per_1000_year, lower_95, upper_95) AS rii,
        rii_lower(decile, population, rate_per_1000_year, lower_95, upper_95) AS rii_lower_95,
        rii_upper(decile, population, rate_per_1000_year, lower_95, upper_95) AS rii_upper_95
    FROM rates
    GROUP BY measure
)
SELECT r.*, i.sii, i.sii_lower_95, i.sii_upper_95, i.rii, i.rii_lower_95, i.rii_upper_95
FROM rates r JOIN indices i ON i.measure = r.measure
ORDER BY CASE r.measure WHEN 'offences' THEN 1 WHEN 'victims' THEN 2 ELSE 3 END, r.decile;
