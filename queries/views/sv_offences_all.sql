-- Offences meeting the serious-violence definition, at any date in the extract. Documentation, column tests and report placement: sv_offences_all.toml
CREATE VIEW sv_offences_all AS
SELECT
    o.crime_id,
    o.offence_code,
    o.offence_name,
    o.ho_group,
    o.harm_days,
    o.committed_at,
    CAST(o.committed_at AS DATE) AS committed_date,
    to_char(o.committed_at, '%Y-%m') AS month,
    CASE
        WHEN date_part('month', o.committed_at) >= 4
            THEN CAST(CAST(date_part('year', o.committed_at) AS BIGINT) AS VARCHAR) || '/'
                || lpad(CAST(CAST(date_part('year', o.committed_at) AS BIGINT) % 100 + 1 AS VARCHAR), 2, '0')
        ELSE CAST(CAST(date_part('year', o.committed_at) AS BIGINT) - 1 AS VARCHAR) || '/'
                || lpad(CAST(CAST(date_part('year', o.committed_at) AS BIGINT) % 100 AS VARCHAR), 2, '0')
    END AS financial_year,
    CAST(date_part('hour', o.committed_at) AS BIGINT) AS hour,
    to_char(o.committed_at, '%A') AS weekday,
    CAST((CAST(date_part('dow', o.committed_at) AS BIGINT) + 6) % 7 + 1 AS BIGINT) AS weekday_number,
    l.lsoa_code,
    l.lsoa_name,
    COALESCE(l.ward_name, 'Unknown') AS ward,
    COALESCE(l.lad_name, 'Unknown') AS district,
    COALESCE(l.csp_name, 'Unknown') AS csp,
    o.lsoa_code AS recorded_lsoa_code,
    o.location_type,
    o.domestic,
    o.knife,
    o.nte,
    o.easting,
    o.northing,
    o.ho_group AS offence_group,
    CAST(NULL AS VARCHAR) AS police_uk_crime_type
-- The definition is applied first and the area lookup joined last, with the lookup as the side
-- held in memory: joined the other way round, every offence of the extract was held (3.4 GiB
-- at national scale) before the definition removed most of them.
FROM lsoa l
RIGHT JOIN (
    -- Named, not o.*: an extract may carry columns of its own (an offence_name of the force's
    -- wording, say), which must neither clash with nor stand in for the code table's.
    SELECT o.crime_id, o.offence_code, o.committed_at, o.lsoa_code, o.location_type, o.domestic,
        o.knife, o.nte, o.easting, o.northing, c.offence_name, c.ho_group, c.harm_days
    FROM offences o
    JOIN offence_codes c ON c.offence_code = o.offence_code
    CROSS JOIN params p
    WHERE c.ho_group IN (SELECT ho_group FROM sv_groups)
      AND (NOT p.public_place_only
           OR o.location_type IN ('street', 'public_other', 'licensed_premises', 'retail', 'transport', 'education'))
      AND (NOT p.exclude_domestic OR NOT o.domestic)
) o ON l.lsoa_code = o.lsoa_code;
