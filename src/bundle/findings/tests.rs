//! Tests of `findings`.

use super::*;

fn table(name: &str, text: &str) -> Table {
    let dir = std::env::temp_dir().join(format!("vrn-sna-findings-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.csv")), text).unwrap();
    Table::read(&dir, name).unwrap()
}

/// One headline measure, as a headline table.
fn headline_of(name: &str, row: &str) -> Table {
    table(
        name,
        &format!("measure,label,value,numerator,denominator,lower_95,upper_95,definition\n{row}\n"),
    )
}

#[test]
fn sentences_from_headline_measures() {
    let headline = table(
        "headline",
        "measure,label,value,numerator,denominator,lower_95,upper_95,definition\n\
         sv_offences,x,4321,4321,,4200,4450,d\n\
         sv_rate_per_1000_year,x,3.456,4321,1250000,3.35,3.55,d\n\
         offenders_male_pct,x,76.04,760,1000,73.3,78.6,d\n\
         offender_rate_ratio_u25,x,1.63,500,400,1.4,1.9,d\n\
         top_district_share_pct,Leicester,56.71,2000,3527,55.1,58.3,d\n\
         peak_hour,22:00–23:00,22,400,4321,,,d\n\
         knife_pct,x,,0,0,,,d\n",
    );
    let findings = key_findings(&Sources::new(&headline, 25)).unwrap();
    assert_eq!(
        findings,
        vec![
            "There were 4,321 serious violence offences in the period: 3.46 per 1,000 residents a year (95% CI 3.35–3.55).",
            "76.0% of offenders were male (95% CI 73.3%–78.6%).",
            "Young people aged 10 to 24 offended at 1.6 times the rate of those 25 and over (95% CI 1.4–1.9).",
            "Leicester accounted for 56.7% of serious violence with a known location (95% CI 55.1%–58.3%).",
            "Offences peaked between 22:00 and 23:00, with 400 offences (9.3% of the total).",
        ]
    );
}

const HEADLINE: &str = "measure,label,value,numerator,denominator,lower_95,upper_95,definition\n\
     sv_offences,x,12345,12345,,,,d\n\
     sv_rate_per_1000_year,x,0.0456,12345,1250000,0.0412,0.0501,d\n\
     victim_prevalence_pct,x,0.4567,5700,1250000,0.44,0.47,d\n\
     offender_prevalence_pct,x,0.3012,3765,1250000,,,d\n\
     offenders_male_pct,x,76.04,760,1000,73.3,78.6,d\n\
     victims_male_pct,x,0.5,5,1000,,,d\n\
     offender_rate_ratio_u25,x,0.853,500,400,0.71,1.02,d\n\
     victim_rate_ratio_u25,x,2.345,500,400,2.1,2.6,d\n\
     top_district_share_pct,Leicester,56.71,2000,3527,55.1,58.3,d\n\
     knife_pct,x,9.87,1218,12345,9.35,10.41,d\n\
     nte_pct,x,31.2,3852,12345,30.4,32.0,d\n\
     peak_hour,22:00–23:00,,1400,12345,,,d\n\
     repeat_offender_share_pct,x,41.5,4000,9639,40.5,42.5,d\n\
     ae_assault_rate_per_1000_year,x,1.234,1543,1250000,1.17,1.30,d\n\
     ambulance_conveyed_u25_pct,x,38.26,412,1077,35.4,41.2,d\n";
const HOTSPOTS: &str = "rank,lsoa_code,lsoa_name,ward_name,district,hotspot\n\
     2,E2,Leicester 002B,Fosse,Leicester,true\n\
     1,E1,Leicester 001A,Castle,Leicester,true\n\
     3,E3,Blaby 001A,Narborough,Blaby,false\n";
const CLUSTERS_ONE: &str = "cluster_id,lsoas,wards,districts,offences,share_pct,share_lower_95,share_upper_95\n\
     1,2,Castle; Fosse,Leicester,120,56.74,50.1,63.2\n";
const CLUSTERS_MANY: &str = "cluster_id,lsoas,wards,districts,offences,share_pct,share_lower_95,share_upper_95\n\
     3,1,\"Dishley, Hathern & Thorpe Acre\",Charnwood,9,0.45,0.2,0.9\n\
     1,12,Castle; Westcotes; Saffron,Leicester,470,23.42,21.6,25.3\n\
     2,3,Narborough,Blaby; Leicester,40,2.04,1.5,2.8\n\
     4,1,Abbey,Leicester,8,0.4,0.2,0.8\n";
const YEAR_ON_YEAR_LOWER: &str = "offence_group,current,previous,change_pct,significant\n\
     Robbery,10,20,-50,true\n\
     All serious violence,1234,1408,-12.357954545,false\n";
const YEAR_ON_YEAR_HIGHER: &str = "offence_group,current,previous,change_pct,significant\n\
     All serious violence,1408,1234,14.1,true\n";
const DEPRIVATION_RII: &str = "measure,decile,rate_per_1000_year,sii,sii_lower_95,sii_upper_95,rii,rii_lower_95,rii_upper_95\n\
     offences,1,9,1,1,1,1,1,1\n\
     victims,1,4.567,3.9,3.2,4.6,0.85,0.71,1.02\n\
     victims,5,2.5,3.9,3.2,4.6,0.85,0.71,1.02\n\
     victims,10,1.234,3.9,3.2,4.6,0.85,0.71,1.02\n";
const DEPRIVATION_NO_RII: &str = "measure,decile,rate_per_1000_year,sii,sii_lower_95,sii_upper_95,rii,rii_lower_95,rii_upper_95\n\
     victims,1,4.567,5.1,4.2,6.0,,,\n\
     victims,10,0.0789,5.1,4.2,6.0,,,\n";
const DEPRIVATION_NO_SII: &str = "measure,decile,rate_per_1000_year,sii,sii_lower_95,sii_upper_95,rii,rii_lower_95,rii_upper_95\n\
     victims,1,2,,,,,,\n\
     victims,10,1,,,,,,\n";
const DEPRIVATION_NONE: &str = "measure,decile,rate_per_1000_year,sii,sii_lower_95,sii_upper_95,rii,rii_lower_95,rii_upper_95\n\
     victims,1,2,,,,,,\n\
     victims,10,0,,,,,,\n";
const OVERLAP_MANY: &str = "breakdown,group,role,persons,in_both_roles,pct\n\
     all,all,victim,5700,1234,21.649\n\
     all,all,offender,3765,1234,32.775\n\
     sex,Male,victim,3000,900,30\n";
const OVERLAP_ONE: &str = "breakdown,group,role,persons,in_both_roles,pct\n\
     all,all,victim,120,1,0.8333\n\
     all,all,offender,80,1,1.25\n";
const OVERLAP_NONE: &str = "breakdown,group,role,persons,in_both_roles,pct\n\
     all,all,victim,120,0,0\n\
     all,all,offender,80,0,0\n";

/// Every branch of every finding, against the sentences the Rust `format!` code wrote
/// before the wording moved into templates/findings.j2 (captured from that code).
#[test]
fn every_branch_reads_as_before() {
    let headline = table("b-headline", HEADLINE);
    let hotspots = table("b-hotspots", HOTSPOTS);
    let full = [
        "There were 12,345 serious violence offences in the period: 0.0456 per 1,000 residents a year (95% CI 0.0412–0.0501).",
        "0.46% of residents were recorded as victims of serious violence in the period (95% CI 0.44%–0.47%) and 0.30% as offenders (distinct people whose home is in the area, of all residents).",
        "76.0% of offenders were male (95% CI 73.3%–78.6%).",
        "0.50% of victims were male.",
        "Young people aged 10 to 24 offended at 0.85 times the rate of those 25 and over (95% CI 0.71–1.0).",
        "Under-25s were victims at 2.3 times the rate of those 25 and over (95% CI 2.1–2.6).",
        "Leicester accounted for 56.7% of serious violence with a known location (95% CI 55.1%–58.3%).",
        "2 of 3 neighbourhoods (LSOAs) were serious-violence hot spots, in 1 cluster. The cluster, 2 neighbourhoods around Castle and Fosse wards (Leicester), held 56.7% of serious violence with a known location (95% CI 50.1%–63.2%).",
        "9.9% of offences were knife-enabled (95% CI 9.3%–10.4%).",
        "31.2% of offences were linked to the night-time economy (95% CI 30.4%–32.0%).",
        "Offences peaked between 22:00 and 23:00, with 1,400 offences (11.3% of the total).",
        "41.5% of offences with a known offender were linked to a repeat offender (two or more offences in the period) (95% CI 40.5%–42.5%).",
        "Offences in the last 12 months were 12.4% lower than in the 12 months before (1,234 against 1,408; not statistically significant).",
        "Residents made 1,543 assault-related A&E attendances in the period: 1.23 per 1,000 residents a year (95% CI 1.17–1.30).",
        "38.3% of assault ambulance incidents conveyed to A&E were for patients aged under 25 (95% CI 35.4%–41.2%).",
        "Compared with an earlier assessment.",
        "Residents of the most deprived tenth of neighbourhoods were 3.7 times as likely to be victims of serious violence as those of the least deprived tenth (4.57 against 1.23 per 1,000 a year); the slope index of inequality is 3.90 per 1,000 a year (95% CI 3.20–4.60) and the relative index 0.85 (0.71–1.0).",
        "1,234 people were named both as a victim and as an offender of serious violence in the period: 21.6% of victims and 32.8% of offenders.",
    ];
    let year_on_year = table("b-yoy-lower", YEAR_ON_YEAR_LOWER);
    let deprivation = table("b-dep-rii", DEPRIVATION_RII);
    let overlap = table("b-ov-many", OVERLAP_MANY);
    let clusters = table("b-clusters", CLUSTERS_ONE);
    let sources = Sources {
        hotspots: Some(&hotspots),
        clusters: Some(&clusters),
        year_on_year: Some(&year_on_year),
        deprivation: Some(&deprivation),
        overlap: Some(&overlap),
        comparison: Some("Compared with an earlier assessment.".to_owned()),
        ..Sources::new(&headline, 25)
    };
    assert_eq!(key_findings(&sources).unwrap(), full);

    // The other branches, each the last findings of a run without a comparison.
    let last = |yoy: &str, dep: &str, ov: &str, n: usize| {
        let year_on_year = table(&format!("b-y-{n}"), yoy);
        let deprivation = table(&format!("b-d-{n}"), dep);
        let overlap = table(&format!("b-o-{n}"), ov);
        let sources = Sources {
            hotspots: Some(&hotspots),
            clusters: Some(&clusters),
            year_on_year: Some(&year_on_year),
            deprivation: Some(&deprivation),
            overlap: Some(&overlap),
            ..Sources::new(&headline, 25)
        };
        let findings = key_findings(&sources).unwrap();
        assert_eq!(findings[..12], full[..12]);
        findings[12..].to_vec()
    };
    assert_eq!(
        last(YEAR_ON_YEAR_HIGHER, DEPRIVATION_NO_RII, OVERLAP_ONE, 1),
        [
            "Offences in the last 12 months were 14.1% higher than in the 12 months before (1,408 against 1,234; a statistically significant change).",
            full[13],
            full[14],
            "Residents of the most deprived tenth of neighbourhoods were 57.9 times as likely to be victims of serious violence as those of the least deprived tenth (4.57 against 0.0789 per 1,000 a year); the slope index of inequality is 5.10 per 1,000 a year (95% CI 4.20–6.00); there is no relative index, because the straight line fitted across the deciles falls below zero at the least deprived end.",
            "1 person was named both as a victim and as an offender of serious violence in the period: 0.83% of victims and 1.2% of offenders.",
        ]
    );
    assert_eq!(
        last(YEAR_ON_YEAR_LOWER, DEPRIVATION_NO_SII, OVERLAP_NONE, 2),
        [
            full[12],
            full[13],
            full[14],
            "Residents of the most deprived tenth of neighbourhoods were 2.0 times as likely to be victims of serious violence as those of the least deprived tenth (2.00 against 1.00 per 1,000 a year).",
            "No one was named both as a victim and as an offender of serious violence in the period (people are matched by the extract's person identifier).",
        ]
    );
    // No rate in the least deprived tenth: no deprivation finding.
    assert_eq!(
        last(YEAR_ON_YEAR_LOWER, DEPRIVATION_NONE, OVERLAP_NONE, 3),
        [
            full[12],
            full[13],
            full[14],
            "No one was named both as a victim and as an offender of serious violence in the period (people are matched by the extract's person identifier)."
        ]
    );
}

#[test]
fn filters_format_as_the_helpers() {
    let mut env = Environment::new();
    add_filters(&mut env);
    let template = env
        .template_from_str("{{ v|pct }} {{ v|rate }} {{ v|ratio }} {{ v|count }}")
        .unwrap();
    for v in [
        0.0, 0.01234, 0.2149, 0.853, 1.25, 1.63, 56.749, 12.346, 4321.0, 1234567.0,
    ] {
        assert_eq!(
            template.render(context! { v => v }).unwrap(),
            format!(
                "{} {} {} {}",
                pct_text(v),
                rate_text(v),
                ratio_text(v),
                count_text(v)
            ),
            "{v}"
        );
    }
}

#[test]
fn a_null_measure_gives_no_sentence() {
    let null = headline_of("null-knife", "knife_pct,x,,0,0,,,d");
    assert_eq!(
        key_findings(&Sources::new(&null, 25)).unwrap(),
        Vec::<String>::new()
    );
    let valued = headline_of("valued-knife", "knife_pct,x,12.34,5,40,9.1,15.2,d");
    assert_eq!(
        key_findings(&Sources::new(&valued, 25)).unwrap(),
        ["12.3% of offences were knife-enabled (95% CI 9.1%–15.2%)."]
    );
    // The other measures of the sentence missing: none either.
    let rate_only = headline_of(
        "rate-only",
        "sv_rate_per_1000_year,x,3.4,4000,1200000,3.3,3.5,d",
    );
    assert_eq!(
        key_findings(&Sources::new(&rate_only, 25)).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn the_wording_lives_in_the_template() {
    let headline = headline_of("edited", "knife_pct,x,12.34,5,40,9.1,15.2,d");
    let values = values(&Sources::new(&headline, 25)).unwrap();
    let edited = FINDINGS_TEMPLATE.replace(
        "of offences were knife-enabled{{ ci(x, \"pct\") }}.",
        "of offences involved a knife.",
    );
    assert_ne!(edited, FINDINGS_TEMPLATE);
    assert_eq!(
        render("edited.j2", &edited, values.clone()).unwrap(),
        ["12.3% of offences involved a knife."]
    );
    // And the order is the template's: a finding not listed is not written.
    let unlisted = FINDINGS_TEMPLATE.replace("\"knife_pct\",", "");
    assert_eq!(
        render("unlisted.j2", &unlisted, values).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn template_errors_name_the_template() {
    let headline = headline_of("errors", "knife_pct,x,12.34,5,40,9.1,15.2,d");
    let values = values(&Sources::new(&headline, 25)).unwrap();
    for (source, needle) in [
        ("{% macro knife_pct() %}", "syntax error"),
        (
            "{% set order = [\"knife_pct\"] %}",
            "no macro has that name",
        ),
        (
            "{% macro knife_pct() %}{{ m.knife_pct.label|pct }}{% endmacro %}{% set order = [\"knife_pct\"] %}",
            "finding `knife_pct`",
        ),
        ("no list", "no `order` list"),
    ] {
        match render("broken.j2", source, values.clone()) {
            Err(e @ FindingsError::Template(_)) => {
                let message = e.to_string();
                assert!(message.starts_with("template broken.j2: "), "{message}");
                assert!(message.contains(needle), "{message}");
            }
            other => panic!("{source}: {other:?}"),
        }
    }
    let report: crate::bundle::report::ReportError =
        FindingsError::Template(TemplateError::Invalid {
            name: FINDINGS_TEMPLATE_NAME.to_owned(),
            problem: "m".to_owned(),
        })
        .into();
    assert_eq!(report.to_string(), "template templates/findings.j2: m");
}

#[test]
fn rounding_for_reading() {
    assert_eq!(pct_text(0.2149), "0.21");
    assert_eq!(pct_text(56.749), "56.7");
    assert_eq!(rate_text(0.01234), "0.0123");
    assert_eq!(rate_text(0.0), "0.00");
    assert_eq!(rate_text(12.346), "12.35");
    assert_eq!(ratio_text(0.853), "0.85");
    assert_eq!(ratio_text(1.63), "1.6");
}

#[test]
fn year_on_year_says_when_too_few_to_test_or_disrupted() {
    let headline = headline_of("yoy-caveats", "sv_offences,Offences,1,1,,,,d");
    let small = table(
        "yoy-small",
        "offence_group,current,previous,change_pct,significant,disrupted\n\
         All serious violence,8,2,300,,the first national lockdown and the second national lockdown\n",
    );
    let findings = key_findings(&Sources {
        year_on_year: Some(&small),
        ..Sources::new(&headline, 25)
    })
    .unwrap();
    assert!(
        findings.contains(
            &"Offences in the last 12 months were 300.0% higher than in the 12 months before (8 against 2; too few offences to test). The two years include the first national lockdown and the second national lockdown: the change may be disruption and recovery rather than a trend."
                .to_owned()
        ),
        "{findings:?}"
    );
}

#[test]
fn hot_spots_are_reported_as_their_largest_clusters() {
    let headline = headline_of("clusters-headline", "sv_offences,Offences,1,1,,,,d");
    let hotspots = table("clusters-hotspots", HOTSPOTS);
    let finding = |clusters: Option<&Table>| {
        key_findings(&Sources {
            hotspots: Some(&hotspots),
            clusters,
            ..Sources::new(&headline, 25)
        })
        .unwrap()
    };
    // Clusters in the order of cluster_id, whatever the file's order; the largest by its two
    // wards with the most offences, the next two after it; a ward name with a comma is kept
    // whole (the list is separated by semicolons); several districts are joined by "and".
    let many = table("clusters-many", CLUSTERS_MANY);
    assert_eq!(
        finding(Some(&many)),
        [
            "2 of 3 neighbourhoods (LSOAs) were serious-violence hot spots, in 4 clusters. The largest, 12 neighbourhoods around Castle and Westcotes wards (Leicester), held 23.4% of serious violence with a known location (95% CI 21.6%–25.3%); the next, 3 neighbourhoods in Narborough ward (Blaby and Leicester), held 2.0%, and 1 neighbourhood in Dishley, Hathern & Thorpe Acre ward (Charnwood), 0.45%."
        ]
    );
    // Without the clusters table (an older queries directory): the count alone.
    assert_eq!(
        finding(None),
        ["2 of 3 neighbourhoods (LSOAs) were serious-violence hot spots."]
    );
    // No hot spot: no sentence.
    let cold = table(
        "clusters-cold",
        "rank,lsoa_code,lsoa_name,ward_name,district,hotspot\n1,E1,L 001A,Castle,Leicester,false\n",
    );
    let findings = key_findings(&Sources {
        hotspots: Some(&cold),
        clusters: Some(&many),
        ..Sources::new(&headline, 25)
    })
    .unwrap();
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn year_on_year_gives_the_dispersion_and_p_value_of_its_test() {
    let headline = headline_of("yoy-quasi", "sv_offences,Offences,1,1,,,,d");
    let quasi = table(
        "yoy-quasi",
        "offence_group,current,previous,change_pct,dispersion,p_value,significant,disrupted\n\
         All serious violence,3657,3338,9.5566,18.8068,0.37929,false,\n",
    );
    let findings = key_findings(&Sources {
        year_on_year: Some(&quasi),
        ..Sources::new(&headline, 25)
    })
    .unwrap();
    assert_eq!(
        findings,
        [
            "Offences in the last 12 months were 9.6% higher than in the 12 months before (3,657 against 3,338; not statistically significant once the month-to-month variation is allowed for: dispersion 18.8, p = 0.379)."
        ]
    );
}

/// The findings read from whole tables (issue 15 item 7): age peaks, robbery rate ratios, the
/// offence mix, both time peaks, repeat offending of under-25s and the pre-pandemic baseline.
#[test]
fn findings_of_the_sna_from_small_tables() {
    let headline = headline_of(
        "sna-headline",
        "repeat_offender_share_u25_pct,x,53.118,988,1860,50.85,55.38,d",
    );
    let age_sex = table(
        "age_sex",
        "role,age_band,sex,persons,person_years\n\
         victim,15-19,F,30,1000\nvictim,15-19,M,60,2000\nvictim,20-24,F,10,1000\n\
         offender,15-19,F,3,1000\noffender,20-24,M,45,3000\n",
    );
    let offence_mix = table(
        "offence_mix",
        "ho_group,offence_code,offence_name,offences,total,group_offences\n\
         Violence with injury,8N,Assault with injury,60,100,70\n\
         Violence with injury,5D,Assault with intent,10,100,70\n\
         Robbery,34B,Robbery of personal property,30,100,30\n",
    );
    let hour_profile = table(
        "hour_profile",
        "hour,offences,total,pct,lower_95,upper_95\n\
         9,5,100,5,,\n15,30,100,30,21,40\n23,20,100,20,13,29\n",
    );
    let rate_ratios = table(
        "rate_ratio_by_group",
        "ho_group,role,rate_ratio,lower_95,upper_95\n\
         All serious violence,victim,2.4,2.3,2.6\n\
         Robbery,victim,2.48,2.23,2.76\nRobbery,offender,5.239,4.574,6.0\n",
    );
    let baseline = table(
        "pre_pandemic_baseline",
        "series,time_window,baseline,months_compared,months_left_out,window_monthly_avg,baseline_monthly_avg,pct_of_baseline,note\n\
         Serious violence offences,the period,April 2019 to February 2020,17,1,290.294,347.588,83.5167,March 2021 left out: the baseline does not hold that calendar month\n\
         Serious violence offences,the last 12 months,April 2019 to February 2020,11,1,305.7,337.5,90.5737,x\n\
         Assault A&E attendances,the period,April 2019 to February 2020,17,1,201.2,242.7,82.913,x\n\
         Assault A&E attendances,the last 12 months,April 2019 to February 2020,11,1,209.8,234.9,89.319,x\n",
    );
    let mut tables = BTreeMap::new();
    for t in [&rate_ratios, &baseline] {
        let name = if t.headers().iter().any(|h| h == "rate_ratio") {
            "rate_ratio_by_group"
        } else {
            "pre_pandemic_baseline"
        };
        tables.insert(name.to_owned(), typed_rows(t).unwrap());
    }
    let findings = key_findings(&Sources {
        age_sex: Some(&age_sex),
        offence_mix: Some(&offence_mix),
        hour_profile: Some(&hour_profile),
        tables,
        ..Sources::new(&headline, 25)
    })
    .unwrap();
    assert_eq!(
        findings,
        [
            // Victims 15-19: 90 / 3,000 × 1,000 = 30 (Byar limits); offenders 20-24: 45 / 3,000 = 15.
            "By age, victims' rates peaked at 15–19 (30.00 per 1,000 residents of that age a year; 95% CI 24.12–36.88) and offenders' at 20–24 (15.00; 95% CI 10.94–20.07).",
            "For robbery, under-25s were victims at 2.5 times the rate of those 25 and over (95% CI 2.2–2.8), and young people aged 10 to 24 offended at 5.2 times the rate (95% CI 4.6–6.0).",
            "Violence with injury made up 70.0% of serious violence offences and robbery 30.0%; the commonest offence was assault with injury (60.0%).",
            "Offences peaked twice a day: in the afternoon between 15:00 and 16:00 (30 offences, 30.0% of the total; 95% CI 21.0%–40.0%) and in the late evening between 23:00 and 00:00 (20, 20.0%; 95% CI 13.0%–29.0%).",
            "Among under-25s, 53.1% of offences with an under-25 offender were linked to an under-25 repeat offender (95% CI 50.9%–55.4%).",
            "Serious violence averaged 290.3 offences a month in the period, 83.5% of the pre-pandemic average for the same calendar months (347.6 a month, April 2019 to February 2020); in the last 12 months, 90.6%. Assault A&E attendances were at 82.9% of their pre-pandemic average (89.3% in the last 12 months). March 2021 left out: the baseline does not hold that calendar month.",
        ]
    );

    // A baseline the extract does not cover: no percentage, and the reason.
    let uncovered = table(
        "pre_pandemic_baseline_uncovered",
        "series,time_window,baseline,months_compared,months_left_out,window_monthly_avg,baseline_monthly_avg,pct_of_baseline,note\n\
         Serious violence offences,the period,April 2019 to February 2020,17,1,,,,the extract does not cover the whole baseline (April 2019 to February 2020)\n",
    );
    let mut tables = BTreeMap::new();
    tables.insert(
        "pre_pandemic_baseline".to_owned(),
        typed_rows(&uncovered).unwrap(),
    );
    let findings = key_findings(&Sources {
        tables,
        ..Sources::new(&headline, 25)
    })
    .unwrap();
    assert_eq!(
        findings[1],
        "No comparison with before the pandemic is possible: the extract does not cover the whole baseline (April 2019 to February 2020)."
    );
}
