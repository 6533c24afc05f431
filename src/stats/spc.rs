//! Statistical process control of a monthly series: an XmR (individuals) chart as NHS England's
//! "Making Data Count" draws it.

use super::{SPC_RUN_LENGTH, SPC_TREND_LENGTH, XMR_LIMIT_FACTOR};

/// Per-point signals from [`spc_signals`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpcFlags {
    /// Rule 1: the value is strictly above the upper or strictly below the lower
    /// control limit.
    pub beyond_limit: bool,
    /// Rule 2: the point belongs to a run of [`SPC_RUN_LENGTH`] (7) or more
    /// consecutive points strictly on the same side of the centre line.
    pub run: bool,
    /// Rule 3: the point belongs to [`SPC_TREND_LENGTH`] (6) or more
    /// consecutive points that are strictly rising or strictly falling.
    pub trend: bool,
    /// Rule 4: the point is strictly beyond two thirds of the way from the
    /// centre line to a limit, and so is at least one other point of three
    /// consecutive points that include it, on the same side.
    pub two_of_three: bool,
}

impl SpcFlags {
    /// True when any rule fires for the point.
    pub fn any(&self) -> bool {
        self.beyond_limit || self.run || self.trend || self.two_of_three
    }
}

/// What a series' signals say, in the words police and crime panels use.
///
/// Precedence, when several rules fire: significant trend, then step shift,
/// then single-point exception, then stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpcState {
    /// No rule fires: only common-cause (chance) variation.
    Stable,
    /// Points beyond a limit (rule 1) or near one (rule 4), with no run and no
    /// trend: short-lived exceptions, not a change of level.
    SinglePointException,
    /// A run of 7 or more on one side of the centre line (rule 2) and no
    /// trend: the level has moved.
    StepShift,
    /// A trend of 6 or more rising or falling points (rule 3).
    SignificantTrend,
}

impl SpcState {
    /// The state as a table value: `stable`, `single_point_exception`, `step_shift` or
    /// `significant_trend`.
    pub fn key(self) -> &'static str {
        match self {
            SpcState::Stable => "stable",
            SpcState::SinglePointException => "single_point_exception",
            SpcState::StepShift => "step_shift",
            SpcState::SignificantTrend => "significant_trend",
        }
    }

    /// The state in words, e.g. "Step shift".
    pub fn words(self) -> &'static str {
        match self {
            SpcState::Stable => "Stable",
            SpcState::SinglePointException => "Single-point exception",
            SpcState::StepShift => "Step shift",
            SpcState::SignificantTrend => "Significant trend",
        }
    }

    /// The state of a series with these flags (precedence: trend, run, exception, stable).
    pub fn of(flags: &[SpcFlags]) -> SpcState {
        if flags.iter().any(|f| f.trend) {
            SpcState::SignificantTrend
        } else if flags.iter().any(|f| f.run) {
            SpcState::StepShift
        } else if flags.iter().any(|f| f.beyond_limit || f.two_of_three) {
            SpcState::SinglePointException
        } else {
            SpcState::Stable
        }
    }
}

/// Result of [`spc_signals`]: centre line, limits, one [`SpcFlags`] per
/// input value (same order and length as the input) and the series' state.
#[derive(Debug, Clone, PartialEq)]
pub struct SpcResult {
    /// Points of the baseline: the first this many values set the centre line
    /// and limits.
    pub baseline: usize,
    /// Centre line: mean of the finite baseline values.
    pub mean: f64,
    /// Mean moving range: mean of |xᵢ − xᵢ₋₁| over neighbouring finite
    /// baseline values.
    pub mean_moving_range: f64,
    /// Upper control limit, mean + 2.66 × mean moving range.
    pub upper: f64,
    /// Lower control limit, mean − 2.66 × mean moving range.
    pub lower: f64,
    /// Signals, one per input value.
    pub flags: Vec<SpcFlags>,
    /// What the signals say, by the precedence of [`SpcState::of`].
    pub state: SpcState,
}

/// An XmR (individuals) chart of a series in time order, as NHS England's
/// "Making Data Count" draws it.
///
/// The first `baseline` values (all of them when `baseline` is 0 or more than
/// the series holds) set the chart: centre line = their mean; control limits
/// = mean ± 2.66 × mean moving range, the moving ranges being |xᵢ − xᵢ₋₁| of
/// neighbouring baseline values. Every value, baseline or not, is then tested
/// against four rules, each flagging every point involved:
///
/// 1. beyond a limit: value > upper or value < lower (a point exactly on a
///    limit is not flagged);
/// 2. run: [`SPC_RUN_LENGTH`] (7) or more consecutive points strictly on the
///    same side of the centre line; a point exactly on the line breaks a run;
/// 3. trend: [`SPC_TREND_LENGTH`] (6) or more consecutive points each strictly
///    above (or each strictly below) the previous one; an equal neighbour
///    breaks a trend. A turning point can end one trend and start another;
/// 4. two of three: in some three consecutive points, two or three lie
///    strictly beyond two thirds of the way from the centre line to a limit on
///    the same side (beyond the limit counts); those points are flagged, a
///    point exactly at two thirds is not beyond it.
///
/// Non-finite values (e.g. `NaN` for a missing period) are left out of the
/// mean, and a moving range needs both neighbours finite; they are never
/// flagged and break runs and trends. Without a finite baseline value the
/// centre line is `NaN` and only rule 3 (which needs no centre line) can fire;
/// without a moving range (fewer than two neighbouring finite baseline values)
/// the limits are `NaN` and rules 1 and 4 never fire.
///
/// References: NHS England and NHS Improvement, *Making Data Count: Getting
/// started* (2019); D. J. Wheeler, *Understanding Variation: The Key to
/// Managing Chaos*, 2nd ed. (SPC Press, 2000).
pub fn spc_signals(values: &[f64], baseline: usize) -> SpcResult {
    let baseline = if baseline == 0 || baseline > values.len() {
        values.len()
    } else {
        baseline
    };
    let base = &values[..baseline];
    let mean = mean_of(base.iter().copied().filter(|v| v.is_finite()));
    let mean_moving_range = mean_of(
        base.windows(2)
            .filter(|w| w[0].is_finite() && w[1].is_finite())
            .map(|w| (w[1] - w[0]).abs()),
    );
    let upper = mean + XMR_LIMIT_FACTOR * mean_moving_range;
    let lower = mean - XMR_LIMIT_FACTOR * mean_moving_range;

    let mut flags: Vec<SpcFlags> = values
        .iter()
        .map(|&v| SpcFlags {
            beyond_limit: v.is_finite() && (v > upper || v < lower),
            ..SpcFlags::default()
        })
        .collect();

    // Side of the centre line: +1 above, -1 below, 0 on it or not finite.
    let side = |v: f64| -> i8 {
        if !v.is_finite() || !mean.is_finite() || v == mean {
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

    // Two of three beyond two thirds of the way to a limit: +1 above, -1
    // below, 0 neither (comparisons with NaN limits are false).
    let near_upper = mean + 2.0 * (upper - mean) / 3.0;
    let near_lower = mean - 2.0 * (mean - lower) / 3.0;
    let near = |v: f64| -> i8 {
        if v > near_upper {
            1
        } else if v < near_lower {
            -1
        } else {
            0
        }
    };
    for start in 0..values.len().saturating_sub(2) {
        for s in [1, -1] {
            let hits: Vec<usize> = (start..start + 3)
                .filter(|&i| near(values[i]) == s)
                .collect();
            if hits.len() >= 2 {
                hits.iter().for_each(|&i| flags[i].two_of_three = true);
            }
        }
    }

    SpcResult {
        baseline,
        mean,
        mean_moving_range,
        upper,
        lower,
        state: SpcState::of(&flags),
        flags,
    }
}

/// Mean of `values`, `NaN` when there are none.
fn mean_of(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
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
mod tests;
