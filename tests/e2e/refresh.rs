//! `sna refresh`: the dashboard a scheduler keeps current. Built from a copy of the committed
//! sample (data from April 2019 to March 2024), so each test can change its inputs.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::{Table, Workdir, assert_success, sna, stderr, workdir};

/// The dashboard's `manifest.json`.
pub(crate) fn manifest(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("site/dashboard/manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The `name` of every entry of the JSON array `list` under `key`.
pub(crate) fn names<'a>(list: &'a serde_json::Value, key: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|n| n[key].as_str().unwrap())
        .collect()
}

/// A working directory with a copy of the sample extract in `extract/`.
fn setup(name: &str) -> Workdir {
    let dir = workdir(name);
    crate::copy_sample_extract(&dir);
    dir
}

fn refresh(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "refresh",
        "--data",
        "extract",
        "--dashboard",
        "site/dashboard",
    ];
    args.extend_from_slice(extra);
    sna(dir, &args)
}

fn status(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("site/dashboard.status.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every file under the dashboard (through its link) with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    crate::snapshot(&dir.join("site/dashboard"))
}

/// Asserts that the status file records a failure whose reason mentions `expected`.
fn assert_failed(dir: &Path, expected: &str) -> serde_json::Value {
    let failed = status(dir);
    assert_eq!(failed["outcome"], "failed");
    let reason = failed["reason"].as_str().unwrap_or_default();
    assert!(reason.contains(expected), "{failed}");
    failed
}

/// Asserts that the dashboard is whole: every image and CSV the page links to exists.
fn assert_whole(dir: &Path) {
    let links = assert_links_resolve(dir);
    assert!(links > 20, "only {links} links");
}

/// Asserts that every image and CSV the dashboard's page links to exists; returns how many
/// links there are.
pub(crate) fn assert_links_resolve(dir: &Path) -> usize {
    let root = dir.join("site/dashboard");
    let html = std::fs::read_to_string(root.join("index.html")).unwrap();
    let mut links = 0;
    for attribute in ["src=\"", "href=\""] {
        for part in html.split(attribute).skip(1) {
            // minijinja escapes `/` in attributes as `&#x2f;`, which browsers decode.
            let target = part[..part.find('"').unwrap()].replace("&#x2f;", "/");
            if target.starts_with('#') {
                continue;
            }
            assert!(!target.contains("://"), "outside link {target}");
            assert!(
                root.join(&target).is_file(),
                "{target} is linked but missing"
            );
            links += 1;
        }
    }
    links
}

/// Writes `offences.parquet` of `extract` again, keeping the offences that `condition` keeps.
fn trim_offences(dir: &Path, condition: &str) {
    let out = sna(
        dir,
        &[
            "query",
            &format!("SELECT * FROM offences WHERE {condition} ORDER BY crime_id"),
            "--data",
            "extract",
            "--format",
            "parquet",
            "--output",
            "trimmed.parquet",
        ],
    );
    assert_success(&out);
    std::fs::rename(
        dir.join("trimmed.parquet"),
        dir.join("extract/offences.parquet"),
    )
    .unwrap();
}

#[test]
fn refresh_builds_the_dashboard_then_says_up_to_date() {
    let dir = setup("refresh-up-to-date");
    let out = refresh(&dir, &[]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("data up to 2024-03 (36 months)"),
        "{}",
        stderr(&out)
    );

    let link = std::fs::read_link(dir.join("site/dashboard")).expect("dashboard is a link");
    assert!(link.is_relative());
    let html = std::fs::read_to_string(dir.join("site/dashboard/index.html")).unwrap();
    assert!(html.contains("Data up to March 2024"), "no data-up-to line");
    assert!(html.contains("No disclosure control is applied to this dashboard"));
    assert!(html.contains("refreshed at 20"), "no refreshed-at line");
    for chart in ["spc_police", "spc_police_young", "spc_ae", "time_heatmap"] {
        for ext in ["svg", "png"] {
            assert!(
                dir.join(format!("site/dashboard/charts/{chart}.{ext}"))
                    .is_file(),
                "{chart}.{ext}"
            );
        }
        let img = format!("<img src=\"charts/{chart}.png\" width=\"900\" alt=\"");
        let at = html
            .find(&img)
            .unwrap_or_else(|| panic!("{chart} not on the page"));
        let alt = &html[at + img.len()..];
        assert!(alt.find('"').unwrap() > 80, "{chart} has no real alt text");
    }
    for table in [
        "spc",
        "spc_signals",
        "district_change",
        "hotspots_top10",
        "time_profile",
    ] {
        assert!(
            html.contains(&format!("href=\"tables/{table}.csv\"")),
            "{table}"
        );
    }
    assert_whole(&dir);
    // With every source, everything is possible.
    assert!(!html.contains("Not possible with these data"));
    let built = manifest(&dir);
    assert_eq!(built["form"], "full");
    assert_eq!(built["not_possible"], serde_json::json!([]));
    assert_eq!(built["spc_series_not_possible"], serde_json::json!([]));

    // The monthly series cover the 36 complete months, April 2021 to March 2024.
    let spc = Table::read(&dir.join("site/dashboard/tables/spc.csv"));
    let months: Vec<&str> = spc
        .rows
        .iter()
        .filter(|r| r["series"] == "police_all")
        .map(|r| r["month"].as_str())
        .collect();
    assert_eq!(months.len(), 36);
    assert_eq!((months[0], months[35]), ("2021-04", "2024-03"));
    // District change: each district's difference and % change follow from its counts.
    let change = Table::read(&dir.join("site/dashboard/tables/district_change.csv"));
    let all = change.row(&[("district", "All districts")]);
    assert_eq!(all["current_start"], "2023-04-01");
    assert_eq!(all["previous_end"], "2023-03-31");
    for row in &change.rows {
        let (now, before): (f64, f64) = (
            row["offences_current"].parse().unwrap(),
            row["offences_previous"].parse().unwrap(),
        );
        assert_eq!(row["difference"].parse::<f64>().unwrap(), now - before);
        if before > 0.0 {
            let pct: f64 = row["change_pct"].parse().unwrap();
            assert!((pct - 100.0 * (now - before) / before).abs() < 1e-9);
        }
        let small = now < 10.0 || before < 10.0;
        assert_eq!(!row["caveat"].is_empty(), small, "{row:?}");
    }
    let hotspots = Table::read(&dir.join("site/dashboard/tables/hotspots_top10.csv"));
    assert_eq!(hotspots.rows.len(), 10);

    let first = status(&dir);
    assert_eq!(first["outcome"], "refreshed");
    assert_eq!(first["data_up_to"], "2024-03");
    assert!(first["fingerprint"].as_str().unwrap().len() == 64);
    assert!(first["duration_seconds"].as_f64().unwrap() > 0.0);

    // Nothing changed: no work, the same version, and the status says so.
    let before = snapshot(&dir);
    let again = refresh(&dir, &[]);
    assert_success(&again);
    assert!(stderr(&again).contains("up to date"), "{}", stderr(&again));
    assert_eq!(
        std::fs::read_link(dir.join("site/dashboard")).unwrap(),
        link
    );
    assert_eq!(snapshot(&dir), before);
    let second = status(&dir);
    assert_eq!(second["outcome"], "up_to_date");
    assert_eq!(second["fingerprint"], first["fingerprint"]);
    assert_eq!(second["last_refreshed_at"], first["last_refreshed_at"]);

    // --force rebuilds anyway, into a new version; the previous one is kept beside it.
    let forced = refresh(&dir, &["--force"]);
    assert_success(&forced);
    assert!(stderr(&forced).contains("Refreshed"), "{}", stderr(&forced));
    let new_link = std::fs::read_link(dir.join("site/dashboard")).unwrap();
    assert_ne!(new_link, link);
    assert!(dir.join("site").join(&link).join("index.html").is_file());
    assert_eq!(status(&dir)["outcome"], "refreshed");
}

#[test]
fn refresh_picks_up_a_new_month() {
    let dir = setup("refresh-new-month");
    trim_offences(&dir, "committed_at < TIMESTAMP '2024-03-01 00:00:00'");
    assert_success(&refresh(&dir, &[]));
    let html = std::fs::read_to_string(dir.join("site/dashboard/index.html")).unwrap();
    assert!(html.contains("Data up to February 2024"));
    let trend = Table::read(&dir.join("site/dashboard/tables/trend_monthly.csv"));
    assert!(trend.rows.iter().all(|r| r["month"] != "2024-03"));

    // March's offences arrive: the next refresh shows March.
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample/offences.parquet");
    std::fs::copy(&sample, dir.join("extract/offences.parquet")).unwrap();
    let out = refresh(&dir, &[]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("data up to 2024-03"),
        "{}",
        stderr(&out)
    );
    let html = std::fs::read_to_string(dir.join("site/dashboard/index.html")).unwrap();
    assert!(html.contains("Data up to March 2024"));
    let trend = Table::read(&dir.join("site/dashboard/tables/trend_monthly.csv"));
    let march = trend.row(&[("month", "2024-03"), ("cohort", "all")]);
    assert!(march["offences"].parse::<u64>().unwrap() > 0);
    assert_eq!(status(&dir)["data_up_to"], "2024-03");
    assert_whole(&dir);
}

#[test]
fn a_failed_refresh_leaves_the_dashboard_exactly_as_it_was() {
    let dir = setup("refresh-failure");
    assert_success(&refresh(&dir, &[]));
    let before = snapshot(&dir);
    let link = std::fs::read_link(dir.join("site/dashboard")).unwrap();
    let refreshed_at = status(&dir)["last_refreshed_at"].clone();

    // A corrupt extract file.
    std::fs::write(dir.join("extract/offences.parquet"), b"not a parquet file").unwrap();
    let out = refresh(&dir, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("offences.parquet"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("The dashboard is unchanged"));
    assert_eq!(snapshot(&dir), before);
    assert_eq!(
        std::fs::read_link(dir.join("site/dashboard")).unwrap(),
        link
    );
    let failed = assert_failed(&dir, "offences.parquet");
    assert_eq!(failed["last_refreshed_at"], refreshed_at);
    assert_eq!(failed["data_up_to"], "2024-03");
    let versions = std::fs::read_dir(dir.join("site/.dashboard.versions"))
        .unwrap()
        .count();
    assert_eq!(versions, 1, "the failed draft was left behind");

    // A bad configuration, with the dashboard named on the command line.
    std::fs::write(dir.join("bad.toml"), "young_age_cutoff = 500\n").unwrap();
    let out = sna(
        &dir,
        &[
            "--config",
            "bad.toml",
            "refresh",
            "--dashboard",
            "site/dashboard",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_failed(&dir, "young_age_cutoff");
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn a_held_lock_makes_a_refresh_wait_or_give_up() {
    let dir = setup("refresh-lock");
    std::fs::create_dir_all(dir.join("site")).unwrap();
    let lock_path = dir.join("site/.dashboard.lock");
    let holder = File::create(&lock_path).unwrap();
    holder.lock().unwrap();

    let out = refresh(&dir, &[]);
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("another refresh of this dashboard is running"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("site/dashboard").exists());
    assert!(!dir.join("site/dashboard.status.json").exists());

    // With --wait, it goes ahead once the holder lets go.
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        holder.unlock().unwrap();
        drop(holder);
    });
    let out = refresh(&dir, &["--wait", "120"]);
    releaser.join().unwrap();
    assert_success(&out);
    assert_whole(&dir);
}

#[test]
fn a_lock_left_by_a_dead_refresh_is_taken_over() {
    let dir = setup("refresh-stale-lock");
    std::fs::create_dir_all(dir.join("site")).unwrap();
    // A refresh that died mid-run leaves its note in the (unlocked) lock file.
    std::fs::write(
        dir.join("site/.dashboard.lock"),
        "process 4194304, started 2026-01-01T02:00:00Z",
    )
    .unwrap();
    let out = refresh(&dir, &[]);
    assert_success(&out);
    assert!(
        stderr(&out)
            .contains("took over the lock left by a refresh that did not finish (process 4194304"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("site/.dashboard.lock")).unwrap(),
        ""
    );
}

#[test]
fn concurrent_refreshes_leave_one_consistent_dashboard() {
    let dir = setup("refresh-concurrent");
    let spawn = |wait: &str| refresh(&dir, &["--force", "--wait", wait]);
    // Without waiting: each either refreshes or is refused with the lock code.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("0"));
        let b = s.spawn(|| spawn("0"));
        (a.join().unwrap(), b.join().unwrap())
    });
    let codes = [a.status.code(), b.status.code()];
    assert!(
        codes.iter().all(|c| matches!(c, Some(0) | Some(75))),
        "{codes:?}"
    );
    assert!(codes.contains(&Some(0)), "{codes:?}");
    assert_whole(&dir);

    // Waiting: both refresh, one after the other.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("300"));
        let b = s.spawn(|| spawn("300"));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_success(&a);
    assert_success(&b);
    assert_whole(&dir);
    assert_eq!(status(&dir)["outcome"], "refreshed");
    let versions = std::fs::read_dir(dir.join("site/.dashboard.versions"))
        .unwrap()
        .count();
    assert_eq!(versions, 2, "current and previous versions only");
}

#[test]
fn short_windows_and_short_data_are_said_on_the_page() {
    let dir = setup("refresh-short");
    assert_success(&refresh(&dir, &["--months", "6"]));
    let spc = Table::read(&dir.join("site/dashboard/tables/spc.csv"));
    let months: Vec<&str> = spc
        .rows
        .iter()
        .filter(|r| r["series"] == "ae_all")
        .map(|r| r["month"].as_str())
        .collect();
    assert_eq!(
        months,
        [
            "2023-10", "2023-11", "2023-12", "2024-01", "2024-02", "2024-03"
        ]
    );
    // Places and times still cover the last 12 months, whatever the trend window.
    let change = Table::read(&dir.join("site/dashboard/tables/district_change.csv"));
    assert_eq!(
        change.row(&[("district", "All districts")])["current_start"],
        "2023-04-01"
    );
    let html = std::fs::read_to_string(dir.join("site/dashboard/index.html")).unwrap();
    assert!(!html.contains("class=\"notes\""), "no caveats expected");

    // An extract holding only October 2023 to March 2024.
    trim_offences(&dir, "committed_at >= TIMESTAMP '2023-10-01 00:00:00'");
    assert_success(&refresh(&dir, &[]));
    let html = std::fs::read_to_string(dir.join("site/dashboard/index.html")).unwrap();
    assert!(html.contains("The data hold 6 complete months, fewer than the 36 asked for"));
    assert!(html.contains("The data hold only 6 complete months"));
    assert!(html.contains("are not all in the data"));
    let change = Table::read(&dir.join("site/dashboard/tables/district_change.csv"));
    let all = change.row(&[("district", "All districts")]);
    assert_eq!(all["current_start"], "2023-10-01");
    // The data do not reach back to the previous 12 months: no count, not zero.
    assert_eq!(all["offences_previous"], "");
    assert_eq!(all["change_pct"], "");
    assert_eq!(
        all["caveat"],
        "the data do not reach back to the previous 12 months"
    );
}

/// The `police_all` rows of the dashboard's `spc` table.
fn police_spc(dir: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let spc = Table::read(&dir.join("site/dashboard/tables/spc.csv"));
    spc.rows
        .into_iter()
        .filter(|r| r["series"] == "police_all")
        .collect()
}

#[test]
fn spc_is_an_xmr_chart_with_a_baseline_and_flags_the_first_lockdown() {
    let dir = setup("refresh-xmr");
    // Sixty months, April 2019 to March 2024, so that April 2020 is on the chart.
    assert_success(&refresh(&dir, &["--months", "60"]));
    let rows = police_spc(&dir);
    assert_eq!(rows.len(), 60);
    let rate = |r: &std::collections::HashMap<String, String>| -> f64 {
        r["rate_per_1000"].parse().unwrap()
    };
    let number =
        |r: &std::collections::HashMap<String, String>, c: &str| -> f64 { r[c].parse().unwrap() };
    // Centre line = mean of the first 12 months; limits = centre ± 2.66 × mean moving range.
    let base: Vec<f64> = rows[..12].iter().map(rate).collect();
    let centre = base.iter().sum::<f64>() / 12.0;
    let mmr = base.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / 11.0;
    let first = &rows[0];
    assert_eq!(first["baseline_months"], "12");
    assert!((number(first, "centre_line") - centre).abs() < 1e-12);
    assert!((number(first, "mean_moving_range") - mmr).abs() < 1e-12);
    assert!((number(first, "upper_limit") - (centre + 2.66 * mmr)).abs() < 1e-12);
    assert!((number(first, "lower_limit") - (centre - 2.66 * mmr)).abs() < 1e-12);
    for r in &rows {
        let limits = (number(r, "lower_limit"), number(r, "upper_limit"));
        let beyond = rate(r) < limits.0 || rate(r) > limits.1;
        assert_eq!(r["beyond_limit"] == "true", beyond, "{r:?}");
        assert!(["true", "false"].contains(&r["two_of_three"].as_str()));
    }
    // April 2020, the first lockdown, is below the lower limit.
    let april = rows.iter().find(|r| r["month"] == "2020-04").unwrap();
    assert_eq!(april["beyond_limit"], "true", "{april:?}");
    assert!(rate(april) < number(april, "lower_limit"));
    let signals = Table::read(&dir.join("site/dashboard/tables/spc_signals.csv"));
    let lockdown = signals.row(&[
        ("series", "police_all"),
        ("rule", "beyond_limit"),
        ("first_month", "2020-04"),
    ]);
    assert_eq!(lockdown["direction"], "below");
    assert!(
        lockdown["description"].starts_with("April 2020: "),
        "{lockdown:?}"
    );
    // Every row carries its series' state, one of the four.
    let states = [
        "stable",
        "single_point_exception",
        "step_shift",
        "significant_trend",
    ];
    for r in &signals.rows {
        assert!(states.contains(&r["state"].as_str()), "{r:?}");
        assert!(["beyond_limit", "run", "trend", "two_of_three"].contains(&r["rule"].as_str()));
    }
    assert!(signals.rows.iter().any(|r| r["rule"] == "two_of_three"));
    assert_eq!(rows[0]["state"], "step_shift");

    // The page and the chart say how the chart is drawn.
    let html = std::fs::read_to_string(dir.join("site/dashboard/index.html")).unwrap();
    for words in [
        "the mean of the first 12 months shown (the baseline)",
        "± 2.66 × the baseline",
        "a run of 7 or more months",
        "Two of three near a limit",
        "Step shift",
    ] {
        assert!(html.contains(words), "{words}");
    }
    assert!(!html.contains("standard deviation"));
    let svg = std::fs::read_to_string(dir.join("site/dashboard/charts/spc_police.svg")).unwrap();
    assert!(svg.contains("2 of 3 near a limit") && svg.contains("Baseline"));

    // A longer baseline from sna.toml: 24 months set the limits.
    std::fs::write(dir.join("sna.toml"), "spc_baseline_months = 24\n").unwrap();
    assert_success(&refresh(&dir, &[]));
    let rows = police_spc(&dir);
    assert_eq!(rows[0]["baseline_months"], "24");
    let base: Vec<f64> = rows[..24].iter().map(rate).collect();
    let centre = base.iter().sum::<f64>() / 24.0;
    assert!((number(&rows[0], "centre_line") - centre).abs() < 1e-12);
}

#[test]
fn refresh_of_open_data_charts_the_police_series_and_lists_what_is_not_possible() {
    let dir = workdir("refresh-open-data");
    let open = crate::import::open_data_extract(&dir);
    // The dashboard finds its own months: a configured period that cuts a month (which
    // `sna run` refuses on open data) does not stop it.
    std::fs::write(
        dir.join("sna.toml"),
        "start = 2020-01-15\nend = 2020-02-10\n",
    )
    .unwrap();
    let out = sna(
        &dir,
        &["refresh", "--data", "open", "--dashboard", "site/dashboard"],
    );
    assert_success(&out);
    // police.uk publishes whole months: each of the three is complete, February included.
    assert!(
        stderr(&out).contains("data up to 2020-02 (3 months)"),
        "{}",
        stderr(&out)
    );

    // The police series only, its events each month's serious-violence crimes in the extract.
    let spc = Table::read(&dir.join("site/dashboard/tables/spc.csv"));
    assert!(spc.rows.iter().all(|r| r["series"] == "police_all"));
    let events: BTreeMap<String, u64> = spc
        .rows
        .iter()
        .map(|r| (r["month"].clone(), r["events"].parse().unwrap()))
        .collect();
    let by_month = crate::import::proxy_by_month(&open);
    assert_eq!(by_month.len(), 3);
    assert_eq!(events, by_month);
    let charts = dir.join("site/dashboard/charts");
    assert!(charts.join("spc_police.png").is_file());
    for absent in ["spc_police_young", "spc_ae", "time_heatmap"] {
        assert!(!charts.join(format!("{absent}.png")).exists(), "{absent}");
        assert!(!charts.join(format!("{absent}.svg")).exists(), "{absent}");
    }
    let tables = dir.join("site/dashboard/tables");
    for absent in ["trend_ae_monthly", "time_profile", "hour_profile"] {
        assert!(!tables.join(format!("{absent}.csv")).exists(), "{absent}");
    }
    let change = Table::read(&tables.join("district_change.csv"));
    let all = change.row(&[("district", "All districts")]);
    assert_eq!(all["current_start"], "2019-12-01");
    assert_eq!(all["current_end"], "2020-02-29");
    assert_eq!(
        all["offences_current"],
        by_month.values().sum::<u64>().to_string()
    );
    assert_eq!(
        Table::read(&tables.join("hotspots_top10.csv")).rows.len(),
        10
    );

    let manifest = manifest(&dir);
    assert_eq!(manifest["form"], "open_data");
    assert_eq!(
        names(&manifest["not_possible"], "job"),
        ["trend_ae_monthly", "hour_profile", "time_profile"]
    );
    assert_eq!(
        names(&manifest["spc_series_not_possible"], "series"),
        ["police_under_25", "ae_all"]
    );
    let skipped: BTreeMap<&str, &str> = manifest["charts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["drawn"] == false)
        .map(|c| (c["name"].as_str().unwrap(), c["skipped"].as_str().unwrap()))
        .collect();
    assert_eq!(
        skipped.keys().copied().collect::<Vec<_>>(),
        ["spc_ae", "spc_police_young", "time_heatmap"]
    );
    assert_eq!(
        skipped["spc_police_young"],
        "not possible with these data: victims and offenders need a persons extract"
    );
    assert!(
        skipped["time_heatmap"].contains("each offence's time (police.uk gives the month only)"),
        "{skipped:?}"
    );

    // The page says what these data cannot give, and defines and sources what they can.
    let html = std::fs::read_to_string(dir.join("site/dashboard/index.html")).unwrap();
    for words in [
        "Not possible with these data (open-data extract), so not on this dashboard:",
        "Serious violence offences involving under-25s per 1,000 residents aged under 25: <strong>not possible with these data</strong> (victims and offenders need a persons extract)",
        "Assault-related A&amp;E attendances per 1,000 residents, all ages: <strong>not possible with these data</strong>",
        "(<code>time_profile</code>): the day and time of offences need",
        "Serious violence (open-data proxy) = police.uk crime types Violence and sexual offences and Robbery",
        "Police data: police.uk street-level crime",
        "police.uk publishes whole months",
    ] {
        assert!(html.contains(words), "{words}");
    }
    assert!(
        !html.contains("Serious violence = "),
        "the Home Office definition"
    );
    assert!(
        !html.contains("The priority cohort is"),
        "no ages in these data"
    );
    let svg = std::fs::read_to_string(charts.join("spc_police.svg")).unwrap();
    assert!(svg.contains("police.uk street-level crime"));
    assert!(assert_links_resolve(&dir) > 10);
}
