-- Every recorded offence (of any type) with its LSOA, date and Crime Harm Index days. Documentation: offence_harm.toml
CREATE VIEW offence_harm AS
SELECT o.lsoa_code, CAST(o.committed_at AS DATE) AS committed_date, CAST(c.harm_days AS DOUBLE) AS harm_days
FROM offences o
-- Every offence, one whose code is not in offence_codes with no harm (validation reports it).
LEFT JOIN offence_codes c ON c.offence_code = o.offence_code;
