//! Key findings in words, generated from the `headline` table (and the hot spots and the
//! year-on-year comparison where present), for the report and `summary.md`.
//!
//! Numbers are rounded for reading and never altered: percentages to one decimal place (two
//! under 1%), rates to two decimal places (three significant figures under 0.1), rate ratios
//! to one decimal place (two under 1), counts in full with thousands separators.

use crate::charts::data::{Table, TableError};

/// One headline measure.
#[derive(Debug, Clone, Default)]
struct Measure {
    label: String,
    value: Option<f64>,
    numerator: Option<f64>,
    denominator: Option<f64>,
    lower: Option<f64>,
    upper: Option<f64>,
}

/// Sentences for the key findings, in the order of an SNA. A measure that is null (too few
/// data) gives no sentence.
pub fn key_findings(
    headline: &Table,
    hotspots: Option<&Table>,
    year_on_year: Option<&Table>,
    cutoff: u32,
) -> Result<Vec<String>, TableError> {
    let measure = |id: &str| -> Result<Option<Measure>, TableError> {
        let Some(row) = headline.rows_where("measure", id).next() else {
            return Ok(None);
        };
        Ok(Some(Measure {
            label: row.text("label")?.to_owned(),
            value: row.number("value")?,
            numerator: row.number("numerator")?,
            denominator: row.number("denominator")?,
            lower: row.number("lower_95")?,
            upper: row.number("upper_95")?,
        }))
    };
    // A measure with a value: null measures (too few data) give no sentence.
    let valued = |id: &str| -> Result<Option<(Measure, f64)>, TableError> {
        Ok(measure(id)?.and_then(|m| m.value.map(|v| (m, v))))
    };
    let mut out = Vec::new();
    if let (Some((_, n)), Some((rate, r))) = (valued("sv_offences")?, valued("sv_rate_per_1000")?) {
        out.push(format!(
            "There were {} serious violence offences in the period: {} per 1,000 residents{}.",
            count_text(n),
            rate_text(r),
            ci(&rate, rate_text, "")
        ));
    }
    if let (Some((_, v)), Some((_, o))) = (
        valued("victim_prevalence_pct")?,
        valued("offender_prevalence_pct")?,
    ) {
        out.push(format!(
            "{}% of residents were recorded as victims of serious violence and {}% as offenders.",
            pct_text(v),
            pct_text(o)
        ));
    }
    for (id, who) in [
        ("offenders_male_pct", "offenders"),
        ("victims_male_pct", "victims"),
    ] {
        if let Some((m, v)) = valued(id)? {
            out.push(format!(
                "{}% of {who} were male{}.",
                pct_text(v),
                ci(&m, pct_text, "%")
            ));
        }
    }
    for (id, verb) in [
        ("offender_rate_ratio_u25", "offended"),
        ("victim_rate_ratio_u25", "were victims"),
    ] {
        if let Some((m, v)) = valued(id)? {
            out.push(format!(
                "Under-{cutoff}s {verb} at {} times the rate of those {cutoff} and over{}.",
                ratio_text(v),
                ci(&m, ratio_text, "")
            ));
        }
    }
    if let Some((m, v)) = valued("top_district_share_pct")? {
        out.push(format!(
            "{} accounted for {}% of serious violence with a known location{}.",
            m.label,
            pct_text(v),
            ci(&m, pct_text, "%")
        ));
    }
    if let Some(sentence) = hotspot_sentence(hotspots)? {
        out.push(sentence);
    }
    if let Some((m, v)) = valued("knife_pct")? {
        out.push(format!(
            "{}% of offences were knife-enabled{}.",
            pct_text(v),
            ci(&m, pct_text, "%")
        ));
    }
    if let Some((m, v)) = valued("nte_pct")? {
        out.push(format!(
            "{}% of offences were linked to the night-time economy{}.",
            pct_text(v),
            ci(&m, pct_text, "%")
        ));
    }
    if let Some(m) = measure("peak_hour")?
        && let (Some(n), Some(total)) = (m.numerator, m.denominator)
        && total > 0.0
    {
        out.push(format!(
            "Offences peaked between {}, with {} offences ({}% of the total).",
            m.label.replace('–', " and "),
            count_text(n),
            pct_text(100.0 * n / total)
        ));
    }
    if let Some((m, v)) = valued("repeat_offender_share_pct")? {
        out.push(format!(
            "{}% of offences with a known offender were linked to a repeat offender (two or \
             more offences in the period){}.",
            pct_text(v),
            ci(&m, pct_text, "%")
        ));
    }
    if let Some(sentence) = year_on_year_sentence(year_on_year)? {
        out.push(sentence);
    }
    if let Some((m, v)) = valued("ae_assault_rate_per_1000")?
        && let Some(n) = m.numerator
    {
        out.push(format!(
            "Residents made {} assault-related A&E attendances: {} per 1,000 residents{}.",
            count_text(n),
            rate_text(v),
            ci(&m, rate_text, "")
        ));
    }
    if let Some((m, v)) = valued("ambulance_conveyed_u25_pct")? {
        out.push(format!(
            "{}% of assault ambulance incidents conveyed to A&E were for patients aged under \
             {cutoff}{}.",
            pct_text(v),
            ci(&m, pct_text, "%")
        ));
    }
    Ok(out)
}

/// How many LSOAs are hot spots, and the strongest, when there is one.
fn hotspot_sentence(table: Option<&Table>) -> Result<Option<String>, TableError> {
    let Some(table) = table else {
        return Ok(None);
    };
    let hot = table
        .rows()
        .filter(|r| r.flag("hotspot").unwrap_or(false))
        .count();
    let Some(first) = table
        .rows()
        .find(|r| r.text("rank").is_ok_and(|v| v == "1"))
    else {
        return Ok(None);
    };
    if hot == 0 || !first.flag("hotspot")? {
        return Ok(None);
    }
    Ok(Some(format!(
        "{} of {} neighbourhoods (LSOAs) were serious-violence hot spots; the strongest was {} \
         in {} ward, {}.",
        hot,
        table.rows().count(),
        first.text("lsoa_name")?,
        first.text("ward_name")?,
        first.text("district")?
    )))
}

/// The last 12 months against the 12 before, when the data reach back.
fn year_on_year_sentence(table: Option<&Table>) -> Result<Option<String>, TableError> {
    let Some(row) = table.and_then(|t| t.rows_where("ho_group", "All serious violence").next())
    else {
        return Ok(None);
    };
    let (Some(change), Some(current), Some(previous)) = (
        row.number("change_pct")?,
        row.number("current")?,
        row.number("previous")?,
    ) else {
        return Ok(None);
    };
    let direction = if change >= 0.0 { "higher" } else { "lower" };
    let significance = if row.flag("significant")? {
        "a statistically significant change"
    } else {
        "not statistically significant"
    };
    Ok(Some(format!(
        "Offences in the last 12 months were {}% {direction} than in the 12 months before ({} \
         against {}; {significance}).",
        pct_text(change.abs()),
        count_text(current),
        count_text(previous)
    )))
}

/// " (95% CI a–b)" when both limits are present.
fn ci(m: &Measure, format: fn(f64) -> String, unit: &str) -> String {
    match (m.lower, m.upper) {
        (Some(lo), Some(hi)) => format!(" (95% CI {}{unit}–{}{unit})", format(lo), format(hi)),
        _ => String::new(),
    }
}

/// A percentage for reading: one decimal place, two under 1.
pub fn pct_text(v: f64) -> String {
    if v.abs() < 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

/// A rate per 1,000: two decimal places, three significant figures under 0.1.
pub fn rate_text(v: f64) -> String {
    if v != 0.0 && v.abs() < 0.1 {
        let decimals = (2 - v.abs().log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.2}")
    }
}

/// A rate ratio: one decimal place, two under 1.
pub fn ratio_text(v: f64) -> String {
    if v.abs() < 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

/// A count with thousands separators.
/// Victims by deprivation in one sentence, from `deprivation`: the most against the least
/// deprived tenth, and the slope (and, where the fitted line stays above zero, relative) index
/// of inequality.
pub fn deprivation(table: &Table) -> Result<Option<String>, TableError> {
    let mut most = None;
    let mut least = None;
    let mut indices = None;
    for row in table.rows_where("measure", "victims") {
        let rate = row.number("rate_per_1000_year")?;
        match row.text("decile")? {
            "1" => most = rate,
            "10" => least = rate,
            _ => {}
        }
        indices = Some((
            row.number("sii")?,
            row.number("sii_lower_95")?,
            row.number("sii_upper_95")?,
            row.number("rii")?,
            row.number("rii_lower_95")?,
            row.number("rii_upper_95")?,
        ));
    }
    let (Some(most), Some(least)) = (most, least) else {
        return Ok(None);
    };
    if least <= 0.0 {
        return Ok(None);
    }
    let mut text = format!(
        "Residents of the most deprived tenth of neighbourhoods were {} times as likely to be victims of serious violence as those of the least deprived tenth ({} against {} per 1,000 a year)",
        ratio_text(most / least),
        rate_text(most),
        rate_text(least)
    );
    match indices {
        Some((Some(sii), Some(lo), Some(hi), rii, rii_lo, rii_hi)) => {
            text.push_str(&format!(
                "; the slope index of inequality is {} per 1,000 a year (95% CI {}–{})",
                rate_text(sii),
                rate_text(lo),
                rate_text(hi)
            ));
            match (rii, rii_lo, rii_hi) {
                (Some(r), Some(l), Some(h)) => text.push_str(&format!(
                    " and the relative index {} ({}–{}).",
                    ratio_text(r),
                    ratio_text(l),
                    ratio_text(h)
                )),
                _ => text.push_str(
                    "; there is no relative index, because the straight line fitted across the deciles falls below zero at the least deprived end.",
                ),
            }
        }
        _ => text.push('.'),
    }
    Ok(Some(text))
}

/// The victim–offender overlap in one sentence, from `victim_offender_overlap`.
pub fn overlap(table: &Table) -> Result<Option<String>, TableError> {
    let mut victims = None;
    let mut offenders = None;
    for row in table.rows_where("breakdown", "all") {
        let values = (
            row.count("persons")?,
            row.count("in_both_roles")?,
            row.count("pct")?,
        );
        match row.text("role")? {
            "victim" => victims = Some(values),
            "offender" => offenders = Some(values),
            _ => {}
        }
    }
    let (Some((victims, both, victim_pct)), Some((offenders, _, offender_pct))) =
        (victims, offenders)
    else {
        return Ok(None);
    };
    if victims == 0.0 || offenders == 0.0 {
        return Ok(None);
    }
    Ok(Some(if both == 0.0 {
        "No one was named both as a victim and as an offender of serious violence in the period \
         (people are matched by the extract's person identifier)."
            .to_owned()
    } else {
        format!(
            "{} {} named both as a victim and as an offender of serious violence in the \
             period: {}% of victims and {}% of offenders.",
            count_text(both),
            if both == 1.0 {
                "person was"
            } else {
                "people were"
            },
            pct_text(victim_pct),
            pct_text(offender_pct)
        )
    }))
}

pub fn count_text(v: f64) -> String {
    crate::charts::thousands(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, text: &str) -> Table {
        let dir =
            std::env::temp_dir().join(format!("vrn-sna-findings-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.csv")), text).unwrap();
        Table::read(&dir, name).unwrap()
    }

    #[test]
    fn sentences_from_headline_measures() {
        let headline = table(
            "headline",
            "measure,label,value,numerator,denominator,lower_95,upper_95,definition\n\
             sv_offences,x,4321,4321,,4200,4450,d\n\
             sv_rate_per_1000,x,3.456,4321,1250000,3.35,3.55,d\n\
             offenders_male_pct,x,76.04,760,1000,73.3,78.6,d\n\
             offender_rate_ratio_u25,x,1.63,500,400,1.4,1.9,d\n\
             top_district_share_pct,Leicester,56.71,2000,3527,55.1,58.3,d\n\
             peak_hour,22:00–23:00,22,400,4321,,,d\n\
             knife_pct,x,,0,0,,,d\n",
        );
        let findings = key_findings(&headline, None, None, 25).unwrap();
        assert_eq!(
            findings,
            vec![
                "There were 4,321 serious violence offences in the period: 3.46 per 1,000 residents (95% CI 3.35–3.55).",
                "76.0% of offenders were male (95% CI 73.3%–78.6%).",
                "Under-25s offended at 1.6 times the rate of those 25 and over (95% CI 1.4–1.9).",
                "Leicester accounted for 56.7% of serious violence with a known location (95% CI 55.1%–58.3%).",
                "Offences peaked between 22:00 and 23:00, with 400 offences (9.3% of the total).",
            ]
        );
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
}
