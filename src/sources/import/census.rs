//! The bundled Census 2021 usual residents as an all-ages population, so that
//! `sna import police-uk DIR --out X` followed by `sna run --data X` works for the bundled area
//! with nothing else.
//!
//! The bundled table (`data/reference/population_census2021.csv`, ONS, Open Government Licence
//! v3.0) gives each LSOA's usual residents in six broad age groups, persons only. The contract's
//! population by single year of age and sex cannot hold that, so it is written in the all-ages
//! form ([`POPULATION_ALL_AGES`]): one row per LSOA, the six groups summed. Rates of all
//! residents are then right; measures of residents by age or sex are not possible and the
//! report says so. Census day was 21 March 2021; the counts stand as the 2021 population.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray};
use serde::{Deserialize, Serialize};

use crate::output::ParquetFile;
use crate::sources::contract::POPULATION_ALL_AGES;
use crate::sources::import::ImportError;
use crate::sources::reference::CENSUS2021_CSV;

/// The year the Census counts stand for.
pub const CENSUS_YEAR: i32 = 2021;

/// Where the counts came from, in words, for the report and the manifest.
pub const CENSUS_SOURCE: &str = "Census 2021 usual residents by LSOA (bundled data/reference/population_census2021.csv; ONS, Open Government Licence v3.0)";

/// What was written, as `population_report.json` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CensusReport {
    /// Where the counts came from.
    pub source: String,
    /// The contract form written.
    pub form: String,
    /// The year of the rows.
    pub year: i32,
    /// LSOAs written.
    pub lsoas: u64,
    /// Residents, all LSOAs.
    pub residents: u64,
    /// What the form cannot support.
    pub note: String,
}

/// Each LSOA's residents, all ages: the bundled table's six groups summed. The table is a
/// reference compiled into the binary (634 rows for each of six groups), so it is read whole.
pub fn residents_by_lsoa() -> Result<BTreeMap<String, u64>, ImportError> {
    let name = Path::new("data/reference/population_census2021.csv");
    let bad = |line: u64, message: String| ImportError::Row {
        file: name.to_path_buf(),
        line,
        message,
    };
    let mut reader = csv::Reader::from_reader(CENSUS2021_CSV.as_bytes());
    let headers = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let column = |wanted: &str| {
        headers
            .iter()
            .position(|h| h == wanted)
            .ok_or_else(|| bad(1, format!("no `{wanted}` column")))
    };
    let (lsoa, residents) = (column("lsoa_code")?, column("usual_residents")?);
    let mut totals = BTreeMap::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| bad(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let code = record.get(lsoa).unwrap_or_default().to_owned();
        let text = record.get(residents).unwrap_or_default();
        let n: u64 = text.parse().map_err(|_| {
            bad(
                line,
                format!(
                    "column `usual_residents`: `{}` is not a whole number",
                    crate::text::printable(text)
                ),
            )
        })?;
        *totals.entry(code).or_insert(0) += n;
    }
    Ok(totals)
}

/// Writes the bundled Census 2021 residents as `out` (a `population.parquet` in the all-ages
/// form).
pub fn write_census_population(out: &Path) -> Result<CensusReport, ImportError> {
    let totals = residents_by_lsoa()?;
    let too_many = |_| ImportError::File {
        file: out.to_path_buf(),
        message: "an LSOA has more residents than a 32-bit count holds".to_owned(),
    };
    let counts: Vec<i32> = totals
        .values()
        .map(|&n| i32::try_from(n).map_err(too_many))
        .collect::<Result<_, _>>()?;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(vec![CENSUS_YEAR; totals.len()])),
        Arc::new(StringArray::from_iter_values(totals.keys())),
        Arc::new(Int32Array::from(counts)),
    ];
    let batch = RecordBatch::try_new(POPULATION_ALL_AGES.arrow_schema(), columns)?;
    let mut parquet = ParquetFile::create(out, POPULATION_ALL_AGES.arrow_schema())?;
    parquet.write(&batch)?;
    parquet.finish()?;
    Ok(CensusReport {
        source: CENSUS_SOURCE.to_owned(),
        form: "all ages (no age or sex)".to_owned(),
        year: CENSUS_YEAR,
        lsoas: totals.len() as u64,
        residents: totals.values().sum(),
        note: "Census day was 21 March 2021; these counts stand as the 2021 population. Rates of all residents are right; measures of residents by age or sex are not possible. For those, add ONS mid-year estimates by single year of age: sna import ons-population FILE --out <this extract>.".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_lsoa_sums_its_six_groups() {
        let totals = residents_by_lsoa().unwrap();
        assert_eq!(totals.len(), 634);
        // E01013600: the first LSOA of the bundled file, its six groups added by hand from the
        // CSV (634 + 242 + 266 + 464 + the 50-64 and 65+ rows).
        let rows: Vec<u64> = CENSUS2021_CSV
            .lines()
            .filter(|l| l.starts_with("E01013600,"))
            .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(rows.len(), 6);
        assert_eq!(totals["E01013600"], rows.iter().sum::<u64>());
        assert!(totals["E01013600"] > 634 + 242 + 266 + 464);
    }

    #[test]
    fn the_written_file_is_the_all_ages_form() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("population.parquet");
        let report = write_census_population(&path).unwrap();
        assert_eq!((report.year, report.lsoas), (2021, 634));
        let file = std::fs::File::open(&path).unwrap();
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let names: Vec<String> = reader
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["year", "lsoa_code", "population"]);
        let mut sum = 0i64;
        for batch in reader.build().unwrap() {
            let batch = batch.unwrap();
            let n = batch
                .column(2)
                .as_any()
                .downcast_ref::<Int32Array>()
                .unwrap();
            sum += n.iter().map(|v| i64::from(v.unwrap())).sum::<i64>();
        }
        assert_eq!(sum as u64, report.residents);
    }
}
