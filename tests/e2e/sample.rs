//! The committed sample (`data/sample/`): it validates with the planted problems reported, it is
//! reproducible by `sna generate`, and over April 2020 to September 2021 the assessment
//! reproduces the shape of LLR's published SNA findings within stated tolerances.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{Table, assert_success, num, sna, stdout, workdir};

fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample")
}

/// Percentage points.
const PP: f64 = 3.0;
/// Relative tolerance for ratios and prevalences.
const RELATIVE: f64 = 0.15;

fn within_pp(what: &str, got: f64, target: f64) {
    assert!(
        (got - target).abs() <= PP,
        "{what}: {got:.2} is not within {PP} points of {target}"
    );
}

fn within_relative(what: &str, got: f64, target: f64) {
    assert!(
        (got - target).abs() <= RELATIVE * target,
        "{what}: {got:.4} is not within {:.0}% of {target}",
        RELATIVE * 100.0
    );
}

#[test]
fn sample_validates_and_reports_the_planted_problems() {
    let dir = workdir("sample-validate");
    let data = sample_dir();
    let output = sna(&dir, &["validate", "--data", data.to_str().unwrap()]);
    assert_success(&output);
    let report = stdout(&output);
    for planted in [
        "offences.parquet, column lsoa_code: ",
        "have no LSOA",
        "have an LSOA code that is not in the area's LSOA lookup",
        "persons.parquet, column age: ",
        "have no age",
        "have sex U",
        "Usable: no errors",
    ] {
        assert!(report.contains(planted), "{planted:?} in:\n{report}");
    }
    let output = sna(
        &dir,
        &["validate", "--json", "--data", data.to_str().unwrap()],
    );
    assert_success(&output);
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let checks: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    for check in ["null_lsoa", "unknown_lsoa", "unknown_age", "unknown_sex"] {
        assert!(checks.contains(&check), "{check} in {checks:?}");
    }
}

#[test]
fn sample_reproduces_the_published_sna_shape() {
    let dir = workdir("sample-calibration");
    let data = sample_dir();
    let output = sna(
        &dir,
        &[
            "run",
            "--data",
            data.to_str().unwrap(),
            "--start",
            "2020-04-01",
            "--end",
            "2021-09-30",
            "--out",
            "bundle",
            "--quiet",
        ],
    );
    assert_success(&output);
    let tables = dir.join("bundle/tables");
    let read = |name: &str| Table::read(&tables.join(format!("{name}.csv")));

    let headline = read("headline");
    let value = |id: &str| num(headline.row(&[("measure", id)]), "value");
    // About 0.5% of residents recorded as victims and 0.3% as offenders.
    within_relative("victim prevalence %", value("victim_prevalence_pct"), 0.5);
    within_relative(
        "offender prevalence %",
        value("offender_prevalence_pct"),
        0.3,
    );
    // 76% of offenders and 69% of victims male.
    within_pp("offenders male %", value("offenders_male_pct"), 76.0);
    within_pp("victims male %", value("victims_male_pct"), 69.0);
    // Under-25 offender rate about 1.6 times the 25+ rate, as the published SNA computes it
    // (per resident under 25 of any age). The measure now counts offenders from 10, the age
    // of criminal responsibility, per resident aged 10 to 24, so the target is restated by the
    // ratio of the two denominators (all under-25s over 10-24s), read from the bundle.
    let ratios = read("rate_ratio_by_group");
    let all = |role: &str| {
        num(
            ratios.row(&[("ho_group", "All serious violence"), ("role", role)]),
            "young_population",
        )
    };
    let restated = all("victim") / all("offender");
    assert!(restated > 1.0, "under-25s outnumber 10-24s");
    within_relative(
        "offender rate ratio",
        value("offender_rate_ratio_u25"),
        1.6 * restated,
    );
    // About 1 in 10 offences knife-enabled; about 31% linked to the night-time economy.
    within_pp("knife %", value("knife_pct"), 10.0);
    within_pp("NTE %", value("nte_pct"), 31.0);
    // About 57% of offences in Leicester.
    let top = headline.row(&[("measure", "top_district_share_pct")]);
    assert_eq!(top["label"], "Leicester");
    within_pp("Leicester share %", num(top, "value"), 57.0);
    // Repeat offenders linked to about 38% of offences (52% with an under-25 offender).
    within_pp(
        "repeat offender share %",
        value("repeat_offender_share_pct"),
        38.0,
    );
    within_pp(
        "repeat offender share, under 25 %",
        value("repeat_offender_share_u25_pct"),
        52.0,
    );
    // Peaks at 15:00-16:00 and 23:00-00:00.
    let peak = value("peak_hour");
    assert!(peak == 15.0 || peak == 23.0, "peak hour {peak}");
    let hours = read("hour_profile");
    let mut by_count: Vec<(i64, i64)> = hours
        .rows
        .iter()
        .map(|r| (num(r, "offences") as i64, num(r, "hour") as i64))
        .collect();
    by_count.sort_by(|a, b| b.cmp(a));
    let top_two: Vec<i64> = by_count.iter().take(2).map(|(_, h)| *h).collect();
    assert!(
        top_two.contains(&15) && top_two.contains(&23),
        "top two hours {top_two:?}"
    );

    // About 3.5 times for robbery (restated for offenders from 10, as above).
    within_relative(
        "robbery offender rate ratio",
        num(
            ratios.row(&[("ho_group", "Robbery"), ("role", "offender")]),
            "rate_ratio",
        ),
        3.5 * restated,
    );

    // Violence with injury the largest group.
    let mix = read("offence_mix");
    let mut groups: BTreeMap<String, f64> = BTreeMap::new();
    for r in &mix.rows {
        *groups.entry(r["ho_group"].clone()).or_default() += num(r, "offences");
    }
    let largest = groups.iter().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    assert_eq!(largest, "Violence with injury", "{groups:?}");

    // 15-19 then 10-14 the highest-rate age bands, for victims and for offenders.
    let age_sex = read("age_sex");
    for role in ["victim", "offender"] {
        let mut bands: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        for r in age_sex.rows.iter().filter(|r| r["role"] == role) {
            let entry = bands.entry(r["age_band"].clone()).or_default();
            entry.0 += num(r, "persons");
            entry.1 += num(r, "person_years");
        }
        let mut rates: Vec<(f64, String)> = bands
            .into_iter()
            .map(|(band, (p, n))| (p / n, band))
            .collect();
        rates.sort_by(|a, b| b.0.total_cmp(&a.0));
        assert_eq!(rates[0].1, "15-19", "{role}: {rates:?}");
        assert_eq!(rates[1].1, "10-14", "{role}: {rates:?}");
    }

    // A visible dip in April-May 2020 (lockdown) against the rest of the period.
    let trend = read("trend_monthly");
    let all: Vec<(String, f64)> = trend
        .rows
        .iter()
        .filter(|r| r["cohort"] == "all")
        .map(|r| (r["month"].clone(), num(r, "offences")))
        .collect();
    let lockdown: f64 = all
        .iter()
        .filter(|(m, _)| m == "2020-04" || m == "2020-05")
        .map(|(_, v)| v)
        .sum::<f64>()
        / 2.0;
    let others: Vec<f64> = all
        .iter()
        .filter(|(m, _)| m != "2020-04" && m != "2020-05")
        .map(|(_, v)| *v)
        .collect();
    let mean = others.iter().sum::<f64>() / others.len() as f64;
    assert!(
        lockdown < 0.85 * mean,
        "lockdown months {lockdown:.0} vs other months {mean:.0}"
    );

    // Plausible A&E assault rate for an English county: 1 to 5 per 1,000 a year (the measure is
    // a year: 18 months here).
    let ae = value("ae_assault_rate_per_1000_year");
    assert!(
        (1.0..=5.0).contains(&ae),
        "A&E assault rate {ae:.2} per 1,000 a year"
    );
}

#[test]
fn committed_sample_is_what_generate_writes() {
    let dir = workdir("regenerate");
    assert_success(&sna(&dir, &["generate", "--out", "sample"]));
    for file in [
        "offences.parquet",
        "persons.parquet",
        "ae_attendances.parquet",
        "ambulance.parquet",
        "population.parquet",
        "manifest.json",
    ] {
        let committed = std::fs::read(sample_dir().join(file)).unwrap();
        let regenerated = std::fs::read(dir.join("sample").join(file)).unwrap();
        assert!(
            committed == regenerated,
            "data/sample/{file} is not what `sna generate` writes with the defaults"
        );
    }
}

#[test]
fn generate_is_deterministic_and_valid() {
    let dir = workdir("generate");
    let args = |out: &str| -> Vec<String> {
        [
            "generate",
            "--out",
            out,
            "--seed",
            "7",
            "--scale",
            "0.05",
            "--start",
            "2021-01-01",
            "--end",
            "2021-03-31",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    for out in ["a", "b"] {
        let a: Vec<String> = args(out);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        assert_success(&sna(&dir, &a));
    }
    for file in [
        "offences.parquet",
        "persons.parquet",
        "ae_attendances.parquet",
        "ambulance.parquet",
        "population.parquet",
    ] {
        let a = std::fs::read(dir.join("a").join(file)).unwrap();
        let b = std::fs::read(dir.join("b").join(file)).unwrap();
        assert!(a == b, "{file} differs between two runs with the same seed");
    }
    // Valid against the contract (the workdir has no sna.toml, so the defaults apply).
    assert_success(&sna(&dir, &["validate", "--data", "a"]));
    let other: Vec<&str> = vec![
        "generate",
        "--out",
        "c",
        "--seed",
        "8",
        "--scale",
        "0.05",
        "--start",
        "2021-01-01",
        "--end",
        "2021-03-31",
    ];
    assert_success(&sna(&dir, &other));
    assert_ne!(
        std::fs::read(dir.join("a/offences.parquet")).unwrap(),
        std::fs::read(dir.join("c/offences.parquet")).unwrap(),
        "another seed gives other data"
    );
}

/// Exports the sample's partner pack with `extra` arguments (and `config` as sna.toml, if
/// any), checks it as [`crate::partner::check_pack`] does, and audits it with `sna audit-pack`:
/// exit 0, no count recovered exactly, none narrowed. Returns the manifest.
fn audited_sample_pack(
    name: &str,
    config: Option<&str>,
    extra: &[&str],
) -> (crate::Workdir, serde_json::Value) {
    let dir = workdir(name);
    if let Some(config) = config {
        std::fs::write(dir.join("sna.toml"), config).unwrap();
    }
    let data = sample_dir();
    let mut args = vec![
        "export",
        "--partner",
        "--data",
        data.to_str().unwrap(),
        "--out",
        "pack",
    ];
    args.extend_from_slice(extra);
    let output = sna(&dir, &args);
    assert_success(&output);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("pack/manifest.json")).unwrap())
            .unwrap();
    let threshold = manifest["threshold"].as_i64().unwrap();
    crate::partner::check_pack(&dir.join("pack"), threshold);
    let output = sna(&dir, &["audit-pack", "pack"]);
    let report = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(report.contains("PASS"), "{report}");
    assert!(!report.contains("FAIL"), "{report}");
    let readme = std::fs::read_to_string(dir.join("pack/README.md")).unwrap();
    for words in [
        "**Method**: cell suppression",
        "until the pack passes the audit",
        "**What an intruder is assumed to know**",
        &format!("threshold {threshold}, protection level {threshold}"),
        "**Information lost**",
    ] {
        assert!(readme.contains(words), "{words}\n{readme}");
    }
    (dir, manifest)
}

fn suppressed(manifest: &serde_json::Value) -> u64 {
    manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["suppressed"].as_u64().unwrap())
        .sum()
}

#[test]
fn partner_pack_from_the_sample_passes_the_audit() {
    let (_dir, manifest) = audited_sample_pack("sample-pack", None, &[]);
    assert_eq!(manifest["period_start"], "2020-04-01");
    let suppressed = suppressed(&manifest);
    assert!(
        suppressed > 100,
        "the sample has small cells to protect ({suppressed} suppressed)"
    );
    // More than differencing alone would hide: the audit needed complements.
    assert!(manifest["disclosure"]["secondary"].as_u64().unwrap() > 226);
}

#[test]
fn partner_pack_of_three_months_of_the_sample_passes_the_audit() {
    let (dir, manifest) = audited_sample_pack(
        "sample-pack-3m",
        Some("start = 2021-01-01\nend = 2021-03-31\n"),
        &[],
    );
    assert_eq!(manifest["period_end"], "2021-03-31");
    assert!(suppressed(&manifest) > 1_000);
    // A stricter protection than the pack was made for fails, listing the cells.
    let output = sna(&dir, &["audit-pack", "pack", "--protection", "6"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(stdout(&output).contains("FAIL"), "{}", stdout(&output));
}

#[test]
fn partner_pack_of_the_sample_at_threshold_ten_passes_the_audit() {
    let (_dir, manifest) = audited_sample_pack("sample-pack-t10", None, &["--threshold", "10"]);
    assert_eq!(manifest["threshold"], 10);
    assert_eq!(manifest["disclosure"]["protection"], 10);
}

/// Asserts that every column of a Parquet file carries the standard logical type of what it
/// holds, so other tools (DuckDB, pandas, R arrow, Power BI) read it as such: times as
/// TIMESTAMP (milli- or microseconds, not adjusted to UTC), dates as DATE, text as STRING.
fn assert_standard_logical_types(path: &Path) {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::basic::{LogicalType, TimeUnit as ParquetUnit};
    let file = std::fs::File::open(path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let arrow = builder.schema().clone();
    let columns = builder
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .to_vec();
    assert_eq!(arrow.fields().len(), columns.len(), "{}", path.display());
    for (field, column) in arrow.fields().iter().zip(&columns) {
        let logical = column.logical_type_ref();
        let place = format!("{} column {}", path.display(), field.name());
        match field.data_type() {
            arrow::datatypes::DataType::Timestamp(_, _) => assert!(
                matches!(
                    logical,
                    Some(LogicalType::Timestamp(t))
                        if !t.is_adjusted_to_u_t_c
                            && matches!(t.unit, ParquetUnit::MILLIS | ParquetUnit::MICROS)
                ),
                "{place}: {logical:?}"
            ),
            arrow::datatypes::DataType::Date32 | arrow::datatypes::DataType::Date64 => {
                assert_eq!(logical, Some(&LogicalType::Date), "{place}")
            }
            arrow::datatypes::DataType::Utf8 | arrow::datatypes::DataType::LargeUtf8 => {
                assert_eq!(logical, Some(&LogicalType::String), "{place}")
            }
            _ => {}
        }
    }
}

#[test]
fn every_parquet_file_written_has_standard_logical_types() {
    let dir = workdir("standard-parquet");
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    let parquet_in = |dir: &Path| -> Vec<std::path::PathBuf> {
        let mut out: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .collect();
        out.sort();
        out
    };
    files.extend(parquet_in(&sample_dir()));
    crate::fixture::write_extract(&dir.join("extract"));
    std::fs::write(dir.join("sna.toml"), crate::fixture::CONFIG).unwrap();
    assert_success(&sna(&dir, &["run", "--out", "bundle", "--quiet"]));
    files.extend(parquet_in(&dir.join("bundle/tables")));
    assert_success(&sna(&dir, &["export", "--partner", "--out", "pack"]));
    files.extend(parquet_in(&dir.join("pack")));
    assert_success(&sna(
        &dir,
        &[
            "query",
            "SELECT crime_id, committed_at, recorded_date FROM offences",
            "--format",
            "parquet",
            "--output",
            "offences-copy.parquet",
        ],
    ));
    files.push(dir.join("offences-copy.parquet"));
    assert!(files.len() > 30, "{files:?}");
    for file in &files {
        assert_standard_logical_types(file);
    }
    // The sample's times in particular.
    let offences = sample_dir().join("offences.parquet");
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&offences).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        builder
            .schema()
            .field_with_name("committed_at")
            .unwrap()
            .data_type(),
        arrow::datatypes::DataType::Timestamp(_, None)
    ));
}
