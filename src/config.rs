//! Configuration: `sna.toml`, its defaults, and the checks that make a bad configuration an
//! error naming the key or value at fault.
//!
//! Relative paths in a configuration file are resolved against the directory holding that file,
//! so a scheduled job that runs from another working directory reads the same data.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize};

/// The configuration file read when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "sna.toml";

/// The Home Office offence groups a serious-violence definition may name.
pub const HO_GROUPS: [&str; 13] = [
    "Homicide",
    "Violence with injury",
    "Violence without injury",
    "Stalking and harassment",
    "Robbery",
    "Sexual offences",
    "Theft offences",
    "Criminal damage and arson",
    "Drug offences",
    "Possession of weapons offences",
    "Public order offences",
    "Miscellaneous crimes against society",
    "Fraud offences",
];

/// Errors in reading or checking a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named by `--config` could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The configuration file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has an unknown key or a value of the wrong type.
    #[error("config file {path}: {}", .source.to_string().trim_end())]
    Parse {
        /// The configuration file.
        path: PathBuf,
        /// The parser's error, whose message names the key and its line.
        source: toml::de::Error,
    },
    /// A value is well-formed but not allowed.
    #[error("config {origin}: `{key}` {problem}")]
    Invalid {
        /// Where the configuration came from (file path or "command line").
        origin: String,
        /// The key at fault.
        key: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
    /// The `[funding]` weights are not usable.
    #[error("config {origin}: `funding.weights` {source}")]
    Weights {
        /// Where the configuration came from (file path or "command line").
        origin: String,
        /// What is wrong with them.
        source: crate::funding::FundingError,
    },
}

/// The serious-violence definition: which offences count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeriousViolence {
    /// Home Office offence groups (`ho_group` of the reference `offence_codes` table) that count.
    pub ho_groups: Vec<String>,
    /// Count only offences whose `location_type` is a public place.
    pub public_place_only: bool,
    /// Leave out offences flagged as domestic abuse.
    pub exclude_domestic: bool,
    /// The open-data proxy: police.uk crime types that count when the extract is police.uk
    /// open data (which has no Home Office codes, places or flags).
    pub police_uk_crime_types: Vec<String>,
}

impl Default for SeriousViolence {
    fn default() -> Self {
        Self {
            ho_groups: vec![
                "Homicide".to_owned(),
                "Violence with injury".to_owned(),
                "Robbery".to_owned(),
            ],
            public_place_only: true,
            exclude_domestic: true,
            police_uk_crime_types: vec![
                "Violence and sexual offences".to_owned(),
                "Robbery".to_owned(),
            ],
        }
    }
}

/// Every police.uk crime type of the street-level files, anti-social behaviour (not a crime)
/// left out.
pub const POLICE_UK_CRIME_TYPES: &[&str] = &[
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
];

impl SeriousViolence {
    /// The definition for an extract in `form`, in words: the Home Office definition, or the
    /// open-data proxy with its warning.
    pub fn describe_for(&self, form: crate::sources::contract::Form) -> String {
        match form {
            crate::sources::contract::Form::Full => self.describe(),
            crate::sources::contract::Form::OpenData => format!(
                "Serious violence (open-data proxy) = police.uk crime types {}. This is broader than the Home Office definition (it includes sexual offences, violence without injury, domestic abuse and private places) and cannot be compared with it.",
                join_groups(&self.police_uk_crime_types)
            ),
        }
    }

    /// A one-sentence definition for captions and methods text.
    pub fn describe(&self) -> String {
        let mut text = format!("Serious violence = {}", join_groups(&self.ho_groups));
        if self.public_place_only {
            text.push_str(" in a public place");
        }
        if self.exclude_domestic {
            text.push_str(", excluding domestic abuse");
        }
        text.push('.');
        text
    }
}

fn join_groups(groups: &[String]) -> String {
    match groups {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {}", rest.join(", "), last),
    }
}

/// The whole configuration, as in `sna.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Directory of the extract (Parquet files) to read.
    pub data_dir: PathBuf,
    /// Directory under which `sna run` writes assessment bundles.
    pub output_dir: PathBuf,
    /// Directory of the SQL jobs; when it does not exist, the copy built into the binary is used.
    pub queries_dir: PathBuf,
    /// Title of the assessment.
    pub title: String,
    /// First day of the assessment period (inclusive).
    #[serde(deserialize_with = "de_date", serialize_with = "ser_date")]
    pub start: NaiveDate,
    /// Last day of the assessment period (inclusive).
    #[serde(deserialize_with = "de_date", serialize_with = "ser_date")]
    pub end: NaiveDate,
    /// "Under the cutoff" means age < this many years; the priority cohort.
    pub young_age_cutoff: u32,
    /// Counts from 1 to this minus one are suppressed in anything meant for sharing.
    pub disclosure_threshold: u32,
    /// A partner pack of a period shorter than this many months is refused: over a short
    /// period the weekday and hour tables give away single offences.
    pub min_pack_months: u32,
    /// The release log of partner packs (see `sna export --partner`): every pack published is
    /// recorded there, and each new pack is protected jointly with those recorded (default:
    /// `releases.json` in the pack's parent directory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_log: Option<PathBuf>,
    /// `sna run` writes a shareable bundle: every published table under the partner pack's
    /// disclosure control, the tables not declared for it withheld (`--shareable`).
    pub shareable: bool,
    /// Getis–Ord Gi* neighbours: each LSOA's this many nearest LSOA centroids (with the LSOA
    /// itself), unless `hotspot_distance_m` is set.
    pub hotspot_neighbours: u32,
    /// When set, Gi* neighbours are instead every LSOA whose centroid lies within this many
    /// metres (a distance band).
    pub hotspot_distance_m: Option<f64>,
    /// Conditional permutations behind each LSOA's Gi* pseudo p-value.
    pub hotspot_permutations: u32,
    /// Seed of those permutations: the same seed gives the same p-values on every run.
    pub hotspot_seed: u64,
    /// Months at the start of each dashboard SPC chart whose mean and mean moving range set
    /// the centre line and control limits (all months shown when fewer).
    pub spc_baseline_months: u32,
    /// Periods when crime was disrupted (by default England's national lockdowns): a
    /// year-on-year comparison whose windows overlap one says so instead of reading the change
    /// as a trend.
    pub disrupted_periods: Vec<DisruptedPeriod>,
    /// The pre-pandemic baseline year (by default April 2019 to February 2020, March 2020 left
    /// out as the month the first lockdown began): the pre-pandemic comparison gives the
    /// period's monthly average as a percentage of the same calendar months' average in it.
    pub pre_pandemic_baseline: BaselinePeriod,
    /// Memory DataFusion may hold for query work (sorts, joins, aggregates) before spilling to
    /// disk, e.g. `"2 GiB"` or `"512 MiB"`; unset means half of physical memory, at most 4 GiB.
    /// A query that cannot fit even by spilling fails with a message naming the limit.
    pub memory_limit: Option<String>,
    /// Directory of the cache of validation reports and materialised views that every
    /// command shares (default: the user's cache directory, `$XDG_CACHE_HOME/vrn-sna` or `~/.cache/vrn-sna`); see `sna cache`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_dir: Option<PathBuf>,
    /// `--no-cache`: neither read nor write the cache (command line only).
    #[serde(skip)]
    pub no_cache: bool,
    /// Where SQL runs: `"local"` (the default: in this process) or `"ballista://HOST:PORT"`,
    /// an Apache DataFusion Ballista cluster's scheduler (needs a build with the
    /// `distributed` feature); see [`Engine`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// Which offences count as serious violence.
    pub serious_violence: SeriousViolence,
    /// The funding formula `sna run` applies (absent: no funding section in the bundle).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funding: Option<FundingConfig>,
    /// Named localities (a force's policing areas, say), each a list of ward names, ward codes
    /// or LSOA codes; empty means none.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub localities: std::collections::BTreeMap<String, Vec<String>>,
}

/// One `[[disrupted_periods]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisruptedPeriod {
    /// Its name in sentences, e.g. "the first national lockdown".
    pub name: String,
    /// First day (inclusive).
    #[serde(deserialize_with = "de_date", serialize_with = "ser_date")]
    pub start: NaiveDate,
    /// Last day (inclusive).
    #[serde(deserialize_with = "de_date", serialize_with = "ser_date")]
    pub end: NaiveDate,
}

/// `[pre_pandemic_baseline]`: whole calendar months, at most twelve, so that each calendar
/// month appears in it at most once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselinePeriod {
    /// First day (inclusive): the first of a month.
    #[serde(deserialize_with = "de_date", serialize_with = "ser_date")]
    pub start: NaiveDate,
    /// Last day (inclusive): the last of a month.
    #[serde(deserialize_with = "de_date", serialize_with = "ser_date")]
    pub end: NaiveDate,
}

impl Default for BaselinePeriod {
    /// April 2019 to February 2020: the last financial year before the pandemic, less March
    /// 2020, whose last week was the first lockdown.
    fn default() -> Self {
        Self {
            start: NaiveDate::from_ymd_opt(2019, 4, 1).expect("valid date"),
            end: NaiveDate::from_ymd_opt(2020, 2, 29).expect("valid date"),
        }
    }
}

impl BaselinePeriod {
    /// In words: "April 2019 to February 2020".
    pub fn words(&self) -> String {
        format!(
            "{} to {}",
            self.start.format("%B %Y"),
            self.end.format("%B %Y")
        )
    }

    /// What is wrong with it, with the key at fault: not whole months, reversed, or longer
    /// than 12 months.
    fn problem(&self) -> Option<(&'static str, String)> {
        let b = self;
        if b.start.day() != 1 {
            return Some((
                "pre_pandemic_baseline.start",
                format!("must be the first day of a month, got {}", b.start),
            ));
        }
        if b.end.succ_opt().is_some_and(|d| d.day() != 1) {
            return Some((
                "pre_pandemic_baseline.end",
                format!("must be the last day of a month, got {}", b.end),
            ));
        }
        if b.start > b.end {
            return Some((
                "pre_pandemic_baseline.end",
                format!("({}) is before its start ({})", b.end, b.start),
            ));
        }
        let months = |d: NaiveDate| d.year() * 12 + d.month0() as i32;
        let span = months(b.end) - months(b.start) + 1;
        if span > 12 {
            return Some((
                "pre_pandemic_baseline.end",
                format!(
                    "the baseline {} to {} spans {span} months; it may span at most 12, so that each calendar month is in it once",
                    b.start, b.end
                ),
            ));
        }
        None
    }
}

/// England's national lockdowns (Prime Minister's statements; the Health Protection
/// (Coronavirus, Restrictions) Regulations 2020 and 2021): 23 March to 15 June 2020 (shops
/// reopened), 5 November to 2 December 2020, and 6 January to 8 March 2021 (schools reopened).
pub fn england_lockdowns() -> Vec<DisruptedPeriod> {
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
    vec![
        DisruptedPeriod {
            name: "the first national lockdown".to_owned(),
            start: day(2020, 3, 23),
            end: day(2020, 6, 15),
        },
        DisruptedPeriod {
            name: "the second national lockdown".to_owned(),
            start: day(2020, 11, 5),
            end: day(2020, 12, 2),
        },
        DisruptedPeriod {
            name: "the third national lockdown".to_owned(),
            start: day(2021, 1, 6),
            end: day(2021, 3, 8),
        },
    ]
}

/// `[funding]`: the needs-based allocation `sna run` adds to the bundle (see `sna funding`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FundingConfig {
    /// The amount to allocate, in pounds.
    pub pot: f64,
    /// Component weights, summing to 1.
    #[serde(default)]
    pub weights: crate::funding::Weights,
    /// The areas: `csp` or `district`.
    #[serde(default = "default_level")]
    pub level: crate::funding::extract::Level,
    /// Financial years of crime harm, ending with the funding year.
    #[serde(default = "default_harm_years")]
    pub harm_years: u32,
}

fn default_level() -> crate::funding::extract::Level {
    crate::funding::extract::Level::Csp
}

fn default_harm_years() -> u32 {
    3
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data/sample"),
            output_dir: PathBuf::from("reports"),
            queries_dir: PathBuf::from("queries"),
            title: "Leicester, Leicestershire and Rutland serious violence SNA".to_owned(),
            start: NaiveDate::from_ymd_opt(2020, 4, 1).expect("valid date"),
            end: NaiveDate::from_ymd_opt(2021, 9, 30).expect("valid date"),
            young_age_cutoff: 25,
            disclosure_threshold: 5,
            min_pack_months: 3,
            release_log: None,
            shareable: false,
            hotspot_neighbours: DEFAULT_HOTSPOT_NEIGHBOURS,
            hotspot_distance_m: None,
            hotspot_permutations: DEFAULT_HOTSPOT_PERMUTATIONS,
            hotspot_seed: DEFAULT_HOTSPOT_SEED,
            spc_baseline_months: 12,
            disrupted_periods: england_lockdowns(),
            pre_pandemic_baseline: BaselinePeriod::default(),
            memory_limit: None,
            cache_dir: None,
            no_cache: false,
            engine: None,
            serious_violence: SeriousViolence::default(),
            funding: None,
            localities: std::collections::BTreeMap::new(),
        }
    }
}

/// Values given on the command line, which take precedence over the configuration file's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--data`.
    pub data_dir: Option<PathBuf>,
    /// `--start`.
    pub start: Option<NaiveDate>,
    /// `--end`.
    pub end: Option<NaiveDate>,
    /// `--threshold`.
    pub disclosure_threshold: Option<u32>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--engine`.
    pub engine: Option<String>,
    /// `--shareable`.
    pub shareable: bool,
}

/// A configuration together with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The checked configuration, with paths resolved.
    pub config: Config,
    /// The file it was read from, if any.
    pub source: Option<PathBuf>,
}

impl Config {
    /// Reads `path`, or `sna.toml` in the working directory when `path` is `None` (defaults
    /// when that file does not exist), resolves relative paths against the file's directory,
    /// and checks the result.
    pub fn load(path: Option<&Path>) -> Result<LoadedConfig, ConfigError> {
        let (file, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        if !required && !file.exists() {
            let config = Config::default();
            config.check("defaults")?;
            return Ok(LoadedConfig {
                config,
                source: None,
            });
        }
        // Only a regular file is read: a named pipe in its place would block for ever.
        if std::fs::metadata(&file).is_ok_and(|m| !m.is_file()) {
            return Err(ConfigError::Read {
                path: file.clone(),
                source: std::io::Error::other("not a regular file (a directory, pipe or device)"),
            });
        }
        let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
            path: file.clone(),
            source,
        })?;
        let mut config = Config::parse(&text).map_err(|source| ConfigError::Parse {
            path: file.clone(),
            source,
        })?;
        let base = file.parent().unwrap_or(Path::new(""));
        for dir in [
            Some(&mut config.data_dir),
            Some(&mut config.output_dir),
            Some(&mut config.queries_dir),
            config.cache_dir.as_mut(),
            config.release_log.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            // `s3://…` is a place in an object store, not a path relative to the file.
            let remote = crate::sources::remote::is_remote(dir);
            if dir.is_relative() && !remote && !base.as_os_str().is_empty() {
                *dir = base.join(&*dir);
            }
        }
        config.check(&file.display().to_string())?;
        Ok(LoadedConfig {
            config,
            source: Some(file),
        })
    }

    /// The configuration with the command line's `overrides` applied (they win over the file),
    /// checked again, since an override can make it invalid (a `--start` after the `end`).
    pub fn resolve(mut self, overrides: &Overrides) -> Result<Config, ConfigError> {
        if overrides == &Overrides::default() {
            return Ok(self);
        }
        if let Some(dir) = &overrides.data_dir {
            self.data_dir = dir.clone();
        }
        if let Some(start) = overrides.start {
            self.start = start;
        }
        if let Some(end) = overrides.end {
            self.end = end;
        }
        if let Some(threshold) = overrides.disclosure_threshold {
            self.disclosure_threshold = threshold;
        }
        self.no_cache |= overrides.no_cache;
        if let Some(engine) = &overrides.engine {
            self.engine = Some(engine.clone());
        }
        self.shareable |= overrides.shareable;
        self.check("command line")?;
        Ok(self)
    }

    /// Parses TOML text; the error's message names the offending key and line.
    pub fn parse(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }

    /// Checks values that parse but make no sense; `origin` names where they came from.
    pub fn check(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: &'static str, problem: String| ConfigError::Invalid {
            origin: origin.to_owned(),
            key,
            problem,
        };
        if self.start > self.end {
            return Err(invalid(
                "start",
                format!(
                    "({}) is after `end` ({}): the period is reversed",
                    self.start, self.end
                ),
            ));
        }
        for (key, date) in [("start", self.start), ("end", self.end)] {
            if !(EARLIEST_DATE..=LATEST_DATE).contains(&date) {
                return Err(invalid(
                    key,
                    format!(
                        "({date}) is outside the dates an assessment covers ({EARLIEST_DATE} to {LATEST_DATE})"
                    ),
                ));
            }
        }
        let months = self.period_month_count();
        if months > MAX_PERIOD_MONTHS {
            return Err(invalid(
                "end",
                format!(
                    "the period {} to {} spans {months} months; an assessment covers at most {MAX_PERIOD_MONTHS} ({} years): choose a shorter period",
                    self.start,
                    self.end,
                    MAX_PERIOD_MONTHS / 12
                ),
            ));
        }
        if self.young_age_cutoff == 0 || self.young_age_cutoff > 110 {
            return Err(invalid(
                "young_age_cutoff",
                format!("must be between 1 and 110, got {}", self.young_age_cutoff),
            ));
        }
        if self.disclosure_threshold == 0 {
            return Err(invalid(
                "disclosure_threshold",
                "must be at least 1 (1 suppresses nothing)".to_owned(),
            ));
        }
        for period in &self.disrupted_periods {
            if period.name.trim().is_empty() || period.start > period.end {
                return Err(invalid(
                    "disrupted_periods",
                    format!(
                        "each needs a name and a start no later than its end, got \"{}\" from {} to {}",
                        crate::text::printable(&period.name),
                        period.start,
                        period.end
                    ),
                ));
            }
        }
        if let Some((key, problem)) = self.pre_pandemic_baseline.problem() {
            return Err(invalid(key, problem));
        }
        if self.spc_baseline_months < 2 || self.spc_baseline_months > MAX_PERIOD_MONTHS {
            return Err(invalid(
                "spc_baseline_months",
                format!(
                    "must be between 2 and {MAX_PERIOD_MONTHS} (a moving range needs two months), got {}",
                    self.spc_baseline_months
                ),
            ));
        }
        if !(1..=MAX_HOTSPOT_NEIGHBOURS).contains(&self.hotspot_neighbours) {
            return Err(invalid(
                "hotspot_neighbours",
                format!(
                    "must be between 1 and {MAX_HOTSPOT_NEIGHBOURS} nearest LSOAs, got {}",
                    self.hotspot_neighbours
                ),
            ));
        }
        if let Some(distance) = self.hotspot_distance_m
            && !(distance.is_finite() && distance > 0.0)
        {
            return Err(invalid(
                "hotspot_distance_m",
                format!(
                    "must be a positive distance in metres (or left out, for the \
                     `hotspot_neighbours` nearest LSOAs), got {distance}"
                ),
            ));
        }
        if !(MIN_HOTSPOT_PERMUTATIONS..=MAX_HOTSPOT_PERMUTATIONS)
            .contains(&self.hotspot_permutations)
        {
            return Err(invalid(
                "hotspot_permutations",
                format!(
                    "must be between {MIN_HOTSPOT_PERMUTATIONS} (p-values down to 0.01) and \
                     {MAX_HOTSPOT_PERMUTATIONS}, got {}",
                    self.hotspot_permutations
                ),
            ));
        }
        if i64::try_from(self.hotspot_seed).is_err() {
            return Err(invalid(
                "hotspot_seed",
                format!(
                    "must be at most {} (it is kept as a signed 64-bit integer), got {}",
                    i64::MAX,
                    self.hotspot_seed
                ),
            ));
        }
        if let Some(text) = &self.engine {
            Engine::parse(text).map_err(|problem| invalid("engine", problem))?;
        }
        if let Some(text) = &self.memory_limit {
            parse_bytes(text)
                .filter(|b| *b >= MIN_MEMORY_LIMIT)
                .ok_or_else(|| {
                    invalid(
                        "memory_limit",
                        format!(
                            "must be a size of at least 16 MiB such as \"2 GiB\" or \"512 MiB\", got \"{text}\""
                        ),
                    )
                })?;
        }
        if let Some(funding) = &self.funding {
            if !(funding.pot.is_finite() && funding.pot > 0.0) {
                return Err(invalid(
                    "funding.pot",
                    format!("must be a positive amount of money, got {}", funding.pot),
                ));
            }
            funding
                .weights
                .checked()
                .map_err(|source| ConfigError::Weights {
                    origin: origin.to_owned(),
                    source,
                })?;
            if !(1..=10).contains(&funding.harm_years) {
                return Err(invalid(
                    "funding.harm_years",
                    format!("must be between 1 and 10, got {}", funding.harm_years),
                ));
            }
        }
        for (name, members) in &self.localities {
            if name.trim().is_empty() || members.is_empty() {
                return Err(invalid(
                    "localities",
                    format!("locality \"{name}\" needs a name and at least one ward or LSOA"),
                ));
            }
        }
        if self.title.trim().is_empty() {
            return Err(invalid("title", "must not be empty".to_owned()));
        }
        let groups = &self.serious_violence.ho_groups;
        if groups.is_empty() {
            return Err(invalid(
                "serious_violence.ho_groups",
                "must name at least one offence group".to_owned(),
            ));
        }
        let types = &self.serious_violence.police_uk_crime_types;
        if types.is_empty() {
            return Err(invalid(
                "serious_violence.police_uk_crime_types",
                "must name at least one police.uk crime type".to_owned(),
            ));
        }
        for crime_type in types {
            if !POLICE_UK_CRIME_TYPES.contains(&crime_type.as_str()) {
                return Err(invalid(
                    "serious_violence.police_uk_crime_types",
                    format!(
                        "has unknown crime type \"{}\"; police.uk's types: {}",
                        crate::text::printable(crime_type),
                        POLICE_UK_CRIME_TYPES.join(", ")
                    ),
                ));
            }
        }
        for group in groups {
            if !HO_GROUPS.contains(&group.as_str()) {
                return Err(invalid(
                    "serious_violence.ho_groups",
                    format!(
                        "has unknown group \"{group}\"; known groups: {}",
                        HO_GROUPS.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Where SQL runs (`engine`, checked when the configuration was loaded).
    pub fn engine(&self) -> Engine {
        self.engine
            .as_deref()
            .and_then(|text| Engine::parse(text).ok())
            .unwrap_or(Engine::Local)
    }

    /// The memory limit in bytes: `memory_limit`, or half of physical memory capped at 4 GiB.
    pub fn memory_limit_bytes(&self) -> usize {
        self.memory_limit
            .as_deref()
            .and_then(parse_bytes)
            .unwrap_or_else(default_memory_limit)
    }

    /// Calendar months the period touches, counting part months.
    pub fn period_month_count(&self) -> u32 {
        let months = |d: NaiveDate| d.year() * 12 + d.month0() as i32;
        u32::try_from(months(self.end) - months(self.start) + 1).unwrap_or(0)
    }

    /// The period's mid-point, which picks the population year for the whole period.
    pub fn mid_point(&self) -> NaiveDate {
        self.start + (self.end - self.start) / 2
    }

    /// The period in words: "April 2020 to September 2021" when it runs from the first of a
    /// month to the last of a month, otherwise "3 April 2020 to 15 September 2021".
    pub fn period_words(&self) -> String {
        let whole_months =
            self.start.day() == 1 && self.end.succ_opt().is_none_or(|d| d.day() == 1);
        let format = if whole_months { "%B %Y" } else { "%-d %B %Y" };
        format!(
            "{} to {}",
            self.start.format(format),
            self.end.format(format)
        )
    }

    /// A file-name-safe slug from the title and period, e.g.
    /// `leicester-leicestershire-and-rutland-serious-violence-sna-2020-04-01-to-2021-09-30`.
    pub fn slug(&self) -> String {
        let title = slug_words(&self.title, MAX_TITLE_SLUG);
        let title = if title.is_empty() { "sna" } else { &title };
        format!("{title}-{}-to-{}", self.start, self.end)
    }
}

/// Gi* neighbours by default: the 8 nearest LSOAs (with the LSOA itself, 9).
pub const DEFAULT_HOTSPOT_NEIGHBOURS: u32 = 8;
/// The most nearest neighbours allowed: beyond this a "local" statistic is not local.
pub const MAX_HOTSPOT_NEIGHBOURS: u32 = 100;
/// Conditional permutations by default. PySAL esda's default is 999, but a p-value of at
/// least 1/(999 + 1) cannot pass Benjamini–Hochberg at 5% across LLR's 634 LSOAs unless 13
/// or more LSOAs reach it (k·0.05/634 ≥ 0.001 needs k ≥ 13): on the sample, no LSOA does.
/// With 9,999 the smallest p-value, 0.0001, passes from the second LSOA on.
pub const DEFAULT_HOTSPOT_PERMUTATIONS: u32 = 9_999;
/// The fewest permutations allowed: 99 lets a p-value reach 0.01.
pub const MIN_HOTSPOT_PERMUTATIONS: u32 = 99;
/// The most permutations allowed (time grows with them: 99,999 on 35,000 LSOAs is minutes).
pub const MAX_HOTSPOT_PERMUTATIONS: u32 = 99_999;
/// The permutations' seed by default (any fixed value would do; this is the one PySAL esda's
/// documentation uses).
pub const DEFAULT_HOTSPOT_SEED: u64 = 12345;

/// The longest period an assessment covers: per-month tables have a row a month, and a period
/// of centuries (a typo, or `0001-01-01` to `9999-12-31`) would run for hours.
pub const MAX_PERIOD_MONTHS: u32 = 50 * 12;

/// The earliest and latest dates a period may have. Timestamps are computed in nanoseconds,
/// which end in April 2262.
const EARLIEST_DATE: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date");
const LATEST_DATE: NaiveDate = NaiveDate::from_ymd_opt(2199, 12, 31).expect("valid date");

/// Where a command's SQL runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// In this process (DataFusion).
    Local,
    /// On an Apache DataFusion Ballista cluster, through its scheduler.
    Ballista {
        /// The scheduler's host.
        host: String,
        /// The scheduler's port.
        port: u16,
    },
}

impl Engine {
    /// The port a Ballista scheduler listens on unless told otherwise.
    pub const DEFAULT_SCHEDULER_PORT: u16 = 50050;

    /// Parses `local` or `ballista://HOST[:PORT]`; the error says what was expected.
    pub fn parse(text: &str) -> Result<Engine, String> {
        let expected = "must be \"local\" or \"ballista://HOST:PORT\" (a Ballista scheduler)";
        if text == "local" {
            return Ok(Engine::Local);
        }
        let Some(address) = text.strip_prefix("ballista://") else {
            return Err(format!(
                "{expected}, got \"{}\"",
                crate::text::printable(text)
            ));
        };
        let address = address.trim_end_matches('/');
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                    format!(
                        "{expected}: the port of \"{}\" is not a port number",
                        crate::text::printable(text)
                    )
                })?,
            ),
            None => (address, Engine::DEFAULT_SCHEDULER_PORT),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
        {
            return Err(format!(
                "{expected}: \"{}\" names no host",
                crate::text::printable(text)
            ));
        }
        Ok(Engine::Ballista {
            host: host.to_owned(),
            port,
        })
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Engine::Local => f.write_str("local"),
            Engine::Ballista { host, port } if host.contains(':') => {
                write!(f, "ballista://[{host}]:{port}")
            }
            Engine::Ballista { host, port } => write!(f, "ballista://{host}:{port}"),
        }
    }
}

/// The smallest `memory_limit` accepted: below this nothing useful runs.
const MIN_MEMORY_LIMIT: usize = 16 << 20;

/// Half of physical memory (from `/proc/meminfo` on Linux), at most 4 GiB; 4 GiB where physical
/// memory cannot be read.
fn default_memory_limit() -> usize {
    const CAP: usize = 4 << 30;
    let total_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<usize>()
                        .ok()
                })
        });
    total_kib.map_or(CAP, |kib| (kib.saturating_mul(1024) / 2).min(CAP))
}

/// A size such as `2 GiB`, `512MiB`, `1.5 GB` or `1048576` (bytes). Hand-written: six units
/// and a number are less than a dependency would bring.
pub fn parse_bytes(text: &str) -> Option<usize> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        _ => return None,
    };
    let bytes = number * scale;
    (bytes.is_finite() && bytes >= 0.0 && bytes < usize::MAX as f64).then_some(bytes as usize)
}

/// The most characters of a title kept in a directory name: with the period and the
/// `-partner-pack` and staging suffixes the name stays far below file systems' 255 bytes.
const MAX_TITLE_SLUG: usize = 80;

/// Lower-case ASCII words of `text` joined by `-`, non-Latin letters transliterated
/// (`deunicode`: "Gwasanaeth Tân" → "gwasanaeth-tan", "Гродно" → "grodno"), cut at a word
/// boundary to at most `max` characters.
pub fn slug_words(text: &str, max: usize) -> String {
    let ascii = deunicode::deunicode(text);
    let mut slug = String::new();
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let mut slug = slug.trim_end_matches('-').to_owned();
    if slug.len() > max {
        let cut = slug[..=max].rfind('-').filter(|i| *i > 0).unwrap_or(max);
        slug.truncate(cut);
    }
    slug.trim_end_matches('-').to_owned()
}

/// Accepts a TOML local date (`2020-04-01`) or a string holding one (`"2020-04-01"`).
fn de_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum DateValue {
        Text(String),
        Toml(toml::value::Datetime),
    }
    let text = match DateValue::deserialize(deserializer)? {
        DateValue::Text(s) => s,
        DateValue::Toml(d) => d.to_string(),
    };
    parse_date(&text).map_err(serde::de::Error::custom)
}

fn ser_date<S: serde::Serializer>(date: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&date.to_string())
}

/// Parses a `YYYY-MM-DD` date, with an error message that quotes the value.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|e| format!("invalid date \"{text}\" ({e}); expected YYYY-MM-DD"))
}

#[cfg(test)]
mod tests;
