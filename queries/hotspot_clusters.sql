-- Clusters of Getis-Ord Gi* hot spots: hot-spot LSOAs joined through their Gi* neighbours. Documentation, column tests and report placement: hotspot_clusters.toml
WITH hot AS (
    SELECT * FROM lsoa_hotspots WHERE cluster_id IS NOT NULL
),
hot_days AS (
    -- Whole person-days of the cluster's residents, summed exactly (the same in any order).
    SELECT h.cluster_id, SUM(py.person_days) AS person_days
    FROM hot h JOIN lsoa_residents py ON py.lsoa_code = h.lsoa_code
    WHERE py.person_days IS NOT NULL
    GROUP BY h.cluster_id
),
located AS (
    SELECT SUM(offences) AS offences FROM lsoa_hotspots
),
wards AS (
    SELECT cluster_id, ward_name, SUM(offences) AS offences FROM hot GROUP BY cluster_id, ward_name
),
districts AS (
    SELECT cluster_id, district, SUM(offences) AS offences FROM hot GROUP BY cluster_id, district
),
ward_lists AS (
    SELECT cluster_id, string_agg(ward_name, '; ' ORDER BY offences DESC, ward_name) AS wards
    FROM wards GROUP BY cluster_id
),
district_lists AS (
    SELECT cluster_id, string_agg(district, '; ' ORDER BY offences DESC, district) AS districts
    FROM districts GROUP BY cluster_id
),
totals AS (
    SELECT
        cluster_id,
        COUNT(*) AS lsoas,
        SUM(offences) AS offences,
        SUM(population) AS population,
        SUM(harm_days) AS harm_days,
        string_agg(lsoa_name, '; ' ORDER BY offences DESC, lsoa_code) AS lsoa_names
    FROM hot GROUP BY cluster_id
)
SELECT
    t.cluster_id,
    t.lsoas,
    w.wards,
    d.districts,
    t.offences,
    100.0 * t.offences / NULLIF(l.offences, 0) AS share_pct,
    100.0 * wilson_lower(t.offences, l.offences) AS share_lower_95,
    100.0 * wilson_upper(t.offences, l.offences) AS share_upper_95,
    t.population,
    hd.person_days / 365.25 AS person_years,
    1000.0 * t.offences / NULLIF(hd.person_days / 365.25, 0) AS rate_per_1000_year,
    rate_lower(t.offences, hd.person_days / 365.25, 1000) AS lower_95,
    rate_upper(t.offences, hd.person_days / 365.25, 1000) AS upper_95,
    t.harm_days,
    t.lsoa_names
FROM totals t
JOIN ward_lists w ON w.cluster_id = t.cluster_id
JOIN district_lists d ON d.cluster_id = t.cluster_id
LEFT JOIN hot_days hd ON hd.cluster_id = t.cluster_id
CROSS JOIN located l
ORDER BY t.cluster_id;
