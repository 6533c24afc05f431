-- The ISTV return over the period in one row: attendances, how complete the return is, and the share not reported to the police (Cardiff Model). Documentation, column tests and report placement: istv_summary.toml
WITH attendances AS (
    SELECT a.*
    FROM istv_attendances a
    CROSS JOIN params p
    WHERE a.arrived_date BETWEEN p.period_start AND p.period_end
),
ed AS (
    SELECT
        COUNT(*) AS attendances,
        COUNT(incident_at) AS with_incident_time,
        COUNT(incident_place) AS with_location,
        SUM(CASE WHEN means <> 'unknown' THEN 1 ELSE 0 END) AS with_means,
        SUM(CASE WHEN means = 'knife_sharp' THEN 1 ELSE 0 END) AS knife_sharp,
        COUNT(reported_to_police) AS reported_known,
        SUM(CASE WHEN NOT reported_to_police THEN 1 ELSE 0 END) AS not_reported,
        COUNT(DISTINCT site) AS sites
    FROM attendances
),
-- Police records of the months the return covers only, so that the two are counted over the
-- same months.
returned AS (
    SELECT DISTINCT month FROM attendances
),
police AS (
    SELECT COUNT(*) AS police_offences
    FROM sv_offences s
    JOIN returned r ON r.month = s.month
),
months AS (
    SELECT
        (SELECT COUNT(*) FROM period_months) AS months,
        (SELECT COUNT(*) FROM returned) AS months_with_return
)
SELECT
    ed.attendances,
    ed.sites,
    mo.months,
    mo.months_with_return,
    ed.with_incident_time,
    100.0 * ed.with_incident_time / NULLIF(ed.attendances, 0) AS pct_with_incident_time,
    ed.with_location,
    100.0 * ed.with_location / NULLIF(ed.attendances, 0) AS pct_with_location,
    ed.with_means,
    ed.knife_sharp,
    100.0 * ed.knife_sharp / NULLIF(ed.with_means, 0) AS pct_knife_sharp,
    ed.reported_known,
    COALESCE(ed.not_reported, 0) AS not_reported,
    100.0 * COALESCE(ed.not_reported, 0) / NULLIF(ed.reported_known, 0) AS pct_not_reported,
    100.0 * wilson_lower(COALESCE(ed.not_reported, 0), ed.reported_known) AS lower_95,
    100.0 * wilson_upper(COALESCE(ed.not_reported, 0), ed.reported_known) AS upper_95,
    po.police_offences,
    100.0 * ed.attendances / NULLIF(po.police_offences, 0) AS ed_per_100_police
FROM ed
CROSS JOIN police po
CROSS JOIN months mo;
