//! The cache shared by every command (`src/cache`): hits, misses on a changed input,
//! configuration or SQL, a corrupt entry, two commands at once, `sna query` reading it, and
//! `sna cache status|clear`.

use std::path::Path;

use crate::*;

/// The views `sna run` caches on the full sample.
const VIEWS: usize = 13;

/// `(validation read from the cache, views read, views computed)` from `sna run`'s line.
fn cache_line(output: &std::process::Output) -> (bool, usize, usize) {
    let err = stderr(output);
    let line = err
        .lines()
        .find(|l| l.starts_with("Cache "))
        .unwrap_or_else(|| panic!("no cache line in:\n{err}"));
    let number_before = |marker: &str| -> usize {
        let before = &line[..line
            .find(marker)
            .unwrap_or_else(|| panic!("{marker} in {line}"))];
        before
            .split_whitespace()
            .last()
            .and_then(|w| w.trim_start_matches('(').parse().ok())
            .unwrap_or_else(|| panic!("a number before {marker} in {line}"))
    };
    (
        line.contains("validation read from it"),
        number_before(" of "),
        number_before(" computed)"),
    )
}

/// Every table and chart of a bundle (not the manifest or report, which carry times).
fn results(bundle: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    snapshot(bundle)
        .into_iter()
        .filter(|(path, _)| {
            path.starts_with("tables") || path.extension().is_some_and(|e| e == "svg")
        })
        .collect()
}

fn run(dir: &Path, out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "--data", "extract", "--out", out];
    args.extend_from_slice(extra);
    let output = sna(dir, &args);
    assert_success(&output);
    output
}

#[test]
fn runs_share_the_cache_and_give_identical_bundles() {
    let dir = workdir("cache-runs");
    copy_sample_extract(&dir);

    let cold = run(&dir, "cold", &[]);
    assert_eq!(cache_line(&cold), (false, 0, VIEWS));
    // The user's cache directory by default (sna() points XDG_CACHE_HOME into the test's
    // directory); nothing beside the bundles.
    let cache = dir.join(".cache-home/vrn-sna");
    assert!(cache.join("CACHEDIR.TAG").is_file());
    assert!(!dir.join("reports").exists());

    // Unchanged: everything from the cache, and the same tables and charts byte for byte.
    let warm = run(&dir, "warm", &[]);
    assert_eq!(cache_line(&warm), (true, VIEWS, 0));
    let reference = results(&dir.join("cold"));
    assert!(reference.len() > 40, "{} files", reference.len());
    assert!(reference == results(&dir.join("warm")), "warm run differs");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("warm/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["cache"]["validation_from_cache"], true);
    assert_eq!(
        manifest["cache"]["views_from_cache"]
            .as_array()
            .unwrap()
            .len(),
        VIEWS
    );

    // The same bytes written again (a nightly copy): still a hit.
    let offences = dir.join("extract/offences.parquet");
    let bytes = std::fs::read(&offences).unwrap();
    std::fs::write(&offences, &bytes).unwrap();
    assert_eq!(cache_line(&run(&dir, "touched", &[])), (true, VIEWS, 0));

    // A corrupt entry is computed again (and the bundle is still the same).
    let entry = std::fs::read_dir(cache.join("views"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("sv_offences_all-")
        })
        .expect("sv_offences_all entry");
    let data = entry.join("data.parquet");
    let mut bytes = std::fs::read(&data).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&data, bytes).unwrap();
    let status = sna(&dir, &["cache", "status"]);
    assert_success(&status);
    assert!(stdout(&status).contains("CORRUPT"), "{}", stdout(&status));
    let repaired = run(&dir, "repaired", &[]);
    assert_eq!(cache_line(&repaired), (true, VIEWS - 1, 1));
    assert!(
        reference == results(&dir.join("repaired")),
        "rebuilt run differs"
    );
    let status = sna(&dir, &["cache", "status"]);
    assert!(!stdout(&status).contains("CORRUPT"), "{}", stdout(&status));

    // Another period: validation and the views that follow the period are computed, the
    // others (sv_offences_all, ae_assaults, …) still read.
    let other = run(
        &dir,
        "other",
        &["--start", "2021-04-01", "--end", "2022-03-31"],
    );
    let (validation, read, computed) = cache_line(&other);
    assert!(!validation);
    assert_eq!(read + computed, VIEWS);
    assert!(
        read >= 3 && computed >= 1,
        "{read} read, {computed} computed"
    );

    // A changed input (here a new file: the extract's own copy of the LSOA lookup, the same
    // as the bundled one, so the results stay the same): nothing can be reused.
    std::fs::create_dir_all(dir.join("extract/reference")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/reference/lsoa.csv"),
        dir.join("extract/reference/lsoa.csv"),
    )
    .unwrap();
    let changed = run(&dir, "changed", &[]);
    assert_eq!(cache_line(&changed), (false, 0, VIEWS));
    assert!(
        reference == results(&dir.join("changed")),
        "same lookup, other results"
    );

    // --no-cache neither reads nor writes it.
    let before = snapshot(&cache);
    let bypassed = run(&dir, "bypassed", &["--no-cache"]);
    assert!(stderr(&bypassed).contains("Cache not used (--no-cache)"));
    assert!(before == snapshot(&cache), "--no-cache wrote the cache");

    // sna cache clear removes it, and only it.
    let cleared = sna(&dir, &["cache", "clear"]);
    assert_success(&cleared);
    assert!(!cache.exists());
    assert!(dir.join("cold/manifest.json").is_file());
    assert!(dir.join("extract/offences.parquet").is_file());
}

#[test]
fn a_changed_view_is_computed_again_with_the_views_after_it() {
    let dir = workdir("cache-sql");
    copy_sample_extract(&dir);
    let queries = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
    let copy = dir.join("queries");
    copy_tree(&queries, &copy);
    std::fs::write(
        dir.join("sna.toml"),
        "data_dir = \"extract\"\nqueries_dir = \"queries\"\n",
    )
    .unwrap();
    let first = sna(&dir, &["run", "--out", "first"]);
    assert_success(&first);
    assert_eq!(cache_line(&first), (false, 0, VIEWS));
    // A comment changes nothing but the SQL's text: the view is still computed again, with
    // every cached view after it, since the cache cannot know the change is harmless.
    let sql = copy.join("views/sv_offences_all.sql");
    let text = std::fs::read_to_string(&sql).unwrap();
    std::fs::write(&sql, format!("-- edited\n{text}")).unwrap();
    let second = sna(&dir, &["run", "--out", "second"]);
    assert_success(&second);
    let (validation, read, computed) = cache_line(&second);
    assert!(validation, "validation does not read the views' SQL");
    assert_eq!(read + computed, VIEWS);
    // The edited view and every cached view after it (they read it) are computed again.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("second/manifest.json")).unwrap()).unwrap();
    let computed_views: Vec<&str> = manifest["cache"]["views_computed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for view in [
        "sv_offences_all",
        "sv_offences",
        "sv_victims",
        "sv_offenders",
        "sv_persons",
    ] {
        assert!(
            computed_views.contains(&view),
            "{view} not computed: {computed_views:?}"
        );
    }
    assert!(
        results(&dir.join("first")) == results(&dir.join("second")),
        "a comment changed the results"
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn commands_at_once_share_the_cache_and_queries_read_it() {
    let dir = workdir("cache-concurrent");
    copy_sample_extract(&dir);
    let spawn = |out: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sna"))
            .args(["run", "--data", "extract", "--out", out])
            .current_dir(&*dir)
            .env("XDG_CACHE_HOME", dir.join(".cache-home"))
            .output()
            .expect("run sna")
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("a"));
        let b = s.spawn(|| spawn("b"));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_success(&a);
    assert_success(&b);
    assert!(results(&dir.join("a")) == results(&dir.join("b")));
    let status = sna(&dir, &["cache", "status", "--json"]);
    assert_success(&status);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let views = status["views"].as_array().unwrap();
    assert_eq!(views.len(), VIEWS, "{views:?}");
    assert!(views.iter().all(|v| v["intact"] == true), "{views:?}");
    // No staged leftovers.
    let leftovers: Vec<_> = std::fs::read_dir(dir.join(".cache-home/vrn-sna/views"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // sna query plans over the cached file instead of the extract, with the same answer.
    let sql = "SELECT COUNT(*) AS n, COUNT(DISTINCT lsoa_code) AS places FROM sv_offences_all";
    let cached = sna(
        &dir,
        &["query", "--data", "extract", "--format", "csv", sql],
    );
    assert_success(&cached);
    let fresh = sna(
        &dir,
        &[
            "query",
            "--data",
            "extract",
            "--no-cache",
            "--format",
            "csv",
            sql,
        ],
    );
    assert_success(&fresh);
    assert_eq!(stdout(&cached), stdout(&fresh));
    let explain = |extra: &[&str]| {
        let mut args = vec!["query", "--data", "extract"];
        args.extend_from_slice(extra);
        args.push("EXPLAIN SELECT lsoa_code FROM sv_offences_all WHERE lsoa_code = 'E01000001'");
        let output = sna(&dir, &args);
        assert_success(&output);
        stdout(&output)
    };
    // Read into memory from the cached file (a later clear cannot empty it under a session):
    // the plan scans memory, not the extract.
    assert!(
        !explain(&[]).contains("offences.parquet"),
        "{}",
        explain(&[])
    );
    assert!(explain(&["--no-cache"]).contains("offences.parquet"));
}

#[test]
fn a_cache_dir_holding_someone_elses_files_is_refused() {
    let dir = workdir("cache-not-ours");
    copy_sample_extract(&dir);
    std::fs::create_dir_all(dir.join("notes")).unwrap();
    std::fs::write(dir.join("notes/plan.txt"), b"mine").unwrap();
    std::fs::write(
        dir.join("sna.toml"),
        "data_dir = \"extract\"\ncache_dir = \"notes\"\n",
    )
    .unwrap();
    let output = sna(&dir, &["run", "--out", "bundle"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("notes") && err.contains("cache_dir"), "{err}");
    assert!(!dir.join("bundle").exists());
    let cleared = sna(&dir, &["cache", "clear"]);
    assert!(!cleared.status.success());
    assert_eq!(std::fs::read(dir.join("notes/plan.txt")).unwrap(), b"mine");
    // Bypassed, the run goes ahead.
    assert_success(&sna(&dir, &["run", "--out", "bundle", "--no-cache"]));
}
