-- Serious-violence offences in the assessment period
-- One row per offence: `sv_offences_all` restricted to offences whose committed date falls in
-- the period (`params.period_start` to `params.period_end`, inclusive).
-- cache: yes
CREATE VIEW sv_offences AS
SELECT s.*
FROM sv_offences_all s
CROSS JOIN params p
WHERE s.committed_date BETWEEN p.period_start AND p.period_end;
