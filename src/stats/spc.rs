//! Statistical process control signals of a monthly series.

use super::{SPC_RUN_LENGTH, SPC_TREND_LENGTH};

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
    use crate::stats::test_support::*;

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
