//! The same jobs on an Apache DataFusion Ballista cluster (`--features distributed`): a
//! scheduler and two executors started from the `sna` binary on loopback ports, `sna run
//! --engine` against them, every table compared byte for byte with a local run's.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{assert_success, sna, stderr, workdir};

/// A process of the cluster, killed when the test ends however it ends.
pub(super) struct Process {
    child: Child,
    name: &'static str,
    log: PathBuf,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    fn start(dir: &Path, name: &'static str, args: &[String], env: &[(&str, String)]) -> Process {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_sna"))
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(dir)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Process { child, name, log }
    }

    /// Panics, with its log, if the process has exited.
    pub(super) fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!(
                "{} exited ({status}):\n{}",
                self.name,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// `n` distinct free loopback ports (bound, then released for the processes to take).
pub(super) fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// Waits until something listens on `port`.
fn wait_listening(process: &mut Process, port: u16) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        process.assert_running();
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{} not listening on {port} after a minute",
            process.name
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A scheduler and two executors on loopback.
pub(super) struct Cluster {
    pub(super) scheduler: Process,
    executors: Vec<Process>,
    pub(super) url: String,
}

impl Cluster {
    fn start(dir: &Path) -> Cluster {
        Cluster::start_with(dir, &[])
    }

    /// A cluster whose processes have `env` in their environment as well.
    pub(super) fn start_with(dir: &Path, env: &[(&str, String)]) -> Cluster {
        let ports = free_ports(5);
        let scheduler_address = format!("127.0.0.1:{}", ports[0]);
        let mut scheduler = Process::start(
            dir,
            "scheduler",
            &[
                "scheduler".to_owned(),
                "--bind".to_owned(),
                scheduler_address.clone(),
                "--executor-timeout".to_owned(),
                "10".to_owned(),
            ],
            env,
        );
        wait_listening(&mut scheduler, ports[0]);
        let mut executors = Vec::new();
        for (i, name) in ["executor-1", "executor-2"].into_iter().enumerate() {
            let work = dir.join(format!("{name}-work"));
            std::fs::create_dir_all(&work).unwrap();
            let mut executor = Process::start(
                dir,
                name,
                &[
                    "executor".to_owned(),
                    "--scheduler".to_owned(),
                    scheduler_address.clone(),
                    "--bind".to_owned(),
                    format!("127.0.0.1:{}", ports[1 + 2 * i]),
                    "--grpc-port".to_owned(),
                    ports[2 + 2 * i].to_string(),
                    "--concurrency".to_owned(),
                    "2".to_owned(),
                    "--work-dir".to_owned(),
                    work.display().to_string(),
                ],
                env,
            );
            wait_listening(&mut executor, ports[1 + 2 * i]);
            executors.push(executor);
        }
        // Registration follows the executor's first heartbeat.
        std::thread::sleep(Duration::from_secs(2));
        Cluster {
            scheduler,
            executors,
            url: format!("ballista://{scheduler_address}"),
        }
    }
}

/// Every table's CSV in `bundle/tables`, by name.
pub(super) fn tables(bundle: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(bundle.join("tables"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// Asserts that bundle `other` has every table of bundle `expected` (more than 20), byte for
/// byte, and no other; `how` says how `other` was made.
pub(super) fn assert_same_tables(expected: &Path, other: &Path, how: &str) {
    let (expected, other) = (tables(expected), tables(other));
    assert!(expected.len() > 20, "{} tables", expected.len());
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        other.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &expected {
        assert!(other[name] == *bytes, "{name} differs {how}");
    }
}

pub(super) fn setup(name: &str) -> crate::Workdir {
    let dir = workdir(name);
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    // The extract at one absolute path, which every executor reads.
    std::fs::write(
        dir.join("sna.toml"),
        format!("data_dir = \"{}\"\n", sample.display()),
    )
    .unwrap();
    dir
}

#[test]
fn a_run_on_a_cluster_gives_the_local_tables_byte_for_byte() {
    let dir = setup("cluster-run");
    assert_success(&sna(
        &dir,
        &["run", "--quiet", "--no-cache", "--out", "local"],
    ));
    let mut cluster = Cluster::start(&dir);
    let output = sna(
        &dir,
        &[
            "run",
            "--quiet",
            "--no-cache",
            "--engine",
            &cluster.url,
            "--out",
            "distributed",
        ],
    );
    cluster.scheduler.assert_running();
    assert_success(&output);
    assert_same_tables(
        &dir.join("local"),
        &dir.join("distributed"),
        "on the cluster",
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("distributed/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["engine"], cluster.url.as_str());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("local/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["engine"], "local");

    // A partner's query runs there too.
    let output = sna(
        &dir,
        &[
            "query",
            "--format",
            "csv",
            "--engine",
            &cluster.url,
            "SELECT count(*) AS n, round(sum(rate_lower(1, 1000, 1000)), 3) AS l FROM sv_offences",
        ],
    );
    assert_success(&output);
    let here = sna(
        &dir,
        &[
            "query",
            "--format",
            "csv",
            "SELECT count(*) AS n, round(sum(rate_lower(1, 1000, 1000)), 3) AS l FROM sv_offences",
        ],
    );
    assert_eq!(crate::stdout(&output), crate::stdout(&here));

    // An executor lost mid-run: Ballista runs its tasks again on the other, or the run fails
    // saying so; either way no partial bundle.
    let mut run = Command::new(env!("CARGO_BIN_EXE_sna"))
        .args([
            "run",
            "--quiet",
            "--no-cache",
            "--engine",
            &cluster.url,
            "--out",
            "after-loss",
        ])
        .current_dir(&dir)
        .env("XDG_CACHE_HOME", dir.join(".cache-home"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let lost = cluster.executors.pop().unwrap();
    drop(lost);
    let started = Instant::now();
    while run.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(600) {
            let _ = run.kill();
            panic!("the run after losing an executor still running after 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let output = run.wait_with_output().unwrap();
    let err = stderr(&output);
    assert!(!err.contains("panicked"), "{err}");
    if output.status.success() {
        assert_same_tables(
            &dir.join("local"),
            &dir.join("after-loss"),
            "after losing an executor",
        );
    } else {
        assert_eq!(output.status.code(), Some(1), "{err}");
        assert!(err.starts_with("error: "), "{err}");
        assert!(!dir.join("after-loss").exists(), "a partial bundle: {err}");
    }
}

#[test]
fn a_cluster_that_is_not_there_is_named() {
    let dir = setup("cluster-absent");
    let port = free_ports(1)[0];
    let url = format!("ballista://127.0.0.1:{port}");
    let output = sna(
        &dir,
        &[
            "run",
            "--quiet",
            "--no-cache",
            "--engine",
            &url,
            "--out",
            "bundle",
        ],
    );
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!dir.join("bundle").exists());
}
