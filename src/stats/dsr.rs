//! Directly standardised rates with Dobson limits (PHEindicatormethods `phe_dsr`).

use super::{DSR_MULTIPLIER, DSR_STATE_LEN, SMALL_COUNT, byar_lower, byar_upper, valid_nonneg};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;

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
}
