//! Running the same SQL on an Apache DataFusion Ballista cluster (the `distributed` feature).
//!
//! Ballista runs DataFusion plans across executors: a client (`sna run --engine
//! ballista://HOST:PORT`) plans each job's SQL as it would locally and sends the logical plan
//! to the scheduler (`sna scheduler`), which splits it into stages and hands their tasks to the
//! executors (`sna executor`); the client streams the result back and writes the bundle as a
//! local run does. vrn-sna's statistics functions ([`crate::engine::udf`]) are registered on
//! all three: in the client's session, in the scheduler's session builder (it plans with them)
//! and in every executor's function registry (it runs them). The small in-memory tables a run
//! builds (the reference lookups, `params`, `period_months`, …) travel inside the plan, as Arrow
//! IPC (DataFusion's plan codec does not carry in-memory tables); the extract's Parquet files are read by the executors from the same
//! path, so the extract must be on a filesystem every executor sees at that path.
//!
//! Without the feature, every entry point returns [`ClusterError::NotBuilt`], so the default
//! build has none of Ballista's dependencies and says how to get them.

use std::path::PathBuf;

use crate::config::Engine;

#[cfg(feature = "distributed")]
mod ballista;
#[cfg(feature = "distributed")]
pub use ballista::{remote, run_executor, run_scheduler};

/// What a cluster command or a session on a cluster failed at.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// This binary was built without the `distributed` feature.
    #[error(
        "{what} needs an sna built with the `distributed` feature: `cargo build --release --features distributed`"
    )]
    NotBuilt {
        /// What was asked for.
        what: String,
    },
    /// An address that is not `HOST:PORT`.
    #[error("{flag} must be HOST:PORT, got \"{value}\"")]
    Address {
        /// The flag or key.
        flag: &'static str,
        /// What was given (printable).
        value: String,
    },
    /// Ballista failed.
    #[error("{action}: {source}")]
    Ballista {
        /// What was being done.
        action: String,
        /// Ballista's or DataFusion's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// `sna scheduler`'s options.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Host to listen on.
    pub host: String,
    /// Port to listen on (gRPC, for clients and executors).
    pub port: u16,
    /// Seconds without a heartbeat after which an executor is taken for dead and its tasks
    /// are run again elsewhere.
    pub executor_timeout_seconds: u64,
}

/// `sna executor`'s options.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's host.
    pub scheduler_host: String,
    /// The scheduler's port.
    pub scheduler_port: u16,
    /// Host to listen on (and to advertise to the scheduler).
    pub host: String,
    /// Port of the executor's Arrow Flight service (other executors and clients fetch
    /// results from it).
    pub port: u16,
    /// Port of its gRPC service (the scheduler launches tasks through it).
    pub grpc_port: u16,
    /// Tasks run at once (default: the machine's cores).
    pub concurrency: Option<usize>,
    /// Where shuffle files are written (default: a temporary directory).
    pub work_dir: Option<PathBuf>,
}

/// Splits `HOST:PORT` (a bracketed IPv6 host allowed) for `flag`.
pub fn host_port(flag: &'static str, value: &str) -> Result<(String, u16), ClusterError> {
    let bad = || ClusterError::Address {
        flag,
        value: crate::text::printable(value).into_owned(),
    };
    let (host, port) = value.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.parse::<u16>().map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

/// The error for `engine` when this binary cannot reach a cluster.
#[cfg(not(feature = "distributed"))]
pub fn not_built(engine: &Engine) -> ClusterError {
    ClusterError::NotBuilt {
        what: format!("engine {engine}"),
    }
}

/// `sna scheduler` without the feature.
#[cfg(not(feature = "distributed"))]
pub async fn run_scheduler(_: SchedulerOptions) -> Result<(), ClusterError> {
    Err(ClusterError::NotBuilt {
        what: "`sna scheduler`".to_owned(),
    })
}

/// `sna executor` without the feature.
#[cfg(not(feature = "distributed"))]
pub async fn run_executor(_: ExecutorOptions) -> Result<(), ClusterError> {
    Err(ClusterError::NotBuilt {
        what: "`sna executor`".to_owned(),
    })
}

/// True when `engine` runs SQL outside this process.
pub fn is_remote(engine: &Engine) -> bool {
    !matches!(engine, Engine::Local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_into_host_and_port() {
        assert_eq!(
            host_port("--bind", "127.0.0.1:50050").unwrap(),
            ("127.0.0.1".to_owned(), 50050)
        );
        assert_eq!(
            host_port("--bind", "[::1]:7").unwrap(),
            ("::1".to_owned(), 7)
        );
        for bad in ["50050", "host:", ":1", "host:99999", "h:\u{1b}"] {
            let error = host_port("--bind", bad).unwrap_err().to_string();
            assert!(
                error.contains("--bind") && !error.contains('\u{1b}'),
                "{error}"
            );
        }
    }
}
