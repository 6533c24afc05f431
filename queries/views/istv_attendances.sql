-- Emergency departments' ISTV returns: each assault attendance with when, where and how the assault happened, at any date. Documentation, column tests and report placement: istv_attendances.toml
CREATE VIEW istv_attendances AS
SELECT
    i.attendance_id,
    i.site,
    i.arrived_at,
    CAST(i.arrived_at AS DATE) AS arrived_date,
    to_char(i.arrived_at, '%Y-%m') AS month,
    i.incident_at,
    CAST(date_part('hour', i.incident_at) AS BIGINT) AS incident_hour,
    to_char(i.incident_at, '%A') AS incident_weekday,
    CAST((CAST(date_part('dow', i.incident_at) AS BIGINT) + 6) % 7 + 1 AS BIGINT) AS incident_weekday_number,
    i.incident_location,
    CASE
        WHEN i.place IN ('', 'unknown', 'not known', 'not recorded', 'not stated', 'na', 'none')
            THEN NULL
        ELSE i.place
    END AS incident_place,
    i.means,
    i.means_original,
    CAST(i.age AS BIGINT) AS age,
    i.sex,
    CASE
        WHEN i.age IS NULL THEN NULL
        WHEN i.age < p.young_age_cutoff THEN 'under_' || CAST(p.young_age_cutoff AS VARCHAR)
        ELSE CAST(p.young_age_cutoff AS VARCHAR) || '_plus'
    END AS cohort,
    upper(trim(i.postcode_district)) AS postcode_district,
    i.reported_to_police
FROM (
    SELECT
        s.*,
        -- The free text normalised: lower case, letters, digits and single spaces only.
        trim(regexp_replace(
            regexp_replace(lower(COALESCE(s.incident_location, '')), '[^a-z0-9 ]', '', 'g'),
            ' +', ' ', 'g'
        )) AS place
    FROM istv s
) i
CROSS JOIN params p;
