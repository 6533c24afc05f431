-- Victims, offenders and A&E assault patients per 1,000 residents a year by where they live, beside offences by where they happened. Documentation, column tests and report placement: home_rates.toml
WITH homes AS (
    -- Victims and offenders once each, at their home on their first offence (the view).
    SELECT role AS measure, person_id, home_lsoa FROM person_homes
    UNION ALL
    SELECT measure, person_id, home_lsoa
    FROM (
        -- Assault-related A&E patients of the period, at the home of their first attendance.
        SELECT 'ae_patients' AS measure, a.patient_id AS person_id, a.home_lsoa,
            ROW_NUMBER() OVER (PARTITION BY a.patient_id ORDER BY a.arrived_at, a.attendance_id) AS nth
        FROM ae_assaults a CROSS JOIN params p
        WHERE a.arrived_date BETWEEN p.period_start AND p.period_end
    ) ranked
    WHERE nth = 1
),
places AS (
    SELECT 'offences' AS measure, lsoa_code AS lsoa FROM sv_offences
),
located AS (
    SELECT h.measure, l.lad_name AS district, l.ward_name AS ward
    FROM homes h JOIN lsoa l ON l.lsoa_code = h.home_lsoa
    UNION ALL
    SELECT p.measure, l.lad_name, l.ward_name
    FROM places p JOIN lsoa l ON l.lsoa_code = p.lsoa
),
areas AS (
    SELECT 'area' AS level, 'All' AS area_name, SUM(population) AS population FROM lsoa_residents
    UNION ALL
    SELECT 'district', district, SUM(population) FROM lsoa_residents WHERE population IS NOT NULL GROUP BY district
    UNION ALL
    SELECT 'ward', ward, SUM(population) FROM lsoa_residents WHERE population IS NOT NULL GROUP BY ward
),
py AS (
    SELECT 'area' AS level, 'All' AS area_name, SUM(person_days) / 365.25 AS person_years FROM lsoa_residents
    UNION ALL
    SELECT 'district', district, SUM(person_days) / 365.25 FROM lsoa_residents WHERE person_days IS NOT NULL GROUP BY district
    UNION ALL
    SELECT 'ward', ward, SUM(person_days) / 365.25 FROM lsoa_residents WHERE person_days IS NOT NULL GROUP BY ward
),
counts AS (
    SELECT 'area' AS level, 'All' AS area_name, measure, COUNT(*) AS count FROM located GROUP BY measure
    UNION ALL
    SELECT 'district', district, measure, COUNT(*) FROM located GROUP BY district, measure
    UNION ALL
    SELECT 'ward', ward, measure, COUNT(*) FROM located GROUP BY ward, measure
),
measures AS (
    SELECT * FROM (VALUES (1, 'offences'), (2, 'victims'), (3, 'offenders'), (4, 'ae_patients')) AS m(position, measure)
),
rates AS (
    SELECT
        a.level,
        a.area_name,
        m.position,
        m.measure,
        COALESCE(c.count, 0) AS count,
        a.population,
        1000.0 * COALESCE(c.count, 0) / y.person_years AS rate_per_1000_year,
        rate_lower(COALESCE(c.count, 0), y.person_years, 1000) AS lower_95,
        rate_upper(COALESCE(c.count, 0), y.person_years, 1000) AS upper_95
    FROM areas a
    JOIN py y ON y.level = a.level AND y.area_name = a.area_name
    CROSS JOIN measures m
    CROSS JOIN params p
    LEFT JOIN counts c ON c.level = a.level AND c.area_name = a.area_name AND c.measure = m.measure
    WHERE a.population > 0
)
SELECT
    level,
    area_name,
    MAX(population) AS population,
    SUM(CASE WHEN measure = 'offences' THEN count END) AS offences,
    MAX(CASE WHEN measure = 'offences' THEN rate_per_1000_year END) AS offences_rate,
    MAX(CASE WHEN measure = 'offences' THEN lower_95 END) AS offences_lower_95,
    MAX(CASE WHEN measure = 'offences' THEN upper_95 END) AS offences_upper_95,
    SUM(CASE WHEN measure = 'victims' THEN count END) AS victims,
    MAX(CASE WHEN measure = 'victims' THEN rate_per_1000_year END) AS victims_rate,
    MAX(CASE WHEN measure = 'victims' THEN lower_95 END) AS victims_lower_95,
    MAX(CASE WHEN measure = 'victims' THEN upper_95 END) AS victims_upper_95,
    SUM(CASE WHEN measure = 'offenders' THEN count END) AS offenders,
    MAX(CASE WHEN measure = 'offenders' THEN rate_per_1000_year END) AS offenders_rate,
    MAX(CASE WHEN measure = 'offenders' THEN lower_95 END) AS offenders_lower_95,
    MAX(CASE WHEN measure = 'offenders' THEN upper_95 END) AS offenders_upper_95,
    SUM(CASE WHEN measure = 'ae_patients' THEN count END) AS ae_patients,
    MAX(CASE WHEN measure = 'ae_patients' THEN rate_per_1000_year END) AS ae_patients_rate,
    MAX(CASE WHEN measure = 'ae_patients' THEN lower_95 END) AS ae_patients_lower_95,
    MAX(CASE WHEN measure = 'ae_patients' THEN upper_95 END) AS ae_patients_upper_95
FROM rates
GROUP BY level, area_name
ORDER BY CASE level WHEN 'area' THEN 1 WHEN 'district' THEN 2 ELSE 3 END, area_name;
