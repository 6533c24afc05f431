-- Every police.uk crime (of any type) with its LSOA, the first day of its month and its crime type's estimated harm days. Documentation: offence_harm.toml
CREATE VIEW offence_harm AS
SELECT o.lsoa_code, CAST(o.month AS DATE) AS committed_date, w.harm_days
FROM offences o
-- Every crime; a crime type without a weight has no harm (sna funding refuses it, naming it).
LEFT JOIN police_uk_harm w ON w.police_uk_crime_type = o.police_uk_crime_type;
