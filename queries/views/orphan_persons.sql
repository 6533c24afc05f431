-- Rows of persons whose crime_id is not among the offences. Documentation: orphan_persons.toml
CREATE VIEW orphan_persons AS
SELECT per.crime_id, per.person_id, per.role
FROM persons per
WHERE NOT EXISTS (SELECT 1 FROM offence_dates o WHERE o.crime_id = per.crime_id);
