//! Crime harm on open-data extracts: a harm weight in days per police.uk crime type
//! (`data/reference/police_uk_harm.csv`), where Home Office codes, and so Crime Harm Index days
//! per offence, are absent.
//!
//! Each type's weight is the median of the `harm_days` of the Home Office codes that police.uk
//! counts as that type (`police_uk_crime_type` of `data/reference/offence_codes.csv`), each code
//! counted once: no recorded-crime volumes by code are bundled, so the median is not weighted
//! by how often each offence is recorded. With an even number of codes it is the mean of the
//! two middle values. [`derive`] recomputes the weights from the classification, and a test
//! holds the bundled file to it.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};

use crate::sources::reference;

/// Where the bundled weights are, for messages.
pub const HARM_FILE: &str = "data/reference/police_uk_harm.csv";

/// The classification the weights are derived from, for messages.
pub const CLASSIFICATION_FILE: &str = "data/reference/offence_codes.csv";

/// What the output says when harm is estimated from police.uk crime types.
pub const NOTE: &str = "harm is estimated from police.uk crime types: each crime counts the \
    median Crime Harm Index days of the Home Office offences police.uk puts in its type \
    (data/reference/police_uk_harm.csv), not its own offence's; a type's mix of offences varies \
    by area, so this harm is not comparable with harm from Home Office codes";

/// A problem with a harm-weight or classification file.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The file is not CSV of the expected columns, or a value is missing or not a number.
    #[error("{file}, line {line}: {problem}")]
    Bad {
        /// The file.
        file: &'static str,
        /// The line in the file (1 = the header).
        line: u64,
        /// What is wrong.
        problem: String,
    },
}

/// A harm weight in days per police.uk crime type.
#[derive(Debug, Clone, PartialEq)]
pub struct HarmWeights {
    weights: BTreeMap<String, f64>,
}

/// The index of `name` in `header`, or an error naming the file and column.
fn column(
    header: &csv::StringRecord,
    name: &str,
    file: &'static str,
) -> Result<usize, WeightsError> {
    header
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| WeightsError::Bad {
            file,
            line: 1,
            problem: format!("no column `{name}`"),
        })
}

/// Reads `(line, record)` of a CSV text, with the header.
fn records(
    text: &str,
    file: &'static str,
) -> Result<(csv::StringRecord, Vec<(u64, csv::StringRecord)>), WeightsError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let bad = |line: u64, e: csv::Error| WeightsError::Bad {
        file,
        line,
        problem: e.to_string(),
    };
    let header = reader.headers().map_err(|e| bad(1, e))?.clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| bad(0, e))?;
        let line = record.position().map_or(0, |p| p.line());
        rows.push((line, record));
    }
    Ok((header, rows))
}

/// A non-negative number in `record`'s `index`th column.
fn number(
    record: &csv::StringRecord,
    index: usize,
    name: &str,
    file: &'static str,
    line: u64,
) -> Result<f64, WeightsError> {
    let text = record.get(index).unwrap_or("").trim();
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| WeightsError::Bad {
            file,
            line,
            problem: format!("column `{name}`: `{text}` is not a number of days (0 or more)"),
        })
}

impl HarmWeights {
    /// The weights of a CSV text with columns `police_uk_crime_type` and `harm_days`; `file`
    /// names it in errors. A type given twice is an error.
    pub fn parse(text: &str, file: &'static str) -> Result<HarmWeights, WeightsError> {
        let (header, rows) = records(text, file)?;
        let kind = column(&header, "police_uk_crime_type", file)?;
        let days = column(&header, "harm_days", file)?;
        let mut weights = BTreeMap::new();
        for (line, record) in rows {
            let name = record.get(kind).unwrap_or("").trim().to_owned();
            if name.is_empty() {
                return Err(WeightsError::Bad {
                    file,
                    line,
                    problem: "column `police_uk_crime_type` is empty".to_owned(),
                });
            }
            let value = number(&record, days, "harm_days", file, line)?;
            if weights.insert(name.clone(), value).is_some() {
                return Err(WeightsError::Bad {
                    file,
                    line,
                    problem: format!("police.uk crime type `{name}` is given twice"),
                });
            }
        }
        Ok(HarmWeights { weights })
    }

    /// The bundled weights (`data/reference/police_uk_harm.csv`).
    pub fn bundled() -> Result<HarmWeights, WeightsError> {
        HarmWeights::parse(reference::POLICE_UK_HARM_CSV, HARM_FILE)
    }

    /// The weight of a police.uk crime type.
    pub fn get(&self, crime_type: &str) -> Option<f64> {
        self.weights.get(crime_type).copied()
    }

    /// Each type and its weight, in type order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.weights.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// The weights as a table `police_uk_harm(police_uk_crime_type, harm_days)`.
    pub fn batch(&self) -> Result<RecordBatch, arrow::error::ArrowError> {
        let types: Vec<&str> = self.weights.keys().map(String::as_str).collect();
        let days: Vec<f64> = self.weights.values().copied().collect();
        RecordBatch::try_from_iter([
            (
                "police_uk_crime_type",
                Arc::new(StringArray::from(types)) as ArrayRef,
            ),
            ("harm_days", Arc::new(Float64Array::from(days)) as ArrayRef),
        ])
    }
}

/// The median of `values` (the mean of the two middle values when their number is even); `None`
/// when there are none.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Each police.uk crime type's weight derived from a classification CSV with columns
/// `police_uk_crime_type` and `harm_days` (`data/reference/offence_codes.csv`): the median of
/// its codes' `harm_days`, with the number of codes.
pub fn derive(
    classification: &str,
    file: &'static str,
) -> Result<BTreeMap<String, (f64, usize)>, WeightsError> {
    let (header, rows) = records(classification, file)?;
    let kind = column(&header, "police_uk_crime_type", file)?;
    let days = column(&header, "harm_days", file)?;
    let mut by_type: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (line, record) in rows {
        let name = record.get(kind).unwrap_or("").trim().to_owned();
        if name.is_empty() {
            return Err(WeightsError::Bad {
                file,
                line,
                problem: "column `police_uk_crime_type` is empty".to_owned(),
            });
        }
        let value = number(&record, days, "harm_days", file, line)?;
        by_type.entry(name).or_default().push(value);
    }
    Ok(by_type
        .into_iter()
        .filter_map(|(name, values)| median(&values).map(|m| (name, (m, values.len()))))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_weights_are_the_medians_of_the_classification() {
        let derived = derive(reference::OFFENCE_CODES_CSV, CLASSIFICATION_FILE).unwrap();
        let bundled = HarmWeights::bundled().unwrap();
        let derived_weights: Vec<(&str, f64)> =
            derived.iter().map(|(k, (m, _))| (k.as_str(), *m)).collect();
        assert_eq!(bundled.iter().collect::<Vec<_>>(), derived_weights);
        // The number of codes and the values in each derivation agree with the classification.
        let mut reader = csv::Reader::from_reader(reference::POLICE_UK_HARM_CSV.as_bytes());
        for record in reader.records() {
            let record = record.unwrap();
            let (_, n) = derived[&record[0]];
            assert_eq!(record[2].parse::<usize>().unwrap(), n, "{}", &record[0]);
            assert!(
                record[3].contains(&format!("{n} Home Office code")) || n == 1,
                "{}",
                &record[3]
            );
        }
    }

    #[test]
    fn every_police_uk_crime_type_has_a_weight() {
        let bundled = HarmWeights::bundled().unwrap();
        let types: Vec<&str> = bundled.iter().map(|(k, _)| k).collect();
        assert_eq!(types, crate::config::POLICE_UK_CRIME_TYPES);
        // Spot checks against the classification, worked by hand: vehicle crime's codes are
        // 126 (1 day), 45 (2), 48 (20) and 37.2 (84): the middle two are 2 and 20, so 11.
        assert_eq!(bundled.get("Vehicle crime"), Some(11.0));
        assert_eq!(bundled.get("Robbery"), Some(365.0));
        assert_eq!(bundled.get("Burglary"), Some(20.0));
        assert_eq!(bundled.get("Anti-social behaviour"), None);
    }

    #[test]
    fn medians_and_bad_files() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[84.0, 1.0, 20.0, 2.0]), Some(11.0));
        assert_eq!(median(&[]), None);
        let error = HarmWeights::parse("police_uk_crime_type,harm_days\nRobbery,lots\n", HARM_FILE)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "data/reference/police_uk_harm.csv, line 2: column `harm_days`: `lots` is not a number of days (0 or more)"
        );
        let error = HarmWeights::parse("crime_type,harm_days\n", HARM_FILE)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("no column `police_uk_crime_type`"),
            "{error}"
        );
        let error = HarmWeights::parse(
            "police_uk_crime_type,harm_days\nRobbery,1\nRobbery,2\n",
            HARM_FILE,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("line 3") && error.contains("given twice"),
            "{error}"
        );
    }
}
