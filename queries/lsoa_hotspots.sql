-- LSOA rates and Getis-Ord Gi* hot spots. Documentation, column tests and report placement: lsoa_hotspots.toml
WITH counts AS (
    SELECT lsoa_code, COUNT(*) AS offences, SUM(harm_days) AS harm_days
    FROM sv_offences WHERE lsoa_code IS NOT NULL GROUP BY lsoa_code
),
pop AS (
    SELECT lsoa_code, SUM(population) AS population FROM lsoa_residents WHERE population IS NOT NULL GROUP BY lsoa_code
),
py AS (
    SELECT lsoa_code, SUM(person_days) / 365.25 AS person_years FROM lsoa_residents WHERE person_days IS NOT NULL GROUP BY lsoa_code
),
base AS (
    SELECT
        l.lsoa_code, l.lsoa_name, l.ward_name, l.lad_name AS district, l.easting, l.northing,
        COALESCE(c.offences, 0) AS offences,
        -- Harm weights come from Home Office codes: none in police.uk open data.
        CASE WHEN av.home_office_codes THEN COALESCE(c.harm_days, 0) END AS harm_days,
        pop.population,
        py.person_years
    FROM lsoa l
    CROSS JOIN available av
    LEFT JOIN counts c ON c.lsoa_code = l.lsoa_code
    LEFT JOIN pop ON pop.lsoa_code = l.lsoa_code
    LEFT JOIN py ON py.lsoa_code = l.lsoa_code
),
gi AS (
    SELECT b.*, p.hotspot_neighbours, p.hotspot_distance_m,
        gi_star_z(b.offences, b.easting, b.northing, p.hotspot_neighbours, p.hotspot_distance_m) OVER (ORDER BY b.lsoa_code) AS gi_star_z,
        gi_star_p_sim(b.offences, b.easting, b.northing, p.hotspot_neighbours, p.hotspot_distance_m,
            p.hotspot_permutations, p.hotspot_seed) OVER (ORDER BY b.lsoa_code) AS gi_star_p_sim
    FROM base b CROSS JOIN params p
),
tested AS (
    SELECT gi.*, normal_p(gi_star_z) AS gi_star_p FROM gi
),
decided AS (
    SELECT t.*, bh_significant(gi_star_p_sim, 0.05) OVER () AS significant FROM tested t
),
flagged AS (
    SELECT d.*, COALESCE(gi_star_z > 0 AND significant, false) AS hotspot FROM decided d
),
clustered AS (
    SELECT f.*, gi_star_cluster(f.hotspot, f.offences, f.easting, f.northing, f.hotspot_neighbours, f.hotspot_distance_m)
        OVER (ORDER BY f.lsoa_code) AS cluster_id
    FROM flagged f
)
SELECT
    lsoa_code,
    lsoa_name,
    ward_name,
    district,
    offences,
    population,
    person_years,
    1000.0 * offences / NULLIF(person_years, 0) AS rate_per_1000_year,
    rate_lower(offences, person_years, 1000) AS lower_95,
    rate_upper(offences, person_years, 1000) AS upper_95,
    harm_days,
    gi_star_z,
    gi_star_p,
    gi_star_p_sim,
    hotspot,
    cluster_id,
    ROW_NUMBER() OVER (ORDER BY gi_star_z DESC NULLS LAST, lsoa_code) AS rank
FROM clustered
ORDER BY rank;
