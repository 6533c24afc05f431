//! The dashboard's window: the latest N complete calendar months present in the data.
//!
//! A month is complete in a source when the source has records dated on or before its first
//! day and on or after its last day: an extract taken on 17 October holds a part of October,
//! which would show as a false fall. The window ends at the latest month complete in every
//! source that has data (police offences, and A&E attendances when supplied), so the police
//! and A&E charts end together.
//!
//! Data dated by month only (police.uk open data: each crime's month, as its first day) are
//! published a whole month at a time, so a month present is complete: such a source's dates are
//! [`SourceDates::of_months`], from the first day of its first month to the last day of its last,
//! and the same rule then counts every month it holds.

use chrono::{Datelike, Months, NaiveDate};

/// The first and last dates of one source's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceDates {
    /// Earliest record date.
    pub first: NaiveDate,
    /// Latest record date.
    pub last: NaiveDate,
}

impl SourceDates {
    /// The dates of a source dated by month only (each record's month as a date in it): from
    /// the first day of the earliest month to the last day of the latest, since such data are
    /// published whole months at a time and a month present is complete.
    pub fn of_months(first_month: NaiveDate, last_month: NaiveDate) -> SourceDates {
        SourceDates {
            first: first_of_month(first_month),
            last: last_of_month(last_month),
        }
    }
}

/// The months a refresh covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First day of the first month.
    pub start: NaiveDate,
    /// Last day of the last month.
    pub end: NaiveDate,
    /// Number of months.
    pub months: u32,
}

impl Window {
    /// The last month as `YYYY-MM`.
    pub fn last_month(&self) -> String {
        self.end.format("%Y-%m").to_string()
    }
}

/// The first and last complete months of a source, as first days of months; `None` when the
/// source does not hold one whole month.
pub fn complete_months(dates: SourceDates) -> Option<(NaiveDate, NaiveDate)> {
    let first = if dates.first.day() == 1 {
        dates.first
    } else {
        first_of_month(dates.first) + Months::new(1)
    };
    let last = if dates.last == last_of_month(dates.last) {
        first_of_month(dates.last)
    } else {
        first_of_month(dates.last) - Months::new(1)
    };
    (first <= last).then_some((first, last))
}

/// The first and last months (first days) complete in every source; `None` when no month is.
pub fn available(sources: &[SourceDates]) -> Option<(NaiveDate, NaiveDate)> {
    let mut first: Option<NaiveDate> = None;
    let mut last: Option<NaiveDate> = None;
    for source in sources {
        let (a, b) = complete_months(*source)?;
        first = Some(first.map_or(a, |f| f.max(a)));
        last = Some(last.map_or(b, |l| l.min(b)));
    }
    let (first, last) = (first?, last?);
    (first <= last).then_some((first, last))
}

/// The latest `months` months complete in every source; `None` when no month is.
pub fn window(sources: &[SourceDates], months: u32) -> Option<Window> {
    let (first, last) = available(sources)?;
    if months == 0 {
        return None;
    }
    let wanted = last - Months::new(months - 1);
    let start = wanted.max(first);
    let count = (last.year() - start.year()) * 12 + last.month() as i32 - start.month() as i32 + 1;
    Some(Window {
        start,
        end: last_of_month(last),
        months: u32::try_from(count).unwrap_or(0),
    })
}

fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("day 1 exists")
}

fn last_of_month(date: NaiveDate) -> NaiveDate {
    first_of_month(date) + Months::new(1) - chrono::Days::new(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn dates(first: &str, last: &str) -> SourceDates {
        SourceDates {
            first: d(first),
            last: d(last),
        }
    }

    #[test]
    fn partial_months_at_either_end_are_left_out() {
        assert_eq!(
            complete_months(dates("2019-04-01", "2024-03-31")),
            Some((d("2019-04-01"), d("2024-03-01")))
        );
        assert_eq!(
            complete_months(dates("2019-04-02", "2024-03-30")),
            Some((d("2019-05-01"), d("2024-02-01")))
        );
        assert_eq!(
            complete_months(dates("2024-02-01", "2024-02-29")),
            Some((d("2024-02-01"), d("2024-02-01")))
        );
        assert_eq!(complete_months(dates("2024-02-02", "2024-02-29")), None);
    }

    #[test]
    fn the_window_is_the_latest_months_complete_in_every_source() {
        let police = dates("2019-04-01", "2024-03-31");
        let ae = dates("2019-04-01", "2024-02-15");
        let w = window(&[police, ae], 36).unwrap();
        assert_eq!(
            (w.start, w.end, w.months),
            (d("2021-02-01"), d("2024-01-31"), 36)
        );
        assert_eq!(w.last_month(), "2024-01");
        let last12 = window(&[police, ae], 12).unwrap();
        assert_eq!(
            (last12.start, last12.end, last12.months),
            (d("2023-02-01"), d("2024-01-31"), 12)
        );
        assert_eq!(
            available(&[police, ae]),
            Some((d("2019-04-01"), d("2024-01-01")))
        );
    }

    #[test]
    fn every_month_of_data_dated_by_month_is_complete() {
        // police.uk: December 2019 to February 2020, each crime dated the first of its month.
        let police = SourceDates::of_months(d("2019-12-01"), d("2020-02-01"));
        assert_eq!(police, dates("2019-12-01", "2020-02-29"));
        let w = window(&[police], 36).unwrap();
        assert_eq!(
            (w.start, w.end, w.months),
            (d("2019-12-01"), d("2020-02-29"), 3)
        );
        // One month of police.uk data is one complete month (as day-dated data it would be
        // none: no record on its last day).
        let one = SourceDates::of_months(d("2020-02-01"), d("2020-02-01"));
        assert_eq!(window(&[one], 12).map(|w| w.months), Some(1));
        assert_eq!(window(&[dates("2020-02-01", "2020-02-01")], 12), None);
        // A day-dated A&E extract ending mid-February ends the window in January.
        let ae = dates("2019-11-20", "2020-02-15");
        let w = window(&[police, ae], 36).unwrap();
        assert_eq!(
            (w.start, w.end, w.months),
            (d("2019-12-01"), d("2020-01-31"), 2)
        );
    }

    #[test]
    fn a_short_extract_gives_a_shorter_window() {
        let w = window(&[dates("2023-06-10", "2024-03-31")], 36).unwrap();
        assert_eq!(
            (w.start, w.end, w.months),
            (d("2023-07-01"), d("2024-03-31"), 9)
        );
        assert_eq!(window(&[dates("2023-06-10", "2024-03-31")], 12), Some(w));
        assert_eq!(window(&[dates("2024-03-05", "2024-03-31")], 36), None);
        assert_eq!(window(&[], 36), None);
    }
}
