-- Serious violence in police.uk open data (the open-data proxy), at any month in the extract, with the columns of views/sv_offences_all.sql. Documentation: sv_offences_all.toml
CREATE VIEW sv_offences_all AS
SELECT
    o.crime_id,
    CAST(NULL AS VARCHAR) AS offence_code,
    CAST(NULL AS VARCHAR) AS offence_name,
    CAST(NULL AS VARCHAR) AS ho_group,
    CAST(NULL AS BIGINT) AS harm_days,
    CAST(NULL AS TIMESTAMP) AS committed_at,
    CAST(o.month AS DATE) AS committed_date,
    to_char(o.month, '%Y-%m') AS month,
    CASE
        WHEN date_part('month', o.month) >= 4
            THEN CAST(CAST(date_part('year', o.month) AS BIGINT) AS VARCHAR) || '/'
                || lpad(CAST(CAST(date_part('year', o.month) AS BIGINT) % 100 + 1 AS VARCHAR), 2, '0')
        ELSE CAST(CAST(date_part('year', o.month) AS BIGINT) - 1 AS VARCHAR) || '/'
                || lpad(CAST(CAST(date_part('year', o.month) AS BIGINT) % 100 AS VARCHAR), 2, '0')
    END AS financial_year,
    CAST(NULL AS BIGINT) AS hour,
    CAST(NULL AS VARCHAR) AS weekday,
    CAST(NULL AS BIGINT) AS weekday_number,
    l.lsoa_code,
    l.lsoa_name,
    COALESCE(l.ward_name, 'Unknown') AS ward,
    COALESCE(l.lad_name, 'Unknown') AS district,
    COALESCE(l.csp_name, 'Unknown') AS csp,
    o.lsoa_code AS recorded_lsoa_code,
    CAST(NULL AS VARCHAR) AS location_type,
    CAST(NULL AS BOOLEAN) AS domestic,
    CAST(NULL AS BOOLEAN) AS knife,
    CAST(NULL AS BOOLEAN) AS nte,
    CAST(ROUND(o.easting) AS INT) AS easting,
    CAST(ROUND(o.northing) AS INT) AS northing,
    o.police_uk_crime_type AS offence_group,
    o.police_uk_crime_type
-- The definition is applied first and the area lookup joined last, with the lookup as the side
-- held in memory (as views/sv_offences_all.sql, for the same reason).
FROM lsoa l
RIGHT JOIN (
    SELECT o.crime_id, o.month, o.lsoa_code, o.easting, o.northing, o.police_uk_crime_type
    FROM offences o
    WHERE o.police_uk_crime_type IN (SELECT offence_group FROM sv_offence_groups)
) o ON l.lsoa_code = o.lsoa_code;
