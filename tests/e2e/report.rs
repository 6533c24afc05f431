//! The charts and the report of `sna run` (issue 5): every chart from the sample, identical
//! SVGs for identical inputs, an index.html that references every chart and table and says
//! every key finding, and charts with empty data skipped with a note.

use std::path::{Path, PathBuf};

use crate::{Table, assert_success, fixture, num, sna, workdir};

/// Every chart the bundle must have.
const CHARTS: [&str; 12] = [
    "deprivation",
    "trend_police",
    "trend_ae",
    "age_sex",
    "time_heatmap",
    "districts",
    "hotspot_map",
    "offence_mix",
    "repeat_concentration",
    "knife_nte",
    "harm_vs_count",
    "istv_time_heatmap",
];

fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample")
}

/// Runs the assessment on the committed sample into `<dir>/<name>`.
fn run_sample(dir: &Path, name: &str) -> PathBuf {
    let data = sample_dir();
    let output = sna(
        dir,
        &[
            "run",
            "--data",
            data.to_str().unwrap(),
            "--out",
            name,
            "--quiet",
        ],
    );
    assert_success(&output);
    dir.join(name)
}

/// The width and height in a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    (be(16), be(20))
}

/// HTML text with the five escapes undone, to find sentences in it.
fn unescape(html: &str) -> String {
    html.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

#[test]
fn sample_bundle_has_every_chart_and_a_complete_report() {
    let dir = workdir("report-sample");
    let bundle = run_sample(&dir, "a");
    for chart in CHARTS {
        let png = std::fs::read(bundle.join(format!("charts/{chart}.png"))).unwrap();
        let (width, height) = png_size(&png);
        assert_eq!(width, 900, "{chart}.png is 900 px wide");
        assert!(height >= 400, "{chart}.png is {height} px tall");
        let svg = std::fs::read_to_string(bundle.join(format!("charts/{chart}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("width=\"900\""),
            "{chart}.svg"
        );
        assert!(svg.contains("Source: "), "{chart}.svg has a source caption");
        assert!(
            svg.contains("April 2020 to September 2021"),
            "{chart}.svg gives the period"
        );
        assert!(
            svg.contains("DejaVu Sans"),
            "{chart}.svg names the bundled font"
        );
    }

    let html = std::fs::read_to_string(bundle.join("index.html")).unwrap();
    // The report says it is not disclosure-controlled, with the threshold it does not apply.
    assert!(
        html.contains("No disclosure control is applied to this report")
            && html.contains("including those from 1 to 4")
    );
    // The methods section is docs/methods.md, headings one level down: every section of the
    // document is in the report.
    let methods =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/methods.md"))
            .unwrap();
    for heading in methods.lines().filter_map(|l| l.strip_prefix("## ")) {
        assert!(
            html.contains(&format!("<h3>{heading}</h3>")),
            "methods heading {heading:?} not in the report"
        );
    }
    let text = unescape(&html);
    for chart in CHARTS {
        assert!(
            html.contains(&format!("src=\"charts/{chart}.png\"")),
            "{chart} image"
        );
        assert!(
            html.contains(&format!("href=\"charts/{chart}.svg\"")),
            "{chart} SVG link"
        );
        assert!(
            html.contains(&format!("id=\"fig-{chart}\"")),
            "{chart} figure"
        );
    }
    for n in 1..=10 {
        assert!(
            html.contains(&format!("Figure {n}. ")),
            "figure {n} is numbered"
        );
    }
    assert!(!html.contains(" alt=\"\""), "every image has alt text");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("manifest.json")).unwrap())
            .unwrap();
    for job in manifest["jobs"].as_array().unwrap() {
        let name = job["job"].as_str().unwrap();
        assert!(
            html.contains(&format!("href=\"tables/{name}.csv\"")),
            "{name}.csv linked"
        );
    }
    assert_eq!(manifest["charts"].as_array().unwrap().len(), CHARTS.len());
    assert!(html.contains("href=\"manifest.json\""));
    // Offline and self-contained: nothing fetched from anywhere.
    for needle in [
        "<script",
        "<link",
        "src=\"http",
        "href=\"http",
        "url(",
        "@import",
    ] {
        assert!(!html.contains(needle), "index.html contains {needle}");
    }
    // Sections in the order of an SNA.
    let order = [
        "id=\"definition\"",
        "id=\"findings\"",
        "id=\"trends\"",
        "id=\"people\"",
        "id=\"places\"",
        "id=\"times\"",
        "id=\"weapons\"",
        "id=\"repeat\"",
        "id=\"health\"",
        "id=\"quality\"",
        "id=\"methods\"",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|s| html.rfind(s).unwrap_or_else(|| panic!("section {s}")))
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "sections in SNA order"
    );
    for reference in ["Byar", "Wilson", "Dobson", "Getis", "Benjamini"] {
        assert!(html.contains(reference), "methods cite {reference}");
    }

    // Every key finding of summary.md is in the report, and they say what the tables say.
    let summary = std::fs::read_to_string(bundle.join("summary.md")).unwrap();
    let findings: Vec<&str> = summary
        .lines()
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("- "))
        .collect();
    assert!(findings.len() >= 12, "{summary}");
    for finding in &findings {
        assert!(
            text.contains(finding),
            "index.html lacks the finding: {finding}"
        );
    }
    let headline = Table::read(&bundle.join("tables/headline.csv"));
    let male = headline.row(&[("measure", "offenders_male_pct")]);
    let expected = format!(
        "{:.1}% of offenders were male (95% CI {:.1}%–{:.1}%).",
        num(male, "value"),
        num(male, "lower_95"),
        num(male, "upper_95")
    );
    assert!(
        findings.contains(&expected.as_str()),
        "{expected} in {findings:?}"
    );
    let top = headline.row(&[("measure", "top_district_share_pct")]);
    let expected = format!(
        "{} accounted for {:.1}% of serious violence with a known location",
        top["label"],
        num(top, "value")
    );
    assert!(
        findings.iter().any(|f| f.starts_with(&expected)),
        "{expected}"
    );
    let offences = headline.row(&[("measure", "sv_offences")]);
    let n = num(offences, "value") as i64;
    let with_commas = format!("{},{:03}", n / 1000, n % 1000);
    assert!(findings[0].contains(&format!(
        "There were {with_commas} serious violence offences"
    )));

    // Hot-spot table: the top ten LSOAs with their names.
    let hotspots = Table::read(&bundle.join("tables/lsoa_hotspots.csv"));
    let first = hotspots.row(&[("rank", "1")]);
    assert!(text.contains(&first["lsoa_name"]) && text.contains(&first["ward_name"]));

    // Same inputs, byte-identical SVGs.
    let again = run_sample(&dir, "b");
    for chart in CHARTS {
        let a = std::fs::read(bundle.join(format!("charts/{chart}.svg"))).unwrap();
        let b = std::fs::read(again.join(format!("charts/{chart}.svg"))).unwrap();
        assert!(a == b, "{chart}.svg differs between identical runs");
    }
}

#[test]
fn charts_with_empty_data_are_skipped_with_a_note() {
    let dir = workdir("report-empty");
    let extract = dir.join("extract");
    fixture::write_extract(&extract);
    // No assault attendances at all: the A&E trend has nothing to draw.
    fixture::write_parquet(
        &extract.join("ae_attendances.parquet"),
        "attendance_id,patient_id,arrived_at,age,sex,home_lsoa,site,assault,weapon,admitted\n",
        fixture::ae_fields(),
    );
    std::fs::write(dir.join("sna.toml"), fixture::CONFIG).unwrap();
    let output = sna(&dir, &["run", "--out", "bundle", "--quiet"]);
    assert_success(&output);
    let bundle = dir.join("bundle");
    assert!(!bundle.join("charts/trend_ae.png").exists());
    assert!(!bundle.join("charts/trend_ae.svg").exists());
    assert!(
        bundle.join("charts/trend_police.svg").exists(),
        "other charts still drawn"
    );
    // The fixture's made-up LSOA codes have no boundaries: the map is skipped too.
    assert!(!bundle.join("charts/hotspot_map.png").exists());
    let html = unescape(&std::fs::read_to_string(bundle.join("index.html")).unwrap());
    assert!(
        html.contains(
            "was not drawn: trend_ae_monthly has no assault-related A&E attendances by residents"
        ),
        "the report says why"
    );
    assert!(html.contains("none of the LSOAs in lsoa_hotspots has a boundary"));
    assert!(!html.contains("src=\"charts/trend_ae.png\""));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("manifest.json")).unwrap())
            .unwrap();
    let trend_ae = manifest["charts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "trend_ae")
        .unwrap();
    assert_eq!(trend_ae["drawn"], false);
}
