//! `sna import police-uk` (issue 14, part 1) through the real binary: the three real police.uk
//! months shipped in `data/open/police-uk/`, whose placement in 2021 LSOAs must agree exactly
//! with an independent point-in-polygon recount (`data/reference/police_uk_lsoa_month.csv`),
//! and hand-made files for the edge cases of the published layout.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::{assert_success, sna, stderr, workdir};

const HEADER: &str = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context";

fn open_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/open/police-uk")
}

fn report(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("import_report.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `(month, lsoa_code, crime type)` → crimes, of the rows of `offences.parquet` with an LSOA.
fn placed_counts(path: &Path) -> BTreeMap<(String, String, String), u64> {
    counts(path, false)
}

fn counts(path: &Path, unplaced: bool) -> BTreeMap<(String, String, String), u64> {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut out = BTreeMap::new();
    for batch in reader {
        let batch = batch.unwrap();
        let month = batch
            .column_by_name("month")
            .unwrap()
            .as_primitive::<arrow::datatypes::Date32Type>();
        let lsoa = batch
            .column_by_name("lsoa_code")
            .unwrap()
            .as_string::<i32>();
        let kind = batch
            .column_by_name("police_uk_crime_type")
            .unwrap()
            .as_string::<i32>();
        for i in 0..batch.num_rows() {
            if lsoa.is_null(i) && !unplaced {
                continue;
            }
            let date = chrono::NaiveDate::default() + chrono::Duration::days(month.value(i).into());
            *out.entry((
                date.format("%Y-%m").to_string(),
                if lsoa.is_null(i) {
                    String::new()
                } else {
                    lsoa.value(i).to_owned()
                },
                kind.value(i).to_owned(),
            ))
            .or_default() += 1;
        }
    }
    out
}

#[test]
fn real_police_uk_months_are_placed_as_an_independent_recount_places_them() {
    let dir = workdir("import-real");
    let output = sna(
        &dir,
        &[
            "import",
            "police-uk",
            open_data().to_str().unwrap(),
            "--out",
            "extract",
        ],
    );
    assert_success(&output);
    let r = report(&dir.join("extract"));
    assert_eq!(r["rows_read"], 24801);
    assert_eq!(r["crimes"], 22270);
    assert_eq!(r["asb_rows"], 2531);
    assert_eq!(r["crimes_without_point"], 1828);
    assert_eq!(r["crimes_outside_area"], 32);
    assert_eq!(r["duplicates"], 0);
    assert_eq!(r["crime_types"]["Violence and sexual offences"], 8072);
    assert_eq!(
        r["months"],
        serde_json::json!(["2019-12", "2020-01", "2020-02"])
    );
    assert_eq!(r["months_missing"], serde_json::json!([]));
    assert!(stderr(&output).contains("22270 crimes, 2531 anti-social behaviour rows"));

    // The recount: LSOA 2021 × month × crime type for the same months, built by
    // point-in-polygon outside vrn-sna (data/reference/README.md).
    let mut expected = BTreeMap::new();
    let mut reader = csv::Reader::from_path(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/reference/police_uk_lsoa_month.csv"),
    )
    .unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        let month = record[0].to_owned();
        if !["2019-12", "2020-01", "2020-02"].contains(&month.as_str())
            || &record[2] == "Anti-social behaviour"
        {
            continue;
        }
        expected.insert(
            (month, record[1].to_owned(), record[2].to_owned()),
            record[3].parse::<u64>().unwrap(),
        );
    }
    let placed = placed_counts(&dir.join("extract/offences.parquet"));
    assert_eq!(placed.len(), 8166);
    assert_eq!(placed.values().sum::<u64>(), 20410);
    assert_eq!(placed, expected);

    assess_imported_extract(&dir, &expected);

    // A second import may replace the first; another directory may not be replaced.
    assert_success(&sna(
        &dir,
        &[
            "import",
            "police-uk",
            open_data().to_str().unwrap(),
            "--out",
            "extract",
            "--quiet",
        ],
    ));
    std::fs::create_dir(dir.join("mine")).unwrap();
    std::fs::write(dir.join("mine/notes.txt"), "mine").unwrap();
    let output = sna(
        &dir,
        &[
            "import",
            "police-uk",
            open_data().to_str().unwrap(),
            "--out",
            "mine",
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(dir.join("mine/notes.txt")).unwrap(),
        "mine"
    );
}

/// An extract in the open-data form, for tests of what reads one: the three real police.uk
/// months imported into `dir/extract`, copied with the sample's population into `dir/open`,
/// which is returned.
pub(crate) fn open_data_extract(dir: &Path) -> PathBuf {
    assert_success(&sna(
        dir,
        &[
            "import",
            "police-uk",
            open_data().to_str().unwrap(),
            "--out",
            "extract",
            "--quiet",
        ],
    ));
    open_copy(dir)
}

/// `dir/open`: a copy of the import's extract `dir/extract` (which holds only what the import
/// wrote) with the sample's population beside it.
fn open_copy(dir: &Path) -> PathBuf {
    let open = dir.join("open");
    std::fs::create_dir(&open).unwrap();
    for name in ["offences.parquet", "asb.parquet", "import_report.json"] {
        std::fs::copy(dir.join("extract").join(name), open.join(name)).unwrap();
    }
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample/population.parquet"),
        open.join("population.parquet"),
    )
    .unwrap();
    open
}

/// Serious-violence crimes (of the default open-data proxy's police.uk types) by month
/// `YYYY-MM`, counted from the extract's `offences.parquet` itself, placed or not.
pub(crate) fn proxy_by_month(extract: &Path) -> BTreeMap<String, u64> {
    let proxy = ["Violence and sexual offences", "Robbery"];
    let mut by_month: BTreeMap<String, u64> = BTreeMap::new();
    for ((month, _, kind), n) in all_counts(&extract.join("offences.parquet")) {
        if proxy.contains(&kind.as_str()) {
            *by_month.entry(month).or_default() += n;
        }
    }
    by_month
}

/// `sna run` on the imported extract (with the sample's population beside it): every measure
/// the open data support, the others listed as not possible, and serious violence by district
/// equal to the independent recount, by month equal to the extract.
fn assess_imported_extract(dir: &Path, recount: &BTreeMap<(String, String, String), u64>) {
    let open = open_copy(dir);

    // police.uk gives months: a period that cuts one is refused, naming the extract.
    let output = sna(
        dir,
        &[
            "run",
            "--data",
            "open",
            "--start",
            "2019-12-15",
            "--end",
            "2020-02-29",
            "--out",
            "bundle",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("give a period of whole months"),
        "{}",
        stderr(&output)
    );
    assert!(!dir.join("bundle").exists());

    // The default period (April 2020 to September 2021) holds none of these crimes: every
    // measure would be zero, so nothing is written.
    for args in [
        &["validate", "--data", "open"][..],
        &["run", "--data", "open", "--out", "bundle"],
        &["export", "--partner", "--data", "open", "--out", "pack"],
    ] {
        let output = sna(dir, args);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            stderr(&output)
        );
        let text = format!("{}{}", crate::stdout(&output), stderr(&output));
        assert!(
            text.contains("no offence falls in the configured period 2020-04-01 to 2021-09-30"),
            "{args:?}: {text}"
        );
    }
    assert!(!dir.join("bundle").exists() && !dir.join("pack").exists());
    // Funding works on open data (tests/e2e/funding.rs), but three months hold no financial
    // year to allocate on: said at once.
    let output = sna(dir, &["funding", "--pot", "1000", "--data", "open"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(
            "the offences run from 2019-12-01 to 2020-02-29, which holds no complete financial year"
        ),
        "{}",
        stderr(&output)
    );

    // With the data's own months as the period, validation has nothing to say about coverage.
    std::fs::write(
        dir.join("sna.toml"),
        "start = 2019-12-01\nend = 2020-02-29\n",
    )
    .unwrap();
    let output = sna(dir, &["validate", "--data", "open"]);
    std::fs::remove_file(dir.join("sna.toml")).unwrap();
    assert_success(&output);
    assert!(
        !crate::stdout(&output).contains("does not cover"),
        "{}",
        crate::stdout(&output)
    );
    let text = crate::stdout(&output);
    assert!(text.contains("Form: open data (police.uk"), "{text}");
    assert!(
        text.contains("missing (their measures are not possible): ae_attendances, ambulance"),
        "{text}"
    );

    let output = sna(
        dir,
        &[
            "run",
            "--data",
            "open",
            "--start",
            "2019-12-01",
            "--end",
            "2020-02-29",
            "--out",
            "bundle",
            "--quiet",
        ],
    );
    assert_success(&output);
    let bundle = dir.join("bundle");
    let proxy = ["Violence and sexual offences", "Robbery"];

    // Districts: the recount's placed crimes of the proxy's types, by the lookup's district.
    let mut district_of = BTreeMap::new();
    let mut lookup = csv::Reader::from_path(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/reference/lsoa.csv"),
    )
    .unwrap();
    let headers = lookup.headers().unwrap().clone();
    let code = headers.iter().position(|h| h == "lsoa_code").unwrap();
    let district = headers.iter().position(|h| h == "lad_name").unwrap();
    for record in lookup.records() {
        let record = record.unwrap();
        district_of.insert(record[code].to_owned(), record[district].to_owned());
    }
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for ((_, lsoa, kind), n) in recount {
        if proxy.contains(&kind.as_str()) {
            *expected.entry(district_of[lsoa].clone()).or_default() += n;
        }
    }
    let areas = crate::Table::read(&bundle.join("tables/areas.csv"));
    let found: BTreeMap<String, u64> = areas
        .rows
        .iter()
        .filter(|r| r["level"] == "district" && !r["area_code"].is_empty())
        .map(|r| (r["area_name"].clone(), r["offences"].parse().unwrap()))
        .collect();
    assert_eq!(found, expected);
    assert!(
        areas.rows.iter().all(|r| r["under_25_pct"].is_empty()),
        "no ages without persons"
    );

    // Months: every crime of the proxy's types, placed or not, as the extract holds them.
    let by_month = proxy_by_month(&open);
    let trend = crate::Table::read(&bundle.join("tables/trend_monthly.csv"));
    let found: BTreeMap<String, u64> = trend
        .rows
        .iter()
        .map(|r| {
            assert_eq!(r["cohort"], "all", "no cohort series without persons");
            (r["month"].clone(), r["offences"].parse().unwrap())
        })
        .collect();
    assert_eq!(found, by_month);
    let headline = crate::Table::read(&bundle.join("tables/headline.csv"));
    let total = headline.row(&[("measure", "sv_offences")]);
    assert_eq!(
        total["numerator"],
        by_month.values().sum::<u64>().to_string()
    );
    assert!(
        headline
            .rows
            .iter()
            .all(|r| !r["measure"].contains("prevalence")
                && r["measure"] != "knife_pct"
                && r["measure"] != "peak_hour"),
        "only the measures open data support"
    );
    let types = crate::Table::read(&bundle.join("tables/crime_types.csv"));
    assert_eq!(
        types.row(&[("crime_type", "Violence and sexual offences")])["crimes"],
        "8072"
    );

    // What open data cannot give is listed, not written as zeros.
    for absent in [
        "age_sex",
        "time_profile",
        "offence_mix",
        "harm",
        "repeat_offending",
    ] {
        assert!(
            !bundle.join(format!("tables/{absent}.csv")).exists(),
            "{absent}"
        );
    }
    let html = std::fs::read_to_string(bundle.join("index.html")).unwrap();
    assert!(html.contains("Not possible with these data (open-data extract)"));
    assert!(html.contains("victims and offenders need a persons extract"));
    assert!(
        html.contains("cannot be compared with it"),
        "the proxy's warning"
    );
    // A partner's query of what open data do not hold is told so, not just given 0.
    let output = sna(
        dir,
        &[
            "query",
            "--data",
            "open",
            "SELECT COUNT(*) AS n FROM sv_victims",
        ],
    );
    assert_success(&output);
    assert!(
        stderr(&output)
            .contains("note: sv_victims reads persons, which this extract does not hold"),
        "{}",
        stderr(&output)
    );
    let output = sna(
        dir,
        &[
            "query",
            "--data",
            "open",
            "SELECT COUNT(*) AS n FROM sv_offences",
        ],
    );
    assert!(!stderr(&output).contains("note:"), "{}", stderr(&output));
    // sna tables says which tables are empty stand-ins and which views read them.
    let output = sna(dir, &["tables", "--data", "open"]);
    assert_success(&output);
    let listing = crate::stdout(&output);
    assert!(
        listing.contains(
            "persons (base table, 0 rows; not in this extract: an empty stand-in, so it measures nothing)"
        ),
        "{listing}"
    );
    assert!(
        listing.contains(
            "sv_victims (view, 0 rows; reads persons, which this extract does not hold: it measures nothing)"
        ),
        "{listing}"
    );
    assert!(listing.contains("offences (base table, "), "{listing}");
    assert!(
        !listing
            .lines()
            .any(|l| l.starts_with("offences (") && l.contains("measures nothing")),
        "{listing}"
    );
    // No empty victims table, and no caption about victims there are none of.
    assert!(!html.contains("No rows"));
    assert!(!html.contains("Victims by the deprivation"));
    let manifest = std::fs::read_to_string(bundle.join("manifest.json")).unwrap();
    assert!(!manifest.contains("Victims and offenders by home LSOA"));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["form"], "open_data");
    assert!(manifest["not_possible"].as_array().unwrap().len() >= 10);
}

/// `(month, lsoa_code or "", crime type)` → crimes, of every row of `offences.parquet`.
fn all_counts(path: &Path) -> BTreeMap<(String, String, String), u64> {
    counts(path, true)
}

fn row(
    id: &str,
    month: &str,
    lon: &str,
    lat: &str,
    location: &str,
    lsoa: &str,
    kind: &str,
) -> String {
    format!(
        "{id},{month},Leicestershire Police,Leicestershire Police,{lon},{lat},{location},{lsoa},Name 001A,{kind},Under investigation,"
    )
}

#[test]
fn edge_cases_of_the_published_layout() {
    let dir = workdir("import-edges");
    let input = dir.join("download");
    std::fs::create_dir_all(input.join("2020-01")).unwrap();
    std::fs::create_dir_all(input.join("2020-03")).unwrap();
    // January: a byte-order mark, a quoted comma, an ASB row, a crime with no point, and a
    // point in Leicester city centre (E01013648 in 2021) whose file code is a 2011 one.
    let january = format!(
        "\u{feff}{HEADER}\n{}\n{}\n{}\n{}\n",
        row(
            "a1",
            "2020-01",
            "-1.1339",
            "52.6350",
            "\"On or near Gallowtree Gate, Leicester\"",
            "E01013000",
            "Violence and sexual offences"
        ),
        row(
            "",
            "2020-01",
            "-1.1339",
            "52.6350",
            "On or near Gallowtree Gate",
            "E01013000",
            "Anti-social behaviour"
        ),
        row("b2", "2020-01", "", "", "No Location", "", "Bicycle theft"),
        row(
            "c3",
            "2020-01",
            "-0.1276",
            "51.5072",
            "On or near Whitehall",
            "E01004736",
            "Robbery"
        ),
    );
    std::fs::write(
        input.join("2020-01/2020-01-leicestershire-street.csv"),
        january,
    )
    .unwrap();
    // March (February missing): the January crime again, and one more.
    let march = format!(
        "{HEADER}\n{}\n{}\n",
        row(
            "a1",
            "2020-03",
            "-1.1339",
            "52.6350",
            "On or near Gallowtree Gate",
            "E01013000",
            "Violence and sexual offences"
        ),
        row(
            "d4",
            "2020-03",
            "-1.1339",
            "52.6350",
            "On or near Gallowtree Gate",
            "E01013000",
            "Robbery"
        ),
    );
    std::fs::write(
        input.join("2020-03/2020-03-leicestershire-street.csv"),
        march,
    )
    .unwrap();
    let output = sna(
        &dir,
        &["import", "police-uk", "download", "--out", "extract"],
    );
    assert_success(&output);
    let r = report(&dir.join("extract"));
    assert_eq!(r["rows_read"], 6);
    assert_eq!(r["crimes"], 4);
    assert_eq!(r["asb_rows"], 1);
    assert_eq!(r["duplicates"], 1);
    assert_eq!(r["crimes_without_point"], 1);
    assert_eq!(r["crimes_outside_area"], 1);
    assert_eq!(r["crimes_moved_lsoa"], 2);
    assert_eq!(r["months_missing"], serde_json::json!(["2020-02"]));
    assert!(stderr(&output).contains("warning: no file for 2020-02"));
    let placed = placed_counts(&dir.join("extract/offences.parquet"));
    let lsoas: Vec<&str> = placed.keys().map(|k| k.1.as_str()).collect();
    assert_eq!(lsoas.len(), 2);
    assert!(
        lsoas.iter().all(|c| *c == lsoas[0] && c.starts_with("E01")),
        "{lsoas:?}"
    );

    // The same file named twice is read once; the same month's file in two places is refused.
    let twice = sna(
        &dir,
        &[
            "import",
            "police-uk",
            "download",
            "./download/2020-01/2020-01-leicestershire-street.csv",
            "--out",
            "extract",
            "--quiet",
        ],
    );
    assert_success(&twice);
    assert_eq!(report(&dir.join("extract"))["asb_rows"], 1);
    std::fs::create_dir_all(dir.join("again")).unwrap();
    std::fs::copy(
        input.join("2020-01/2020-01-leicestershire-street.csv"),
        dir.join("again/2020-01-leicestershire-street.csv"),
    )
    .unwrap();
    let output = sna(
        &dir,
        &["import", "police-uk", "download", "again", "--out", "two"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("are the same month's file of the same force"),
        "{}",
        stderr(&output)
    );
    assert!(!dir.join("two").exists());

    // Malformed files: an error naming the file and line, and no extract.
    let bad = |name: &str, text: String| {
        let path = dir.join("bad").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        let output = sna(
            &dir,
            &[
                "import",
                "police-uk",
                path.to_str().unwrap(),
                "--out",
                "bad-extract",
            ],
        );
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(!dir.join("bad-extract").exists());
        std::fs::remove_file(&path).unwrap();
        stderr(&output)
    };
    let ok = row(
        "e5",
        "2020-01",
        "-1.1339",
        "52.6350",
        "On or near X",
        "E01013000",
        "Robbery",
    );
    let err = bad(
        "2020-01-x-street.csv",
        format!("{HEADER}\n{ok}\n{ok},extra\n"),
    );
    assert!(
        err.contains("2020-01-x-street.csv, line 3: 13 fields where the header has 12"),
        "{err}"
    );
    // police.uk publishes CRLF line ends: lines are numbered as with LF.
    let err = bad(
        "2020-01-x-street.csv",
        format!("{HEADER}\r\n{ok}\r\n{ok}\r\n{ok},extra\r\n"),
    );
    assert!(
        err.contains("2020-01-x-street.csv, line 4: 13 fields where the header has 12"),
        "{err}"
    );
    let err = bad(
        "2020-01-x-street.csv",
        format!(
            "{HEADER}\r\n{ok}\r\n{}\r\n",
            row("f7", "2020-02", "-1.1", "52.6", "X", "E0", "Robbery")
        ),
    );
    assert!(
        err.contains("line 3: column Month is `2020-02`, but the file is for 2020-01"),
        "{err}"
    );
    let err = bad(
        "2020-01-x-street.csv",
        format!(
            "{HEADER}\n{}\n",
            row("f6", "2020-02", "-1.1", "52.6", "X", "E0", "Robbery")
        ),
    );
    assert!(
        err.contains("line 2: column Month is `2020-02`, but the file is for 2020-01"),
        "{err}"
    );
    let err = bad(
        "2020-01-x-street.csv",
        format!(
            "{HEADER}\n{}\n",
            row("g7", "2020-01", "west", "52.6", "X", "E0", "Robbery")
        ),
    );
    assert!(
        err.contains("line 2: column Longitude is `west`, not a number"),
        "{err}"
    );
    let err = bad("2020-01-x-street.csv", format!("Crime ID,Month\n{ok}\n"));
    assert!(
        err.contains("line 1: the header is `Crime ID,Month`, not police.uk's"),
        "{err}"
    );
    let err = bad("street.csv", format!("{HEADER}\n"));
    assert!(
        err.contains("not a police.uk street-level file name"),
        "{err}"
    );
}

fn ons_workbook() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ons/sape_llr_2020_2021.xlsx")
}

/// `(year, lsoa_code, sex, age)` → residents, of a population.parquet.
fn population(path: &Path, years: &[i64]) -> BTreeMap<(i64, String, String, i64), i64> {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut out = BTreeMap::new();
    for batch in reader {
        let batch = batch.unwrap();
        let int = |name: &str| {
            arrow::compute::cast(
                batch.column_by_name(name).unwrap(),
                &arrow::datatypes::DataType::Int64,
            )
            .unwrap()
        };
        let (year, age, n) = (int("year"), int("age"), int("population"));
        let (year, age, n) = (
            year.as_primitive::<arrow::datatypes::Int64Type>(),
            age.as_primitive::<arrow::datatypes::Int64Type>(),
            n.as_primitive::<arrow::datatypes::Int64Type>(),
        );
        let lsoa = batch
            .column_by_name("lsoa_code")
            .unwrap()
            .as_string::<i32>();
        let sex = batch.column_by_name("sex").unwrap().as_string::<i32>();
        for i in 0..batch.num_rows() {
            if years.contains(&year.value(i)) {
                out.insert(
                    (
                        year.value(i),
                        lsoa.value(i).to_owned(),
                        sex.value(i).to_owned(),
                        age.value(i),
                    ),
                    n.value(i),
                );
            }
        }
    }
    out
}

#[test]
fn ons_population_workbook_gives_back_the_population_it_was_made_from() {
    let dir = workdir("import-ons");
    // A new extract holding the population only.
    let output = sna(
        &dir,
        &[
            "import",
            "ons-population",
            ons_workbook().to_str().unwrap(),
            "--out",
            "people",
        ],
    );
    assert_success(&output);
    assert!(stderr(&output).contains("1 LSOA totals are not the sum of their single years"));
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample/population.parquet");
    let expected = population(&sample, &[2020, 2021]);
    assert_eq!(expected.len(), 2 * 634 * 2 * 91);
    assert_eq!(
        population(
            &dir.join("people/population.parquet"),
            &[2019, 2020, 2021, 2022]
        ),
        expected
    );
    let text = std::fs::read_to_string(dir.join("people/population_report.json")).unwrap();
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["sheets"][0]["year"], 2020);
    assert_eq!(r["sheets"][0]["lsoas_read"], 637, "three LSOAs of Anglesey");
    assert_eq!(r["sheets"][0]["lsoas_in_area"], 634);
    assert_eq!(r["sheets"][1]["total_mismatches"], 1);
    assert_eq!(r["area_lsoas_missing"], 0);

    // police.uk with --population: import, then run, with nothing else.
    let output = sna(
        &dir,
        &[
            "import",
            "police-uk",
            open_data().to_str().unwrap(),
            "--out",
            "extract",
            "--population",
            ons_workbook().to_str().unwrap(),
            "--quiet",
        ],
    );
    assert_success(&output);
    assert_success(&sna(
        &dir,
        &[
            "run",
            "--data",
            "extract",
            "--start",
            "2019-12-01",
            "--end",
            "2020-02-29",
            "--out",
            "bundle",
            "--quiet",
        ],
    ));
    let headline = crate::Table::read(&dir.join("bundle/tables/headline.csv"));
    let rate = headline.row(&[("measure", "sv_rate_per_1000_year")]);
    let residents: i64 = expected
        .iter()
        .filter(|((year, ..), _)| *year == 2020)
        .map(|(_, n)| n)
        .sum();
    assert_eq!(rate["denominator"], residents.to_string());

    // Into the imported extract: one mid-year replaces the population, the crimes are kept.
    let offences = std::fs::read(dir.join("extract/offences.parquet")).unwrap();
    assert_success(&sna(
        &dir,
        &[
            "import",
            "ons-population",
            ons_workbook().to_str().unwrap(),
            "--out",
            "extract",
            "--year",
            "2021",
            "--quiet",
        ],
    ));
    assert_eq!(
        std::fs::read(dir.join("extract/offences.parquet")).unwrap(),
        offences
    );
    let only_2021: BTreeMap<_, _> = expected
        .into_iter()
        .filter(|((y, ..), _)| *y == 2021)
        .collect();
    assert_eq!(
        population(&dir.join("extract/population.parquet"), &[2020, 2021]),
        only_2021
    );
    std::fs::write(
        dir.join("sna.toml"),
        "start = 2019-12-01\nend = 2020-02-29\n",
    )
    .unwrap();
    assert_success(&sna(&dir, &["validate", "--data", "extract"]));
    std::fs::remove_file(dir.join("sna.toml")).unwrap();

    // A new police.uk import (next month's download, say) keeps the population added before.
    let population_before = std::fs::read(dir.join("extract/population.parquet")).unwrap();
    let output = sna(
        &dir,
        &[
            "import",
            "police-uk",
            open_data().to_str().unwrap(),
            "--out",
            "extract",
        ],
    );
    assert_success(&output);
    assert!(stderr(&output).contains("Kept the population an earlier import added"));
    assert_eq!(
        std::fs::read(dir.join("extract/population.parquet")).unwrap(),
        population_before
    );
    let manifest = std::fs::read_to_string(dir.join("extract/manifest.json")).unwrap();
    assert!(manifest.contains("population_report.json"));
    assert!(manifest.contains("sape_llr_2020_2021.xlsx"));

    // A directory the tool did not write is not written into.
    std::fs::create_dir(dir.join("mine")).unwrap();
    std::fs::write(dir.join("mine/notes.txt"), "mine").unwrap();
    let output = sna(
        &dir,
        &[
            "import",
            "ons-population",
            ons_workbook().to_str().unwrap(),
            "--out",
            "mine",
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(std::fs::read_dir(dir.join("mine")).unwrap().count(), 1);
}

#[test]
fn ons_population_errors_name_the_file_sheet_row_and_column() {
    let dir = workdir("import-ons-errors");
    let mut header = String::from("LAD code,LSOA 2021 Code,Total");
    let mut row = String::from("E06000016,E01013600,182");
    for sex in ["F", "M"] {
        for age in 0..=90 {
            header.push_str(&format!(",{sex}{age}"));
            row.push_str(if sex == "F" && age == 3 { ",n/a" } else { ",1" });
        }
    }
    let csv = format!("Population estimates (title row)\n\n{header}\n{row}\n");
    std::fs::write(dir.join("sape.csv"), &csv).unwrap();

    let failing = |args: &[&str], needles: &[&str]| {
        let output = sna(&dir, args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {err}");
        for needle in needles {
            assert!(
                err.contains(needle),
                "{args:?}: expected {needle:?} in {err}"
            );
        }
        assert!(!dir.join("out").exists(), "nothing written");
    };
    failing(
        &["import", "ons-population", "sape.csv", "--out", "out"],
        &["sape.csv", "give --year"],
    );
    failing(
        &[
            "import",
            "ons-population",
            "sape.csv",
            "--out",
            "out",
            "--year",
            "2021",
        ],
        &["sape.csv, line 4: column F3: `n/a` is not a count of residents"],
    );
    failing(
        &[
            "import",
            "ons-population",
            ons_workbook().to_str().unwrap(),
            "--out",
            "out",
            "--year",
            "2018",
        ],
        &["no sheet named for mid-2018", "Mid-2020 LSOA 2021"],
    );
    failing(
        &[
            "import",
            "ons-population",
            ons_workbook().to_str().unwrap(),
            "--out",
            "out",
            "--sheet",
            "Contents",
            "--year",
            "2020",
        ],
        &["sheet Contents", "no header row"],
    );
    // The same LSOA twice would count its residents twice.
    let good_row = row.replace(",n/a", ",1");
    std::fs::write(
        dir.join("sape.csv"),
        format!("Population estimates (title row)\n\n{header}\n{good_row}\n{good_row}\n"),
    )
    .unwrap();
    failing(
        &[
            "import",
            "ons-population",
            "sape.csv",
            "--out",
            "out",
            "--year",
            "2021",
        ],
        &["sape.csv, line 5: LSOA E01013600 is given twice (first on line 4)"],
    );
    // The corrected CSV imports; its one LSOA is in the area.
    std::fs::write(dir.join("sape.csv"), csv.replace(",n/a", ",1")).unwrap();
    assert_success(&sna(
        &dir,
        &[
            "import",
            "ons-population",
            "sape.csv",
            "--out",
            "out",
            "--year",
            "2021",
            "--quiet",
        ],
    ));
}

#[test]
fn a_force_export_goes_in_by_its_mapping() {
    let dir = workdir("import-mapped");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mapping = root.join("docs/mappings/force_crime_export.toml");
    let export = root.join("tests/fixtures/mapped/force_crimes.csv");
    let output = sna(
        &dir,
        &[
            "import",
            "csv",
            "--mapping",
            mapping.to_str().unwrap(),
            export.to_str().unwrap(),
            "--out",
            "extract",
        ],
    );
    assert_success(&output);
    assert!(stderr(&output).contains("location_type: written as unknown: `Car Park` (1)"));

    // Values as the contract holds them: recoded, typed, the time kept.
    let file = std::fs::File::open(dir.join("extract/offences.parquet")).unwrap();
    let batches: Vec<_> = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 401);
    let first = &batches[0];
    let text = |name: &str, i: usize| {
        first
            .column_by_name(name)
            .unwrap()
            .as_string::<i32>()
            .value(i)
            .to_owned()
    };
    assert_eq!(text("crime_id", 0), "CR000000001");
    assert_eq!(text("offence_code", 0), "105A");
    assert_eq!(text("location_type", 0), "dwelling");
    assert!(
        first
            .column_by_name("domestic")
            .unwrap()
            .as_boolean()
            .value(0)
    );
    let committed = arrow::compute::cast(
        first.column_by_name("committed_at").unwrap(),
        &arrow::datatypes::DataType::Timestamp(arrow::datatypes::TimeUnit::Second, None),
    )
    .unwrap();
    let committed = committed
        .as_primitive::<arrow::datatypes::TimestampSecondType>()
        .value(0);
    assert_eq!(committed, 1_554_076_800 + 4 * 60, "2019-04-01 00:04");

    // With a population it is a full-form extract: validate reads it, persons and A&E missing.
    assert_success(&sna(
        &dir,
        &[
            "import",
            "ons-population",
            ons_workbook().to_str().unwrap(),
            "--out",
            "extract",
            "--quiet",
        ],
    ));
    std::fs::write(
        dir.join("sna.toml"),
        "start = 2019-04-01\nend = 2019-04-30\n",
    )
    .unwrap();
    let output = sna(&dir, &["validate", "--data", "extract"]);
    assert_success(&output);
    assert!(
        crate::stdout(&output).contains(
            "missing (their measures are not possible): persons, ae_attendances, ambulance"
        )
    );

    // Problems name the file, line, column and value, and nothing is written.
    let csv = std::fs::read_to_string(&export).unwrap();
    let failing = |name: &str, text: String, mapping_text: Option<String>, needle: &str| {
        std::fs::write(dir.join(name), text).unwrap();
        let mapping_file = match mapping_text {
            Some(m) => {
                std::fs::write(dir.join("mapping.toml"), m).unwrap();
                dir.join("mapping.toml")
            }
            None => mapping.clone(),
        };
        let output = sna(
            &dir,
            &[
                "import",
                "csv",
                "--mapping",
                mapping_file.to_str().unwrap(),
                name,
                "--out",
                "other",
            ],
        );
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output).contains(needle),
            "expected {needle:?} in {}",
            stderr(&output)
        );
        assert!(!dir.join("other").exists());
    };
    failing(
        "bad_date.csv",
        csv.replace("01/04/2019 00:04", "31/02/2019 25:00"),
        None,
        "bad_date.csv, line 2: column committed_at (from `Committed From`): `31/02/2019 25:00` is not a date and time in the format %d/%m/%Y %H:%M",
    );
    failing(
        "strict.csv",
        csv.clone(),
        Some(
            std::fs::read_to_string(&mapping)
                .unwrap()
                .replace("unmapped = \"unknown\"", ""),
        ),
        "strict.csv, line 402: column location_type (from `Location Type`): `Car Park` is not one of street",
    );
    failing(
        "twice.csv",
        format!("{csv}{}", csv.lines().nth(1).unwrap()),
        None,
        "crime_id `CR000000001` is given twice (first on line 2)",
    );
}
