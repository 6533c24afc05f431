//! `sna import`: real data into an extract. Today: police.uk street-level files
//! ([`police_uk`]), placed in 2021 LSOAs by point-in-polygon ([`place`]), and ONS population
//! estimates by single year of age ([`ons_population`]), into a new extract or one an earlier
//! import wrote.
//!
//! An import is staged and published in one step like every output of `sna`: it replaces only
//! an extract that an earlier import wrote (recognised by its manifest), and a failed import
//! leaves nothing behind.

pub mod census;
pub mod mapped;
pub mod ons_population;
pub mod place;
pub mod police_uk;

use std::path::{Path, PathBuf};

use crate::output::{OutputError, write_json};
use crate::staging::{OutputKind, Staging, StagingError};

/// Errors of an import. Any of them leaves no extract behind.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// No street-level file was found.
    #[error(
        "no police.uk street-level files (YYYY-MM-<force>-street.csv) in {}",
        .0.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NoFiles(Vec<PathBuf>),
    /// A path given does not exist.
    #[error("{0}: no such file or directory")]
    Missing(PathBuf),
    /// The same month's file of a force is in two places.
    #[error(
        "{first} and {second} are the same month's file of the same force: give one download (its anti-social behaviour rows have no identifier and would count twice)"
    )]
    TwoCopies {
        /// One copy.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// The same export is given twice (identical contents): its rows would count twice.
    #[error(
        "{first} and {second} have identical contents: give the file once, or its rows count twice"
    )]
    SameFile {
        /// One copy.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// A file's name does not carry its month.
    #[error("{0}: not a police.uk street-level file name (YYYY-MM-<force>-street.csv)")]
    FileName(PathBuf),
    /// A file or directory could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file's header is not police.uk's.
    #[error(
        "{file}, line 1: the header is `{found}`, not police.uk's `{}`",
        police_uk::HEADER.join(",")
    )]
    Header {
        /// The file.
        file: PathBuf,
        /// The header found.
        found: String,
    },
    /// A row is malformed.
    #[error("{file}, line {line}: {message}")]
    Row {
        /// The file.
        file: PathBuf,
        /// The line (1 is the header).
        line: u64,
        /// What is wrong, naming the column and value.
        message: String,
    },
    /// A file cannot be read as the layout says.
    #[error("{file}: {message}")]
    File {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A workbook's sheet, or one of its rows, cannot be read as the layout says.
    #[error("{file}, {place}: {message}")]
    Sheet {
        /// The workbook.
        file: PathBuf,
        /// `sheet NAME` or `sheet NAME, row N`.
        place: String,
        /// What is wrong, naming the column and value.
        message: String,
    },
    /// The boundaries cannot be used.
    #[error("{0}")]
    Boundaries(#[from] place::BoundaryError),
    /// The output could not be staged or published.
    #[error("{0}")]
    Staging(#[from] StagingError),
    /// A file could not be written.
    #[error("{0}")]
    Output(#[from] OutputError),
    /// A batch could not be built (a bug).
    #[error("building a batch of rows")]
    Batch(#[from] arrow::error::ArrowError),
}

/// What `sna import police-uk` is asked to do.
#[derive(Debug, Clone)]
pub struct PoliceUkOptions {
    /// Files, or directories searched for `*-street.csv`.
    pub paths: Vec<PathBuf>,
    /// The extract to write.
    pub out: PathBuf,
    /// LSOA 2021 boundaries replacing the bundled ones (copied into the extract's
    /// `reference/lsoa_boundaries.geojson`).
    pub boundaries: Option<PathBuf>,
    /// An LSOA lookup replacing the bundled one (copied into `reference/lsoa.csv`).
    pub lookup: Option<PathBuf>,
    /// ONS population estimates to write as `population.parquet`.
    pub population: Option<Population>,
}

/// ONS population estimates to read.
#[derive(Debug, Clone)]
pub struct Population {
    /// The workbook or CSV file.
    pub file: PathBuf,
    /// The mid-year (all the workbook's mid-year sheets when none).
    pub year: Option<i32>,
    /// One sheet by name.
    pub sheet: Option<String>,
}

/// What `sna import ons-population` is asked to do.
#[derive(Debug, Clone)]
pub struct OnsOptions {
    /// The estimates.
    pub population: Population,
    /// The extract to write: a new one, or one an earlier import wrote (its other files are
    /// kept).
    pub out: PathBuf,
    /// The area's LSOA lookup (default: the extract's `reference/lsoa.csv`, else the bundled
    /// one).
    pub lookup: Option<PathBuf>,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The report, as written to `import_report.json`.
    pub report: police_uk::ImportReport,
    /// Where the extract's population came from.
    pub population: PopulationSource,
    /// Whether the file system could not swap the extract in one step.
    pub replaced_in_two_steps: bool,
}

/// Where an imported extract's population came from.
#[derive(Debug, Clone)]
pub enum PopulationSource {
    /// ONS estimates given with `--population`, as written to `population_report.json`.
    Ons(ons_population::PopulationReport),
    /// The one an earlier import added, kept: the bundled Census residents (all ages) when its
    /// report says so, else ONS estimates.
    Kept {
        /// Whether it is the bundled Census 2021 residents, all ages.
        census: bool,
    },
    /// The bundled Census 2021 residents, all ages (no `--population`, the bundled area).
    Census(census::CensusReport),
    /// None: another area's boundaries or lookup, and no estimates given.
    None,
}

/// Imports police.uk street-level files into an extract at `options.out`.
pub fn police_uk(
    options: &PoliceUkOptions,
    progress: &dyn Fn(u64, u64),
) -> Result<Imported, ImportError> {
    let files = police_uk::find_files(&options.paths)?;
    let mut protected: Vec<&Path> = options.paths.iter().map(PathBuf::as_path).collect();
    protected.extend(options.population.as_ref().map(|p| p.file.as_path()));
    protected.extend(options.boundaries.as_deref());
    protected.extend(options.lookup.as_deref());
    // A population an earlier import added is kept, unless this import brings its own.
    let keep_population = options.population.is_none();
    let update = ExtractUpdate::new(
        &options.out,
        &|file| keep_population && POPULATION_FILES.contains(&file),
        &protected,
    )?;
    let (boundaries_name, boundaries_text) = match &options.boundaries {
        Some(path) => (path.display().to_string(), read_text(path)?),
        None => (
            "data/reference/lsoa_boundaries.geojson (bundled)".to_owned(),
            crate::sources::reference::LSOA_BOUNDARIES_GEOJSON.to_owned(),
        ),
    };
    let lsoas = place::Lsoas::from_geojson(&boundaries_name, &boundaries_text)?;
    let dir = update.dir().to_path_buf();
    let report = police_uk::read_files(&files, &lsoas, &boundaries_name, &dir, progress)?;
    let copies = [
        (&options.boundaries, "lsoa_boundaries.geojson"),
        (&options.lookup, "lsoa.csv"),
    ];
    for (source, name) in copies {
        if let Some(source) = source {
            let reference = dir.join("reference");
            std::fs::create_dir_all(&reference).map_err(OutputError::at(&reference))?;
            let target = reference.join(name);
            std::fs::copy(source, &target).map_err(OutputError::at(&target))?;
        }
    }
    write_json(&dir.join("import_report.json"), &report)?;
    let population = match &options.population {
        Some(population) => {
            let area = area_lsoas(options.lookup.as_deref(), None)?;
            let written = ons_population::write_population(
                &population.file,
                population.year,
                population.sheet.as_deref(),
                &area,
                &dir.join("population.parquet"),
            )?;
            write_json(&dir.join("population_report.json"), &written)?;
            PopulationSource::Ons(written)
        }
        None if dir.join("population.parquet").is_file() => PopulationSource::Kept {
            census: std::fs::read(dir.join("population_report.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<census::CensusReport>(&b).ok())
                .is_some(),
        },
        None if options.lookup.is_none() && options.boundaries.is_none() => {
            let written = census::write_census_population(&dir.join("population.parquet"))?;
            write_json(&dir.join("population_report.json"), &written)?;
            PopulationSource::Census(written)
        }
        None => PopulationSource::None,
    };
    let mut entries = vec![
        ("made_by", serde_json::json!("sna import police-uk")),
        ("form", serde_json::json!("open data (police.uk)")),
        (
            "inputs",
            serde_json::to_value(&report.files).unwrap_or_default(),
        ),
    ];
    match (&options.population, &population) {
        (Some(given), _) => entries.push((
            "population",
            serde_json::json!(given.file.display().to_string()),
        )),
        (None, PopulationSource::Census(_)) => {
            entries.push(("population", serde_json::json!(census::CENSUS_SOURCE)));
        }
        _ => {}
    }
    let gap = update.publish(&entries)?;
    Ok(Imported {
        report,
        population,
        replaced_in_two_steps: gap,
    })
}

/// Writes ONS population estimates as `population.parquet` into `options.out`: a new extract,
/// or a copy of the extract an earlier import wrote there with its population replaced,
/// published in one step.
pub fn ons_population(
    options: &OnsOptions,
) -> Result<(ons_population::PopulationReport, bool), ImportError> {
    let file = &options.population.file;
    if !file.is_file() {
        return Err(ImportError::Missing(file.clone()));
    }
    let mut protected: Vec<&Path> = vec![file.as_path()];
    protected.extend(options.lookup.as_deref());
    let update = ExtractUpdate::new(
        &options.out,
        &|file| !POPULATION_FILES.contains(&file),
        &protected,
    )?;
    let dir = update.dir().to_path_buf();
    let area = area_lsoas(
        options.lookup.as_deref(),
        Some(&options.out.join("reference").join("lsoa.csv")),
    )?;
    let report = ons_population::write_population(
        file,
        options.population.year,
        options.population.sheet.as_deref(),
        &area,
        &dir.join("population.parquet"),
    )?;
    write_json(&dir.join("population_report.json"), &report)?;
    let gap = update.publish(&[
        ("made_by", serde_json::json!("sna import ons-population")),
        ("population", serde_json::json!(file.display().to_string())),
    ])?;
    Ok((report, gap))
}

/// Writes one contract table from CSV or Excel exports by a mapping file into
/// `out`: a new extract, or a copy of one an earlier import wrote with that table replaced,
/// published in one step.
pub fn mapped(
    mapping_path: &Path,
    files: &[PathBuf],
    out: &Path,
    progress: &dyn Fn(u64),
) -> Result<(mapped::MappedReport, bool), ImportError> {
    for file in files.iter().map(PathBuf::as_path).chain([mapping_path]) {
        if !file.is_file() {
            return Err(ImportError::Missing(file.to_path_buf()));
        }
    }
    let (mapping, spec) = mapped::read_mapping(mapping_path)?;
    write_mapped(
        &mapping,
        spec,
        &mapping_path.display().to_string(),
        &[mapping_path],
        "sna import csv",
        files,
        out,
        progress,
    )
}

/// The bundled mapping of the ISTV return's usual layout (`docs/mappings/istv_return.toml`).
pub const ISTV_MAPPING: &str = include_str!("../../../docs/mappings/istv_return.toml");

/// Writes `istv.parquet` from emergency departments' ISTV returns (CSV or Excel) into `out`,
/// by `mapping_path`, or by the bundled mapping of the usual layout
/// (`docs/mappings/istv_return.toml`) when none is given.
pub fn istv(
    mapping_path: Option<&Path>,
    files: &[PathBuf],
    out: &Path,
    progress: &dyn Fn(u64),
) -> Result<(mapped::MappedReport, bool), ImportError> {
    for file in files.iter().map(PathBuf::as_path).chain(mapping_path) {
        if !file.is_file() {
            return Err(ImportError::Missing(file.to_path_buf()));
        }
    }
    let (mapping, spec, name) = match mapping_path {
        Some(path) => {
            let (mapping, spec) = mapped::read_mapping(path)?;
            (mapping, spec, path.display().to_string())
        }
        None => {
            let (mapping, spec) = mapped::parse_mapping(
                Path::new("docs/mappings/istv_return.toml (bundled)"),
                ISTV_MAPPING,
            )?;
            (
                mapping,
                spec,
                "docs/mappings/istv_return.toml (bundled)".to_owned(),
            )
        }
    };
    if spec.name != "istv" {
        return Err(ImportError::File {
            file: mapping_path.map(Path::to_path_buf).unwrap_or_default(),
            message: format!(
                "sna import istv writes istv, but the mapping's table is `{}`; use sna import csv for other tables",
                spec.name
            ),
        });
    }
    write_mapped(
        &mapping,
        spec,
        &name,
        &mapping_path.into_iter().collect::<Vec<_>>(),
        "sna import istv",
        files,
        out,
        progress,
    )
}

#[allow(clippy::too_many_arguments)]
fn write_mapped(
    mapping: &mapped::Mapping,
    spec: &'static crate::sources::contract::TableSpec,
    mapping_name: &str,
    mapping_files: &[&Path],
    made_by: &str,
    files: &[PathBuf],
    out: &Path,
    progress: &dyn Fn(u64),
) -> Result<(mapped::MappedReport, bool), ImportError> {
    refuse_copies(files)?;
    let file_name = spec.file_name();
    let report_name = format!("{}_report.json", spec.name);
    let mut protected: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    protected.extend(mapping_files);
    let update = ExtractUpdate::new(
        out,
        &|file| file != file_name && file != report_name,
        &protected,
    )?;
    let dir = update.dir().to_path_buf();
    let report = mapped::write_table(
        mapping_name,
        mapping,
        spec,
        files,
        &dir.join(&file_name),
        progress,
    )?;
    write_json(&dir.join(&report_name), &report)?;
    let gap = update.publish(&[
        ("made_by", serde_json::json!(made_by)),
        (
            spec.name,
            serde_json::json!({
                "mapping": mapping_name,
                "files": report.files,
            }),
        ),
    ])?;
    Ok((report, gap))
}

/// Refuses an export given twice (by its contents: the same file under two names, or twice
/// on the command line). Rows of exports carry no identifier the import can trust to be
/// unique across files (the ISTV return's are made up from the file and line), so a second
/// copy would count every row twice.
fn refuse_copies(files: &[PathBuf]) -> Result<(), ImportError> {
    use sha2::{Digest, Sha256};
    let mut seen: std::collections::HashMap<Vec<u8>, &PathBuf> = std::collections::HashMap::new();
    for file in files {
        let mut hasher = Sha256::new();
        let mut reader = std::fs::File::open(file).map_err(|source| ImportError::Read {
            path: file.clone(),
            source,
        })?;
        std::io::copy(&mut reader, &mut hasher).map_err(|source| ImportError::Read {
            path: file.clone(),
            source,
        })?;
        if let Some(first) = seen.insert(hasher.finalize().to_vec(), file) {
            return Err(ImportError::SameFile {
                first: first.clone(),
                second: file.clone(),
            });
        }
    }
    Ok(())
}

/// The files of an extract's population (`sna import ons-population`, `--population`).
const POPULATION_FILES: [&str; 2] = ["population.parquet", "population_report.json"];

/// An extract being written by an import that adds or replaces some of its files: a new
/// extract, or a copy of the files it keeps of the one an earlier import wrote at the
/// destination. Published in one step; the earlier extract is untouched until then.
struct ExtractUpdate {
    staging: Staging,
    earlier: serde_json::Map<String, serde_json::Value>,
}

impl ExtractUpdate {
    fn new(
        out: &Path,
        keep: &dyn Fn(&str) -> bool,
        protected: &[&Path],
    ) -> Result<ExtractUpdate, ImportError> {
        // Checks first that `out` is new or an earlier import's (recognised by its manifest).
        let staging = Staging::new(out, OutputKind::ImportedExtract, protected)?;
        let dir = staging.path().to_path_buf();
        let mut earlier = serde_json::Map::new();
        if out.is_dir() {
            for relative in crate::staging::relative_files(out)? {
                let from = out.join(&relative);
                if relative == crate::staging::MANIFEST {
                    let text = std::fs::read_to_string(&from).map_err(OutputError::at(&from))?;
                    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&text) {
                        earlier = map;
                    }
                    continue;
                }
                if !keep(&relative) {
                    continue;
                }
                let to = dir.join(&relative);
                if let Some(parent) = to.parent() {
                    std::fs::create_dir_all(parent).map_err(OutputError::at(parent))?;
                }
                std::fs::copy(&from, &to).map_err(OutputError::at(&to))?;
            }
        }
        Ok(ExtractUpdate { staging, earlier })
    }

    fn dir(&self) -> &Path {
        self.staging.path()
    }

    /// Writes the manifest (the earlier one's entries with `entries` set, but `made_by`,
    /// which names the import that first made the extract; the files listed anew) and
    /// publishes; true when the swap took two steps.
    fn publish(mut self, entries: &[(&str, serde_json::Value)]) -> Result<bool, ImportError> {
        let manifest = &mut self.earlier;
        manifest.insert("kind".into(), OutputKind::ImportedExtract.marker().into());
        manifest.insert("tool".into(), crate::readable::tool().into());
        for (key, value) in entries {
            if *key == "made_by" && manifest.contains_key("made_by") {
                continue;
            }
            manifest.insert((*key).into(), value.clone());
        }
        manifest.insert(
            "files".into(),
            serde_json::to_value(self.staging.files()?).unwrap_or_default(),
        );
        let path = self.staging.path().join(crate::staging::MANIFEST);
        write_json(&path, &self.earlier)?;
        Ok(self.staging.publish()?.gap)
    }
}

/// The LSOA codes of the area: `lookup`, else `extract_lookup` when it exists, else the
/// bundled lookup's.
fn area_lsoas(
    lookup: Option<&Path>,
    extract_lookup: Option<&Path>,
) -> Result<std::collections::BTreeSet<String>, ImportError> {
    let own = lookup.or(extract_lookup.filter(|p| p.is_file()));
    match own {
        Some(path) => ons_population::lookup_codes(&path.display().to_string(), &read_text(path)?),
        None => ons_population::lookup_codes(
            "data/reference/lsoa.csv (bundled)",
            crate::sources::reference::LSOA_CSV,
        ),
    }
}

fn read_text(path: &Path) -> Result<String, ImportError> {
    std::fs::read_to_string(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })
}
