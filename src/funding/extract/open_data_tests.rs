//! `sna funding`'s inputs from an open-data extract, worked by hand.

use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Float64Array, Int32Array, RecordBatch, StringArray};
use chrono::NaiveDate;

use super::*;
use crate::funding::{Weights, allocate};
use crate::sources::contract::{OPEN_OFFENCES, POPULATION, TableSpec};

fn write(dir: &std::path::Path, spec: &TableSpec, columns: Vec<ArrayRef>) {
    let batch = RecordBatch::try_new(spec.arrow_schema(), columns).unwrap();
    let file = std::fs::File::create(dir.join(spec.file_name())).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

fn days(month: &str) -> i32 {
    let day: NaiveDate = format!("{month}-01").parse().unwrap();
    (day - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
        .num_days()
        .try_into()
        .unwrap()
}

/// An open-data extract of three CSPs (North, South, West; one LSOA each, in the extract's own
/// `reference/lsoa.csv`) and these police.uk crimes, as `(month, type, LSOA)`.
fn extract(dir: &std::path::Path, crimes: &[(&str, &str, Option<&str>)]) {
    let ids: Vec<String> = (1..=crimes.len()).map(|i| format!("c{i}")).collect();
    write(
        dir,
        &OPEN_OFFENCES,
        vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(Date32Array::from(
                crimes.iter().map(|c| days(c.0)).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                crimes.iter().map(|c| c.1).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                crimes.iter().map(|c| c.2).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(vec![None; crimes.len()])),
            Arc::new(Float64Array::from(vec![None; crimes.len()])),
        ],
    );
    let residents = [("N1", 10_000), ("S1", 5_000), ("W1", 5_000)];
    write(
        dir,
        &POPULATION,
        vec![
            Arc::new(Int32Array::from(vec![2021; 3])),
            Arc::new(StringArray::from(
                residents.iter().map(|r| r.0).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(vec!["F"; 3])),
            Arc::new(Int32Array::from(vec![30; 3])),
            Arc::new(Int32Array::from(
                residents.iter().map(|r| r.1).collect::<Vec<_>>(),
            )),
        ],
    );
    std::fs::create_dir(dir.join("reference")).unwrap();
    let mut lsoa = "lsoa_code,lsoa_name,msoa_code,msoa_name,ward_code,ward_name,lad_code,lad_name,csp_code,csp_name,latitude,longitude,easting,northing,imd2019_decile\n".to_owned();
    for (code, csp) in [("N1", "North"), ("S1", "South"), ("W1", "West")] {
        lsoa.push_str(&format!(
            "{code},{code},M{code},M{code},W{code},W{code},D{code},{csp},C{code},{csp},52.6,-1.1,450000,300000,5\n"
        ));
    }
    std::fs::write(dir.join("reference/lsoa.csv"), lsoa).unwrap();
}

fn config(dir: &std::path::Path) -> Config {
    Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    }
}

/// Three areas on open data, every figure worked by hand. Weights per crime from
/// data/reference/police_uk_harm.csv: violence and sexual offences 365, robbery 365, possession
/// of weapons 228, drugs 183, burglary 20, vehicle crime 11, shoplifting 2, other theft 2.
///
/// The data run from March 2020 to April 2022, so the default period is the last complete
/// financial year, 1 April 2021 to 31 March 2022, and two harm years start on 1 April 2020.
///
/// | area | crimes in FY 2021/22 | harm, FY 2020/21 and 2021/22 | residents | rate per 1,000 |
/// | --- | --- | --- | --- | --- |
/// | North | 2 violence (Jun 2021), 1 shoplifting (Mar 2022): 3 | 365 + 365 + 2 + burglary (Apr 2020) 20 = 752 | 10,000 | 0.3 |
/// | South | 1 robbery (Apr 2021), 3 vehicle (Dec 2021): 4 | 365 + 3 × 11 + drugs (Mar 2021) 183 = 581 | 5,000 | 0.8 |
/// | West | 1 other theft (May 2021): 1 | 2 + weapons (Oct 2020) 228 = 230 | 5,000 | 0.2 |
///
/// Not counted: West's violence of March 2020 (before the harm years), North's criminal damage
/// of April 2022 (after the period), and a public-order crime of July 2021 with no LSOA (in
/// no area: the one unplaced crime). Totals: harm 1,563, rate 1.3, residents 20,000.
///
/// Pot £100,000, default weights. Harm (£65,000): North 752/1563 → £31,273.1926 (£31,273.19),
/// South 581/1563 → £24,161.8682 (£24,161.87), West 230/1563 → £9,564.9392 (£9,564.94).
/// Rate (£20,000): North 0.3/1.3 → £4,615.3846 (£4,615.38), South 0.8/1.3 → £12,307.6923
/// (£12,307.69), West 0.2/1.3 → £3,076.9231 (£3,076.92). Population (£15,000): North ½ →
/// £7,500, South and West ¼ → £3,750. Rounded totals: North £43,388.57 (exact …577),
/// South £40,219.56 (…5605), West £16,391.86 (…8623): £99,999.99, a penny short, which goes to
/// North, whose exact total lost most in rounding (0.72p against 0.05p and 0.23p): £43,388.58.
#[tokio::test]
async fn three_areas_on_open_data_worked_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let v = "Violence and sexual offences";
    extract(
        dir.path(),
        &[
            ("2021-06", v, Some("N1")),
            ("2021-06", v, Some("N1")),
            ("2022-03", "Shoplifting", Some("N1")),
            ("2020-04", "Burglary", Some("N1")),
            ("2022-04", "Criminal damage and arson", Some("N1")),
            ("2021-04", "Robbery", Some("S1")),
            ("2021-12", "Vehicle crime", Some("S1")),
            ("2021-12", "Vehicle crime", Some("S1")),
            ("2021-12", "Vehicle crime", Some("S1")),
            ("2021-03", "Drugs", Some("S1")),
            ("2021-05", "Other theft", Some("W1")),
            ("2020-10", "Possession of weapons", Some("W1")),
            ("2020-03", v, Some("W1")),
            ("2021-07", "Public order", None),
        ],
    );
    let config = config(dir.path());
    let queries = QuerySet::bundled();
    let found = from_extract(&config, &queries, None, None, Level::Csp, 2, false)
        .await
        .unwrap();
    assert_eq!(found.basis, HarmBasis::PoliceUkTypes);
    let day = |t: &str| t.parse::<NaiveDate>().unwrap();
    assert_eq!(
        found.window,
        Window {
            start: day("2021-04-01"),
            end: day("2022-03-31"),
            harm_start: day("2020-04-01"),
        }
    );
    assert_eq!(found.unplaced, 1);
    let figures: Vec<(&str, f64, f64, f64)> = found
        .areas
        .iter()
        .map(|a| (a.area.as_str(), a.population, a.crimes, a.harm))
        .collect();
    assert_eq!(
        figures,
        [
            ("North", 10_000.0, 3.0, 752.0),
            ("South", 5_000.0, 4.0, 581.0),
            ("West", 5_000.0, 1.0, 230.0),
        ]
    );
    let a = allocate(100_000.0, Weights::default(), &found.areas).unwrap();
    let pence: Vec<([i64; 3], i64, i64)> = a
        .areas
        .iter()
        .map(|r| (r.component_pence, r.adjustment_pence, r.total_pence))
        .collect();
    assert_eq!(
        pence,
        [
            ([3_127_319, 461_538, 750_000], 1, 4_338_858),
            ([2_416_187, 1_230_769, 375_000], 0, 4_021_956),
            ([956_494, 307_692, 375_000], 0, 1_639_186),
        ]
    );

    // Three harm years would start on 1 April 2019, before the data.
    let error = from_extract(&config, &queries, None, None, Level::Csp, 3, false)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("use --harm-years 2 or fewer"), "{error}");
    // A period that cuts a month is refused: police.uk gives months.
    let error = from_extract(
        &config,
        &queries,
        Some((day("2021-04-15"), day("2022-03-31"))),
        None,
        Level::Csp,
        1,
        false,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(error.contains("cuts a month"), "{error}");
}

#[tokio::test]
async fn an_unknown_crime_type_is_named() {
    let dir = tempfile::tempdir().unwrap();
    extract(
        dir.path(),
        &[
            ("2020-04", "Burglary", Some("N1")),
            ("2021-04", "Anti-social behaviour", Some("S1")),
            ("2022-03", "Robbery", Some("W1")),
        ],
    );
    let error = from_extract(
        &config(dir.path()),
        &QuerySet::bundled(),
        None,
        None,
        Level::Csp,
        1,
        false,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("offences.parquet: police_uk_crime_type `Anti-social behaviour` has no harm weight in data/reference/police_uk_harm.csv"),
        "{error}"
    );
}
