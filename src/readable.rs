//! Numbers, months and the tool's name as people read them: the one owner of how the report,
//! the findings, the charts, the dashboard and the manifests write them.
//!
//! Numbers are rounded for reading and never altered: percentages to one decimal place (two
//! under 1%), rates to two decimal places (three significant figures under 0.1), rate ratios
//! to one decimal place (two under 1), counts in full with thousands separators.

/// `vrn-sna <version>`, as manifests and pages name the tool.
pub fn tool() -> String {
    format!("vrn-sna {}", env!("CARGO_PKG_VERSION"))
}

/// A count with thousands separators (rounded to a whole number).
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 { format!("-{out}") } else { out }
}

/// A count with thousands separators.
pub fn count_text(v: f64) -> String {
    thousands(v)
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

/// A number rounded for reading: whole numbers as counts, others to three significant figures.
pub fn short(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        count_text(v)
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Pence as `£1,234.56`.
pub fn money(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let pence = pence.unsigned_abs();
    format!(
        "{sign}£{}.{:02}",
        count_text((pence / 100) as f64),
        pence % 100
    )
}

/// `YYYY-MM` as "March 2024" (the text itself when it is not a month).
pub fn month_words(month: &str) -> String {
    chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map(|d| d.format("%B %Y").to_string())
        .unwrap_or_else(|_| month.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_the_report_writes_them() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1234.0), "1,234");
        assert_eq!(thousands(1234567.0), "1,234,567");
        assert_eq!(thousands(-1234.0), "-1,234");
        assert_eq!(pct_text(0.456), "0.46");
        assert_eq!(pct_text(45.66), "45.7");
        assert_eq!(rate_text(0.01234), "0.0123");
        assert_eq!(rate_text(6.2242), "6.22");
        assert_eq!(ratio_text(0.5), "0.50");
        assert_eq!(ratio_text(2.04), "2.0");
        assert_eq!(short(1500.0), "1,500");
        assert_eq!(short(12.34), "12.3");
        assert_eq!(money(-123456), "-£1,234.56");
        assert_eq!(month_words("2024-03"), "March 2024");
        assert_eq!(month_words("Total"), "Total");
        assert!(tool().starts_with("vrn-sna "));
    }
}
