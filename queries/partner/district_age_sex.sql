-- Victims and offenders by district, 5-year age band and sex. Documentation, column tests and report placement: district_age_sex.toml
WITH linked AS (
    SELECT 'victim' AS role, person_id, crime_id, committed_at, age, sex, age_band, district FROM sv_victims
    UNION ALL
    SELECT 'offender', person_id, crime_id, committed_at, age, sex, age_band, district FROM sv_offenders
),
firsts AS (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY role, person_id ORDER BY committed_at, crime_id, age, sex) AS nth
    FROM linked
),
counts AS (
    SELECT role, sex, district, age_band, COUNT(*) AS persons
    FROM firsts WHERE nth = 1 AND age_band IS NOT NULL AND sex IN ('F', 'M')
    GROUP BY role, sex, district, age_band
),
roles AS (SELECT 'victim' AS role UNION ALL SELECT 'offender'),
sexes AS (SELECT 'F' AS sex UNION ALL SELECT 'M'),
districts AS (
    SELECT DISTINCT lad_name AS district FROM lsoa
    UNION
    SELECT district FROM counts
),
pop AS (
    SELECT district, sex, age_band, SUM(population) AS residents FROM residents GROUP BY district, sex, age_band
),
cells AS (
    SELECT r.role, s.sex, d.district, e.age_band, e.band_start, COALESCE(c.persons, 0) AS persons, pop.residents
    FROM roles r CROSS JOIN sexes s CROSS JOIN districts d CROSS JOIN esp2013 e
    LEFT JOIN counts c ON c.role = r.role AND c.sex = s.sex AND c.district = d.district AND c.age_band = e.age_band
    LEFT JOIN pop ON pop.district = d.district AND pop.sex = s.sex AND pop.age_band = e.age_band
)
SELECT role, sex, district, age_band, persons, residents FROM (
    SELECT role, sex, district, age_band, band_start, persons, residents FROM cells
    UNION ALL
    SELECT role, sex, district, 'Total', 1000, SUM(persons), SUM(residents) FROM cells GROUP BY role, sex, district
    UNION ALL
    SELECT role, sex, 'Total', age_band, band_start, SUM(persons), SUM(residents) FROM cells GROUP BY role, sex, age_band, band_start
    UNION ALL
    SELECT role, sex, 'Total', 'Total', 1000, SUM(persons), SUM(residents) FROM cells GROUP BY role, sex
) t
ORDER BY role DESC, sex, district = 'Total', district, band_start;
