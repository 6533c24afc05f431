//! Rebuilds the crate when the SQL in `queries/` changes: `sna` embeds a copy of it (used when
//! no `queries/` directory is configured), and cargo does not otherwise see new or edited files.
//!
//! Also sets `SNA_BUILD_ID`, a hash of the sources the binary is built from (`src/`,
//! `queries/`, `data/reference/`, the manifest and lock file), which keys the cache
//! (`src/cache`): two builds of one version from different code never share cache entries.
//! A 64-bit std hash, not a cryptographic one: it identifies, it does not protect.

use std::hash::{DefaultHasher, Hasher};
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=queries");
    println!("cargo:rerun-if-changed=data/reference");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=Cargo.lock");
    let mut hasher = DefaultHasher::new();
    for root in [
        "src",
        "queries",
        "data/reference",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        hash_tree(Path::new(root), &mut hasher);
    }
    println!("cargo:rustc-env=SNA_BUILD_ID={:016x}", hasher.finish());
}

/// Hashes the relative paths and contents of the files under `path`, in name order.
fn hash_tree(path: &Path, hasher: &mut DefaultHasher) {
    if path.is_dir() {
        let mut entries: Vec<_> = match std::fs::read_dir(path) {
            Ok(entries) => entries.filter_map(Result::ok).map(|e| e.path()).collect(),
            Err(_) => return,
        };
        entries.sort();
        for entry in entries {
            hash_tree(&entry, hasher);
        }
    } else if let Ok(bytes) = std::fs::read(path) {
        hasher.write(path.to_string_lossy().as_bytes());
        hasher.write(&bytes);
    }
}
