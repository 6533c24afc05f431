-- Every police.uk crime (of any type) with the first day of its month. Documentation: offence_dates.toml
CREATE VIEW offence_dates AS
SELECT crime_id, CAST(month AS DATE) AS committed_date
FROM offences;
