-- Each victim and offender of the period once, at their home on their first serious-violence offence. Documentation: person_homes.toml
CREATE VIEW person_homes AS
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
WHERE nth = 1;
