//! Reference lookups bundled with vrn-sna.
//!
//! The CSV files in `data/reference/` are compiled into the binary so that `sna` works from
//! any directory and on machines that only have the binary. `data/reference/README.md` gives
//! each file's source, licence and attribution.

/// The 634 LSOAs (2021) of Leicester, Leicestershire and Rutland with ward, district, CSP,
/// deprivation and centroids (`data/reference/lsoa.csv`).
pub const LSOA_CSV: &str = include_str!("../../data/reference/lsoa.csv");

/// Home Office offence classification with harm weights (`data/reference/offence_codes.csv`).
pub const OFFENCE_CODES_CSV: &str = include_str!("../../data/reference/offence_codes.csv");

/// A harm weight in days per police.uk crime type, derived from `OFFENCE_CODES_CSV`
/// (`data/reference/police_uk_harm.csv`), for crime harm on open-data extracts.
pub const POLICE_UK_HARM_CSV: &str = include_str!("../../data/reference/police_uk_harm.csv");

/// European Standard Population 2013 weights by 5-year age band (`data/reference/esp2013.csv`).
pub const ESP2013_CSV: &str = include_str!("../../data/reference/esp2013.csv");

/// Census 2021 usual residents by LSOA and six age groups
/// (`data/reference/population_census2021.csv`); the sample generator models single years of
/// age and sex from it.
pub const CENSUS2021_CSV: &str = include_str!("../../data/reference/population_census2021.csv");

/// police.uk street-level crime counts per LSOA, month and crime type, 2019-12 to 2022-10
/// (`data/reference/police_uk_lsoa_month.csv`); the sample generator's spatial and seasonal
/// pattern.
pub const POLICE_UK_CSV: &str = include_str!("../../data/reference/police_uk_lsoa_month.csv");

/// Generalised LSOA 2021 boundaries of the area as GeoJSON (WGS84) with an `lsoa_code`
/// property (`data/reference/lsoa_boundaries.geojson`), for the hot-spot map.
pub const LSOA_BOUNDARIES_GEOJSON: &str =
    include_str!("../../data/reference/lsoa_boundaries.geojson");
