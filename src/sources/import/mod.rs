//! `sna import`: real data into an extract. Today: police.uk street-level files
//! ([`police_uk`]), placed in 2021 LSOAs by point-in-polygon ([`place`]).
//!
//! An import is staged and published in one step like every output of `sna`: it replaces only
//! an extract that an earlier import wrote (recognised by its manifest), and a failed import
//! leaves nothing behind.

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
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The report, as written to `import_report.json`.
    pub report: police_uk::ImportReport,
    /// Whether the file system could not swap the extract in one step.
    pub replaced_in_two_steps: bool,
}

/// Imports police.uk street-level files into an extract at `options.out`.
pub fn police_uk(
    options: &PoliceUkOptions,
    progress: &dyn Fn(u64),
) -> Result<Imported, ImportError> {
    let files = police_uk::find_files(&options.paths)?;
    let mut protected: Vec<&Path> = options.paths.iter().map(PathBuf::as_path).collect();
    protected.extend(options.boundaries.as_deref());
    protected.extend(options.lookup.as_deref());
    let staging = Staging::new(&options.out, OutputKind::ImportedExtract, &protected)?;
    let (boundaries_name, boundaries_text) = match &options.boundaries {
        Some(path) => (path.display().to_string(), read_text(path)?),
        None => (
            "data/reference/lsoa_boundaries.geojson (bundled)".to_owned(),
            crate::sources::reference::LSOA_BOUNDARIES_GEOJSON.to_owned(),
        ),
    };
    let lsoas = place::Lsoas::from_geojson(&boundaries_name, &boundaries_text)?;
    let dir = staging.path().to_path_buf();
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
    let manifest = serde_json::json!({
        "kind": OutputKind::ImportedExtract.marker(),
        "made_by": "sna import police-uk",
        "tool": crate::readable::tool(),
        "form": "open data (police.uk)",
        "inputs": report.files,
        "files": staging.files()?,
    });
    write_json(&dir.join(crate::staging::MANIFEST), &manifest)?;
    let published = staging.publish()?;
    Ok(Imported {
        report,
        replaced_in_two_steps: published.gap,
    })
}

fn read_text(path: &Path) -> Result<String, ImportError> {
    std::fs::read_to_string(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })
}
