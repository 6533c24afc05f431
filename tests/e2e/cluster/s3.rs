//! An extract in an S3 bucket (`--data s3://BUCKET/PREFIX`), read by `sna` itself and by a
//! cluster's scheduler and executors. The bucket is served by [`Bucket`], a small S3 endpoint
//! over a directory (the object_store client's HEAD, ranged GET and ListObjectsV2, unsigned,
//! over plain HTTP on loopback): enough to test the tool's side without the network.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::ballista::{Cluster, assert_same_tables};
use crate::{assert_success, sna, stderr, stdout};

/// An S3 endpoint serving the files under `root` as the objects of every bucket, on two ports:
/// one for `sna` and one for the cluster's processes, each counting the requests it answers.
struct Bucket {
    ports: [u16; 2],
    requests: [Arc<AtomicUsize>; 2],
}

/// Whose port.
#[derive(Clone, Copy)]
enum Caller {
    Client = 0,
    Cluster = 1,
}

impl Bucket {
    fn serve(root: PathBuf) -> Bucket {
        let mut ports = [0; 2];
        let requests = [Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0))];
        for (i, counter) in requests.iter().enumerate() {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            ports[i] = listener.local_addr().unwrap().port();
            let (root, counted) = (root.clone(), Arc::clone(counter));
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let root = root.clone();
                    counted.fetch_add(1, Ordering::SeqCst);
                    std::thread::spawn(move || {
                        let _ = answer(&root, stream);
                    });
                }
            });
        }
        Bucket { ports, requests }
    }

    /// The environment that points the object_store crate's S3 client at this endpoint.
    fn env(&self, caller: Caller) -> Vec<(&'static str, String)> {
        vec![
            (
                "AWS_ENDPOINT",
                format!("http://127.0.0.1:{}", self.ports[caller as usize]),
            ),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
            ("AWS_SKIP_SIGNATURE", "true".to_owned()),
            ("AWS_REGION", "eu-west-2".to_owned()),
        ]
    }

    fn served(&self, caller: Caller) -> usize {
        self.requests[caller as usize].load(Ordering::SeqCst)
    }
}

/// Answers one request (the connection is closed after it).
fn answer(root: &Path, stream: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let mut range = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("range")
        {
            range = Some(value.trim().to_owned());
        }
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = decode(path);
    // Path style: /BUCKET/KEY.
    let key = path
        .trim_start_matches('/')
        .split_once('/')
        .map_or("", |(_, k)| k);
    let mut out = stream;
    if query.contains("list-type=2") {
        let prefix = query
            .split('&')
            .find_map(|p| p.strip_prefix("prefix="))
            .map(decode)
            .unwrap_or_default();
        let mut files = Vec::new();
        walk(root, root, &mut files);
        files.sort();
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult>");
        for (name, size) in files.iter().filter(|(n, _)| n.starts_with(&prefix)) {
            let etag = etag(&root.join(name));
            xml.push_str(&format!(
                "<Contents><Key>{name}</Key><Size>{size}</Size><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>{etag}</ETag></Contents>"
            ));
        }
        xml.push_str("<IsTruncated>false</IsTruncated></ListBucketResult>");
        return respond(&mut out, "200 OK", &[], xml.as_bytes(), method);
    }
    let file = root.join(key);
    let Ok(bytes) = std::fs::read(&file)
        .map_err(|_| ())
        .and_then(|b| if file.is_file() { Ok(b) } else { Err(()) })
    else {
        let xml = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code></Error>";
        return respond(&mut out, "404 Not Found", &[], xml.as_bytes(), method);
    };
    let total = bytes.len();
    let etag = etag(&file);
    match range.as_deref().and_then(|r| r.strip_prefix("bytes=")) {
        Some(spec) => {
            let (a, b) = spec.split_once('-').unwrap_or((spec, ""));
            let (start, end) = match (a.parse::<usize>().ok(), b.parse::<usize>().ok()) {
                (Some(s), Some(e)) => (s, e.min(total - 1)),
                (Some(s), None) => (s, total - 1),
                (None, Some(n)) => (total.saturating_sub(n), total - 1),
                (None, None) => (0, total - 1),
            };
            let headers = [
                ("ETag".to_owned(), etag),
                (
                    "Content-Range".to_owned(),
                    format!("bytes {start}-{end}/{total}"),
                ),
            ];
            respond(
                &mut out,
                "206 Partial Content",
                &headers,
                &bytes[start..=end],
                method,
            )
        }
        None => respond(
            &mut out,
            "200 OK",
            &[("ETag".to_owned(), etag)],
            &bytes,
            method,
        ),
    }
}

/// An object's ETag: a hash of its content, as S3's is (the MD5 of an object uploaded whole).
fn etag(file: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::fs::read(file).unwrap().hash(&mut hasher);
    format!("\"{:016x}\"", hasher.finish())
}

fn respond(
    out: &mut TcpStream,
    status: &str,
    headers: &[(String, String)],
    body: &[u8],
    method: &str,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    if method != "HEAD" {
        out.write_all(body)?;
    }
    out.flush()
}

/// Every file under `dir`, as a key relative to `root` and its size.
fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, u64)>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, files);
        } else {
            let key = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            files.push((key, entry.metadata().map(|m| m.len()).unwrap_or(0)));
        }
    }
}

/// Percent-decoding of a URL path or query value.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `sna` with the bucket's environment.
fn sna_s3(dir: &Path, bucket: &Bucket, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sna"))
        .args(args)
        .envs(bucket.env(Caller::Client))
        .current_dir(dir)
        .env("XDG_CACHE_HOME", dir.join(".cache-home"))
        .output()
        .unwrap()
}

#[test]
fn an_extract_in_s3_gives_the_local_tables_and_runs_on_a_cluster() {
    let dir = super::ballista::setup("cluster-s3");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The bucket holds the sample under `sample/`, and an LSOA lookup of the extract's own.
    let root = dir.join("bucket");
    std::fs::create_dir_all(root.join("sample/reference")).unwrap();
    for entry in std::fs::read_dir(repo.join("data/sample")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, root.join("sample").join(path.file_name().unwrap())).unwrap();
    }
    std::fs::copy(
        repo.join("data/reference/lsoa.csv"),
        root.join("sample/reference/lsoa.csv"),
    )
    .unwrap();
    // And under `big/`, with an LSOA lookup of 100,000 more (made-up) areas: every plan that
    // reads it carries 20 MB, past Ballista's default gRPC message limit of 16 MiB.
    std::fs::create_dir_all(root.join("big/reference")).unwrap();
    for entry in std::fs::read_dir(root.join("sample")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, root.join("big").join(path.file_name().unwrap())).unwrap();
        }
    }
    let mut lookup = std::fs::read_to_string(repo.join("data/reference/lsoa.csv")).unwrap();
    for i in 0..100_000 {
        lookup.push_str(&format!(
            "E09{i:06},Made-up {i},E02999999,Made-up MSOA,E05999999,Made-up ward,E06999999,Made-up district,E22999999,Made-up CSP,E23999999,Made-up force,52.6,-1.1,457000,308000,E09{i:06},{},5,5\n",
            i % 30_000 + 1
        ));
    }
    std::fs::write(root.join("big/reference/lsoa.csv"), lookup).unwrap();
    let bucket = Bucket::serve(root.clone());

    // The local engine reading the bucket writes the tables a run on the files writes, and
    // records the same inputs (hashes and sizes) at their URLs.
    assert_success(&sna(
        &dir,
        &[
            "run",
            "--quiet",
            "--no-cache",
            "--data",
            &root.join("sample").display().to_string(),
            "--out",
            "files",
        ],
    ));
    let run_from = |url: &str, out: &str| {
        sna_s3(
            &dir,
            &bucket,
            &["run", "--quiet", "--data", url, "--out", out],
        )
    };
    assert_success(&run_from("s3://extracts/sample", "bucket-run"));
    assert_same_tables(
        &dir.join("files"),
        &dir.join("bucket-run"),
        "when read from S3",
    );
    let inputs = |bundle: &str| -> Vec<(String, String, u64)> {
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(bundle).join("manifest.json")).unwrap())
                .unwrap();
        manifest["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let path = i["path"].as_str().unwrap();
                let name = path.rsplit('/').next().unwrap().to_owned();
                (
                    name,
                    i["sha256"].as_str().unwrap().to_owned(),
                    i["bytes"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(inputs("files"), inputs("bucket-run"));
    let manifest = std::fs::read_to_string(dir.join("bucket-run/manifest.json")).unwrap();
    assert!(
        manifest.contains("s3://extracts/sample/offences.parquet"),
        "{manifest}"
    );
    assert!(
        manifest.contains("s3://extracts/sample/reference/lsoa.csv"),
        "{manifest}"
    );

    // A scheduler and executors that read the bucket themselves answer a partner's query as
    // the local engine does.
    let mut cluster = Cluster::start_with(&dir, &bucket.env(Caller::Cluster));
    let sql = "SELECT district, count(*) AS n, round(sum(rate_lower(1, 1000, 1000)), 3) AS l \
               FROM sv_offences JOIN lsoa USING (lsoa_code) GROUP BY district ORDER BY district";
    for extract in ["sample", "big"] {
        let remote = sna_s3(
            &dir,
            &bucket,
            &[
                "query",
                "--format",
                "csv",
                "--data",
                &format!("s3://extracts/{extract}"),
                "--engine",
                &cluster.url,
                sql,
            ],
        );
        cluster.scheduler.assert_running();
        assert_success(&remote);
        let here = sna(
            &dir,
            &[
                "query",
                "--format",
                "csv",
                "--data",
                &root.join(extract).display().to_string(),
                sql,
            ],
        );
        assert_success(&here);
        assert_eq!(stdout(&remote), stdout(&here), "{extract}");
        assert!(stdout(&here).lines().count() > 2, "{}", stdout(&here));
    }
    // The scheduler and executors read the bucket themselves (the client reads only footers).
    assert!(bucket.served(Caller::Cluster) > 0);

    // A scheduled refresh of a dashboard from the bucket rebuilds when an object changes (its
    // ETag), and only then.
    let refresh = || {
        let output = sna_s3(
            &dir,
            &bucket,
            &[
                "refresh",
                "--quiet",
                "--data",
                "s3://extracts/sample",
                "--dashboard",
                "site/dashboard",
            ],
        );
        assert_success(&output);
        let status: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("site/dashboard.status.json")).unwrap())
                .unwrap();
        status["outcome"].as_str().unwrap().to_owned()
    };
    assert_eq!(refresh(), "refreshed");
    let istv = root.join("sample/istv.parquet");
    // Uploaded again unchanged: the same ETag, nothing to do.
    std::fs::write(&istv, std::fs::read(&istv).unwrap()).unwrap();
    assert_eq!(refresh(), "up_to_date");
    // Changed (fewer ISTV records): rebuilt.
    let trimmed = dir.join("istv-trimmed.parquet");
    assert_success(&sna(
        &dir,
        &[
            "query",
            "--data",
            &root.join("sample").display().to_string(),
            "SELECT * FROM istv LIMIT 100",
            "--format",
            "parquet",
            "--output",
            &trimmed.display().to_string(),
        ],
    ));
    std::fs::copy(&trimmed, &istv).unwrap();
    assert_eq!(refresh(), "refreshed");

    // What is not there is named, and nothing is written.
    let output = run_from("s3://extracts/elsewhere", "missing");
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("s3://extracts/elsewhere/offences.parquet"),
        "{err}"
    );
    assert!(err.contains("missing"), "{err}");
    assert!(!dir.join("missing").exists());
}

#[test]
fn an_unreachable_store_is_named_without_a_panic() {
    let dir = super::ballista::setup("cluster-s3-absent");
    let port = super::ballista::free_ports(1)[0];
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sna"))
        .args([
            "run",
            "--quiet",
            "--data",
            "s3://extracts/sample",
            "--out",
            "bundle",
        ])
        .env("AWS_ENDPOINT", format!("http://127.0.0.1:{port}"))
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_SKIP_SIGNATURE", "true")
        .env("AWS_REGION", "eu-west-2")
        // The client retries (object_store's default backoff, about a minute) before it
        // gives up.
        .current_dir(&dir)
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("s3://extracts/sample/offences.parquet"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(!dir.join("bundle").exists());
}
