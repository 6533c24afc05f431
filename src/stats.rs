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

use rstar::RTree;
use rstar::primitives::GeomWithData;
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

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

/// Minimum length of a run of consecutive points on one side of the mean
/// that [`spc_signals`] flags.
pub const SPC_RUN_LENGTH: usize = 8;

/// Minimum length of a strictly rising or strictly falling sequence of points
/// that [`spc_signals`] flags as a trend.
pub const SPC_TREND_LENGTH: usize = 6;

/// True when `v` is a usable non-negative, finite input.
fn valid_nonneg(v: f64) -> bool {
    v.is_finite() && v >= 0.0
}

// ---------------------------------------------------------------------------
// Poisson limits for a count
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Directly standardised rates
// ---------------------------------------------------------------------------

/// Running sums for a directly standardised rate (DSR) per 100,000 with
/// Dobson 95% confidence limits, as PHEindicatormethods `phe_dsr`.
///
/// Each row is one stratum (e.g. an age band) of one area: a count `x`, a
/// population `n` and a standard-population weight `w` (e.g. the European
/// Standard Population 2013). With `O = Σx`:
///
/// * DSR = Σ(w·x/n) / Σw × 100,000
/// * var = Σ(w²·x/n²) / (Σw)² × 100,000²
/// * lower = DSR + √(var/O) · (`byar_lower(O)` − O)
/// * upper = DSR + √(var/O) · (`byar_upper(O)` − O)
///
/// Rows are handled as follows:
///
/// * `n = 0` (with otherwise valid `x`, `w`): skipped entirely — it adds to no
///   sum, not even Σw or O. Callers that want a zero-population stratum to
///   count as a zero rate must pass it with a positive `n`.
/// * a negative or non-finite `x`, `n` or `w` poisons the accumulator: every
///   later output is `Some(NaN)` (so bad data shows up rather than silently
///   disappearing). SQL NULL handling is the caller's choice.
///
/// [`value`](Self::value), [`lower`](Self::lower) and [`upper`](Self::upper)
/// return `None` when the total count O is below 10 (PHE suppression rule),
/// including when no rows were added. If all weights are zero but O ≥ 10 the
/// outputs are `Some(NaN)`.
///
/// The accumulator is four plain `f64` sums, so it can be stored as a
/// DataFusion aggregate state ([`state`](Self::state) /
/// [`from_state`](Self::from_state)) and partial aggregates combined with
/// [`merge`](Self::merge).
///
/// Reference: Dobson, Kuulasmaa, Eberle & Scherer (1991), *Stat Med*
/// 10:457–462; PHEindicatormethods `phe_dsr`; Fingertips Technical Guide
/// "Directly standardised rates".
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DsrAccumulator {
    /// Σw over the rows with n > 0.
    pub sum_w: f64,
    /// Σ(w·x/n).
    pub sum_wx_n: f64,
    /// Σ(w²·x/n²).
    pub sum_w2x_n2: f64,
    /// O = Σx.
    pub sum_x: f64,
}

impl DsrAccumulator {
    /// An empty accumulator (all sums zero).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one stratum: count `x`, population `n`, standard weight `w`.
    /// See the type documentation for `n = 0` and invalid rows.
    pub fn add(&mut self, x: f64, n: f64, w: f64) {
        if !(valid_nonneg(x) && valid_nonneg(n) && valid_nonneg(w)) {
            self.poison();
            return;
        }
        if n == 0.0 {
            return;
        }
        self.sum_w += w;
        self.sum_wx_n += w * x / n;
        self.sum_w2x_n2 += w * w * x / (n * n);
        self.sum_x += x;
    }

    /// Adds the sums of another accumulator (combining partial aggregates).
    pub fn merge(&mut self, other: &DsrAccumulator) {
        self.sum_w += other.sum_w;
        self.sum_wx_n += other.sum_wx_n;
        self.sum_w2x_n2 += other.sum_w2x_n2;
        self.sum_x += other.sum_x;
    }

    /// The state as `[sum_w, sum_wx_n, sum_w2x_n2, sum_x]`.
    pub fn state(&self) -> [f64; DSR_STATE_LEN] {
        [self.sum_w, self.sum_wx_n, self.sum_w2x_n2, self.sum_x]
    }

    /// Rebuilds an accumulator from [`state`](Self::state).
    pub fn from_state(s: [f64; DSR_STATE_LEN]) -> Self {
        Self {
            sum_w: s[0],
            sum_wx_n: s[1],
            sum_w2x_n2: s[2],
            sum_x: s[3],
        }
    }

    /// Total count O = Σx (`NaN` if poisoned).
    pub fn total_count(&self) -> f64 {
        self.sum_x
    }

    fn poison(&mut self) {
        *self = Self::from_state([f64::NAN; DSR_STATE_LEN]);
    }

    /// True when outputs are suppressed (O < 10). NaN (poisoned) is not
    /// suppressed, so it propagates as `Some(NaN)`.
    fn suppressed(&self) -> bool {
        self.sum_x < SMALL_COUNT
    }

    fn dsr(&self) -> f64 {
        self.sum_wx_n / self.sum_w * DSR_MULTIPLIER
    }

    /// Dobson limit for the given Byar's limit of O.
    fn dobson(&self, o_lim: f64) -> f64 {
        let o = self.sum_x;
        let var = self.sum_w2x_n2 / (self.sum_w * self.sum_w) * DSR_MULTIPLIER * DSR_MULTIPLIER;
        self.dsr() + (var / o).sqrt() * (o_lim - o)
    }

    /// The DSR per 100,000, or `None` when O < 10.
    pub fn value(&self) -> Option<f64> {
        (!self.suppressed()).then(|| self.dsr())
    }

    /// Dobson lower 95% limit of the DSR per 100,000, or `None` when O < 10.
    pub fn lower(&self) -> Option<f64> {
        (!self.suppressed()).then(|| self.dobson(byar_lower(self.sum_x)))
    }

    /// Dobson upper 95% limit of the DSR per 100,000, or `None` when O < 10.
    pub fn upper(&self) -> Option<f64> {
        (!self.suppressed()).then(|| self.dobson(byar_upper(self.sum_x)))
    }
}

// ---------------------------------------------------------------------------
// Significance and multiple testing
// ---------------------------------------------------------------------------

/// Two-sided p-value of a standard normal test statistic:
/// `2·(1 − Φ(|z|))`, computed as `2·S(|z|)` with the `statrs` normal survival
/// function (same value, no cancellation in the far tail).
///
/// `NaN` gives `NaN`; ±∞ gives 0.
///
/// Reference: any statistics text, e.g. Kirkwood & Sterne, *Essential Medical
/// Statistics* (2nd ed.), ch. 8.
pub fn normal_two_sided_p(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    let std = Normal::standard();
    (2.0 * std.sf(z.abs())).min(1.0)
}

/// Benjamini–Hochberg step-up procedure controlling the false discovery rate
/// at `alpha`. Returns one flag per input, `true` = significant.
///
/// With the m valid p-values sorted ascending p₍₁₎ ≤ … ≤ p₍ₘ₎, find the largest
/// k with p₍ₖ₎ ≤ k·alpha/m and flag every p ≤ p₍ₖ₎ (ties are flagged together).
///
/// A p-value that is `NaN` or outside [0, 1] is never significant and is not
/// counted in m (as R `p.adjust(method = "BH")`, which drops `NA`s). An
/// `alpha` that is `NaN` or ≤ 0 flags nothing.
///
/// Reference: Benjamini & Hochberg (1995), *JRSS B* 57:289–300.
pub fn benjamini_hochberg(p: &[f64], alpha: f64) -> Vec<bool> {
    let mut out = vec![false; p.len()];
    if alpha.is_nan() || alpha <= 0.0 {
        return out;
    }
    let mut valid: Vec<f64> = p
        .iter()
        .copied()
        .filter(|v| (0.0..=1.0).contains(v))
        .collect();
    let m = valid.len();
    if m == 0 {
        return out;
    }
    valid.sort_by(f64::total_cmp);
    let mf = m as f64;
    let cutoff = valid
        .iter()
        .enumerate()
        .rev()
        .find(|&(i, &pv)| pv * mf <= (i + 1) as f64 * alpha)
        .map(|(_, &pv)| pv);
    if let Some(c) = cutoff {
        for (flag, &pv) in out.iter_mut().zip(p) {
            *flag = (0.0..=1.0).contains(&pv) && pv <= c;
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Getis–Ord Gi* hot spots
// ---------------------------------------------------------------------------

/// Getis–Ord Gi* hot-spot z-scores for values `y` at `points`, with binary
/// distance-band weights that include the point itself: wᵢⱼ = 1 when the
/// Euclidean distance between i and j is ≤ `threshold` (so wᵢᵢ = 1), else 0.
///
/// As PySAL `esda.G_Local(y, w, transform="B", star=True)`:
///
/// z_i = (Gᵢ − Wᵢ/n) / √( Wᵢ(n − Wᵢ)/(n − 1) · s²/(n²ȳ²) )
///
/// with Gᵢ = Σⱼwᵢⱼyⱼ / Σy, Wᵢ = Σⱼwᵢⱼ, ȳ the mean and s² the population
/// variance (divisor n) of `y`. Positive z = hot spot, negative = cold spot;
/// compare with [`normal_two_sided_p`] / [`benjamini_hochberg`].
///
/// Neighbours are found with an `rstar` R-tree (distance compared as squared
/// distance ≤ threshold²), so it scales to ~35,000 LSOA centroids when the
/// band is local.
///
/// Every z is `NaN` when: n < 2; `threshold` is negative or `NaN`; any
/// coordinate or `y` is not finite; any `y` is negative (Gi* is defined for
/// non-negative variables, and a negative ȳ would flip the sign in the PySAL
/// formula); Σy = 0; or all `y` are equal (s² = 0). A point whose band holds
/// every point (Wᵢ = n) has z = `NaN` (zero variance).
///
/// # Panics
///
/// If `points.len() != y.len()`.
///
/// Reference: Getis & Ord (1992), *Geographical Analysis* 24:189–206; Ord &
/// Getis (1995), *Geographical Analysis* 27:286–306; PySAL esda `G_Local`.
pub fn gi_star(points: &[(f64, f64)], y: &[f64], threshold: f64) -> Vec<f64> {
    assert_eq!(
        points.len(),
        y.len(),
        "gi_star: points and y must have the same length"
    );
    let n = y.len();
    let all_nan = vec![f64::NAN; n];
    let inputs_ok = n >= 2
        && threshold >= 0.0
        && y.iter().all(|&v| valid_nonneg(v))
        && points.iter().all(|&(a, b)| a.is_finite() && b.is_finite());
    if !inputs_ok {
        return all_nan;
    }
    let nf = n as f64;
    let sum_y: f64 = y.iter().sum();
    let mean = sum_y / nf;
    let s2 = y.iter().map(|&v| (v - mean) * (v - mean)).sum::<f64>() / nf;
    if sum_y == 0.0 || s2 == 0.0 {
        return all_nan;
    }

    let tree = RTree::bulk_load(
        points
            .iter()
            .enumerate()
            .map(|(i, &(a, b))| GeomWithData::new([a, b], i))
            .collect(),
    );
    let r2 = threshold * threshold;
    let scale = s2 / (nf * nf * mean * mean);

    points
        .iter()
        .map(|&(a, b)| {
            let (mut w_i, mut wy) = (0.0_f64, 0.0_f64);
            for nb in tree.locate_within_distance([a, b], r2) {
                w_i += 1.0;
                wy += y[nb.data];
            }
            if w_i >= nf {
                return f64::NAN;
            }
            let g_i = wy / sum_y;
            let var = w_i * (nf - w_i) / (nf - 1.0) * scale;
            (g_i - w_i / nf) / var.sqrt()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Statistical process control
// ---------------------------------------------------------------------------

/// Per-point signals from [`spc_signals`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpcFlags {
    /// The value is strictly above the upper or strictly below the lower
    /// control limit.
    pub beyond_limit: bool,
    /// The point belongs to a run of [`SPC_RUN_LENGTH`] (8) or more
    /// consecutive points strictly on the same side of the mean.
    pub run: bool,
    /// The point belongs to [`SPC_TREND_LENGTH`] (6) or more consecutive
    /// points that are strictly rising or strictly falling.
    pub trend: bool,
}

impl SpcFlags {
    /// True when any rule fires for the point.
    pub fn any(&self) -> bool {
        self.beyond_limit || self.run || self.trend
    }
}

/// Result of [`spc_signals`]: centre line, limits and one [`SpcFlags`] per
/// input value (same order and length as the input).
#[derive(Debug, Clone, PartialEq)]
pub struct SpcResult {
    /// Mean of the finite values (centre line).
    pub mean: f64,
    /// Sample standard deviation (divisor n − 1) of the finite values.
    pub sd: f64,
    /// Upper control limit, mean + 3·sd.
    pub upper: f64,
    /// Lower control limit, mean − 3·sd.
    pub lower: f64,
    /// Signals, one per input value.
    pub flags: Vec<SpcFlags>,
}

/// Statistical-process-control signals for a series in time order.
///
/// Centre line = mean, limits = mean ± 3·sd with sd the sample standard
/// deviation (n − 1). Rules, each flagging every point involved:
///
/// 1. beyond a limit: value > upper or value < lower (a point exactly on a
///    limit is not flagged);
/// 2. run: [`SPC_RUN_LENGTH`] (8) or more consecutive points strictly on the
///    same side of the mean; a point exactly on the mean breaks a run;
/// 3. trend: [`SPC_TREND_LENGTH`] (6) or more consecutive points each strictly
///    above (or each strictly below) the previous one; an equal neighbour
///    breaks a trend. A turning point can end one trend and start another.
///
/// Non-finite values (e.g. `NaN` for a missing period) are left out of the
/// mean and sd, are never flagged, and break runs and trends. With fewer than
/// two finite values sd and the limits are `NaN` and rule 1 never fires; with
/// no finite values the mean is `NaN` too.
///
/// Reference: Montgomery, *Introduction to Statistical Quality Control*
/// (Western Electric rules); NHS England "Making Data Count" (2019). Note the
/// run length here is 8 as specified for this project, not Making Data Count's 7.
pub fn spc_signals(values: &[f64]) -> SpcResult {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let k = finite.len();
    let mean = if k == 0 {
        f64::NAN
    } else {
        finite.iter().sum::<f64>() / k as f64
    };
    let sd = if k < 2 {
        f64::NAN
    } else {
        (finite.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (k as f64 - 1.0)).sqrt()
    };
    let upper = mean + 3.0 * sd;
    let lower = mean - 3.0 * sd;

    let mut flags: Vec<SpcFlags> = values
        .iter()
        .map(|&v| SpcFlags {
            beyond_limit: v.is_finite() && (v > upper || v < lower),
            ..SpcFlags::default()
        })
        .collect();

    // Side of the mean: +1 above, -1 below, 0 on the mean or not finite.
    let side = |v: f64| -> i8 {
        if !v.is_finite() || v == mean {
            0
        } else if v > mean {
            1
        } else {
            -1
        }
    };
    mark_segments(
        values.len(),
        SPC_RUN_LENGTH,
        |i| side(values[i]),
        |i| flags[i].run = true,
    );

    // Direction of the step into point i (i ≥ 1): +1 rising, -1 falling,
    // 0 flat or involving a non-finite value. A trend of L points is L − 1
    // equal non-zero steps.
    let step = |i: usize| -> i8 {
        let (a, b) = (values[i - 1], values[i]);
        if !a.is_finite() || !b.is_finite() || a == b {
            0
        } else if b > a {
            1
        } else {
            -1
        }
    };
    if values.len() >= 2 {
        mark_segments(
            values.len() - 1,
            SPC_TREND_LENGTH - 1,
            |j| step(j + 1),
            |j| {
                flags[j].trend = true;
                flags[j + 1].trend = true;
            },
        );
    }

    SpcResult {
        mean,
        sd,
        upper,
        lower,
        flags,
    }
}

/// Calls `mark(i)` for every index of each maximal stretch of equal non-zero
/// `class(i)` values whose length is at least `min_len`.
fn mark_segments(
    len: usize,
    min_len: usize,
    class: impl Fn(usize) -> i8,
    mut mark: impl FnMut(usize),
) {
    let mut start = 0;
    while start < len {
        let c = class(start);
        let mut end = start + 1;
        while end < len && class(end) == c {
            end += 1;
        }
        if c != 0 && end - start >= min_len {
            (start..end).for_each(&mut mark);
        }
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[track_caller]
    fn assert_close(actual: f64, expected: f64, tol: f64) {
        assert!(
            close(actual, expected, tol),
            "expected {expected}, got {actual} (diff {})",
            (actual - expected).abs()
        );
    }

    // ----- constants -----

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

    /// Two strata:
    ///   A: x = 10, n = 1000, w = 600 -> w·x/n = 6,  w²·x/n² = 360000·10/1e6   = 3.6
    ///   B: x = 20, n =  500, w = 400 -> w·x/n = 16, w²·x/n² = 160000·20/250000 = 12.8
    /// Σw = 1000, O = 30.
    ///   DSR = (6 + 16)/1000 × 1e5 = 2200
    ///   var = (3.6 + 12.8)/1000² × 1e10 = 164000;  √(var/O) = √5466.67 = 73.937
    ///   byar_lower(30) = 30(1 − 0.0037037 − 0.1192796)³ = 30·0.8770167³ = 20.23694
    ///   byar_upper(30) = 31(1 − 0.0035842 + 0.1173400)³ = 31·1.1137557³ = 42.82837
    ///   lower = 2200 + 73.937·(20.23694 − 30) = 1478.149
    ///   upper = 2200 + 73.937·(42.82837 − 30) = 3148.490
    fn dsr_example() -> DsrAccumulator {
        let mut acc = DsrAccumulator::new();
        acc.add(10.0, 1000.0, 600.0);
        acc.add(20.0, 500.0, 400.0);
        acc
    }

    #[test]
    fn dsr_hand_worked_example() {
        let acc = dsr_example();
        assert_close(acc.value().unwrap(), 2200.0, 1e-9);
        let k = (164000.0_f64 / 30.0).sqrt();
        assert_close(
            acc.lower().unwrap(),
            2200.0 + k * (byar_lower(30.0) - 30.0),
            1e-9,
        );
        assert_close(
            acc.upper().unwrap(),
            2200.0 + k * (byar_upper(30.0) - 30.0),
            1e-9,
        );
        // Independent hand arithmetic (4-5 significant figures).
        assert_close(byar_lower(30.0), 20.23694, 1e-5);
        assert_close(byar_upper(30.0), 42.82837, 1e-5);
        assert_close(acc.lower().unwrap(), 1478.149, 1e-3);
        assert_close(acc.upper().unwrap(), 3148.490, 1e-3);
        assert_eq!(acc.total_count(), 30.0);
    }

    #[test]
    fn dsr_equal_rates_equal_crude_rate() {
        // Same rate in every stratum: DSR equals it whatever the weights.
        let mut acc = DsrAccumulator::new();
        acc.add(5.0, 1000.0, 7.0);
        acc.add(10.0, 2000.0, 1.0);
        acc.add(15.0, 3000.0, 2.0);
        assert_close(acc.value().unwrap(), 500.0, 1e-9);
        let (l, u) = (acc.lower().unwrap(), acc.upper().unwrap());
        assert!(l < 500.0 && 500.0 < u);
    }

    #[test]
    fn dsr_single_stratum_matches_byar_rate() {
        // One stratum: Dobson limits reduce to Byar's limits of the crude rate.
        let mut acc = DsrAccumulator::new();
        acc.add(65.0, 20000.0, 3.0);
        let per = DSR_MULTIPLIER;
        assert_close(acc.value().unwrap(), 65.0 / 20000.0 * per, 1e-9);
        assert_close(acc.lower().unwrap(), byar_lower(65.0) / 20000.0 * per, 1e-9);
        assert_close(acc.upper().unwrap(), byar_upper(65.0) / 20000.0 * per, 1e-9);
    }

    #[test]
    fn dsr_suppressed_below_ten() {
        let mut acc = DsrAccumulator::new();
        assert_eq!(acc.value(), None);
        acc.add(4.0, 1000.0, 1.0);
        acc.add(5.0, 1000.0, 1.0);
        assert_eq!((acc.value(), acc.lower(), acc.upper()), (None, None, None));
        acc.add(1.0, 1000.0, 1.0);
        assert!(acc.value().is_some() && acc.lower().is_some() && acc.upper().is_some());
    }

    #[test]
    fn dsr_zero_population_rows_are_skipped() {
        let mut acc = dsr_example();
        acc.add(0.0, 0.0, 5000.0);
        acc.add(3.0, 0.0, 5000.0);
        assert_eq!(acc, dsr_example());
    }

    #[test]
    fn dsr_invalid_rows_poison() {
        for (x, n, w) in [
            (-1.0, 100.0, 1.0),
            (1.0, -100.0, 1.0),
            (1.0, 100.0, -1.0),
            (f64::NAN, 100.0, 1.0),
            (1.0, f64::INFINITY, 1.0),
        ] {
            let mut acc = dsr_example();
            acc.add(x, n, w);
            acc.add(50.0, 100.0, 1.0);
            assert!(acc.value().unwrap().is_nan());
            assert!(acc.lower().unwrap().is_nan());
            assert!(acc.upper().unwrap().is_nan());
        }
    }

    #[test]
    fn dsr_zero_weights_give_nan() {
        let mut acc = DsrAccumulator::new();
        acc.add(20.0, 100.0, 0.0);
        assert!(acc.value().unwrap().is_nan());
    }

    #[test]
    fn dsr_merge_and_state_round_trip() {
        let mut a = DsrAccumulator::new();
        a.add(10.0, 1000.0, 600.0);
        let mut b = DsrAccumulator::new();
        b.add(20.0, 500.0, 400.0);
        a.merge(&b);
        assert_eq!(a, dsr_example());

        let s = a.state();
        assert_eq!(s.len(), DSR_STATE_LEN);
        assert_eq!(DsrAccumulator::from_state(s), a);

        // Merging an empty state is a no-op; merging a poisoned one poisons.
        let mut c = a;
        c.merge(&DsrAccumulator::new());
        assert_eq!(c, a);
        let mut bad = DsrAccumulator::new();
        bad.add(-1.0, 1.0, 1.0);
        c.merge(&bad);
        assert!(c.value().unwrap().is_nan());
    }

    // ----- p-values and BH -----

    #[test]
    fn normal_two_sided_p_values() {
        // statrs' erfc is accurate to ~1e-11 here.
        assert_close(normal_two_sided_p(Z95), 0.05, 1e-10);
        assert_close(normal_two_sided_p(-Z95), 0.05, 1e-10);
        assert_close(normal_two_sided_p(0.0), 1.0, 1e-15);
        assert_close(normal_two_sided_p(2.575829303548901), 0.01, 1e-10);
        assert_eq!(normal_two_sided_p(f64::INFINITY), 0.0);
        assert!(normal_two_sided_p(f64::NAN).is_nan());
        // Far tail keeps precision: 2·Φ(−10) = erfc(10/√2) ≈ 1.5239706e-23.
        let p = normal_two_sided_p(10.0);
        assert!((p / 1.523_970_6e-23 - 1.0).abs() < 1e-6, "{p}");
    }

    #[test]
    fn bh_hand_worked_example() {
        // m = 5 valid p-values (NaN excluded), alpha = 0.05, thresholds k·0.01:
        //   sorted  0.005 <= 0.01 yes | 0.010 <= 0.02 yes | 0.029 <= 0.03 yes
        //           0.041 <= 0.04 no  | 0.200 <= 0.05 no
        //   largest k = 3 -> 0.005, 0.010, 0.029 significant.
        let p = [0.010, 0.041, 0.029, 0.005, 0.20, f64::NAN];
        assert_eq!(
            benjamini_hochberg(&p, 0.05),
            vec![true, false, true, true, false, false]
        );
    }

    #[test]
    fn bh_is_step_up_not_step_down() {
        // m = 4, alpha = 0.05, thresholds 0.0125, 0.025, 0.0375, 0.05:
        //   0.001 yes | 0.030 no | 0.035 yes | 0.2 no -> largest k = 3,
        //   so 0.030 is significant even though it fails its own threshold.
        let p = [0.2, 0.035, 0.001, 0.030];
        assert_eq!(benjamini_hochberg(&p, 0.05), vec![false, true, true, true]);
    }

    #[test]
    fn bh_edge_cases() {
        assert!(benjamini_hochberg(&[], 0.05).is_empty());
        assert_eq!(
            benjamini_hochberg(&[f64::NAN, f64::NAN], 0.05),
            vec![false, false]
        );
        assert_eq!(benjamini_hochberg(&[0.5, 0.9], 0.05), vec![false, false]);
        // Invalid p-values are excluded from m and never significant.
        assert_eq!(
            benjamini_hochberg(&[0.04, -0.1, 1.5], 0.05),
            vec![true, false, false]
        );
        // Ties at the cut-off are all flagged.
        assert_eq!(
            benjamini_hochberg(&[0.02, 0.02, 0.02, 0.9], 0.05),
            vec![true, true, true, false]
        );
        assert_eq!(benjamini_hochberg(&[0.0], f64::NAN), vec![false]);
        assert_eq!(benjamini_hochberg(&[0.0], 0.0), vec![false]);
        // A single p-value: significant iff p <= alpha.
        assert_eq!(benjamini_hochberg(&[0.05], 0.05), vec![true]);
    }

    // ----- Gi* -----

    const TOY_POINTS: [(f64, f64); 6] = [
        (10.0, 10.0),
        (20.0, 10.0),
        (40.0, 10.0),
        (15.0, 20.0),
        (30.0, 20.0),
        (30.0, 30.0),
    ];
    const TOY_Y: [f64; 6] = [2.0, 3.0, 3.2, 5.0, 8.0, 7.0];

    #[test]
    fn gi_star_matches_pysal_toy_example() {
        let z = gi_star(&TOY_POINTS, &TOY_Y, 15.0);
        let expected = [
            -1.39727626,
            -0.28917762,
            0.65064964,
            -0.28917762,
            1.23452088,
            2.02424331,
        ];
        for (a, e) in z.iter().zip(expected) {
            assert_close(*a, e, 1e-7);
        }
    }

    /// O(n²) reference implementation of the same formula.
    fn gi_star_brute(points: &[(f64, f64)], y: &[f64], t: f64) -> Vec<f64> {
        let n = y.len() as f64;
        let sum: f64 = y.iter().sum();
        let mean = sum / n;
        let s2 = y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        points
            .iter()
            .map(|&(a, b)| {
                let mut w = 0.0;
                let mut wy = 0.0;
                for (j, &(c, d)) in points.iter().enumerate() {
                    if ((a - c).powi(2) + (b - d).powi(2)).sqrt() <= t {
                        w += 1.0;
                        wy += y[j];
                    }
                }
                (wy / sum - w / n) / (w * (n - w) / (n - 1.0) * s2 / (n * n * mean * mean)).sqrt()
            })
            .collect()
    }

    /// Deterministic pseudo-random numbers in [0, 1) (64-bit LCG).
    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn gi_star_tree_matches_brute_force() {
        let mut seed = 42;
        let pts: Vec<(f64, f64)> = (0..400)
            .map(|_| (lcg(&mut seed) * 1000.0, lcg(&mut seed) * 1000.0))
            .collect();
        let y: Vec<f64> = (0..400).map(|_| (lcg(&mut seed) * 20.0).floor()).collect();
        let fast = gi_star(&pts, &y, 120.0);
        let slow = gi_star_brute(&pts, &y, 120.0);
        for (f, s) in fast.iter().zip(&slow) {
            assert_close(*f, *s, 1e-9);
        }
    }

    #[test]
    fn gi_star_scales_to_lsoa_count() {
        // 35,000 points on a 1 km grid, 1.5 km band (up to 9 neighbours incl. self).
        let side = 187; // 187² = 34,969
        let pts: Vec<(f64, f64)> = (0..side * side)
            .map(|i| ((i % side) as f64 * 1000.0, (i / side) as f64 * 1000.0))
            .collect();
        let y: Vec<f64> = (0..pts.len()).map(|i| ((i * 7919) % 13) as f64).collect();
        let z = gi_star(&pts, &y, 1500.0);
        assert_eq!(z.len(), pts.len());
        assert!(z.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn gi_star_hot_spot_is_positive() {
        // A cluster of high values among low ones.
        let pts: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 0.0)).collect();
        let y = [1.0, 1.0, 1.0, 1.0, 9.0, 9.0, 9.0, 1.0, 1.0, 1.0];
        let z = gi_star(&pts, &y, 1.0);
        assert!(z[5] > z[0] && z[5] > 0.0 && z[0] < 0.0);
    }

    #[test]
    fn gi_star_edge_cases() {
        let nan_all = |v: Vec<f64>| v.iter().all(|x| x.is_nan());
        assert!(gi_star(&[], &[], 1.0).is_empty());
        assert!(nan_all(gi_star(&[(0.0, 0.0)], &[1.0], 1.0)));
        // All equal y (s² = 0) and Σy = 0.
        assert!(nan_all(gi_star(&TOY_POINTS, &[3.0; 6], 15.0)));
        assert!(nan_all(gi_star(&TOY_POINTS, &[0.0; 6], 15.0)));
        // Negative / non-finite y, bad threshold, bad coordinates.
        let mut y = TOY_Y;
        y[2] = -1.0;
        assert!(nan_all(gi_star(&TOY_POINTS, &y, 15.0)));
        y[2] = f64::NAN;
        assert!(nan_all(gi_star(&TOY_POINTS, &y, 15.0)));
        assert!(nan_all(gi_star(&TOY_POINTS, &TOY_Y, -1.0)));
        assert!(nan_all(gi_star(&TOY_POINTS, &TOY_Y, f64::NAN)));
        let mut pts = TOY_POINTS;
        pts[0].0 = f64::INFINITY;
        assert!(nan_all(gi_star(&pts, &TOY_Y, 15.0)));
        // Band covering every point: W_i = n, zero variance.
        assert!(nan_all(gi_star(&TOY_POINTS, &TOY_Y, 1e6)));
        // Threshold 0: only the point itself (and exact duplicates).
        let z = gi_star(&TOY_POINTS, &TOY_Y, 0.0);
        assert!(z.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn gi_star_band_is_inclusive() {
        // (15,20)-(30,20) are exactly 15 apart: neighbours at threshold 15
        // but not at 14.999 (z for point 3 changes).
        let z15 = gi_star(&TOY_POINTS, &TOY_Y, 15.0);
        let z14 = gi_star(&TOY_POINTS, &TOY_Y, 14.999);
        assert!((z15[3] - z14[3]).abs() > 1e-3);
    }

    #[test]
    #[should_panic(expected = "same length")]
    fn gi_star_length_mismatch_panics() {
        gi_star(&TOY_POINTS, &[1.0, 2.0], 15.0);
    }

    // ----- SPC -----

    fn runs(r: &SpcResult) -> Vec<bool> {
        r.flags.iter().map(|f| f.run).collect()
    }
    fn trends(r: &SpcResult) -> Vec<bool> {
        r.flags.iter().map(|f| f.trend).collect()
    }
    fn beyond(r: &SpcResult) -> Vec<bool> {
        r.flags.iter().map(|f| f.beyond_limit).collect()
    }

    #[test]
    fn spc_summary_statistics() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sample var 32/7.
        let r = spc_signals(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_close(r.mean, 5.0, 1e-12);
        assert_close(r.sd, (32.0_f64 / 7.0).sqrt(), 1e-12);
        assert_close(r.upper, 5.0 + 3.0 * r.sd, 1e-12);
        assert_close(r.lower, 5.0 - 3.0 * r.sd, 1e-12);
        assert_eq!(r.flags.len(), 8);
    }

    #[test]
    fn spc_beyond_limit() {
        // 19 zeros and one 100: mean 5, sd = sqrt((19·25 + 95²)/19) = sqrt(500) ≈ 22.36,
        // upper ≈ 72.08, so only the 100 is beyond.
        let mut v = vec![0.0; 20];
        v[10] = 100.0;
        let r = spc_signals(&v);
        let b = beyond(&r);
        assert!(b[10]);
        assert_eq!(b.iter().filter(|&&x| x).count(), 1);
        // A value exactly on a limit is not beyond it.
        let r2 = spc_signals(&[1.0, 2.0, 3.0]);
        assert!(beyond(&r2).iter().all(|&x| !x));
        assert!(r2.upper > 3.0);
    }

    #[test]
    fn spc_run_of_eight_not_seven() {
        // Alternating so no trend fires; mean 0 by construction.
        // 7 above then 7 below: no run.
        let seven: Vec<f64> = [1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0]
            .iter()
            .chain(&[-1.0, -2.0, -1.0, -2.0, -1.0, -2.0, -1.0])
            .copied()
            .collect();
        let r = spc_signals(&seven);
        assert_close(r.mean, 0.0, 1e-12);
        assert!(runs(&r).iter().all(|&x| !x));

        // 8 above then 8 below: both runs flagged.
        let eight: Vec<f64> = [1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0]
            .iter()
            .chain(&[-1.0, -2.0, -1.0, -2.0, -1.0, -2.0, -1.0, -2.0])
            .copied()
            .collect();
        let r = spc_signals(&eight);
        assert!(runs(&r).iter().all(|&x| x));
        assert!(trends(&r).iter().all(|&x| !x));
    }

    #[test]
    fn spc_point_on_mean_breaks_run() {
        // mean = 0: 4 above, one on the mean, 4 above, then 9 below-ish to balance.
        // above: 1,2,1,2 | 0 | 1,2,1,2 -> sum 12; below: -12/9 × 9 values.
        let mut v = vec![1.0, 2.0, 1.0, 2.0, 0.0, 1.0, 2.0, 1.0, 2.0];
        v.extend([-1.0, -2.0, -1.0, -2.0, -1.0, -2.0, -1.0, -2.0]);
        // sum = 12 - 12 = 0, so mean is 0 and v[4] is exactly on it.
        let r = spc_signals(&v);
        assert_eq!(r.mean, 0.0);
        let f = runs(&r);
        assert!(f[..9].iter().all(|&x| !x), "{f:?}");
        assert!(f[9..].iter().all(|&x| x), "{f:?}");
    }

    #[test]
    fn spc_trend_of_six_not_five() {
        // Five rising points, then a drop, then six falling points.
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 0.5, 9.0, 8.0, 7.0, 6.0, 5.5, 5.2];
        let r = spc_signals(&v);
        let t = trends(&r);
        // 1..5 rising is only 5 points; 5 -> 0.5 is a 2-point fall;
        // 0.5 -> 9 rises; 9, 8, 7, 6, 5.5, 5.2 is a 6-point fall.
        assert_eq!(
            t,
            vec![
                false, false, false, false, false, false, true, true, true, true, true, true
            ]
        );
        // Six rising points are flagged.
        let r = spc_signals(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0]);
        assert_eq!(trends(&r), vec![true, true, true, true, true, true, false]);
    }

    #[test]
    fn spc_flat_step_breaks_trend() {
        let r = spc_signals(&[1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0]);
        assert!(trends(&r).iter().all(|&x| !x));
    }

    #[test]
    fn spc_turning_point_shared_by_two_trends() {
        // Rises for 6 points to a peak then falls for 6 points from it.
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0];
        let r = spc_signals(&v);
        assert!(trends(&r).iter().all(|&x| x));
    }

    #[test]
    fn spc_missing_values() {
        // NaN breaks the trend and is excluded from mean/sd.
        let v = [1.0, 2.0, 3.0, f64::NAN, 4.0, 5.0, 6.0];
        let r = spc_signals(&v);
        assert_close(r.mean, 3.5, 1e-12);
        assert!(trends(&r).iter().all(|&x| !x));
        assert!(!r.flags[3].any());
    }

    #[test]
    fn spc_degenerate_series() {
        let r = spc_signals(&[]);
        assert!(r.mean.is_nan() && r.sd.is_nan() && r.flags.is_empty());
        let r = spc_signals(&[5.0]);
        assert_eq!(r.mean, 5.0);
        assert!(r.sd.is_nan() && r.upper.is_nan() && r.lower.is_nan());
        assert!(!r.flags[0].any());
        // Constant series: sd 0, every point on the mean, no signals.
        let r = spc_signals(&[3.0; 12]);
        assert_eq!(r.sd, 0.0);
        assert!(r.flags.iter().all(|f| !f.any()));
    }
}
