//! Result tables formatted for reading in the HTML documents (the report and the dashboard):
//! numbers rounded the way the key findings round them, confidence limits beside their value,
//! nulls as a dash. The templates render a [`TableView`] with the `table` macro of
//! `templates/macros.html.j2`.

use serde::Serialize;

use crate::charts::data::{Row, Table, TableError};
use crate::findings::{count_text, pct_text, rate_text, ratio_text};

/// How a column is shown.
#[derive(Debug, Clone, Copy)]
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
    /// Pounds and pence, e.g. `£1,234.56`.
    Money,
    /// A rate with its `lower_95`–`upper_95` limits.
    RateCi,
    /// A rate with its limits in the two named columns.
    RateCiOf(&'static str, &'static str),
    /// A percentage with its `lower_95`–`upper_95` limits.
    PctCi,
    /// A ratio with its `lower_95`–`upper_95` limits.
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

/// The columns of `lsoa_hotspots` (and `hotspots_top10`) as both documents show them.
pub const HOTSPOT_COLUMNS: [(&str, &str, CellFormat); 9] = [
    ("rank", "Rank", CellFormat::Text),
    ("lsoa_code", "LSOA", CellFormat::Text),
    ("lsoa_name", "LSOA name", CellFormat::Text),
    ("ward_name", "Ward", CellFormat::Text),
    ("district", "District", CellFormat::Text),
    ("offences", "Offences", CellFormat::Count),
    (
        "rate_per_1000",
        "Rate per 1,000 (95% CI)",
        CellFormat::RateCi,
    ),
    ("gi_star_z", "Gi* z", CellFormat::Decimal),
    ("hotspot", "Hot spot", CellFormat::YesNo),
];

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
/// `limit` of them, as the `(column, heading, format)` list says.
pub fn view(
    table: &Table,
    name: &str,
    filter: &dyn Fn(&Row) -> bool,
    limit: usize,
    columns: &[(&str, &str, CellFormat)],
) -> Result<TableView, TableError> {
    let mut rows = Vec::new();
    for row in table.rows().filter(|r| filter(r)).take(limit) {
        let mut cells = Vec::new();
        for (column, _, format) in columns {
            cells.push(cell(&row, column, *format)?);
        }
        rows.push(cells);
    }
    Ok(TableView {
        csv: format!("tables/{name}.csv"),
        columns: columns.iter().map(|c| c.1.to_owned()).collect(),
        numeric: columns
            .iter()
            .map(|c| !matches!(c.2, CellFormat::Text))
            .collect(),
        rows,
    })
}

fn cell(row: &Row, column: &str, format: CellFormat) -> Result<String, TableError> {
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
    match format {
        CellFormat::Text => Ok(row.text(column)?.replace('_', " ")),
        CellFormat::Count => number(&count_text),
        CellFormat::Rate => number(&rate_text),
        CellFormat::Pct => number(&pct_text),
        CellFormat::Decimal => number(&|v| format!("{v:.2}")),
        CellFormat::Money => number(&|v| crate::funding::money((v * 100.0).round() as i64)),
        CellFormat::RateCi => with_ci(rate_text, "lower_95", "upper_95"),
        CellFormat::RateCiOf(lower, upper) => with_ci(rate_text, lower, upper),
        CellFormat::PctCi => with_ci(pct_text, "lower_95", "upper_95"),
        CellFormat::RatioCi => with_ci(ratio_text, "lower_95", "upper_95"),
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
        let v = view(
            &table,
            "t",
            &|_| true,
            usize::MAX,
            &[
                ("area_name", "Area", Text),
                ("offences", "Offences", Count),
                ("change", "Change", SignedCount),
                ("change_pct", "Change", SignedPct),
                ("rate", "Rate", RateCi),
                ("rate", "Rate", RateCiOf("now_lo", "now_hi")),
                ("hot", "Hot", YesNo),
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
