//! Issue 15 items 6 and 7 on the committed sample, where the old methods and the new give
//! different answers: the year-on-year change that Poisson limits called significant is not
//! once the months' over-dispersion is allowed for; the period against the pre-pandemic
//! baseline; the repeat-offender share of the concentration chart is the headline's. Every
//! expected number was recomputed independently from the raw Parquet files with Python and
//! DuckDB (see the commit message).

use std::path::Path;

use crate::{Table, assert_success, close, count, num, sna, stderr, workdir};

fn sample() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/sample")
        .to_str()
        .unwrap()
        .to_owned()
}

/// Runs the sample over April 2020 to September 2021 with `config` (TOML) as sna.toml.
fn run(name: &str, config: &str) -> (crate::Workdir, std::process::Output) {
    let dir = workdir(name);
    std::fs::write(dir.join("sna.toml"), config).unwrap();
    let data = sample();
    let output = sna(
        &dir,
        &[
            "run",
            "--data",
            &data,
            "--start",
            "2020-04-01",
            "--end",
            "2021-09-30",
            "--out",
            "bundle",
            "--quiet",
        ],
    );
    (dir, output)
}

/// 1.959963984540054: the 97.5% normal quantile, as src/stats.
const Z95: f64 = 1.959963984540054;

#[test]
fn year_on_year_allows_for_over_dispersion_and_the_period_is_set_against_the_baseline() {
    let (dir, output) = run("methods-sample", "hotspot_permutations = 99\n");
    assert_success(&output);
    let tables = dir.join("bundle/tables");
    let read = |name: &str| Table::read(&tables.join(format!("{name}.csv")));

    // Year on year: 3,657 against 3,338. The old Poisson limits, exp(ln r ± z·√(1/a + 1/b)),
    // were 1.045–1.148 and called the rise significant; the 24 monthly counts scatter 18.8
    // times as much as Poisson counts around their year and month-of-year fit, so the
    // quasi-Poisson limits are 0.894–1.343 and the rise is not significant.
    let yoy = read("year_on_year");
    let all = yoy.row(&[("offence_group", "All serious violence")]);
    count(all, "current", 3657);
    count(all, "previous", 3338);
    let (a, b) = (3657.0_f64, 3338.0_f64);
    let old_lower = (a / b).ln() - Z95 * (1.0 / a + 1.0 / b).sqrt();
    assert!(old_lower.exp() > 1.0, "the old method said significant");
    let close6 = |row: &std::collections::HashMap<String, String>, column: &str, want: f64| {
        let got = num(row, column);
        assert!((got - want).abs() < 1e-6, "{column}: {got} against {want}");
    };
    close6(all, "dispersion", 18.806_816_350_335_705);
    close6(all, "lower_95", 0.893_869_337_596_104_4);
    close6(all, "upper_95", 1.342_774_904_693_561);
    close6(all, "p_value", 0.379_292_001_3);
    assert_eq!(all["significant"], "false");
    close6(
        yoy.row(&[("offence_group", "Robbery")]),
        "dispersion",
        6.634_046_641_501_269,
    );
    // Homicide, 8 against 3: too few to test, so no p-value.
    let homicide = yoy.row(&[("offence_group", "Homicide")]);
    assert_eq!(homicide["p_value"], "");
    assert_eq!(homicide["significant"], "");

    // Against April 2019 to February 2020, month for month (March 2021 left out).
    let baseline = read("pre_pandemic_baseline");
    let sv = baseline.row(&[
        ("series", "Serious violence offences"),
        ("time_window", "the period"),
    ]);
    count(sv, "months_compared", 17);
    count(sv, "window_events", 4935);
    close(sv, "pct_of_baseline", 83.516_669_487_222_88);
    close(sv, "baseline_monthly_avg", 347.588_235_294_117_6);
    assert_eq!(
        sv["note"],
        "March 2021 left out: the baseline does not hold that calendar month"
    );
    let sv12 = baseline.row(&[
        ("series", "Serious violence offences"),
        ("time_window", "the last 12 months"),
    ]);
    close(sv12, "pct_of_baseline", 90.573_660_113_116_08);
    let ae = baseline.row(&[
        ("series", "Assault A&E attendances"),
        ("time_window", "the period"),
    ]);
    close(ae, "pct_of_baseline", 82.913_233_155_598_65);

    // The concentration chart's repeat-offender point is the headline's share: 1,340 of 3,521
    // offences with a known offender (the share of offender-offence links was 32.8%).
    let concentration = read("offender_concentration");
    let two = concentration.row(&[("offences_per_offender", "2")]);
    count(two, "offences_linked", 1340);
    let headline = read("headline");
    let repeat = headline.row(&[("measure", "repeat_offender_share_pct")]);
    assert_eq!(
        num(two, "cum_distinct_offences_pct"),
        num(repeat, "value"),
        "chart and headline"
    );

    let summary = std::fs::read_to_string(dir.join("bundle/summary.md")).unwrap();
    for finding in [
        "Offences in the last 12 months were 9.6% higher than in the 12 months before (3,657 against 3,338; not statistically significant once the month-to-month variation is allowed for: dispersion 18.8, p = 0.379).",
        "Serious violence averaged 290.3 offences a month in the period, 83.5% of the pre-pandemic average for the same calendar months (347.6 a month, April 2019 to February 2020); in the last 12 months, 90.6%. Assault A&E attendances were at 82.9% of their pre-pandemic average (89.3% in the last 12 months).",
        "By age, victims' rates peaked at 15–19",
        "For robbery, under-25s were victims at 2.5 times the rate of those 25 and over",
        "Offences peaked twice a day: in the afternoon between 15:00 and 16:00 (475 offences, 9.1% of the total; 95% CI 8.3%–9.9%) and in the late evening between 23:00 and 00:00 (406, 7.8%",
        "Among under-25s, 53.1% of offences with an under-25 offender were linked to an under-25 repeat offender",
        "Violence with injury made up 74.2% of serious violence offences, robbery 25.7% and homicide 0.15%",
    ] {
        assert!(summary.contains(finding), "{finding:?} in:\n{summary}");
    }
    let html = std::fs::read_to_string(dir.join("bundle/index.html")).unwrap();
    assert!(html.contains("quasi-Poisson"), "the methods section");
    assert!(html.contains("shares of events overlap and can sum to more than 100%"));
}

#[test]
fn a_baseline_the_extract_does_not_cover_gives_no_percentage_and_says_why() {
    // The sample starts in April 2019: a baseline of 2018/19 is not in it.
    let (dir, output) = run(
        "methods-uncovered-baseline",
        "hotspot_permutations = 99\n[pre_pandemic_baseline]\nstart = 2018-04-01\nend = 2019-03-31\n",
    );
    assert_success(&output);
    let baseline = Table::read(&dir.join("bundle/tables/pre_pandemic_baseline.csv"));
    let sv = baseline.row(&[
        ("series", "Serious violence offences"),
        ("time_window", "the period"),
    ]);
    assert_eq!(sv["pct_of_baseline"], "");
    assert_eq!(sv["window_monthly_avg"], "");
    assert_eq!(
        sv["note"],
        "the extract does not cover the whole baseline (April 2018 to March 2019)"
    );
    let summary = std::fs::read_to_string(dir.join("bundle/summary.md")).unwrap();
    assert!(
        summary.contains("No comparison with before the pandemic is possible: the extract does not cover the whole baseline (April 2018 to March 2019)."),
        "{summary}"
    );
}

#[test]
fn a_bad_baseline_is_an_error_naming_the_key_and_value() {
    let (_dir, output) = run(
        "methods-bad-baseline",
        "[pre_pandemic_baseline]\nstart = 2019-04-01\nend = 2020-04-30\n",
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains(
            "`pre_pandemic_baseline.end` the baseline 2019-04-01 to 2020-04-30 spans 13 months"
        ),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
