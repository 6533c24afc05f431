//! `sna import police-uk`: police.uk monthly street-level files into an extract in the
//! contract's open-data form.
//!
//! The files are read as published (`YYYY-MM-<force>-street.csv`, loose or in the `YYYY-MM/`
//! folders of the bulk download), with a CSV parser (`Location` holds quoted commas) that
//! skips a byte-order mark. Each row is streamed: crimes go to `offences.parquet`, anti-social
//! behaviour rows (no `Crime ID`: not crimes) to `asb.parquet`, batch by batch. Every point is
//! placed in its 2021 LSOA by point-in-polygon ([`super::place`]); the file's own (often 2011)
//! code is kept as `source_lsoa_code`. A crime published twice (the same `Crime ID` in two
//! files) is kept once. A malformed file stops the import, naming the file and line, and
//! nothing is written.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Builder, Float64Builder, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::ImportError;
use super::place::{Crs, Grid, Lsoas};
use crate::output::ParquetFile;
use crate::text::printable;

/// The header of every police.uk street-level file.
pub const HEADER: [&str; 12] = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
];

/// Rows per written batch.
const BATCH: usize = 8192;

/// What an import read and wrote: `import_report.json`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ImportReport {
    /// Each file with its month and rows.
    pub files: Vec<FileReport>,
    /// Data rows read, in all files.
    pub rows_read: u64,
    /// Crimes written to `offences.parquet` (duplicates left out).
    pub crimes: u64,
    /// Anti-social behaviour rows (no `Crime ID`), written to `asb.parquet`, not crimes.
    pub asb_rows: u64,
    /// Crimes with no point: their LSOA is unknown.
    pub crimes_without_point: u64,
    /// Crimes whose point lies outside every LSOA of the boundaries: their LSOA is unknown.
    pub crimes_outside_area: u64,
    /// Crimes placed in an LSOA whose code differs from the file's own (2011 codes, or a
    /// point the publisher placed otherwise).
    pub crimes_moved_lsoa: u64,
    /// Rows whose `Crime ID` was already read (in this or an earlier file), left out.
    pub duplicates: u64,
    /// Crimes by police.uk crime type.
    pub crime_types: BTreeMap<String, u64>,
    /// Months with at least one file, `YYYY-MM`.
    pub months: Vec<String>,
    /// Months between the first and last with no file.
    pub months_missing: Vec<String>,
    /// The boundaries points were placed against.
    pub boundaries: String,
}

/// One input file.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FileReport {
    /// The path as found.
    pub path: String,
    /// Its month, `YYYY-MM`.
    pub month: String,
    /// Data rows.
    pub rows: u64,
}

/// The street-level files below `paths` (files, or directories searched recursively), in
/// month order then path order; each with its month from the file name.
pub fn find_files(paths: &[PathBuf]) -> Result<Vec<(PathBuf, NaiveDate)>, ImportError> {
    let mut found = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut found)?;
        } else if path.is_file() {
            let month = month_of(path).ok_or_else(|| ImportError::FileName(path.clone()))?;
            found.push((path.clone(), month));
        } else {
            return Err(ImportError::Missing(path.clone()));
        }
    }
    // The same file named twice (a directory and a file in it, `a` and `./a`) is read once; the
    // same month's file of the same force from two places (overlapping downloads) is refused,
    // because its anti-social behaviour rows, which have no identifier, would count twice.
    let mut seen: BTreeMap<std::ffi::OsString, PathBuf> = BTreeMap::new();
    let mut unique = Vec::new();
    for (path, month) in found {
        let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        let name = path.file_name().map(|n| n.to_owned()).unwrap_or_default();
        match seen.get(&name) {
            Some(other) if *other == real => continue,
            Some(other) => {
                return Err(ImportError::TwoCopies {
                    first: other.clone(),
                    second: path,
                });
            }
            None => {
                seen.insert(name, real);
                unique.push((path, month));
            }
        }
    }
    unique.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    if unique.is_empty() {
        return Err(ImportError::NoFiles(paths.to_vec()));
    }
    Ok(unique)
}

fn walk(dir: &Path, found: &mut Vec<(PathBuf, NaiveDate)>) -> Result<(), ImportError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ImportError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let path = entry
            .map_err(|source| ImportError::Read {
                path: dir.to_path_buf(),
                source,
            })?
            .path();
        if path.is_dir() {
            walk(&path, found)?;
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with("-street.csv"))
        {
            let month = month_of(&path).ok_or_else(|| ImportError::FileName(path.clone()))?;
            found.push((path, month));
        }
    }
    Ok(())
}

/// The month in a `YYYY-MM-<force>-street.csv` name.
fn month_of(path: &Path) -> Option<NaiveDate> {
    let name = path.file_name()?.to_str()?;
    if !name.ends_with("-street.csv") || name.len() < 8 {
        return None;
    }
    NaiveDate::parse_from_str(&format!("{}-01", name.get(..7)?), "%Y-%m-%d").ok()
}

/// The columns of `offences.parquet` in the open-data form.
pub fn offences_schema() -> SchemaRef {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    let number = |name: &str| Field::new(name, DataType::Float64, true);
    Arc::new(Schema::new(vec![
        text("crime_id", false),
        Field::new("month", DataType::Date32, false),
        text("police_uk_crime_type", false),
        text("lsoa_code", true),
        text("source_lsoa_code", true),
        number("longitude"),
        number("latitude"),
        number("easting"),
        number("northing"),
        text("location", true),
        text("last_outcome", true),
        text("falls_within", true),
    ]))
}

/// The columns of `asb.parquet`: anti-social behaviour incidents, which are not crimes.
pub fn asb_schema() -> SchemaRef {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    let number = |name: &str| Field::new(name, DataType::Float64, true);
    Arc::new(Schema::new(vec![
        Field::new("month", DataType::Date32, false),
        text("lsoa_code", true),
        text("source_lsoa_code", true),
        number("easting"),
        number("northing"),
        text("location", true),
        text("falls_within", true),
    ]))
}

/// Rows on their way to one Parquet file.
struct Rows {
    file: ParquetFile,
    schema: SchemaRef,
    crime_id: StringBuilder,
    month: Date32Builder,
    crime_type: StringBuilder,
    lsoa: StringBuilder,
    source_lsoa: StringBuilder,
    longitude: Float64Builder,
    latitude: Float64Builder,
    easting: Float64Builder,
    northing: Float64Builder,
    location: StringBuilder,
    outcome: StringBuilder,
    falls_within: StringBuilder,
    pending: usize,
    asb: bool,
}

/// One row as read.
struct Record<'a> {
    crime_id: &'a str,
    month: NaiveDate,
    crime_type: &'a str,
    lsoa: Option<&'a str>,
    source_lsoa: &'a str,
    point: Option<(f64, f64)>,
    grid: Option<(f64, f64)>,
    location: &'a str,
    outcome: &'a str,
    falls_within: &'a str,
}

fn optional(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

impl Rows {
    fn create(path: &Path, schema: SchemaRef, asb: bool) -> Result<Rows, ImportError> {
        Ok(Rows {
            file: ParquetFile::create(path, Arc::clone(&schema))?,
            schema,
            crime_id: StringBuilder::new(),
            month: Date32Builder::new(),
            crime_type: StringBuilder::new(),
            lsoa: StringBuilder::new(),
            source_lsoa: StringBuilder::new(),
            longitude: Float64Builder::new(),
            latitude: Float64Builder::new(),
            easting: Float64Builder::new(),
            northing: Float64Builder::new(),
            location: StringBuilder::new(),
            outcome: StringBuilder::new(),
            falls_within: StringBuilder::new(),
            pending: 0,
            asb,
        })
    }

    fn push(&mut self, r: &Record) -> Result<(), ImportError> {
        let days = (r.month - NaiveDate::default()).num_days() as i32;
        if !self.asb {
            self.crime_id.append_value(r.crime_id);
            self.crime_type.append_value(r.crime_type);
            self.longitude.append_option(r.point.map(|p| p.0));
            self.latitude.append_option(r.point.map(|p| p.1));
            self.outcome.append_option(optional(r.outcome));
        }
        self.month.append_value(days);
        self.lsoa.append_option(r.lsoa);
        self.source_lsoa.append_option(optional(r.source_lsoa));
        self.easting.append_option(r.grid.map(|g| g.0));
        self.northing.append_option(r.grid.map(|g| g.1));
        self.location.append_option(optional(r.location));
        self.falls_within.append_option(optional(r.falls_within));
        self.pending += 1;
        if self.pending >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ImportError> {
        if self.pending == 0 {
            return Ok(());
        }
        let mut columns: Vec<ArrayRef> = Vec::new();
        if self.asb {
            columns.extend([
                Arc::new(self.month.finish()) as ArrayRef,
                Arc::new(self.lsoa.finish()),
                Arc::new(self.source_lsoa.finish()),
                Arc::new(self.easting.finish()),
                Arc::new(self.northing.finish()),
                Arc::new(self.location.finish()),
                Arc::new(self.falls_within.finish()),
            ]);
        } else {
            columns.extend([
                Arc::new(self.crime_id.finish()) as ArrayRef,
                Arc::new(self.month.finish()),
                Arc::new(self.crime_type.finish()),
                Arc::new(self.lsoa.finish()),
                Arc::new(self.source_lsoa.finish()),
                Arc::new(self.longitude.finish()),
                Arc::new(self.latitude.finish()),
                Arc::new(self.easting.finish()),
                Arc::new(self.northing.finish()),
                Arc::new(self.location.finish()),
                Arc::new(self.outcome.finish()),
                Arc::new(self.falls_within.finish()),
            ]);
        }
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)?;
        self.file.write(&batch)?;
        self.pending = 0;
        Ok(())
    }

    fn finish(mut self) -> Result<u64, ImportError> {
        self.flush()?;
        Ok(self.file.finish()?)
    }
}

/// The place of a point.
enum Placed<'a> {
    NoPoint,
    Outside,
    In(&'a str),
}

/// Reads `files` into `offences.parquet` and `asb.parquet` in `dir`, placing points against
/// `lsoas` (named `boundaries` in the report).
pub fn read_files(
    files: &[(PathBuf, NaiveDate)],
    lsoas: &Lsoas,
    boundaries: &str,
    dir: &Path,
    progress: &dyn Fn(u64, u64),
) -> Result<ImportReport, ImportError> {
    // Progress in bytes of all the files: known before reading, and even across months.
    let total: u64 = files
        .iter()
        .filter_map(|(p, _)| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let mut done = 0u64;
    let grid = Grid::new();
    let mut offences = Rows::create(&dir.join("offences.parquet"), offences_schema(), false)?;
    let mut asb = Rows::create(&dir.join("asb.parquet"), asb_schema(), true)?;
    let mut report = ImportReport {
        boundaries: boundaries.to_owned(),
        ..ImportReport::default()
    };
    // 128 bits of each Crime ID's SHA-256: a set of them holds even England and Wales's tens
    // of millions of crimes in a few hundred megabytes, where the 64-character IDs would take
    // several gigabytes; two different IDs share 128 bits with negligible probability.
    let mut seen: HashSet<u128> = HashSet::new();
    let mut months = BTreeSet::new();
    for (path, month) in files {
        let name = path.display().to_string();
        let row_error = |line: u64, message: String| ImportError::Row {
            file: path.clone(),
            line,
            message: printable(&message).into_owned(),
        };
        // police.uk ends lines with CRLF. Records end at `\n` only, and the `\r` left on the
        // last field is trimmed: with the default terminator every record after the header
        // would be numbered one line early in messages.
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .trim(csv::Trim::All)
            .from_path(path)
            .map_err(|e| row_error(1, e.to_string()))?;
        let header = reader.headers().map_err(|e| row_error(1, e.to_string()))?;
        let found: Vec<&str> = header.iter().collect();
        if found != HEADER {
            return Err(ImportError::Header {
                file: path.clone(),
                found: printable(&found.join(",")).into_owned(),
            });
        }
        let expected = month.format("%Y-%m").to_string();
        let mut rows = 0u64;
        let mut record = csv::StringRecord::new();
        loop {
            let more = reader.read_record(&mut record).map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                row_error(line, csv_message(&e))
            })?;
            if !more {
                break;
            }
            let line = record.position().map_or(0, |p| p.line());
            rows += 1;
            if &record[1] != expected.as_str() {
                return Err(row_error(
                    line,
                    format!(
                        "column Month is `{}`, but the file is for {expected}",
                        &record[1]
                    ),
                ));
            }
            let coordinate = |column: &str, text: &str| -> Result<Option<f64>, ImportError> {
                if text.is_empty() {
                    return Ok(None);
                }
                text.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .map(Some)
                    .ok_or_else(|| {
                        row_error(line, format!("column {column} is `{text}`, not a number"))
                    })
            };
            let point = match (
                coordinate("Longitude", &record[4])?,
                coordinate("Latitude", &record[5])?,
            ) {
                (Some(lon), Some(lat)) => Some((lon, lat)),
                (None, None) => None,
                _ => {
                    return Err(row_error(
                        line,
                        "one of Longitude and Latitude is empty but not the other".to_owned(),
                    ));
                }
            };
            let grid_ref = point.and_then(|(lon, lat)| grid.grid_reference(lon, lat));
            let placed = match (point, lsoas.crs()) {
                (None, _) => Placed::NoPoint,
                (Some((lon, lat)), Crs::LonLat) => {
                    lsoas.locate(lon, lat).map_or(Placed::Outside, Placed::In)
                }
                (Some(_), Crs::Grid) => match grid_ref {
                    Some((e, n)) => lsoas.locate(e, n).map_or(Placed::Outside, Placed::In),
                    None => Placed::Outside,
                },
            };
            let crime_id = &record[0];
            let r = Record {
                crime_id,
                month: *month,
                crime_type: &record[9],
                lsoa: match placed {
                    Placed::In(code) => Some(code),
                    _ => None,
                },
                source_lsoa: &record[7],
                point,
                grid: grid_ref,
                location: &record[6],
                outcome: &record[10],
                falls_within: &record[3],
            };
            if crime_id.is_empty() {
                report.asb_rows += 1;
                asb.push(&r)?;
                continue;
            }
            let digest = Sha256::digest(crime_id.as_bytes());
            let key = u128::from_be_bytes(digest[..16].try_into().expect("16 bytes"));
            if !seen.insert(key) {
                report.duplicates += 1;
                continue;
            }
            if r.crime_type.is_empty() {
                return Err(row_error(line, "column Crime type is empty".to_owned()));
            }
            report.crimes += 1;
            *report
                .crime_types
                .entry(r.crime_type.to_owned())
                .or_default() += 1;
            match placed {
                Placed::NoPoint => report.crimes_without_point += 1,
                Placed::Outside => report.crimes_outside_area += 1,
                Placed::In(code) if code != r.source_lsoa => report.crimes_moved_lsoa += 1,
                Placed::In(_) => {}
            }
            offences.push(&r)?;
            if report.crimes.is_multiple_of(4096) {
                progress(done + record.position().map_or(0, |p| p.byte()), total);
            }
        }
        report.rows_read += rows;
        done += std::fs::metadata(path).map_or(0, |m| m.len());
        progress(done, total);
        months.insert(*month);
        report.files.push(FileReport {
            path: name,
            month: expected,
            rows,
        });
    }
    offences.finish()?;
    asb.finish()?;
    report.months = months
        .iter()
        .map(|m| m.format("%Y-%m").to_string())
        .collect();
    if let (Some(first), Some(last)) = (months.first(), months.last()) {
        let mut m = *first;
        while m < *last {
            if !months.contains(&m) {
                report.months_missing.push(m.format("%Y-%m").to_string());
            }
            m = m + chrono::Months::new(1);
        }
    }
    Ok(report)
}

/// The CSV reader's error without its position (the caller names the line).
fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_owned(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_come_from_file_names() {
        assert_eq!(
            month_of(Path::new("x/2020-01-leicestershire-street.csv")),
            NaiveDate::from_ymd_opt(2020, 1, 1)
        );
        assert_eq!(month_of(Path::new("2020-13-x-street.csv")), None);
        assert_eq!(month_of(Path::new("2020-01-x-outcomes.csv")), None);
    }
}
