-- Rows left out of measures, and why. Documentation, column tests and report placement: data_quality.toml
WITH offence_counts AS (
    SELECT
        COUNT(*) AS total,
        SUM(CASE WHEN o.committed_date NOT BETWEEN p.period_start AND p.period_end THEN 1 ELSE 0 END) AS outside_period
    FROM offence_dates o CROSS JOIN params p
),
sv_counts AS (
    SELECT
        COUNT(*) AS total,
        SUM(CASE WHEN recorded_lsoa_code IS NULL THEN 1 ELSE 0 END) AS no_lsoa,
        SUM(CASE WHEN recorded_lsoa_code IS NOT NULL AND lsoa_code IS NULL THEN 1 ELSE 0 END) AS outside_lookup
    FROM sv_offences
),
person_counts AS (
    SELECT
        SUM(CASE WHEN role = 'victim' THEN 1 ELSE 0 END) AS victims,
        SUM(CASE WHEN role = 'offender' THEN 1 ELSE 0 END) AS offenders,
        SUM(CASE WHEN role = 'victim' AND age IS NULL THEN 1 ELSE 0 END) AS victims_no_age,
        SUM(CASE WHEN role = 'offender' AND age IS NULL THEN 1 ELSE 0 END) AS offenders_no_age,
        SUM(CASE WHEN role = 'victim' AND sex NOT IN ('F', 'M') THEN 1 ELSE 0 END) AS victims_sex_u,
        SUM(CASE WHEN role = 'offender' AND sex NOT IN ('F', 'M') THEN 1 ELSE 0 END) AS offenders_sex_u,
        SUM(CASE WHEN role = 'offender' AND age < 10 THEN 1 ELSE 0 END) AS offenders_under_ten
    FROM sv_persons
),
home_counts AS (
    -- Homes on the first offence (person_homes), against the area's LSOAs.
    SELECT
        SUM(CASE WHEN h.role = 'victims' AND h.home_lsoa IS NOT NULL AND l.lsoa_code IS NULL THEN 1 ELSE 0 END) AS victims_outside,
        SUM(CASE WHEN h.role = 'victims' AND h.home_lsoa IS NULL THEN 1 ELSE 0 END) AS victims_no_home,
        SUM(CASE WHEN h.role = 'offenders' AND h.home_lsoa IS NOT NULL AND l.lsoa_code IS NULL THEN 1 ELSE 0 END) AS offenders_outside,
        SUM(CASE WHEN h.role = 'offenders' AND h.home_lsoa IS NULL THEN 1 ELSE 0 END) AS offenders_no_home
    FROM person_homes h LEFT JOIN lsoa l ON l.lsoa_code = h.home_lsoa
),
orphans AS (
    SELECT
        (SELECT COUNT(*) FROM persons) AS total,
        (SELECT COUNT(*) FROM orphan_persons) AS orphans
),
ae_counts AS (
    SELECT
        COUNT(*) AS assaults,
        SUM(CASE WHEN l.lsoa_code IS NULL THEN 1 ELSE 0 END) AS non_residents
    FROM ae_attendances a CROSS JOIN params p LEFT JOIN lsoa l ON l.lsoa_code = a.home_lsoa
    WHERE a.assault AND CAST(a.arrived_at AS DATE) BETWEEN p.period_start AND p.period_end
),
ae_resident_counts AS (
    SELECT COUNT(*) AS residents, SUM(CASE WHEN a.age IS NULL THEN 1 ELSE 0 END) AS no_age
    FROM ae_assaults a CROSS JOIN params p
    WHERE a.arrived_date BETWEEN p.period_start AND p.period_end
),
ambulance_counts AS (
    SELECT COUNT(*) AS conveyed, SUM(CASE WHEN a.age IS NULL THEN 1 ELSE 0 END) AS no_age
    FROM ambulance a CROSS JOIN params p
    WHERE a.assault AND a.conveyed AND CAST(a.called_at AS DATE) BETWEEN p.period_start AND p.period_end
),
checks AS (
    SELECT * FROM (VALUES
        (1, 'offences', 'committed outside the period', 'left out of every measure except year_on_year, pre_pandemic_baseline and svd_outcomes'),
        (2, 'serious-violence offences in the period', 'no LSOA recorded', 'counted in totals; Unknown in area breakdowns and left out of LSOA hot spots'),
        (3, 'serious-violence offences in the period', 'LSOA not in the area lookup', 'counted in totals; Unknown in area breakdowns and left out of LSOA hot spots'),
        (4, 'victims (distinct persons)', 'unknown age on first offence', 'left out of age bands, cohorts and rate ratios'),
        (5, 'offenders (distinct persons)', 'unknown age on first offence', 'left out of age bands, cohorts and rate ratios'),
        (6, 'victims (distinct persons)', 'sex U (unknown or other)', 'left out of the male percentage and of age-sex rates'),
        (7, 'offenders (distinct persons)', 'sex U (unknown or other)', 'left out of the male percentage and of age-sex rates'),
        (8, 'persons rows', 'crime_id not in offences (orphan persons)', 'left out of every measure'),
        (9, 'assault A&E attendances in the period', 'patient not a resident of the area (home LSOA missing or outside the lookup)', 'left out of resident A&E rates'),
        (10, 'assault A&E attendances by residents in the period', 'unknown age', 'left out of the under-cutoff A&E cohort'),
        (11, 'assault ambulance incidents conveyed in the period', 'unknown age', 'left out of ambulance_conveyed_u25_pct'),
        (12, 'victims (distinct persons)', 'home outside the area', 'left out of victim_prevalence_pct and the rates by home'),
        (13, 'victims (distinct persons)', 'no home recorded', 'left out of victim_prevalence_pct and the rates by home'),
        (14, 'offenders (distinct persons)', 'home outside the area', 'left out of offender_prevalence_pct and the rates by home'),
        (15, 'offenders (distinct persons)', 'no home recorded', 'left out of offender_prevalence_pct and the rates by home'),
        (16, 'offenders (distinct persons)', 'recorded under 10, below the age of criminal responsibility', 'left out of the offender rate ratio; check the record')
    ) c(ord, scope, reason, consequence)
    CROSS JOIN available a
    -- Only the checks of the sources the extract holds.
    WHERE c.ord <= 3
       OR (c.ord BETWEEN 4 AND 8 AND a.persons)
       OR (c.ord IN (9, 10) AND a.ae_attendances)
       OR (c.ord = 11 AND a.ambulance)
       OR (c.ord >= 12 AND a.persons)
),
measured AS (
    SELECT
        c.ord, c.scope, c.reason, c.consequence,
        CAST(CASE c.ord
            WHEN 1 THEN o.outside_period WHEN 2 THEN s.no_lsoa WHEN 3 THEN s.outside_lookup
            WHEN 4 THEN pc.victims_no_age WHEN 5 THEN pc.offenders_no_age
            WHEN 6 THEN pc.victims_sex_u WHEN 7 THEN pc.offenders_sex_u
            WHEN 8 THEN orphans.orphans WHEN 9 THEN ae.non_residents WHEN 10 THEN ar.no_age
            WHEN 11 THEN amb.no_age
            WHEN 12 THEN hc.victims_outside WHEN 13 THEN hc.victims_no_home
            WHEN 14 THEN hc.offenders_outside WHEN 15 THEN hc.offenders_no_home
            ELSE pc.offenders_under_ten END AS BIGINT) AS rows,
        CAST(CASE c.ord
            WHEN 1 THEN o.total WHEN 2 THEN s.total WHEN 3 THEN s.total
            WHEN 4 THEN pc.victims WHEN 5 THEN pc.offenders WHEN 6 THEN pc.victims WHEN 7 THEN pc.offenders
            WHEN 8 THEN orphans.total WHEN 9 THEN ae.assaults WHEN 10 THEN ar.residents
            WHEN 11 THEN amb.conveyed
            WHEN 12 THEN pc.victims WHEN 13 THEN pc.victims
            ELSE pc.offenders END AS BIGINT) AS total
    FROM checks c
    CROSS JOIN offence_counts o
    CROSS JOIN sv_counts s
    CROSS JOIN person_counts pc
    CROSS JOIN orphans
    CROSS JOIN ae_counts ae
    CROSS JOIN ae_resident_counts ar
    CROSS JOIN ambulance_counts amb
    CROSS JOIN home_counts hc
)
SELECT scope, reason, consequence, COALESCE(rows, 0) AS rows, COALESCE(total, 0) AS total,
    100.0 * rows / NULLIF(total, 0) AS pct
FROM measured
ORDER BY ord;
