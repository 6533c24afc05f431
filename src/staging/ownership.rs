//! Whether a destination may be replaced: it is clear of what the command reads, and it is
//! missing, empty, or an output of the same kind holding exactly the files its manifest lists
//! (earlier outputs recognised by their structure). Paths are compared where they are and
//! where their links lead.

use super::*;

/// Refuses a destination that is, holds or lies inside a protected directory.
pub fn check_clear_of(destination: &Path, protected: &[&Path]) -> Result<(), StagingError> {
    if crate::sources::remote::is_remote(destination) {
        return Err(StagingError::Remote {
            path: destination.to_path_buf(),
        });
    }
    for target in [location(destination), resolve(destination)] {
        // An extract in an object store shares nothing with a local destination.
        let local = protected
            .iter()
            .filter(|d| !crate::sources::remote::is_remote(d));
        for dir in local {
            let dir_resolved = resolve(dir);
            let relation = if target == dir_resolved {
                "is"
            } else if dir_resolved.starts_with(&target) {
                "contains"
            } else if target.starts_with(&dir_resolved) {
                "is inside"
            } else {
                continue;
            };
            return Err(StagingError::Protected {
                path: destination.to_path_buf(),
                relation,
                protected: dir.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// Checks that `destination` is missing, an empty directory, or a complete output of `kind`.
pub fn check_replaceable(destination: &Path, kind: OutputKind) -> Result<(), StagingError> {
    let meta = match std::fs::symlink_metadata(destination) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("reading", destination)(e)),
    };
    if !meta.is_dir() {
        return Err(StagingError::NotADirectory {
            path: destination.to_path_buf(),
            noun: kind.noun(),
        });
    }
    let mut entries = std::fs::read_dir(destination).map_err(io("reading", destination))?;
    if entries.next().is_none() {
        return Ok(());
    }
    let not_ours = || StagingError::NotOurs {
        path: destination.to_path_buf(),
        noun: kind.noun(),
    };
    // The manifest is read only when it is a regular file: a named pipe there would block.
    let manifest_path = destination.join(MANIFEST);
    if !std::fs::symlink_metadata(&manifest_path).is_ok_and(|m| m.is_file()) {
        return Err(not_ours());
    }
    let manifest = std::fs::read_to_string(&manifest_path).map_err(|_| not_ours())?;
    let manifest: serde_json::Value = serde_json::from_str(&manifest).map_err(|_| not_ours())?;
    if !is_kind(&manifest, kind) {
        return Err(not_ours());
    }
    // What the tool wrote: the files the manifest lists with their hashes or, for outputs of
    // the release before manifests listed them, the files their structure names.
    let listed: BTreeMap<String, Option<String>> = match &manifest["files"] {
        serde_json::Value::Array(files) => {
            let mut listed = BTreeMap::new();
            for file in files {
                // A bare name is the first listing format (names without hashes).
                if let Some(path) = file.as_str() {
                    listed.insert(path.to_owned(), None);
                    continue;
                }
                let entry: FileEntry =
                    serde_json::from_value(file.clone()).map_err(|_| not_ours())?;
                listed.insert(entry.path, Some(entry.sha256));
            }
            listed
        }
        serde_json::Value::Null => legacy_files(&manifest, kind).ok_or_else(not_ours)?,
        _ => return Err(not_ours()),
    };
    let mut foreign = Vec::new();
    for file in relative_files(destination)? {
        if file == MANIFEST
            || DESKTOP_LITTER
                .iter()
                .any(|l| file.rsplit('/').next() == Some(*l))
        {
            continue;
        }
        let full = destination.join(&file);
        let regular = std::fs::symlink_metadata(&full).is_ok_and(|m| m.is_file());
        let written = match listed.get(&file) {
            None => false,
            Some(None) => regular,
            Some(Some(sha256)) => {
                regular && crate::output::sha256_file(&full).is_ok_and(|(hash, _)| hash == *sha256)
            }
        };
        if !written {
            foreign.push(if listed.contains_key(&file) {
                format!("{file} (changed since it was written)")
            } else {
                file
            });
        }
    }
    if foreign.is_empty() {
        return Ok(());
    }
    let mut files = foreign
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if foreign.len() > 5 {
        files.push_str(&format!(" and {} more", foreign.len() - 5));
    }
    Err(StagingError::ForeignFiles {
        path: destination.to_path_buf(),
        noun: kind.noun(),
        files: crate::text::printable(&files).into_owned(),
    })
}

/// The files an output written before manifests listed their files holds, from its
/// manifest's structure: a bundle's jobs and charts, a pack's tables. `None` when the
/// structure is not there.
pub(super) fn legacy_files(
    manifest: &serde_json::Value,
    kind: OutputKind,
) -> Option<BTreeMap<String, Option<String>>> {
    let mut files = BTreeMap::new();
    let mut add = |path: String| {
        files.insert(path, None);
    };
    match kind {
        OutputKind::Bundle => {
            for job in manifest["jobs"].as_array()? {
                let name = job["job"].as_str()?;
                add(format!("tables/{name}.csv"));
                add(format!("tables/{name}.parquet"));
            }
            for chart in manifest["charts"].as_array()? {
                if chart["drawn"].as_bool() == Some(true) {
                    let name = chart["name"].as_str()?;
                    add(format!("charts/{name}.svg"));
                    add(format!("charts/{name}.png"));
                }
            }
            for fixed in [
                "index.html",
                "summary.md",
                "tables/README.md",
                "data_quality.json",
            ] {
                add(fixed.to_owned());
            }
        }
        OutputKind::PartnerPack => {
            for table in manifest["tables"].as_array()? {
                let name = table["name"].as_str()?;
                add(format!("{name}.csv"));
                add(format!("{name}.parquet"));
            }
            add("README.md".to_owned());
        }
        OutputKind::Extract | OutputKind::ImportedExtract => return None,
    }
    Some(files)
}

/// Whether `dir` holds an output of `kind`, by its manifest (an extract imported by
/// `sna import`, a partner pack): how commands that read a directory recognise what it is.
pub fn holds(dir: &Path, kind: OutputKind) -> bool {
    std::fs::read_to_string(dir.join(MANIFEST))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|manifest| is_kind(&manifest, kind))
}

/// Whether a manifest marks an output of `kind`. Bundles written before manifests had a `kind`
/// are recognised by their `tool`, `jobs` and `charts`.
pub(super) fn is_kind(manifest: &serde_json::Value, kind: OutputKind) -> bool {
    if let Some(marker) = manifest["kind"].as_str() {
        return marker == kind.marker();
    }
    kind == OutputKind::Bundle
        && manifest["tool"]
            .as_str()
            .is_some_and(|t| t.starts_with("vrn-sna "))
        && manifest["jobs"].is_array()
        && manifest["charts"].is_array()
}

/// Every file below `dir` (symbolic links included, not followed), relative, `/`-separated,
/// sorted.
pub fn relative_files(dir: &Path) -> Result<Vec<String>, StagingError> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).map_err(io("reading", &current))? {
            let entry = entry.map_err(io("reading", &current))?;
            let path = entry.path();
            let file_type = entry.file_type().map_err(io("reading", &path))?;
            if file_type.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap_or(&path);
                let parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The absolute, symlink-resolved form of `path`, which need not exist: each existing prefix
/// is resolved by the file system (so `..` after a symbolic link goes where the link goes), and
/// only the part that does not exist yet is joined as text. A final component that is a
/// symbolic link is followed: this is where writing `path` would land.
pub fn resolve(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut current = PathBuf::from("/");
    let mut missing = false;
    for component in absolute.components() {
        match component {
            Component::RootDir | Component::Prefix(_) => {
                current = PathBuf::from(component.as_os_str())
            }
            Component::CurDir => {}
            Component::ParentDir if missing => {
                current.pop();
            }
            other => {
                let next = current.join(other.as_os_str());
                if missing {
                    current = next;
                } else if other == Component::ParentDir {
                    current = next.canonicalize().unwrap_or_else(|_| {
                        let mut up = current.clone();
                        up.pop();
                        up
                    });
                } else {
                    match next.canonicalize() {
                        Ok(resolved) => current = resolved,
                        Err(_) => {
                            missing = true;
                            current = next;
                        }
                    }
                }
            }
        }
    }
    current
}

/// Where `path` itself lives: its parent resolved as [`resolve`] does, and its own name
/// appended without following it. A link inside a protected directory is inside it, wherever it
/// points.
pub fn location(path: &Path) -> PathBuf {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => resolve(parent).join(name),
        (_, Some(name)) => resolve(Path::new(".")).join(name),
        _ => resolve(path),
    }
}
