//! A table of measures in a shareable bundle (`disclosure_rows`: the headline).
//!
//! A measure is not a cell of a grid: its numerator and denominator are counts that other
//! tables publish as cells or totals (all serious-violence offences, the knife-enabled ones,
//! the offences of the peak hour or of one district), or counts no shared table publishes (the
//! distinct victims living in the area). So a measure is published only when every count it is
//! computed from is **already published** by the protected tables, as a cell or as a total the
//! audit assumes known: then it tells an intruder nothing the audit has not accounted for
//! (residents, the other denominator, are published census figures). Every other measure is
//! withheld. Each declared count is checked against the data: a declaration that does not
//! hold stops the run, since a measure wrongly said to repeat a published cell could leak.
//!
//! A count is written `EVENTS [AXIS=VALUE ...]`, terms joined by ` + ` or ` - `: `offences` is
//! the grand total of every grid of offences, `offences hour={value}` the offences of the hour
//! in the row's `value`, `offences - offences district=Unknown` the offences with a known
//! district. `{column}` is the row's value in that column (a whole number without `.0`).

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use serde::Serialize;

use crate::engine::metadata::MeasureRows;
use crate::partners::structure::{System, TOTAL};

/// Why a declared measure is withheld: the same words whichever count is not published, so
/// that the reason does not say which cell of a peak or top measure is hidden.
pub const WITHHELD_MEASURE: &str =
    "not every count it is computed from is published in the shared tables";

/// One published measure and the cells it repeats, for the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedMeasure {
    /// The table.
    pub table: String,
    /// The measure (the row's key).
    pub measure: String,
    /// Each declared count and the published cell it equals (`table.count [axis=value ...]`).
    pub cells: Vec<String>,
}

/// What became of a table of measures.
#[derive(Debug, Default)]
pub struct Decided {
    /// The rows kept, in order.
    pub keep: Vec<bool>,
    /// The published measures and their cells.
    pub published: Vec<PublishedMeasure>,
    /// The withheld measures, with why.
    pub withheld: Vec<(String, String)>,
}

/// One term of a declared count: its sign, its events and its axis values.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    sign: i64,
    events: String,
    axes: BTreeMap<String, String>,
}

/// `token` with its `{column}`s filled in from `row`; `Ok(None)` when the row has no value
/// there (the measure cannot be matched, so it is withheld).
fn fill(
    text: &str,
    token: &str,
    row: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, String> {
    let mut filled = String::new();
    let mut rest = token;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("`{text}`: an unclosed `{{`"))?;
        let column = &rest[open + 1..open + close];
        let Some(value) = row(column) else {
            return Ok(None);
        };
        filled.push_str(&rest[..open]);
        filled.push_str(&value);
        rest = &rest[open + close + 1..];
    }
    filled.push_str(rest);
    Ok(Some(filled))
}

/// Parses `EVENTS [AXIS=VALUE ...] [+|- EVENTS ...]`, filling in `{column}`s from `row` after
/// splitting (so a value may hold spaces, `+` or `-`: a district's name). `Ok(None)` when a
/// placeholder's column is empty on the row.
fn parse(text: &str, row: &dyn Fn(&str) -> Option<String>) -> Result<Option<Vec<Term>>, String> {
    let mut terms: Vec<Term> = Vec::new();
    let mut sign = 1;
    let mut expect_events = true;
    for token in text.split_whitespace() {
        match token {
            "+" | "-" if !expect_events => {
                sign = if token == "-" { -1 } else { 1 };
                expect_events = true;
            }
            _ if expect_events => {
                if token.contains('=') {
                    return Err(format!(
                        "`{text}`: a term starts with `{token}`, not its events"
                    ));
                }
                terms.push(Term {
                    sign,
                    events: token.to_owned(),
                    axes: BTreeMap::new(),
                });
                expect_events = false;
            }
            _ => {
                let (axis, value) = token
                    .split_once('=')
                    .ok_or_else(|| format!("`{text}`: `{token}` is not AXIS=VALUE, + or -"))?;
                if axis.contains('{') {
                    return Err(format!("`{text}`: an axis name may not be a placeholder"));
                }
                let Some(value) = fill(text, value, row)? else {
                    return Ok(None);
                };
                if let Some(term) = terms.last_mut() {
                    term.axes.insert(axis.to_owned(), value);
                }
            }
        }
    }
    if expect_events {
        return Err(format!("`{text}`: no count, or one ending in + or -"));
    }
    Ok(Some(terms))
}

/// The cells of `system` that count `term`: in a grid of its events having every one of its
/// axes, at its values there and the total (or the whole panel) on every other axis. Returns
/// (true value, published, description) of each.
fn cells_of(system: &System, term: &Term) -> Vec<(u64, bool, String)> {
    let mut out = Vec::new();
    for (g, grid) in system.grids.iter().enumerate() {
        if grid.count != term.events {
            continue;
        }
        let axes = grid.layout.axes();
        if term.axes.keys().any(|a| !axes.contains(&a.as_str())) {
            continue;
        }
        for (c, cell) in grid.cells.iter().enumerate() {
            let fits =
                axes.iter()
                    .zip(&cell.axes)
                    .all(|(axis, value)| match term.axes.get(*axis) {
                        Some(wanted) => value == wanted,
                        None => {
                            value == TOTAL
                                || grid
                                    .layout
                                    .whole
                                    .as_ref()
                                    .is_some_and(|w| w.column == *axis && w.value == *value)
                        }
                    });
            if fits {
                out.push((
                    cell.value.unwrap_or(0),
                    !cell.suppressed,
                    system.describe(system.id(g, c)),
                ));
            }
        }
    }
    out
}

/// A column's values as text (null as `None`); a whole float without its `.0`.
fn text_of(batch: &RecordBatch, name: &str) -> Option<Vec<Option<String>>> {
    let column = batch.column_by_name(name)?;
    if let Some(floats) = column.as_primitive_opt::<arrow::datatypes::Float64Type>() {
        return Some(
            (0..floats.len())
                .map(|i| {
                    (!floats.is_null(i)).then(|| {
                        let v = floats.value(i);
                        if v.fract() == 0.0 && v.abs() < 1e15 {
                            format!("{}", v as i64)
                        } else {
                            v.to_string()
                        }
                    })
                })
                .collect(),
        );
    }
    super::text_column(batch, name).ok()
}

/// A count column's values (null as `None`).
fn counts_of(batch: &RecordBatch, name: &str) -> Result<Vec<Option<i64>>, String> {
    let column = batch
        .column_by_name(name)
        .ok_or_else(|| format!("no column `{name}`, which disclosure_rows names"))?;
    let values = cast(column, &DataType::Int64).map_err(|e| format!("`{name}`: {e}"))?;
    let values = values.as_primitive::<Int64Type>();
    Ok((0..values.len())
        .map(|i| (!values.is_null(i)).then(|| values.value(i)))
        .collect())
}

/// Decides, row by row, which measures of `batch` (of `table`) are published: those declared
/// whose every count is a published cell or known total of the protected `system`, equal to
/// the row's value. `Err` names what does not hold.
pub fn decide(
    table: &str,
    rows: &MeasureRows,
    batch: &RecordBatch,
    system: &System,
) -> Result<Decided, String> {
    let keys = text_of(batch, &rows.key)
        .ok_or_else(|| format!("no column `{}`, which disclosure_rows names", rows.key))?;
    let values: BTreeMap<&str, Vec<Option<i64>>> = [
        (rows.numerator.as_str(), counts_of(batch, &rows.numerator)?),
        (
            rows.denominator.as_str(),
            counts_of(batch, &rows.denominator)?,
        ),
    ]
    .into_iter()
    .collect();
    let texts: BTreeMap<String, Vec<Option<String>>> = batch
        .schema()
        .fields()
        .iter()
        .filter_map(|f| text_of(batch, f.name()).map(|v| (f.name().clone(), v)))
        .collect();
    let mut decided = Decided::default();
    for (i, key) in keys.iter().enumerate() {
        let key = key.clone().unwrap_or_default();
        let Some(declared) = rows.measures.get(&key) else {
            decided.keep.push(false);
            decided.withheld.push((
                key,
                "its counts are not cells of the shared tables (not declared in disclosure_rows)"
                    .to_owned(),
            ));
            continue;
        };
        let mut cells = Vec::new();
        let mut hidden = None;
        for (column, text) in [
            (rows.numerator.as_str(), Some(&declared.numerator)),
            (rows.denominator.as_str(), declared.denominator.as_ref()),
        ] {
            let Some(text) = text else { continue };
            let row = |name: &str| texts.get(name).and_then(|v| v[i].clone());
            let Some(terms) =
                parse(text, &row).map_err(|p| format!("disclosure_rows, measure `{key}`: {p}"))?
            else {
                hidden.get_or_insert_with(|| WITHHELD_MEASURE.to_owned());
                continue;
            };
            let mut sum: i64 = 0;
            let mut complete = true;
            for term in &terms {
                let found = cells_of(system, term);
                let Some(first) = found.first() else {
                    complete = false;
                    hidden.get_or_insert_with(|| WITHHELD_MEASURE.to_owned());
                    continue;
                };
                if let Some(other) = found.iter().find(|f| f.0 != first.0) {
                    return Err(format!(
                        "disclosure_rows, measure `{key}`: `{text}` names cells of different values ({} is {}, {} is {})",
                        first.2, first.0, other.2, other.0
                    ));
                }
                sum += term.sign * first.0 as i64;
                match found.iter().find(|f| f.1) {
                    Some(published) => cells.push(published.2.clone()),
                    // Not which cell: for a peak hour or top district that would name it.
                    None if declared.largest && column == rows.numerator.as_str() => {
                        return Err(format!(
                            "measure `{key}` is the largest of its counts, and that count is suppressed: withholding the measure would tell an intruder that the largest count is a hidden one, which the audit does not allow for; share a longer period or a lower threshold"
                        ));
                    }
                    None => {
                        hidden.get_or_insert_with(|| WITHHELD_MEASURE.to_owned());
                    }
                }
            }
            let actual = values[column][i];
            if complete && actual != Some(sum) {
                return Err(format!(
                    "disclosure_rows, measure `{key}`: its {column} is {} but `{text}` is {sum} in the shared tables",
                    actual.map_or("empty".to_owned(), |v| v.to_string())
                ));
            }
        }
        match hidden {
            Some(reason) => {
                decided.keep.push(false);
                decided.withheld.push((key, reason));
            }
            None => {
                decided.keep.push(true);
                decided.published.push(PublishedMeasure {
                    table: table.to_owned(),
                    measure: key,
                    cells,
                });
            }
        }
    }
    Ok(decided)
}

/// The rows to keep as a filter.
pub fn filter(decided: &Decided) -> BooleanArray {
    decided.keep.iter().map(|k| Some(*k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parse_into_signed_terms_with_placeholders_filled() {
        let row = |c: &str| (c == "label").then(|| "Leicester".to_owned());
        let terms = parse("offences - offences district={label}", &row)
            .unwrap()
            .unwrap();
        assert_eq!(terms.len(), 2);
        assert_eq!((terms[0].sign, terms[0].events.as_str()), (1, "offences"));
        assert!(terms[0].axes.is_empty());
        assert_eq!(terms[1].sign, -1);
        assert_eq!(terms[1].axes["district"], "Leicester");
        // A value with spaces and a minus sign stays one value.
        let spaced = |c: &str| (c == "label").then(|| "Hinckley - and Bosworth".to_owned());
        let terms = parse("offences district={label}", &spaced)
            .unwrap()
            .unwrap();
        assert_eq!(terms.len(), 1);
        assert_eq!(terms[0].axes["district"], "Hinckley - and Bosworth");
        // An empty placeholder: no terms (the measure is withheld), not an error.
        assert_eq!(parse("offences hour={value}", &row).unwrap(), None);
        for bad in [
            "",
            "offences -",
            "hour=3",
            "offences hour",
            "offences {x}=1",
        ] {
            assert!(parse(bad, &row).is_err(), "{bad}");
        }
    }
}
