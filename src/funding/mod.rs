//! Needs-based funding allocation: the formula police and crime commissioners use to split a
//! grant across community safety partnerships.
//!
//! The pot is split into components by weight, and each component is shared among the areas in
//! proportion to their values: area *i* receives `pot × Σₖ wₖ × xᵢₖ / Σⱼ xⱼₖ`, with the
//! components crime harm (`harm`, the Crime Harm Index summed over the harm years), crime rate
//! (`rate`, recorded crimes per 1,000 residents, unrounded) and population (`population`).
//!
//! Money is computed at full precision and rounded only when written: each component half-up
//! to the penny, the area's total the sum of its rounded components plus a rounding adjustment
//! (almost always 0) that makes the totals add up to the pot exactly. The adjustment is
//! assigned a penny at a time by the largest-remainder method: when the rounded totals fall
//! short of the pot, the areas whose exact totals lost most in rounding get a penny first; when
//! they exceed it, those that gained most give one back. Ties go to the area named first in
//! alphabetical order, so the result does not depend on input order.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub mod extract;
pub mod output;
pub mod police_uk;

/// The components a pot can be split by, in the order they are reported.
pub const COMPONENTS: [&str; 3] = ["harm", "rate", "population"];

/// Errors in the inputs or parameters of an allocation.
#[derive(Debug, thiserror::Error)]
pub enum FundingError {
    /// The weights are not of the form `name=number,...`, name an unknown component, are
    /// negative, or do not sum to 1.
    #[error("--weights: {0}")]
    Weights(String),
    /// The pot is not a positive amount.
    #[error("--pot must be a positive amount of money, got {0}")]
    Pot(String),
    /// The inputs file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong: the file is not a regular file, or not CSV.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A required column is missing from the inputs file.
    #[error(
        "{path}: no column `{column}` (found: {found}); the inputs need area, population, crimes and harm"
    )]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: &'static str,
        /// The columns found.
        found: String,
    },
    /// A value is missing, not a number or negative.
    #[error("{path}, line {line}, area {area}, column {column}: {problem}")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The line in the file.
        line: u64,
        /// The area of that line.
        area: String,
        /// The column.
        column: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// The same area appears twice.
    #[error("area {0} appears more than once")]
    DuplicateArea(String),
    /// No areas.
    #[error("there are no areas to allocate to")]
    NoAreas,
    /// An area has no residents, so its crime rate is undefined.
    #[error("area {0} has a population of 0, so its crime rate per 1,000 residents is undefined")]
    NoPopulation(String),
    /// A component is zero in every area, so it cannot be shared in proportion.
    #[error(
        "the {0} component is zero in every area, so it cannot be shared in proportion; give it weight 0 or check the inputs"
    )]
    ZeroComponent(&'static str),
}

/// The weight of each component; they sum to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    /// Crime harm.
    pub harm: f64,
    /// Crime rate per 1,000 residents.
    pub rate: f64,
    /// Population.
    pub population: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            harm: 0.65,
            rate: 0.20,
            population: 0.15,
        }
    }
}

impl Weights {
    /// Parses `harm=0.65,rate=0.20,population=0.15`; every component must be named once.
    pub fn parse(text: &str) -> Result<Weights, FundingError> {
        let mut found: BTreeMap<&str, f64> = BTreeMap::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| FundingError::Weights(format!("`{part}` is not name=number")))?;
            let name = name.trim();
            let component = COMPONENTS.iter().find(|c| **c == name).ok_or_else(|| {
                FundingError::Weights(format!(
                    "unknown component `{name}`; the components are {}",
                    COMPONENTS.join(", ")
                ))
            })?;
            let value: f64 = value.trim().parse().map_err(|_| {
                FundingError::Weights(format!("`{}` is not a number", value.trim()))
            })?;
            if found.insert(component, value).is_some() {
                return Err(FundingError::Weights(format!("`{name}` is given twice")));
            }
        }
        for component in COMPONENTS {
            if !found.contains_key(component) {
                return Err(FundingError::Weights(format!(
                    "no weight for `{component}`; give all of {}",
                    COMPONENTS.join(", ")
                )));
            }
        }
        Weights {
            harm: found["harm"],
            rate: found["rate"],
            population: found["population"],
        }
        .checked()
    }

    /// The weights if each is between 0 and 1 and they sum to 1 within 1e-9.
    pub fn checked(self) -> Result<Weights, FundingError> {
        for (name, w) in self.named() {
            if !(w.is_finite() && (0.0..=1.0).contains(&w)) {
                return Err(FundingError::Weights(format!(
                    "`{name}` is {w}; a weight is between 0 and 1"
                )));
            }
        }
        let sum: f64 = self.named().iter().map(|(_, w)| w).sum();
        if (sum - 1.0).abs() > 1e-9 {
            return Err(FundingError::Weights(format!(
                "the weights sum to {sum}, not 1"
            )));
        }
        Ok(self)
    }

    /// `(component, weight)` in report order.
    pub fn named(&self) -> [(&'static str, f64); 3] {
        [
            ("harm", self.harm),
            ("rate", self.rate),
            ("population", self.population),
        ]
    }

    fn get(&self, component: &str) -> f64 {
        match component {
            "harm" => self.harm,
            "rate" => self.rate,
            _ => self.population,
        }
    }

    /// `component`'s weight moved by `delta` (clamped to 0..1) and the others scaled so that
    /// they still sum to 1 with it: the sensitivity test of a panel.
    pub fn shifted(&self, component: &str, delta: f64) -> Weights {
        let moved = (self.get(component) + delta).clamp(0.0, 1.0);
        let others: f64 = COMPONENTS
            .iter()
            .filter(|c| **c != component)
            .map(|c| self.get(c))
            .sum();
        let scale = |c: &str| {
            if c == component {
                moved
            } else if others > 0.0 {
                self.get(c) * (1.0 - moved) / others
            } else {
                (1.0 - moved) / 2.0
            }
        };
        Weights {
            harm: scale("harm"),
            rate: scale("rate"),
            population: scale("population"),
        }
    }
}

/// One area's inputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaInput {
    /// Area name.
    pub area: String,
    /// Residents.
    pub population: f64,
    /// Recorded crimes in the period.
    pub crimes: f64,
    /// Crime Harm Index (days of imprisonment) over the harm years.
    pub harm: f64,
    /// The area's current allocation, when known.
    pub current: Option<f64>,
}

impl AreaInput {
    /// Recorded crimes per 1,000 residents, unrounded.
    pub fn rate_per_1000(&self) -> f64 {
        self.crimes / self.population * 1000.0
    }

    fn component(&self, component: &str) -> f64 {
        match component {
            "harm" => self.harm,
            "rate" => self.rate_per_1000(),
            _ => self.population,
        }
    }
}

/// Parses an amount of money or a count as spreadsheets export it: `£1,234,567.89`,
/// ` 1 234 `, `1234`. Returns `None` for anything else.
pub fn parse_amount(text: &str) -> Option<f64> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, '£' | ',' | ' ' | '\u{a0}'))
        .collect();
    if cleaned.is_empty() {
        return None;
    }
    cleaned.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Reads the areas from a CSV file with columns `area`, `population`, `crimes`, `harm` and
/// optionally `current`, in any order and any case; other columns are ignored.
pub fn read_inputs(path: &Path) -> Result<Vec<AreaInput>, FundingError> {
    let read_error = |e: Box<dyn std::error::Error + Send + Sync>| FundingError::Read {
        path: path.to_path_buf(),
        source: e,
    };
    crate::sources::contract::ensure_regular_file(path).map_err(|e| read_error(e.into()))?;
    // Records end at `\n` only (the `\r` of CRLF trimmed), so that lines in messages are
    // numbered alike whatever the line ends.
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_path(path)
        .map_err(|e| read_error(e.into()))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| read_error(e.into()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
        .collect();
    let column = |name: &'static str| -> Result<usize, FundingError> {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| FundingError::MissingColumn {
                path: path.to_path_buf(),
                column: name,
                found: crate::text::printable(&headers.join(", ")).into_owned(),
            })
    };
    let (area, population, crimes, harm) = (
        column("area")?,
        column("population")?,
        column("crimes")?,
        column("harm")?,
    );
    let current = headers.iter().position(|h| h == "current");
    let mut areas = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| read_error(e.into()))?;
        let line = record.position().map_or(0, csv::Position::line);
        let name = crate::text::printable(record.get(area).unwrap_or_default()).into_owned();
        if name.is_empty() && record.iter().all(str::is_empty) {
            continue;
        }
        let value = |index: usize, column: &'static str| -> Result<f64, FundingError> {
            let text = record.get(index).unwrap_or_default();
            let bad = |problem: String| FundingError::BadValue {
                path: path.to_path_buf(),
                line,
                area: name.clone(),
                column,
                problem,
            };
            let value = parse_amount(text).ok_or_else(|| {
                bad(if text.is_empty() {
                    "no value".to_owned()
                } else {
                    format!("\"{}\" is not a number", crate::text::printable(text))
                })
            })?;
            if value < 0.0 {
                return Err(bad(format!("{value} is negative")));
            }
            Ok(value)
        };
        if name.is_empty() {
            return Err(FundingError::BadValue {
                path: path.to_path_buf(),
                line,
                area: "(blank)".to_owned(),
                column: "area",
                problem: "no area name".to_owned(),
            });
        }
        let current = match current {
            Some(i) if !record.get(i).unwrap_or_default().is_empty() => Some(value(i, "current")?),
            _ => None,
        };
        areas.push(AreaInput {
            population: value(population, "population")?,
            crimes: value(crimes, "crimes")?,
            harm: value(harm, "harm")?,
            area: name,
            current,
        });
    }
    Ok(areas)
}

/// One area's allocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaAllocation {
    /// The inputs.
    #[serde(flatten)]
    pub input: AreaInput,
    /// Recorded crimes per 1,000 residents, unrounded.
    pub rate_per_1000: f64,
    /// Each component's money in pence (half-up), in [`COMPONENTS`] order.
    pub component_pence: [i64; 3],
    /// Pence added or taken so the totals add up to the pot (see the module documentation).
    pub adjustment_pence: i64,
    /// Total in pence: the components plus the adjustment.
    pub total_pence: i64,
    /// The exact (unrounded) total in pounds.
    pub exact_total: f64,
}

impl AreaAllocation {
    /// The current allocation in pence, when known.
    pub fn current_pence(&self) -> Option<i64> {
        self.input.current.map(pence)
    }

    /// `total − current` in pence, when the current allocation is known.
    pub fn change_pence(&self) -> Option<i64> {
        self.current_pence().map(|c| self.total_pence - c)
    }

    /// `(total − current) / current × 100`, when the current allocation is known and not 0;
    /// computed from whole pence, so it is exact to the last digit shown.
    pub fn change_pct(&self) -> Option<f64> {
        let current = self.current_pence().filter(|c| *c > 0)?;
        self.change_pence()
            .map(|c| (c as f64 * 100.0) / current as f64)
    }
}

/// An allocation of a pot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Allocation {
    /// The pot in pounds.
    pub pot: f64,
    /// The weights used.
    pub weights: Weights,
    /// Areas in alphabetical order.
    pub areas: Vec<AreaAllocation>,
    /// The sum of the areas' half-up rounded components, in pence, before adjustment.
    pub rounded_sum_pence: i64,
    /// The pot in pence.
    pub pot_pence: i64,
}

/// Pounds to pence, half-up (half away from zero; amounts here are not negative).
fn pence(pounds: f64) -> i64 {
    (pounds * 100.0).round() as i64
}

/// Splits `pot` among `areas` by `weights`.
pub fn allocate(
    pot: f64,
    weights: Weights,
    areas: &[AreaInput],
) -> Result<Allocation, FundingError> {
    if !(pot.is_finite() && pot > 0.0) {
        return Err(FundingError::Pot(pot.to_string()));
    }
    let weights = weights.checked()?;
    if areas.is_empty() {
        return Err(FundingError::NoAreas);
    }
    let mut sorted: Vec<&AreaInput> = areas.iter().collect();
    sorted.sort_by(|a, b| a.area.cmp(&b.area));
    for pair in sorted.windows(2) {
        if pair[0].area == pair[1].area {
            return Err(FundingError::DuplicateArea(pair[0].area.clone()));
        }
    }
    if let Some(area) = sorted.iter().find(|a| a.population <= 0.0) {
        return Err(FundingError::NoPopulation(area.area.clone()));
    }
    let mut totals = [0.0f64; 3];
    for (k, component) in COMPONENTS.iter().enumerate() {
        totals[k] = sorted.iter().map(|a| a.component(component)).sum();
        if totals[k] <= 0.0 && weights.get(component) > 0.0 {
            return Err(FundingError::ZeroComponent(component));
        }
    }
    let mut rows: Vec<AreaAllocation> = sorted
        .iter()
        .map(|area| {
            let exact: Vec<f64> = COMPONENTS
                .iter()
                .enumerate()
                .map(|(k, c)| {
                    if totals[k] > 0.0 {
                        pot * weights.get(c) * area.component(c) / totals[k]
                    } else {
                        0.0
                    }
                })
                .collect();
            let component_pence = [pence(exact[0]), pence(exact[1]), pence(exact[2])];
            AreaAllocation {
                input: (*area).clone(),
                rate_per_1000: area.rate_per_1000(),
                component_pence,
                adjustment_pence: 0,
                total_pence: component_pence.iter().sum(),
                exact_total: exact.iter().sum(),
            }
        })
        .collect();
    let rounded_sum_pence: i64 = rows.iter().map(|r| r.total_pence).sum();
    let pot_pence = pence(pot);
    let mut difference = pot_pence - rounded_sum_pence;
    // Largest remainder: who lost (or gained) most in rounding, first.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let remainder = |r: &AreaAllocation| r.exact_total * 100.0 - r.total_pence as f64;
    order.sort_by(|a, b| {
        let (ra, rb) = (remainder(&rows[*a]), remainder(&rows[*b]));
        let by_size = if difference >= 0 {
            rb.total_cmp(&ra)
        } else {
            ra.total_cmp(&rb)
        };
        by_size.then(a.cmp(b))
    });
    let mut next = order.iter().cycle();
    while difference != 0 {
        let i = *next.next().expect("at least one area");
        let step = difference.signum();
        rows[i].adjustment_pence += step;
        rows[i].total_pence += step;
        difference -= step;
    }
    Ok(Allocation {
        pot,
        weights,
        areas: rows,
        rounded_sum_pence,
        pot_pence,
    })
}

impl Allocation {
    /// The sentence reconciling the rounded totals with the pot.
    pub fn reconciliation(&self) -> String {
        let difference = self.pot_pence - self.rounded_sum_pence;
        let mut text = format!(
            "Pot {}; components rounded half-up to the penny sum to {}",
            money(self.pot_pence),
            money(self.rounded_sum_pence)
        );
        if difference == 0 {
            text.push_str(", so no adjustment was needed.");
        } else {
            let adjusted: Vec<String> = self
                .areas
                .iter()
                .filter(|a| a.adjustment_pence != 0)
                .map(|a| format!("{} {:+}p", a.input.area, a.adjustment_pence))
                .collect();
            let _ = write!(
                text,
                "; the difference of {difference:+}p is assigned a penny at a time to the areas whose exact totals {} most in rounding ({}), so the totals add up to the pot.",
                if difference > 0 { "lost" } else { "gained" },
                adjusted.join(", ")
            );
        }
        text
    }
}

use crate::readable::money;

/// The allocation and, with `sensitivity`, its sensitivity columns and (given the previous
/// year's inputs) the previous year's totals.
pub fn allocate_with_extras(
    pot: f64,
    weights: Weights,
    areas: &[AreaInput],
    sensitivity: bool,
    previous: Option<&[AreaInput]>,
) -> Result<(Allocation, output::Extras), FundingError> {
    let allocation = allocate(pot, weights, areas)?;
    let mut extras = output::Extras::default();
    if sensitivity {
        extras.sensitivity = self::sensitivity(pot, weights, areas)?;
        if let Some(previous) = previous {
            let earlier = allocate(pot, weights, previous)?;
            extras.previous_year = Some(
                earlier
                    .areas
                    .iter()
                    .map(|a| (a.input.area.clone(), a.total_pence))
                    .collect(),
            );
        }
    }
    Ok((allocation, extras))
}

/// Each area's total under each weight moved by ±10 percentage points (the others scaled to
/// keep the sum at 1): `(label, totals in pence by area, in the allocation's area order)`.
pub fn sensitivity(
    pot: f64,
    weights: Weights,
    areas: &[AreaInput],
) -> Result<Vec<(String, Vec<i64>)>, FundingError> {
    let mut out = Vec::new();
    for component in COMPONENTS {
        for (delta, sign) in [(0.10, "plus"), (-0.10, "minus")] {
            let shifted = weights.shifted(component, delta);
            let allocation = allocate(pot, shifted, areas)?;
            out.push((
                format!("{component}_{sign}10"),
                allocation.areas.iter().map(|a| a.total_pence).collect(),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
