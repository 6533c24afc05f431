-- Every recorded offence (of any type) with its date. Documentation: offence_dates.toml
CREATE VIEW offence_dates AS
SELECT crime_id, CAST(committed_at AS DATE) AS committed_date, CAST(committed_at AS DATE) AS covered_to
FROM offences;
