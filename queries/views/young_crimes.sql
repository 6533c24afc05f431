-- Serious-violence offences of the period with a victim or an offender under the age cutoff. Documentation: young_crimes.toml
CREATE VIEW young_crimes AS
SELECT crime_id FROM sv_victims v CROSS JOIN params p WHERE v.age < p.young_age_cutoff
UNION
SELECT crime_id FROM sv_offenders o CROSS JOIN params p WHERE o.age < p.young_age_cutoff;
