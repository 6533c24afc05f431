//! Reliability: what a careless or hostile user does to vrn-sna, and what must then hold.
//!
//! - Outputs never destroy what the tool did not write: a directory of the user's, a regular
//!   file, the extract itself, a bundle the user added files to, a query's own inputs.
//! - Replacing an output is one step: a reader never finds the bundle missing, and a run
//!   killed at any moment leaves the previous output byte-identical, with its strays removed
//!   by the next run.
//! - Every failure is a message naming the file, column or value, never an abort, a hang, a
//!   raw internal error or a control character echoed to the terminal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use crate::{Workdir, assert_success, fixture, sna, snapshot, stderr, stdout, workdir};

/// A workdir with the fixture extract in `extract/` and its config.
fn setup(name: &str) -> Workdir {
    let dir = workdir(name);
    fixture::write_extract(&dir.join("extract"));
    std::fs::write(dir.join("sna.toml"), fixture::CONFIG).unwrap();
    dir
}

/// Names in `dir` that a run leaves only while it is running.
fn strays(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.contains(".partial")
                || n.contains(".draft-")
                || n.contains(".link-")
                || n.ends_with(".tmp")
        })
        .collect();
    names.sort();
    names
}

/// Runs `sna`, expecting a refusal: exit 2, no panic; returns stderr.
fn refused(dir: &Path, args: &[&str]) -> String {
    let output = sna(dir, args);
    let err = stderr(&output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "expected a refusal (exit 2) for {args:?}:\n{}\n{err}",
        stdout(&output)
    );
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Runs `sna` expecting a clear failure: a non-zero exit code (not a signal), no panic, no
/// internal error; returns stderr.
fn fails_clearly(dir: &Path, args: &[&str]) -> String {
    let output = sna(dir, args);
    let err = stderr(&output);
    assert!(
        matches!(output.status.code(), Some(c) if c != 0 && c != 101),
        "expected a clear failure for {args:?}, got {}:\n{err}",
        output.status
    );
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{err}"
    );
    err
}

fn assert_mentions(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
    }
}

/// Runs `sna` with a time limit; a command still running then is killed and the test fails.
fn sna_within(dir: &Path, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sna"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sna {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Outputs never destroy what the tool did not write.

#[test]
fn outputs_refuse_directories_and_files_they_do_not_own() {
    let dir = setup("rel-refuse");
    std::fs::create_dir(dir.join("mine")).unwrap();
    std::fs::write(dir.join("mine/notes.txt"), "my notes").unwrap();
    std::fs::write(dir.join("report.docx"), "my report").unwrap();
    let before_mine = snapshot(&dir.join("mine"));
    let before_extract = snapshot(&dir.join("extract"));
    for args in [
        &["run", "--out", "mine"][..],
        &["export", "--partner", "--out", "mine"],
        &["generate", "--out", "mine"],
    ] {
        let err = refused(&dir, args);
        assert_mentions(
            &err,
            &["mine", "not empty", "refusing", "Nothing was changed"],
        );
    }
    for args in [
        &["run", "--out", "report.docx"][..],
        &["export", "--partner", "--out", "report.docx"],
        &["generate", "--out", "report.docx"],
    ] {
        let err = refused(&dir, args);
        assert_mentions(&err, &["report.docx", "not a directory"]);
    }
    // The extract, a directory holding it, and a place inside it.
    for (out, relation) in [
        ("extract", "is the input directory"),
        (".", "contains the input directory"),
        ("extract/bundle", "is inside the input directory"),
    ] {
        for command in [
            &["run", "--out", out][..],
            &["export", "--partner", "--out", out],
        ] {
            let err = refused(&dir, command);
            assert_mentions(&err, &[relation]);
        }
    }
    // A generated extract is not a bundle, and a bundle is not an extract.
    assert_success(&sna(&dir, &["run", "--out", "bundle", "--quiet"]));
    let err = refused(&dir, &["generate", "--out", "bundle"]);
    assert_mentions(&err, &["not a generated extract"]);
    assert_eq!(snapshot(&dir.join("mine")), before_mine);
    assert_eq!(snapshot(&dir.join("extract")), before_extract);
    assert_eq!(
        std::fs::read(dir.join("report.docx")).unwrap(),
        b"my report"
    );
    assert_eq!(strays(&dir), Vec::<String>::new());
}

#[test]
fn a_bundle_holding_the_users_files_is_not_replaced() {
    let dir = setup("rel-foreign");
    assert_success(&sna(&dir, &["run", "--out", "bundle", "--quiet"]));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("bundle/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["kind"], "vrn-sna assessment bundle");
    let files = manifest["files"].as_array().unwrap();
    let listed = |path: &str| {
        files
            .iter()
            .any(|f| f["path"] == path && f["sha256"].is_string())
    };
    assert!(listed("index.html") && listed("tables/headline.csv"));
    std::fs::write(dir.join("bundle/charts/annotated.png"), "mine").unwrap();
    let before = snapshot(&dir.join("bundle"));
    let err = refused(&dir, &["run", "--out", "bundle"]);
    assert_mentions(&err, &["charts/annotated.png", "did not write"]);
    assert_eq!(snapshot(&dir.join("bundle")), before);
    std::fs::remove_file(dir.join("bundle/charts/annotated.png")).unwrap();
    assert_success(&sna(&dir, &["run", "--out", "bundle", "--quiet"]));
    // The pack, likewise.
    assert_success(&sna(&dir, &["export", "--partner", "--out", "pack"]));
    std::fs::write(dir.join("pack/extra.csv"), "mine").unwrap();
    let err = refused(&dir, &["export", "--partner", "--out", "pack"]);
    assert_mentions(&err, &["extra.csv"]);
}

#[test]
fn query_output_never_replaces_an_input_and_a_failed_query_keeps_the_old_file() {
    let dir = setup("rel-query-output");
    let before = snapshot(&dir.join("extract"));
    for output in [
        "extract/offences.parquet",
        "extract/new.csv",
        "./extract/../extract/persons.parquet",
    ] {
        let err = refused(
            &dir,
            &[
                "query",
                "SELECT * FROM offences",
                "--format",
                "parquet",
                "--output",
                output,
            ],
        );
        assert_mentions(&err, &[output, "reads"]);
    }
    std::fs::write(dir.join("q.sql"), "SELECT 1 AS one").unwrap();
    let err = refused(
        &dir,
        &[
            "query", "--file", "q.sql", "--format", "csv", "--output", "q.sql",
        ],
    );
    assert_mentions(&err, &["q.sql"]);
    assert_eq!(
        std::fs::read(dir.join("q.sql")).unwrap(),
        b"SELECT 1 AS one"
    );
    let err = refused(
        &dir,
        &[
            "query", "SELECT 1", "--format", "csv", "--output", "extract",
        ],
    );
    assert_mentions(&err, &["is a directory"]);
    assert_eq!(snapshot(&dir.join("extract")), before);

    // A query that fails part-way leaves the previous result as it was, in every format.
    for (format, file) in [
        ("csv", "out.csv"),
        ("json", "out.json"),
        ("parquet", "out.parquet"),
    ] {
        let good = sna(
            &dir,
            &[
                "query",
                "SELECT crime_id FROM offences ORDER BY crime_id",
                "--format",
                format,
                "--output",
                file,
            ],
        );
        assert_success(&good);
        let previous = std::fs::read(dir.join(file)).unwrap();
        assert!(!previous.is_empty());
        let err = fails_clearly(
            &dir,
            &[
                "query",
                "SELECT CAST(crime_id AS INT) AS n FROM offences",
                "--format",
                format,
                "--output",
                file,
            ],
        );
        assert_mentions(&err, &["C01"]);
        assert_eq!(std::fs::read(dir.join(file)).unwrap(), previous, "{file}");
    }
    let left: Vec<String> = std::fs::read_dir(&*dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        // The test's own cache directory (XDG_CACHE_HOME, set by sna()) is not a leftover.
        .filter(|n| n.starts_with('.') && n != ".cache-home")
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

// ---------------------------------------------------------------------------------------------
// Replacing an output is one step.

#[test]
fn readers_never_find_the_bundle_missing_during_replacements() {
    let dir = setup("rel-readers");
    assert_success(&sna(&dir, &["run", "--out", "bundle", "--quiet"]));
    let index = dir.join("bundle/index.html");
    let stop = Arc::new(AtomicBool::new(false));
    let (reads, misses) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let reader = {
        let (stop, reads, misses, index) = (
            Arc::clone(&stop),
            Arc::clone(&reads),
            Arc::clone(&misses),
            index.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                reads.fetch_add(1, Ordering::Relaxed);
                if std::fs::metadata(&index).is_err() {
                    misses.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    for _ in 0..4 {
        assert_success(&sna(&dir, &["run", "--out", "bundle", "--quiet"]));
    }
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    assert!(reads.load(Ordering::Relaxed) > 1000, "the reader ran");
    assert_eq!(
        misses.load(Ordering::Relaxed),
        0,
        "index.html was missing in {} of {} reads",
        misses.load(Ordering::Relaxed),
        reads.load(Ordering::Relaxed)
    );
    assert_eq!(strays(&dir), Vec::<String>::new());
}

/// Starts `sna args` and kills it with SIGKILL after `delay`; true when it was killed, false
/// when it had already finished.
fn kill_after(dir: &Path, args: &[&str], delay: Duration) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sna"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let finished = child.try_wait().unwrap().is_some();
    let _ = child.kill();
    let _ = child.wait();
    !finished
}

/// Asserts two snapshots are equal, naming the files that differ (not dumping their bytes).
fn assert_same(now: &BTreeMap<PathBuf, Vec<u8>>, before: &BTreeMap<PathBuf, Vec<u8>>, what: &str) {
    let differ: Vec<&PathBuf> = now
        .keys()
        .chain(before.keys())
        .filter(|k| now.get(*k) != before.get(*k))
        .collect();
    assert!(differ.is_empty(), "{what}: these files changed: {differ:?}");
}

/// Asserts that `bundle` holds exactly the files its manifest lists, each with its hash.
fn assert_whole_bundle(bundle: &Path, what: &str) {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    let mut listed: Vec<String> = Vec::new();
    for file in manifest["files"].as_array().expect("files listed") {
        let path = file["path"].as_str().unwrap();
        let bytes = std::fs::read(bundle.join(path)).unwrap();
        use sha2::Digest;
        let hash: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(file["sha256"].as_str().unwrap(), hash, "{what}: {path}");
        listed.push(path.to_owned());
    }
    listed.push("manifest.json".to_owned());
    listed.sort();
    let mut present: Vec<String> = snapshot(bundle)
        .keys()
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect();
    present.sort();
    assert_eq!(present, listed, "{what}: files besides the manifest's");
}

/// How long a command takes, for spreading kills over its whole run.
fn duration_of(dir: &Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    assert_success(&sna(dir, args));
    started.elapsed()
}

#[test]
fn a_run_killed_at_any_moment_leaves_the_previous_bundle_and_no_strays() {
    let dir = setup("rel-kill-run");
    let args = ["run", "--out", "bundle", "--quiet"];
    let took = duration_of(&dir, &args);
    let mut before = snapshot(&dir.join("bundle"));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
    let mut killed = 0;
    for _ in 0..8 {
        let delay = took.mul_f64(rng.random_range(0.0..1.0));
        if kill_after(&dir, &args, delay) {
            killed += 1;
            let now = snapshot(&dir.join("bundle"));
            if now != before {
                // Killed after its swap, before it exited: then the new bundle is whole, every
                // file exactly as its manifest records.
                assert_whole_bundle(&dir.join("bundle"), &format!("killed after {delay:?}"));
                before = now;
            } else {
                assert_same(&now, &before, &format!("killed after {delay:?}"));
            }
        } else {
            // It finished first and published a whole new bundle (its manifest has new times).
            let now = snapshot(&dir.join("bundle"));
            assert_eq!(
                now.keys().collect::<Vec<_>>(),
                before.keys().collect::<Vec<_>>()
            );
            before = now;
        }
    }
    assert!(
        killed >= 4,
        "only {killed} of 8 runs were killed before they finished"
    );
    // The next run removes what the killed runs left, and publishes.
    assert_success(&sna(&dir, &args));
    assert_eq!(strays(&dir), Vec::<String>::new());
    assert!(dir.join("bundle/index.html").is_file());
}

#[test]
fn a_refresh_killed_at_any_moment_leaves_the_dashboard_and_no_strays() {
    let dir = workdir("rel-kill-refresh");
    crate::copy_sample_extract(&dir);
    let args = [
        "refresh",
        "--data",
        "extract",
        "--dashboard",
        "site/dashboard",
        "--force",
        "--quiet",
    ];
    let took = duration_of(&dir, &args);
    let before = snapshot(&dir.join("site/dashboard"));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for _ in 0..6 {
        let delay = took.mul_f64(rng.random_range(0.0..1.0));
        kill_after(&dir, &args, delay);
        // A refresh killed after its swap has published a complete new version; one killed
        // before it leaves the old one. Either way the dashboard is whole: the same files,
        // each either all old or from one new version.
        let now = snapshot(&dir.join("site/dashboard"));
        if now != before {
            assert_eq!(
                now.keys().collect::<Vec<_>>(),
                before.keys().collect::<Vec<_>>(),
                "killed after {delay:?}: a dashboard with other files"
            );
        }
    }
    assert_success(&sna(&dir, &args));
    assert_eq!(strays(&dir.join("site")), Vec::<String>::new());
    let versions: Vec<String> = std::fs::read_dir(dir.join("site/.dashboard.versions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        versions.len() <= 2 && !versions.iter().any(|v| v.starts_with(".draft")),
        "{versions:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Every failure is a message.

#[test]
fn deep_expressions_are_answered_or_refused_never_aborted() {
    let dir = setup("rel-deep-expression");
    let chain = |n: usize| {
        let terms: Vec<String> = (0..n).map(|i| format!("lsoa_code = 'a{i}'")).collect();
        format!(
            "SELECT COUNT(*) AS n FROM offences WHERE {}",
            terms.join(" OR ")
        )
    };
    // 900 terms: answered.
    std::fs::write(dir.join("ok.sql"), chain(900)).unwrap();
    let output = sna_within(
        &dir,
        &["query", "--file", "ok.sql", "--format", "csv"],
        Duration::from_secs(120),
    );
    assert_success(&output);
    assert_eq!(stdout(&output), "n\n0\n");
    // 5,000 and 100,000 terms (the abort, and far beyond): refused at once, with advice.
    for n in [5_000, 100_000] {
        std::fs::write(dir.join("deep.sql"), chain(n)).unwrap();
        let output = sna_within(
            &dir,
            &["query", "--file", "deep.sql"],
            Duration::from_secs(60),
        );
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{n}: {err}");
        assert_mentions(&err, &["nested more than 1000 levels", "IN (a, b, c, ...)"]);
    }
    // The shell says the same and goes on.
    let output = crate::sna_with_input(
        &dir,
        &["shell"],
        &format!("{};\nSELECT 2 AS two;\n", chain(5_000)),
    );
    assert_mentions(&stderr(&output), &["nested more than 1000 levels"]);
    assert_mentions(&stdout(&output), &["two"]);
}

#[test]
fn periods_of_centuries_are_refused_at_once() {
    let dir = setup("rel-long-period");
    let output = sna_within(
        &dir,
        &[
            "run",
            "--start",
            "0001-01-01",
            "--end",
            "9999-12-31",
            "--out",
            "bundle",
        ],
        Duration::from_secs(60),
    );
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert_mentions(&err, &["0001-01-01", "outside the dates"]);
    let output = sna_within(
        &dir,
        &[
            "run",
            "--start",
            "1950-01-01",
            "--end",
            "2100-12-31",
            "--out",
            "bundle",
        ],
        Duration::from_secs(60),
    );
    assert_mentions(&stderr(&output), &["1812 months", "at most 600"]);
    assert!(!dir.join("bundle").exists());
}

#[test]
fn inputs_that_are_not_files_are_named_and_never_waited_on() {
    let dir = setup("rel-fifo");
    std::fs::remove_file(dir.join("extract/offences.parquet")).unwrap();
    let made = Command::new("mkfifo")
        .arg(dir.join("extract/offences.parquet"))
        .status()
        .unwrap();
    assert!(made.success());
    for args in [
        &["validate"][..],
        &["run", "--out", "bundle"],
        &["tables"],
        &["query", "SELECT 1"],
    ] {
        let output = sna_within(&dir, args, Duration::from_secs(60));
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {err}");
        assert_mentions(&err, &["offences.parquet", "named pipe (FIFO)"]);
    }
    std::fs::remove_file(dir.join("extract/offences.parquet")).unwrap();
    std::fs::create_dir(dir.join("extract/offences.parquet")).unwrap();
    let err = fails_clearly(&dir, &["validate"]);
    assert_mentions(&err, &["offences.parquet", "is a directory"]);
    assert!(!err.contains("PAR1"), "{err}");
    assert!(!dir.join("bundle").exists());
}

/// Replaces the fixture's offences with `csv`.
fn write_offences(dir: &Path, csv: &str) {
    fixture::write_parquet(
        &dir.join("extract/offences.parquet"),
        csv,
        fixture::offence_fields(),
    );
}

const OFFENCES_HEADER: &str = "crime_id,offence_code,committed_at,recorded_date,lsoa_code,location_type,domestic,knife,nte,easting,northing\n";

#[test]
fn far_future_and_date_only_times_are_data_quality_findings() {
    let dir = setup("rel-times");
    let cases: [(&str, &str, &[&str]); 3] = [
        // A timestamp in 2300 (past the nanosecond range, which ends in 2262).
        (
            "2021-03-05T15:30:00",
            "2300-06-01T12:00:00",
            &["committed_at", "2300", "in the future"],
        ),
        // Date-only times (midnight), one in 2052.
        (
            "2021-03-05",
            "2052-06-01",
            &["committed_at", "2052", "in the future"],
        ),
        // The latest offence at midnight, after every recorded date: DataFusion's interval
        // analysis of `recorded_date < CAST(committed_at AS DATE)` failed on it.
        (
            "2021-03-05T15:30:00",
            "2021-12-31T00:00:00",
            &["were recorded before the date they were committed"],
        ),
    ];
    for (first, second, expected) in cases {
        let csv = format!(
            "{OFFENCES_HEADER}C01,8N,{first},2021-03-05,A1,street,false,false,false,1000,1000\n\
             C02,8N,{second},2021-03-07,A1,street,false,false,false,1000,1000\n"
        );
        write_offences(&dir, &csv);
        let output = sna(&dir, &["validate"]);
        let text = format!("{}{}", stdout(&output), stderr(&output));
        assert!(
            !text.contains("internal error") && !text.contains("DataFusion"),
            "{second}: {text}"
        );
        assert_mentions(&text, expected);
        assert_success(&sna(&dir, &["run", "--out", "bundle", "--quiet"]));
    }
}

#[test]
fn control_characters_in_data_never_reach_the_terminal() {
    let dir = setup("rel-escapes");
    let csv = format!(
        "{OFFENCES_HEADER}C01,8N,2021-03-05T15:30:00,2021-03-05,A1,street,false,false,false,1000,1000\n\
         C02,\u{1b}[2J\u{1b}[31mX,2021-03-06T23:10:00,2021-03-07,A1,street,false,false,false,1000,1000\n"
    );
    write_offences(&dir, &csv);
    let output = sna(&dir, &["validate"]);
    let text = format!("{}{}", stdout(&output), stderr(&output));
    assert!(
        !text.contains('\u{1b}'),
        "a raw ESC reached the terminal:\n{text:?}"
    );
    assert_mentions(&text, &["\\u{1b}[2J"]);
    let output = sna(&dir, &["run", "--out", "bundle"]);
    assert!(!stderr(&output).contains('\u{1b}'));
    let output = sna(&dir, &["query", "SELECT offence_code FROM offences"]);
    assert!(!stdout(&output).contains('\u{1b}'), "{:?}", stdout(&output));
    // Machine formats keep the value exactly.
    let output = sna(
        &dir,
        &[
            "query",
            "SELECT offence_code FROM offences WHERE crime_id = 'C02'",
            "--format",
            "json",
        ],
    );
    assert_mentions(&stdout(&output), &["\\u001b[2J"]);
}

#[test]
fn corrupt_pages_are_named_by_every_command() {
    let dir = workdir("rel-corrupt-pages");
    crate::copy_sample_extract(&dir);
    crate::bad_input::scramble_pages(&dir.join("extract/offences.parquet"));
    for args in [
        &["tables", "--data", "extract"][..],
        &[
            "query",
            "--data",
            "extract",
            "SELECT * FROM offences",
            "--format",
            "csv",
        ],
        &["export", "--partner", "--data", "extract", "--out", "pack"],
    ] {
        let err = fails_clearly(&dir, args);
        assert_mentions(&err, &["offences.parquet", "cannot be read"]);
    }
    assert!(!dir.join("pack").exists());
}

#[test]
fn long_and_non_latin_titles_name_the_bundle() {
    let dir = setup("rel-titles");
    let long = "Serious violence ".repeat(16);
    let config = format!(
        "{}title = \"{long}\"\n",
        fixture::CONFIG.replace("title = \"Test assessment\"\n", "")
    );
    std::fs::write(dir.join("sna.toml"), config).unwrap();
    assert_success(&sna(&dir, &["run", "--quiet"]));
    let names: Vec<String> = std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(
        names[0].starts_with("serious-violence-serious-violence")
            && names[0].ends_with("-2021-01-01-to-2021-12-31")
    );
    assert!(names[0].len() < 120, "{}", names[0]);

    let config = fixture::CONFIG.replace("Test assessment", "Trais difrifol — Gwent Tân");
    std::fs::write(dir.join("sna.toml"), config).unwrap();
    assert_success(&sna(&dir, &["run", "--quiet"]));
    assert!(
        dir.join("reports/trais-difrifol-gwent-tan-2021-01-01-to-2021-12-31/index.html")
            .is_file()
    );
}

#[test]
fn the_shell_runs_a_last_statement_without_its_semicolon() {
    let dir = setup("rel-shell-eof");
    let output = crate::sna_with_input(&dir, &["shell"], "SELECT 41 + 1 AS answer");
    assert_success(&output);
    assert_mentions(&stdout(&output), &["answer", "42"]);
}

#[test]
fn a_query_larger_than_the_memory_limit_fails_with_a_message() {
    let dir = workdir("rel-memory");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    std::fs::write(
        dir.join("sna.toml"),
        format!(
            "data_dir = \"{}\"\nmemory_limit = \"32 MiB\"\n",
            sample.display()
        ),
    )
    .unwrap();
    // 342,000 offences joined with themselves and sorted: 117 billion rows.
    let output = sna_within(
        &dir,
        &[
            "query",
            "SELECT a.crime_id, b.crime_id AS other FROM offences a CROSS JOIN offences b ORDER BY a.crime_id, other",
            "--format",
            "csv",
        ],
        Duration::from_secs(120),
    );
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert_mentions(&err, &["memory limit of 32.0 MiB", "memory_limit"]);
    assert!(output.stdout.is_empty());
    let err = fails_clearly(&dir, &["query", "SELECT 1", "--config", "missing.toml"]);
    assert_mentions(&err, &["missing.toml"]);
    std::fs::write(dir.join("bad.toml"), "memory_limit = \"lots\"\n").unwrap();
    let err = fails_clearly(&dir, &["query", "SELECT 1", "--config", "bad.toml"]);
    assert_mentions(&err, &["memory_limit", "lots"]);
}

/// A job of `sna run` that cannot fit its memory limit stops the run naming the job, its file
/// and the limit, and writes no bundle.
#[test]
fn a_job_larger_than_the_memory_limit_stops_the_run_naming_it() {
    let dir = workdir("rel-memory-run");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    crate::measures::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("queries"),
        &dir.join("queries"),
    );
    std::fs::write(
        dir.join("queries/zz_pairs.sql"),
        "SELECT a.crime_id, b.crime_id AS other FROM sv_offences a CROSS JOIN sv_offences b \
         ORDER BY a.crime_id, other\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("sna.toml"),
        format!(
            "data_dir = \"{}\"\nqueries_dir = \"queries\"\nmemory_limit = \"64 MiB\"\n",
            sample.display()
        ),
    )
    .unwrap();
    let output = sna_within(
        &dir,
        &["run", "--quiet", "--no-cache", "--out", "bundle"],
        Duration::from_secs(300),
    );
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert_mentions(
        &err,
        &[
            "zz_pairs",
            "queries/zz_pairs.sql",
            "memory limit of 64.0 MiB",
            "memory_limit",
        ],
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(!dir.join("bundle").exists());
}

/// What the first review of this suite found still got through (see the note): each
/// is refused now, nothing touched.
#[cfg(unix)]
#[test]
fn links_dot_dots_and_special_files_do_not_get_past_the_checks() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let dir = setup("rel-links");
    let before = snapshot(&dir.join("extract"));
    // An extract of links into a store: writing through a link is writing the input.
    std::fs::create_dir(dir.join("store")).unwrap();
    std::fs::create_dir(dir.join("linked")).unwrap();
    for entry in std::fs::read_dir(dir.join("extract")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "parquet") {
            let name = path.file_name().unwrap();
            std::fs::copy(&path, dir.join("store").join(name)).unwrap();
            symlink(dir.join("store").join(name), dir.join("linked").join(name)).unwrap();
        }
    }
    let store_before = snapshot(&dir.join("store"));
    for output in ["linked/offences.parquet", "store/offences.parquet"] {
        let err = refused(
            &dir,
            &[
                "query",
                "--data",
                "linked",
                "SELECT 1 AS x",
                "--format",
                "parquet",
                "--output",
                output,
            ],
        );
        assert_mentions(&err, &["reads"]);
    }
    assert_eq!(snapshot(&dir.join("store")), store_before);
    // `..` after a link into the extract.
    std::fs::create_dir(dir.join("work")).unwrap();
    std::fs::create_dir(dir.join("extract/reference_dir")).unwrap();
    symlink(dir.join("extract/reference_dir"), dir.join("work/ref")).unwrap();
    refused(
        &dir,
        &[
            "query",
            "SELECT 1 AS x",
            "--format",
            "csv",
            "--output",
            "work/ref/../offences.parquet",
        ],
    );
    refused(&dir, &["run", "--out", "work/ref/../bundle", "--quiet"]);
    let err = refused(&dir, &["refresh", "--dashboard", "work/ref/../dash"]);
    assert_mentions(&err, &["is inside the input directory"]);
    std::fs::remove_dir(dir.join("extract/reference_dir")).unwrap();
    assert_eq!(snapshot(&dir.join("extract")), before);
    let names: Vec<String> = std::fs::read_dir(dir.join("extract"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains("dash")),
        "no lock or status in the extract: {names:?}"
    );
    // The configuration and the SQL file are inputs too; a named pipe is never read.
    refused(
        &dir,
        &[
            "query", "SELECT 1", "--format", "csv", "--output", "sna.toml",
        ],
    );
    assert!(
        Command::new("mkfifo")
            .arg(dir.join("q.sql"))
            .status()
            .unwrap()
            .success()
    );
    let output = sna_within(&dir, &["query", "--file", "q.sql"], Duration::from_secs(30));
    assert_mentions(&stderr(&output), &["q.sql", "named pipe"]);
    assert!(
        Command::new("mkfifo")
            .arg(dir.join("c.toml"))
            .status()
            .unwrap()
            .success()
    );
    let output = sna_within(
        &dir,
        &["query", "SELECT 1", "--config", "c.toml"],
        Duration::from_secs(30),
    );
    assert_mentions(&stderr(&output), &["c.toml", "not a regular file"]);
    // A result through a link stays a link; a new result gets the umask's mode, not 0600.
    std::fs::write(dir.join("shared.csv"), "old").unwrap();
    symlink("shared.csv", dir.join("latest.csv")).unwrap();
    assert_success(&sna(
        &dir,
        &[
            "query",
            "SELECT 1 AS x",
            "--format",
            "csv",
            "--output",
            "latest.csv",
        ],
    ));
    assert!(
        std::fs::symlink_metadata(dir.join("latest.csv"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("shared.csv")).unwrap(),
        "x\n1\n"
    );
    assert_success(&sna(
        &dir,
        &[
            "query",
            "SELECT 1 AS x",
            "--format",
            "csv",
            "--output",
            "new.csv",
        ],
    ));
    let mode = std::fs::metadata(dir.join("new.csv"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    let mask = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    rustix::process::umask(mask);
    assert_eq!(
        mode,
        0o666 & !mask.as_raw_mode(),
        "the umask's mode, as a shell's > gives"
    );
}

#[test]
fn generate_and_refresh_refuse_absurd_sizes_with_a_message() {
    let dir = setup("rel-absurd");
    let output = sna_within(
        &dir,
        &["generate", "--out", "g", "--scale", "1e9"],
        Duration::from_secs(30),
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_mentions(&stderr(&output), &["--scale", "up to 1000"]);
    let output = sna_within(
        &dir,
        &[
            "generate",
            "--out",
            "g",
            "--start",
            "0001-01-01",
            "--end",
            "9999-12-31",
            "--scale",
            "0.01",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_mentions(&stderr(&output), &["0001-01-01", "outside the dates"]);
    assert!(!dir.join("g").exists());
    let output = sna(
        &dir,
        &["refresh", "--dashboard", "d", "--months", "4294967295"],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(!stderr(&output).contains("internal error"));
}

#[test]
fn column_names_from_data_are_escaped_in_listings() {
    let dir = setup("rel-column-names");
    let escaped = "SELECT *, 1 AS \"X\u{1b}[2JEVIL\" FROM offences";
    assert_success(&sna(
        &dir,
        &[
            "query",
            escaped,
            "--format",
            "parquet",
            "--output",
            "evil.parquet",
        ],
    ));
    std::fs::rename(
        dir.join("evil.parquet"),
        dir.join("extract/offences.parquet"),
    )
    .unwrap();
    let output = sna(&dir, &["tables"]);
    assert_success(&output);
    assert!(!stdout(&output).contains('\u{1b}'), "raw ESC in sna tables");
    assert_mentions(&stdout(&output), &["X\\u{1b}[2JEVIL"]);
    let output = crate::sna_with_input(&dir, &["shell"], "\\d offences\n");
    assert!(!stdout(&output).contains('\u{1b}'), "raw ESC in \\d");
}
