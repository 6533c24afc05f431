//! Whole-table key checks without a hash table of the keys themselves.
//!
//! The duplicate-key check and the check that every person names an offence in the extract
//! are, in SQL, a `GROUP BY` of the key and a join on it: at national scale both build hash
//! tables of 17 million string ids (about 2 GiB and most of validation's time). Here each key
//! is reduced to a fingerprint as the file streams past, and the fingerprints are sorted:
//! 8 or 16 bytes a row, whatever the key's width.
//!
//! Exactness:
//! - **Repeats.** Equal keys always have equal fingerprints, so "no two fingerprints are
//!   equal" proves that no key repeats. When two are equal (a real repeat, or by chance
//!   about once in 10⁵ national extracts) the caller runs the exact SQL check, which counts
//!   and names the repeated keys.
//! - **Missing references.** A child whose fingerprint is not among the parents' certainly
//!   names a missing parent. One whose 128-bit fingerprint is there could, in principle, be a
//!   different id with the same fingerprint; with 17 million parents that chance is about
//!   10⁻³¹ per child, far below any other source of error in the report, so the count is
//!   taken as exact. The examples are the ids themselves, kept as the rows pass.
//!
//! Hand-rolled rather than a crate because it is a sort of integers over DataFusion's own
//! record batch streams; the hashing is `twox-hash` (XXH64), already a dependency of Parquet.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::row::{RowConverter, SortField};
use datafusion::error::{DataFusionError, Result};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use rayon::slice::ParallelSliceMut;

/// Whether any row of `sql`'s result occurs more than once (all its columns together, nulls
/// equal to nulls as `GROUP BY` has them). `false` is exact; `true` may, very rarely, be two
/// different rows with one fingerprint, so the caller confirms it.
pub(super) async fn may_repeat(ctx: &SessionContext, sql: &str) -> Result<bool> {
    let streams = ctx.sql(sql).await?.execute_stream_partitioned().await?;
    let parts = in_parallel(streams, |stream| async move {
        let mut stream = stream;
        let mut converter: Option<RowConverter> = None;
        let mut out: Vec<u64> = Vec::new();
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let converter = match &mut converter {
                Some(c) => c,
                None => converter.insert(RowConverter::new(
                    batch
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| SortField::new(f.data_type().clone()))
                        .collect(),
                )?),
            };
            let rows = converter.convert_columns(batch.columns())?;
            out.extend(rows.iter().map(|row| fingerprint64(row.as_ref())));
        }
        Ok(out)
    })
    .await?;
    let mut all: Vec<u64> = parts.concat();
    all.par_sort_unstable();
    Ok(all.windows(2).any(|w| w[0] == w[1]))
}

/// The rows of `children` (one text column) whose value is null or not among the values of
/// `parents` (one text column), as a LEFT JOIN ... WHERE parent IS NULL finds them: how many,
/// and the first `examples` distinct values in ascending order, a null (shown `(null)`) last.
pub(super) async fn missing_references(
    ctx: &SessionContext,
    children: &str,
    parents: &str,
    examples: usize,
) -> Result<(u64, Vec<String>)> {
    let streams = ctx.sql(parents).await?.execute_stream_partitioned().await?;
    let parts = in_parallel(streams, |stream| async move {
        let mut stream = stream;
        let mut out: Vec<u128> = Vec::new();
        while let Some(batch) = stream.next().await {
            let values = text(batch?.column(0))?;
            let values = values.as_string::<i32>();
            out.extend(
                values
                    .iter()
                    .flatten()
                    .map(|v| fingerprint128(v.as_bytes())),
            );
        }
        Ok(out)
    })
    .await?;
    let mut known: Vec<u128> = parts.concat();
    known.par_sort_unstable();
    known.dedup();
    let known = Arc::new(known);
    let streams = ctx
        .sql(children)
        .await?
        .execute_stream_partitioned()
        .await?;
    let parts = in_parallel(streams, move |stream| {
        let known = Arc::clone(&known);
        async move {
            let mut stream = stream;
            let mut missing = Missing::default();
            while let Some(batch) = stream.next().await {
                let values = text(batch?.column(0))?;
                for value in values.as_string::<i32>().iter() {
                    match value {
                        None => missing.add(None, examples),
                        Some(v) => {
                            let print = fingerprint128(v.as_bytes());
                            if known.binary_search(&print).is_err() {
                                missing.add(Some(v), examples);
                            }
                        }
                    }
                }
            }
            Ok(missing)
        }
    })
    .await?;
    let mut all = Missing::default();
    for part in parts {
        all.rows += part.rows;
        all.null |= part.null;
        for v in part.smallest {
            all.keep(v, examples);
        }
    }
    Ok((all.rows, all.examples(examples)))
}

/// Missing references found so far: their number and the smallest distinct values.
#[derive(Default)]
struct Missing {
    rows: u64,
    null: bool,
    smallest: BTreeSet<String>,
}

impl Missing {
    /// Counts one missing reference and keeps its value if it is among the smallest.
    fn add(&mut self, value: Option<&str>, keep: usize) {
        self.rows += 1;
        match value {
            None => self.null = true,
            Some(v) => {
                let full = self.smallest.len() >= keep;
                if !full || self.smallest.last().is_some_and(|last| v < last.as_str()) {
                    self.keep(v.to_owned(), keep);
                }
            }
        }
    }

    /// Keeps `value` if it is among the `keep` smallest.
    fn keep(&mut self, value: String, keep: usize) {
        self.smallest.insert(value);
        if self.smallest.len() > keep {
            self.smallest.pop_last();
        }
    }

    fn examples(self, keep: usize) -> Vec<String> {
        let mut out: Vec<String> = self.smallest.into_iter().take(keep).collect();
        if self.null && out.len() < keep {
            out.push("(null)".to_owned());
        }
        out
    }
}

/// A 64-bit fingerprint of `bytes`.
fn fingerprint64(bytes: &[u8]) -> u64 {
    twox_hash::XxHash64::oneshot(0, bytes)
}

/// A 128-bit fingerprint of `bytes`: two XXH64 hashes under different seeds.
fn fingerprint128(bytes: &[u8]) -> u128 {
    (u128::from(twox_hash::XxHash64::oneshot(0, bytes)) << 64)
        | u128::from(twox_hash::XxHash64::oneshot(0x9E37_79B9_7F4A_7C15, bytes))
}

/// One column as UTF-8 text, whatever string type the file gave it.
fn text(column: &ArrayRef) -> Result<ArrayRef> {
    Ok(match column.data_type() {
        DataType::Utf8 => Arc::clone(column),
        _ => cast(column, &DataType::Utf8)?,
    })
}

/// Runs `work` over each partition's stream on its own task, so that both cores hash.
async fn in_parallel<T, F, Fut>(streams: Vec<SendableRecordBatchStream>, work: F) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(SendableRecordBatchStream) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
{
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|stream| tokio::spawn(work(stream)))
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(
            task.await
                .map_err(|e| DataFusionError::External(Box::new(e)))??,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, RecordBatch, StringArray};
    use arrow::datatypes::{Field, Schema};
    use datafusion::datasource::MemTable;

    /// A row of a test table: its `id` and its `n`.
    type Row<'a> = (Option<&'a str>, Option<i32>);

    /// A session with table `name` of text column `id` and integer column `n`, the rows
    /// spread over three batches in two partitions (so that the partitions' work is merged).
    fn session(tables: &[(&str, Vec<Row>)]) -> SessionContext {
        let ctx = SessionContext::new();
        for (name, rows) in tables {
            let schema = Arc::new(Schema::new(vec![
                Field::new("id", DataType::Utf8, true),
                Field::new("n", DataType::Int32, true),
            ]));
            let batches: Vec<RecordBatch> = rows
                .chunks(rows.len().div_ceil(3).max(1))
                .map(|chunk| {
                    RecordBatch::try_new(
                        Arc::clone(&schema),
                        vec![
                            Arc::new(chunk.iter().map(|r| r.0).collect::<StringArray>()),
                            Arc::new(chunk.iter().map(|r| r.1).collect::<Int32Array>()),
                        ],
                    )
                    .unwrap()
                })
                .collect();
            let mut parts = vec![Vec::new(), Vec::new()];
            for (i, b) in batches.into_iter().enumerate() {
                parts[i % 2].push(b);
            }
            ctx.register_table(*name, Arc::new(MemTable::try_new(schema, parts).unwrap()))
                .unwrap();
        }
        ctx
    }

    async fn sql_strings(ctx: &SessionContext, sql: &str) -> Vec<String> {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let mut out = Vec::new();
        for b in batches {
            let c = text(b.column(0)).unwrap();
            out.extend(
                c.as_string::<i32>()
                    .iter()
                    .map(|v| v.map_or("(null)".to_owned(), str::to_owned)),
            );
        }
        out
    }

    #[tokio::test]
    async fn repeats_are_found_on_all_key_columns_together_nulls_included() {
        let unique = vec![
            (Some("a"), Some(1)),
            (Some("a"), Some(2)),
            (Some("b"), Some(1)),
            (None, Some(1)),
            (Some("a"), None),
            (None, None),
            // Column boundaries are kept: ("ab", 1) is not ("a", "b1").
            (Some("ab"), Some(1)),
        ];
        let mut repeated_null = unique.clone();
        repeated_null.push((None, None));
        let mut repeated = unique.clone();
        repeated.push((Some("b"), Some(1)));
        let ctx = session(&[("u", unique), ("rn", repeated_null), ("r", repeated)]);
        assert!(!may_repeat(&ctx, "SELECT id, n FROM u").await.unwrap());
        assert!(may_repeat(&ctx, "SELECT id, n FROM rn").await.unwrap());
        assert!(may_repeat(&ctx, "SELECT id, n FROM r").await.unwrap());
        // One column of the key alone repeats.
        assert!(may_repeat(&ctx, "SELECT id FROM u").await.unwrap());
        assert!(
            !may_repeat(&ctx, "SELECT id FROM u WHERE n = 2")
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn missing_references_are_those_the_join_finds() {
        let parents: Vec<(Option<&str>, Option<i32>)> = (0..200)
            .filter(|i| i % 7 != 3)
            .map(|i| (Some(&*format!("C{i:03}").leak()), Some(i)))
            .chain([(None, None)])
            .collect();
        let children: Vec<(Option<&str>, Option<i32>)> = (0..300)
            .map(|i| (Some(&*format!("C{:03}", (i * 13) % 260).leak()), Some(i)))
            .chain([(None, Some(1)), (None, Some(2)), (Some("Z"), None)])
            .collect();
        let ctx = session(&[("parents", parents), ("children", children)]);
        let (rows, examples) =
            missing_references(&ctx, "SELECT id FROM children", "SELECT id FROM parents", 5)
                .await
                .unwrap();
        let join = "FROM children c LEFT JOIN parents p ON p.id = c.id WHERE p.id IS NULL";
        let count = sql_strings(&ctx, &format!("SELECT CAST(COUNT(*) AS VARCHAR) {join}")).await;
        assert_eq!(rows.to_string(), count[0]);
        assert!(rows > 60, "{rows}");
        let first = sql_strings(
            &ctx,
            &format!("SELECT DISTINCT c.id AS example {join} ORDER BY example LIMIT 5"),
        )
        .await;
        assert_eq!(examples, first);
        // With few enough missing values the null is among the examples, last.
        let (rows, examples) = missing_references(
            &ctx,
            "SELECT id FROM children WHERE id IS NULL OR id = 'Z'",
            "SELECT id FROM parents",
            5,
        )
        .await
        .unwrap();
        assert_eq!(
            (rows, examples),
            (3, vec!["Z".to_owned(), "(null)".to_owned()])
        );
    }
}
