//! `sna import csv --mapping MAPPING.toml FILE...`: any CSV or Excel export (a force's records
//! system, an NHS return, an ambulance service's extract) into one table of the contract, by a
//! declarative mapping: the target table, the source column of each contract column (or a
//! constant), date and time formats, value recodings, and what to do with values the mapping
//! does not recode (`unmapped = "error"`, the default, or `"unknown"`, counted in the report).
//!
//! ```toml
//! table = "offences"
//! [columns.crime_id]
//! from = "Crime Reference"
//! [columns.committed_at]
//! from = "Committed From"
//! format = "%d/%m/%Y %H:%M"
//! [columns.location_type]
//! from = "Location Type"
//! values = { "Street" = "street", "Public House" = "licensed_premises" }
//! unmapped = "unknown"
//! [columns.nte]
//! value = false
//! ```
//!
//! Rows are streamed from CSV; an Excel sheet is read whole by `calamine`. Every value is
//! checked as `sna validate` checks the table (kinds, required columns, allowed values, unique
//! keys) before anything is published; the first problem stops the import naming the file,
//! line (or sheet and row), column and value. Examples: `docs/mappings/`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int32Builder, RecordBatch,
    StringBuilder, TimestampSecondBuilder,
};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::ImportError;
use crate::output::ParquetFile;
use crate::sources::contract::{self, ColumnSpec, Kind, TableSpec};
use crate::text::printable;

/// Rows per Parquet batch.
const BATCH_ROWS: usize = 8192;

/// Rows searched for the header in a sheet.
const HEADER_SEARCH_ROWS: usize = 30;

/// A mapping file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The contract table written: `offences`, `persons`, `ae_attendances` or `ambulance`.
    pub table: String,
    /// For workbooks: the sheet (default the first).
    #[serde(default)]
    pub sheet: Option<String>,
    /// Each contract column's source.
    pub columns: BTreeMap<String, ColumnMapping>,
}

/// Where one contract column comes from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMapping {
    /// The source column's header, or several whose values are joined with a space (a date
    /// and a time in two columns: `from = ["Arrival Date", "Arrival Time"]`).
    #[serde(default)]
    pub from: Option<From>,
    /// A constant instead of a source column.
    #[serde(default)]
    pub value: Option<toml::Value>,
    /// For dates and times: the chrono format of the text (e.g. `%d/%m/%Y %H:%M`).
    #[serde(default)]
    pub format: Option<String>,
    /// Recodings of the source's values (trimmed; matched exactly, then ignoring case).
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// What a value that is not recoded and not allowed becomes.
    #[serde(default)]
    pub unmapped: Unmapped,
}

/// One source column, or several joined.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum From {
    /// One column.
    One(String),
    /// Columns whose values are joined with a single space; empty when any of them is empty.
    Joined(Vec<String>),
}

impl From {
    /// The headers, in order.
    pub fn headers(&self) -> Vec<&str> {
        match self {
            From::One(h) => vec![h.as_str()],
            From::Joined(hs) => hs.iter().map(String::as_str).collect(),
        }
    }
}

/// Contract columns an import makes up when the mapping does not give them: a row's place in
/// its file (`file:line`), unique within one import. The ISTV return often has no identifier.
const GENERATED: &[(&str, &str)] = &[("istv", "attendance_id")];

/// What to do with a value the mapping does not recode and the contract does not allow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unmapped {
    /// Stop the import, naming the value.
    #[default]
    Error,
    /// Write `unknown` (where the column allows it) and count the value in the report.
    Unknown,
}

/// What a mapped import read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MappedReport {
    /// The mapping file.
    pub mapping: String,
    /// The table written.
    pub table: String,
    /// The files read.
    pub files: Vec<String>,
    /// Rows read.
    pub rows: u64,
    /// Per column, the source values written as `unknown` (`unmapped = "unknown"`), with counts.
    pub unmapped: BTreeMap<String, BTreeMap<String, u64>>,
}

/// A source column's position and the rule for one contract column.
struct Rule<'a> {
    spec: &'a ColumnSpec,
    source: Source,
    mapping: ColumnMapping,
}

enum Source {
    Columns(Vec<usize>, String),
    Constant(String),
    Generated,
    Absent,
}

/// One cell as read.
#[derive(Debug, Clone)]
enum Cell {
    Text(String),
    DateTime(NaiveDateTime),
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(t) => t.trim().to_owned(),
            Cell::DateTime(d) => d.format("%Y-%m-%d %H:%M:%S").to_string(),
        }
    }
}

/// Reads a mapping file, naming what is wrong with it.
pub fn read_mapping(path: &Path) -> Result<(Mapping, &'static TableSpec), ImportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_mapping(path, &text)
}

/// Parses a mapping's text (read from `path`), naming what is wrong with it.
pub fn parse_mapping(
    path: &Path,
    text: &str,
) -> Result<(Mapping, &'static TableSpec), ImportError> {
    let bad = |message: String| ImportError::File {
        file: path.to_path_buf(),
        message,
    };
    let mapping: Mapping =
        toml::from_str(text).map_err(|e| bad(printable(&e.to_string()).into_owned()))?;
    let spec = [
        &contract::OFFENCES,
        &contract::PERSONS,
        &contract::AE_ATTENDANCES,
        &contract::AMBULANCE,
        &contract::ISTV,
    ]
    .into_iter()
    .find(|s| s.name == mapping.table)
    .ok_or_else(|| {
        bad(format!(
            "table `{}` is not a table a mapping can write (offences, persons, ae_attendances, ambulance, istv)",
            printable(&mapping.table)
        ))
    })?;
    for (name, column) in &mapping.columns {
        let Some(target) = spec.column(name) else {
            return Err(bad(format!(
                "[columns.{}]: {} has no such column (its columns: {})",
                printable(name),
                spec.name,
                spec.columns
                    .iter()
                    .map(|c| c.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        if let Some(From::Joined(headers)) = &column.from
            && headers.is_empty()
        {
            return Err(bad(format!(
                "[columns.{name}]: `from` is an empty list; give one header or several to join"
            )));
        }
        if column.from.is_some() == column.value.is_some() {
            return Err(bad(format!(
                "[columns.{name}]: give either `from` (a source column) or `value` (a constant)"
            )));
        }
        if column.unmapped == Unmapped::Unknown
            && !target.allowed.is_some_and(|a| a.contains(&"unknown"))
        {
            return Err(bad(format!(
                "[columns.{name}]: unmapped = \"unknown\" needs a column that allows `unknown`"
            )));
        }
        for (from, to) in &column.values {
            if let Some(allowed) = target.allowed
                && !allowed.contains(&to.as_str())
            {
                return Err(bad(format!(
                    "[columns.{name}]: `{}` recodes to `{}`, which is not one of {}",
                    printable(from),
                    printable(to),
                    allowed.join(", ")
                )));
            }
        }
    }
    for column in spec.columns {
        if column.required
            && !mapping.columns.contains_key(column.name)
            && !GENERATED.contains(&(spec.name, column.name))
        {
            return Err(bad(format!(
                "{} needs column `{}`: add [columns.{}] with `from` or `value`",
                spec.name, column.name, column.name
            )));
        }
    }
    Ok((mapping, spec))
}

/// Reads `files` by `mapping` and writes `<table>.parquet` at `out`, calling `progress` with
/// the bytes read so far (of all files) now and then.
pub fn write_table(
    mapping_name: &str,
    mapping: &Mapping,
    spec: &'static TableSpec,
    files: &[PathBuf],
    out: &Path,
    progress: &dyn Fn(u64),
) -> Result<MappedReport, ImportError> {
    let mut report = MappedReport {
        mapping: mapping_name.to_owned(),
        table: spec.name.to_owned(),
        files: files.iter().map(|f| f.display().to_string()).collect(),
        ..MappedReport::default()
    };
    let mut writer = Writer::new(spec, out)?;
    let mut keys: HashMap<String, String> = HashMap::new();
    let mut done_bytes = 0;
    for (number, file) in files.iter().enumerate() {
        let label = origin_label(files, number);
        let is_csv = file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if is_csv {
            // Records end at `\n` only: with the default terminator a CRLF file's records
            // are numbered one line early (the `\n` of `\r\n` is counted with the next
            // record); the `\r` left at the end of the last field is trimmed like all values.
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .terminator(csv::Terminator::Any(b'\n'))
                .from_path(file)
                .map_err(|e| file_error(file, e.to_string()))?;
            let header: Vec<String> = reader
                .headers()
                .map_err(|e| file_error(file, e.to_string()))?
                .iter()
                .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
                .collect();
            let rules = rules(mapping, spec, &header).map_err(|message| ImportError::Row {
                file: file.clone(),
                line: 1,
                message,
            })?;
            for (row, record) in reader.records().enumerate() {
                let record = record.map_err(|e| file_error(file, e.to_string()))?;
                let line = record.position().map_or(0, |p| p.line());
                if row % 4096 == 0 {
                    progress(done_bytes + record.position().map_or(0, |p| p.byte()));
                }
                let place = format!("line {line}");
                let origin = format!("{label}:{line}");
                let cells: Vec<Option<Cell>> = record
                    .iter()
                    .map(|t| Some(Cell::Text(t.to_owned())))
                    .collect();
                convert(
                    &rules,
                    spec,
                    &cells,
                    &mut writer,
                    &mut report,
                    &mut keys,
                    &place,
                    &origin,
                )
                .map_err(|message| ImportError::Row {
                    file: file.clone(),
                    line,
                    message,
                })?;
            }
        } else {
            read_workbook(
                file,
                &label,
                mapping,
                spec,
                &mut writer,
                &mut report,
                &mut keys,
            )?;
        }
        done_bytes += std::fs::metadata(file).map_or(0, |m| m.len());
        progress(done_bytes);
    }
    writer.finish()?;
    Ok(report)
}

/// How generated identifiers name file number `number` of `files`: its file name, led by its
/// number when another file given has the same name (two hospitals' `istv.csv`).
fn origin_label(files: &[PathBuf], number: usize) -> String {
    let name = |f: &PathBuf| {
        f.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let own = name(&files[number]);
    if files.iter().filter(|f| name(f) == own).count() > 1 {
        format!("{}-{own}", number + 1)
    } else {
        own
    }
}

fn read_workbook(
    file: &Path,
    label: &str,
    mapping: &Mapping,
    spec: &'static TableSpec,
    writer: &mut Writer,
    report: &mut MappedReport,
    keys: &mut HashMap<String, String>,
) -> Result<(), ImportError> {
    use calamine::Reader;
    let mut workbook = calamine::open_workbook_auto(file).map_err(|e| {
        file_error(
            file,
            format!(
                "not a CSV file or a workbook that can be read (.xlsx, .xls, .ods): {}",
                printable(&e.to_string())
            ),
        )
    })?;
    let names = workbook.sheet_names();
    let sheet = match &mapping.sheet {
        Some(sheet) => names.iter().find(|n| *n == sheet).cloned().ok_or_else(|| {
            file_error(
                file,
                format!(
                    "no sheet `{}`; the workbook has {}",
                    printable(sheet),
                    names.join(", ")
                ),
            )
        })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| file_error(file, "the workbook has no sheets".to_owned()))?,
    };
    let range = workbook
        .worksheet_range(&sheet)
        .map_err(|e| file_error(file, format!("sheet {sheet} cannot be read: {e}")))?;
    let rows: Vec<Vec<Option<Cell>>> = range
        .rows()
        .map(|row| row.iter().map(cell_of).collect())
        .collect();
    let wanted: Vec<&str> = mapping
        .columns
        .values()
        .filter_map(|c| c.from.as_ref())
        .flat_map(From::headers)
        .collect();
    let header_row = rows
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .position(|row| {
            let names: Vec<String> = row
                .iter()
                .map(|c| c.as_ref().map(Cell::text).unwrap_or_default())
                .collect();
            wanted.iter().all(|w| names.iter().any(|n| n == w))
        })
        .ok_or_else(|| {
            file_error(
                file,
                format!(
                    "sheet {}: no row in the first {HEADER_SEARCH_ROWS} holds every mapped column ({})",
                    printable(&sheet),
                    printable(&wanted.join(", "))
                ),
            )
        })?;
    let header: Vec<String> = rows[header_row]
        .iter()
        .map(|c| c.as_ref().map(Cell::text).unwrap_or_default())
        .collect();
    let rules = rules(mapping, spec, &header).map_err(|message| ImportError::Sheet {
        file: file.to_path_buf(),
        place: format!("sheet {}, row {}", printable(&sheet), header_row + 1),
        message,
    })?;
    for (index, row) in rows.iter().enumerate().skip(header_row + 1) {
        if row.iter().all(Option::is_none) {
            continue;
        }
        let place = format!("sheet {}, row {}", printable(&sheet), index + 1);
        let origin = format!("{label}:{sheet}:{}", index + 1);
        convert(&rules, spec, row, writer, report, keys, &place, &origin).map_err(|message| {
            ImportError::Sheet {
                file: file.to_path_buf(),
                place: place.clone(),
                message,
            }
        })?;
    }
    Ok(())
}

fn cell_of(data: &calamine::Data) -> Option<Cell> {
    use calamine::{Data, DataType};
    match data {
        Data::Empty => None,
        Data::String(s) if s.trim().is_empty() => None,
        Data::DateTime(_) | Data::DateTimeIso(_) => data.as_datetime().map(Cell::DateTime),
        Data::Float(f) if f.fract() == 0.0 => Some(Cell::Text(format!("{f:.0}"))),
        other => Some(Cell::Text(other.to_string())),
    }
}

/// The rule of each contract column, with its source column found in `header`.
fn rules<'a>(
    mapping: &Mapping,
    spec: &'a TableSpec,
    header: &[String],
) -> Result<Vec<Rule<'a>>, String> {
    spec.columns
        .iter()
        .map(|column| {
            let Some(rule) = mapping.columns.get(column.name) else {
                return Ok(Rule {
                    spec: column,
                    source: if GENERATED.contains(&(spec.name, column.name)) {
                        Source::Generated
                    } else {
                        Source::Absent
                    },
                    mapping: ColumnMapping::default(),
                });
            };
            let source = match (&rule.from, &rule.value) {
                (Some(from), _) => {
                    let indices = from
                        .headers()
                        .into_iter()
                        .map(|wanted| {
                            header.iter().position(|h| h == wanted).ok_or_else(|| {
                                format!(
                                    "no column `{}` (for {}); the header has {}",
                                    printable(wanted),
                                    column.name,
                                    printable(&header.join(", "))
                                )
                            })
                        })
                        .collect::<Result<Vec<usize>, String>>()?;
                    Source::Columns(indices, from.headers().join("` + `"))
                }
                (None, Some(value)) => Source::Constant(match value {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                }),
                (None, None) => Source::Absent,
            };
            Ok(Rule {
                spec: column,
                source,
                mapping: rule.clone(),
            })
        })
        .collect()
}

/// One typed value.
enum Value {
    Null,
    Text(String),
    Integer(i64),
    Number(f64),
    Timestamp(NaiveDateTime),
    Date(NaiveDate),
    Boolean(bool),
}

/// Converts one row by `rules` and adds it to `writer`; `origin` is the row's generated
/// identifier.
#[allow(clippy::too_many_arguments)]
fn convert(
    rules: &[Rule<'_>],
    spec: &TableSpec,
    cells: &[Option<Cell>],
    writer: &mut Writer,
    report: &mut MappedReport,
    keys: &mut HashMap<String, String>,
    place: &str,
    origin: &str,
) -> Result<(), String> {
    let mut values = Vec::with_capacity(rules.len());
    for rule in rules {
        let (cell, named) = match &rule.source {
            Source::Columns(indices, name) => (
                joined(indices, cells),
                format!("column {} (from `{}`)", rule.spec.name, printable(name)),
            ),
            Source::Generated => (
                Some(Cell::Text(origin.to_owned())),
                format!("column {} (generated)", rule.spec.name),
            ),
            Source::Constant(text) => (
                Some(Cell::Text(text.clone())),
                format!("column {} (constant)", rule.spec.name),
            ),
            Source::Absent => (None, format!("column {}", rule.spec.name)),
        };
        let value = value_of(rule, cell, report).map_err(|m| format!("{named}: {m}"))?;
        if matches!(value, Value::Null) && rule.spec.required {
            return Err(format!("{named}: empty, but the column is required"));
        }
        values.push(value);
    }
    if !spec.key.is_empty() {
        let key: Vec<String> = spec
            .key
            .iter()
            .map(|k| {
                let i = spec.columns.iter().position(|c| c.name == *k).unwrap_or(0);
                match &values[i] {
                    Value::Text(t) => t.clone(),
                    _ => String::new(),
                }
            })
            .collect();
        let key = key.join("\u{1f}");
        if let Some(first) = keys.insert(key.clone(), place.to_owned()) {
            return Err(format!(
                "{} `{}` is given twice (first on {first}); it must be unique",
                spec.key.join(", "),
                printable(&key.replace('\u{1f}', ", "))
            ));
        }
    }
    report.rows += 1;
    writer.push(&values).map_err(|e| e.to_string())
}

/// The cell of one source column, or of several joined with a space: empty when any of them
/// is empty (an incident date with no time has no incident time). Workbook dates and times in
/// two typed cells make one date and time.
fn joined(indices: &[usize], cells: &[Option<Cell>]) -> Option<Cell> {
    let parts: Vec<Cell> = indices
        .iter()
        .map(|i| cells.get(*i).cloned().flatten())
        .collect::<Option<Vec<Cell>>>()?;
    match parts.as_slice() {
        [one] => Some(one.clone()),
        [Cell::DateTime(date), Cell::DateTime(time)] => {
            Some(Cell::DateTime(date.date().and_time(time.time())))
        }
        _ => {
            let texts: Vec<String> = parts.iter().map(Cell::text).collect();
            if texts.iter().any(String::is_empty) {
                return None;
            }
            Some(Cell::Text(texts.join(" ")))
        }
    }
}

fn value_of(
    rule: &Rule<'_>,
    cell: Option<Cell>,
    report: &mut MappedReport,
) -> Result<Value, String> {
    let mapping = &rule.mapping;
    // Excel dates and times come typed.
    if let Some(Cell::DateTime(at)) = &cell {
        return match rule.spec.kind {
            Kind::Timestamp => Ok(Value::Timestamp(*at)),
            Kind::Date => Ok(Value::Date(at.date())),
            _ => Ok(Value::Text(at.format("%Y-%m-%d %H:%M:%S").to_string())),
        };
    }
    let raw = cell.map(|c| c.text()).unwrap_or_default();
    let recoded = mapping
        .values
        .get(&raw)
        .or_else(|| {
            mapping
                .values
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&raw))
                .map(|(_, v)| v)
        })
        .cloned()
        .unwrap_or_else(|| raw.clone());
    if recoded.is_empty() {
        return Ok(Value::Null);
    }
    let unmapped = |report: &mut MappedReport, allowed: &str| -> Result<Value, String> {
        match mapping.unmapped {
            Unmapped::Unknown => {
                *report
                    .unmapped
                    .entry(rule.spec.name.to_owned())
                    .or_default()
                    .entry(printable(&raw).into_owned())
                    .or_default() += 1;
                Ok(Value::Text("unknown".to_owned()))
            }
            Unmapped::Error => Err(format!(
                "`{}` is not {allowed}; recode it in [columns.{}] values, or set unmapped = \"unknown\"",
                printable(&raw),
                rule.spec.name
            )),
        }
    };
    match rule.spec.kind {
        Kind::String => match rule.spec.allowed {
            Some(allowed) if !allowed.contains(&recoded.as_str()) => {
                unmapped(report, &format!("one of {}", allowed.join(", ")))
            }
            _ => Ok(Value::Text(recoded)),
        },
        Kind::Boolean => match recoded.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Ok(Value::Boolean(true)),
            "false" | "no" | "n" | "0" => Ok(Value::Boolean(false)),
            _ => Err(format!(
                "`{}` is not true or false (recode it in [columns.{}] values)",
                printable(&raw),
                rule.spec.name
            )),
        },
        Kind::Integer => {
            let text = recoded.replace(',', "");
            text.parse::<i64>()
                .ok()
                .or_else(|| {
                    text.parse::<f64>()
                        .ok()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                        .map(|f| f as i64)
                })
                .filter(|i| i32::try_from(*i).is_ok())
                .map(Value::Integer)
                .ok_or_else(|| {
                    format!(
                        "`{}` is not a whole number (of at most 9 digits)",
                        printable(&raw)
                    )
                })
        }
        Kind::Number => recoded
            .replace(',', "")
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::Number)
            .ok_or_else(|| format!("`{}` is not a number", printable(&raw))),
        Kind::Timestamp => {
            let formats: Vec<&str> = match &mapping.format {
                Some(f) => vec![f.as_str()],
                None => vec!["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
            };
            formats
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(&recoded, f).ok())
                .map(Value::Timestamp)
                .ok_or_else(|| {
                    format!(
                        "`{}` is not a date and time in the format {}",
                        printable(&raw),
                        printable(&formats.join(" or "))
                    )
                })
        }
        Kind::Date => {
            let formats: Vec<&str> = match &mapping.format {
                Some(f) => vec![f.as_str()],
                None => vec!["%Y-%m-%d"],
            };
            formats
                .iter()
                .find_map(|f| {
                    NaiveDate::parse_from_str(&recoded, f).ok().or_else(|| {
                        NaiveDateTime::parse_from_str(&recoded, f)
                            .ok()
                            .map(|d| d.date())
                    })
                })
                .map(Value::Date)
                .ok_or_else(|| {
                    format!(
                        "`{}` is not a date in the format {}",
                        printable(&raw),
                        printable(&formats.join(" or "))
                    )
                })
        }
    }
}

fn file_error(file: &Path, message: String) -> ImportError {
    ImportError::File {
        file: file.to_path_buf(),
        message: printable(&message).into_owned(),
    }
}

/// Rows on their way to the table's Parquet file, in the contract's written types.
struct Writer {
    file: ParquetFile,
    spec: &'static TableSpec,
    columns: Vec<Builder>,
    rows: usize,
}

enum Builder {
    Text(StringBuilder),
    Integer(Int32Builder),
    Number(Float64Builder),
    Timestamp(TimestampSecondBuilder),
    Date(Date32Builder),
    Boolean(BooleanBuilder),
}

impl Writer {
    fn new(spec: &'static TableSpec, out: &Path) -> Result<Writer, ImportError> {
        Ok(Writer {
            file: ParquetFile::create(out, spec.arrow_schema())?,
            spec,
            columns: spec.columns.iter().map(|c| Builder::of(c.kind)).collect(),
            rows: 0,
        })
    }

    fn push(&mut self, values: &[Value]) -> Result<(), ImportError> {
        for (builder, value) in self.columns.iter_mut().zip(values) {
            builder.push(value)?;
        }
        self.rows += 1;
        if self.rows >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ImportError> {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(Builder::finish).collect();
        let batch = RecordBatch::try_new(self.spec.arrow_schema(), arrays)?;
        self.file.write(&batch)?;
        self.rows = 0;
        Ok(())
    }

    fn finish(mut self) -> Result<(), ImportError> {
        if self.rows > 0 {
            self.flush()?;
        }
        self.file.finish()?;
        Ok(())
    }
}

impl Builder {
    fn of(kind: Kind) -> Builder {
        match kind {
            Kind::String => Builder::Text(StringBuilder::new()),
            Kind::Integer => Builder::Integer(Int32Builder::new()),
            Kind::Number => Builder::Number(Float64Builder::new()),
            Kind::Timestamp => Builder::Timestamp(TimestampSecondBuilder::new()),
            Kind::Date => Builder::Date(Date32Builder::new()),
            Kind::Boolean => Builder::Boolean(BooleanBuilder::new()),
        }
    }

    fn push(&mut self, value: &Value) -> Result<(), ImportError> {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
        match (self, value) {
            (Builder::Text(b), Value::Text(t)) => b.append_value(t),
            (Builder::Text(b), Value::Null) => b.append_null(),
            // value_of has checked that it fits.
            (Builder::Integer(b), Value::Integer(i)) => {
                b.append_value(i32::try_from(*i).unwrap_or(i32::MAX))
            }
            (Builder::Integer(b), Value::Null) => b.append_null(),
            (Builder::Number(b), Value::Number(n)) => b.append_value(*n),
            (Builder::Number(b), Value::Null) => b.append_null(),
            (Builder::Timestamp(b), Value::Timestamp(t)) => b.append_value(t.and_utc().timestamp()),
            (Builder::Timestamp(b), Value::Null) => b.append_null(),
            (Builder::Date(b), Value::Date(d)) => {
                b.append_value(i32::try_from((*d - epoch).num_days()).unwrap_or(i32::MAX))
            }
            (Builder::Date(b), Value::Null) => b.append_null(),
            (Builder::Boolean(b), Value::Boolean(v)) => b.append_value(*v),
            (Builder::Boolean(b), Value::Null) => b.append_null(),
            _ => {
                return Err(ImportError::Batch(arrow::error::ArrowError::ComputeError(
                    "a value of another kind than its column (a bug)".to_owned(),
                )));
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Integer(b) => Arc::new(b.finish()),
            Builder::Number(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Boolean(b) => Arc::new(b.finish()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_mapping_is_a_mapping() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/mappings");
        let mut tables = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let (_, spec) =
                read_mapping(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            tables.push(spec.name);
        }
        tables.sort_unstable();
        assert_eq!(tables, ["ae_attendances", "istv", "offences", "persons"]);
    }

    #[test]
    fn joined_columns_are_empty_when_a_part_is() {
        let text = |t: &str| Some(Cell::Text(t.to_owned()));
        let cells = [text("03/12/2026"), text("21:05"), None];
        match joined(&[0, 1], &cells) {
            Some(Cell::Text(t)) => assert_eq!(t, "03/12/2026 21:05"),
            other => panic!("{other:?}"),
        }
        assert!(joined(&[0, 2], &cells).is_none());
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        let typed = [
            Some(Cell::DateTime(at("2026-12-03 00:00"))),
            Some(Cell::DateTime(at("1899-12-31 21:05"))),
        ];
        match joined(&[0, 1], &typed) {
            Some(Cell::DateTime(d)) => assert_eq!(d, at("2026-12-03 21:05")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lines_are_counted_alike_with_crlf_and_lf() {
        let dir = tempfile::tempdir().unwrap();
        let (mapping, spec) = parse_mapping(
            Path::new("m.toml"),
            "table = \"istv\"\n[columns.arrived_at]\nfrom = \"At\"\n\
             [columns.means]\nvalue = \"unknown\"\n[columns.sex]\nvalue = \"U\"\n\
             [columns.incident_location]\nfrom = \"Where\"\n",
        )
        .unwrap();
        for (name, text) in [
            (
                "lf.csv",
                "At,Where\n2026-12-03 21:05,\"Pub, High St\"\n2026-12-03 22:00,x\n",
            ),
            (
                "crlf.csv",
                "\u{feff}At,Where\r\n2026-12-03 21:05,\"Pub, High St\"\r\n2026-12-03 22:00,x\r\n",
            ),
        ] {
            let file = dir.path().join(name);
            std::fs::write(&file, text).unwrap();
            let out = dir.path().join(format!("{name}.parquet"));
            write_table(
                "m.toml",
                &mapping,
                spec,
                std::slice::from_ref(&file),
                &out,
                &|_| {},
            )
            .unwrap();
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                std::fs::File::open(&out).unwrap(),
            )
            .unwrap()
            .build()
            .unwrap();
            let batch = reader.map(|b| b.unwrap()).next().unwrap();
            let column = |c: &str| {
                use arrow::array::{Array, AsArray};
                let a = batch.column_by_name(c).unwrap().as_string::<i32>();
                (0..a.len())
                    .map(|i| a.value(i).to_owned())
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                column("attendance_id"),
                [format!("{name}:2"), format!("{name}:3")]
            );
            assert_eq!(column("incident_location"), ["Pub, High St", "x"]);
        }
    }

    #[test]
    fn generated_identifiers_tell_files_of_the_same_name_apart() {
        let files = [
            PathBuf::from("a/istv.csv"),
            PathBuf::from("b/istv.csv"),
            PathBuf::from("c/other.csv"),
        ];
        assert_eq!(origin_label(&files, 0), "1-istv.csv");
        assert_eq!(origin_label(&files, 1), "2-istv.csv");
        assert_eq!(origin_label(&files, 2), "other.csv");
    }
}
