//! `sna import istv` and the Cardiff Model view (issue 14, part 3): an emergency department's
//! ISTV return in its usual layout (`tests/fixtures/istv/`, made by `make_fixtures.py`: a CSV
//! month with a byte-order mark and CRLF line ends, and a workbook month with typed date and
//! time cells) imported beside the three real police.uk months, then assessed. Expected values
//! were counted from the fixtures independently (Python, `csv` and `openpyxl`).

use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::{Table, assert_success, count, sna, stderr, workdir};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/istv")
}

fn returns() -> [String; 2] {
    [
        fixtures().join("istv_rwes1_2019-12.csv"),
        fixtures().join("istv_rwes1_2020-02.xlsx"),
    ]
    .map(|p| p.to_str().unwrap().to_owned())
}

#[test]
fn istv_returns_give_the_cardiff_model_view() {
    let dir = workdir("istv");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ons = root.join("tests/fixtures/ons/sape_llr_2020_2021.xlsx");
    assert_success(&sna(
        &dir,
        &[
            "import",
            "police-uk",
            root.join("data/open").to_str().unwrap(),
            "--population",
            ons.to_str().unwrap(),
            "--out",
            "extract",
            "--quiet",
        ],
    ));
    let [december, february] = returns();
    let output = sna(
        &dir,
        &["import", "istv", &december, &february, "--out", "extract"],
    );
    assert_success(&output);
    assert!(
        stderr(&output).contains("means: written as unknown: `Bitten` (12)"),
        "{}",
        stderr(&output)
    );

    // The return as the contract holds it: generated identifiers, dates and times joined from
    // two columns (text in the CSV, typed cells in the workbook), the department's words kept.
    let file = std::fs::File::open(dir.join("extract/istv.parquet")).unwrap();
    let batches: Vec<_> = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    let batch = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
    assert_eq!(batch.num_rows(), 100);
    let text = |name: &str, i: usize| {
        let column = batch.column_by_name(name).unwrap().as_string::<i32>();
        (!column.is_null(i)).then(|| column.value(i).to_owned())
    };
    let seconds = |name: &str, i: usize| {
        let column = arrow::compute::cast(
            batch.column_by_name(name).unwrap(),
            &arrow::datatypes::DataType::Timestamp(arrow::datatypes::TimeUnit::Second, None),
        )
        .unwrap();
        let column = column.as_primitive::<arrow::datatypes::TimestampSecondType>();
        (!column.is_null(i)).then(|| column.value(i))
    };
    assert_eq!(
        text("attendance_id", 0).as_deref(),
        Some("istv_rwes1_2019-12.csv:2")
    );
    // 2019-12-29 17:57 and 17:01.
    assert_eq!(seconds("arrived_at", 0), Some(1_577_642_220));
    assert_eq!(seconds("incident_at", 0), Some(1_577_638_860));
    assert_eq!(text("means", 0).as_deref(), Some("body_part"));
    assert_eq!(text("means_original", 0).as_deref(), Some("Fist"));
    assert_eq!(text("sex", 0).as_deref(), Some("M"));
    assert_eq!(
        text("attendance_id", 60).as_deref(),
        Some("istv_rwes1_2020-02.xlsx:ISTV return:4")
    );
    // 2020-02-16 14:59 and 14:18, from typed cells.
    assert_eq!(seconds("arrived_at", 60), Some(1_581_865_140));
    assert_eq!(seconds("incident_at", 60), Some(1_581_862_680));
    assert_eq!(text("means", 60).as_deref(), Some("unknown"));
    let incident = batch.column_by_name("incident_at").unwrap();
    assert_eq!(incident.null_count(), 11, "rows with no incident time");
    let bitten = (0..100)
        .filter(|&i| text("means_original", i).as_deref() == Some("Bitten"))
        .inspect(|&i| assert_eq!(text("means", i).as_deref(), Some("unknown")))
        .count();
    assert_eq!(bitten, 12);

    // The assessment gains the Cardiff Model view.
    let output = sna(
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
        ],
    );
    assert_success(&output);
    let tables = dir.join("bundle/tables");
    let summary = Table::read(&tables.join("istv_summary.csv"));
    let s = &summary.rows[0];
    count(s, "attendances", 100);
    count(s, "months", 3);
    count(s, "months_with_return", 2);
    count(s, "with_incident_time", 89);
    // Police records of December and February only, the months with a return.
    let police = crate::import::proxy_by_month(&dir.join("extract"));
    count(
        s,
        "police_offences",
        (police["2019-12"] + police["2020-02"]) as i64,
    );
    let monthly = Table::read(&tables.join("istv_police_monthly.csv"));
    let january = monthly.row(&[("month", "2020-01")]);
    assert_eq!(january["has_return"], "false");
    assert_eq!(
        january["ed_assaults"], "",
        "no return is not zero attendances"
    );
    count(january, "police_offences", police["2020-01"] as i64);
    count(monthly.row(&[("month", "2019-12")]), "ed_assaults", 60);
    count(monthly.row(&[("month", "2020-02")]), "ed_assaults", 40);

    // Places: three spellings of a friend's house are one place; the address is never shown.
    let places = Table::read(&tables.join("istv_locations.csv"));
    count(places.row(&[("place", "friends house")]), "attendances", 19);
    count(
        places.row(&[("place", "outside pub high street")]),
        "attendances",
        7,
    );
    let other = places.row(&[("kind", "grouped")]);
    assert_eq!(other["place"], "other places (each fewer than 5)");
    count(other, "attendances", 2);
    count(places.row(&[("kind", "not_recorded")]), "attendances", 12);
    for entry in walk(&dir.join("bundle")) {
        if let Ok(text) = std::fs::read_to_string(&entry) {
            assert!(
                !text.to_lowercase().contains("example road"),
                "{} shows an address under the threshold",
                entry.display()
            );
        }
    }
    let means = Table::read(&tables.join("istv_means.csv"));
    count(means.row(&[("means", "unknown")]), "attendances", 24);

    let html = std::fs::read_to_string(dir.join("bundle/index.html")).unwrap();
    assert!(html.contains("Violence seen by the emergency department: the Cardiff Model"));
    assert!(html.contains("charts/istv_time_heatmap.svg"));
    assert!(dir.join("bundle/charts/istv_time_heatmap.png").is_file());
    let summary_md = std::fs::read_to_string(dir.join("bundle/summary.md")).unwrap();
    assert!(
        summary_md.contains("The emergency department recorded 100 assault attendances in its ISTV return (2 of the period's 3 months have a return); 33.3% (95% CI 23.7%–44.6%) of patients who said whether it was reported said it had not been told to the police"),
        "{summary_md}"
    );
    // On open data the sections with nothing in them are left out, and numbered in order.
    assert!(!html.contains("<h2>6. Times</h2>"));
    assert!(html.contains("the Cardiff Model</h2>"));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn istv_problems_are_named_and_nothing_is_written() {
    let dir = workdir("istv-errors");
    let [december, _] = returns();
    let csv = std::fs::read_to_string(&december).unwrap();
    let failing = |args: &[&str], needle: &str| {
        let output = sna(&dir, args);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output).contains(needle),
            "expected {needle:?} in {}",
            stderr(&output)
        );
        assert!(!dir.join("out").exists());
    };
    std::fs::write(
        dir.join("bad_time.csv"),
        csv.replacen("29/12/2019,17:57", "29/12/2019,25:61", 1),
    )
    .unwrap();
    failing(
        &["import", "istv", "bad_time.csv", "--out", "out"],
        "bad_time.csv, line 2: column arrived_at (from `Arrival Date` + `Arrival Time`): `29/12/2019 25:61` is not a date and time in the format %d/%m/%Y %H:%M",
    );
    std::fs::write(
        dir.join("no_arrival.csv"),
        csv.replacen("RWES1,29/12/2019,17:57", "RWES1,,17:57", 1),
    )
    .unwrap();
    failing(
        &["import", "istv", "no_arrival.csv", "--out", "out"],
        "no_arrival.csv, line 2: column arrived_at (from `Arrival Date` + `Arrival Time`): empty, but the column is required",
    );
    std::fs::copy(&december, dir.join("copy.csv")).unwrap();
    failing(
        &["import", "istv", &december, "copy.csv", "--out", "out"],
        "copy.csv have identical contents: give the file once",
    );
    std::fs::write(
        dir.join("offences.toml"),
        "table = \"offences\"\n[columns.crime_id]\nfrom = \"Site\"\n",
    )
    .unwrap();
    failing(
        &[
            "import",
            "istv",
            &december,
            "--mapping",
            "offences.toml",
            "--out",
            "out",
        ],
        "offences.toml: offences needs column `offence_code`",
    );
    std::fs::write(
        dir.join("wrong_table.toml"),
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/mappings/force_crime_export.toml"),
        )
        .unwrap(),
    )
    .unwrap();
    failing(
        &[
            "import",
            "istv",
            &december,
            "--mapping",
            "wrong_table.toml",
            "--out",
            "out",
        ],
        "sna import istv writes istv, but the mapping's table is `offences`",
    );
}
