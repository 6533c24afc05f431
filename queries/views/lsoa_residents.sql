-- Residents and person-years of each LSOA in the period, all ages. Documentation: lsoa_residents.toml
CREATE VIEW lsoa_residents AS
WITH res AS (
    SELECT lsoa_code, SUM(population) AS population FROM residents GROUP BY lsoa_code
),
py AS (
    SELECT lsoa_code, SUM(person_days) AS person_days FROM person_years GROUP BY lsoa_code
)
SELECT
    l.lsoa_code,
    l.lsoa_name,
    l.ward_name AS ward,
    l.lad_name AS district,
    l.csp_name AS csp,
    r.population,
    y.person_days
FROM lsoa l
LEFT JOIN res r ON r.lsoa_code = l.lsoa_code
LEFT JOIN py y ON y.lsoa_code = l.lsoa_code
WHERE r.lsoa_code IS NOT NULL OR y.lsoa_code IS NOT NULL;
