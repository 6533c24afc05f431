//! Values of the findings that summarise a whole table: the age bands where victims' and
//! offenders' rates peak (sexes together), and the offence mix by offence group.

use serde::Serialize;

use crate::bundle::results::{Table, TableError};
use crate::stats;

/// The age band with the highest rate a year of one role, sexes together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct AgePeak {
    /// The age band, e.g. `15-19`.
    pub band: String,
    /// Distinct people of the role in the band (both sexes).
    pub persons: f64,
    /// Per 1,000 residents of the band a year: 1,000 × persons / person-years.
    pub rate: f64,
    /// Its 95% limits (exact Poisson under 10, Byar's from 10, as every rate).
    pub lower: f64,
    pub upper: f64,
}

/// Victims' and offenders' peak age bands, from `age_sex`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct AgePeaks {
    pub victims: Option<AgePeak>,
    pub offenders: Option<AgePeak>,
    /// Bands left out because a count of theirs is suppressed (a shareable bundle): their
    /// sum would be wrong, and the peak is among the bands with published counts.
    pub partial: bool,
}

/// The peak age band of each role in `age_sex` (rows by role, age band and sex with persons and
/// person-years): the sexes' persons and person-years are added up per band, and the band with
/// the highest rate wins (the younger on ties; bands with no person-years are skipped, and so
/// are bands with a suppressed count, whose persons are not published).
pub(super) fn age_peaks(table: &Table) -> Result<AgePeaks, TableError> {
    let mut partial = false;
    let mut peak = |role: &str| -> Result<Option<AgePeak>, TableError> {
        // Bands in the table's order (youngest first), each with its persons and person-years,
        // and whether a count of it is suppressed (empty: only in a shareable bundle).
        let mut bands: Vec<(String, f64, f64, bool)> = Vec::new();
        for row in table.rows_where("role", role) {
            let band = row.text("age_band")?;
            let hidden = row.number("persons")?.is_none();
            let persons = row.count("persons")?;
            let years = row.number("person_years")?.unwrap_or(0.0);
            match bands.iter_mut().find(|b| b.0 == band) {
                Some(b) => {
                    b.1 += persons;
                    b.2 += years;
                    b.3 |= hidden;
                }
                None => bands.push((band.to_owned(), persons, years, hidden)),
            }
        }
        let mut best: Option<AgePeak> = None;
        for (band, persons, years, hidden) in bands {
            if hidden {
                partial = true;
                continue;
            }
            if years <= 0.0 {
                continue;
            }
            let rate = 1000.0 * persons / years;
            if best.as_ref().is_none_or(|b| rate > b.rate) {
                best = Some(AgePeak {
                    band,
                    persons,
                    rate,
                    lower: stats::rate_lower(persons, years, 1000.0),
                    upper: stats::rate_upper(persons, years, 1000.0),
                });
            }
        }
        Ok(best.filter(|b| b.persons > 0.0))
    };
    let victims = peak("victim")?;
    let offenders = peak("offender")?;
    Ok(AgePeaks {
        victims,
        offenders,
        partial,
    })
}

/// One offence group's share of serious violence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct GroupShare {
    pub group: String,
    pub offences: f64,
    /// 100 × offences / all serious-violence offences of the period.
    pub pct: f64,
}

/// The offence mix: groups by their offences (most first, then by name), and the commonest
/// single offence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct OffenceMix {
    pub groups: Vec<GroupShare>,
    /// The offence with the most offences, its name in lower case after the first word.
    pub top_offence: Option<GroupShare>,
}

/// From `offence_mix` (rows by offence code with `ho_group`, `offence_name`, `offences`,
/// `total` and `group_offences`); `None` when it has no offences.
pub(super) fn offence_mix(table: &Table) -> Result<Option<OffenceMix>, TableError> {
    let mut groups: Vec<GroupShare> = Vec::new();
    let mut top: Option<GroupShare> = None;
    for row in table.rows() {
        let total = row.count("total")?;
        if total <= 0.0 {
            continue;
        }
        let group = row.text("ho_group")?;
        if !groups.iter().any(|g| g.group == group) {
            let offences = row.count("group_offences")?;
            groups.push(GroupShare {
                group: group.to_owned(),
                offences,
                pct: 100.0 * offences / total,
            });
        }
        let offences = row.count("offences")?;
        if top.as_ref().is_none_or(|t| offences > t.offences) {
            top = Some(GroupShare {
                group: row.text("offence_name")?.to_owned(),
                offences,
                pct: 100.0 * offences / total,
            });
        }
    }
    if groups.is_empty() {
        return Ok(None);
    }
    groups.sort_by(|a, b| {
        b.offences
            .total_cmp(&a.offences)
            .then_with(|| a.group.cmp(&b.group))
    });
    Ok(Some(OffenceMix {
        groups,
        top_offence: top,
    }))
}

/// The busiest hour of a part of the day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct HourPeak {
    /// The hour it starts (0–23).
    pub hour: f64,
    pub offences: f64,
    /// 100 × offences / all serious-violence offences of the period.
    pub pct: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// The two peaks police and partners plan around: the afternoon (12:00–17:59, after school)
/// and the late evening and night (20:00–02:59, the night-time economy).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct TimePeaks {
    pub afternoon: Option<HourPeak>,
    pub late_evening: Option<HourPeak>,
}

/// Hours of the afternoon peak's window.
pub(super) const AFTERNOON: [u32; 6] = [12, 13, 14, 15, 16, 17];
/// Hours of the late-evening peak's window, in the order of the evening.
pub(super) const LATE_EVENING: [u32; 7] = [20, 21, 22, 23, 0, 1, 2];

/// From `hour_profile` (one row per hour with `offences`, `pct` and its limits): the hour with
/// the most offences in each window, the earlier (in the window's order) on ties; none for a
/// window without offences.
pub(super) fn time_peaks(table: &Table) -> Result<TimePeaks, TableError> {
    let mut hours = Vec::new();
    // Hours whose count is suppressed (a shareable bundle): no peak can be named in a window
    // holding one, as it might be the peak.
    let mut suppressed = Vec::new();
    for row in table.rows() {
        if row.number("offences")?.is_none() {
            suppressed.push(row.count("hour")?);
            continue;
        }
        hours.push(HourPeak {
            hour: row.count("hour")?,
            offences: row.count("offences")?,
            pct: row.number("pct")?.unwrap_or(0.0),
            lower: row.number("lower_95")?,
            upper: row.number("upper_95")?,
        });
    }
    let peak = |window: &[u32]| {
        if window.iter().any(|h| suppressed.contains(&f64::from(*h))) {
            return None;
        }
        let mut best: Option<&HourPeak> = None;
        for hour in window {
            if let Some(h) = hours.iter().find(|h| h.hour == f64::from(*hour))
                && h.offences > best.map_or(0.0, |b| b.offences)
            {
                best = Some(h);
            }
        }
        best.cloned()
    };
    Ok(TimePeaks {
        afternoon: peak(&AFTERNOON),
        late_evening: peak(&LATE_EVENING),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, text: &str) -> Table {
        let dir = std::env::temp_dir().join(format!("vrn-sna-profiles-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.csv")), text).unwrap();
        Table::read(&dir, name).unwrap()
    }

    /// Victims 15-19: (30 + 60) / (1,000 + 2,000) × 1,000 = 30 a year, against 20-24's
    /// (10 + 20) / 3,000 × 1,000 = 10; offenders 20-24: 45 / 3,000 × 1,000 = 15 against 15-19's
    /// 30 / 3,000 = 10. A band of one sex with a high rate does not win alone: the sexes add up.
    #[test]
    fn age_peaks_add_the_sexes() {
        let t = table(
            "age_sex",
            "role,age_band,sex,persons,person_years\n\
             victim,15-19,F,30,1000\nvictim,15-19,M,60,2000\n\
             victim,20-24,F,10,100\nvictim,20-24,M,20,2900\n\
             offender,15-19,F,10,1000\noffender,15-19,M,20,2000\n\
             offender,20-24,F,5,1000\noffender,20-24,M,40,2000\n",
        );
        let peaks = age_peaks(&t).unwrap();
        let v = peaks.victims.unwrap();
        assert_eq!((v.band.as_str(), v.persons, v.rate), ("15-19", 90.0, 30.0));
        assert!(v.lower < 30.0 && v.upper > 30.0);
        let o = peaks.offenders.unwrap();
        assert_eq!((o.band.as_str(), o.persons, o.rate), ("20-24", 45.0, 15.0));
        assert!(!peaks.partial);
    }

    /// In a shareable bundle a band with a suppressed (empty) count is left out, not summed
    /// as if the count were 0: victims 20-24 would otherwise win on its published 90 alone.
    #[test]
    fn age_peaks_leave_out_bands_with_a_suppressed_count() {
        let t = table(
            "age_sex_shared",
            "role,age_band,sex,persons,person_years\n\
             victim,15-19,F,,1000\nvictim,15-19,M,300,2000\n\
             victim,20-24,F,30,1000\nvictim,20-24,M,60,2000\n\
             offender,15-19,F,10,1000\noffender,15-19,M,20,2000\n",
        );
        let peaks = age_peaks(&t).unwrap();
        assert!(peaks.partial);
        let v = peaks.victims.unwrap();
        assert_eq!((v.band.as_str(), v.persons), ("20-24", 90.0));
    }

    /// Groups 70 + 25 + 5 = 100 offences: 70%, 25%, 5%, most first; the commonest offence
    /// 60 of 100.
    #[test]
    fn offence_mix_by_group_and_top_offence() {
        let t = table(
            "offence_mix",
            "ho_group,offence_code,offence_name,offences,total,group_offences\n\
             Violence with injury,8N,Assault with injury,60,100,70\n\
             Violence with injury,5D,Assault with intent,10,100,70\n\
             Homicide,1,Murder,5,100,5\n\
             Robbery,34B,Robbery of personal property,25,100,25\n",
        );
        let mix = offence_mix(&t).unwrap().unwrap();
        let shares: Vec<(&str, f64)> = mix
            .groups
            .iter()
            .map(|g| (g.group.as_str(), g.pct))
            .collect();
        assert_eq!(
            shares,
            [
                ("Violence with injury", 70.0),
                ("Robbery", 25.0),
                ("Homicide", 5.0)
            ]
        );
        let top = mix.top_offence.unwrap();
        assert_eq!((top.group.as_str(), top.pct), ("Assault with injury", 60.0));
        let empty = table(
            "offence_mix_empty",
            "ho_group,offence_code,offence_name,offences,total,group_offences\n",
        );
        assert_eq!(offence_mix(&empty).unwrap(), None);
    }

    /// The afternoon's busiest hour is 15:00 (40); the late evening's is 23:00 (35), ahead of
    /// 00:00 (35, later in the evening's order) and 19:00 (50, outside both windows).
    #[test]
    fn time_peaks_in_the_afternoon_and_late_evening() {
        let t = table(
            "hour_profile",
            "hour,offences,total,pct,lower_95,upper_95\n\
             0,35,200,17.5,,\n12,10,200,5,,\n15,40,200,20,18,22\n17,40,200,20,,\n\
             19,50,200,25,,\n23,35,200,17.5,15,20\n3,0,200,0,,\n",
        );
        let peaks = time_peaks(&t).unwrap();
        let a = peaks.afternoon.unwrap();
        assert_eq!(
            (a.hour, a.offences, a.pct, a.lower),
            (15.0, 40.0, 20.0, Some(18.0))
        );
        let e = peaks.late_evening.unwrap();
        assert_eq!((e.hour, e.offences), (23.0, 35.0));
        let quiet = table(
            "hour_profile_quiet",
            "hour,offences,total,pct,lower_95,upper_95\n3,0,0,,,\n",
        );
        assert_eq!(
            time_peaks(&quiet).unwrap(),
            TimePeaks {
                afternoon: None,
                late_evening: None
            }
        );
        // A suppressed hour in the late evening (a shareable bundle): that peak is not named,
        // the afternoon's still is.
        let suppressed = table(
            "hour_profile_suppressed",
            "hour,offences,offences_suppressed,total,pct,lower_95,upper_95\n\
             15,40,false,200,20,18,22\n22,,true,200,,,\n23,35,false,200,17.5,15,20\n",
        );
        let peaks = time_peaks(&suppressed).unwrap();
        assert_eq!(peaks.afternoon.map(|a| a.hour), Some(15.0));
        assert_eq!(peaks.late_evening, None);
    }
}
