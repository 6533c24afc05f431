-- Every police.uk crime (of any type) with the first day of its month. Documentation: offence_dates.toml
CREATE VIEW offence_dates AS
SELECT crime_id, CAST(month AS DATE) AS committed_date,
    CAST(CAST(month AS DATE) + INTERVAL '1 month' - INTERVAL '1 day' AS DATE) AS covered_to
FROM offences;
