//! An allocation written out: CSV (full precision, money to the penny), JSON lines, or an
//! aligned table for reading (rates to one decimal, money in pounds), each with a totals row.

use std::fmt::Write as _;

use super::{Allocation, COMPONENTS};
use crate::readable::money;

/// The funding table's entry in the bundle's `tables/README.md`.
pub const TABLE_README: &str = "## funding

**Funding allocation by area** (`[funding]` in sna.toml; inputs from `queries/funding/areas.sql`)

The pot split by crime harm, crime rate and population over the last complete financial year
ending by the period's end; see README's Funding allocation. Money is rounded half-up to the
penny per component; the rounding adjustment makes the totals add up to the pot. The last row
is the total.

| column | meaning |
| --- | --- |
| `area` | the area (CSP or district), or `Total` |
| `population` | residents in the funding year's population year |
| `crimes` | every recorded offence in the funding year |
| `rate_per_1000` | crimes per 1,000 residents, unrounded (the Total row: the whole area's) |
| `harm` | Crime Harm Index days over the harm years |
| `harm_funding`, `rate_funding`, `population_funding` | each component's money, in pounds |
| `rounding_adjustment` | pounds added or taken so the totals add up to the pot (usually 0) |
| `total` | the area's allocation |
| `harm_plus10` … `population_minus10` | the total with that weight 10 points higher or lower, the others rescaled |
| `previous_year_data` | the total under the previous financial year's data, where the extract reaches back far enough |
| `harm_basis` | on open-data extracts only: harm is estimated from police.uk crime types (data/reference/police_uk_harm.csv; docs/funding.md) |

";

/// One value of the output.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Text(String),
    /// A count or measure, at full precision.
    Number(f64),
    /// A rate, at full precision (one decimal in the table).
    Rate(f64),
    /// Money in pence.
    Money(i64),
    /// A percentage, at full precision (one decimal in the table).
    Pct(f64),
    Empty,
}

/// What to write beside the allocation.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// Totals under shifted weights: `(label, pence by area in allocation order)`.
    pub sensitivity: Vec<(String, Vec<i64>)>,
    /// Totals under the previous year's data, by area name.
    pub previous_year: Option<Vec<(String, i64)>>,
    /// Where harm is estimated rather than measured offence by offence: the `harm_basis`
    /// column of CSV and JSON (every row), and a note under the table.
    pub harm_estimate: Option<HarmEstimate>,
}

/// How an estimated harm was estimated.
#[derive(Debug, Clone, PartialEq)]
pub struct HarmEstimate {
    /// Short, for the `harm_basis` column.
    pub basis: String,
    /// In full, for the note under the table.
    pub note: String,
}

impl HarmEstimate {
    /// Harm from police.uk crime types' weights (`data/reference/police_uk_harm.csv`).
    pub fn police_uk() -> HarmEstimate {
        HarmEstimate {
            basis: format!(
                "estimated from police.uk crime types ({})",
                super::police_uk::HARM_FILE
            ),
            note: super::police_uk::NOTE.to_owned(),
        }
    }
}

/// The columns and rows of the output, totals last.
fn grid(allocation: &Allocation, extras: &Extras) -> (Vec<String>, Vec<Vec<Cell>>) {
    let has_current = allocation.areas.iter().any(|a| a.input.current.is_some());
    let mut columns: Vec<String> = [
        "area",
        "population",
        "crimes",
        "rate_per_1000",
        "harm",
        "harm_funding",
        "rate_funding",
        "population_funding",
        "rounding_adjustment",
        "total",
    ]
    .map(str::to_owned)
    .to_vec();
    if has_current {
        columns.extend(["current", "change", "change_pct"].map(str::to_owned));
    }
    columns.extend(extras.sensitivity.iter().map(|(label, _)| label.clone()));
    if extras.previous_year.is_some() {
        columns.push("previous_year_data".to_owned());
    }
    if extras.harm_estimate.is_some() {
        columns.push("harm_basis".to_owned());
    }
    let mut rows = Vec::new();
    for (i, area) in allocation.areas.iter().enumerate() {
        let mut row = vec![
            Cell::Text(area.input.area.clone()),
            Cell::Number(area.input.population),
            Cell::Number(area.input.crimes),
            Cell::Rate(area.rate_per_1000),
            Cell::Number(area.input.harm),
        ];
        row.extend(area.component_pence.iter().map(|p| Cell::Money(*p)));
        row.push(Cell::Money(area.adjustment_pence));
        row.push(Cell::Money(area.total_pence));
        if has_current {
            row.push(area.current_pence().map_or(Cell::Empty, Cell::Money));
            row.push(area.change_pence().map_or(Cell::Empty, Cell::Money));
            row.push(area.change_pct().map_or(Cell::Empty, Cell::Pct));
        }
        row.extend(
            extras
                .sensitivity
                .iter()
                .map(|(_, totals)| Cell::Money(totals[i])),
        );
        if let Some(previous) = &extras.previous_year {
            row.push(
                previous
                    .iter()
                    .find(|(name, _)| *name == area.input.area)
                    .map_or(Cell::Empty, |(_, p)| Cell::Money(*p)),
            );
        }
        if let Some(estimate) = &extras.harm_estimate {
            row.push(Cell::Text(estimate.basis.clone()));
        }
        rows.push(row);
    }
    // Totals: sums of every count and money column; the area's rate is the overall rate.
    let mut total = vec![Cell::Text("Total".to_owned())];
    for column in 1..columns.len() {
        let name = columns[column].as_str();
        let cells = rows.iter().map(|r| &r[column]);
        total.push(match name {
            "harm_basis" => extras
                .harm_estimate
                .as_ref()
                .map_or(Cell::Empty, |e| Cell::Text(e.basis.clone())),
            "rate_per_1000" => {
                let population: f64 = allocation.areas.iter().map(|a| a.input.population).sum();
                let crimes: f64 = allocation.areas.iter().map(|a| a.input.crimes).sum();
                Cell::Rate(crimes / population * 1000.0)
            }
            "change_pct" => {
                let current: i64 = allocation
                    .areas
                    .iter()
                    .filter_map(|a| a.current_pence())
                    .sum();
                let change: i64 = allocation
                    .areas
                    .iter()
                    .filter_map(|a| a.change_pence())
                    .sum();
                if current > 0 {
                    Cell::Pct((change as f64 * 100.0) / current as f64)
                } else {
                    Cell::Empty
                }
            }
            _ => {
                let mut money = 0i64;
                let mut number = 0.0;
                let mut kind = Cell::Empty;
                for cell in cells {
                    match cell {
                        Cell::Money(p) => {
                            money += p;
                            kind = Cell::Money(0);
                        }
                        Cell::Number(n) => {
                            number += n;
                            kind = Cell::Number(0.0);
                        }
                        _ => {}
                    }
                }
                match kind {
                    Cell::Money(_) => Cell::Money(money),
                    Cell::Number(_) => Cell::Number(number),
                    _ => Cell::Empty,
                }
            }
        });
    }
    rows.push(total);
    (columns, rows)
}

/// The allocation as an Arrow table for the bundle (`tables/funding.csv` and `.parquet`):
/// money as `Decimal128(20, 2)`, exact to the penny; other numbers as `Float64`.
pub fn batch(
    allocation: &Allocation,
    extras: &Extras,
) -> Result<arrow::array::RecordBatch, arrow::error::ArrowError> {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Decimal128Array, Float64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    let (columns, rows) = grid(allocation, extras);
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (c, name) in columns.iter().enumerate() {
        let cells: Vec<&Cell> = rows.iter().map(|r| &r[c]).collect();
        let kind = cells.iter().find(|cell| !matches!(cell, Cell::Empty));
        match kind {
            Some(Cell::Text(_)) => {
                let values: Vec<Option<String>> = cells
                    .iter()
                    .map(|cell| match cell {
                        Cell::Text(t) => Some(t.clone()),
                        _ => None,
                    })
                    .collect();
                fields.push(Field::new(name, DataType::Utf8, true));
                arrays.push(Arc::new(StringArray::from(values)));
            }
            Some(Cell::Money(_)) => {
                let values: Vec<Option<i128>> = cells
                    .iter()
                    .map(|cell| match cell {
                        Cell::Money(p) => Some(i128::from(*p)),
                        _ => None,
                    })
                    .collect();
                fields.push(Field::new(name, DataType::Decimal128(20, 2), true));
                arrays.push(Arc::new(
                    Decimal128Array::from(values).with_precision_and_scale(20, 2)?,
                ));
            }
            _ => {
                let values: Vec<Option<f64>> = cells
                    .iter()
                    .map(|cell| match cell {
                        Cell::Number(n) | Cell::Rate(n) | Cell::Pct(n) => Some(*n),
                        _ => None,
                    })
                    .collect();
                fields.push(Field::new(name, DataType::Float64, true));
                arrays.push(Arc::new(Float64Array::from(values)));
            }
        }
    }
    arrow::array::RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
}

fn pounds_text(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let p = pence.unsigned_abs();
    format!("{sign}{}.{:02}", p / 100, p % 100)
}

/// CSV with a header: money in pounds to the penny, other numbers at full precision.
pub fn csv(allocation: &Allocation, extras: &Extras) -> String {
    let (columns, rows) = grid(allocation, extras);
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(&columns);
    for row in rows {
        let record: Vec<String> = row
            .iter()
            .map(|cell| match cell {
                Cell::Text(t) => t.clone(),
                Cell::Number(n) | Cell::Rate(n) | Cell::Pct(n) => n.to_string(),
                Cell::Money(p) => pounds_text(*p),
                Cell::Empty => String::new(),
            })
            .collect();
        let _ = writer.write_record(&record);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// JSON lines: one object per area, then the totals.
pub fn json(allocation: &Allocation, extras: &Extras) -> String {
    let (columns, rows) = grid(allocation, extras);
    let mut out = String::new();
    for row in rows {
        let mut object = serde_json::Map::new();
        for (column, cell) in columns.iter().zip(row) {
            let value = match cell {
                Cell::Text(t) => serde_json::Value::String(t),
                Cell::Number(n) | Cell::Rate(n) | Cell::Pct(n) => serde_json::json!(n),
                Cell::Money(p) => serde_json::json!(p as f64 / 100.0),
                Cell::Empty => serde_json::Value::Null,
            };
            object.insert(column.clone(), value);
        }
        let _ = writeln!(out, "{}", serde_json::Value::Object(object));
    }
    out
}

/// An aligned table for reading, then the weights and the reconciliation.
pub fn table(allocation: &Allocation, extras: &Extras) -> String {
    // The basis is a note under the table, not a column repeated on every row.
    let estimate = extras.harm_estimate.clone();
    let extras = Extras {
        harm_estimate: None,
        ..extras.clone()
    };
    let (columns, rows) = grid(allocation, &extras);
    let text: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|cell| match cell {
                    Cell::Text(t) => t.clone(),
                    Cell::Number(n) if n.fract() == 0.0 => crate::readable::count_text(*n),
                    Cell::Number(n) => format!("{n:.1}"),
                    Cell::Rate(n) | Cell::Pct(n) => format!("{n:.1}"),
                    Cell::Money(p) => money(*p),
                    Cell::Empty => "-".to_owned(),
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = (0..columns.len())
        .map(|c| {
            text.iter()
                .map(|r| r[c].chars().count())
                .chain([columns[c].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(c, t)| {
                if c == 0 {
                    format!("{t:<w$}", w = widths[c])
                } else {
                    format!("{t:>w$}", w = widths[c])
                }
            })
            .collect();
        let _ = writeln!(out, "{}", padded.join("  ").trim_end());
    };
    line(&columns, &mut out);
    for row in &text {
        line(row, &mut out);
    }
    let weights: Vec<String> = COMPONENTS
        .iter()
        .zip(allocation.weights.named())
        .map(|(c, (_, w))| format!("{c} {:.0}%", w * 100.0))
        .collect();
    let _ = writeln!(out, "\nWeights: {}.", weights.join(", "));
    if let Some(estimate) = estimate {
        let _ = writeln!(out, "Note: {}.", estimate.note);
    }
    let _ = writeln!(out, "{}", allocation.reconciliation());
    crate::text::printable(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::super::{AreaInput, Weights, allocate};
    use super::*;

    fn allocation() -> Allocation {
        let areas = [
            AreaInput {
                area: "North".to_owned(),
                population: 100_000.0,
                crimes: 5_000.0,
                harm: 30_000.0,
                current: Some(50_000.0),
            },
            AreaInput {
                area: "South".to_owned(),
                population: 50_000.0,
                crimes: 3_000.0,
                harm: 10_000.0,
                current: Some(30_000.0),
            },
            AreaInput {
                area: "West".to_owned(),
                population: 50_000.0,
                crimes: 1_000.0,
                harm: 10_000.0,
                current: Some(20_000.0),
            },
        ];
        allocate(100_000.0, Weights::default(), &areas).unwrap()
    }

    #[test]
    fn csv_has_full_precision_and_a_totals_row() {
        let text = csv(&allocation(), &Extras::default());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "area,population,crimes,rate_per_1000,harm,harm_funding,rate_funding,population_funding,rounding_adjustment,total,current,change,change_pct"
        );
        assert_eq!(
            lines[1],
            "North,100000,5000,50,30000,39000.00,7692.31,7500.00,0.00,54192.31,50000.00,4192.31,8.38462"
        );
        assert!(lines[2].starts_with("South,50000,3000,60,10000,13000.00,9230.77,3750.00,0.00,25980.77,30000.00,-4019.23,-13.3974"));
        assert!(lines[4].starts_with("Total,200000,9000,45,50000,65000.00,20000.00,15000.00,0.00,100000.00,100000.00,0.00,0"), "{}", lines[4]);
    }

    #[test]
    fn the_table_rounds_for_reading_and_reconciles() {
        let text = table(&allocation(), &Extras::default());
        assert!(text.contains("£54,192.31"), "{text}");
        assert!(text.contains("-13.4"), "{text}");
        assert!(text.contains("Weights: harm 65%, rate 20%, population 15%."));
        assert!(text.contains("no adjustment"));
        let json = json(&allocation(), &Extras::default());
        let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
        assert_eq!(first["total"], serde_json::json!(54192.31));
        assert_eq!(first["rate_per_1000"], serde_json::json!(50.0));
    }

    #[test]
    fn estimated_harm_is_a_note_in_the_table_and_a_column_in_csv_and_json() {
        let extras = Extras {
            harm_estimate: Some(HarmEstimate::police_uk()),
            ..Extras::default()
        };
        let table = table(&allocation(), &extras);
        assert!(
            table.contains("Note: harm is estimated from police.uk crime types"),
            "{table}"
        );
        assert!(!table.lines().next().unwrap().contains("harm_basis"));
        let text = csv(&allocation(), &extras);
        let basis = "estimated from police.uk crime types (data/reference/police_uk_harm.csv)";
        assert!(text.lines().next().unwrap().ends_with(",harm_basis"));
        assert!(text.lines().skip(1).all(|l| l.ends_with(basis)), "{text}");
        let json = json(&allocation(), &extras);
        for line in json.lines() {
            let object: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(object["harm_basis"], serde_json::json!(basis));
        }
        assert!(!csv(&allocation(), &Extras::default()).contains("harm_basis"));
    }
}
