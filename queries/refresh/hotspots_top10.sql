-- The ten LSOAs with the strongest serious-violence hot-spot scores in the last 12 months
-- Read from `lsoa_hotspots` (the assessment's job, run over the dashboard's last 12 complete
-- months): the ten highest Getis-Ord Gi* z-scores. `hotspot` says whether the LSOA stays
-- significant at 5% after Benjamini-Hochberg control across all LSOAs.
-- rank: 1 = highest gi_star_z
-- lsoa_code: LSOA 2021 code
-- lsoa_name: LSOA name
-- ward_name: ward containing the LSOA's centre
-- district: local authority district
-- offences: serious-violence offences in the last 12 months located in the LSOA
-- population: residents
-- rate_per_1000: offences per 1,000 residents
-- lower_95: lower 95% limit of the rate
-- upper_95: upper 95% limit of the rate
-- gi_star_z: Gi* z-score
-- hotspot: true when significant after Benjamini-Hochberg at 5%
SELECT rank, lsoa_code, lsoa_name, ward_name, district, offences, population, rate_per_1000,
    lower_95, upper_95, gi_star_z, hotspot
FROM lsoa_hotspots
ORDER BY rank
LIMIT 10;
