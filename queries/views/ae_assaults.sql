-- Assault-related A&E attendances by residents of the area, at any date. Documentation, column tests and report placement: ae_assaults.toml
CREATE VIEW ae_assaults AS
SELECT
    a.attendance_id,
    a.patient_id,
    a.arrived_at,
    CAST(a.arrived_at AS DATE) AS arrived_date,
    to_char(a.arrived_at, '%Y-%m') AS month,
    CASE
        WHEN date_part('month', a.arrived_at) >= 4
            THEN CAST(CAST(date_part('year', a.arrived_at) AS BIGINT) AS VARCHAR) || '/'
                || lpad(CAST(CAST(date_part('year', a.arrived_at) AS BIGINT) % 100 + 1 AS VARCHAR), 2, '0')
        ELSE CAST(CAST(date_part('year', a.arrived_at) AS BIGINT) - 1 AS VARCHAR) || '/'
                || lpad(CAST(CAST(date_part('year', a.arrived_at) AS BIGINT) % 100 AS VARCHAR), 2, '0')
    END AS financial_year,
    CAST(a.age AS BIGINT) AS age,
    a.sex,
    CASE
        WHEN a.age IS NULL THEN NULL
        WHEN a.age < p.young_age_cutoff THEN 'under_' || CAST(p.young_age_cutoff AS VARCHAR)
        ELSE CAST(p.young_age_cutoff AS VARCHAR) || '_plus'
    END AS cohort,
    l.lsoa_code AS home_lsoa,
    l.lad_name AS district,
    a.site,
    a.weapon,
    a.admitted
FROM ae_attendances a
JOIN lsoa l ON l.lsoa_code = a.home_lsoa
CROSS JOIN params p
WHERE a.assault;
