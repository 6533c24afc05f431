//! Significance and hot spots: two-sided normal p-values, Benjamini–Hochberg false-discovery
//! control, and the Getis–Ord Gi* statistic as PySAL esda computes it.

use rstar::RTree;
use rstar::primitives::GeomWithData;
use statrs::distribution::{ContinuousCDF, Normal};

use super::valid_nonneg;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Z95;
    use crate::stats::test_support::*;

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
}
