//! Confidence intervals of counts, rates, proportions and rate ratios, as PHEindicatormethods
//! computes them: exact Poisson limits under 10 events, Byar's approximation from 10, Wilson
//! score limits for proportions, and the log-normal limits of a rate ratio.

use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::{ALPHA95, SMALL_COUNT, Z95, valid_nonneg};

/// Byar's approximate lower 95% confidence limit for a Poisson count `x`:
/// `x · (1 − 1/(9x) − z/(3√x))³` with z = [`Z95`].
///
/// Returns 0 when `x = 0`; `NaN` when `x` is negative or not finite. For a
/// fractional `0 < x < 1` the bracket can go negative; the result is then
/// clamped to 0 (a lower limit for a non-negative count cannot be negative).
///
/// Reference: Breslow & Day (1987), *Statistical Methods in Cancer Research*
/// vol. II, p. 69; PHEindicatormethods `byars_lower`.
pub fn byar_lower(x: f64) -> f64 {
    if !valid_nonneg(x) {
        return f64::NAN;
    }
    if x == 0.0 {
        return 0.0;
    }
    let b = 1.0 - 1.0 / (9.0 * x) - Z95 / (3.0 * x.sqrt());
    (x * b.powi(3)).max(0.0)
}

/// Byar's approximate upper 95% confidence limit for a Poisson count `x`:
/// `(x+1) · (1 − 1/(9(x+1)) + z/(3√(x+1)))³` with z = [`Z95`].
///
/// Defined at `x = 0` (≈ 3.6680); `NaN` when `x` is negative or not finite.
///
/// Reference: Breslow & Day (1987), *Statistical Methods in Cancer Research*
/// vol. II, p. 69; PHEindicatormethods `byars_upper`.
pub fn byar_upper(x: f64) -> f64 {
    if !valid_nonneg(x) {
        return f64::NAN;
    }
    let x1 = x + 1.0;
    let b = 1.0 - 1.0 / (9.0 * x1) + Z95 / (3.0 * x1.sqrt());
    x1 * b.powi(3)
}

/// Exact (Garwood) lower 95% confidence limit for a Poisson count `x`:
/// `χ²(α/2; 2x) / 2`, the α/2 quantile of a chi-square distribution with
/// 2x degrees of freedom, halved (α = [`ALPHA95`]).
///
/// Returns 0 when `x = 0`; `NaN` when `x` is negative or not finite.
///
/// Reference: Garwood (1936), *Biometrika* 28:437–442; PHEindicatormethods
/// `phe_rate` (`qchisq(0.025, 2x)/2`).
pub fn exact_poisson_lower(x: f64) -> f64 {
    if !valid_nonneg(x) {
        return f64::NAN;
    }
    if x == 0.0 {
        return 0.0;
    }
    chi_square_quantile(ALPHA95 / 2.0, 2.0 * x) / 2.0
}

/// Exact (Garwood) upper 95% confidence limit for a Poisson count `x`:
/// `χ²(1 − α/2; 2x + 2) / 2` (α = [`ALPHA95`]).
///
/// Defined at `x = 0` (−ln 0.025 ≈ 3.6889); `NaN` when `x` is negative or not
/// finite.
///
/// Reference: Garwood (1936), *Biometrika* 28:437–442; PHEindicatormethods
/// `phe_rate` (`qchisq(0.975, 2x + 2)/2`).
pub fn exact_poisson_upper(x: f64) -> f64 {
    if !valid_nonneg(x) {
        return f64::NAN;
    }
    chi_square_quantile(1.0 - ALPHA95 / 2.0, 2.0 * x + 2.0) / 2.0
}

/// Quantile of a chi-square distribution via `statrs`; `df` must be > 0.
fn chi_square_quantile(p: f64, df: f64) -> f64 {
    match ChiSquared::new(df) {
        Ok(d) => d.inverse_cdf(p),
        Err(_) => f64::NAN,
    }
}

// ---------------------------------------------------------------------------
// Crude rates
// ---------------------------------------------------------------------------

/// Checks the common `(x, n, per)` inputs of a crude rate.
fn rate_inputs_ok(x: f64, n: f64, per: f64) -> bool {
    valid_nonneg(x) && valid_nonneg(per) && n.is_finite() && n > 0.0
}

/// Lower 95% confidence limit of the crude rate `x / n × per`.
///
/// Exact Poisson limit ([`exact_poisson_lower`]) when `x` < 10, Byar's
/// ([`byar_lower`]) otherwise, divided by `n` and multiplied by `per`.
/// `x = 0` gives 0. `NaN` when `n ≤ 0`, or any input is negative or not finite.
///
/// Reference: PHEindicatormethods `phe_rate`; Fingertips Technical Guide
/// "Confidence intervals", section on rates.
pub fn rate_lower(x: f64, n: f64, per: f64) -> f64 {
    if !rate_inputs_ok(x, n, per) {
        return f64::NAN;
    }
    let lim = if x < SMALL_COUNT {
        exact_poisson_lower(x)
    } else {
        byar_lower(x)
    };
    lim / n * per
}

/// Upper 95% confidence limit of the crude rate `x / n × per`.
///
/// Exact Poisson limit ([`exact_poisson_upper`]) when `x` < 10, Byar's
/// ([`byar_upper`]) otherwise, divided by `n` and multiplied by `per`.
/// `x = 0` gives the (positive) exact limit 3.6889/n × per. `NaN` when
/// `n ≤ 0`, or any input is negative or not finite.
///
/// Reference: PHEindicatormethods `phe_rate`; Fingertips Technical Guide
/// "Confidence intervals", section on rates.
pub fn rate_upper(x: f64, n: f64, per: f64) -> f64 {
    if !rate_inputs_ok(x, n, per) {
        return f64::NAN;
    }
    let lim = if x < SMALL_COUNT {
        exact_poisson_upper(x)
    } else {
        byar_upper(x)
    };
    lim / n * per
}

// ---------------------------------------------------------------------------
// Proportions
// ---------------------------------------------------------------------------

/// Wilson score limit shared by [`wilson_lower`] and [`wilson_upper`];
/// `sign` is −1 for the lower and +1 for the upper limit.
fn wilson(x: f64, n: f64, sign: f64) -> f64 {
    if !valid_nonneg(x) || !n.is_finite() || n <= 0.0 || x > n {
        return f64::NAN;
    }
    let z2 = Z95 * Z95;
    let root = (z2 + 4.0 * x * (1.0 - x / n)).sqrt();
    let v = (2.0 * x + z2 + sign * Z95 * root) / (2.0 * (n + z2));
    v.clamp(0.0, 1.0)
}

/// Wilson score lower 95% confidence limit of the proportion `x / n`, as a
/// fraction (multiply by 100 for a percentage):
/// `(2x + z² − z√(z² + 4x(1 − x/n))) / (2(n + z²))`.
///
/// `x = 0` gives 0. `NaN` when `n ≤ 0`, `x < 0`, `x > n`, or an input is not
/// finite. The result is clamped to [0, 1] against rounding.
///
/// Reference: Wilson (1927), *JASA* 22:209–212; Newcombe (1998), *Stat Med*
/// 17:857–872; PHEindicatormethods `wilson_lower` / `phe_proportion`.
pub fn wilson_lower(x: f64, n: f64) -> f64 {
    wilson(x, n, -1.0)
}

/// Wilson score upper 95% confidence limit of the proportion `x / n`, as a
/// fraction: `(2x + z² + z√(z² + 4x(1 − x/n))) / (2(n + z²))`.
///
/// `x = n` gives 1. `NaN` when `n ≤ 0`, `x < 0`, `x > n`, or an input is not
/// finite. The result is clamped to [0, 1] against rounding.
///
/// Reference: Wilson (1927), *JASA* 22:209–212; Newcombe (1998), *Stat Med*
/// 17:857–872; PHEindicatormethods `wilson_upper` / `phe_proportion`.
pub fn wilson_upper(x: f64, n: f64) -> f64 {
    wilson(x, n, 1.0)
}

// ---------------------------------------------------------------------------
// Rate ratio
// ---------------------------------------------------------------------------

/// 95% confidence limits `(lower, upper)` of a rate ratio `rr` = (a/n₁)/(b/n₂),
/// where `a` and `b` are the event counts of the numerator and denominator
/// rates: `exp(ln rr ∓ z·√(1/a + 1/b))` (log-normal approximation).
///
/// Both limits are `NaN` when `a` or `b` is ≤ 0 (the standard error is
/// undefined with a zero count), when `rr` ≤ 0, or when any input is not
/// finite.
///
/// Reference: Rothman, Greenland & Lash, *Modern Epidemiology* (3rd ed.),
/// ch. 14; Fingertips Technical Guide "Confidence intervals" (ratios of rates).
pub fn rate_ratio_limits(a: f64, b: f64, rr: f64) -> (f64, f64) {
    let ok = a.is_finite() && b.is_finite() && rr.is_finite() && a > 0.0 && b > 0.0 && rr > 0.0;
    if !ok {
        return (f64::NAN, f64::NAN);
    }
    let half_width = Z95 * (1.0 / a + 1.0 / b).sqrt();
    let l = rr.ln();
    ((l - half_width).exp(), (l + half_width).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;
    use statrs::distribution::Normal;

    #[test]
    fn z95_is_the_975_normal_quantile() {
        let q = Normal::standard().inverse_cdf(0.975);
        assert_close(q, Z95, 1e-12);
    }

    // ----- Byar -----

    #[test]
    #[allow(clippy::excessive_precision)] // reference values quoted as given
    fn byar_reference_values() {
        assert_close(byar_lower(65.0), 50.163187710459454, 1e-9);
        assert_close(byar_upper(65.0), 82.849138545939837, 1e-9);
    }

    #[test]
    fn byar_edge_cases() {
        assert_eq!(byar_lower(0.0), 0.0);
        // (1)(1 - 1/9 + z/3)^3
        let expected = (1.0 - 1.0 / 9.0 + Z95 / 3.0_f64).powi(3);
        assert_close(byar_upper(0.0), expected, 1e-12);
        assert_close(byar_upper(0.0), 3.668012, 1e-6);
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            assert!(byar_lower(bad).is_nan());
            assert!(byar_upper(bad).is_nan());
        }
        // A fractional count where the bracket is negative clamps to 0.
        assert_eq!(byar_lower(0.1), 0.0);
    }

    #[test]
    fn byar_brackets_the_count_and_is_monotone() {
        let mut prev = (0.0, 0.0);
        for i in 1..200 {
            let x = i as f64;
            let (l, u) = (byar_lower(x), byar_upper(x));
            assert!(l < x && x < u, "x={x}: {l} {u}");
            assert!(l > prev.0 && u > prev.1);
            prev = (l, u);
        }
    }

    // ----- exact Poisson -----

    #[test]
    fn exact_poisson_closed_forms() {
        // 2 df chi-square is exponential: q(p) = -2 ln(1 - p).
        assert_close(exact_poisson_lower(1.0), -(0.975_f64.ln()), 1e-12);
        assert_close(exact_poisson_upper(0.0), -(0.025_f64.ln()), 1e-9);
        assert_eq!(exact_poisson_lower(0.0), 0.0);
        for bad in [-0.5, f64::NAN, f64::INFINITY] {
            assert!(exact_poisson_lower(bad).is_nan());
            assert!(exact_poisson_upper(bad).is_nan());
        }
    }

    #[test]
    fn exact_poisson_inverts_the_chi_square_cdf() {
        // The limits are chi-square quantiles: check the CDF at them.
        for i in 1..=30 {
            let x = i as f64;
            let lo = ChiSquared::new(2.0 * x).unwrap();
            let hi = ChiSquared::new(2.0 * x + 2.0).unwrap();
            assert_close(lo.cdf(2.0 * exact_poisson_lower(x)), 0.025, 1e-12);
            assert_close(hi.cdf(2.0 * exact_poisson_upper(x)), 0.975, 1e-12);
            assert!(exact_poisson_lower(x) < x && exact_poisson_upper(x) > x);
        }
    }

    #[test]
    fn exact_poisson_published_values() {
        // Garwood limits for x = 5, 9 as R gives them: qchisq(0.025, 2x)/2 and
        // qchisq(0.975, 2x + 2)/2, to 6 decimals.
        assert_close(exact_poisson_lower(5.0), 1.623486, 1e-6);
        assert_close(exact_poisson_upper(5.0), 11.668332, 1e-6);
        assert_close(exact_poisson_lower(9.0), 4.115373, 1e-6);
        assert_close(exact_poisson_upper(9.0), 17.084803, 1e-6);
    }

    // ----- rates -----

    #[test]
    fn rate_reference_values() {
        assert_close(rate_lower(1.0, 100.0, 100.0), 0.025317807984289897, 1e-9);
        assert_close(rate_upper(1.0, 100.0, 100.0), 5.571643390938898, 1e-9);
        assert_close(rate_lower(20.0, 100.0, 100.0), 12.211428834875937, 1e-9);
        assert_close(rate_upper(20.0, 100.0, 100.0), 30.889880369197066, 1e-9);
    }

    #[test]
    fn rate_switches_method_at_ten() {
        let n = 5000.0;
        let per = 100_000.0;
        assert_close(
            rate_lower(9.0, n, per),
            exact_poisson_lower(9.0) / n * per,
            1e-12,
        );
        assert_close(
            rate_upper(9.0, n, per),
            exact_poisson_upper(9.0) / n * per,
            1e-12,
        );
        assert_close(rate_lower(10.0, n, per), byar_lower(10.0) / n * per, 1e-12);
        assert_close(rate_upper(10.0, n, per), byar_upper(10.0) / n * per, 1e-12);
        assert!(exact_poisson_lower(10.0) != byar_lower(10.0));
    }

    #[test]
    fn rate_edge_cases() {
        assert_eq!(rate_lower(0.0, 100.0, 1000.0), 0.0);
        assert_close(
            rate_upper(0.0, 100.0, 1000.0),
            -(0.025_f64.ln()) / 100.0 * 1000.0,
            1e-9,
        );
        assert!(rate_lower(1.0, 0.0, 100.0).is_nan());
        assert!(rate_upper(1.0, 0.0, 100.0).is_nan());
        assert!(rate_lower(-1.0, 10.0, 100.0).is_nan());
        assert!(rate_upper(1.0, -10.0, 100.0).is_nan());
        assert!(rate_upper(1.0, 10.0, -100.0).is_nan());
        assert!(rate_lower(f64::NAN, 10.0, 100.0).is_nan());
        // A rate can exceed 1 per person (x > n is allowed).
        assert!(rate_upper(30.0, 10.0, 1.0) > 3.0);
    }

    // ----- Wilson -----

    #[test]
    #[allow(clippy::excessive_precision)] // reference values quoted as given
    fn wilson_reference_values() {
        assert_close(wilson_lower(65.0, 100.0), 0.55254443296887967, 1e-9);
        assert_close(wilson_upper(65.0, 100.0), 0.73635751756902468, 1e-9);
    }

    #[test]
    fn wilson_edge_cases() {
        assert_eq!(wilson_lower(0.0, 50.0), 0.0);
        assert!(wilson_upper(0.0, 50.0) > 0.0);
        assert_eq!(wilson_upper(50.0, 50.0), 1.0);
        assert!(wilson_lower(50.0, 50.0) < 1.0);
        // z^2/(n+z^2) is the upper limit at x = 0.
        let z2 = Z95 * Z95;
        assert_close(wilson_upper(0.0, 50.0), z2 / (50.0 + z2), 1e-12);
        assert!(wilson_lower(1.0, 0.0).is_nan());
        assert!(wilson_upper(51.0, 50.0).is_nan());
        assert!(wilson_lower(-1.0, 50.0).is_nan());
        assert!(wilson_upper(f64::NAN, 50.0).is_nan());
        // Symmetry: lower(x, n) = 1 - upper(n - x, n).
        assert_close(
            wilson_lower(30.0, 80.0),
            1.0 - wilson_upper(50.0, 80.0),
            1e-12,
        );
    }

    // ----- rate ratio -----

    #[test]
    fn rate_ratio_limits_hand_worked() {
        // a = 40, b = 20, RR = 2: se = sqrt(1/40 + 1/20) = sqrt(0.075).
        let se = 0.075_f64.sqrt();
        let (l, u) = rate_ratio_limits(40.0, 20.0, 2.0);
        assert_close(l, 2.0 * (-Z95 * se).exp(), 1e-12);
        assert_close(u, 2.0 * (Z95 * se).exp(), 1e-12);
        // z·se = 1.959964 × 0.273861 = 0.536758; 2·e^∓0.536758 = 1.16928, 3.42091
        assert_close(l, 1.16928, 1e-5);
        assert_close(u, 3.42091, 1e-5);
        // Limits are symmetric on the log scale.
        assert_close((l * u).sqrt(), 2.0, 1e-12);
    }

    #[test]
    fn rate_ratio_limits_edge_cases() {
        for (a, b, rr) in [
            (0.0, 5.0, 1.0),
            (5.0, 0.0, 1.0),
            (5.0, 5.0, 0.0),
            (-1.0, 5.0, 1.0),
            (5.0, 5.0, f64::NAN),
        ] {
            let (l, u) = rate_ratio_limits(a, b, rr);
            assert!(l.is_nan() && u.is_nan(), "{a} {b} {rr}");
        }
    }

    // ----- DSR -----
}
