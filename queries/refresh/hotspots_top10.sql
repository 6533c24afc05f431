-- The ten LSOAs with the strongest serious-violence hot-spot scores in the last 12 months. Documentation, column tests and report placement: hotspots_top10.toml
SELECT rank, lsoa_code, lsoa_name, ward_name, district, offences, population, rate_per_1000_year,
    lower_95, upper_95, gi_star_z, hotspot
FROM lsoa_hotspots
ORDER BY rank
LIMIT 10;
