-- Rows left out of measures, and why
-- One row per check: how many rows (or distinct persons) each measure leaves out or shows as
-- unknown, against the total they are out of. `sna validate` gives examples of each.
-- scope: the rows the check looks at
-- reason: why they are left out or shown as unknown
-- consequence: what that means for the measures
-- rows: rows (or persons) affected
-- total: rows (or persons) in scope
-- pct: rows as a percentage of total
WITH checks AS (
    SELECT 1 AS ord, 'offences' AS scope, 'committed outside the period' AS reason,
        'left out of every measure except year_on_year and svd_outcomes' AS consequence,
        (SELECT COUNT(*) FROM offences o CROSS JOIN params p WHERE CAST(o.committed_at AS DATE) NOT BETWEEN p.period_start AND p.period_end) AS rows,
        (SELECT COUNT(*) FROM offences) AS total
    UNION ALL
    SELECT 2, 'serious-violence offences in the period', 'no LSOA recorded',
        'counted in totals; Unknown in area breakdowns and left out of LSOA hot spots',
        (SELECT COUNT(*) FROM sv_offences WHERE recorded_lsoa_code IS NULL),
        (SELECT COUNT(*) FROM sv_offences)
    UNION ALL
    SELECT 3, 'serious-violence offences in the period', 'LSOA not in the area lookup',
        'counted in totals; Unknown in area breakdowns and left out of LSOA hot spots',
        (SELECT COUNT(*) FROM sv_offences WHERE recorded_lsoa_code IS NOT NULL AND lsoa_code IS NULL),
        (SELECT COUNT(*) FROM sv_offences)
    UNION ALL
    SELECT 4, 'victims (distinct persons)', 'unknown age on first offence',
        'left out of age bands, cohorts and rate ratios',
        (SELECT COUNT(*) FROM sv_persons WHERE role = 'victim' AND age IS NULL),
        (SELECT COUNT(*) FROM sv_persons WHERE role = 'victim')
    UNION ALL
    SELECT 5, 'offenders (distinct persons)', 'unknown age on first offence',
        'left out of age bands, cohorts and rate ratios',
        (SELECT COUNT(*) FROM sv_persons WHERE role = 'offender' AND age IS NULL),
        (SELECT COUNT(*) FROM sv_persons WHERE role = 'offender')
    UNION ALL
    SELECT 6, 'victims (distinct persons)', 'sex U (unknown or other)',
        'left out of the male percentage and of age-sex rates',
        (SELECT COUNT(*) FROM sv_persons WHERE role = 'victim' AND sex NOT IN ('F', 'M')),
        (SELECT COUNT(*) FROM sv_persons WHERE role = 'victim')
    UNION ALL
    SELECT 7, 'offenders (distinct persons)', 'sex U (unknown or other)',
        'left out of the male percentage and of age-sex rates',
        (SELECT COUNT(*) FROM sv_persons WHERE role = 'offender' AND sex NOT IN ('F', 'M')),
        (SELECT COUNT(*) FROM sv_persons WHERE role = 'offender')
    UNION ALL
    SELECT 8, 'persons rows', 'crime_id not in offences (orphan persons)',
        'left out of every measure',
        (SELECT COUNT(*) FROM persons per LEFT JOIN offences o ON o.crime_id = per.crime_id WHERE o.crime_id IS NULL),
        (SELECT COUNT(*) FROM persons)
    UNION ALL
    SELECT 9, 'assault A&E attendances in the period', 'patient not a resident of the area (home LSOA missing or outside the lookup)',
        'left out of resident A&E rates',
        (SELECT COUNT(*) FROM ae_attendances a CROSS JOIN params p LEFT JOIN lsoa l ON l.lsoa_code = a.home_lsoa
            WHERE a.assault AND CAST(a.arrived_at AS DATE) BETWEEN p.period_start AND p.period_end AND l.lsoa_code IS NULL),
        (SELECT COUNT(*) FROM ae_attendances a CROSS JOIN params p
            WHERE a.assault AND CAST(a.arrived_at AS DATE) BETWEEN p.period_start AND p.period_end)
    UNION ALL
    SELECT 10, 'assault A&E attendances by residents in the period', 'unknown age',
        'left out of the under-cutoff A&E cohort',
        (SELECT COUNT(*) FROM ae_assaults a CROSS JOIN params p WHERE a.arrived_date BETWEEN p.period_start AND p.period_end AND a.age IS NULL),
        (SELECT COUNT(*) FROM ae_assaults a CROSS JOIN params p WHERE a.arrived_date BETWEEN p.period_start AND p.period_end)
    UNION ALL
    SELECT 11, 'assault ambulance incidents conveyed in the period', 'unknown age',
        'left out of ambulance_conveyed_u25_pct',
        (SELECT COUNT(*) FROM ambulance a CROSS JOIN params p WHERE a.assault AND a.conveyed AND a.age IS NULL
            AND CAST(a.called_at AS DATE) BETWEEN p.period_start AND p.period_end),
        (SELECT COUNT(*) FROM ambulance a CROSS JOIN params p WHERE a.assault AND a.conveyed
            AND CAST(a.called_at AS DATE) BETWEEN p.period_start AND p.period_end)
)
SELECT scope, reason, consequence, rows, total, 100.0 * rows / NULLIF(total, 0) AS pct
FROM checks
ORDER BY ord;
