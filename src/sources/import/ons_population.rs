//! ONS small-area population estimates by single year of age, as ONS publishes them, into the
//! contract's `population.parquet` (year, lsoa_code, sex, age, population).
//!
//! The layout is ONS's "LSOA population estimates by single year of age and sex": a workbook
//! (`.xlsx`, `.xls`, `.ods`, read with `calamine`) with one sheet per mid-year (`Mid-2022 LSOA
//! 2021`), or the same table as CSV. Title and notes rows may stand above the header; the header
//! is the first row naming an LSOA code column and the columns `F0` … `F90` and `M0` … `M90`
//! (`F90+` is accepted for the open-ended band), with `Total` when present. Only the LSOAs of the
//! area's lookup are kept; totals that are not the sum of their single years are reported.
//!
//! A workbook's sheet is read whole by `calamine` (one sheet of England and Wales is about 35,000
//! rows of 190 numbers, some tens of megabytes), then written out year by year.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Builder, RecordBatch, StringBuilder};
use serde::Serialize;

use crate::output::ParquetFile;
use crate::sources::contract::POPULATION;
use crate::sources::import::ImportError;
use crate::text::printable;

/// Rows above the header that are searched for it.
const HEADER_SEARCH_ROWS: usize = 30;

/// The oldest single year: 90 means 90 and over.
const OLDEST: usize = 90;

/// What was read from one sheet (or CSV file).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SheetReport {
    /// The sheet's name (the file name for CSV).
    pub sheet: String,
    /// The mid-year.
    pub year: i32,
    /// LSOA rows read.
    pub lsoas_read: u64,
    /// LSOAs kept: those of the area's lookup.
    pub lsoas_in_area: u64,
    /// Residents of the kept LSOAs.
    pub residents: u64,
    /// Rows whose Total is not the sum of their single years.
    pub total_mismatches: u64,
    /// Up to five of them, `LSOA: total T, sum S`.
    pub mismatch_examples: Vec<String>,
}

/// What an ONS population import read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PopulationReport {
    /// The file read.
    pub file: String,
    /// One entry per sheet (mid-year) read.
    pub sheets: Vec<SheetReport>,
    /// The area's LSOAs that no sheet holds.
    pub area_lsoas_missing: u64,
}

/// One cell as read from a workbook or CSV.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Empty,
    Text(String),
    Number(f64),
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(t) => t.trim().to_owned(),
            Cell::Number(n) => n.to_string(),
        }
    }
}

/// One sheet as read: its name, mid-year and rows of cells.
struct Sheet {
    name: String,
    year: i32,
    rows: Vec<Vec<Cell>>,
    /// Each row's line in a CSV file (blank lines are skipped); none for a workbook.
    lines: Option<Vec<u64>>,
    /// A workbook sheet's first used row (0-based), as the rows start there.
    first_row: usize,
}

/// The sheets to read, each read only when its turn comes (a sheet of England and Wales is
/// tens of megabytes in memory; a workbook holds one per year).
enum Sheets {
    Csv(Option<Sheet>),
    Workbook {
        file: PathBuf,
        workbook: Box<calamine::Sheets<std::io::BufReader<std::fs::File>>>,
        chosen: std::vec::IntoIter<(String, i32)>,
    },
}

impl Sheets {
    fn next(&mut self) -> Result<Option<Sheet>, ImportError> {
        match self {
            Sheets::Csv(sheet) => Ok(sheet.take()),
            Sheets::Workbook {
                file,
                workbook,
                chosen,
            } => {
                use calamine::Reader;
                let Some((name, year)) = chosen.next() else {
                    return Ok(None);
                };
                let range = workbook
                    .worksheet_range(&name)
                    .map_err(|e| error(file, &name, None, format!("cannot be read: {e}")))?;
                let first_row = range.start().map_or(0, |(row, _)| row as usize);
                let rows = range
                    .rows()
                    .map(|row| row.iter().map(cell_of).collect())
                    .collect();
                Ok(Some(Sheet {
                    name,
                    year,
                    rows,
                    lines: None,
                    first_row,
                }))
            }
        }
    }
}

/// Where the columns are in a sheet.
#[derive(Debug)]
struct Header {
    row: usize,
    lsoa: usize,
    total: Option<usize>,
    /// Column of each age 0..=90, females then males.
    females: Vec<usize>,
    males: Vec<usize>,
}

/// Reads ONS estimates from `file` and writes `population.parquet` at `out`, keeping the LSOAs
/// of `area`. `year` picks the mid-year (required for CSV, which carries no sheet name);
/// `sheet` picks one sheet by name.
pub fn write_population(
    file: &Path,
    year: Option<i32>,
    sheet: Option<&str>,
    area: &BTreeSet<String>,
    out: &Path,
) -> Result<PopulationReport, ImportError> {
    let mut sheets = read_sheets(file, year, sheet)?;
    let mut parquet = ParquetFile::create(out, POPULATION.arrow_schema())?;
    let mut report = PopulationReport {
        file: file.display().to_string(),
        ..PopulationReport::default()
    };
    let mut covered: BTreeSet<String> = BTreeSet::new();
    let mut years = BTreeSet::new();
    while let Some(Sheet {
        name,
        year,
        rows,
        lines,
        first_row,
    }) = sheets.next()?
    {
        // Errors name the CSV file's line, or the workbook's sheet and row.
        let error = |row: Option<usize>, message: String| match (&lines, row) {
            (Some(lines), Some(row)) => ImportError::Row {
                file: file.to_path_buf(),
                line: lines.get(row).copied().unwrap_or(0),
                message,
            },
            (Some(_), None) => ImportError::File {
                file: file.to_path_buf(),
                message,
            },
            (None, row) => error(file, &name, row.map(|r| first_row + r + 1), message),
        };
        if !years.insert(year) {
            return Err(error(
                None,
                format!("a second sheet for mid-{year}: give --sheet to choose one"),
            ));
        }
        let header = find_header(&rows).ok_or_else(|| {
            error(
                None,
                format!(
                    "no header row in its first {HEADER_SEARCH_ROWS} rows naming an LSOA code column and F0 … F90, M0 … M90 (ONS's single-year-of-age layout)"
                ),
            )
        })?;
        let mut sheet_report = SheetReport {
            sheet: name.clone(),
            year,
            ..SheetReport::default()
        };
        let mut batch = Batch::default();
        // Each LSOA's row, so that one given twice is an error, not two sets of residents.
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (index, row) in rows.iter().enumerate().skip(header.row + 1) {
            if row.iter().all(|c| *c == Cell::Empty) {
                continue;
            }
            let lsoa = row.get(header.lsoa).map(Cell::text).unwrap_or_default();
            if lsoa.is_empty() {
                return Err(error(Some(index), "the LSOA code is empty".to_owned()));
            }
            if let Some(first) = seen.insert(lsoa.clone(), index) {
                let first = match &lines {
                    Some(lines) => format!("line {}", lines.get(first).copied().unwrap_or(0)),
                    None => format!("row {}", first_row + first + 1),
                };
                return Err(error(
                    Some(index),
                    format!(
                        "LSOA {} is given twice (first on {first}): its residents would count twice",
                        printable(&lsoa)
                    ),
                ));
            }
            sheet_report.lsoas_read += 1;
            let value = |column: usize| -> Result<u32, ImportError> {
                let cell = row.get(column).cloned().unwrap_or(Cell::Empty);
                count(&cell).ok_or_else(|| {
                    error(
                        Some(index),
                        format!(
                            "column {}: `{}` is not a count of residents",
                            header_name(&rows[header.row], column),
                            printable(&cell.text())
                        ),
                    )
                })
            };
            let mut sum = 0u64;
            let mut values = Vec::with_capacity(2 * (OLDEST + 1));
            for (sex, columns) in [("F", &header.females), ("M", &header.males)] {
                for (age, &column) in columns.iter().enumerate() {
                    let n = value(column)?;
                    sum += u64::from(n);
                    values.push((sex, age, n));
                }
            }
            if let Some(total) = header.total {
                let total = u64::from(value(total)?);
                if total != sum {
                    sheet_report.total_mismatches += 1;
                    if sheet_report.mismatch_examples.len() < 5 {
                        sheet_report
                            .mismatch_examples
                            .push(format!("{}: total {total}, sum {sum}", printable(&lsoa)));
                    }
                }
            }
            if !area.contains(&lsoa) {
                continue;
            }
            sheet_report.lsoas_in_area += 1;
            sheet_report.residents += sum;
            covered.insert(lsoa.clone());
            for (sex, age, n) in values {
                batch.push(year, &lsoa, sex, age, n);
            }
            if batch.rows >= 65_536 {
                parquet.write(&batch.finish()?)?;
            }
        }
        if batch.rows > 0 {
            parquet.write(&batch.finish()?)?;
        }
        if sheet_report.lsoas_in_area == 0 {
            return Err(error(
                None,
                format!(
                    "none of its {} LSOAs is in the area's lookup: estimates for another area, or a lookup for another area (--lookup)?",
                    sheet_report.lsoas_read
                ),
            ));
        }
        report.sheets.push(sheet_report);
    }
    report.area_lsoas_missing = area.iter().filter(|l| !covered.contains(*l)).count() as u64;
    parquet.finish()?;
    Ok(report)
}

/// The sheets to read, each with its mid-year and rows.
fn read_sheets(file: &Path, year: Option<i32>, sheet: Option<&str>) -> Result<Sheets, ImportError> {
    let extension = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if extension == "csv" {
        let year = year.ok_or_else(|| ImportError::File {
            file: file.to_path_buf(),
            message: "a CSV file carries no mid-year: give --year".to_owned(),
        })?;
        let (rows, lines) = read_csv(file)?;
        return Ok(Sheets::Csv(Some(Sheet {
            name,
            year,
            rows,
            lines: Some(lines),
            first_row: 0,
        })));
    }
    use calamine::Reader;
    let workbook = calamine::open_workbook_auto(file).map_err(|e| ImportError::File {
        file: file.to_path_buf(),
        message: format!(
            "not a workbook that can be read (.xlsx, .xls, .ods, or .csv with --year): {}",
            printable(&e.to_string())
        ),
    })?;
    let names = workbook.sheet_names();
    let chosen: Vec<(String, i32)> = match sheet {
        Some(wanted) => {
            let found = names.iter().find(|n| n.as_str() == wanted).ok_or_else(|| {
                error(
                    file,
                    wanted,
                    None,
                    format!("no such sheet; the workbook has {}", names.join(", ")),
                )
            })?;
            let year = year.or_else(|| mid_year(found)).ok_or_else(|| {
                error(
                    file,
                    wanted,
                    None,
                    "its name gives no mid-year: give --year".to_owned(),
                )
            })?;
            vec![(found.clone(), year)]
        }
        None => names
            .iter()
            .filter_map(|n| mid_year(n).map(|y| (n.clone(), y)))
            .filter(|(_, y)| year.is_none_or(|wanted| *y == wanted))
            .collect(),
    };
    if chosen.is_empty() {
        let wanted = year.map_or_else(|| "any mid-year".to_owned(), |y| format!("mid-{y}"));
        return Err(error(
            file,
            &name,
            None,
            format!(
                "no sheet named for {wanted} (like `Mid-2022 LSOA 2021`); the workbook has {}; give --sheet",
                names.join(", ")
            ),
        ));
    }
    Ok(Sheets::Workbook {
        file: file.to_path_buf(),
        workbook: Box::new(workbook),
        chosen: chosen.into_iter(),
    })
}

fn cell_of(data: &calamine::Data) -> Cell {
    use calamine::Data;
    match data {
        Data::Empty => Cell::Empty,
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::String(s) if s.trim().is_empty() => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        other => Cell::Text(other.to_string()),
    }
}

/// A CSV file's rows, and the line each starts on.
fn read_csv(file: &Path) -> Result<(Vec<Vec<Cell>>, Vec<u64>), ImportError> {
    // Records end at `\n` only, so that a CRLF file's lines are numbered as an LF file's
    // (the `\r` left on the last field is trimmed below).
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_path(file)
        .map_err(|e| ImportError::File {
            file: file.to_path_buf(),
            message: e.to_string(),
        })?;
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| ImportError::Row {
            file: file.to_path_buf(),
            line: i as u64 + 1,
            message: printable(&e.to_string()).into_owned(),
        })?;
        lines.push(record.position().map_or(i as u64 + 1, |p| p.line()));
        rows.push(
            record
                .iter()
                .map(|text| {
                    let text = text.trim_start_matches('\u{feff}').trim();
                    if text.is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(text.to_owned())
                    }
                })
                .collect(),
        );
    }
    Ok((rows, lines))
}

/// The year in a sheet name like `Mid-2022 LSOA 2021` or `Mid-2020 Persons`.
fn mid_year(name: &str) -> Option<i32> {
    let lower = name.to_ascii_lowercase();
    let start = lower.find("mid-")? + 4;
    lower.get(start..start + 4)?.parse().ok()
}

fn find_header(rows: &[Vec<Cell>]) -> Option<Header> {
    for (index, row) in rows.iter().enumerate().take(HEADER_SEARCH_ROWS) {
        let names: Vec<String> = row
            .iter()
            .map(|c| c.text().to_ascii_lowercase().replace([' ', '_'], ""))
            .collect();
        let Some(lsoa) = names
            .iter()
            .position(|n| n.contains("lsoa") && (n.contains("code") || n.ends_with("cd")))
        else {
            continue;
        };
        let column = |sex: char, age: usize| {
            names.iter().position(|n| {
                *n == format!("{sex}{age}") || (age == OLDEST && *n == format!("{sex}{age}+"))
            })
        };
        let females: Option<Vec<usize>> = (0..=OLDEST).map(|a| column('f', a)).collect();
        let males: Option<Vec<usize>> = (0..=OLDEST).map(|a| column('m', a)).collect();
        if let (Some(females), Some(males)) = (females, males) {
            return Some(Header {
                row: index,
                lsoa,
                total: names.iter().position(|n| n == "total" || n == "allages"),
                females,
                males,
            });
        }
    }
    None
}

fn header_name(header: &[Cell], column: usize) -> String {
    header.get(column).map(Cell::text).unwrap_or_default()
}

/// A cell as a count of residents: a whole number from 0, written as a number or as text
/// (with thousands separators, as spreadsheets export them).
fn count(cell: &Cell) -> Option<u32> {
    let value = match cell {
        Cell::Number(n) => *n,
        Cell::Text(t) => t.trim().replace(',', "").parse::<f64>().ok()?,
        Cell::Empty => return None,
    };
    (value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= f64::from(u32::MAX))
        .then_some(value as u32)
}

/// An error in a workbook's sheet, or in its `row` (counted from 1 as spreadsheets do).
fn error(file: &Path, sheet: &str, row: Option<usize>, message: String) -> ImportError {
    let sheet = printable(sheet);
    ImportError::Sheet {
        file: file.to_path_buf(),
        place: match row {
            Some(row) => format!("sheet {sheet}, row {row}"),
            None => format!("sheet {sheet}"),
        },
        message,
    }
}

/// Rows on their way to `population.parquet`.
#[derive(Default)]
struct Batch {
    year: Int32Builder,
    lsoa: StringBuilder,
    sex: StringBuilder,
    age: Int32Builder,
    population: Int32Builder,
    rows: usize,
}

impl Batch {
    fn push(&mut self, year: i32, lsoa: &str, sex: &str, age: usize, n: u32) {
        self.year.append_value(year);
        self.lsoa.append_value(lsoa);
        self.sex.append_value(sex);
        self.age.append_value(age as i32);
        self.population
            .append_value(i32::try_from(n).unwrap_or(i32::MAX));
        self.rows += 1;
    }

    fn finish(&mut self) -> Result<RecordBatch, ImportError> {
        self.rows = 0;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.year.finish()),
            Arc::new(self.lsoa.finish()),
            Arc::new(self.sex.finish()),
            Arc::new(self.age.finish()),
            Arc::new(self.population.finish()),
        ];
        Ok(RecordBatch::try_new(POPULATION.arrow_schema(), columns)?)
    }
}

/// The LSOA codes of a lookup CSV (`lsoa_code` column).
pub fn lookup_codes(name: &str, text: &str) -> Result<BTreeSet<String>, ImportError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let bad = |message: String| ImportError::Row {
        file: PathBuf::from(name),
        line: 1,
        message,
    };
    let headers = reader.headers().map_err(|e| bad(e.to_string()))?.clone();
    let column = headers
        .iter()
        .position(|h| h == "lsoa_code")
        .ok_or_else(|| bad("no lsoa_code column".to_owned()))?;
    let mut out = BTreeSet::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| ImportError::Row {
            file: PathBuf::from(name),
            line: i as u64 + 2,
            message: printable(&e.to_string()).into_owned(),
        })?;
        out.insert(record.get(column).unwrap_or_default().to_owned());
    }
    Ok(out)
}

/// Residents by mid-year, for the terminal: `2021: 1,119,000 residents in 634 LSOAs`.
pub fn summary(report: &PopulationReport) -> String {
    let years: BTreeMap<i32, (u64, u64)> = report
        .sheets
        .iter()
        .map(|s| (s.year, (s.residents, s.lsoas_in_area)))
        .collect();
    years
        .iter()
        .map(|(year, (residents, lsoas))| {
            format!(
                "mid-{year}: {} residents in {lsoas} LSOAs",
                crate::readable::thousands(*residents as f64)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_row() -> Vec<Cell> {
        let mut row: Vec<Cell> = [
            "LAD 2021 Code",
            "LAD 2021 Name",
            "LSOA 2021 Code",
            "LSOA 2021 Name",
            "Total",
        ]
        .iter()
        .map(|t| Cell::Text((*t).to_owned()))
        .collect();
        for sex in ["F", "M"] {
            for age in 0..=OLDEST {
                row.push(Cell::Text(format!("{sex}{age}")));
            }
        }
        row
    }

    #[test]
    fn the_header_is_found_below_title_rows() {
        let rows = vec![
            vec![Cell::Text("Mid-2022 population estimates".into())],
            vec![Cell::Empty],
            header_row(),
        ];
        let header = find_header(&rows).unwrap();
        assert_eq!(header.row, 2);
        assert_eq!(header.lsoa, 2);
        assert_eq!(header.total, Some(4));
        assert_eq!(header.females[0], 5);
        assert_eq!(header.males[90], 5 + 91 + 90);
        assert!(find_header(&rows[..2]).is_none());
        // ONS's short names: LSOA21CD.
        let mut short = header_row();
        short[2] = Cell::Text("LSOA21CD".into());
        assert_eq!(find_header(&[short]).unwrap().lsoa, 2);
    }

    #[test]
    fn counts_are_whole_numbers_from_zero() {
        assert_eq!(count(&Cell::Number(12.0)), Some(12));
        assert_eq!(count(&Cell::Text("1,234".into())), Some(1234));
        assert_eq!(count(&Cell::Number(-1.0)), None);
        assert_eq!(count(&Cell::Number(2.5)), None);
        assert_eq!(count(&Cell::Text("n/a".into())), None);
        assert_eq!(count(&Cell::Empty), None);
    }

    #[test]
    fn mid_years_come_from_sheet_names() {
        assert_eq!(mid_year("Mid-2022 LSOA 2021"), Some(2022));
        assert_eq!(mid_year("mid-2019 persons"), Some(2019));
        assert_eq!(mid_year("Contents"), None);
    }
}
