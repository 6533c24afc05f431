//! Pure public-health statistics for the Strategic Needs Assessment.
//!
//! Everything here follows the conventions of the UKHSA / OHID R package
//! **PHEindicatormethods** (Fingertips "Technical Guide: Confidence
//! intervals" and "Technical Guide: Directly standardised rates") at the 95%
//! level, plus a few general tools (Benjamini–Hochberg false discovery rate,
//! the Getis–Ord Gi* hot-spot statistic as in PySAL `esda`, and
//! statistical-process-control rules as in NHS England "Making Data Count").
//!
//! Conventions shared by every function:
//!
//! * Counts and denominators are taken as `f64` (callers pass integer counts
//!   as `f64`) and results are `f64`.
//! * A negative or non-finite count, denominator, multiplier or weight gives
//!   `NaN` (never a panic); a zero denominator gives `NaN`. Specific zero-count
//!   behaviour is documented on each function.
//! * Chi-square and normal quantiles come from `statrs`; nothing here
//!   re-implements a distribution.
//!
//! The only dependencies are `std`, `statrs` (0.18) and `rstar` (0.12, for the
//! Gi* neighbour search).

mod dispersion;
mod dsr;
pub mod inequality;
mod intervals;
mod spatial;
mod spc;

pub use dispersion::*;
pub use dsr::*;
pub use intervals::*;
pub use spatial::*;
pub use spc::*;

/// Two-sided 95% standard normal quantile, Φ⁻¹(0.975).
///
/// The value used by PHEindicatormethods (`qnorm(0.975)` in R).
pub const Z95: f64 = 1.959963984540054;

/// Two-sided significance level matching [`Z95`] (α = 0.05): exact Poisson
/// limits use the α/2 and 1 − α/2 chi-square quantiles.
pub const ALPHA95: f64 = 0.05;

/// Counts below this use exact Poisson limits in [`rate_lower`] /
/// [`rate_upper`], and a directly standardised rate with a total count below
/// this is suppressed by [`DsrAccumulator`] (PHEindicatormethods `phe_rate`
/// and `phe_dsr`).
pub const SMALL_COUNT: f64 = 10.0;

/// Multiplier of a directly standardised rate: per 100,000 population.
pub const DSR_MULTIPLIER: f64 = 100_000.0;

/// Number of `f64` values in a [`DsrAccumulator`] state
/// ([`DsrAccumulator::state`] / [`DsrAccumulator::from_state`]).
pub const DSR_STATE_LEN: usize = 4;

/// Minimum length of a run of consecutive points on one side of the centre
/// line that [`spc_signals`] flags (Making Data Count: 7).
pub const SPC_RUN_LENGTH: usize = 7;

/// Minimum length of a strictly rising or strictly falling sequence of points
/// that [`spc_signals`] flags as a trend (Making Data Count: 6).
pub const SPC_TREND_LENGTH: usize = 6;

/// Default number of leading points whose mean and mean moving range set an
/// XmR chart's centre line and limits ([`spc_signals`]).
pub const SPC_BASELINE_POINTS: usize = 12;

/// Scaling constant of XmR limits: centre ± 2.66 × mean moving range
/// (3 / d₂ with d₂ = 1.128 for moving ranges of two points).
pub const XMR_LIMIT_FACTOR: f64 = 2.66;

/// True when `v` is a usable non-negative, finite input.
pub(crate) fn valid_nonneg(v: f64) -> bool {
    v.is_finite() && v >= 0.0
}

/// Shared by the tests of the submodules.
#[cfg(test)]
pub(crate) mod test_support {

    pub fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[track_caller]
    pub fn assert_close(actual: f64, expected: f64, tol: f64) {
        assert!(
            close(actual, expected, tol),
            "expected {expected}, got {actual} (diff {})",
            (actual - expected).abs()
        );
    }

    // ----- constants -----
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_constants_are_the_conventions() {
        assert_eq!(SMALL_COUNT, 10.0);
        assert_eq!(DSR_MULTIPLIER, 100_000.0);
        assert!(!valid_nonneg(-1.0) && valid_nonneg(0.0) && !valid_nonneg(f64::NAN));
    }
}
