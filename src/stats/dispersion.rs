//! Over-dispersion of counts and the quasi-Poisson test of a change between two years.
//!
//! Monthly counts of violence vary more than a Poisson count would: weather, events and
//! recording practice move whole months together. A test of "last year against the year
//! before" that takes each year's count as Poisson (variance = mean) then calls ordinary
//! fluctuation significant. The quasi-Poisson model (Wedderburn 1974; McCullagh & Nelder,
//! *Generalized Linear Models*, 2nd ed., 1989, §4.5.2 and §6.2) keeps the Poisson mean but
//! lets the variance be φ × mean, with φ estimated by Pearson's chi-square over its residual
//! degrees of freedom; every standard error is multiplied by √φ.
//!
//! Here φ comes from the monthly counts of the two years being compared, laid out as a table of
//! 2 years × k months of the year (k = 12). The fitted model is the log-linear model with a year
//! effect and a month-of-year (seasonal) effect, whose fitted values have the closed form of
//! the independence model: expected = year total × month-of-year total / grand total. Pearson's
//! X² = Σ (observed − expected)² / expected, on (2 − 1)(k − 1) degrees of freedom, and
//! φ = max(1, X² / df): a year with less scatter than Poisson is not given narrower limits.

use super::{Z95, normal_two_sided_p, valid_nonneg};

/// The quasi-Poisson dispersion φ of monthly counts of two years, `previous[i]` and
/// `current[i]` being the counts of the same month of the year (the same position in each
/// 12-month window).
///
/// φ = max(1, X² / df) with X² Pearson's chi-square of the counts against the fit of a year
/// effect and a month-of-year effect (expected = year total × month total / grand total) and
/// df = (number of months with any count) − 1. A month with no count in either year is fitted
/// exactly and carries no information, so it adds nothing to X² or to df.
///
/// `NaN` when the slices differ in length, a count is negative or not finite, either year's
/// total is zero (nothing to compare), or fewer than two months have a count (df = 0).
pub fn seasonal_dispersion(previous: &[f64], current: &[f64]) -> f64 {
    if previous.len() != current.len() || !previous.iter().chain(current).all(|v| valid_nonneg(*v))
    {
        return f64::NAN;
    }
    let total_previous: f64 = previous.iter().sum();
    let total_current: f64 = current.iter().sum();
    let grand = total_previous + total_current;
    if total_previous <= 0.0 || total_current <= 0.0 {
        return f64::NAN;
    }
    let mut chi_square = 0.0;
    let mut months = 0usize;
    for (&p, &c) in previous.iter().zip(current) {
        let month = p + c;
        if month <= 0.0 {
            continue;
        }
        months += 1;
        for (observed, year_total) in [(p, total_previous), (c, total_current)] {
            let expected = year_total * month / grand;
            chi_square += (observed - expected).powi(2) / expected;
        }
    }
    if months < 2 {
        return f64::NAN;
    }
    (chi_square / (months - 1) as f64).max(1.0)
}

/// The quasi-Poisson standard error of ln(a / b): √(φ · (1/a + 1/b)). `NaN` when `a` or `b` is
/// not positive, or `phi` is below 1 or not finite.
fn log_ratio_se(a: f64, b: f64, phi: f64) -> f64 {
    let ok = a.is_finite() && b.is_finite() && a > 0.0 && b > 0.0 && phi.is_finite() && phi >= 1.0;
    if !ok {
        return f64::NAN;
    }
    (phi * (1.0 / a + 1.0 / b)).sqrt()
}

/// 95% limits `(lower, upper)` of the ratio a / b of two counts allowing for over-dispersion:
/// exp(ln(a/b) ∓ z·√φ·√(1/a + 1/b)). With φ = 1 they are [`super::rate_ratio_limits`]'s.
/// Both `NaN` when `a` or `b` is not positive or `phi` is not a dispersion (finite, ≥ 1).
pub fn quasi_ratio_limits(a: f64, b: f64, phi: f64) -> (f64, f64) {
    let se = log_ratio_se(a, b, phi);
    if se.is_nan() {
        return (f64::NAN, f64::NAN);
    }
    let log_ratio = (a / b).ln();
    ((log_ratio - Z95 * se).exp(), (log_ratio + Z95 * se).exp())
}

/// Two-sided p-value of the change from `b` to `a` under the quasi-Poisson model:
/// z = ln(a/b) / (√φ·√(1/a + 1/b)), p = 2(1 − Φ(|z|)). `NaN` as [`quasi_ratio_limits`].
pub fn quasi_ratio_p(a: f64, b: f64, phi: f64) -> f64 {
    let se = log_ratio_se(a, b, phi);
    if se.is_nan() {
        return f64::NAN;
    }
    normal_two_sided_p((a / b).ln() / se)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::rate_ratio_limits;
    use crate::stats::test_support::*;

    /// Worked by hand (three months of the year):
    ///
    /// ```text
    ///              month 1  month 2  month 3  total
    /// previous        10       20       30      60
    /// current         20       20       20      60
    /// month total     30       40       50     120
    /// expected (both years) = 60 × month / 120 = 15, 20, 25
    /// X² = (10−15)²/15 + 0 + (30−25)²/25 + (20−15)²/15 + 0 + (20−25)²/25
    ///    = 25/15 + 1 + 25/15 + 1 = 5.3333
    /// df = (2 − 1)(3 − 1) = 2, φ = 5.3333 / 2 = 2.6667
    /// ```
    #[test]
    fn dispersion_of_a_worked_table() {
        assert_close(
            seasonal_dispersion(&[10.0, 20.0, 30.0], &[20.0, 20.0, 20.0]),
            8.0 / 3.0,
            1e-12,
        );
    }

    /// A month empty in both years is fitted exactly: previous [0, 5, 5], current [0, 5, 15].
    ///
    /// ```text
    /// year totals 10, 20 (grand 30); months 2 and 3 total 10 and 20
    /// expected previous 10×10/30 = 3.3333, 10×20/30 = 6.6667
    /// expected current  20×10/30 = 6.6667, 20×20/30 = 13.3333
    /// X² = 1.6667²/3.3333 + 1.6667²/6.6667 + 1.6667²/6.6667 + 1.6667²/13.3333
    ///    = 0.83333 + 0.41667 + 0.41667 + 0.20833 = 1.875
    /// df = 2 months with a count − 1 = 1, φ = 1.875
    /// ```
    #[test]
    fn an_empty_month_adds_no_degree_of_freedom() {
        assert_close(
            seasonal_dispersion(&[0.0, 5.0, 5.0], &[0.0, 5.0, 15.0]),
            1.875,
            1e-12,
        );
    }

    #[test]
    fn dispersion_is_floored_at_one() {
        // Identical years: X² = 0, so φ would be 0; it is floored at 1 (Poisson).
        assert_eq!(seasonal_dispersion(&[10.0, 10.0], &[10.0, 10.0]), 1.0);
    }

    #[test]
    fn dispersion_needs_two_months_and_both_years() {
        assert!(seasonal_dispersion(&[5.0], &[7.0]).is_nan());
        assert!(seasonal_dispersion(&[0.0, 0.0], &[3.0, 4.0]).is_nan());
        assert!(seasonal_dispersion(&[1.0, 2.0], &[3.0]).is_nan());
        assert!(seasonal_dispersion(&[1.0, -2.0], &[3.0, 4.0]).is_nan());
        assert!(seasonal_dispersion(&[1.0, f64::NAN], &[3.0, 4.0]).is_nan());
    }

    /// With φ = 1 the limits are the Poisson ones.
    #[test]
    fn poisson_limits_when_phi_is_one() {
        let (lower, upper) = quasi_ratio_limits(90.0, 60.0, 1.0);
        let (l, u) = rate_ratio_limits(90.0, 60.0, 1.5);
        assert_close(lower, l, 1e-12);
        assert_close(upper, u, 1e-12);
    }

    /// a = 90, b = 60, φ = 8/3 (the table above):
    ///
    /// ```text
    /// ratio 1.5, ln 1.5 = 0.405465
    /// Poisson:       se = √(1/90 + 1/60) = 0.166667, z = 2.43279, p = 0.01498,
    ///                limits 1.5·exp(∓1.959964·0.166667) = 1.08199–2.07949: "significant"
    /// quasi-Poisson: se = √(8/3)·0.166667 = 0.272166, z = 1.48977, p = 0.13628,
    ///                limits 1.5·exp(∓1.959964·0.272166) = 0.87988–2.55717: not significant
    /// ```
    #[test]
    fn over_dispersion_widens_the_limits_and_the_p_value() {
        let phi = 8.0 / 3.0;
        let (lower, upper) = quasi_ratio_limits(90.0, 60.0, phi);
        assert_close(lower, 0.879_880_195, 1e-8);
        assert_close(upper, 2.557_166_319, 1e-8);
        assert_close(quasi_ratio_p(90.0, 60.0, phi), 0.136_283_687, 1e-8);
        assert_close(quasi_ratio_p(90.0, 60.0, 1.0), 0.014_982_961, 1e-8);
        assert!(rate_ratio_limits(90.0, 60.0, 1.5).0 > 1.0);
    }

    #[test]
    fn no_limits_for_a_zero_count_or_a_bad_dispersion() {
        assert!(quasi_ratio_limits(0.0, 60.0, 1.0).0.is_nan());
        assert!(quasi_ratio_limits(60.0, 0.0, 1.0).1.is_nan());
        assert!(quasi_ratio_limits(60.0, 50.0, 0.5).0.is_nan());
        assert!(quasi_ratio_p(60.0, 50.0, f64::NAN).is_nan());
    }
}
