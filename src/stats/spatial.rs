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

/// Which points are each point's neighbours in Gi* (the point itself is always added: Gi*
/// "star", esda's `star=True` with binary weights, wᵢᵢ = 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Neighbours {
    /// The k nearest other points by Euclidean distance (libpysal `KNN(points, k)`). Ties at
    /// the k-th distance are broken by row order, earlier rows first; k ≥ n − 1 takes every
    /// other point.
    Nearest(usize),
    /// Every other point whose distance is ≤ this many units (libpysal `DistanceBand` with
    /// binary weights).
    Within(f64),
}

/// Each point's neighbours as row indices, not including the point itself, ascending. `None`
/// when a coordinate is not finite, k is 0, or the distance is negative or `NaN`.
///
/// Neighbours are found with an `rstar` R-tree: the k nearest by its nearest-neighbour
/// iterator (which yields points in order of distance, so every point tied at the k-th
/// distance is seen before the row-order tie-break), the distance band as squared distance ≤
/// distance². Both scale to the ~35,000 LSOAs of England.
pub fn neighbour_lists(points: &[(f64, f64)], neighbours: Neighbours) -> Option<Vec<Vec<usize>>> {
    let valid = points.iter().all(|&(a, b)| a.is_finite() && b.is_finite())
        && match neighbours {
            Neighbours::Nearest(k) => k >= 1,
            Neighbours::Within(d) => d >= 0.0,
        };
    if !valid {
        return None;
    }
    let tree = RTree::bulk_load(
        points
            .iter()
            .enumerate()
            .map(|(i, &(a, b))| GeomWithData::new([a, b], i))
            .collect(),
    );
    let lists = points
        .iter()
        .enumerate()
        .map(|(i, &(a, b))| {
            let mut list: Vec<usize> = match neighbours {
                Neighbours::Nearest(k) => {
                    let mut found: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
                    for (nb, d2) in tree.nearest_neighbor_iter_with_distance_2(&[a, b]) {
                        if nb.data == i {
                            continue;
                        }
                        if found.len() >= k && d2 > found[k - 1].0 {
                            break;
                        }
                        found.push((d2, nb.data));
                    }
                    found.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
                    found.truncate(k);
                    found.into_iter().map(|(_, j)| j).collect()
                }
                Neighbours::Within(d) => tree
                    .locate_within_distance([a, b], d * d)
                    .map(|nb| nb.data)
                    .filter(|&j| j != i)
                    .collect(),
            };
            list.sort_unstable();
            list
        })
        .collect();
    Some(lists)
}

/// The neighbour lists, Σy, ȳ and the population variance of `y`, when Gi* is defined for
/// these inputs (see [`gi_star`]).
fn gi_inputs(
    points: &[(f64, f64)],
    y: &[f64],
    neighbours: Neighbours,
) -> Option<(Vec<Vec<usize>>, f64, f64, f64)> {
    assert_eq!(
        points.len(),
        y.len(),
        "gi_star: points and y must have the same length"
    );
    let n = y.len();
    if n < 2 || !y.iter().all(|&v| valid_nonneg(v)) {
        return None;
    }
    let nf = n as f64;
    let sum_y: f64 = y.iter().sum();
    let mean = sum_y / nf;
    let s2 = y.iter().map(|&v| (v - mean) * (v - mean)).sum::<f64>() / nf;
    if sum_y == 0.0 || s2 == 0.0 {
        return None;
    }
    Some((neighbour_lists(points, neighbours)?, sum_y, mean, s2))
}

/// Getis–Ord Gi* hot-spot z-scores for values `y` at `points`, with binary weights that
/// include the point itself: wᵢⱼ = 1 for j = i and for j among i's [`Neighbours`], else 0.
///
/// As PySAL `esda.G_Local(y, w, transform="B", star=True)` (esda sets wᵢᵢ = 1 for Gi* with
/// binary weights):
///
/// z_i = (Gᵢ − Wᵢ/n) / √( Wᵢ(n − Wᵢ)/(n − 1) · s²/(n²ȳ²) )
///
/// with Gᵢ = Σⱼwᵢⱼyⱼ / Σy, Wᵢ = Σⱼwᵢⱼ, ȳ the mean and s² the population
/// variance (divisor n) of `y`. Positive z = hot spot, negative = cold spot; compare with
/// [`gi_star_p_sim`] (or [`normal_two_sided_p`]) and [`benjamini_hochberg`].
///
/// Every z is `NaN` when: n < 2; the neighbours cannot be found ([`neighbour_lists`]); any
/// `y` is negative or not finite (Gi* is defined for non-negative variables, and a negative
/// ȳ would flip the sign in the PySAL formula); Σy = 0; or all `y` are equal (s² = 0). A
/// point whose neighbourhood holds every point (Wᵢ = n) has z = `NaN` (zero variance).
///
/// # Panics
///
/// If `points.len() != y.len()`.
///
/// Reference: Getis & Ord (1992), *Geographical Analysis* 24:189–206; Ord &
/// Getis (1995), *Geographical Analysis* 27:286–306; PySAL esda `G_Local`.
pub fn gi_star(points: &[(f64, f64)], y: &[f64], neighbours: Neighbours) -> Vec<f64> {
    let n = y.len();
    let Some((lists, sum_y, mean, s2)) = gi_inputs(points, y, neighbours) else {
        return vec![f64::NAN; n];
    };
    let nf = n as f64;
    let scale = s2 / (nf * nf * mean * mean);
    lists
        .iter()
        .enumerate()
        .map(|(i, list)| {
            let w_i = (list.len() + 1) as f64;
            if w_i >= nf {
                return f64::NAN;
            }
            let wy = y[i] + list.iter().map(|&j| y[j]).sum::<f64>();
            let g_i = wy / sum_y;
            let var = w_i * (nf - w_i) / (nf - 1.0) * scale;
            (g_i - w_i / nf) / var.sqrt()
        })
        .collect()
}

/// Pseudo p-values of [`gi_star`] by conditional permutation, as PySAL esda's `G_Local`
/// `p_sim` (its default, `alternative="directed"`) in the upper tail, where hot spots are,
/// with draws that tie the observed value counted as extreme in the lower tail too (below).
///
/// For each point i with k neighbours, `y[i]` is held fixed and `permutations` times k values
/// are drawn without replacement from the other n − 1 values and put in the neighbours'
/// places. Gᵢ is compared through its numerator, the neighbourhood sum (Wᵢ, Σy and yᵢ are the
/// same in every draw; sums within 10⁻¹² Σy of each other count as equal, against rounding).
/// With `larger` the draws whose sum is ≥ the observed and `smaller` those ≤ it,
///
/// p_sim = (min(larger, smaller) + 1) / (permutations + 1),
///
/// a one-sided p-value in the direction of the observed value, at least 1/(permutations + 1):
/// esda's `"greater"` p-value or its `"lesser"`, whichever is smaller. esda's directed fold
/// takes `permutations − larger`, the draws strictly below, in place of `smaller`, so in the
/// lower tail it leaves out draws that tie the observed sum, which with counts are common: a
/// neighbourhood of zeros among counts that are mostly zero, or one that every draw ties,
/// gets esda's smallest p-value, 1/(permutations + 1), as a "cold spot". Here a tie counts
/// on both sides, so such a point gets a large p-value. Whenever at most half of the draws
/// are ≥ the observed (the upper tail) the two are the same, and so they are whenever no draw
/// ties it. Anselin (1995) calls this conditional randomisation.
///
/// The draws come from ChaCha8 seeded with `seed`, a separate stream for each point (its row
/// index), and integers below m by Lemire's unbiased method on the generator's 64-bit output:
/// the same inputs and seed give the same p-values on every run and machine, and each point's
/// p-value depends only on the data, the seed and its row. They are not esda's draws (esda
/// uses NumPy's generator), so p-values agree with esda's in distribution, not digit for
/// digit.
///
/// `NaN` where [`gi_star`] is `NaN`, when `permutations` is 0, and for a point with no
/// neighbours (esda gives such an island p = 1/(permutations + 1), a "significance" that
/// only says nothing was permuted).
///
/// Reference: Anselin (1995), *Geographical Analysis* 27:93–115; PySAL esda `crand` and
/// `significance`.
pub fn gi_star_p_sim(
    points: &[(f64, f64)],
    y: &[f64],
    neighbours: Neighbours,
    permutations: usize,
    seed: u64,
) -> Vec<f64> {
    let n = y.len();
    let Some((lists, sum_y, _, _)) = gi_inputs(points, y, neighbours) else {
        return vec![f64::NAN; n];
    };
    if permutations == 0 {
        return vec![f64::NAN; n];
    }
    let tolerance = 1e-12 * sum_y;
    // Counts (the usual y) are drawn as integers, with the float bounds rounded inwards to
    // integers: below 2⁵³ integer sums are exact as floats too, so a sum is ≥ the rounded-up
    // lower bound exactly when it is ≥ the float bound, and the p-values are the same to the
    // bit. Four-byte values keep `others` in a core's cache at national scale (33,000 LSOAs:
    // 130 kB, not 260 kB) and integer sums add faster.
    let counts = sum_y < 2f64.powi(53)
        && y.iter()
            .all(|&v| v.fract() == 0.0 && v <= f64::from(u32::MAX));
    if counts {
        let values: Vec<u32> = y.iter().map(|&v| v as u32).collect();
        permutation_p(&lists, &values, permutations, seed, |observed| {
            let observed = observed as f64;
            // A negative lower bound saturates to 0, which every sum is ≥, as it is ≥ the bound.
            (
                (observed - tolerance).ceil() as u64,
                (observed + tolerance).floor() as u64,
            )
        })
    } else {
        permutation_p(&lists, y, permutations, seed, |observed| {
            (observed - tolerance, observed + tolerance)
        })
    }
}

/// A value that can be drawn in [`gi_star_p_sim`]'s permutations, with the type its sums are
/// added in.
trait Drawn: Copy + Send + Sync {
    type Sum: Copy + PartialOrd + std::ops::Add<Output = Self::Sum> + Default + std::iter::Sum;
    fn widen(self) -> Self::Sum;
}

impl Drawn for f64 {
    type Sum = f64;
    fn widen(self) -> f64 {
        self
    }
}

impl Drawn for u32 {
    type Sum = u64;
    fn widen(self) -> u64 {
        u64::from(self)
    }
}

/// [`gi_star_p_sim`]'s draws for every row of `lists` over values `y`, a draw's sum counted
/// as large when ≥ the first of `bounds(observed)` and as small when ≤ the second.
fn permutation_p<T: Drawn>(
    lists: &[Vec<usize>],
    y: &[T],
    permutations: usize,
    seed: u64,
    bounds: impl Fn(T::Sum) -> (T::Sum, T::Sum) + Sync,
) -> Vec<f64> {
    use rand::SeedableRng;
    use rayon::prelude::*;
    let n = y.len();
    // Each row draws from its own seeded stream, so rows are independent and run in parallel
    // with the same result in any order. Each worker has its own scratch: `others`, the values
    // of the other n − 1 rows in `y`'s order without row i (as esda's `z[mask]`), restored
    // after every draw; `swaps`; and the row `others` was last made for. Holding values rather
    // than row numbers saves a second random read a draw; from row i − 1 to row i only one
    // place changes, so a worker taking rows in order updates it in O(1).
    lists
        .par_iter()
        .enumerate()
        .map_init(
            || (Vec::new(), Vec::new(), None),
            |(others, swaps, made_for): &mut (Vec<T>, Vec<usize>, Option<usize>), (i, list)| {
                match *made_for {
                    Some(last) if last == i => {}
                    Some(last) if last + 1 == i => others[last] = y[last],
                    _ => {
                        others.clear();
                        others.extend(y[..i].iter().chain(&y[i + 1..]));
                    }
                }
                *made_for = Some(i);
                let k = list.len();
                if k == 0 || k + 1 >= n {
                    return f64::NAN;
                }
                let (low, high) = bounds(list.iter().map(|&j| y[j].widen()).sum());
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(i as u64);
                swaps.clear();
                swaps.resize(k, 0);
                let (mut larger, mut smaller) = (0usize, 0usize);
                for _ in 0..permutations {
                    // A partial Fisher–Yates shuffle of `others`, undone afterwards so that every
                    // draw starts from the same order.
                    let mut sum = T::Sum::default();
                    for (t, swap) in swaps.iter_mut().enumerate() {
                        let r = t + below(&mut rng, (n - 1 - t) as u64) as usize;
                        others.swap(t, r);
                        *swap = r;
                        sum = sum + others[t].widen();
                    }
                    for (t, &r) in swaps.iter().enumerate().rev() {
                        others.swap(t, r);
                    }
                    larger += usize::from(sum >= low);
                    smaller += usize::from(sum <= high);
                }
                (larger.min(smaller) + 1) as f64 / (permutations + 1) as f64
            },
        )
        .collect()
}

/// A uniform integer in `0..m` (m ≥ 1) from `rng`'s 64-bit output: Lemire (2019), "Fast
/// random integer generation in an interval", *ACM TOMACS* 29(1), without bias. Written out
/// here so that the draws do not change with the `rand` crate's own sampling code.
fn below(rng: &mut impl rand::RngCore, m: u64) -> u64 {
    let mut wide = u128::from(rng.next_u64()) * u128::from(m);
    if (wide as u64) < m {
        let threshold = m.wrapping_neg() % m;
        while (wide as u64) < threshold {
            wide = u128::from(rng.next_u64()) * u128::from(m);
        }
    }
    (wide >> 64) as u64
}

/// Clusters of hot spots: the connected groups of the points flagged in `hot`, two hot points
/// being joined when either is among the other's [`Neighbours`] (the neighbour graph made
/// symmetric, as libpysal's `W.symmetrize`). Each hot point gets its cluster's number, from 1
/// for the cluster with the largest Σ`y` (then the most points, then the earliest row);
/// points not hot get `None`, and so does every point when the neighbours cannot be found
/// ([`neighbour_lists`]). A `y` that is not finite counts as 0 in the ordering.
///
/// # Panics
///
/// If `points`, `hot` and `y` differ in length.
pub fn gi_star_clusters(
    points: &[(f64, f64)],
    hot: &[bool],
    y: &[f64],
    neighbours: Neighbours,
) -> Vec<Option<usize>> {
    assert!(
        points.len() == hot.len() && hot.len() == y.len(),
        "gi_star_clusters: points, hot and y must have the same length"
    );
    let n = points.len();
    let Some(lists) = neighbour_lists(points, neighbours) else {
        return vec![None; n];
    };
    // Union–find with path halving; the root of a group is its earliest row.
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, list) in lists.iter().enumerate() {
        if !hot[i] {
            continue;
        }
        for &j in list.iter().filter(|&&j| hot[j]) {
            let (a, b) = (root(&mut parent, i), root(&mut parent, j));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    // (Σy, members, first row) of each group, by its root.
    let mut groups: std::collections::BTreeMap<usize, (f64, usize)> = Default::default();
    for i in (0..n).filter(|&i| hot[i]) {
        let r = root(&mut parent, i);
        let entry = groups.entry(r).or_insert((0.0, 0));
        entry.0 += if y[i].is_finite() { y[i] } else { 0.0 };
        entry.1 += 1;
    }
    let mut order: Vec<(usize, (f64, usize))> = groups.into_iter().collect();
    order.sort_by(|(ra, (ya, na)), (rb, (yb, nb))| {
        yb.total_cmp(ya).then(nb.cmp(na)).then(ra.cmp(rb))
    });
    let number: std::collections::BTreeMap<usize, usize> = order
        .iter()
        .enumerate()
        .map(|(k, (r, _))| (*r, k + 1))
        .collect();
    (0..n)
        .map(|i| hot[i].then(|| number[&root(&mut parent, i)]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Z95;
    use crate::stats::test_support::*;
    use Neighbours::{Nearest, Within};

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
        let z = gi_star(&TOY_POINTS, &TOY_Y, Within(15.0));
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
        let fast = gi_star(&pts, &y, Within(120.0));
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
        let z = gi_star(&pts, &y, Within(1500.0));
        assert_eq!(z.len(), pts.len());
        assert!(z.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn gi_star_hot_spot_is_positive() {
        // A cluster of high values among low ones.
        let pts: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 0.0)).collect();
        let y = [1.0, 1.0, 1.0, 1.0, 9.0, 9.0, 9.0, 1.0, 1.0, 1.0];
        let z = gi_star(&pts, &y, Within(1.0));
        assert!(z[5] > z[0] && z[5] > 0.0 && z[0] < 0.0);
    }

    #[test]
    fn gi_star_edge_cases() {
        let nan_all = |v: Vec<f64>| v.iter().all(|x| x.is_nan());
        assert!(gi_star(&[], &[], Within(1.0)).is_empty());
        assert!(nan_all(gi_star(&[(0.0, 0.0)], &[1.0], Within(1.0))));
        // All equal y (s² = 0) and Σy = 0.
        assert!(nan_all(gi_star(&TOY_POINTS, &[3.0; 6], Within(15.0))));
        assert!(nan_all(gi_star(&TOY_POINTS, &[0.0; 6], Within(15.0))));
        // Negative / non-finite y, bad threshold, bad coordinates.
        let mut y = TOY_Y;
        y[2] = -1.0;
        assert!(nan_all(gi_star(&TOY_POINTS, &y, Within(15.0))));
        y[2] = f64::NAN;
        assert!(nan_all(gi_star(&TOY_POINTS, &y, Within(15.0))));
        assert!(nan_all(gi_star(&TOY_POINTS, &TOY_Y, Within(-1.0))));
        assert!(nan_all(gi_star(&TOY_POINTS, &TOY_Y, Within(f64::NAN))));
        let mut pts = TOY_POINTS;
        pts[0].0 = f64::INFINITY;
        assert!(nan_all(gi_star(&pts, &TOY_Y, Within(15.0))));
        // Band covering every point: W_i = n, zero variance.
        assert!(nan_all(gi_star(&TOY_POINTS, &TOY_Y, Within(1e6))));
        // Threshold 0: only the point itself (and exact duplicates).
        let z = gi_star(&TOY_POINTS, &TOY_Y, Within(0.0));
        assert!(z.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn gi_star_band_is_inclusive() {
        // (15,20)-(30,20) are exactly 15 apart: neighbours at threshold 15
        // but not at 14.999 (z for point 3 changes).
        let z15 = gi_star(&TOY_POINTS, &TOY_Y, Within(15.0));
        let z14 = gi_star(&TOY_POINTS, &TOY_Y, Within(14.999));
        assert!((z15[3] - z14[3]).abs() > 1e-3);
    }

    #[test]
    #[should_panic(expected = "same length")]
    fn gi_star_length_mismatch_panics() {
        gi_star(&TOY_POINTS, &[1.0, 2.0], Within(15.0));
    }

    // ----- Gi* with the k nearest neighbours -----

    /// esda 2.9 `G_Local(y, KNN(points, k=3), transform='B', star=True).Zs` on the toy case.
    const ESDA_KNN3_Z: [f64; 6] = [
        -0.28917762,
        -0.28917762,
        0.86753285,
        -0.28917762,
        0.86753285,
        1.59047689,
    ];

    #[test]
    fn knn_lists_break_ties_by_row_order() {
        // libpysal's KNN(points, k=3) on the toy case gives these lists except for row 5,
        // whose third neighbour is tied: (20,10) and (40,10) are both √500 away. libpysal's
        // KD-tree took (40,10), row 2; the row-order rule takes the earlier row, 1.
        let lists = neighbour_lists(&TOY_POINTS, Nearest(3)).unwrap();
        assert_eq!(
            lists,
            vec![
                vec![1, 3, 4],
                vec![0, 3, 4],
                vec![1, 4, 5],
                vec![0, 1, 4],
                vec![1, 2, 5],
                vec![1, 3, 4],
            ]
        );
        // Four points at distance 1 around the origin, listed in the order E, N, W, S:
        // the two nearest of the centre are the two earliest rows.
        let square = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)];
        assert_eq!(neighbour_lists(&square, Nearest(2)).unwrap()[0], vec![1, 2]);
        let reversed = [(0.0, 0.0), (0.0, -1.0), (-1.0, 0.0), (0.0, 1.0), (1.0, 0.0)];
        assert_eq!(
            neighbour_lists(&reversed, Nearest(2)).unwrap()[0],
            vec![1, 2]
        );
        // k beyond n − 1 takes everyone; k = 0, a bad distance or coordinate: no lists.
        assert_eq!(
            neighbour_lists(&TOY_POINTS, Nearest(10)).unwrap()[0],
            vec![1, 2, 3, 4, 5]
        );
        assert!(neighbour_lists(&TOY_POINTS, Nearest(0)).is_none());
        assert!(neighbour_lists(&TOY_POINTS, Within(-1.0)).is_none());
        assert!(neighbour_lists(&[(0.0, f64::NAN), (1.0, 1.0)], Nearest(1)).is_none());
    }

    #[test]
    fn gi_star_knn_matches_esda_reference() {
        // Rows 1 and 2 swapped: the row-order rule then picks (40,10) for row 5's tie, as
        // esda's KD-tree did, and all six esda values are reproduced.
        let order = [0, 2, 1, 3, 4, 5];
        let points: Vec<_> = order.iter().map(|&i| TOY_POINTS[i]).collect();
        let y: Vec<_> = order.iter().map(|&i| TOY_Y[i]).collect();
        let z = gi_star(&points, &y, Nearest(3));
        for (row, &i) in order.iter().enumerate() {
            assert_close(z[row], ESDA_KNN3_Z[i], 1e-6);
        }
        // In the original order, the five rows without a tie match esda's values; row 5
        // takes (20,10) = 3 in place of 3.2, which esda gives as 1.51818248 when the same
        // neighbours are chosen (its KNN on the swapped rows).
        let z = gi_star(&TOY_POINTS, &TOY_Y, Nearest(3));
        for i in 0..5 {
            assert_close(z[i], ESDA_KNN3_Z[i], 1e-6);
        }
        assert_close(z[5], 1.51818248, 1e-6);
        // By hand for row 5: W = 4, Σ = 7 + 8 + 5 + 3 = 23, Σy = 28.2, s² = 28.7/6,
        // z = (23/28.2 − 4/6) / √(4·2/5 · s²/(36·4.7²)).
        let s2: f64 = 28.7 / 6.0;
        let by_hand = (23.0 / 28.2 - 4.0 / 6.0) / (1.6 * s2 / (36.0 * 4.7 * 4.7)).sqrt();
        assert_close(z[5], by_hand, 1e-12);
    }

    #[test]
    fn gi_star_knn_of_everyone_is_undefined() {
        // k = n − 1: every neighbourhood is the whole area, W = n, zero variance.
        assert!(
            gi_star(&TOY_POINTS, &TOY_Y, Nearest(5))
                .iter()
                .all(|z| z.is_nan())
        );
        assert!(
            gi_star(&TOY_POINTS, &TOY_Y, Nearest(0))
                .iter()
                .all(|z| z.is_nan())
        );
    }

    /// The exact folded conditional-permutation p-value of each row (the limit of p_sim as
    /// the permutations grow), by enumerating every choice of its neighbours' values.
    fn exact_p(points: &[(f64, f64)], y: &[f64], neighbours: Neighbours) -> Vec<f64> {
        fn choose(items: &[usize], k: usize, out: &mut Vec<Vec<usize>>, current: &mut Vec<usize>) {
            if current.len() == k {
                out.push(current.clone());
                return;
            }
            for (i, &item) in items.iter().enumerate() {
                current.push(item);
                choose(&items[i + 1..], k, out, current);
                current.pop();
            }
        }
        let lists = neighbour_lists(points, neighbours).unwrap();
        lists
            .iter()
            .enumerate()
            .map(|(i, list)| {
                let observed: f64 = list.iter().map(|&j| y[j]).sum();
                let others: Vec<usize> = (0..y.len()).filter(|&j| j != i).collect();
                let mut subsets = Vec::new();
                choose(&others, list.len(), &mut subsets, &mut Vec::new());
                let share = |keep: &dyn Fn(f64) -> bool| {
                    subsets
                        .iter()
                        .filter(|s| keep(s.iter().map(|&j| y[j]).sum::<f64>()))
                        .count() as f64
                        / subsets.len() as f64
                };
                let at_least = share(&|sum| sum >= observed - 1e-12);
                let at_most = share(&|sum| sum <= observed + 1e-12);
                at_least.min(at_most)
            })
            .collect()
    }

    /// The conditional permutation p-values as first written: the shuffle over row numbers,
    /// reading each drawn row's value from `y`. Kept to pin the draws of the faster code.
    fn p_sim_by_row_numbers(
        points: &[(f64, f64)],
        y: &[f64],
        neighbours: Neighbours,
        permutations: usize,
        seed: u64,
    ) -> Vec<f64> {
        use rand::SeedableRng;
        let n = y.len();
        let (lists, sum_y, _, _) = gi_inputs(points, y, neighbours).unwrap();
        let tolerance = 1e-12 * sum_y;
        let mut others: Vec<usize> = (0..n - 1).collect();
        let mut swaps = Vec::new();
        lists
            .iter()
            .enumerate()
            .map(|(i, list)| {
                let k = list.len();
                if k == 0 || k + 1 >= n {
                    return f64::NAN;
                }
                let observed: f64 = list.iter().map(|&j| y[j]).sum();
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(i as u64);
                let (mut larger, mut smaller) = (0usize, 0usize);
                for _ in 0..permutations {
                    let mut sum = 0.0;
                    swaps.clear();
                    for t in 0..k {
                        let r = t + below(&mut rng, (n - 1 - t) as u64) as usize;
                        others.swap(t, r);
                        swaps.push(r);
                        let v = others[t];
                        sum += y[if v >= i { v + 1 } else { v }];
                    }
                    for (t, &r) in swaps.iter().enumerate().rev() {
                        others.swap(t, r);
                    }
                    if sum >= observed - tolerance {
                        larger += 1;
                    }
                    if sum <= observed + tolerance {
                        smaller += 1;
                    }
                }
                (larger.min(smaller) + 1) as f64 / (permutations + 1) as f64
            })
            .collect()
    }

    #[test]
    fn p_sim_draws_are_those_of_the_shuffle_over_row_numbers() {
        // 3,000 points, so that rayon splits the rows among workers and each worker's
        // values are both updated in order and rebuilt after a jump.
        let n = 3_000;
        let pts: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                (
                    ((i * 37) % 101) as f64,
                    ((i * 53) % 89) as f64 + i as f64 / n as f64,
                )
            })
            .collect();
        // Counts (drawn as integers); large counts, whose Σy (9·10¹²) makes the tolerance 9,
        // so that draws within 9 of the observed sum tie it (drawn as integers, the bounds
        // rounded inwards); and values with fractions (drawn as they are).
        let counts: Vec<f64> = (0..n).map(|i| ((i * 7919) % 23) as f64).collect();
        let large: Vec<f64> = counts.iter().map(|v| 3e9 + v).collect();
        let fractions: Vec<f64> = counts.iter().map(|v| v * 0.1).collect();
        for y in [counts, large, fractions] {
            let fast = gi_star_p_sim(&pts, &y, Nearest(8), 199, 7);
            let reference = p_sim_by_row_numbers(&pts, &y, Nearest(8), 199, 7);
            assert_eq!(fast.len(), n);
            for (i, (a, b)) in fast.iter().zip(&reference).enumerate() {
                assert_eq!(a.to_bits(), b.to_bits(), "row {i}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn p_sim_converges_to_the_exact_permutation_p_value() {
        // With k = 3 of 5 other values there are 10 equally likely neighbourhoods, one of
        // them the observed; p_sim with 99,999 draws must be within 4 standard errors of the
        // exact min(P(sum ≥ observed), P(sum ≤ observed)).
        //
        // Against esda: rows 0, 2, 4 and 5 are in the upper tail or at the middle, where the
        // rules agree. Rows 1 and 3 are in the lower tail, where esda's fold counts only sums
        // strictly below the observed, so its limits there are 0.1 smaller: exact 0.5, 0.4,
        // 0.2, 0.3, 0.4, 0.1 on its neighbour lists (row 5's tie broken the other way), and
        // esda 2.9's own p_sim with 99,999 permutations gives 0.49966, 0.40074, 0.20119,
        // 0.30096, 0.40044, 0.10073.
        let permutations = 99_999;
        let p = gi_star_p_sim(&TOY_POINTS, &TOY_Y, Nearest(3), permutations, 12345);
        let exact = exact_p(&TOY_POINTS, &TOY_Y, Nearest(3));
        assert_eq!(exact, [0.5, 0.5, 0.2, 0.4, 0.4, 0.2]);
        for (got, want) in p.iter().zip(&exact) {
            let se = (want * (1.0 - want) / permutations as f64).sqrt();
            assert!((got - want).abs() < 4.0 * se + 1e-9, "{got} vs {want}");
        }
        // A second case, 12 points on a grid with k = 4 (330 neighbourhoods each).
        let pts: Vec<(f64, f64)> = (0..12).map(|i| ((i % 4) as f64, (i / 4) as f64)).collect();
        let y: Vec<f64> = (0..12)
            .map(|i| ((i * 7) % 5) as f64 + (i % 3) as f64)
            .collect();
        let p = gi_star_p_sim(&pts, &y, Nearest(4), permutations, 99);
        for (got, want) in p.iter().zip(exact_p(&pts, &y, Nearest(4))) {
            let se = (want * (1.0 - want) / permutations as f64).sqrt();
            assert!((got - want).abs() < 4.0 * se + 1e-9, "{got} vs {want}");
        }
    }

    /// A centre (row 0) with eight neighbours within 1.5 and 100 other points far away,
    /// each alone; the centre's neighbours hold `near`, the others `far`.
    fn centre_case(near: f64, far: f64) -> (Vec<(f64, f64)>, Vec<f64>) {
        let mut points = vec![(0.0, 0.0)];
        let mut y = vec![5.0];
        for k in 0..8 {
            let angle = k as f64 * std::f64::consts::FRAC_PI_4;
            points.push((angle.cos(), angle.sin()));
            y.push(near);
        }
        for j in 0..100 {
            points.push((100.0 + 2.0 * j as f64, 100.0));
            y.push(far + (j % 3) as f64);
        }
        (points, y)
    }

    #[test]
    fn p_sim_known_answers() {
        // The centre's neighbours hold the eight largest values: a draw matches them only by
        // picking all eight of 108 (1 in C(108, 8) ≈ 4·10¹¹), so no draw of 999 is as large
        // and p_sim = (0 + 1)/(999 + 1) exactly.
        let (points, y) = centre_case(1000.0, 1.0);
        let z = gi_star(&points, &y, Within(1.5));
        let p = gi_star_p_sim(&points, &y, Within(1.5), 999, 1);
        assert!(z[0] > 0.0);
        assert_eq!(p[0], 0.001);
        // The other tail: neighbours holding the eight smallest values (zeros). A draw is as
        // small only by picking all eight zeros, so p_sim = 0.001 again.
        let (points, y) = centre_case(0.0, 10.0);
        let z = gi_star(&points, &y, Within(1.5));
        let p = gi_star_p_sim(&points, &y, Within(1.5), 999, 1);
        assert!(z[0] < 0.0);
        assert_eq!(p[0], 0.001);
        // The far points have no neighbour within 1.5: nothing to permute, no p-value.
        assert!(p[20].is_nan());
        // p_sim never falls below 1/(permutations + 1) and is at most 1.
        let p = gi_star_p_sim(&points, &y, Nearest(8), 99, 3);
        assert!(p.iter().all(|&v| (0.01..=1.0).contains(&v)), "{p:?}");
        // Every draw ties the observed sum (all other values equal): no evidence either way,
        // p_sim = (999 + 1)/(999 + 1) = 1, where esda's fold would give 0.001.
        let line: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 0.0)).collect();
        let mut y = vec![2.0; 10];
        y[0] = 9.0;
        let p = gi_star_p_sim(&line, &y, Nearest(2), 999, 5);
        assert_eq!(p[0], 1.0);
        // Mostly zeros: a zero neighbourhood ties most draws, so it is no cold spot (esda's
        // fold would count only the draws below zero, none, and give 0.001).
        let mut y = vec![0.0; 10];
        y[9] = 4.0;
        let p = gi_star_p_sim(&line, &y, Nearest(2), 999, 5);
        let exact = exact_p(&line, &y, Nearest(2));
        assert!(
            p[0] > 0.5 && (p[0] - exact[0]).abs() < 0.05,
            "{} vs {}",
            p[0],
            exact[0]
        );
    }

    #[test]
    fn p_sim_is_seeded_and_deterministic() {
        let mut seed = 7;
        let pts: Vec<(f64, f64)> = (0..300)
            .map(|_| (lcg(&mut seed) * 1000.0, lcg(&mut seed) * 1000.0))
            .collect();
        let y: Vec<f64> = (0..300).map(|_| (lcg(&mut seed) * 30.0).floor()).collect();
        let a = gi_star_p_sim(&pts, &y, Nearest(8), 999, 42);
        let b = gi_star_p_sim(&pts, &y, Nearest(8), 999, 42);
        let bits = |v: &[f64]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b));
        // Rows run in parallel: one worker and several give the same p-values, bit for bit.
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let c = pool.install(|| gi_star_p_sim(&pts, &y, Nearest(8), 999, 42));
            assert_eq!(bits(&a), bits(&c), "{threads} thread(s)");
        }
        let other = gi_star_p_sim(&pts, &y, Nearest(8), 999, 43);
        assert_ne!(a, other, "another seed, other draws");
        assert!(a.iter().all(|v| v.is_finite()));
        // Draws are uniform: 10,000 draws below 7 fall within 4 standard errors of 1/7 each.
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut counts = [0usize; 7];
        for _ in 0..70_000 {
            counts[below(&mut rng, 7) as usize] += 1;
        }
        let se = (70_000.0_f64 * (1.0 / 7.0) * (6.0 / 7.0)).sqrt();
        assert!(
            counts
                .iter()
                .all(|&c| (c as f64 - 10_000.0).abs() < 4.0 * se),
            "{counts:?}"
        );
    }

    #[test]
    fn p_sim_undefined_cases() {
        let nan_all = |v: Vec<f64>| v.iter().all(|x| x.is_nan());
        assert!(nan_all(gi_star_p_sim(
            &TOY_POINTS,
            &TOY_Y,
            Nearest(3),
            0,
            1
        )));
        assert!(nan_all(gi_star_p_sim(
            &TOY_POINTS,
            &[3.0; 6],
            Nearest(3),
            99,
            1
        )));
        assert!(nan_all(gi_star_p_sim(
            &TOY_POINTS,
            &TOY_Y,
            Nearest(5),
            99,
            1
        )));
        assert!(gi_star_p_sim(&[], &[], Nearest(3), 99, 1).is_empty());
    }

    #[test]
    fn p_sim_scales_to_lsoa_count() {
        let side = 187; // 187² = 34,969 LSOA-like points on a 1 km grid
        let pts: Vec<(f64, f64)> = (0..side * side)
            .map(|i| ((i % side) as f64 * 1000.0, (i / side) as f64 * 1000.0))
            .collect();
        let y: Vec<f64> = (0..pts.len()).map(|i| ((i * 7919) % 13) as f64).collect();
        let z = gi_star(&pts, &y, Nearest(8));
        assert!(z.iter().all(|v| v.is_finite()));
        let p = gi_star_p_sim(&pts, &y, Nearest(8), 19, 1);
        assert!(p.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn clusters_join_hot_neighbours_either_way() {
        // Points on a line at 0, 1, 3, 10, 11, 20. Nearest(1): 0↔1, 3→1, 10↔11, 20→11.
        // Row 2's nearest is row 1 but not the other way round: still one cluster.
        let points = [
            (0.0, 0.0),
            (1.0, 0.0),
            (3.0, 0.0),
            (10.0, 0.0),
            (11.0, 0.0),
            (20.0, 0.0),
        ];
        let hot = [false, true, true, true, true, false];
        let y = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        // {1, 2}: Σy = 5; {3, 4}: Σy = 9, so {3, 4} is cluster 1.
        assert_eq!(
            gi_star_clusters(&points, &hot, &y, Nearest(1)),
            vec![None, Some(2), Some(2), Some(1), Some(1), None]
        );
        // A cold point between two hot ones does not join them.
        let hot = [true, false, true, false, false, false];
        assert_eq!(
            gi_star_clusters(&points, &hot, &y, Nearest(1)),
            vec![Some(2), None, Some(1), None, None, None]
        );
        // Ties in Σy: more points first, then the earlier row.
        let y = [1.0; 6];
        let hot = [true, true, false, true, false, true];
        assert_eq!(
            gi_star_clusters(&points, &hot, &y, Within(1.0)),
            vec![Some(1), Some(1), None, Some(2), None, Some(3)]
        );
        // The distance band joins what lies within it; bad neighbours: no clusters.
        assert_eq!(
            gi_star_clusters(&points, &[true; 6], &y, Within(2.0)),
            vec![Some(1), Some(1), Some(1), Some(2), Some(2), Some(3)]
        );
        assert_eq!(
            gi_star_clusters(&points, &[true; 6], &y, Within(f64::NAN)),
            vec![None; 6]
        );
    }

    // ----- SPC -----
}
