//! `sna generate`: realistic, reproducible sample extracts.
//!
//! What is real: the 634 LLR LSOAs with their districts, centroids and deprivation; Census 2021
//! residents by LSOA and age group; the police.uk pattern of where and when crime happens.
//! What is modelled: single years of age and sex, every crime, victim, offender, A&E attendance
//! and ambulance incident. `docs/sample-data.md` describes the model and its calibration.
//!
//! Output streams month by month through Parquet writers, so memory stays bounded at any scale.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Int32Array, RecordBatch, StringArray, TimestampSecondArray,
};
use arrow::datatypes::SchemaRef;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::sources::contract::{self, TableSpec};
use crate::sources::reference;
use crate::staging::{OutputKind, Staging, StagingError};

/// Options of `sna generate`.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Output directory (replaced when complete).
    pub out: PathBuf,
    /// Random seed: the same seed and options give byte-identical files.
    pub seed: u64,
    /// Volume and area multiplier: 1 is LLR; above 1, copies of the LLR LSOAs.
    pub scale: f64,
    /// First day of the data.
    pub start: NaiveDate,
    /// Last day of the data.
    pub end: NaiveDate,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            out: PathBuf::from("data/sample"),
            seed: DEFAULT_SEED,
            scale: 1.0,
            start: NaiveDate::from_ymd_opt(2019, 4, 1).expect("valid date"),
            end: NaiveDate::from_ymd_opt(2024, 3, 31).expect("valid date"),
        }
    }
}

/// The seed of the committed sample.
pub const DEFAULT_SEED: u64 = 20_240_331;

/// What was written.
#[derive(Debug, Clone)]
pub struct GenerateSummary {
    /// File name and rows.
    pub files: Vec<(String, u64)>,
    /// True when the file system could not swap the extract in one step.
    pub replaced_in_two_steps: bool,
}

/// Errors of `sna generate`.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// `--scale` is not a positive finite number.
    #[error("--scale must be a positive number up to 1000, got {0}")]
    Scale(f64),
    /// The dates are outside what an assessment covers, or span too long.
    #[error("{0}")]
    Dates(#[source] crate::config::ConfigError),
    /// `--start` is after `--end`.
    #[error("--start ({start}) is after --end ({end})")]
    Period {
        /// Start.
        start: NaiveDate,
        /// End.
        end: NaiveDate,
    },
    /// A bundled reference file could not be parsed as CSV.
    #[error("bundled reference {file}: {source}")]
    Reference {
        /// The file.
        file: &'static str,
        /// The CSV reader's error.
        source: csv::Error,
    },
    /// A bundled reference file lacks a column.
    #[error("bundled reference {file}: no column {column}")]
    ReferenceColumn {
        /// The file.
        file: &'static str,
        /// The column.
        column: String,
    },
    /// A value of a bundled reference file is not a number.
    #[error("bundled reference {file}: {value}: {source}")]
    ReferenceValue {
        /// The file.
        file: &'static str,
        /// The value.
        value: String,
        /// The parser's error.
        source: std::num::ParseFloatError,
    },
    /// The output could not be staged or published.
    #[error("{0}")]
    Staging(#[from] StagingError),
    /// A file could not be written.
    #[error("{path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong: an I/O, CSV, Arrow or Parquet error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// One LSOA of the generated area.
#[derive(Debug, Clone)]
struct Area {
    code: String,
    district: String,
    easting: f64,
    northing: f64,
    imd_decile: u32,
    /// police.uk violence-and-robbery count: where serious violence concentrates.
    violence: f64,
    /// police.uk count of all crime.
    crime: f64,
    /// Census 2021 residents by the six groups.
    census: [f64; 6],
    /// The lookup row, for an extract's own reference/lsoa.csv.
    record: Vec<String>,
}

/// Writes a sample extract as `opts` says.
/// The largest `--scale`: 50 is about England and Wales, so 1,000 is twenty times that and
/// still fits in memory; more would exhaust it.
pub const MAX_SCALE: f64 = 1000.0;

pub fn generate(opts: &GenerateOptions) -> Result<GenerateSummary, GenerateError> {
    if !(opts.scale.is_finite() && opts.scale > 0.0 && opts.scale <= MAX_SCALE) {
        return Err(GenerateError::Scale(opts.scale));
    }
    if opts.start > opts.end {
        return Err(GenerateError::Period {
            start: opts.start,
            end: opts.end,
        });
    }
    // The same limits as an assessment's period: decades of daily data are not a sample.
    let period = crate::config::Config {
        start: opts.start,
        end: opts.end,
        ..crate::config::Config::default()
    };
    period
        .check("--start/--end")
        .map_err(GenerateError::Dates)?;
    let (areas, header) = load_areas(opts.scale)?;
    let copies = if opts.scale > 1.0 {
        opts.scale.round().max(1.0)
    } else {
        1.0
    };
    // Each copy of the LSOAs carries scale / copies of LLR's residents; crime scales with the
    // whole extract.
    let staging = Staging::new(&opts.out, OutputKind::Extract, &[])?;
    let dir = staging.path();
    if copies > 1.0 {
        write_lookup(dir, &header, &areas)?;
    }
    let seasonal = seasonal_index()?;
    let mut world = World::new(&areas, opts.scale / copies, copies, opts.seed);
    let mut writers = Writers::create(dir)?;
    let mut month = opts.start.with_day(1).expect("day 1");
    while month <= opts.end {
        let first = month.max(opts.start);
        let next = month
            .checked_add_months(chrono::Months::new(1))
            .expect("month in range");
        let last = (next - Duration::days(1)).min(opts.end);
        let season = seasonal_factor(&seasonal, month);
        world.month(first, last, season, &mut writers)?;
        month = next;
    }
    world.population(opts.start.year(), opts.end.year(), &mut writers)?;
    let files = writers.close()?;
    write_manifest(&staging, opts, &files)?;
    let published = staging.publish()?;
    Ok(GenerateSummary {
        files,
        replaced_in_two_steps: published.gap,
    })
}

/// The extract's `manifest.json`: what it is, how it was made and its files. Nothing in it
/// varies between runs with the same options, so the same seed still gives byte-identical
/// files.
fn write_manifest(
    staging: &Staging,
    opts: &GenerateOptions,
    files: &[(String, u64)],
) -> Result<(), GenerateError> {
    let manifest = serde_json::json!({
        "kind": OutputKind::Extract.marker(),
        "made_by": "sna generate",
        "seed": opts.seed,
        "scale": opts.scale,
        "start": opts.start.to_string(),
        "end": opts.end.to_string(),
        "rows": files.iter().map(|(name, rows)| (name.clone(), *rows)).collect::<std::collections::BTreeMap<_, _>>(),
        "note": "Synthetic data: every person and event is invented (docs/sample-data.md).",
        "files": staging.files()?,
    });
    let path = staging.path().join(crate::staging::MANIFEST);
    let text = serde_json::to_string_pretty(&manifest).expect("JSON values serialise");
    std::fs::write(&path, text + "\n").map_err(|e| GenerateError::Write {
        path: path.clone(),
        source: e.into(),
    })
}

fn reference_error(file: &'static str) -> impl Fn(csv::Error) -> GenerateError {
    move |source| GenerateError::Reference { file, source }
}

/// `value` of the bundled reference `file` as a number.
fn reference_number(file: &'static str, value: &str) -> Result<f64, GenerateError> {
    value
        .parse()
        .map_err(|source| GenerateError::ReferenceValue {
            file,
            value: value.to_owned(),
            source,
        })
}

/// Areas with their census, police.uk weights and lookup rows; copies above scale 1.
fn load_areas(scale: f64) -> Result<(Vec<Area>, Vec<String>), GenerateError> {
    let lsoa_error = reference_error("lsoa.csv");
    let mut reader = csv::Reader::from_reader(reference::LSOA_CSV.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(&lsoa_error)?
        .iter()
        .map(str::to_owned)
        .collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| GenerateError::ReferenceColumn {
                file: "lsoa.csv",
                column: name.to_owned(),
            })
    };
    let (code, district, easting, northing, decile) = (
        column("lsoa_code")?,
        column("lad_name")?,
        column("easting")?,
        column("northing")?,
        column("imd2019_decile")?,
    );
    let mut base = Vec::new();
    for record in reader.records() {
        let record = record.map_err(&lsoa_error)?;
        let number = |i: usize| reference_number("lsoa.csv", &record[i]);
        base.push(Area {
            code: record[code].to_owned(),
            district: record[district].to_owned(),
            easting: number(easting)?,
            northing: number(northing)?,
            imd_decile: number(decile)? as u32,
            violence: 0.0,
            crime: 0.0,
            census: [0.0; 6],
            record: record.iter().map(str::to_owned).collect(),
        });
    }
    let positions: std::collections::BTreeMap<String, usize> = base
        .iter()
        .enumerate()
        .map(|(i, a)| (a.code.clone(), i))
        .collect();
    let index = |code: &str| positions.get(code).copied();
    let census_error = reference_error("population_census2021.csv");
    let groups = [
        "Aged 15 years and under",
        "Aged 16 to 24 years",
        "Aged 25 to 34 years",
        "Aged 35 to 49 years",
        "Aged 50 to 64 years",
        "Aged 65 years and over",
    ];
    for record in csv::Reader::from_reader(reference::CENSUS2021_CSV.as_bytes()).records() {
        let record = record.map_err(&census_error)?;
        let (Some(i), Some(g)) = (
            index(&record[0]),
            groups.iter().position(|g| *g == &record[1]),
        ) else {
            continue;
        };
        base[i].census[g] = reference_number("population_census2021.csv", &record[2])?;
    }
    let police_error = reference_error("police_uk_lsoa_month.csv");
    for record in csv::Reader::from_reader(reference::POLICE_UK_CSV.as_bytes()).records() {
        let record = record.map_err(&police_error)?;
        let Some(i) = index(&record[1]) else { continue };
        let crimes = reference_number("police_uk_lsoa_month.csv", &record[3])?;
        if &record[2] == "Violence and sexual offences" || &record[2] == "Robbery" {
            base[i].violence += crimes;
        }
        if &record[2] != "Anti-social behaviour" {
            base[i].crime += crimes;
        }
    }
    let copies = if scale > 1.0 {
        scale.round().max(1.0) as usize
    } else {
        1
    };
    let suffixed = [
        column("lsoa_code")?,
        column("msoa_code")?,
        column("ward_code")?,
        column("lad_code")?,
        column("csp_code")?,
    ];
    let named = [
        column("lsoa_name")?,
        column("msoa_name")?,
        column("ward_name")?,
        column("lad_name")?,
        column("csp_name")?,
    ];
    let mut areas = Vec::with_capacity(base.len() * copies);
    for copy in 1..=copies {
        for area in &base {
            let mut area = area.clone();
            if copy > 1 {
                for &i in &suffixed {
                    area.record[i] = format!("{}-{copy}", area.record[i]);
                }
                for &i in &named {
                    area.record[i] = format!("{} #{copy}", area.record[i]);
                }
                area.code = area.record[code].clone();
                area.district = area.record[district].clone();
            }
            areas.push(area);
        }
    }
    Ok((areas, header))
}

fn write_lookup(dir: &Path, header: &[String], areas: &[Area]) -> Result<(), GenerateError> {
    let path = dir.join("reference").join("lsoa.csv");
    let write_error = |e: Box<dyn std::error::Error + Send + Sync>| GenerateError::Write {
        path: path.clone(),
        source: e,
    };
    std::fs::create_dir_all(dir.join("reference")).map_err(|e| write_error(e.into()))?;
    let mut writer = csv::Writer::from_path(&path).map_err(|e| write_error(e.into()))?;
    writer
        .write_record(header)
        .map_err(|e| write_error(e.into()))?;
    for area in areas {
        writer
            .write_record(&area.record)
            .map_err(|e| write_error(e.into()))?;
    }
    writer.flush().map_err(|e| write_error(e.into()))
}

/// Seasonal index by calendar month for violence, from the real police.uk counts: each month's
/// total over the window relative to the mean month (`YYYY-MM` → factor), plus calendar-month
/// averages for months outside the window.
struct Seasonal {
    by_month: Vec<(String, f64)>,
    calendar: [f64; 12],
}

fn seasonal_index() -> Result<Seasonal, GenerateError> {
    let police_error = reference_error("police_uk_lsoa_month.csv");
    let mut totals: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
    for record in csv::Reader::from_reader(reference::POLICE_UK_CSV.as_bytes()).records() {
        let record = record.map_err(&police_error)?;
        if &record[2] == "Violence and sexual offences" || &record[2] == "Robbery" {
            *totals.entry(record[0].to_owned()).or_default() +=
                record[3].parse::<f64>().unwrap_or(0.0);
        }
    }
    let mean = totals.values().sum::<f64>() / totals.len().max(1) as f64;
    let by_month: Vec<(String, f64)> = totals.into_iter().map(|(m, v)| (m, v / mean)).collect();
    let mut calendar = [0.0; 12];
    let mut counts = [0.0; 12];
    for (month, factor) in &by_month {
        // Lockdown months (2020-04 to 2021-03) are left out of the calendar average.
        if ("2020-04".."2021-04").contains(&month.as_str()) {
            continue;
        }
        let m: usize = month[5..7].parse().unwrap_or(1);
        calendar[m - 1] += factor;
        counts[m - 1] += 1.0;
    }
    for (c, n) in calendar.iter_mut().zip(counts) {
        *c = if n > 0.0 { *c / n } else { 1.0 };
    }
    Ok(Seasonal { by_month, calendar })
}

/// Public-place violence fell further than police.uk's all-violence count in the lockdowns
/// (licensed premises shut, people at home); these factors model that on top of the real
/// monthly pattern.
fn lockdown_factor(month: NaiveDate) -> f64 {
    match (month.year(), month.month()) {
        (2020, 4) => 0.50,
        (2020, 5) => 0.65,
        (2020, 6) => 0.85,
        (2020, 11) => 0.80,
        (2021, 1) => 0.70,
        (2021, 2) => 0.72,
        (2021, 3) => 0.85,
        _ => 1.0,
    }
}

fn seasonal_factor(seasonal: &Seasonal, month: NaiveDate) -> f64 {
    let key = month.format("%Y-%m").to_string();
    let base = seasonal
        .by_month
        .iter()
        .find(|(m, _)| *m == key)
        .map_or(seasonal.calendar[month.month0() as usize], |(_, f)| *f);
    base * lockdown_factor(month)
}

/// Serious-violence offences per month at scale 1 (about 3,600 a year in LLR).
const SV_PER_MONTH: f64 = 332.0;

/// Offence mix of serious violence: (code, group, share, knife probability).
const SV_MIX: &[(&str, Group, f64, f64)] = &[
    ("8N", Group::Injury, 0.615, 0.035),
    ("5D", Group::Injury, 0.105, 0.26),
    ("8S", Group::Injury, 0.020, 0.0),
    ("8P", Group::Injury, 0.010, 0.02),
    ("34B", Group::Robbery, 0.225, 0.20),
    ("34A", Group::Robbery, 0.022, 0.25),
    ("1", Group::Homicide, 0.002, 0.6),
    ("2", Group::Injury, 0.001, 0.5),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Group {
    Injury,
    Robbery,
    Homicide,
}

/// Other recorded crime per month at scale 1: (code, count, domestic probability, public-place
/// probability, has a victim, probability an offender is identified).
const OTHER_CRIME: &[(&str, f64, f64, f64, bool, f64)] = &[
    ("8N", 330.0, 0.85, 0.15, true, 0.7),
    ("8N", 90.0, 0.0, 0.0, true, 0.6),
    ("5D", 30.0, 0.6, 0.2, true, 0.7),
    ("105A", 650.0, 0.45, 0.5, true, 0.5),
    ("3B", 45.0, 0.4, 0.3, true, 0.6),
    ("8L", 380.0, 0.4, 0.2, true, 0.5),
    ("8Q", 120.0, 0.6, 0.1, true, 0.6),
    ("9A", 480.0, 0.1, 0.8, true, 0.4),
    ("9B", 40.0, 0.0, 0.8, true, 0.4),
    ("20A", 85.0, 0.2, 0.4, true, 0.4),
    ("19C", 60.0, 0.35, 0.1, true, 0.5),
    ("22B", 25.0, 0.1, 0.1, true, 0.6),
    ("49", 520.0, 0.0, 0.5, false, 0.1),
    ("46", 420.0, 0.0, 1.0, false, 0.4),
    ("45", 240.0, 0.0, 1.0, false, 0.05),
    ("48", 110.0, 0.0, 1.0, false, 0.1),
    ("28E", 330.0, 0.02, 0.0, false, 0.1),
    ("30C", 120.0, 0.0, 0.0, false, 0.1),
    ("39", 70.0, 0.0, 1.0, true, 0.1),
    ("44", 110.0, 0.0, 1.0, false, 0.05),
    ("58A", 250.0, 0.2, 0.0, false, 0.15),
    ("58C", 250.0, 0.05, 1.0, false, 0.1),
    ("58D", 180.0, 0.05, 0.6, false, 0.15),
    ("56B", 35.0, 0.0, 0.6, false, 0.1),
    ("92D", 120.0, 0.0, 0.9, false, 1.0),
    ("92E", 140.0, 0.0, 0.9, false, 1.0),
    ("92A", 50.0, 0.0, 0.8, false, 1.0),
    ("10D", 55.0, 0.0, 0.9, false, 1.0),
    ("10C", 20.0, 0.0, 0.9, false, 1.0),
    ("99", 60.0, 0.0, 0.5, false, 0.8),
];

/// Relative serious-violence rates by 5-year age band (0-4 … 85-89, 90+) for new victims and
/// new offenders; multiplied by the band's residents to give the age distribution. 15-19 and
/// 10-14 are the highest-rate bands, as in the LLR SNA.
const VICTIM_RATE: [f64; 19] = [
    0.02, 0.15, 2.6, 3.1, 1.8, 1.6, 1.3, 1.05, 0.85, 0.65, 0.5, 0.35, 0.22, 0.12, 0.08, 0.05, 0.03,
    0.02, 0.01,
];
const OFFENDER_RATE: [f64; 19] = [
    0.0, 0.01, 2.1, 2.4, 0.45, 0.85, 0.85, 0.85, 0.68, 0.5, 0.36, 0.22, 0.13, 0.05, 0.025, 0.01,
    0.005, 0.0, 0.0,
];
const ROBBER_RATE: [f64; 19] = [
    0.0, 0.02, 1.45, 2.0, 1.5, 0.9, 0.65, 0.5, 0.38, 0.25, 0.14, 0.07, 0.03, 0.01, 0.0, 0.0, 0.0,
    0.0, 0.0,
];

/// Hour-of-day weights for serious violence outside the night-time economy (peak 15:00, the end
/// of the school day) and within it (peak 23:00).
const DAY_HOURS: [f64; 24] = [
    1.2, 0.8, 0.5, 0.3, 0.2, 0.2, 0.4, 0.9, 2.2, 3.0, 3.6, 4.5, 5.6, 6.2, 6.9, 12.6, 9.4, 8.2, 7.7,
    6.8, 5.4, 3.5, 2.5, 1.8,
];
const NIGHT_HOURS: [f64; 24] = [
    19.0, 14.5, 10.0, 4.0, 1.5, 0.4, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.2, 0.3, 0.4, 0.6, 1.0,
    2.0, 3.5, 6.0, 10.0, 16.0, 27.0,
];

/// The night-time economy's share of serious violence.
const NTE_SHARE: f64 = 0.31;
/// Probability that a new offender link reuses a recent under-25 / 25+ offender.
const REPEAT_YOUNG: f64 = 0.52;
const REPEAT_OLDER: f64 = 0.10;

/// A person who can appear again.
#[derive(Debug, Clone)]
struct Person {
    id: u64,
    born: f64,
    sex: &'static str,
    home: Option<usize>,
    missing_age: bool,
}

/// Recent people to draw repeats from: a ring of the last `capacity` links, so people with more
/// links are more likely to be drawn again (a heavy tail of prolific offenders). Only people in
/// a ring are kept, so memory is bounded by the rings' capacities at any scale.
struct Ring {
    links: Vec<Person>,
    next: usize,
    capacity: usize,
}

impl Ring {
    fn new(capacity: usize) -> Self {
        Self {
            links: Vec::new(),
            next: 0,
            capacity: capacity.max(1),
        }
    }
    fn push(&mut self, person: &Person) {
        if self.links.len() < self.capacity {
            self.links.push(person.clone());
        } else {
            self.links[self.next] = person.clone();
            self.next = (self.next + 1) % self.capacity;
        }
    }
    fn draw(&self, rng: &mut ChaCha8Rng) -> Option<Person> {
        (!self.links.is_empty()).then(|| self.links[rng.random_range(0..self.links.len())].clone())
    }
}

struct World<'a> {
    areas: &'a [Area],
    /// Residents per LSOA relative to LLR's.
    volume: f64,
    /// Crime relative to LLR's: scale in all.
    crime_volume: f64,
    rng: ChaCha8Rng,
    /// The ISTV return's own draws (incident times, places, means): a separate stream, so that
    /// adding the return left every other file of the sample byte-identical.
    istv_rng: ChaCha8Rng,
    leicester: WeightedIndex<f64>,
    leicester_areas: Vec<usize>,
    county: WeightedIndex<f64>,
    county_areas: Vec<usize>,
    by_crime: WeightedIndex<f64>,
    by_deprivation: WeightedIndex<f64>,
    by_population: WeightedIndex<f64>,
    band_population: [f64; 19],
    young_offenders: Ring,
    older_offenders: Ring,
    robbers: Ring,
    victims: Ring,
    patients: Ring,
    next_person: u64,
    next_crime: u64,
    next_attendance: u64,
    next_incident: u64,
}

/// Codes of real LSOAs just outside LLR (Nottingham, Derby, Coventry), for planted "outside the
/// area" problems.
const OUTSIDE: &[&str] = &["E01013822", "E01028093", "E01009458", "E01033399"];

impl<'a> World<'a> {
    fn new(areas: &'a [Area], volume: f64, copies: f64, seed: u64) -> Self {
        let weighted = |filter: &dyn Fn(&Area) -> bool| {
            let indices: Vec<usize> = (0..areas.len()).filter(|&i| filter(&areas[i])).collect();
            let weights: Vec<f64> = indices
                .iter()
                .map(|&i| (areas[i].violence + 1.0).powf(1.35))
                .collect();
            (
                WeightedIndex::new(&weights).expect("positive weights"),
                indices,
            )
        };
        let (leicester, leicester_areas) = weighted(&|a| a.district.starts_with("Leicester"));
        let (county, county_areas) = weighted(&|a| !a.district.starts_with("Leicester"));
        let by_crime = WeightedIndex::new(areas.iter().map(|a| a.crime + 1.0)).expect("weights");
        let by_deprivation =
            WeightedIndex::new(areas.iter().map(|a| {
                a.census.iter().sum::<f64>() * (11.0 - f64::from(a.imd_decile)).powf(1.3)
            }))
            .expect("weights");
        let by_population =
            WeightedIndex::new(areas.iter().map(|a| a.census.iter().sum::<f64>() + 1.0))
                .expect("weights");
        let mut band_population = [0.0; 19];
        for area in areas {
            for (age, people) in single_years(&area.census).iter().enumerate() {
                band_population[(age / 5).min(18)] += people;
            }
        }
        let crime_volume = volume * copies;
        let links = (SV_PER_MONTH * crime_volume * 9.0) as usize;
        Self {
            areas,
            volume,
            crime_volume,
            rng: ChaCha8Rng::seed_from_u64(seed),
            istv_rng: ChaCha8Rng::seed_from_u64(seed ^ ISTV_STREAM),
            leicester,
            leicester_areas,
            county,
            county_areas,
            by_crime,
            by_deprivation,
            by_population,
            band_population,
            young_offenders: Ring::new(links / 2),
            older_offenders: Ring::new(links / 2),
            robbers: Ring::new(links / 4),
            victims: Ring::new(links),
            patients: Ring::new(links / 2),
            next_person: 1,
            next_crime: 1,
            next_attendance: 1,
            next_incident: 1,
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random::<f64>() < p
    }

    /// A whole number of events with mean `mean` (rounded stochastically).
    fn count(&mut self, mean: f64) -> usize {
        let whole = mean.floor();
        whole as usize + usize::from(self.chance(mean - whole))
    }

    fn age_from(&mut self, rates: &[f64; 19]) -> u32 {
        let weights: Vec<f64> = rates
            .iter()
            .zip(&self.band_population)
            .map(|(r, p)| r * p)
            .collect();
        let band = WeightedIndex::new(&weights)
            .expect("weights")
            .sample(&mut self.rng) as u32;
        if band == 18 {
            90 + self.rng.random_range(0..6)
        } else {
            band * 5 + self.rng.random_range(0..5)
        }
    }

    fn new_person(&mut self, age: u32, male: f64, now: f64, home: Option<usize>) -> Person {
        let sex = if self.chance(0.01) {
            "U"
        } else if self.chance(male) {
            "M"
        } else {
            "F"
        };
        let missing_age = self.chance(0.03);
        let person = Person {
            id: self.next_person,
            born: now - f64::from(age) - self.rng.random::<f64>(),
            sex,
            home,
            missing_age,
        };
        self.next_person += 1;
        person
    }

    fn home_near(&mut self, lsoa: Option<usize>) -> Option<usize> {
        if self.chance(0.03) {
            return None;
        }
        match lsoa {
            Some(i) if self.chance(0.45) => Some(i),
            _ => Some(self.by_deprivation.sample(&mut self.rng)),
        }
    }

    fn sv_lsoa(&mut self) -> Option<usize> {
        if self.chance(0.57) {
            Some(self.leicester_areas[self.leicester.sample(&mut self.rng)])
        } else {
            Some(self.county_areas[self.county.sample(&mut self.rng)])
        }
    }

    fn moment(
        &mut self,
        first: NaiveDate,
        last: NaiveDate,
        hours: &[f64; 24],
        weekend_weight: f64,
    ) -> NaiveDateTime {
        let days = (last - first).num_days() + 1;
        let date = loop {
            let date = first + Duration::days(self.rng.random_range(0..days));
            let weight = match date.weekday() {
                Weekday::Fri | Weekday::Sat => weekend_weight,
                Weekday::Sun => (1.0 + weekend_weight) / 2.0,
                _ => 1.0,
            };
            if self.rng.random::<f64>() * weekend_weight.max(1.0) < weight {
                break date;
            }
        };
        let hour = WeightedIndex::new(hours)
            .expect("hour weights")
            .sample(&mut self.rng) as u32;
        date.and_hms_opt(
            hour,
            self.rng.random_range(0..60),
            self.rng.random_range(0..60),
        )
        .expect("valid time")
    }

    fn month(
        &mut self,
        first: NaiveDate,
        last: NaiveDate,
        season: f64,
        writers: &mut Writers,
    ) -> Result<(), GenerateError> {
        let days_in = f64::from((last - first).num_days() as i32 + 1);
        let full = f64::from(
            first
                .with_day(1)
                .expect("day 1")
                .checked_add_months(chrono::Months::new(1))
                .map(|n| (n - first.with_day(1).expect("day 1")).num_days() as i32)
                .unwrap_or(30),
        );
        let share = days_in / full;
        let now = f64::from(first.year()) + f64::from(first.ordinal()) / 365.25;
        let mut offences: Vec<Offence> = Vec::new();
        let sv_weights: Vec<f64> = SV_MIX.iter().map(|m| m.2).collect();
        let sv_mix = WeightedIndex::new(&sv_weights).expect("weights");
        for _ in 0..self.count(SV_PER_MONTH * self.crime_volume * season * share) {
            let (code, group, _, knife) = SV_MIX[sv_mix.sample(&mut self.rng)];
            let nte = group != Group::Homicide && self.chance(NTE_SHARE);
            let at = if nte {
                self.moment(first, last, &NIGHT_HOURS, 3.0)
            } else {
                self.moment(first, last, &DAY_HOURS, 1.1)
            };
            let location = if nte {
                if self.chance(0.45) {
                    "licensed_premises"
                } else {
                    "street"
                }
            } else {
                *[
                    "street",
                    "street",
                    "street",
                    "public_other",
                    "retail",
                    "transport",
                    "education",
                ]
                .get(self.rng.random_range(0..7))
                .expect("in range")
            };
            let lsoa = self.sv_lsoa();
            let knife = self.chance(knife);
            offences.push(Offence {
                code,
                group: Some(group),
                at,
                lsoa,
                location,
                domestic: false,
                knife,
                nte,
                victim: true,
                offender: 0.68,
            });
        }
        for &(code, per_month, domestic, public, victim, offender) in OTHER_CRIME {
            for _ in 0..self.count(per_month * self.crime_volume * season.sqrt() * share) {
                let at = self.moment(first, last, &DAY_HOURS, 1.2);
                let lsoa = Some(self.by_crime.sample(&mut self.rng));
                let domestic = self.chance(domestic);
                // Public places only for domestic cases of serious-violence codes: every
                // public, non-domestic serious violence comes from the calibrated mix above.
                let violent = SV_MIX.iter().any(|m| m.0 == code);
                let location = if self.chance(public) && (domestic || !violent) {
                    *["street", "public_other", "retail", "transport"]
                        .get(self.rng.random_range(0..4))
                        .expect("in range")
                } else if domestic || code.starts_with("28") {
                    "dwelling"
                } else {
                    "other_private"
                };
                offences.push(Offence {
                    code,
                    group: None,
                    at,
                    lsoa,
                    location,
                    domestic,
                    knife: code == "10D",
                    nte: false,
                    victim,
                    offender,
                });
            }
        }
        offences.sort_by(|a, b| a.at.cmp(&b.at).then(a.code.cmp(b.code)));
        let mut offence_rows = OffenceRows::default();
        let mut person_rows = PersonRows::default();
        for offence in &offences {
            let crime_id = format!("CR{:09}", self.next_crime);
            self.next_crime += 1;
            let recorded = offence.at.date() + Duration::days(self.rng.random_range(0..4));
            let lsoa = if self.chance(0.01) {
                None
            } else {
                offence.lsoa
            };
            let outside = self.chance(0.002);
            let lsoa_code = if outside {
                Some(OUTSIDE[self.rng.random_range(0..OUTSIDE.len())].to_owned())
            } else {
                lsoa.map(|i| self.areas[i].code.clone())
            };
            let (easting, northing) = match (lsoa, outside) {
                (Some(i), false) => (
                    Some((self.areas[i].easting + self.rng.random_range(-300.0..300.0)) as i32),
                    Some((self.areas[i].northing + self.rng.random_range(-300.0..300.0)) as i32),
                ),
                _ => (None, None),
            };
            offence_rows.push(&crime_id, offence, recorded, lsoa_code, easting, northing);
            let when = f64::from(offence.at.year()) + f64::from(offence.at.ordinal()) / 365.25;
            if offence.victim {
                let victims = if offence.group.is_some() && self.chance(0.06) {
                    2
                } else {
                    1
                };
                for _ in 0..victims {
                    let person = self.victim(offence, lsoa, when, now);
                    person_rows.push(&crime_id, &person, "victim", when, self.areas);
                }
            }
            if self.chance(offence.offender) {
                let offenders = match self.rng.random::<f64>() {
                    x if x < 0.78 => 1,
                    x if x < 0.95 => 2,
                    _ => 3,
                };
                let mut linked: Vec<u64> = Vec::new();
                for _ in 0..offenders {
                    let person = self.offender(offence, lsoa, now);
                    if !linked.contains(&person.id) {
                        linked.push(person.id);
                        person_rows.push(&crime_id, &person, "offender", when, self.areas);
                    }
                }
            }
        }
        writers.offences.write(offence_rows.batch())?;
        writers.persons.write(person_rows.batch())?;
        self.health(first, last, season, share, writers)
    }

    fn victim(&mut self, offence: &Offence, lsoa: Option<usize>, when: f64, now: f64) -> Person {
        if offence.group.is_some()
            && self.chance(0.035)
            && let Some(person) = self.victims.draw(&mut self.rng)
        {
            return person;
        }
        let rates = if offence.group.is_some() {
            VICTIM_RATE
        } else {
            OFFENDER_RATE.map(|r| r.max(0.05))
        };
        let age = self.age_from(&rates);
        let male = if offence.group.is_some() { 0.69 } else { 0.45 };
        let home = self.home_near(lsoa);
        let person = self.new_person(age, male, when.max(now), home);
        if offence.group.is_some() {
            self.victims.push(&person);
        }
        person
    }

    fn offender(&mut self, offence: &Offence, lsoa: Option<usize>, now: f64) -> Person {
        let Some(group) = offence.group else {
            let age = self.age_from(&OFFENDER_RATE);
            let home = self.home_near(lsoa);
            return self.new_person(age, 0.8, now, home);
        };
        if group == Group::Robbery {
            if self.chance(0.35)
                && let Some(person) = self.robbers.draw(&mut self.rng)
            {
                return person;
            }
            let age = self.age_from(&ROBBER_RATE);
            let home = self.home_near(lsoa);
            let person = self.new_person(age, 0.86, now, home);
            self.robbers.push(&person);
            return person;
        }
        let young = self.chance(0.46);
        let (ring, repeat) = if young {
            (&self.young_offenders, REPEAT_YOUNG)
        } else {
            (&self.older_offenders, REPEAT_OLDER)
        };
        if self.rng.random::<f64>() < repeat {
            let drawn = ring.draw(&mut self.rng);
            if let Some(person) = drawn {
                if young {
                    self.young_offenders.push(&person)
                } else {
                    self.older_offenders.push(&person)
                }
                return person;
            }
        }
        let age = loop {
            let age = self.age_from(&OFFENDER_RATE);
            if (age < 25) == young {
                break age;
            }
        };
        let home = self.home_near(lsoa);
        let person = self.new_person(age, 0.735, now, home);
        if young {
            self.young_offenders.push(&person)
        } else {
            self.older_offenders.push(&person)
        }
        person
    }

    /// A&E injury attendances (about 20 per 1,000 residents a year, 13% assaults) and ambulance
    /// incidents (about 11 per 1,000 a year, 11% assaults).
    fn health(
        &mut self,
        first: NaiveDate,
        last: NaiveDate,
        season: f64,
        share: f64,
        writers: &mut Writers,
    ) -> Result<(), GenerateError> {
        let residents = 1_121_954.0 * self.crime_volume;
        let mut attendances: Vec<(NaiveDateTime, bool)> = Vec::new();
        for _ in 0..self.count(residents * 20.0 / 1000.0 / 12.0 * share * season.sqrt()) {
            let assault = self.chance(0.13 * season.sqrt());
            let at = if assault && self.chance(0.5) {
                self.moment(first, last, &NIGHT_HOURS, 2.5)
            } else {
                self.moment(first, last, &DAY_HOURS, 1.0)
            };
            attendances.push((at, assault));
        }
        attendances.sort();
        let now = f64::from(first.year()) + f64::from(first.ordinal()) / 365.25;
        let mut rows = AeRows::default();
        let mut istv = IstvRows::default();
        for (at, assault) in attendances {
            let person = if assault && self.chance(0.06) {
                self.patients.draw(&mut self.rng)
            } else {
                None
            };
            let person = match person {
                Some(p) => p,
                None => {
                    let age = if assault {
                        self.age_from(&VICTIM_RATE)
                    } else {
                        self.rng.random_range(0..90)
                    };
                    let home = if self.chance(0.03) {
                        None
                    } else {
                        Some(self.by_population.sample(&mut self.rng))
                    };
                    let p = self.new_person(age, if assault { 0.72 } else { 0.52 }, now, home);
                    if assault {
                        self.patients.push(&p);
                    }
                    p
                }
            };
            let weapon = if assault {
                *[
                    "knife_sharp",
                    "blunt",
                    "body_part",
                    "body_part",
                    "body_part",
                    "body_part",
                    "body_part",
                    "other",
                    "unknown",
                    "blunt",
                ]
                .get(self.rng.random_range(0..10))
                .expect("in range")
            } else if self.chance(0.7) {
                "other"
            } else {
                "unknown"
            };
            let admitted = self.chance(match weapon {
                "knife_sharp" => 0.4,
                _ if assault => 0.1,
                _ => 0.08,
            });
            let outside = self.chance(0.03);
            let site = if self.chance(0.85) {
                TYPE_1_SITE
            } else {
                "RWEUC"
            };
            let id = format!("AE{:09}", self.next_attendance);
            self.next_attendance += 1;
            if assault && site == TYPE_1_SITE {
                istv.push(&mut self.istv_rng, &id, &person, at, weapon);
            }
            rows.push(
                &id, &person, at, outside, site, assault, weapon, admitted, self.areas,
            );
        }
        writers.ae.write(rows.batch())?;
        writers.istv.write(istv.batch())?;

        let mut incidents = AmbulanceRows::default();
        let mut calls: Vec<(NaiveDateTime, bool)> = Vec::new();
        for _ in 0..self.count(residents * 11.0 / 1000.0 / 12.0 * share * season.sqrt()) {
            let assault = self.chance(0.11);
            let at = if assault {
                self.moment(first, last, &NIGHT_HOURS, 2.5)
            } else {
                self.moment(first, last, &DAY_HOURS, 1.0)
            };
            calls.push((at, assault));
        }
        calls.sort();
        for (at, assault) in calls {
            // Assumed age split: about 40% of conveyed assault patients under 25.
            let age = if assault {
                if self.chance(0.40) {
                    self.rng.random_range(12..25)
                } else {
                    self.rng.random_range(25..80)
                }
            } else {
                self.rng.random_range(0..95)
            };
            let age = (!self.chance(0.02)).then_some(age);
            let sex = if self.chance(if assault { 0.72 } else { 0.5 }) {
                "M"
            } else {
                "F"
            };
            let lsoa = if self.chance(0.02) {
                None
            } else {
                Some(self.areas[self.by_crime.sample(&mut self.rng)].code.clone())
            };
            let conveyed = self.chance(if assault { 0.66 } else { 0.6 });
            let id = format!("AM{:09}", self.next_incident);
            self.next_incident += 1;
            incidents.push(&id, at, age, sex, lsoa, assault, conveyed);
        }
        writers.ambulance.write(incidents.batch())
    }

    /// Residents by year, LSOA, sex and single year of age, modelled from the Census 2021
    /// groups, drifting 0.7% a year from 2021.
    fn population(
        &mut self,
        first_year: i32,
        last_year: i32,
        writers: &mut Writers,
    ) -> Result<(), GenerateError> {
        for year in first_year..=last_year {
            let drift = 1.0 + 0.007 * f64::from(year - 2021);
            // One batch per 634 LSOAs (one copy of LLR) keeps memory flat at any scale.
            for chunk in self.areas.chunks(634) {
                let mut rows = PopulationRows::default();
                for area in chunk {
                    for (age, people) in single_years(&area.census).iter().enumerate() {
                        let male = male_share(age as u32);
                        for (sex, share) in [("F", 1.0 - male), ("M", male)] {
                            let value = (people * share * drift * self.volume).round() as i32;
                            rows.push(year, &area.code, sex, age as i32, value);
                        }
                    }
                }
                writers.population.write(rows.batch())?;
            }
        }
        Ok(())
    }
}

/// Single years of age 0..=90 (90 = 90 and over) from the six Census groups: spread evenly
/// within each group, with a declining curve from 65.
fn single_years(census: &[f64; 6]) -> [f64; 91] {
    let mut years = [0.0; 91];
    let spans = [(0, 15), (16, 24), (25, 34), (35, 49), (50, 64)];
    for (group, (from, to)) in spans.iter().enumerate() {
        let n = f64::from(to - from + 1);
        for age in *from..=*to {
            years[age as usize] = census[group] / n;
        }
    }
    let weights: Vec<f64> = (65..=90)
        .map(|a| {
            if a == 90 {
                2.5
            } else {
                (-(f64::from(a) - 65.0) / 11.0).exp()
            }
        })
        .collect();
    let total: f64 = weights.iter().sum();
    for (i, w) in weights.iter().enumerate() {
        years[65 + i] = census[5] * w / total;
    }
    years
}

/// The male share of residents by age: slightly above half in childhood, falling in old age.
fn male_share(age: u32) -> f64 {
    match age {
        0..=19 => 0.512,
        20..=49 => 0.50,
        50..=69 => 0.49,
        70..=79 => 0.47,
        _ => 0.40,
    }
}

struct Offence {
    code: &'static str,
    group: Option<Group>,
    at: NaiveDateTime,
    lsoa: Option<usize>,
    location: &'static str,
    domestic: bool,
    knife: bool,
    nte: bool,
    victim: bool,
    offender: f64,
}

fn seconds(at: NaiveDateTime) -> i64 {
    at.and_utc().timestamp()
}

fn days(date: NaiveDate) -> i32 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

#[derive(Default)]
struct OffenceRows {
    crime_id: Vec<String>,
    code: Vec<&'static str>,
    at: Vec<i64>,
    recorded: Vec<i32>,
    lsoa: Vec<Option<String>>,
    location: Vec<&'static str>,
    domestic: Vec<bool>,
    knife: Vec<bool>,
    nte: Vec<bool>,
    easting: Vec<Option<i32>>,
    northing: Vec<Option<i32>>,
}

impl OffenceRows {
    fn push(
        &mut self,
        id: &str,
        o: &Offence,
        recorded: NaiveDate,
        lsoa: Option<String>,
        easting: Option<i32>,
        northing: Option<i32>,
    ) {
        self.crime_id.push(id.to_owned());
        self.code.push(o.code);
        self.at.push(seconds(o.at));
        self.recorded.push(days(recorded));
        self.lsoa.push(lsoa);
        self.location.push(o.location);
        self.domestic.push(o.domestic);
        self.knife.push(o.knife);
        self.nte.push(o.nte);
        self.easting.push(easting);
        self.northing.push(northing);
    }

    fn batch(self) -> Vec<ArrayRef> {
        vec![
            Arc::new(StringArray::from(self.crime_id)),
            Arc::new(StringArray::from(self.code)),
            Arc::new(TimestampSecondArray::from(self.at)),
            Arc::new(Date32Array::from(self.recorded)),
            Arc::new(StringArray::from(self.lsoa)),
            Arc::new(StringArray::from(self.location)),
            Arc::new(BooleanArray::from(self.domestic)),
            Arc::new(BooleanArray::from(self.knife)),
            Arc::new(BooleanArray::from(self.nte)),
            Arc::new(Int32Array::from(self.easting)),
            Arc::new(Int32Array::from(self.northing)),
        ]
    }
}

#[derive(Default)]
struct PersonRows {
    crime_id: Vec<String>,
    person_id: Vec<String>,
    role: Vec<&'static str>,
    age: Vec<Option<i32>>,
    sex: Vec<&'static str>,
    home: Vec<Option<String>>,
}

impl PersonRows {
    fn push(
        &mut self,
        crime_id: &str,
        person: &Person,
        role: &'static str,
        when: f64,
        areas: &[Area],
    ) {
        self.crime_id.push(crime_id.to_owned());
        self.person_id.push(format!("P{:09}", person.id));
        self.role.push(role);
        self.age.push(
            (!person.missing_age).then(|| ((when - person.born).floor() as i32).clamp(0, 110)),
        );
        self.sex.push(person.sex);
        self.home.push(person.home.map(|i| areas[i].code.clone()));
    }

    fn batch(self) -> Vec<ArrayRef> {
        vec![
            Arc::new(StringArray::from(self.crime_id)),
            Arc::new(StringArray::from(self.person_id)),
            Arc::new(StringArray::from(self.role)),
            Arc::new(Int32Array::from(self.age)),
            Arc::new(StringArray::from(self.sex)),
            Arc::new(StringArray::from(self.home)),
        ]
    }
}

#[derive(Default)]
struct AeRows {
    id: Vec<String>,
    patient: Vec<String>,
    at: Vec<i64>,
    age: Vec<Option<i32>>,
    sex: Vec<&'static str>,
    home: Vec<Option<String>>,
    site: Vec<&'static str>,
    assault: Vec<bool>,
    weapon: Vec<&'static str>,
    admitted: Vec<bool>,
}

impl AeRows {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        id: &str,
        person: &Person,
        at: NaiveDateTime,
        outside: bool,
        site: &'static str,
        assault: bool,
        weapon: &'static str,
        admitted: bool,
        areas: &[Area],
    ) {
        let when = f64::from(at.year()) + f64::from(at.ordinal()) / 365.25;
        self.id.push(id.to_owned());
        self.patient.push(format!("P{:09}", person.id));
        self.at.push(seconds(at));
        self.age.push(
            (!person.missing_age).then(|| ((when - person.born).floor() as i32).clamp(0, 110)),
        );
        self.sex.push(person.sex);
        self.home.push(if outside {
            Some(OUTSIDE[(person.id % 4) as usize].to_owned())
        } else {
            person.home.map(|i| areas[i].code.clone())
        });
        self.site.push(site);
        self.assault.push(assault);
        self.weapon.push(weapon);
        self.admitted.push(admitted);
    }

    fn batch(self) -> Vec<ArrayRef> {
        vec![
            Arc::new(StringArray::from(self.id)),
            Arc::new(StringArray::from(self.patient)),
            Arc::new(TimestampSecondArray::from(self.at)),
            Arc::new(Int32Array::from(self.age)),
            Arc::new(StringArray::from(self.sex)),
            Arc::new(StringArray::from(self.home)),
            Arc::new(StringArray::from(self.site)),
            Arc::new(BooleanArray::from(self.assault)),
            Arc::new(StringArray::from(self.weapon)),
            Arc::new(BooleanArray::from(self.admitted)),
        ]
    }
}

/// The type-1 emergency department (Leicester Royal Infirmary), which sends the ISTV return.
const TYPE_1_SITE: &str = "RWES1";

/// Mixed into the seed for the ISTV return's stream.
const ISTV_STREAM: u64 = 0x1575_0001;

/// Where patients say the assault happened, as reception staff type it: the same place in
/// several spellings (normalised by the `istv_attendances` view), with weights.
const INCIDENT_PLACES: &[(&str, u32)] = &[
    ("Street", 14),
    ("street", 9),
    ("STREET ", 3),
    ("In the street", 4),
    ("City centre", 8),
    ("city centre", 4),
    ("Granby Street", 5),
    ("granby st", 2),
    ("Nightclub", 7),
    ("night club", 3),
    ("Pub", 6),
    ("pub", 3),
    ("Home", 12),
    ("home", 6),
    ("Own home", 3),
    ("Friend's house", 4),
    ("Friends house", 2),
    ("Park", 4),
    ("Victoria Park", 2),
    ("Bus station", 2),
    ("St Margaret's bus station", 1),
    ("Shop", 3),
    ("School", 2),
    ("Work", 3),
    ("Unknown", 4),
    ("", 8),
];

/// The means of assault as the return words it, by the attendance's weapon.
fn means_text(weapon: &str) -> &'static [&'static str] {
    match weapon {
        "knife_sharp" => &["Knife", "knife", "Stabbed", "Glass"],
        "blunt" => &["Blunt object", "Bat", "blunt instrument"],
        "body_part" => &["Fist", "Punched", "Kicked", "Feet", "Head butt", "fist"],
        "other" => &["Other"],
        _ => &["Unknown", "Not stated", ""],
    }
}

#[derive(Default)]
struct IstvRows {
    id: Vec<String>,
    site: Vec<&'static str>,
    arrived: Vec<i64>,
    incident: Vec<Option<i64>>,
    location: Vec<Option<String>>,
    means: Vec<&'static str>,
    means_original: Vec<Option<&'static str>>,
    age: Vec<Option<i32>>,
    sex: Vec<&'static str>,
    district: Vec<Option<String>>,
    reported: Vec<Option<bool>>,
}

impl IstvRows {
    /// The ISTV row of an assault attendance at the type-1 department: the incident up to four
    /// hours before arrival (its time not recorded for about one in eight), the place and means
    /// in free text, the patient's postcode district.
    fn push(
        &mut self,
        rng: &mut ChaCha8Rng,
        id: &str,
        person: &Person,
        at: NaiveDateTime,
        weapon: &'static str,
    ) {
        let when = f64::from(at.year()) + f64::from(at.ordinal()) / 365.25;
        self.id.push(id.to_owned());
        self.site.push(TYPE_1_SITE);
        self.arrived.push(seconds(at));
        let delay = chrono::Duration::minutes(rng.random_range(10..240));
        self.incident
            .push((rng.random_range(0..8) != 0).then(|| seconds(at - delay)));
        let total: u32 = INCIDENT_PLACES.iter().map(|(_, w)| w).sum();
        let mut pick = rng.random_range(0..total);
        let place = INCIDENT_PLACES
            .iter()
            .find(|(_, w)| {
                let found = pick < *w;
                pick = pick.saturating_sub(*w);
                found
            })
            .map_or("", |(p, _)| *p);
        // About one in 150 gives an address: free text that names a home, which the Cardiff
        // Model's location table must not show (each under the disclosure threshold).
        let place = if rng.random_range(0..150) == 0 {
            let street = [
                "Narborough Road",
                "Belgrave Gate",
                "Saffron Lane",
                "Humberstone Road",
            ][rng.random_range(0..4)];
            Some(format!("Outside {} {street}", rng.random_range(1..300)))
        } else {
            (!place.is_empty()).then(|| place.to_owned())
        };
        self.location.push(place);
        let texts = means_text(weapon);
        let text = texts[rng.random_range(0..texts.len())];
        self.means.push(weapon);
        self.means_original.push((!text.is_empty()).then_some(text));
        self.age.push(
            (!person.missing_age).then(|| ((when - person.born).floor() as i32).clamp(0, 110)),
        );
        self.sex.push(person.sex);
        self.district.push(match rng.random_range(0..40) {
            0 | 1 => None,
            n => Some(format!("LE{}", 1 + (n * n) % 19)),
        });
        self.reported.push(match rng.random_range(0..20) {
            0..=10 => Some(true),
            11..=16 => Some(false),
            _ => None,
        });
    }

    fn batch(self) -> Vec<ArrayRef> {
        vec![
            Arc::new(StringArray::from(self.id)),
            Arc::new(StringArray::from(self.site)),
            Arc::new(TimestampSecondArray::from(self.arrived)),
            Arc::new(TimestampSecondArray::from(self.incident)),
            Arc::new(StringArray::from(self.location)),
            Arc::new(StringArray::from(self.means)),
            Arc::new(StringArray::from(self.means_original)),
            Arc::new(Int32Array::from(self.age)),
            Arc::new(StringArray::from(self.sex)),
            Arc::new(StringArray::from(self.district)),
            Arc::new(BooleanArray::from(self.reported)),
        ]
    }
}

#[derive(Default)]
struct AmbulanceRows {
    id: Vec<String>,
    at: Vec<i64>,
    age: Vec<Option<i32>>,
    sex: Vec<&'static str>,
    lsoa: Vec<Option<String>>,
    assault: Vec<bool>,
    conveyed: Vec<bool>,
}

impl AmbulanceRows {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        id: &str,
        at: NaiveDateTime,
        age: Option<u32>,
        sex: &'static str,
        lsoa: Option<String>,
        assault: bool,
        conveyed: bool,
    ) {
        self.id.push(id.to_owned());
        self.at.push(seconds(at));
        self.age.push(age.map(|a| a as i32));
        self.sex.push(sex);
        self.lsoa.push(lsoa);
        self.assault.push(assault);
        self.conveyed.push(conveyed);
    }

    fn batch(self) -> Vec<ArrayRef> {
        vec![
            Arc::new(StringArray::from(self.id)),
            Arc::new(TimestampSecondArray::from(self.at)),
            Arc::new(Int32Array::from(self.age)),
            Arc::new(StringArray::from(self.sex)),
            Arc::new(StringArray::from(self.lsoa)),
            Arc::new(BooleanArray::from(self.assault)),
            Arc::new(BooleanArray::from(self.conveyed)),
        ]
    }
}

#[derive(Default)]
struct PopulationRows {
    year: Vec<i32>,
    lsoa: Vec<String>,
    sex: Vec<&'static str>,
    age: Vec<i32>,
    population: Vec<i32>,
}

impl PopulationRows {
    fn push(&mut self, year: i32, lsoa: &str, sex: &'static str, age: i32, population: i32) {
        self.year.push(year);
        self.lsoa.push(lsoa.to_owned());
        self.sex.push(sex);
        self.age.push(age);
        self.population.push(population);
    }

    fn batch(self) -> Vec<ArrayRef> {
        vec![
            Arc::new(Int32Array::from(self.year)),
            Arc::new(StringArray::from(self.lsoa)),
            Arc::new(StringArray::from(self.sex)),
            Arc::new(Int32Array::from(self.age)),
            Arc::new(Int32Array::from(self.population)),
        ]
    }
}

/// A Parquet file written batch by batch.
struct Sink {
    path: PathBuf,
    schema: SchemaRef,
    parquet_schema: SchemaRef,
    writer: ArrowWriter<File>,
    rows: u64,
}

impl Sink {
    /// A writer of `spec`'s file in `dir`, with the schema the contract gives it.
    fn create(dir: &Path, spec: &TableSpec) -> Result<Sink, GenerateError> {
        let path = dir.join(spec.file_name());
        let schema = spec.arrow_schema();
        let error = |e: Box<dyn std::error::Error + Send + Sync>| GenerateError::Write {
            path: path.clone(),
            source: e,
        };
        let file = File::create(&path).map_err(|e| error(e.into()))?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(9).expect("valid level"),
            ))
            .set_created_by(format!("vrn-sna generate {}", env!("CARGO_PKG_VERSION")))
            .build();
        // Written with standard logical types: the model's times in seconds become
        // TIMESTAMP(MILLIS), which every Parquet reader reads as a time.
        let parquet_schema = crate::output::parquet_schema(&schema);
        let writer = ArrowWriter::try_new(file, Arc::clone(&parquet_schema), Some(properties))
            .map_err(|e| error(e.into()))?;
        Ok(Sink {
            path,
            schema,
            parquet_schema,
            writer,
            rows: 0,
        })
    }

    fn write(&mut self, columns: Vec<ArrayRef>) -> Result<(), GenerateError> {
        let error = |e: Box<dyn std::error::Error + Send + Sync>| GenerateError::Write {
            path: self.path.clone(),
            source: e,
        };
        let batch =
            RecordBatch::try_new(Arc::clone(&self.schema), columns).map_err(|e| error(e.into()))?;
        self.rows += batch.num_rows() as u64;
        let batch = crate::output::to_parquet_batch(&batch, &self.parquet_schema)
            .map_err(|e| error(e.into()))?;
        self.writer.write(&batch).map_err(|e| error(e.into()))
    }

    fn close(self) -> Result<(String, u64), GenerateError> {
        let name = self
            .path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        self.writer.close().map_err(|e| GenerateError::Write {
            path: self.path.clone(),
            source: e.into(),
        })?;
        Ok((name, self.rows))
    }
}

struct Writers {
    offences: Sink,
    persons: Sink,
    ae: Sink,
    ambulance: Sink,
    istv: Sink,
    population: Sink,
}

impl Writers {
    fn create(dir: &Path) -> Result<Writers, GenerateError> {
        Ok(Writers {
            offences: Sink::create(dir, &contract::OFFENCES)?,
            persons: Sink::create(dir, &contract::PERSONS)?,
            ae: Sink::create(dir, &contract::AE_ATTENDANCES)?,
            ambulance: Sink::create(dir, &contract::AMBULANCE)?,
            istv: Sink::create(dir, &contract::ISTV)?,
            population: Sink::create(dir, &contract::POPULATION)?,
        })
    }

    fn close(self) -> Result<Vec<(String, u64)>, GenerateError> {
        Ok(vec![
            self.offences.close()?,
            self.persons.close()?,
            self.ae.close()?,
            self.ambulance.close()?,
            self.istv.close()?,
            self.population.close()?,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_years_keep_the_census_totals() {
        let census = [160.0, 90.0, 100.0, 150.0, 150.0, 200.0];
        let years = single_years(&census);
        let total: f64 = years.iter().sum();
        assert!((total - census.iter().sum::<f64>()).abs() < 1e-9);
        let under16: f64 = years[..16].iter().sum();
        assert!((under16 - 160.0).abs() < 1e-9);
    }

    #[test]
    fn bad_options_are_refused() {
        let opts = GenerateOptions {
            scale: 0.0,
            ..GenerateOptions::default()
        };
        assert!(generate(&opts).unwrap_err().to_string().contains("--scale"));
        let opts = GenerateOptions {
            start: NaiveDate::from_ymd_opt(2022, 1, 1).unwrap(),
            end: NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(),
            ..GenerateOptions::default()
        };
        assert!(generate(&opts).unwrap_err().to_string().contains("after"));
    }

    #[test]
    fn the_ring_favours_people_with_more_links() {
        let person = |id| Person {
            id,
            born: 2000.0,
            sex: "F",
            home: None,
            missing_age: false,
        };
        let mut ring = Ring::new(4);
        for id in [1, 1, 1, 2] {
            ring.push(&person(id));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let ones = (0..1000)
            .filter(|_| ring.draw(&mut rng).is_some_and(|p| p.id == 1))
            .count();
        assert!((650..850).contains(&ones), "{ones}");
    }

    #[test]
    fn every_file_has_exactly_the_contract_columns() {
        let temp = tempfile::tempdir().unwrap();
        let opts = GenerateOptions {
            out: temp.path().join("extract"),
            scale: 0.01,
            start: NaiveDate::from_ymd_opt(2023, 4, 1).unwrap(),
            end: NaiveDate::from_ymd_opt(2023, 4, 30).unwrap(),
            ..GenerateOptions::default()
        };
        generate(&opts).unwrap();
        let files = contract::check_extract(&opts.out).unwrap().files;
        assert_eq!(files.len(), contract::TABLES.len());
        for file in files {
            let reader = File::open(&file.path).unwrap();
            let builder =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(reader)
                    .unwrap();
            let written: Vec<&str> = builder
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            let listed: Vec<&str> = file.spec.columns.iter().map(|c| c.name).collect();
            assert_eq!(written, listed, "{}", file.path.display());
        }
    }
}
