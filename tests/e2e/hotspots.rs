//! Hot spots on a made-up city where the old method (a 1,500 m distance band with normal
//! p-values) and the new one (the 8 nearest LSOAs with conditional-permutation p-values) give
//! different answers, as in LLR's sample (issue #15 item 5).
//!
//! The world: a city of 60 LSOAs on a 10 × 6 grid 500 m apart (`E0<row><column>`), and 12
//! rural LSOAs 6 km apart (`R00`–`R11`). One city LSOA, E021, has 300 serious-violence
//! offences and its eight surrounding LSOAs 25 each (a city centre); a ring of LSOAs around
//! E027 has 20 each round a centre of 6; every other city LSOA has 1, and the rural ones 0, 1
//! or 3 (800 offences in all). Every LSOA has 1,000 residents.
//!
//! With the 8 nearest neighbours, E021 has the highest Gi* z: 3.98091840, as PySAL esda 2.9
//! computes it (`G_Local(y, KNN(points, k=8), transform='B', star=True)` on these 72
//! centroids), and it and its eight neighbours are hot spots forming one cluster. With a
//! 1,500 m band E021's z is 1.91890119 (esda, `DistanceBand(points, 1500)`), eleventh, and the
//! highest is E000, a corner LSOA with 1 offence whose band takes in the city centre: the
//! smoothed halo the issue describes.

use crate::{Table, assert_success, count, fixture, num, sna, workdir};

/// Ward of a city column: the centre, E021, is in Castle, its eastern neighbours in
/// Westcotes.
fn ward(column: usize) -> &'static str {
    match column {
        0..=1 => "Castle",
        2..=5 => "Westcotes",
        _ => "Saffron",
    }
}

/// (code, ward, district, easting, northing, offences) of every LSOA.
fn world() -> Vec<(String, &'static str, &'static str, i64, i64, usize)> {
    let mut lsoas = Vec::new();
    for row in 0..6_i64 {
        for column in 0..10_i64 {
            let near_big = (column - 1).abs().max((row - 2).abs());
            let from_ring = (((column - 7).pow(2) + (row - 2).pow(2)) as f64).sqrt();
            let offences = if near_big == 0 {
                300
            } else if near_big == 1 {
                25
            } else if (column, row) == (7, 2) {
                6
            } else if from_ring <= 2.0 {
                20
            } else {
                1
            };
            lsoas.push((
                format!("E0{row}{column}"),
                ward(column as usize),
                "City",
                400_000 + 500 * column,
                300_000 + 500 * row,
                offences,
            ));
        }
    }
    for j in 0..12_i64 {
        lsoas.push((
            format!("R{j:02}"),
            "Rural",
            "County",
            400_000 + 6000 * (j % 4),
            310_000 + 6000 * (j / 4),
            [0, 1, 3][j as usize % 3],
        ));
    }
    lsoas
}

/// The fixture's extract with this world's LSOAs, residents and offences.
fn write_world(dir: &std::path::Path, config_extra: &str) {
    let extract = dir.join("extract");
    fixture::write_extract(&extract);
    let mut lsoa = String::from(
        "lsoa_code,lsoa_name,msoa_code,msoa_name,ward_code,ward_name,lad_code,lad_name,csp_code,csp_name,pfa_code,pfa_name,latitude,longitude,easting,northing,imd2019_lsoa11,imd2019_rank,imd2019_decile,imd2019_crime_decile\n",
    );
    let mut population = String::from("year,lsoa_code,sex,age,population\n");
    let mut offences = String::from(
        "crime_id,offence_code,committed_at,recorded_date,lsoa_code,location_type,domestic,knife,nte,easting,northing\n",
    );
    for (code, ward, district, easting, northing, n) in world() {
        lsoa.push_str(&format!(
            "{code},{district} {code},M{code},{district} middle,W{ward},{ward},D{district},{district},S{district},{district} CSP,P1,Test,52.6,-1.1,{easting},{northing},{code},100,5,5\n"
        ));
        for sex in ["F", "M"] {
            population.push_str(&format!("2020,{code},{sex},30,500\n"));
        }
        for i in 0..n {
            let day = 1 + i % 28;
            offences.push_str(&format!(
                "{code}-{i},8N,2021-03-{day:02}T12:00:00,2021-03-{day:02},{code},street,false,false,false,{easting},{northing}\n"
            ));
        }
    }
    std::fs::write(extract.join("reference/lsoa.csv"), lsoa).unwrap();
    fixture::write_parquet(
        &extract.join("offences.parquet"),
        &offences,
        fixture::offence_fields(),
    );
    fixture::write_parquet(
        &extract.join("population.parquet"),
        &population,
        vec![
            arrow::datatypes::Field::new("year", arrow::datatypes::DataType::Int64, true),
            arrow::datatypes::Field::new("lsoa_code", arrow::datatypes::DataType::Utf8, true),
            arrow::datatypes::Field::new("sex", arrow::datatypes::DataType::Utf8, true),
            arrow::datatypes::Field::new("age", arrow::datatypes::DataType::Int64, true),
            arrow::datatypes::Field::new("population", arrow::datatypes::DataType::Int64, true),
        ],
    );
    std::fs::write(
        dir.join("sna.toml"),
        format!(
            "data_dir = \"extract\"\ntitle = \"Hot spots\"\nstart = 2021-01-01\nend = 2021-12-31\n{config_extra}"
        ),
    )
    .unwrap();
}

fn run(dir: &std::path::Path, out: &str) -> std::path::PathBuf {
    let output = sna(dir, &["run", "--out", out, "--quiet"]);
    assert_success(&output);
    dir.join(out)
}

#[test]
fn hotspot_nearest_neighbours_find_the_centre_the_band_misses() {
    let dir = workdir("hotspot-knn");
    write_world(&dir, "");
    let bundle = run(&dir, "bundle");
    let table = Table::read(&bundle.join("tables/lsoa_hotspots.csv"));
    assert_eq!(table.rows.len(), 72);
    let first = table.row(&[("rank", "1")]);
    assert_eq!(first["lsoa_code"], "E021");
    count(first, "offences", 300);
    let z = num(first, "gi_star_z");
    assert!((z - 3.98091840).abs() < 1e-6, "esda's z, got {z}");
    // Only the draw of exactly its eight neighbours' counts reaches 8 × 25 = 200 (1 in
    // C(71, 8) ≈ 10¹⁰): no draw of 9,999 does, and p_sim = 1/10,000.
    assert_eq!(num(first, "gi_star_p_sim"), 0.0001);
    assert_eq!(first["hotspot"], "true");
    count(first, "cluster_id", 1);
    // The hot spots: E021, six of the eight LSOAs around it and the corner E000 (whose
    // nearest include E021 and five of its neighbours), all in cluster 1. Their p_sim are at
    // most 0.0026, against Benjamini-Hochberg's 8 · 0.05/72 = 0.0056 for the eighth; the next,
    // E001, E040, E012 and E032, have 0.011 to 0.039 (the seed's draws; other seeds move them
    // by about 0.0005, far from the cut-off).
    let hot: Vec<&str> = table
        .rows
        .iter()
        .filter(|r| r["hotspot"] == "true")
        .map(|r| r["lsoa_code"].as_str())
        .collect();
    assert_eq!(
        hot,
        [
            "E021", "E020", "E000", "E010", "E011", "E022", "E030", "E031"
        ]
    );
    for code in hot {
        count(table.row(&[("lsoa_code", code)]), "cluster_id", 1);
    }
    let far = table.row(&[("lsoa_code", "E059")]);
    assert_eq!(
        (far["hotspot"].as_str(), far["cluster_id"].as_str()),
        ("false", "")
    );

    // The cluster: 300 + 6 · 25 + 1 = 451 offences of the 800, among 8,000 residents; its
    // wards by offences, Castle (E000, E010, E011, E020, E021, E030, E031: 426) before
    // Westcotes (E022: 25); its LSOAs by offences, E021 first.
    let clusters = Table::read(&bundle.join("tables/hotspot_clusters.csv"));
    assert_eq!(clusters.rows.len(), 1);
    let cluster = clusters.row(&[("cluster_id", "1")]);
    count(cluster, "lsoas", 8);
    count(cluster, "offences", 451);
    assert!((num(cluster, "share_pct") - 100.0 * 451.0 / 800.0).abs() < 1e-9);
    // Calendar 2021: 8,000 × 365/365.25 person-years.
    assert!((num(cluster, "rate_per_1000_year") - 451.0 / (8.0 * 365.0 / 365.25)).abs() < 1e-9);
    count(cluster, "harm_days", 451 * 20);
    assert_eq!(cluster["wards"], "Castle; Westcotes");
    assert_eq!(cluster["districts"], "City");
    assert!(
        cluster["lsoa_names"].starts_with("City E021; "),
        "{cluster:?}"
    );

    // The key finding names the cluster by its wards.
    let summary = std::fs::read_to_string(bundle.join("summary.md")).unwrap();
    let expected = "8 of 72 neighbourhoods (LSOAs) were serious-violence hot spots, in 1 cluster. \
        The cluster, 8 neighbourhoods around Castle and Westcotes wards (City), held 56.4% of \
        serious violence with a known location";
    assert!(summary.contains(expected), "{expected} in {summary}");

    // Same inputs, same p-values, clusters and report tables, byte for byte.
    let again = run(&dir, "again");
    for name in ["lsoa_hotspots", "hotspot_clusters"] {
        let a = std::fs::read(bundle.join(format!("tables/{name}.csv"))).unwrap();
        let b = std::fs::read(again.join(format!("tables/{name}.csv"))).unwrap();
        assert!(a == b, "{name}.csv differs between identical runs");
    }
}

#[test]
fn hotspot_distance_band_is_the_old_answer() {
    let dir = workdir("hotspot-band");
    write_world(&dir, "hotspot_distance_m = 1500.0\n");
    let bundle = run(&dir, "bundle");
    let table = Table::read(&bundle.join("tables/lsoa_hotspots.csv"));
    // The band ranks first a corner LSOA with one offence, for its neighbours' offences.
    let first = table.row(&[("rank", "1")]);
    assert_eq!(first["lsoa_code"], "E000");
    count(first, "offences", 1);
    let centre = table.row(&[("lsoa_code", "E021")]);
    let z = num(centre, "gi_star_z");
    assert!((z - 1.91890119).abs() < 1e-6, "esda's z, got {z}");
    let above = table
        .rows
        .iter()
        .filter(|r| r["gi_star_z"].parse::<f64>().is_ok_and(|v| v > z))
        .count();
    assert_eq!(above, 9, "tenth, tied with E012 and E031");
    // And it is not a hot spot: its band's permutation p-value, about 0.04, does not survive
    // Benjamini-Hochberg (nor did its normal p-value, 0.055, under the old method).
    assert_eq!(centre["hotspot"], "false");
    assert_eq!(table.row(&[("lsoa_code", "E000")])["hotspot"], "true");
}
