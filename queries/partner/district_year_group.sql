-- Serious violence by district, financial year and offence group. Documentation, column tests and report placement: district_year_group.toml
WITH counts AS (
    SELECT financial_year, district, offence_group, COUNT(*) AS offences FROM sv_offences GROUP BY financial_year, district, offence_group
),
years AS (SELECT DISTINCT financial_year FROM sv_offences),
districts AS (
    SELECT DISTINCT lad_name AS district FROM lsoa
    UNION
    SELECT district FROM counts
),
pop AS (
    SELECT district, SUM(population) AS residents FROM residents GROUP BY district
),
cells AS (
    SELECT y.financial_year, d.district, g.offence_group, COALESCE(c.offences, 0) AS offences, pop.residents
    FROM years y CROSS JOIN districts d CROSS JOIN sv_offence_groups g
    LEFT JOIN counts c ON c.financial_year = y.financial_year AND c.district = d.district AND c.offence_group = g.offence_group
    LEFT JOIN pop ON pop.district = d.district
)
SELECT financial_year, district, offence_group, offences, residents FROM cells
UNION ALL
SELECT financial_year, district, 'Total', SUM(offences), MAX(residents) FROM cells GROUP BY financial_year, district
UNION ALL
SELECT financial_year, 'Total', offence_group, SUM(offences), SUM(residents) / COUNT(DISTINCT offence_group) FROM cells GROUP BY financial_year, offence_group
UNION ALL
SELECT financial_year, 'Total', 'Total', SUM(offences), SUM(residents) / COUNT(DISTINCT offence_group) FROM cells GROUP BY financial_year
ORDER BY financial_year, district = 'Total', district, offence_group = 'Total', offence_group;
