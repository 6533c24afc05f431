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
fn two_of_three(r: &SpcResult) -> Vec<bool> {
    r.flags.iter().map(|f| f.two_of_three).collect()
}
/// Indexes where `flags` is true.
fn at(flags: &[bool]) -> Vec<usize> {
    (0..flags.len()).filter(|&i| flags[i]).collect()
}

/// A 12-point baseline worked by hand: 12, 10, 12, 10, … , 12, 10.
/// Mean = (6·12 + 6·10) / 12 = 11. Moving ranges: eleven of |10 − 12| = 2, mean 2.
/// Limits = 11 ± 2.66 × 2 = 11 ± 5.32: lower 5.68, upper 16.32.
/// Two thirds of the way to a limit: 11 ± 5.32 × 2/3 = 11 ± 3.5467: 7.4533 and 14.5467.
/// It alternates about the centre line, so it holds no run or trend of its own, and it ends
/// below the line (10).
fn baseline() -> Vec<f64> {
    [12.0, 10.0].repeat(6)
}

fn with_baseline(after: &[f64]) -> SpcResult {
    let mut v = baseline();
    v.extend_from_slice(after);
    spc_signals(&v, 12)
}

#[test]
fn worked_example_limits_and_flags() {
    // Index: 12  13  14  15  16  17  18
    // Value: 17  11   9  15  12  15   5
    // 17 > 16.32: beyond (rule 1). 5 < 5.68: beyond. 11 is on the centre line.
    // 15, 12, 15 (indexes 15–17): two of three above 14.5467 (rule 4): 15 and 15.
    // 17, 11, 9 has only 17 above 14.5467; 12, 15, 5 has one above and one below.
    // Steps alternate up and down, and no seven points lie on one side: no run, no trend.
    let r = with_baseline(&[17.0, 11.0, 9.0, 15.0, 12.0, 15.0, 5.0]);
    assert_eq!(r.baseline, 12);
    assert_close(r.mean, 11.0, 1e-12);
    assert_close(r.mean_moving_range, 2.0, 1e-12);
    assert_close(r.upper, 16.32, 1e-12);
    assert_close(r.lower, 5.68, 1e-12);
    assert_eq!(at(&beyond(&r)), [12, 18]);
    assert_eq!(at(&two_of_three(&r)), [15, 17]);
    assert!(at(&runs(&r)).is_empty() && at(&trends(&r)).is_empty());
    assert_eq!(r.state, SpcState::SinglePointException);
    assert_eq!(r.flags.len(), 19);
}

#[test]
fn limits_come_from_the_baseline_only() {
    // The later 100 is beyond the limits the baseline sets but does not move them.
    let r = with_baseline(&[100.0]);
    assert_close(r.mean, 11.0, 1e-12);
    assert_close(r.upper, 16.32, 1e-12);
    assert!(r.flags[12].beyond_limit);
    // A shorter baseline: 12, 10, 12, 10 → mean 11, moving ranges 2, 2, 2 → mean 2.
    let r = spc_signals(&[12.0, 10.0, 12.0, 10.0, 30.0, 30.0], 4);
    assert_eq!(r.baseline, 4);
    assert_close(r.mean, 11.0, 1e-12);
    assert_close(r.mean_moving_range, 2.0, 1e-12);
    // Fewer points than the baseline asks for, or 0: all of them.
    // 1, 2, 3, 6 → mean 3; moving ranges 1, 1, 3 → mean 5/3.
    for b in [0, 12] {
        let r = spc_signals(&[1.0, 2.0, 3.0, 6.0], b);
        assert_eq!(r.baseline, 4);
        assert_close(r.mean, 3.0, 1e-12);
        assert_close(r.mean_moving_range, 5.0 / 3.0, 1e-12);
        assert_close(r.upper, 3.0 + 2.66 * 5.0 / 3.0, 1e-12);
    }
}

#[test]
fn a_point_exactly_on_a_limit_is_not_beyond() {
    let mut v = baseline();
    v.push(11.0 + 2.66 * 2.0); // 16.32, as the function computes the upper limit
    v.push(11.0 - 2.66 * 2.0); // 5.68, the lower limit
    let r = spc_signals(&v, 12);
    assert_eq!(r.upper, v[12]);
    assert_eq!(r.lower, v[13]);
    assert!(at(&beyond(&r)).is_empty());
    // Just beyond either limit is flagged.
    let r = with_baseline(&[16.33, 5.67]);
    assert_eq!(at(&beyond(&r)), [12, 13]);
}

#[test]
fn a_run_of_seven_is_a_signal_and_six_is_not() {
    // The baseline ends below the centre line (10); 12 and 13 are above 11 and below the
    // two-thirds line 14.5467, and alternate so that no trend forms.
    let six = with_baseline(&[12.0, 13.0, 12.0, 13.0, 12.0, 13.0, 10.0]);
    assert!(at(&runs(&six)).is_empty());
    assert_eq!(six.state, SpcState::Stable);
    let seven = with_baseline(&[12.0, 13.0, 12.0, 13.0, 12.0, 13.0, 12.0, 10.0]);
    assert_eq!(at(&runs(&seven)), (12..19).collect::<Vec<_>>());
    assert_eq!(seven.state, SpcState::StepShift);
}

#[test]
fn a_point_on_the_centre_line_breaks_a_run() {
    // Three above, one exactly on 11, four above: two short runs, no signal.
    let r = with_baseline(&[12.0, 13.0, 12.0, 11.0, 12.0, 13.0, 12.0, 13.0]);
    assert!(at(&runs(&r)).is_empty());
    // Below the line too: seven below, flagged.
    let r = with_baseline(&[9.0, 10.0, 9.0, 10.0, 9.0, 10.0, 12.0]);
    // The baseline's last point (10, below) joins the six after it: indexes 11 to 17.
    assert_eq!(at(&runs(&r)), (11..18).collect::<Vec<_>>());
}

#[test]
fn a_trend_of_six_is_a_signal_and_five_is_not() {
    // 10 (end of the baseline) falls to 9, then 9, 10.5, 11.5, 12.5, 13.5 rise: five points.
    let five = with_baseline(&[9.0, 10.5, 11.5, 12.5, 13.5, 12.0]);
    assert!(at(&trends(&five)).is_empty());
    // One more rise, to 14 (still under 14.5467): six points, indexes 12 to 17.
    let six = with_baseline(&[9.0, 10.5, 11.5, 12.5, 13.5, 14.0, 12.0]);
    assert_eq!(at(&trends(&six)), (12..18).collect::<Vec<_>>());
    assert_eq!(six.state, SpcState::SignificantTrend);
    // Six falling points are flagged the same way.
    let r = spc_signals(&[6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 2.0], 0);
    assert_eq!(trends(&r), [true, true, true, true, true, true, false]);
}

#[test]
fn an_equal_neighbour_breaks_a_trend() {
    let r = with_baseline(&[9.0, 10.0, 11.0, 11.0, 12.0, 13.0, 14.0]);
    assert!(at(&trends(&r)).is_empty());
}

#[test]
fn a_turning_point_is_shared_by_two_trends() {
    let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0];
    let r = spc_signals(&v, 0);
    assert!(trends(&r).iter().all(|&x| x));
}

#[test]
fn two_of_three_beyond_two_thirds_not_at_it() {
    // Exactly at two thirds of the way to the upper limit (11 + 3.5467 = 14.5467): not
    // beyond it, so no signal.
    let line = 11.0 + 2.0 * ((11.0 + 2.66 * 2.0) - 11.0) / 3.0;
    let r = with_baseline(&[line, 11.5, line]);
    assert_close(line, 14.546_666_666_666_667, 1e-9);
    assert!(at(&two_of_three(&r)).is_empty());
    // Just beyond: the two points are flagged, the middle one is not.
    let r = with_baseline(&[14.6, 11.5, 14.6]);
    assert_eq!(at(&two_of_three(&r)), [12, 14]);
    // Two in a row below 7.4533.
    let r = with_baseline(&[7.4, 7.4, 10.5]);
    assert_eq!(at(&two_of_three(&r)), [12, 13]);
    // Two of three on opposite sides are not a signal.
    let r = with_baseline(&[14.6, 11.5, 7.4]);
    assert!(at(&two_of_three(&r)).is_empty());
    // Two near points four apart are not in any three consecutive points.
    let r = with_baseline(&[14.6, 11.5, 11.5, 14.6]);
    assert!(at(&two_of_three(&r)).is_empty());
    // Rule 4 alone makes a single-point exception.
    let r = with_baseline(&[14.6, 11.5, 14.6]);
    assert_eq!(r.state, SpcState::SinglePointException);
}

#[test]
fn missing_values_are_left_out() {
    // Baseline 10, 12, NaN, 16, 14: mean of the finite values (10 + 12 + 16 + 14) / 4 = 13;
    // moving ranges only between finite neighbours: |12 − 10| = 2 and |14 − 16| = 2, mean 2.
    let r = spc_signals(&[10.0, 12.0, f64::NAN, 16.0, 14.0], 0);
    assert_close(r.mean, 13.0, 1e-12);
    assert_close(r.mean_moving_range, 2.0, 1e-12);
    assert!(!r.flags[2].any());
    // A NaN breaks a trend and a run.
    let r = with_baseline(&[9.0, 10.5, 11.5, f64::NAN, 12.5, 13.5, 14.0]);
    assert!(at(&trends(&r)).is_empty() && at(&runs(&r)).is_empty());
    assert!(!r.flags[15].any());
    // A NaN is never near a limit either.
    let r = with_baseline(&[14.6, f64::NAN, 11.0]);
    assert!(at(&two_of_three(&r)).is_empty());
}

#[test]
fn degenerate_series() {
    let r = spc_signals(&[], 12);
    assert!(r.mean.is_nan() && r.mean_moving_range.is_nan() && r.flags.is_empty());
    assert_eq!(r.state, SpcState::Stable);
    let r = spc_signals(&[5.0], 12);
    assert_eq!(r.mean, 5.0);
    assert!(r.mean_moving_range.is_nan() && r.upper.is_nan() && r.lower.is_nan());
    assert!(!r.flags[0].any());
    // An all-missing baseline: no centre line, nothing flagged.
    let r = spc_signals(&[f64::NAN, f64::NAN, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 2);
    assert!(r.mean.is_nan());
    assert!(
        r.flags
            .iter()
            .all(|f| !f.run && !f.beyond_limit && !f.two_of_three)
    );
    // Constant series: moving range 0, every point on the centre line, no signals.
    let r = spc_signals(&[3.0; 12], 12);
    assert_eq!(r.mean_moving_range, 0.0);
    assert!(r.flags.iter().all(|f| !f.any()));
    assert_eq!(r.state, SpcState::Stable);
}

#[test]
fn state_precedence() {
    let f = |beyond_limit, run, trend, two_of_three| SpcFlags {
        beyond_limit,
        run,
        trend,
        two_of_three,
    };
    assert_eq!(SpcState::of(&[]), SpcState::Stable);
    assert_eq!(
        SpcState::of(&[f(true, true, false, true), f(false, false, true, false)]),
        SpcState::SignificantTrend
    );
    assert_eq!(
        SpcState::of(&[f(true, false, false, false), f(false, true, false, false)]),
        SpcState::StepShift
    );
    assert_eq!(
        SpcState::of(&[f(true, false, false, false)]),
        SpcState::SinglePointException
    );
    assert_eq!(SpcState::StepShift.key(), "step_shift");
    assert_eq!(
        SpcState::SinglePointException.words(),
        "Single-point exception"
    );
}
