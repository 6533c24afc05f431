//! The slope and relative indices of inequality (SII, RII) of a rate across deprivation
//! quantiles, as PHEindicatormethods' `phe_sii` computes them for rates (`value_type = 1`).
//!
//! Each quantile, ordered from most to least deprived, gets a relative rank `b`: the midpoint
//! of its range in the cumulative distribution of the population (a quantile holding the first
//! 12% of residents has `b = 0.06`). With `a` the quantile's share of the population and `y` its
//! rate, the regression `√a·y = β₀·√a + β₁·b·√a` (no intercept: weighted least squares with
//! weights `a`) gives the fitted rate at the most deprived end, `β₀`, and the slope `β₁`. PHE's
//! SII is `multiplier × β₁` and its RII `(β₀ + β₁) / β₀`, inverted when the multiplier is
//! negative. vrn-sna uses multiplier −1, so that a positive SII is the gap from the least to
//! the most deprived (rate at the most deprived end minus the least) and the RII the ratio
//! most / least deprived: "N times as likely".
//!
//! One deliberate difference from `phe_sii`: the RII is given only when the fitted rate is
//! positive at both ends of the line. A steep gradient can carry a straight line below zero at
//! the least deprived end, and a ratio to a negative rate means nothing; the RII (and its
//! limits) is then absent and the SII, a difference, still stands. The limits of an RII that is
//! given are taken from the draws whose fitted ends are both positive.
//!
//! Confidence limits are PHE's simulation: each quantile's rate is drawn, on the log scale,
//! from a normal distribution with its standard error `(ln upper − ln lower) / (2 × 1.96)`,
//! 100,000 times; the regression is refitted on each draw and the limits are the draws at
//! positions `round(n × 0.025)` and `round(n × 0.975)` of the sorted results. The draws come
//! from a seeded generator, so the limits are the same on every run.
//!
//! References: Low A, Low A. Measuring the gap: quantifying and comparing local health
//! inequalities. J Public Health 2004;26:388–395. PHEindicatormethods `phe_sii` (UKHSA).

use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

/// Draws for the confidence limits, as `phe_sii`'s default.
pub const REPETITIONS: usize = 100_000;

/// The seed of the draws: any fixed value gives limits that never change between runs.
pub const SEED: u64 = 20_040_388;

/// The multiplier vrn-sna uses: a positive SII means higher rates in the more deprived.
pub const MULTIPLIER: f64 = -1.0;

/// One deprivation quantile: its residents and rate with 95% limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantile {
    /// Residents (the denominator).
    pub population: f64,
    /// The rate.
    pub value: f64,
    /// Lower 95% limit of the rate.
    pub lower: f64,
    /// Upper 95% limit of the rate.
    pub upper: f64,
}

/// The indices with their 95% limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Indices {
    /// Slope index of inequality.
    pub sii: f64,
    /// Lower 95% limit of the SII.
    pub sii_lower: f64,
    /// Upper 95% limit of the SII.
    pub sii_upper: f64,
    /// Relative index of inequality.
    pub rii: f64,
    /// Lower 95% limit of the RII.
    pub rii_lower: f64,
    /// Upper 95% limit of the RII.
    pub rii_upper: f64,
}

/// The regression's two parameters for rates `values` with population shares `a` and ranks `b`.
fn fit(a: &[f64], b: &[f64], values: &[f64]) -> (f64, f64) {
    // Normal equations of y√a on (√a, b√a): [Σa Σab; Σab Σab²] β = [Σay; Σaby].
    let (mut saa, mut sab, mut sbb, mut sy, mut sby) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for ((a, b), y) in a.iter().zip(b).zip(values) {
        saa += a;
        sab += a * b;
        sbb += a * b * b;
        sy += a * y;
        sby += a * b * y;
    }
    let det = saa * sbb - sab * sab;
    let beta0 = (sbb * sy - sab * sby) / det;
    let beta1 = (saa * sby - sab * sy) / det;
    (beta0, beta1)
}

/// The SII and RII of `quantiles` (ordered from most to least deprived) with `multiplier`,
/// their limits from `repetitions` seeded draws. `None` with fewer than 5 quantiles (as
/// `phe_sii`), a population that is not positive, or a rate or limit that is not positive
/// (the log-scale standard error needs both limits above zero).
pub fn indices(
    quantiles: &[Quantile],
    multiplier: f64,
    repetitions: usize,
    seed: u64,
) -> Option<Indices> {
    if quantiles.len() < 5
        || repetitions == 0
        || quantiles
            .iter()
            .any(|q| !(q.population > 0.0 && q.value > 0.0 && q.lower > 0.0 && q.upper >= q.lower))
    {
        return None;
    }
    let total: f64 = quantiles.iter().map(|q| q.population).sum();
    let a: Vec<f64> = quantiles.iter().map(|q| q.population / total).collect();
    let mut cumulative = 0.0;
    let b: Vec<f64> = a
        .iter()
        .map(|share| {
            let rank = cumulative + share / 2.0;
            cumulative += share;
            rank
        })
        .collect();
    let values: Vec<f64> = quantiles.iter().map(|q| q.value).collect();
    let (beta0, beta1) = fit(&a, &b, &values);
    let rii_of = |beta0: f64, beta1: f64| {
        if !(beta0 > 0.0 && beta0 + beta1 > 0.0) {
            return f64::NAN;
        }
        let rii = (beta0 + beta1) / beta0;
        if multiplier < 0.0 { 1.0 / rii } else { rii }
    };
    let z = 1.959_963_984_540_054;
    let normals: Vec<Normal<f64>> = quantiles
        .iter()
        .map(|q| Normal::new(q.value.ln(), (q.upper.ln() - q.lower.ln()) / z / 2.0))
        .collect::<Result<_, _>>()
        .ok()?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut siis = Vec::with_capacity(repetitions);
    let mut riis = Vec::with_capacity(repetitions);
    let mut drawn = vec![0.0; quantiles.len()];
    for _ in 0..repetitions {
        for (value, normal) in drawn.iter_mut().zip(&normals) {
            *value = normal.sample(&mut rng).exp();
        }
        let (b0, b1) = fit(&a, &b, &drawn);
        siis.push(multiplier * b1);
        riis.push(rii_of(b0, b1));
    }
    siis.sort_by(f64::total_cmp);
    riis.retain(|r| r.is_finite());
    riis.sort_by(f64::total_cmp);
    // PHE's positions (1-based): round(n × 0.025) and round(n × 0.975).
    let limits = |sorted: &[f64]| {
        let position = |p: f64| {
            let one_based = (sorted.len() as f64 * p).round() as usize;
            one_based.clamp(1, sorted.len()) - 1
        };
        if sorted.is_empty() {
            (f64::NAN, f64::NAN)
        } else {
            (sorted[position(0.025)], sorted[position(0.975)])
        }
    };
    let (sii_lower, sii_upper) = limits(&siis);
    let rii = rii_of(beta0, beta1);
    let (rii_lower, rii_upper) = if rii.is_finite() {
        limits(&riis)
    } else {
        (f64::NAN, f64::NAN)
    };
    Some(Indices {
        sii: multiplier * beta1,
        sii_lower,
        sii_upper,
        rii,
        rii_lower,
        rii_upper,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quantiles(pairs: &[(f64, f64)]) -> Vec<Quantile> {
        pairs
            .iter()
            .map(|&(population, value)| Quantile {
                population,
                value,
                lower: value * 0.9,
                upper: value * 1.1,
            })
            .collect()
    }

    /// Equal populations (a = 0.2, b = 0.1, 0.3, …, 0.9) and rates falling exactly along
    /// 11 − 10b: β₀ = 11, β₁ = −10. With multiplier −1 the SII is 10 and the RII
    /// 1 / ((11 − 10) / 11) = 11; with multiplier 1, −10 and 1/11.
    #[test]
    fn a_straight_line_of_rates() {
        let q = quantiles(&[
            (100.0, 10.0),
            (100.0, 8.0),
            (100.0, 6.0),
            (100.0, 4.0),
            (100.0, 2.0),
        ]);
        let i = indices(&q, -1.0, 1000, SEED).unwrap();
        assert!((i.sii - 10.0).abs() < 1e-12, "{i:?}");
        assert!((i.rii - 11.0).abs() < 1e-12);
        let i = indices(&q, 1.0, 1000, SEED).unwrap();
        assert!((i.sii + 10.0).abs() < 1e-12);
        assert!((i.rii - 1.0 / 11.0).abs() < 1e-12);
    }

    /// Unequal populations weigh the fit. Populations 1, 1, 1, 1, 4 give a = 1/8 (four times)
    /// and 1/2, ranks b = 1/16, 3/16, 5/16, 7/16, 3/4; rates 5, 3, 4, 2, 1. Weighted means
    /// b̄ = 29/64 and ȳ = 15/8; the weighted slope Σa(b − b̄)(y − ȳ) / Σa(b − b̄)² = −192/37 and
    /// the intercept ȳ − slope·b̄ = 717/148. So SII (multiplier 1) = −192/37. The fitted rate at
    /// b = 1 is 717/148 − 768/148 = −51/148, below zero, so there is no RII. With rates 9, 8,
    /// 8, 7, 6 and the same populations, ȳ = 55/8 and the slope is −152/37, the intercept
    /// 335/37 and the fitted end 183/37, both positive: with multiplier −1 the SII is 152/37 and
    /// the RII 335/183.
    #[test]
    fn population_shares_weigh_the_fit() {
        let q = quantiles(&[(1.0, 5.0), (1.0, 3.0), (1.0, 4.0), (1.0, 2.0), (4.0, 1.0)]);
        let i = indices(&q, 1.0, 1000, SEED).unwrap();
        assert!((i.sii - -192.0 / 37.0).abs() < 1e-12, "{i:?}");
        assert!(
            i.rii.is_nan() && i.rii_lower.is_nan() && i.rii_upper.is_nan(),
            "{i:?}"
        );
        assert!(i.sii_lower.is_finite() && i.sii_upper.is_finite());
        let q = quantiles(&[(1.0, 9.0), (1.0, 8.0), (1.0, 8.0), (1.0, 7.0), (4.0, 6.0)]);
        let i = indices(&q, -1.0, 1000, SEED).unwrap();
        assert!((i.sii - 152.0 / 37.0).abs() < 1e-12, "{i:?}");
        assert!((i.rii - 335.0 / 183.0).abs() < 1e-12, "{i:?}");
        assert!(i.rii_lower < i.rii && i.rii < i.rii_upper);
    }

    #[test]
    fn limits_are_seeded_ordered_and_narrow_with_precision() {
        let rates = [
            (100.0, 10.0),
            (100.0, 8.0),
            (100.0, 6.0),
            (100.0, 4.0),
            (100.0, 2.0),
        ];
        let q = quantiles(&rates);
        let first = indices(&q, MULTIPLIER, 10_000, SEED).unwrap();
        assert_eq!(
            first,
            indices(&q, MULTIPLIER, 10_000, SEED).unwrap(),
            "deterministic"
        );
        assert!(
            first.sii_lower < first.sii && first.sii < first.sii_upper,
            "{first:?}"
        );
        assert!(first.rii_lower < first.rii && first.rii < first.rii_upper);
        // Limits a tenth as wide give intervals about a tenth as wide.
        let precise: Vec<Quantile> = q
            .iter()
            .map(|q| Quantile {
                lower: q.value * 0.99,
                upper: q.value * 1.01,
                ..*q
            })
            .collect();
        let narrow = indices(&precise, MULTIPLIER, 10_000, SEED).unwrap();
        let width = |i: &Indices| i.sii_upper - i.sii_lower;
        assert!(width(&narrow) < width(&first) / 5.0, "{narrow:?} {first:?}");
        // Exact limits: every draw is the point estimate.
        let exact: Vec<Quantile> = q
            .iter()
            .map(|q| Quantile {
                lower: q.value,
                upper: q.value,
                ..*q
            })
            .collect();
        let e = indices(&exact, MULTIPLIER, 1000, SEED).unwrap();
        assert!((e.sii_lower - e.sii).abs() < 1e-12 && (e.sii_upper - e.sii).abs() < 1e-12);
    }

    #[test]
    fn unusable_quantiles_give_no_indices() {
        let five = [
            (100.0, 10.0),
            (100.0, 8.0),
            (100.0, 6.0),
            (100.0, 4.0),
            (100.0, 2.0),
        ];
        assert!(
            indices(&quantiles(&five[..4]), MULTIPLIER, 100, SEED).is_none(),
            "four"
        );
        let mut zero = quantiles(&five);
        zero[2].value = 0.0;
        zero[2].lower = 0.0;
        assert!(
            indices(&zero, MULTIPLIER, 100, SEED).is_none(),
            "a zero rate"
        );
        let mut empty = quantiles(&five);
        empty[0].population = 0.0;
        assert!(
            indices(&empty, MULTIPLIER, 100, SEED).is_none(),
            "no residents"
        );
    }
}
