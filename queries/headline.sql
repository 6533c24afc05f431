-- Headline measures. Documentation, column tests and report placement: headline.toml
WITH
res AS (
    SELECT
        SUM(r.population) AS all_ages,
        SUM(CASE WHEN r.age < p.young_age_cutoff THEN r.population ELSE 0 END) AS young,
        SUM(CASE WHEN r.age >= p.young_age_cutoff THEN r.population ELSE 0 END) AS older,
        -- From 10, the age of criminal responsibility in England and Wales: the residents
        -- who can be recorded as offenders.
        SUM(CASE WHEN r.age >= 10 AND r.age < p.young_age_cutoff THEN r.population ELSE 0 END) AS young_responsible
    FROM residents r CROSS JOIN params p
),
py AS (
    -- Person-years at risk in the period: the denominator of rates a year.
    SELECT SUM(person_days) / 365.25 AS all_ages FROM lsoa_residents
),
resident_people AS (
    -- Victims and offenders whose home on their first offence is in the area.
    SELECT h.role, COUNT(*) AS persons
    FROM person_homes h JOIN lsoa l ON l.lsoa_code = h.home_lsoa
    GROUP BY h.role
),
sv AS (
    SELECT
        COUNT(*) AS offences,
        SUM(CASE WHEN knife THEN 1 ELSE 0 END) AS knife,
        SUM(CASE WHEN nte THEN 1 ELSE 0 END) AS nte
    FROM sv_offences
),
people AS (
    SELECT
        s.role,
        COUNT(*) AS persons,
        SUM(CASE WHEN s.sex = 'M' THEN 1 ELSE 0 END) AS male,
        SUM(CASE WHEN s.sex IN ('F', 'M') THEN 1 ELSE 0 END) AS known_sex,
        SUM(CASE WHEN s.age < p.young_age_cutoff THEN 1 ELSE 0 END) AS young,
        SUM(CASE WHEN s.age >= p.young_age_cutoff THEN 1 ELSE 0 END) AS older,
        SUM(CASE WHEN s.age >= 10 AND s.age < p.young_age_cutoff THEN 1 ELSE 0 END) AS young_responsible
    FROM sv_persons s CROSS JOIN params p
    GROUP BY s.role
),
offence_links AS (
    SELECT
        o.crime_id,
        MAX(CASE WHEN c.offences >= 2 THEN 1 ELSE 0 END) AS has_repeat,
        MAX(CASE WHEN o.age < p.young_age_cutoff THEN 1 ELSE 0 END) AS has_young,
        MAX(CASE WHEN o.age < p.young_age_cutoff AND c.offences >= 2 THEN 1 ELSE 0 END) AS has_young_repeat
    FROM sv_offenders o
    JOIN sv_persons c ON c.role = 'offender' AND c.person_id = o.person_id
    CROSS JOIN params p
    GROUP BY o.crime_id
),
repeats AS (
    SELECT
        COUNT(*) AS linked,
        COALESCE(SUM(has_repeat), 0) AS repeat_linked,
        COALESCE(SUM(has_young), 0) AS young_linked,
        COALESCE(SUM(has_young_repeat), 0) AS young_repeat_linked
    FROM offence_links
),
hours AS (
    SELECT hour, COUNT(*) AS offences FROM sv_offences GROUP BY hour
),
peak AS (
    SELECT hour, offences FROM hours ORDER BY offences DESC, hour ASC LIMIT 1
),
districts AS (
    SELECT district, COUNT(*) AS offences FROM sv_offences WHERE lsoa_code IS NOT NULL GROUP BY district
),
top_district AS (
    SELECT district, offences, (SELECT SUM(offences) FROM districts) AS known
    FROM districts ORDER BY offences DESC, district ASC LIMIT 1
),
ae AS (
    SELECT COUNT(*) AS attendances
    FROM ae_assaults a CROSS JOIN params p
    WHERE a.arrived_date BETWEEN p.period_start AND p.period_end
),
amb AS (
    SELECT
        COUNT(*) AS known_age,
        SUM(CASE WHEN a.age < p.young_age_cutoff THEN 1 ELSE 0 END) AS young
    FROM ambulance a CROSS JOIN params p
    WHERE a.assault AND a.conveyed AND a.age IS NOT NULL
      AND CAST(a.called_at AS DATE) BETWEEN p.period_start AND p.period_end
),
cutoff AS (
    SELECT CAST(young_age_cutoff AS VARCHAR) AS age FROM params
),
measures AS (
    SELECT 1 AS ord, 'sv_offences' AS measure, 'Serious violence offences' AS label,
        CAST(sv.offences AS DOUBLE) AS value, sv.offences AS numerator, CAST(NULL AS BIGINT) AS denominator,
        byar_lower(sv.offences) AS lower_95, byar_upper(sv.offences) AS upper_95,
        'Count of serious-violence offences committed in the period (Byar limits for a Poisson count).' AS definition
    FROM sv
    UNION ALL
    SELECT 2, 'sv_rate_per_1000_year', 'Serious violence offences per 1,000 residents a year',
        1000.0 * sv.offences / NULLIF(py.all_ages, 0), sv.offences, res.all_ages,
        rate_lower(sv.offences, py.all_ages, 1000), rate_upper(sv.offences, py.all_ages, 1000),
        'Serious-violence offences in the period per 1,000 residents of the area a year: the count over person-years (each month''s residents from its own population year × its days in the period / 365.25, summed); exact Poisson or Byar limits on the count. Numerator: the offences in the whole period; denominator: residents in the period''s population year.'
    FROM sv CROSS JOIN res CROSS JOIN py
    UNION ALL
    SELECT 3, 'victim_prevalence_pct', 'Residents recorded as victims (%)',
        100.0 * COALESCE(v.persons, 0) / NULLIF(res.all_ages, 0), COALESCE(v.persons, 0), res.all_ages,
        100.0 * wilson_lower(COALESCE(v.persons, 0), res.all_ages), 100.0 * wilson_upper(COALESCE(v.persons, 0), res.all_ages),
        'Distinct victims of serious-violence offences in the period who live in the area (home LSOA on their first offence), as a percentage of residents; victims living elsewhere or with no recorded home are counted in data_quality.'
    FROM res LEFT JOIN resident_people v ON v.role = 'victims'
    UNION ALL
    SELECT 4, 'offender_prevalence_pct', 'Residents recorded as offenders (%)',
        100.0 * COALESCE(o.persons, 0) / NULLIF(res.all_ages, 0), COALESCE(o.persons, 0), res.all_ages,
        100.0 * wilson_lower(COALESCE(o.persons, 0), res.all_ages), 100.0 * wilson_upper(COALESCE(o.persons, 0), res.all_ages),
        'Distinct offenders (including suspects) of serious-violence offences in the period who live in the area (home LSOA on their first offence), as a percentage of residents; offenders living elsewhere or with no recorded home are counted in data_quality.'
    FROM res LEFT JOIN resident_people o ON o.role = 'offenders'
    UNION ALL
    SELECT 5, 'victims_male_pct', 'Victims who were male (%)',
        100.0 * v.male / NULLIF(v.known_sex, 0), v.male, v.known_sex,
        100.0 * wilson_lower(v.male, v.known_sex), 100.0 * wilson_upper(v.male, v.known_sex),
        'Percentage male among distinct victims whose sex is F or M (sex on their first serious-violence offence in the period).'
    FROM people v WHERE v.role = 'victim'
    UNION ALL
    SELECT 6, 'offenders_male_pct', 'Offenders who were male (%)',
        100.0 * o.male / NULLIF(o.known_sex, 0), o.male, o.known_sex,
        100.0 * wilson_lower(o.male, o.known_sex), 100.0 * wilson_upper(o.male, o.known_sex),
        'Percentage male among distinct offenders whose sex is F or M (sex on their first serious-violence offence in the period).'
    FROM people o WHERE o.role = 'offender'
    UNION ALL
    SELECT 7, 'offender_rate_ratio_u25', 'Offender rate, under ' || cutoff.age || ' vs ' || cutoff.age || ' and over',
        (1.0 * o.young_responsible / res.young_responsible) / NULLIF(1.0 * o.older / res.older, 0), o.young_responsible, o.older,
        ratio_lower(o.young_responsible, o.older, (1.0 * o.young_responsible / res.young_responsible) / NULLIF(1.0 * o.older / res.older, 0)),
        ratio_upper(o.young_responsible, o.older, (1.0 * o.young_responsible / res.young_responsible) / NULLIF(1.0 * o.older / res.older, 0)),
        '(Distinct offenders aged 10 to ' || CAST(CAST(cutoff.age AS BIGINT) - 1 AS VARCHAR) || ' per 1,000 residents aged 10 to '
            || CAST(CAST(cutoff.age AS BIGINT) - 1 AS VARCHAR) || ') / (distinct offenders aged ' || cutoff.age
            || ' and over per 1,000 residents of that age); 10 is the age of criminal responsibility in England and Wales, so younger residents are not in the denominator and offenders recorded under 10 are a data-quality warning; age on the first offence; unknown ages left out.'
    FROM people o CROSS JOIN res CROSS JOIN cutoff WHERE o.role = 'offender'
    UNION ALL
    SELECT 8, 'victim_rate_ratio_u25', 'Victim rate, under ' || cutoff.age || ' vs ' || cutoff.age || ' and over',
        (1.0 * v.young / res.young) / NULLIF(1.0 * v.older / res.older, 0), v.young, v.older,
        ratio_lower(v.young, v.older, (1.0 * v.young / res.young) / NULLIF(1.0 * v.older / res.older, 0)),
        ratio_upper(v.young, v.older, (1.0 * v.young / res.young) / NULLIF(1.0 * v.older / res.older, 0)),
        '(Distinct victims aged under ' || cutoff.age || ' per 1,000 residents aged under ' || cutoff.age
            || ') / (distinct victims aged ' || cutoff.age || ' and over per 1,000 residents of that age); age on the first offence; unknown ages left out.'
    FROM people v CROSS JOIN res CROSS JOIN cutoff WHERE v.role = 'victim'
    UNION ALL
    SELECT 9, 'knife_pct', 'Offences that were knife-enabled (%)',
        100.0 * sv.knife / NULLIF(sv.offences, 0), sv.knife, sv.offences,
        100.0 * wilson_lower(sv.knife, sv.offences), 100.0 * wilson_upper(sv.knife, sv.offences),
        'Percentage of serious-violence offences flagged knife-enabled (knife or sharp instrument used or threatened).'
    FROM sv
    UNION ALL
    SELECT 10, 'nte_pct', 'Offences linked to the night-time economy (%)',
        100.0 * sv.nte / NULLIF(sv.offences, 0), sv.nte, sv.offences,
        100.0 * wilson_lower(sv.nte, sv.offences), 100.0 * wilson_upper(sv.nte, sv.offences),
        'Percentage of serious-violence offences flagged as linked to the night-time economy.'
    FROM sv
    UNION ALL
    SELECT 11, 'repeat_offender_share_pct', 'Offences linked to a repeat offender (%)',
        100.0 * r.repeat_linked / NULLIF(r.linked, 0), r.repeat_linked, r.linked,
        100.0 * wilson_lower(r.repeat_linked, r.linked), 100.0 * wilson_upper(r.repeat_linked, r.linked),
        'Of serious-violence offences with at least one linked offender, the percentage linked to an offender who is linked to 2 or more distinct serious-violence offences in the period.'
    FROM repeats r
    UNION ALL
    SELECT 12, 'repeat_offender_share_u25_pct', 'Offences with an under-' || cutoff.age || ' offender linked to a repeat under-' || cutoff.age || ' offender (%)',
        100.0 * r.young_repeat_linked / NULLIF(r.young_linked, 0), r.young_repeat_linked, r.young_linked,
        100.0 * wilson_lower(r.young_repeat_linked, r.young_linked), 100.0 * wilson_upper(r.young_repeat_linked, r.young_linked),
        'Of serious-violence offences with at least one offender aged under ' || cutoff.age
            || ' on that offence, the percentage linked to such an offender who is linked to 2 or more distinct serious-violence offences in the period.'
    FROM repeats r CROSS JOIN cutoff
    UNION ALL
    SELECT 13, 'peak_hour',
        lpad(CAST(pk.hour AS VARCHAR), 2, '0') || ':00–' || lpad(CAST((pk.hour + 1) % 24 AS VARCHAR), 2, '0') || ':00',
        CAST(pk.hour AS DOUBLE), pk.offences, sv.offences,
        CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE),
        'The hour of the day (0-23, from committed_at) with the most serious-violence offences, the earliest on ties; numerator is its count, denominator all serious-violence offences.'
    FROM peak pk CROSS JOIN sv
    UNION ALL
    SELECT 14, 'top_district_share_pct', td.district,
        100.0 * td.offences / NULLIF(td.known, 0), td.offences, td.known,
        100.0 * wilson_lower(td.offences, td.known), 100.0 * wilson_upper(td.offences, td.known),
        'Percentage of serious-violence offences with a known LSOA in the area that occurred in the district with the most (named in label).'
    FROM top_district td
    UNION ALL
    SELECT 15, 'ae_assault_rate_per_1000_year', 'Assault A&E attendances per 1,000 residents a year',
        1000.0 * ae.attendances / NULLIF(py.all_ages, 0), ae.attendances, res.all_ages,
        rate_lower(ae.attendances, py.all_ages, 1000), rate_upper(ae.attendances, py.all_ages, 1000),
        'A&E attendances in the period with injury intent recorded as assault, by residents of the area (home LSOA in the lookup), per 1,000 residents a year: the count over person-years (each month''s residents from its own population year × its days in the period / 365.25, summed). Numerator: the attendances in the whole period; denominator: residents in the period''s population year.'
    FROM ae CROSS JOIN res CROSS JOIN py
    UNION ALL
    SELECT 16, 'ambulance_conveyed_u25_pct', 'Assault ambulance incidents conveyed to A&E: aged under ' || cutoff.age || ' (%)',
        100.0 * amb.young / NULLIF(amb.known_age, 0), amb.young, amb.known_age,
        100.0 * wilson_lower(amb.young, amb.known_age), 100.0 * wilson_upper(amb.young, amb.known_age),
        'Of ambulance incidents in the period flagged assault and conveyed to an emergency department, with a known age, the percentage aged under ' || cutoff.age || '.'
    FROM amb CROSS JOIN cutoff WHERE amb.known_age > 0
)
SELECT measure, label, value, numerator, denominator, lower_95, upper_95, definition
FROM measures CROSS JOIN available a
-- Only the measures the extract's sources support (see the `available` table).
WHERE CASE
    WHEN ord IN (7, 8) THEN a.persons AND a.residents_by_age_sex
    WHEN ord IN (3, 4, 5, 6, 11, 12) THEN a.persons
    WHEN ord IN (9, 10) THEN a.offence_flags
    WHEN ord = 13 THEN a.offence_times
    WHEN ord = 15 THEN a.ae_attendances
    WHEN ord = 16 THEN a.ambulance
    ELSE true
END
ORDER BY ord;
