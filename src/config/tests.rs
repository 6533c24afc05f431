//! Tests of `config`.

use super::*;

#[test]
fn defaults_are_the_published_definition() {
    let c = Config::default();
    c.check("defaults").unwrap();
    assert_eq!(
        c.serious_violence.describe(),
        "Serious violence = Homicide, Violence with injury and Robbery in a public place, excluding domestic abuse."
    );
    assert_eq!(c.young_age_cutoff, 25);
    assert_eq!(c.disclosure_threshold, 5);
}

#[test]
fn parses_dates_as_toml_dates_or_strings() {
    let c = Config::parse("start = 2021-01-01\nend = \"2021-12-31\"\n").unwrap();
    assert_eq!(c.start, NaiveDate::from_ymd_opt(2021, 1, 1).unwrap());
    assert_eq!(c.end, NaiveDate::from_ymd_opt(2021, 12, 31).unwrap());
}

#[test]
fn unknown_key_is_named() {
    let err = Config::parse("titel = \"x\"\n").unwrap_err().to_string();
    assert!(err.contains("titel"), "{err}");
    let err = Config::parse("[serious_violence]\nhogroups = []\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("hogroups"), "{err}");
}

#[test]
fn bad_date_is_quoted() {
    let err = Config::parse("start = \"2021-13-01\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("2021-13-01"), "{err}");
}

#[test]
fn reversed_period_and_unknown_group_are_errors() {
    let c = Config {
        start: NaiveDate::from_ymd_opt(2022, 1, 1).unwrap(),
        ..Config::default()
    };
    let err = c.check("test").unwrap_err().to_string();
    assert!(err.contains("`start`") && err.contains("reversed"), "{err}");

    let mut c = Config::default();
    c.serious_violence.ho_groups.push("Knife crime".to_owned());
    let err = c.check("test").unwrap_err().to_string();
    assert!(err.contains("Knife crime"), "{err}");

    let c = Config {
        young_age_cutoff: 0,
        ..Config::default()
    };
    let err = c.check("test").unwrap_err().to_string();
    assert!(err.contains("young_age_cutoff"), "{err}");
}

#[test]
fn spc_baseline_months_defaults_to_12_and_needs_two() {
    assert_eq!(Config::default().spc_baseline_months, 12);
    let c = Config::parse("spc_baseline_months = 24\n").unwrap();
    assert_eq!(c.spc_baseline_months, 24);
    c.check("test").unwrap();
    let c = Config {
        spc_baseline_months: 1,
        ..Config::default()
    };
    let err = c.check("test").unwrap_err().to_string();
    assert!(err.contains("spc_baseline_months"), "{err}");
}

#[test]
fn period_in_words() {
    let mut config = Config {
        start: parse_date("2020-04-01").unwrap(),
        end: parse_date("2021-09-30").unwrap(),
        ..Config::default()
    };
    assert_eq!(config.period_words(), "April 2020 to September 2021");
    config.start = parse_date("2020-04-03").unwrap();
    assert_eq!(config.period_words(), "3 April 2020 to 30 September 2021");
}

#[test]
fn overrides_win_and_are_checked() {
    let config = Config::default();
    let same = config.clone().resolve(&Overrides::default()).unwrap();
    assert_eq!(same, config);
    let overrides = Overrides {
        data_dir: Some(PathBuf::from("elsewhere")),
        end: NaiveDate::from_ymd_opt(2021, 3, 31),
        disclosure_threshold: Some(10),
        ..Overrides::default()
    };
    let resolved = config.clone().resolve(&overrides).unwrap();
    assert_eq!(resolved.data_dir, PathBuf::from("elsewhere"));
    assert_eq!(resolved.end.to_string(), "2021-03-31");
    assert_eq!(resolved.start, config.start);
    assert_eq!(resolved.disclosure_threshold, 10);
    let reversed = Overrides {
        start: NaiveDate::from_ymd_opt(2022, 1, 1),
        ..Overrides::default()
    };
    let error = config.resolve(&reversed).unwrap_err().to_string();
    assert!(
        error.contains("command line") && error.contains("reversed"),
        "{error}"
    );
}

#[test]
fn memory_limits_parse_and_default() {
    assert_eq!(parse_bytes("2 GiB"), Some(2 << 30));
    assert_eq!(parse_bytes("512MiB"), Some(512 << 20));
    assert_eq!(parse_bytes("1.5 GB"), Some(1_500_000_000));
    assert_eq!(parse_bytes("1048576"), Some(1 << 20));
    assert_eq!(parse_bytes("lots"), None);
    assert_eq!(parse_bytes("2 TB"), None);
    let mut c = Config::default();
    let default = c.memory_limit_bytes();
    assert!(default > 0 && default <= 4 << 30);
    c.memory_limit = Some("64 MiB".to_owned());
    assert!(c.check("test").is_ok());
    assert_eq!(c.memory_limit_bytes(), 64 << 20);
    c.memory_limit = Some("1 KiB".to_owned());
    let error = c.check("test").unwrap_err().to_string();
    assert!(
        error.contains("memory_limit") && error.contains("1 KiB"),
        "{error}"
    );
}

#[test]
fn engines_parse_and_are_checked() {
    assert_eq!(Engine::parse("local"), Ok(Engine::Local));
    let cluster = Engine::Ballista {
        host: "sched.example".to_owned(),
        port: 50050,
    };
    assert_eq!(
        Engine::parse("ballista://sched.example"),
        Ok(cluster.clone())
    );
    assert_eq!(
        Engine::parse("ballista://sched.example:50050/"),
        Ok(cluster)
    );
    let loopback = Engine::parse("ballista://127.0.0.1:6000").unwrap();
    assert_eq!(loopback.to_string(), "ballista://127.0.0.1:6000");
    assert_eq!(
        Engine::parse("ballista://[::1]:6000").unwrap().to_string(),
        "ballista://[::1]:6000"
    );
    for bad in [
        "spark://x:1",
        "ballista://",
        "ballista://x:port",
        "ballista://x:0",
        "ballista://a b:1",
    ] {
        assert!(Engine::parse(bad).is_err(), "{bad}");
    }
    let mut c = Config::default();
    assert_eq!(c.engine(), Engine::Local);
    c.engine = Some("ballista://x:\u{1b}[31m".to_owned());
    let error = c.check("test").unwrap_err().to_string();
    assert!(
        error.contains("engine") && !error.contains('\u{1b}'),
        "{error}"
    );
    let overridden = Config::default()
        .resolve(&Overrides {
            engine: Some("ballista://h:7".to_owned()),
            ..Overrides::default()
        })
        .unwrap();
    assert_eq!(overridden.engine().to_string(), "ballista://h:7");
}

#[test]
fn periods_of_centuries_are_refused() {
    let mut c = Config {
        start: NaiveDate::from_ymd_opt(1, 1, 1).unwrap(),
        end: NaiveDate::from_ymd_opt(9999, 12, 31).unwrap(),
        ..Config::default()
    };
    let error = c.check("test").unwrap_err().to_string();
    assert!(
        error.contains("`start`") && error.contains("0001-01-01"),
        "{error}"
    );
    c.start = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap();
    c.end = NaiveDate::from_ymd_opt(2100, 12, 31).unwrap();
    let error = c.check("test").unwrap_err().to_string();
    assert!(error.contains("1812 months"), "{error}");
    c.start = NaiveDate::from_ymd_opt(2000, 1, 31).unwrap();
    c.end = NaiveDate::from_ymd_opt(2049, 12, 1).unwrap();
    assert_eq!(c.period_month_count(), 600);
    assert!(c.check("test").is_ok());
    c.end = NaiveDate::from_ymd_opt(2050, 1, 1).unwrap();
    assert!(c.check("test").is_err());
}

#[test]
fn slugs_transliterate_and_stay_short() {
    let mut c = Config {
        title: "Gwasanaeth Tân — Trais Difrifol".to_owned(),
        ..Config::default()
    };
    assert_eq!(
        c.slug(),
        "gwasanaeth-tan-trais-difrifol-2020-04-01-to-2021-09-30"
    );
    c.title = "Гродно".to_owned();
    assert_eq!(c.slug(), "grodno-2020-04-01-to-2021-09-30");
    c.title = "!!!".to_owned();
    assert_eq!(c.slug(), "sna-2020-04-01-to-2021-09-30");
    c.title = "word ".repeat(60);
    let slug = c.slug();
    assert!(slug.len() <= MAX_TITLE_SLUG + 25, "{slug}");
    assert!(slug.starts_with("word-word-") && slug.ends_with("-2020-04-01-to-2021-09-30"));
    assert!(!slug.contains("--"), "{slug}");
    c.title = "x".repeat(300);
    assert_eq!(
        c.slug().len(),
        MAX_TITLE_SLUG + "-2020-04-01-to-2021-09-30".len()
    );
}

#[test]
fn slug_and_mid_point() {
    let c = Config::default();
    assert_eq!(
        c.slug(),
        "leicester-leicestershire-and-rutland-serious-violence-sna-2020-04-01-to-2021-09-30"
    );
    assert_eq!(
        c.mid_point(),
        NaiveDate::from_ymd_opt(2020, 12, 30).unwrap()
    );
}

#[test]
fn hotspot_settings_default_to_eight_neighbours_and_are_checked() {
    let c = Config::default();
    assert_eq!(c.hotspot_neighbours, 8);
    assert_eq!(c.hotspot_distance_m, None);
    assert_eq!(c.hotspot_permutations, 9999);
    c.check("test").unwrap();
    // A distance, when given, is a band of that many metres.
    let c = Config::parse("hotspot_distance_m = 1500.0\nhotspot_neighbours = 5\n").unwrap();
    assert_eq!(c.hotspot_distance_m, Some(1500.0));
    assert_eq!(c.hotspot_neighbours, 5);
    c.check("test").unwrap();
    for (text, key, needle) in [
        ("hotspot_neighbours = 0\n", "hotspot_neighbours", "got 0"),
        (
            "hotspot_neighbours = 101\n",
            "hotspot_neighbours",
            "between 1 and 100",
        ),
        (
            "hotspot_distance_m = -5.0\n",
            "hotspot_distance_m",
            "got -5",
        ),
        (
            "hotspot_distance_m = 0.0\n",
            "hotspot_distance_m",
            "positive distance",
        ),
        (
            "hotspot_distance_m = nan\n",
            "hotspot_distance_m",
            "got NaN",
        ),
        (
            "hotspot_permutations = 9\n",
            "hotspot_permutations",
            "got 9",
        ),
        (
            "hotspot_permutations = 100000\n",
            "hotspot_permutations",
            "99999",
        ),
    ] {
        let error = Config::parse(text)
            .map_err(|e| e.to_string())
            .and_then(|c| c.check("test").map_err(|e| e.to_string()))
            .unwrap_err();
        assert!(
            error.contains(&format!("`{key}`")) && error.contains(needle),
            "{text}: {error}"
        );
    }
    // TOML integers stop at i64::MAX; a seed set from code beyond it is refused.
    let c = Config {
        hotspot_seed: u64::MAX,
        ..Config::default()
    };
    let error = c.check("test").unwrap_err().to_string();
    assert!(error.contains("`hotspot_seed`"), "{error}");
    // A negative or fractional count does not parse, and the error names the key.
    let error = Config::parse("hotspot_neighbours = -1\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("hotspot_neighbours"), "{error}");
}

#[test]
fn pre_pandemic_baseline_defaults_to_april_2019_to_february_2020_and_is_checked() {
    let c = Config::default();
    assert_eq!(
        c.pre_pandemic_baseline.words(),
        "April 2019 to February 2020"
    );
    let parse = |text: &str| {
        Config::parse(text)
            .unwrap()
            .check("sna.toml")
            .unwrap_err()
            .to_string()
    };
    let c =
        Config::parse("[pre_pandemic_baseline]\nstart = 2018-04-01\nend = 2019-03-31\n").unwrap();
    c.check("sna.toml").unwrap();
    assert_eq!(c.pre_pandemic_baseline.words(), "April 2018 to March 2019");
    assert_eq!(
        parse("[pre_pandemic_baseline]\nstart = 2019-04-02\nend = 2020-02-29\n"),
        "config sna.toml: `pre_pandemic_baseline.start` must be the first day of a month, got 2019-04-02"
    );
    assert_eq!(
        parse("[pre_pandemic_baseline]\nstart = 2019-04-01\nend = 2020-02-28\n"),
        "config sna.toml: `pre_pandemic_baseline.end` must be the last day of a month, got 2020-02-28"
    );
    assert_eq!(
        parse("[pre_pandemic_baseline]\nstart = 2019-04-01\nend = 2019-02-28\n"),
        "config sna.toml: `pre_pandemic_baseline.end` (2019-02-28) is before its start (2019-04-01)"
    );
    assert!(
        parse("[pre_pandemic_baseline]\nstart = 2019-04-01\nend = 2020-04-30\n").contains(
            "`pre_pandemic_baseline.end` the baseline 2019-04-01 to 2020-04-30 spans 13 months"
        ),
    );
    // A missing key is named by the parser.
    let err = Config::parse("[pre_pandemic_baseline]\nstart = 2019-04-01\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("end"), "{err}");
}

#[test]
fn paths_resolve_against_the_file_but_object_store_urls_stay_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    let file = conf.join("sna.toml");
    std::fs::write(
        &file,
        "data_dir = \"s3://vrn/2025\"\noutput_dir = \"out\"\n",
    )
    .unwrap();
    let loaded = Config::load(Some(&file)).unwrap();
    assert_eq!(loaded.config.data_dir, PathBuf::from("s3://vrn/2025"));
    assert_eq!(loaded.config.output_dir, conf.join("out"));
}
