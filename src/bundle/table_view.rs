//! Result tables formatted for reading in the HTML documents (the report and the dashboard):
//! numbers rounded the way the key findings round them, confidence limits beside their value,
//! nulls as a dash. The templates render a [`TableView`] with the `table` macro of
//! `templates/macros.html.j2`.

use serde::Serialize;

use crate::bundle::results::{Row, Table, TableError};
use crate::readable::{count_text, pct_text, rate_text, ratio_text};

/// How a column is shown; in metadata, its snake-case name (`rate_ci`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellFormat {
    /// Text, with underscores as spaces.
    Text,
    /// A count with thousands separators.
    Count,
    /// A rate per 1,000.
    Rate,
    /// A percentage.
    Pct,
    /// Two decimal places.
    Decimal,
    /// A ratio, as the key findings write one (one decimal place, two under 1).
    Ratio,
    /// A p-value: three decimal places, "<0.001" below that.
    P,
    /// Pounds and pence, e.g. `£1,234.56`.
    Money,
    /// A rate with its limits (`lower_95`–`upper_95` unless the column names others).
    RateCi,
    /// A percentage with its limits.
    PctCi,
    /// A ratio with its limits.
    RatioCi,
    /// `true`/`false` as yes/no.
    YesNo,
    /// A count with its sign (+12, −3).
    SignedCount,
    /// A rate with its sign.
    SignedRate,
    /// A percentage with its sign and a % sign.
    SignedPct,
}

/// One column of a formatted table.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnView {
    /// The result's column.
    pub column: String,
    /// Its heading.
    pub heading: String,
    /// How its cells are shown.
    pub format: CellFormat,
    /// The lower and upper limit columns of the `*_ci` formats.
    pub limits: [String; 2],
}

impl ColumnView {
    /// A column with the default limit columns `lower_95` and `upper_95`.
    pub fn new(column: &str, heading: &str, format: CellFormat) -> ColumnView {
        ColumnView {
            column: column.to_owned(),
            heading: heading.to_owned(),
            format,
            limits: ["lower_95".to_owned(), "upper_95".to_owned()],
        }
    }
}

/// A table formatted for reading.
#[derive(Debug, Clone, Serialize)]
pub struct TableView {
    /// Relative link to the table's CSV.
    pub csv: String,
    /// Column headings.
    pub columns: Vec<String>,
    /// Whether each column is numeric (right-aligned).
    pub numeric: Vec<bool>,
    /// The formatted cells.
    pub rows: Vec<Vec<String>>,
}

/// Formats the rows of `table` (saved as `tables/<name>.csv`) that `filter` keeps, at most
/// `limit` of them, as `columns` says.
pub fn view(
    table: &Table,
    name: &str,
    filter: &dyn Fn(&Row) -> Result<bool, TableError>,
    limit: usize,
    columns: &[ColumnView],
) -> Result<TableView, TableError> {
    let mut rows = Vec::new();
    for row in table.rows() {
        if rows.len() >= limit {
            break;
        }
        if !filter(&row)? {
            continue;
        }
        let mut cells = Vec::new();
        for c in columns {
            cells.push(cell(&row, c)?);
        }
        rows.push(cells);
    }
    Ok(TableView {
        csv: format!("tables/{name}.csv"),
        columns: columns.iter().map(|c| c.heading.clone()).collect(),
        numeric: columns
            .iter()
            .map(|c| !matches!(c.format, CellFormat::Text))
            .collect(),
        rows,
    })
}

fn cell(row: &Row, c: &ColumnView) -> Result<String, TableError> {
    let column = c.column.as_str();
    let [lower, upper] = &c.limits;
    let with_ci = |f: fn(f64) -> String, lower: &str, upper: &str| {
        let Some(v) = row.number(column)? else {
            return Ok("–".to_owned());
        };
        Ok(match (row.number(lower)?, row.number(upper)?) {
            (Some(lo), Some(hi)) => format!("{} ({}–{})", f(v), f(lo), f(hi)),
            _ => f(v),
        })
    };
    let number = |f: &dyn Fn(f64) -> String| -> Result<String, TableError> {
        Ok(row.number(column)?.map_or_else(|| "–".to_owned(), f))
    };
    let signed = |f: fn(f64) -> String, v: f64| {
        if v > 0.0 {
            format!("+{}", f(v))
        } else if v < 0.0 {
            format!("−{}", f(-v))
        } else {
            f(v)
        }
    };
    match c.format {
        CellFormat::Text => Ok(row.text(column)?.replace('_', " ")),
        CellFormat::Count => number(&count_text),
        CellFormat::Rate => number(&rate_text),
        CellFormat::Pct => number(&pct_text),
        CellFormat::Decimal => number(&|v| format!("{v:.2}")),
        CellFormat::Ratio => number(&ratio_text),
        CellFormat::P => number(&crate::bundle::findings::p_text),
        CellFormat::Money => number(&|v| crate::readable::money((v * 100.0).round() as i64)),
        CellFormat::RateCi => with_ci(rate_text, lower, upper),
        CellFormat::PctCi => with_ci(pct_text, lower, upper),
        CellFormat::RatioCi => with_ci(ratio_text, lower, upper),
        CellFormat::YesNo => Ok(match row.text(column)? {
            "true" => "yes".to_owned(),
            "false" => "no".to_owned(),
            _ => "–".to_owned(),
        }),
        CellFormat::SignedCount => number(&|v| signed(count_text, v)),
        CellFormat::SignedRate => number(&|v| signed(rate_text, v)),
        CellFormat::SignedPct => number(&|v| format!("{}%", signed(pct_text, v))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_rounded_for_reading() {
        let dir = std::env::temp_dir().join(format!("vrn-sna-table-view-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("t.csv"),
            "area_name,offences,change,change_pct,rate,lower_95,upper_95,now_lo,now_hi,hot\n\
             North_West,1234,-5,20.0956,6.2242,5.97,6.48,1,2,true\n\
             Unknown,36,0,,,,,,,false\n",
        )
        .unwrap();
        let table = Table::read(&dir, "t").unwrap();
        use CellFormat::*;
        let mut own_limits = ColumnView::new("rate", "Rate", RateCi);
        own_limits.limits = ["now_lo".to_owned(), "now_hi".to_owned()];
        let v = view(
            &table,
            "t",
            &|_| Ok(true),
            usize::MAX,
            &[
                ColumnView::new("area_name", "Area", Text),
                ColumnView::new("offences", "Offences", Count),
                ColumnView::new("change", "Change", SignedCount),
                ColumnView::new("change_pct", "Change", SignedPct),
                ColumnView::new("rate", "Rate", RateCi),
                own_limits,
                ColumnView::new("hot", "Hot", YesNo),
            ],
        )
        .unwrap();
        assert_eq!(
            v.rows[0],
            [
                "North West",
                "1,234",
                "−5",
                "+20.1%",
                "6.22 (5.97–6.48)",
                "6.22 (1.00–2.00)",
                "yes"
            ]
        );
        assert_eq!(v.rows[1], ["Unknown", "36", "0", "–", "–", "–", "no"]);
        assert_eq!(v.numeric, [false, true, true, true, true, true, true]);
        assert_eq!(v.csv, "tables/t.csv");
    }
}
