//! SQL functions over the statistics in [`crate::stats`], registered in every session so that
//! the assessment's jobs and partners' own queries share one implementation.
//!
//! | SQL | kind | meaning |
//! | --- | --- | --- |
//! | `byar_lower(x)`, `byar_upper(x)` | scalar | Byar's 95% limits of a Poisson count |
//! | `rate_lower(x, n, per)`, `rate_upper(x, n, per)` | scalar | 95% limits of x/n×per (exact Poisson below 10, Byar's from 10) |
//! | `wilson_lower(x, n)`, `wilson_upper(x, n)` | scalar | Wilson score 95% limits of the proportion x/n |
//! | `ratio_lower(a, b, ratio)`, `ratio_upper(a, b, ratio)` | scalar | exp(ln ratio ∓ z√(1/a + 1/b)), limits of a ratio of two counts or rates |
//! | `normal_p(z)` | scalar | two-sided p-value of a standard normal z |
//! | `seasonal_dispersion(position, previous, current)` | aggregate | quasi-Poisson dispersion φ = max(1, X²/df) of two years' monthly counts (one row per month of the year: its `position` and the two counts) around a fit with a year and a month-of-year effect; null with fewer than two months or an empty year |
//! | `quasi_ratio_lower(a, b, phi)`, `quasi_ratio_upper(a, b, phi)` | scalar | exp(ln(a/b) ∓ z√φ√(1/a + 1/b)), 95% limits of the ratio of two counts with over-dispersion φ |
//! | `quasi_ratio_p(a, b, phi)` | scalar | two-sided p-value of ln(a/b) / (√φ√(1/a + 1/b)) |
//! | `dsr(x, n, w)`, `dsr_lower(x, n, w)`, `dsr_upper(x, n, w)` | aggregate | directly standardised rate per 100,000 with Dobson limits; null when Σx < 10 |
//! | `sii(q, n, rate, lower, upper)`, `sii_lower(...)`, `sii_upper(...)`, `rii(...)`, `rii_lower(...)`, `rii_upper(...)` | aggregate | slope and relative index of inequality of a rate over deprivation quantiles `q` (1 = most deprived) with `n` residents, as PHE's `phe_sii` with multiplier −1 (positive: higher in the more deprived); limits by 100,000 seeded draws; null with fewer than 5 quantiles or a zero rate |
//! | `gi_star_z(y, easting, northing, neighbours, distance) OVER (...)` | window | Getis–Ord Gi* z-score of each row among the rows of its window partition, with binary weights on the row itself and its `neighbours` nearest rows by (easting, northing) (ties in distance: earlier rows of the window's order first), or, when `distance` is not null, every row within `distance`; `gi_star_z(y, easting, northing, distance)` is the distance band |
//! | `gi_star_p_sim(y, easting, northing, neighbours, distance, permutations, seed) OVER (...)` | window | conditional-permutation pseudo p-value of each row's Gi* (as esda's `p_sim`: `permutations` draws seeded by `seed`, (min(larger, smaller) + 1)/(permutations + 1), ties counted on both sides); null for a row with no neighbours |
//! | `gi_star_cluster(hot, y, easting, northing, neighbours, distance) OVER (...)` | window | number of the cluster of hot rows (`hot` true) that each hot row belongs to: hot rows are joined when either is among the other's neighbours; 1 = the cluster with the largest Σ`y`; null for rows not hot |
//! | `bh_significant(p, alpha) OVER (...)` | window | Benjamini–Hochberg FDR decision for each row's p-value within the partition |
//!
//! Null arguments give a null result; so do results that are not finite (for example a rate
//! over a zero population).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Float64Array, Int64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{
    AccumulatorArgs, PartitionEvaluatorArgs, WindowUDFFieldArgs,
};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, ColumnarValue, PartitionEvaluator, ScalarUDF, Signature, Volatility,
    WindowUDF, WindowUDFImpl, create_udaf, create_udf,
};
use datafusion::prelude::SessionContext;

use crate::stats;

/// The statistics functions, by kind: what [`register`] puts in a session, and what a
/// cluster's scheduler and executors (`crate::engine::cluster`) need in their registries to
/// plan and run the same SQL.
#[derive(Debug, Default)]
pub struct Functions {
    /// Scalar functions.
    pub scalar: Vec<ScalarUDF>,
    /// Aggregate functions.
    pub aggregate: Vec<AggregateUDF>,
    /// Window functions.
    pub window: Vec<WindowUDF>,
}

/// Registers every statistics function in `ctx`.
pub fn register(ctx: &SessionContext) {
    let functions = all();
    for f in functions.scalar {
        ctx.register_udf(f);
    }
    for f in functions.aggregate {
        ctx.register_udaf(f);
    }
    for f in functions.window {
        ctx.register_udwf(f);
    }
}

/// Every statistics function.
pub fn all() -> Functions {
    let functions = &mut Functions::default();
    scalar(functions, "byar_lower", |a| stats::byar_lower(a[0]), 1);
    scalar(functions, "byar_upper", |a| stats::byar_upper(a[0]), 1);
    scalar(
        functions,
        "rate_lower",
        |a| stats::rate_lower(a[0], a[1], a[2]),
        3,
    );
    scalar(
        functions,
        "rate_upper",
        |a| stats::rate_upper(a[0], a[1], a[2]),
        3,
    );
    scalar(
        functions,
        "wilson_lower",
        |a| stats::wilson_lower(a[0], a[1]),
        2,
    );
    scalar(
        functions,
        "wilson_upper",
        |a| stats::wilson_upper(a[0], a[1]),
        2,
    );
    scalar(
        functions,
        "ratio_lower",
        |a| stats::rate_ratio_limits(a[0], a[1], a[2]).0,
        3,
    );
    scalar(
        functions,
        "ratio_upper",
        |a| stats::rate_ratio_limits(a[0], a[1], a[2]).1,
        3,
    );
    scalar(
        functions,
        "normal_p",
        |a| stats::normal_two_sided_p(a[0]),
        1,
    );
    scalar(
        functions,
        "quasi_ratio_lower",
        |a| stats::quasi_ratio_limits(a[0], a[1], a[2]).0,
        3,
    );
    scalar(
        functions,
        "quasi_ratio_upper",
        |a| stats::quasi_ratio_limits(a[0], a[1], a[2]).1,
        3,
    );
    scalar(
        functions,
        "quasi_ratio_p",
        |a| stats::quasi_ratio_p(a[0], a[1], a[2]),
        3,
    );
    terms(functions, "seasonal_dispersion", 3, dispersion_of);
    terms(functions, "dsr", 3, |t| dsr_of(t).value());
    terms(functions, "dsr_lower", 3, |t| dsr_of(t).lower());
    terms(functions, "dsr_upper", 3, |t| dsr_of(t).upper());
    terms(functions, "sii", 5, |t| inequality_of(t).map(|i| i.sii));
    terms(functions, "sii_lower", 5, |t| {
        inequality_of(t).map(|i| i.sii_lower)
    });
    terms(functions, "sii_upper", 5, |t| {
        inequality_of(t).map(|i| i.sii_upper)
    });
    terms(functions, "rii", 5, |t| inequality_of(t).map(|i| i.rii));
    terms(functions, "rii_lower", 5, |t| {
        inequality_of(t).map(|i| i.rii_lower)
    });
    terms(functions, "rii_upper", 5, |t| {
        inequality_of(t).map(|i| i.rii_upper)
    });
    for output in [GiOutput::Z, GiOutput::PSim, GiOutput::Cluster] {
        functions.window.push(WindowUDF::from(GiStar::new(output)));
    }
    functions
        .window
        .push(WindowUDF::from(BenjaminiHochberg::new()));
    std::mem::take(functions)
}

/// Casts every argument to Float64 arrays of the batch's length.
fn float_args(args: &[ColumnarValue]) -> Result<Vec<Float64Array>> {
    ColumnarValue::values_to_arrays(args)?
        .iter()
        .map(|a| {
            let cast = cast(a, &DataType::Float64)?;
            Ok(cast
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("cast to Float64")
                .clone())
        })
        .collect()
}

fn scalar(functions: &mut Functions, name: &str, f: fn(&[f64]) -> f64, arity: usize) {
    let implementation = Arc::new(move |args: &[ColumnarValue]| {
        let is_scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = float_args(args)?;
        let rows = arrays.first().map_or(0, Array::len);
        let mut values = vec![0.0; arity];
        let result: Float64Array = (0..rows)
            .map(|row| {
                for (value, array) in values.iter_mut().zip(&arrays) {
                    if array.is_null(row) {
                        return None;
                    }
                    *value = array.value(row);
                }
                Some(f(&values)).filter(|v| v.is_finite())
            })
            .collect();
        if is_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &result, 0,
            )?))
        } else {
            Ok(ColumnarValue::Array(Arc::new(result) as ArrayRef))
        }
    });
    functions.scalar.push(create_udf(
        name,
        vec![DataType::Float64; arity],
        DataType::Float64,
        Volatility::Immutable,
        implementation,
    ));
}

/// What an aggregate computes from its rows' terms, sorted.
type Evaluate = fn(&[Vec<f64>]) -> Option<f64>;

/// The quasi-Poisson dispersion of sorted `(position, previous, current)` terms: one per month
/// of the year, in the order of `position`.
fn dispersion_of(terms: &[Vec<f64>]) -> Option<f64> {
    let previous: Vec<f64> = terms.iter().map(|t| t[1]).collect();
    let current: Vec<f64> = terms.iter().map(|t| t[2]).collect();
    Some(stats::seasonal_dispersion(&previous, &current))
}

/// The DSR accumulator over sorted `(x, n, w)` terms.
fn dsr_of(terms: &[Vec<f64>]) -> stats::DsrAccumulator {
    let mut accumulator = stats::DsrAccumulator::default();
    for t in terms {
        accumulator.add(t[0], t[1], t[2]);
    }
    accumulator
}

/// The SII and RII of sorted `(quantile, residents, rate, lower, upper)` terms. The six
/// aggregates `sii` … `rii_upper` of one group see the same terms, so the 100,000 draws are made
/// once and remembered (by the terms' bits; a few dozen groups a run).
fn inequality_of(terms: &[Vec<f64>]) -> Option<crate::stats::inequality::Indices> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Memo = Mutex<HashMap<Vec<u64>, Option<crate::stats::inequality::Indices>>>;
    static MEMO: OnceLock<Memo> = OnceLock::new();
    let key: Vec<u64> = terms.iter().flatten().map(|v| v.to_bits()).collect();
    let memo = MEMO.get_or_init(Default::default);
    if let Some(found) = memo.lock().ok().and_then(|m| m.get(&key).copied()) {
        return found;
    }
    let computed = compute_inequality(terms);
    if let Ok(mut m) = memo.lock() {
        if m.len() > 4096 {
            m.clear();
        }
        m.insert(key, computed);
    }
    computed
}

fn compute_inequality(terms: &[Vec<f64>]) -> Option<crate::stats::inequality::Indices> {
    let quantiles: Vec<crate::stats::inequality::Quantile> = terms
        .iter()
        .map(|t| crate::stats::inequality::Quantile {
            population: t[1],
            value: t[2],
            lower: t[3],
            upper: t[4],
        })
        .collect();
    crate::stats::inequality::indices(
        &quantiles,
        crate::stats::inequality::MULTIPLIER,
        crate::stats::inequality::REPETITIONS,
        crate::stats::inequality::SEED,
    )
}

/// Registers an aggregate of `arity` Float64 arguments that keeps its rows and evaluates them
/// at the end with `evaluate`.
fn terms(functions: &mut Functions, name: &str, arity: usize, evaluate: Evaluate) {
    let list = DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true)));
    functions.aggregate.push(create_udaf(
        name,
        vec![DataType::Float64; arity],
        Arc::new(DataType::Float64),
        Volatility::Immutable,
        Arc::new(move |_: AccumulatorArgs| Ok(Box::new(TermsSql::new(arity, evaluate)))),
        Arc::new(vec![list; arity]),
    ));
}

/// SQL aggregate state that keeps the rows' terms themselves and evaluates them sorted at the
/// end, so the result does not depend on the order in which partial aggregates are merged
/// (floating-point addition is not associative). The aggregates that use it (`dsr`, `sii`) run
/// over a handful of rows per group (age bands, deprivation deciles), so keeping the terms costs
/// nothing.
#[derive(Debug)]
struct TermsSql {
    terms: Vec<Vec<f64>>,
    arity: usize,
    evaluate: Evaluate,
}

impl TermsSql {
    fn new(arity: usize, evaluate: Evaluate) -> Self {
        Self {
            terms: Vec::new(),
            arity,
            evaluate,
        }
    }
}

fn float_array(array: &ArrayRef) -> Result<Float64Array> {
    Ok(cast(array, &DataType::Float64)?
        .as_any()
        .downcast_ref::<Float64Array>()
        .expect("cast to Float64")
        .clone())
}

impl Accumulator for TermsSql {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let arrays = values.iter().map(float_array).collect::<Result<Vec<_>>>()?;
        for row in 0..arrays[0].len() {
            if arrays.iter().any(|a| a.is_null(row)) {
                continue;
            }
            self.terms
                .push(arrays.iter().map(|a| a.value(row)).collect());
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let mut terms = self.terms.clone();
        terms.sort_by(|a, b| {
            a.iter()
                .zip(b)
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let value = (self.evaluate)(&terms);
        Ok(ScalarValue::Float64(value.filter(|v| v.is_finite())))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.terms.capacity() * (std::mem::size_of::<Vec<f64>>() + self.arity * 8)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok((0..self.arity)
            .map(|i| {
                let values: Vec<ScalarValue> = self
                    .terms
                    .iter()
                    .map(|t| ScalarValue::Float64(Some(t[i])))
                    .collect();
                ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Float64))
            })
            .collect())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        use arrow::array::AsArray;
        let lists: Vec<_> = states.iter().map(|s| s.as_list::<i32>()).collect();
        for row in 0..lists[0].len() {
            if lists[0].is_null(row) {
                continue;
            }
            let columns = lists
                .iter()
                .map(|l| float_array(&l.value(row)))
                .collect::<Result<Vec<_>>>()?;
            for i in 0..columns[0].len() {
                self.terms
                    .push(columns.iter().map(|c| c.value(i)).collect());
            }
        }
        Ok(())
    }
}

/// What a Getis–Ord Gi* window function computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum GiOutput {
    /// `gi_star_z`: the z-score.
    Z,
    /// `gi_star_p_sim`: the conditional-permutation pseudo p-value.
    PSim,
    /// `gi_star_cluster`: the number of the hot-spot cluster.
    Cluster,
}

/// The Getis–Ord Gi* window functions:
///
/// - `gi_star_z(y, easting, northing, neighbours, distance)` (and the older
///   `gi_star_z(y, easting, northing, distance)`, a distance band),
/// - `gi_star_p_sim(y, easting, northing, neighbours, distance, permutations, seed)`,
/// - `gi_star_cluster(hot, y, easting, northing, neighbours, distance)`.
///
/// A non-null `distance` means the distance band, else the `neighbours` nearest; each
/// setting is the first non-null value of its argument in the partition.
#[derive(Debug, PartialEq, Eq, Hash)]
struct GiStar {
    output: GiOutput,
    signature: Signature,
}

impl GiStar {
    fn new(output: GiOutput) -> Self {
        use DataType::{Boolean, Float64, Int64};
        use datafusion::logical_expr::TypeSignature::Exact;
        let signature = match output {
            GiOutput::Z => Signature::one_of(
                vec![
                    Exact(vec![Float64; 4]),
                    Exact(vec![Float64, Float64, Float64, Int64, Float64]),
                ],
                Volatility::Immutable,
            ),
            GiOutput::PSim => Signature::exact(
                vec![Float64, Float64, Float64, Int64, Float64, Int64, Int64],
                Volatility::Immutable,
            ),
            GiOutput::Cluster => Signature::exact(
                vec![Boolean, Float64, Float64, Float64, Int64, Float64],
                Volatility::Immutable,
            ),
        };
        Self { output, signature }
    }
}

impl WindowUDFImpl for GiStar {
    fn name(&self) -> &str {
        match self.output {
            GiOutput::Z => "gi_star_z",
            GiOutput::PSim => "gi_star_p_sim",
            GiOutput::Cluster => "gi_star_cluster",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn partition_evaluator(
        &self,
        _: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(GiStarEvaluator(self.output)))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        let data_type = match self.output {
            GiOutput::Cluster => DataType::Int64,
            GiOutput::Z | GiOutput::PSim => DataType::Float64,
        };
        Ok(Arc::new(Field::new(field_args.name(), data_type, true)))
    }
}

#[derive(Debug)]
struct GiStarEvaluator(GiOutput);

/// The first non-null value of a column, as f64.
fn first_value(array: &ArrayRef) -> Result<Option<f64>> {
    let array = float_array(array)?;
    Ok((0..array.len())
        .find(|&r| !array.is_null(r))
        .map(|r| array.value(r)))
}

/// A column as f64 values, null as `NaN`.
fn nan_for_null(array: &ArrayRef) -> Result<Vec<f64>> {
    let array = float_array(array)?;
    Ok((0..array.len())
        .map(|r| {
            if array.is_null(r) {
                f64::NAN
            } else {
                array.value(r)
            }
        })
        .collect())
}

/// A whole-number setting at least `min`: the first non-null value of its column (an
/// integer column, by the function's signature); `None` when absent or below `min`.
fn whole(array: &ArrayRef, min: u64) -> Result<Option<u64>> {
    let array = cast(array, &DataType::Int64)?;
    let array = array
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("cast to Int64");
    Ok((0..array.len())
        .find(|&r| !array.is_null(r))
        .and_then(|r| u64::try_from(array.value(r)).ok())
        .filter(|v| *v >= min))
}

/// The neighbours of the Gi* functions: a distance band when `distance` has a value, else
/// the `neighbours` nearest; `None` when neither is usable.
fn gi_neighbours(
    neighbours: Option<&ArrayRef>,
    distance: &ArrayRef,
) -> Result<Option<stats::Neighbours>> {
    if let Some(d) = first_value(distance)? {
        return Ok(Some(stats::Neighbours::Within(d)));
    }
    let Some(neighbours) = neighbours else {
        return Ok(None);
    };
    Ok(whole(neighbours, 1)?
        .and_then(|k| usize::try_from(k).ok())
        .map(stats::Neighbours::Nearest))
}

impl PartitionEvaluator for GiStarEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let nulls = |n: usize| -> ArrayRef {
            match self.0 {
                GiOutput::Cluster => Arc::new(Int64Array::from(vec![None; n])),
                _ => Arc::new(Float64Array::from(vec![None; n])),
            }
        };
        // gi_star_cluster's first argument is the hot-spot flag; the rest start with y.
        let (hot, rest) = match self.0 {
            GiOutput::Cluster => {
                let flags = cast(&values[0], &DataType::Boolean)?;
                let flags = flags
                    .as_any()
                    .downcast_ref::<BooleanArray>()
                    .expect("cast to Boolean")
                    .clone();
                let hot: Vec<bool> = (0..num_rows)
                    .map(|r| !flags.is_null(r) && flags.value(r))
                    .collect();
                (hot, &values[1..])
            }
            _ => (Vec::new(), values),
        };
        let y = nan_for_null(&rest[0])?;
        let easting = nan_for_null(&rest[1])?;
        let northing = nan_for_null(&rest[2])?;
        let points: Vec<(f64, f64)> = easting.into_iter().zip(northing).collect();
        let neighbours = match rest.len() {
            4 => gi_neighbours(None, &rest[3])?,
            _ => gi_neighbours(Some(&rest[3]), &rest[4])?,
        };
        let Some(neighbours) = neighbours else {
            return Ok(nulls(num_rows));
        };
        let finite = |v: Vec<f64>| -> ArrayRef {
            Arc::new(
                v.into_iter()
                    .map(|v| Some(v).filter(|v| v.is_finite()))
                    .collect::<Float64Array>(),
            )
        };
        Ok(match self.0 {
            GiOutput::Z => finite(stats::gi_star(&points, &y, neighbours)),
            GiOutput::PSim => {
                let (Some(permutations), Some(seed)) = (whole(&rest[5], 1)?, whole(&rest[6], 0)?)
                else {
                    return Ok(nulls(num_rows));
                };
                let permutations = usize::try_from(permutations).unwrap_or(usize::MAX);
                finite(stats::gi_star_p_sim(
                    &points,
                    &y,
                    neighbours,
                    permutations,
                    seed,
                ))
            }
            GiOutput::Cluster => Arc::new(
                stats::gi_star_clusters(&points, &hot, &y, neighbours)
                    .into_iter()
                    .map(|c| c.and_then(|c| i64::try_from(c).ok()))
                    .collect::<Int64Array>(),
            ),
        })
    }
}

/// `bh_significant(p, alpha) OVER (...)`: Benjamini–Hochberg step-up decisions.
#[derive(Debug, PartialEq, Eq, Hash)]
struct BenjaminiHochberg {
    signature: Signature,
}

impl BenjaminiHochberg {
    fn new() -> Self {
        Self {
            signature: Signature::exact(vec![DataType::Float64; 2], Volatility::Immutable),
        }
    }
}

impl WindowUDFImpl for BenjaminiHochberg {
    fn name(&self) -> &str {
        "bh_significant"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn partition_evaluator(
        &self,
        _: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(BenjaminiHochbergEvaluator))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Boolean,
            false,
        )))
    }
}

#[derive(Debug)]
struct BenjaminiHochbergEvaluator;

impl PartitionEvaluator for BenjaminiHochbergEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let arrays = float_args(
            &values
                .iter()
                .map(|a| ColumnarValue::Array(Arc::clone(a)))
                .collect::<Vec<_>>(),
        )?;
        let p: Vec<f64> = (0..num_rows)
            .map(|r| {
                if arrays[0].is_null(r) {
                    f64::NAN
                } else {
                    arrays[0].value(r)
                }
            })
            .collect();
        let alpha = (0..num_rows)
            .find(|r| !arrays[1].is_null(*r))
            .map_or(0.05, |r| arrays[1].value(r));
        Ok(Arc::new(BooleanArray::from(stats::benjamini_hochberg(
            &p, alpha,
        ))))
    }
}

#[cfg(test)]
// The reference values are quoted to the digit as published.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;
    use arrow::array::AsArray;
    use arrow::datatypes::Float64Type;

    async fn column(sql: &str) -> Vec<Option<f64>> {
        let ctx = SessionContext::new();
        register(&ctx);
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        batches
            .iter()
            .flat_map(|b| {
                let c = cast(b.column(0), &DataType::Float64).unwrap();
                c.as_primitive::<Float64Type>().iter().collect::<Vec<_>>()
            })
            .collect()
    }

    fn close(a: Option<f64>, b: f64) {
        let a = a.expect("a value");
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }

    #[tokio::test]
    async fn scalar_functions_match_published_values() {
        let v = column("SELECT byar_lower(65)").await;
        close(v[0], 50.163187710459454);
        let v = column("SELECT byar_upper(65)").await;
        close(v[0], 82.849138545939837);
        let v = column("SELECT wilson_lower(65, 100)").await;
        close(v[0], 0.55254443296887967);
        let v = column("SELECT wilson_upper(65, 100)").await;
        close(v[0], 0.73635751756902468);
        let v = column("SELECT rate_lower(1, 100, 100)").await;
        close(v[0], 0.025317807984289897);
        let v = column("SELECT rate_upper(1, 100, 100)").await;
        close(v[0], 5.571643390938898);
        let v = column("SELECT rate_lower(20, 100, 100)").await;
        close(v[0], 12.211428834875937);
        let v = column("SELECT rate_upper(20, 100, 100)").await;
        close(v[0], 30.889880369197066);
        // exp(ln 2 ± 1.959963984540054 · √(1/40 + 1/20)), worked by hand.
        let v = column("SELECT ratio_lower(40, 20, 2.0)").await;
        close(
            v[0],
            (2f64.ln() - 1.959963984540054 * (1.0f64 / 40.0 + 1.0 / 20.0).sqrt()).exp(),
        );
        let v = column("SELECT normal_p(1.959963984540054)").await;
        assert!((v[0].unwrap() - 0.05).abs() < 1e-9);
        let v = column("SELECT rate_lower(CAST(NULL AS DOUBLE), 100, 100)").await;
        assert_eq!(v, vec![None]);
        let v = column(
            "SELECT rate_lower(x, n, 1000) FROM (VALUES (20, 100), (3, 0)) t(x, n) ORDER BY n DESC",
        )
        .await;
        close(v[0], 122.11428834875937);
        assert_eq!(v[1], None);
    }

    /// The worked table of `stats::seasonal_dispersion` (previous 10, 20, 30; current 20, 20,
    /// 20: φ = 5.3333 / 2 = 8/3), given in shuffled row order, and the quasi-Poisson limits and
    /// p-value of 90 against 60 with that φ (hand-worked in `stats::dispersion`).
    #[tokio::test]
    async fn quasi_poisson_functions() {
        let v = column(
            "SELECT seasonal_dispersion(m, p, c) FROM (VALUES (3, 30, 20), (1, 10, 20), (2, 20, 20)) t(m, p, c)",
        )
        .await;
        close(v[0], 8.0 / 3.0);
        let v = column("SELECT quasi_ratio_lower(90, 60, 8.0 / 3.0)").await;
        assert!((v[0].unwrap() - 0.879_880_195).abs() < 1e-8);
        let v = column("SELECT quasi_ratio_upper(90, 60, 8.0 / 3.0)").await;
        assert!((v[0].unwrap() - 2.557_166_319).abs() < 1e-8);
        let v = column("SELECT quasi_ratio_p(90, 60, 8.0 / 3.0)").await;
        assert!((v[0].unwrap() - 0.136_283_687).abs() < 1e-8);
        // One month only: no degrees of freedom, no dispersion.
        let v = column("SELECT seasonal_dispersion(1, 5, 7)").await;
        assert_eq!(v, vec![None]);
    }

    #[tokio::test]
    async fn gi_star_window_matches_pysal_toy_case() {
        let sql = "SELECT gi_star_z(y, e, n, 15) OVER () AS z FROM (VALUES \
            (1, 10, 10, 2.0), (2, 20, 10, 3.0), (3, 40, 10, 3.2), \
            (4, 15, 20, 5.0), (5, 30, 20, 8.0), (6, 30, 30, 7.0)) t(id, e, n, y) ORDER BY id";
        let z = column(sql).await;
        let expected = [
            -1.39727626,
            -0.28917762,
            0.65064964,
            -0.28917762,
            1.23452088,
            2.02424331,
        ];
        for (got, want) in z.iter().zip(expected) {
            assert!((got.unwrap() - want).abs() < 1e-7, "{got:?} vs {want}");
        }
    }

    /// The toy case with rows 1 and 2 swapped (so that the row-order tie-break picks the
    /// neighbours esda's KD-tree picked), as a VALUES list ordered by `id`.
    const TOY_KNN: &str = "(VALUES \
        (1, 10, 10, 2.0), (2, 40, 10, 3.2), (3, 20, 10, 3.0), \
        (4, 15, 20, 5.0), (5, 30, 20, 8.0), (6, 30, 30, 7.0)) t(id, e, n, y)";

    #[tokio::test]
    async fn gi_star_knn_window_matches_esda() {
        // esda 2.9 G_Local(y, KNN(points, k=3), transform='B', star=True).Zs, in this order.
        let expected = [
            -0.28917762,
            0.86753285,
            -0.28917762,
            -0.28917762,
            0.86753285,
            1.59047689,
        ];
        let sql = format!(
            "SELECT gi_star_z(y, e, n, 3, CAST(NULL AS DOUBLE)) OVER (ORDER BY id) AS z \
             FROM {TOY_KNN} ORDER BY id"
        );
        for (got, want) in column(&sql).await.iter().zip(expected) {
            assert!((got.unwrap() - want).abs() < 1e-6, "{got:?} vs {want}");
        }
        // A distance, when given, is used instead of the neighbours: the band's values.
        let sql = format!(
            "SELECT gi_star_z(y, e, n, 3, 15) OVER (ORDER BY id) AS z FROM {TOY_KNN} ORDER BY id"
        );
        let band = column(&sql).await;
        assert!((band[0].unwrap() - -1.39727626).abs() < 1e-7, "{band:?}");
        // Neither: null.
        let sql = format!(
            "SELECT gi_star_z(y, e, n, CAST(NULL AS BIGINT), CAST(NULL AS DOUBLE)) OVER () \
             FROM {TOY_KNN}"
        );
        assert!(column(&sql).await.iter().all(Option::is_none));
    }

    #[tokio::test]
    async fn gi_star_p_sim_window_is_the_statistic_and_seeded() {
        let sql = format!(
            "SELECT gi_star_p_sim(y, e, n, 3, CAST(NULL AS DOUBLE), 999, 12345) \
             OVER (ORDER BY id) AS p FROM {TOY_KNN} ORDER BY id"
        );
        let p = column(&sql).await;
        let points = [
            (10.0, 10.0),
            (40.0, 10.0),
            (20.0, 10.0),
            (15.0, 20.0),
            (30.0, 20.0),
            (30.0, 30.0),
        ];
        let y = [2.0, 3.2, 3.0, 5.0, 8.0, 7.0];
        let direct = stats::gi_star_p_sim(&points, &y, stats::Neighbours::Nearest(3), 999, 12345);
        assert_eq!(p, direct.into_iter().map(Some).collect::<Vec<_>>());
        assert_eq!(column(&sql).await, p, "same seed, same p-values");
        // No permutations: null.
        let sql = format!(
            "SELECT gi_star_p_sim(y, e, n, 3, CAST(NULL AS DOUBLE), 0, 1) OVER () FROM {TOY_KNN}"
        );
        assert!(column(&sql).await.iter().all(Option::is_none));
    }

    #[tokio::test]
    async fn gi_star_cluster_window_numbers_hot_rows() {
        // Hot ids 1, 2, 5 and 6: id 1's three nearest are ids 3, 4 and 5, and ids 2, 5 and 6
        // are among one another's, so all four form cluster 1.
        let sql = format!(
            "SELECT gi_star_cluster(id IN (1, 2, 5, 6), y, e, n, 3, CAST(NULL AS DOUBLE)) \
             OVER (ORDER BY id) AS c FROM {TOY_KNN} ORDER BY id"
        );
        let c = column(&sql).await;
        assert_eq!(c, [Some(1.0), Some(1.0), None, None, Some(1.0), Some(1.0)]);
        // A band of 11 (the neighbours argument is then not used): ids 5 and 6, 10 apart,
        // form cluster 1 (Σy = 15); id 1 has no hot row within 11 and is cluster 2.
        let sql = format!(
            "SELECT gi_star_cluster(id IN (1, 5, 6), y, e, n, 3, 11) \
             OVER (ORDER BY id) AS c FROM {TOY_KNN} ORDER BY id"
        );
        let c = column(&sql).await;
        assert_eq!(c, [Some(2.0), None, None, None, Some(1.0), Some(1.0)]);
    }

    #[tokio::test]
    async fn dsr_merges_partial_aggregates_in_any_order() {
        use datafusion::prelude::SessionConfig;
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(4));
        register(&ctx);
        let parts: Vec<String> = (0..8)
            .map(|i| {
                format!(
                    "SELECT {} AS x, {} AS n, {} AS w",
                    3 + i,
                    1000 + 37 * i,
                    5000 + 500 * i
                )
            })
            .collect();
        let sql = format!(
            "SELECT dsr(x, n, w), dsr_lower(x, n, w), dsr_upper(x, n, w) FROM ({})",
            parts.join(" UNION ALL ")
        );
        let first = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let mut expected = stats::DsrAccumulator::default();
        for i in 0..8 {
            expected.add(
                f64::from(3 + i),
                f64::from(1000 + 37 * i),
                f64::from(5000 + 500 * i),
            );
        }
        let value = first[0].column(0).as_primitive::<Float64Type>().value(0);
        assert!((value - expected.value().unwrap()).abs() < 1e-9);
        for _ in 0..5 {
            let again = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
            assert_eq!(again, first, "same inputs, same bits");
        }
    }

    #[tokio::test]
    async fn dsr_aggregate_needs_ten_events() {
        let v =
            column("SELECT dsr(x, n, w) FROM (VALUES (4, 1000, 5000), (5, 2000, 5000)) t(x, n, w)")
                .await;
        assert_eq!(v, vec![None]);
        // (6/1000·5000 + 8/2000·5000) / 10000 × 100000 = (30 + 20) / 10000 × 100000 = 500
        let v =
            column("SELECT dsr(x, n, w) FROM (VALUES (6, 1000, 5000), (8, 2000, 5000)) t(x, n, w)")
                .await;
        close(v[0], 500.0);
    }
}
