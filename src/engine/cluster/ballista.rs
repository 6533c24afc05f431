//! The `distributed` feature: a client session on a Ballista scheduler, and the scheduler and
//! executor processes with vrn-sna's functions and codec.

use std::sync::Arc;

use ballista::extension::{SessionConfigExt, SessionStateExt};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::serde::BallistaLogicalExtensionCodec;
use ballista_executor::execution_engine::{ExecutionEngine, QueryStageExecutor};
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::catalog::TableProvider;
use datafusion::common::{DataFusionError, Result, TableReference};
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::execution::TaskContext;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::logical_plan::LogicalExtensionCodec;

use super::{ClusterError, ExecutorOptions, SchedulerOptions};
use crate::config::Engine;
use crate::engine::udf;

/// The largest gRPC message a client, the scheduler or an executor sends or accepts: a plan
/// carries its in-memory tables (an extract's own LSOA lookup is 1.5 MB at `--scale 10`, once
/// for every place a job's views read it), far past Ballista's default of 16 MiB.
const MESSAGE_LIMIT: u32 = 1 << 30;

/// A session whose queries run on the Ballista cluster of `engine`: `state` (a local session
/// with the run's configuration and memory limit, which the client still uses to plan) made
/// to send its plans to the scheduler. The statistics functions are registered again by the
/// caller: Ballista's upgrade replaces the session's function lists with its own.
pub fn remote(state: SessionState, engine: &Engine) -> Result<SessionState, ClusterError> {
    let Engine::Ballista { host, port } = engine else {
        unreachable!("remote() is called for a cluster engine only")
    };
    let host = bracketed(host);
    let config = state
        .config()
        .clone()
        .with_ballista_logical_extension_codec(Arc::new(MemoryTableCodec::default()))
        .upgrade_for_ballista()
        // Ballista 55's adaptive planner loses track of the metrics of stages it re-plans
        // ("task metrics array size 11 does not equal with the stage metrics array size 12"),
        // and the job then never finishes: the jobs of `queries/` run on the static
        // distributed planner.
        .set_bool(
            ballista_core::config::BALLISTA_ADAPTIVE_PLANNER_ENABLED,
            false,
        )
        .set_usize(
            ballista_core::config::BALLISTA_CLIENT_GRPC_MAX_MESSAGE_SIZE,
            MESSAGE_LIMIT as usize,
        );
    let state = datafusion::execution::SessionStateBuilder::new_from_existing(state)
        .with_config(config)
        .build();
    state
        .upgrade_for_ballista(format!("http://{host}:{port}"))
        .map_err(|source| ClusterError::Ballista {
            action: format!("connecting to the scheduler at {engine}"),
            source: Box::new(source),
        })
}

/// Sends Ballista's log to standard error: warnings and errors, or what `RUST_LOG` asks for.
fn start_logging() {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .try_init();
}

/// Runs a Ballista scheduler until the process is stopped.
pub async fn run_scheduler(options: SchedulerOptions) -> Result<(), ClusterError> {
    start_logging();
    let address: std::net::SocketAddr = format!("{}:{}", bracketed(&options.host), options.port)
        .parse()
        .map_err(|_| ClusterError::Address {
            flag: "--bind",
            value: format!("{}:{}", options.host, options.port),
        })?;
    let mut config = SchedulerConfig {
        bind_host: options.host.clone(),
        bind_port: options.port,
        external_host: options.host.clone(),
        executor_timeout_seconds: options.executor_timeout_seconds,
        expire_dead_executor_interval_seconds: options.executor_timeout_seconds.clamp(1, 15),
        grpc_server_max_decoding_message_size: MESSAGE_LIMIT,
        grpc_server_max_encoding_message_size: MESSAGE_LIMIT,
        grpc_client_max_message_size: MESSAGE_LIMIT,
        ..SchedulerConfig::default()
    }
    .with_override_session_builder(Arc::new(scheduler_session));
    config.override_logical_codec = Some(Arc::new(MemoryTableCodec::default()));
    let failed = |action: &str| {
        let action = action.to_owned();
        move |source: ballista_core::error::BallistaError| ClusterError::Ballista {
            action,
            source: Box::new(source),
        }
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(failed("setting up the scheduler"))?;
    eprintln!(
        "sna scheduler listening on {address} (Ballista {}, DataFusion {})",
        ballista_core::BALLISTA_VERSION,
        datafusion::DATAFUSION_VERSION
    );
    ballista_scheduler::scheduler_process::start_server(cluster, address, Arc::new(config))
        .await
        .map_err(failed(&format!("running the scheduler on {address}")))
}

/// The scheduler's sessions: Ballista's, with the statistics functions, so that it can plan
/// the jobs that call them, and with [`WholeBuildSideJoins`] and
/// [`WindowPartitionsSortedExplicitly`].
fn scheduler_session(config: SessionConfig) -> Result<SessionState> {
    let state = ballista_core::utils::default_session_builder(config)?;
    // An extract in an object store is listed, to plan its scans, with the scheduler's
    // credentials (`crate::sources::remote`).
    let runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::from_runtime_env(
        state.runtime_env(),
    )
    .with_object_store_registry(crate::sources::remote::registry())
    .build_arc()?;
    let state = datafusion::execution::SessionStateBuilder::new_from_existing(state)
        .with_runtime_env(runtime)
        .with_physical_optimizer_rule(Arc::new(WholeBuildSideJoins))
        .with_physical_optimizer_rule(Arc::new(WindowPartitionsSortedExplicitly))
        .build();
    let ctx = SessionContext::new_with_state(state);
    udf::register(&ctx);
    Ok(ctx.state())
}

/// Runs a join that must see every probe row in one place as one task.
///
/// DataFusion runs a join whose build (left) side is collected whole (a nested-loop join, or
/// a hash join in `CollectLeft` mode) once per partition of the probe side, and the partitions
/// share one record of which build rows found a match; the build rows that found none (a
/// `LEFT` or `FULL` join's null-extended rows, the rows of a left anti join) are emitted once,
/// by the last partition. Ballista runs each partition as a separate task with its own record,
/// so each task emits them: `FROM one_row LEFT JOIN t ON t.kind = 'x'` gives the row twice on
/// two executors (Ballista 55). This rule gathers such a join's probe side into one partition
/// first (a stage boundary in Ballista), so the join runs once, as locally.
#[derive(Debug)]
struct WholeBuildSideJoins;

impl datafusion::physical_optimizer::PhysicalOptimizerRule for WholeBuildSideJoins {
    fn optimize(
        &self,
        plan: Arc<dyn datafusion::physical_plan::ExecutionPlan>,
        _config: &datafusion::config::ConfigOptions,
    ) -> Result<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        use datafusion::common::JoinType;
        use datafusion::common::tree_node::{Transformed, TreeNode};
        use datafusion::physical_plan::ExecutionPlanProperties;
        use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
        use datafusion::physical_plan::joins::{HashJoinExec, NestedLoopJoinExec, PartitionMode};
        use datafusion::physical_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
        let keeps_unmatched_build_rows = |t: &JoinType| {
            matches!(
                t,
                JoinType::Left
                    | JoinType::Full
                    | JoinType::LeftSemi
                    | JoinType::LeftAnti
                    | JoinType::LeftMark
            )
        };
        plan.transform_up(|node| {
            let shared_build_side = if let Some(join) = node.downcast_ref::<NestedLoopJoinExec>() {
                keeps_unmatched_build_rows(join.join_type())
            } else if let Some(join) = node.downcast_ref::<HashJoinExec>() {
                *join.partition_mode() == PartitionMode::CollectLeft
                    && keeps_unmatched_build_rows(join.join_type())
            } else {
                false
            };
            let children = node.children();
            if !shared_build_side
                || children.len() != 2
                || children[1].output_partitioning().partition_count() <= 1
            {
                return Ok(Transformed::no(node));
            }
            let (build, probe) = (Arc::clone(children[0]), Arc::clone(children[1]));
            let whole = Arc::new(CoalescePartitionsExec::new(probe));
            // The probe side's partitioning changes, so the join's properties are recomputed.
            let recompute = ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute);
            Ok(Transformed::yes(
                node.replace_children(vec![build, whole], recompute)?,
            ))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "sna_whole_build_side_joins"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Runs a Ballista executor until the process is stopped.
pub async fn run_executor(options: ExecutorOptions) -> Result<(), ClusterError> {
    start_logging();
    let mut registry = BallistaFunctionRegistry::default();
    let functions = udf::all();
    for f in functions.scalar {
        registry
            .scalar_functions
            .insert(f.name().to_owned(), Arc::new(f));
    }
    for f in functions.aggregate {
        registry
            .aggregate_functions
            .insert(f.name().to_owned(), Arc::new(f));
    }
    for f in functions.window {
        registry
            .window_functions
            .insert(f.name().to_owned(), Arc::new(f));
    }
    let defaults = ExecutorProcessConfig::default();
    // Ballista's own runtime (spill files in `--work-dir`, else the system's temporary
    // directory), with the object store registry that reads an extract in S3 with this
    // executor's credentials.
    let spill_dir = options.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let runtime: ballista_core::RuntimeProducer = Arc::new(move |_| {
        datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
            .with_temp_file_path(spill_dir.clone())
            .with_object_store_registry(crate::sources::remote::registry())
            .build_arc()
    });
    let config = ExecutorProcessConfig {
        bind_host: options.host.clone(),
        external_host: Some(options.host.clone()),
        port: options.port,
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler_host.clone(),
        scheduler_port: options.scheduler_port,
        // Waits for a scheduler that starts after it, as under systemd or compose.
        scheduler_connect_timeout_seconds: 30,
        vcores: options.concurrency.unwrap_or(defaults.vcores),
        work_dir: options
            .work_dir
            .as_ref()
            .map(|d| d.to_string_lossy().into_owned()),
        // Frequent enough that a scheduler notices a lost executor within its timeout.
        executor_heartbeat_interval_seconds: 5,
        override_function_registry: Some(Arc::new(registry)),
        override_runtime_producer: Some(runtime),
        grpc_max_decoding_message_size: MESSAGE_LIMIT,
        grpc_max_encoding_message_size: MESSAGE_LIMIT,
        // Without Ballista's pool of Flight clients (not public in 55): a connection per
        // shuffle fetch.
        override_execution_engine: Some(Arc::new(WithoutOperatorMetrics(Arc::new(
            ballista_executor::execution_engine::DefaultExecutionEngine::new(),
        )))),
        ..defaults
    };
    eprintln!(
        "sna executor on {}:{} (gRPC {}), scheduler {}:{}",
        options.host,
        options.port,
        options.grpc_port,
        options.scheduler_host,
        options.scheduler_port
    );
    start_executor_process(Arc::new(config))
        .await
        .map_err(|source| ClusterError::Ballista {
            action: format!(
                "running the executor (scheduler {}:{})",
                options.scheduler_host, options.scheduler_port
            ),
            source: Box::new(source),
        })
}

/// Sorts a window's input by every one of its PARTITION BY columns.
///
/// DataFusion leaves out of the sort below a window the partition columns it knows to be
/// constant (`PARTITION BY role, person_id` over rows filtered to one role sorts by
/// `person_id` alone). On a cluster the filter is in an earlier stage: the executor that runs
/// the window reads a shuffle, which carries no such knowledge, and refuses the plan
/// ("Expects PARTITION BY expression to be ordered"). Sorting by the constant column as well
/// changes nothing in the order and keeps the plan valid wherever it runs.
#[derive(Debug)]
struct WindowPartitionsSortedExplicitly;

impl datafusion::physical_optimizer::PhysicalOptimizerRule for WindowPartitionsSortedExplicitly {
    fn optimize(
        &self,
        plan: Arc<dyn datafusion::physical_plan::ExecutionPlan>,
        _config: &datafusion::config::ConfigOptions,
    ) -> Result<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        use datafusion::common::tree_node::{Transformed, TreeNode};
        use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
        use datafusion::physical_plan::sorts::sort::SortExec;
        use datafusion::physical_plan::windows::{BoundedWindowAggExec, WindowAggExec};
        use datafusion::physical_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
        plan.transform_up(|node| {
            let keys = if let Some(window) = node.downcast_ref::<BoundedWindowAggExec>() {
                window.partition_keys()
            } else if let Some(window) = node.downcast_ref::<WindowAggExec>() {
                window.partition_keys()
            } else {
                return Ok(Transformed::no(node));
            };
            let Some(sort) = node
                .children()
                .first()
                .and_then(|child| child.downcast_ref::<SortExec>())
            else {
                return Ok(Transformed::no(node));
            };
            let missing: Vec<_> = keys
                .into_iter()
                .filter(|key| !sort.expr().iter().any(|sorted| &sorted.expr == key))
                .collect();
            if missing.is_empty() {
                return Ok(Transformed::no(node));
            }
            let Some(ordering) = LexOrdering::new(
                missing
                    .into_iter()
                    .map(PhysicalSortExpr::new_default)
                    .chain(sort.expr().iter().cloned()),
            ) else {
                return Ok(Transformed::no(node));
            };
            let explicit = SortExec::new(ordering, Arc::clone(sort.input()))
                .with_preserve_partitioning(sort.preserve_partitioning())
                .with_fetch(sort.fetch());
            let recompute = ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute);
            Ok(Transformed::yes(
                node.replace_children(vec![Arc::new(explicit)], recompute)?,
            ))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "sna_window_partitions_sorted_explicitly"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Ballista's execution engine, its tasks reporting no per-operator metrics.
///
/// A task reports the metrics of the operators of its plan that have any, and an operator
/// that never ran (the probe side of a join whose build side was empty, say) has none, so two
/// tasks of one stage can report arrays of different lengths. Ballista 55's scheduler then
/// refuses the second task's status ("task metrics array size 9 does not equal with the stage
/// metrics array size 8") and the job never finishes. With no operator metrics the scheduler
/// records the status alone; the metrics only served its web UI, which `sna scheduler` does
/// not start.
struct WithoutOperatorMetrics(Arc<dyn ExecutionEngine>);

impl ExecutionEngine for WithoutOperatorMetrics {
    fn create_query_stage_exec(
        &self,
        job_id: ballista_core::JobId,
        stage_id: usize,
        task_id: usize,
        global_output_partition_ids: Vec<usize>,
        plan: Arc<dyn datafusion::physical_plan::ExecutionPlan>,
        work_dir: &str,
        config: &SessionConfig,
    ) -> Result<Arc<dyn QueryStageExecutor>> {
        Ok(Arc::new(NoOperatorMetrics(
            self.0.create_query_stage_exec(
                job_id,
                stage_id,
                task_id,
                global_output_partition_ids,
                plan,
                work_dir,
                config,
            )?,
        )))
    }
}

/// One task of [`WithoutOperatorMetrics`].
#[derive(Debug)]
struct NoOperatorMetrics(Arc<dyn QueryStageExecutor>);

impl std::fmt::Display for NoOperatorMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[async_trait::async_trait]
impl QueryStageExecutor for NoOperatorMetrics {
    async fn execute_query_stage(
        &self,
        task_id: usize,
        context: Arc<TaskContext>,
    ) -> Result<Vec<ballista_core::serde::protobuf::ShuffleWritePartition>> {
        self.0.execute_query_stage(task_id, context).await
    }

    fn collect_plan_metrics(&self) -> Vec<datafusion::physical_plan::metrics::MetricsSet> {
        Vec::new()
    }

    fn collect_runtime_stats_reports(
        &self,
    ) -> Vec<ballista_core::serde::protobuf::RuntimeStatsReport> {
        self.0.collect_runtime_stats_reports()
    }

    fn collect_window_state_reports(
        &self,
    ) -> Result<Vec<ballista_core::serde::protobuf::WindowStateReport>> {
        self.0.collect_window_state_reports()
    }

    fn collect_column_stats(&self) -> Vec<ballista_core::serde::protobuf::TaskColumnStats> {
        self.0.collect_column_stats()
    }
}

/// `host` as it goes before `:port`.
fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// Ballista's logical codec, which can also carry an in-memory table ([`MemTable`]), and the
/// rows of a `generate_series` or `range` table function, inside the plan as Arrow IPC. A run registers its small lookup tables (`params`, the reference
/// LSOAs and wards, `period_months`, empty optional tables) in memory; DataFusion's own codec
/// refuses them, and they are too small to be worth a shared file.
#[derive(Debug, Default)]
struct MemoryTableCodec {
    inner: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for MemoryTableCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match buf.strip_prefix(MEMORY_TABLE_TAG) {
            Some(ipc) => {
                let reader = StreamReader::try_new(ipc, None)?;
                let batches = reader.collect::<Result<Vec<_>, _>>()?;
                Ok(Arc::new(MemTable::try_new(schema, vec![batches])?))
            }
            None => self
                .inner
                .try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        use datafusion::functions_table::generate_series::GenerateSeriesTable;
        let mut batches = Vec::new();
        if let Some(table) = node.downcast_ref::<MemTable>() {
            for partition in &table.batches {
                let partition = partition.try_read().map_err(|_| {
                    DataFusionError::Execution(format!(
                        "table {table_ref} is being written while it is sent to the cluster"
                    ))
                })?;
                batches.extend(partition.iter().cloned());
            }
        } else if let Some(series) = node.downcast_ref::<GenerateSeriesTable>() {
            // `generate_series(0, 23)` and `range(…)`: generated here, sent as their rows.
            let generator = series.as_generator(8192)?;
            let mut generator = generator.write();
            while let Some(batch) = generator.generate_next_batch()? {
                batches.push(batch);
            }
        } else {
            return self.inner.try_encode_table_provider(table_ref, node, buf);
        }
        buf.extend_from_slice(MEMORY_TABLE_TAG);
        let mut writer = StreamWriter::try_new(&mut *buf, &node.schema())?;
        for batch in &batches {
            writer.write(batch)?;
        }
        writer.finish()?;
        Ok(())
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }
}

/// The first bytes of an in-memory table in the plan: not a protobuf message Ballista's codec
/// would write (those start with a field tag, never 0xff).
const MEMORY_TABLE_TAG: &[u8] = b"\xffsna-memtable\x01";

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    #[tokio::test]
    async fn an_in_memory_table_survives_the_codec() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("code", DataType::Utf8, false),
            Field::new("n", DataType::Int64, true),
        ]));
        let batch = |codes: Vec<&str>, ns: Vec<Option<i64>>| {
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(StringArray::from(codes)),
                    Arc::new(Int64Array::from(ns)),
                ],
            )
            .unwrap()
        };
        let table = MemTable::try_new(
            Arc::clone(&schema),
            vec![
                vec![batch(vec!["E01", "E02"], vec![Some(1), None])],
                vec![batch(vec!["E03"], vec![Some(3)])],
            ],
        )
        .unwrap();
        let codec = MemoryTableCodec::default();
        let mut buf = Vec::new();
        codec
            .try_encode_table_provider(&TableReference::bare("t"), Arc::new(table), &mut buf)
            .unwrap();
        let ctx = SessionContext::new();
        let decoded = codec
            .try_decode_table_provider(
                &buf,
                &TableReference::bare("t"),
                Arc::clone(&schema),
                &ctx.task_ctx(),
            )
            .unwrap();
        ctx.register_table("t", decoded).unwrap();
        let rows = ctx
            .sql("SELECT code, n FROM t ORDER BY code")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&rows)
            .unwrap()
            .to_string();
        assert!(
            text.contains("| E01  | 1 |")
                && text.contains("| E02  |   |")
                && text.contains("| E03  | 3 |"),
            "{text}"
        );
        // Anything else goes to Ballista's codec, which refuses what it cannot carry.
        let other = codec.try_decode_table_provider(
            b"not a table",
            &TableReference::bare("t"),
            schema,
            &ctx.task_ctx(),
        );
        assert!(other.is_err());
    }
}
