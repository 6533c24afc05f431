-- Serious-violence offences in the assessment period. Documentation, column tests and report placement: sv_offences.toml
CREATE VIEW sv_offences AS
SELECT s.*
FROM sv_offences_all s
CROSS JOIN params p
WHERE s.committed_date BETWEEN p.period_start AND p.period_end;
