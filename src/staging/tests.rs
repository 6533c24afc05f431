//! Tests of `staging`.

use super::*;

fn root(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!(
        "vrn-staging-{name}-{}-{:x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&root).unwrap();
    root
}

fn publish_with(staging: Staging, files: &[(&str, &str)]) -> Published {
    for (name, text) in files {
        std::fs::write(staging.path().join(name), text).unwrap();
    }
    let listed = staging.files().unwrap();
    let manifest = serde_json::json!({"kind": OutputKind::Bundle.marker(), "files": listed});
    std::fs::write(staging.path().join(MANIFEST), manifest.to_string()).unwrap();
    staging.publish().unwrap()
}

#[test]
fn publish_exchanges_and_drop_discards() {
    let root = root("publish");
    let destination = root.join("bundle");
    let first = publish_with(
        Staging::new(&destination, OutputKind::Bundle, &[]).unwrap(),
        &[("old.txt", "old")],
    );
    assert!(!first.gap);

    let staging = Staging::new(&destination, OutputKind::Bundle, &[]).unwrap();
    std::fs::write(staging.path().join("new.txt"), "new").unwrap();
    drop(staging);
    assert!(
        destination.join("old.txt").exists(),
        "a dropped staging leaves the old one"
    );

    let second = publish_with(
        Staging::new(&destination, OutputKind::Bundle, &[]).unwrap(),
        &[("new.txt", "new")],
    );
    assert!(!second.gap, "this file system exchanges in one step");
    assert!(destination.join("new.txt").exists());
    assert!(!destination.join("old.txt").exists());
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 1, "no leftovers");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn refuses_what_is_not_ours() {
    let root = root("refuse");
    let file = root.join("file.txt");
    std::fs::write(&file, "mine").unwrap();
    assert!(matches!(
        Staging::new(&file, OutputKind::Bundle, &[]),
        Err(StagingError::NotADirectory { .. })
    ));
    let mine = root.join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "mine").unwrap();
    assert!(matches!(
        Staging::new(&mine, OutputKind::Bundle, &[]),
        Err(StagingError::NotOurs { .. })
    ));
    // A partner pack is not a bundle.
    std::fs::write(
        mine.join(MANIFEST),
        serde_json::json!({"kind": OutputKind::PartnerPack.marker()}).to_string(),
    )
    .unwrap();
    assert!(matches!(
        Staging::new(&mine, OutputKind::Bundle, &[]),
        Err(StagingError::NotOurs { .. })
    ));
    // Ours, but with a file the user added.
    let bundle = root.join("bundle");
    publish_with(
        Staging::new(&bundle, OutputKind::Bundle, &[]).unwrap(),
        &[("index.html", "x")],
    );
    std::fs::write(bundle.join(".DS_Store"), "").unwrap();
    assert!(Staging::new(&bundle, OutputKind::Bundle, &[]).is_ok());
    std::fs::write(bundle.join("my notes.docx"), "mine").unwrap();
    let error = Staging::new(&bundle, OutputKind::Bundle, &[]).unwrap_err();
    assert!(error.to_string().contains("my notes.docx"), "{error}");
    assert_eq!(std::fs::read(mine.join("notes.txt")).unwrap(), b"mine");
    assert_eq!(
        std::fs::read(bundle.join("my notes.docx")).unwrap(),
        b"mine"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn refuses_the_data_directory_and_around_it() {
    let root = root("protect");
    let data = root.join("data").join("sample");
    std::fs::create_dir_all(&data).unwrap();
    for (out, relation) in [
        (data.clone(), "is"),
        (root.join("data"), "contains"),
        (data.join("bundle"), "is inside"),
        (data.join("..").join("sample"), "is"),
    ] {
        match Staging::new(&out, OutputKind::Bundle, &[&data]) {
            Err(StagingError::Protected { relation: r, .. }) => {
                assert_eq!(r, relation, "{}", out.display())
            }
            other => panic!("{}: {other:?}", out.display()),
        }
    }
    assert!(Staging::new(&root.join("out"), OutputKind::Bundle, &[&data]).is_ok());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn abandoned_stagings_are_removed_live_ones_kept() {
    let root = root("abandoned");
    let destination = root.join("bundle");
    // A dead run: its directory and its unlocked lock file.
    let dead = root.join(".bundle.partial-1-dead");
    std::fs::create_dir(&dead).unwrap();
    std::fs::write(dead.join("half.csv"), "x").unwrap();
    std::fs::write(with_suffix(&dead, ".lock"), "").unwrap();
    // A dead run with no lock file left at all.
    std::fs::create_dir(root.join(".bundle.partial-2-gone")).unwrap();
    // A live run in this process.
    let live = Staging::new(&destination, OutputKind::Bundle, &[]).unwrap();
    let live_dir = live.path().to_path_buf();
    assert!(!dead.exists() && !with_suffix(&dead, ".lock").exists());
    assert!(!root.join(".bundle.partial-2-gone").exists());
    let other = Staging::new(&destination, OutputKind::Bundle, &[]).unwrap();
    assert!(live_dir.is_dir(), "a live run's staging is left alone");
    drop(other);
    drop(live);
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn manifests_without_hashes_are_trusted_only_as_far_as_their_structure_goes() {
    let root = root("legacy");
    let legacy = root.join("bundle");
    std::fs::create_dir(&legacy).unwrap();
    let manifest = serde_json::json!({
        "tool": "vrn-sna 0.1.0",
        "jobs": [{"job": "headline"}],
        "charts": [{"name": "trend_police", "drawn": true}],
    });
    std::fs::write(legacy.join(MANIFEST), manifest.to_string()).unwrap();
    std::fs::create_dir(legacy.join("tables")).unwrap();
    std::fs::write(legacy.join("tables/headline.csv"), "x").unwrap();
    std::fs::write(legacy.join("index.html"), "x").unwrap();
    assert!(
        Staging::new(&legacy, OutputKind::Bundle, &[]).is_ok(),
        "a whole old bundle"
    );
    std::fs::write(legacy.join("notes.docx"), "mine").unwrap();
    let error = Staging::new(&legacy, OutputKind::Bundle, &[]).unwrap_err();
    assert!(error.to_string().contains("notes.docx"), "{error}");
    // A kind with no files and no structure, or files that are not a list: not ours.
    for manifest in [
        serde_json::json!({"kind": OutputKind::Bundle.marker()}),
        serde_json::json!({"kind": OutputKind::Bundle.marker(), "files": "*"}),
        serde_json::json!({"kind": OutputKind::PartnerPack.marker()}),
    ] {
        let dir = root.join("odd");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join(MANIFEST), manifest.to_string()).unwrap();
        std::fs::write(dir.join("my.xlsx"), "mine").unwrap();
        let kind = if manifest["kind"] == OutputKind::PartnerPack.marker() {
            OutputKind::PartnerPack
        } else {
            OutputKind::Bundle
        };
        assert!(Staging::new(&dir, kind, &[]).is_err(), "{manifest}");
        assert!(dir.join("my.xlsx").exists());
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_file_changed_since_it_was_written_is_not_replaced() {
    let root = root("edited");
    let bundle = root.join("bundle");
    publish_with(
        Staging::new(&bundle, OutputKind::Bundle, &[]).unwrap(),
        &[("summary.md", "as written")],
    );
    assert!(Staging::new(&bundle, OutputKind::Bundle, &[]).is_ok());
    std::fs::write(bundle.join("summary.md"), "edited for the board").unwrap();
    let error = Staging::new(&bundle, OutputKind::Bundle, &[]).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("summary.md (changed since it was written)"),
        "{error}"
    );
    assert_eq!(
        std::fs::read(bundle.join("summary.md")).unwrap(),
        b"edited for the board"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

/// A reader polling the output through hundreds of replacements never finds it missing:
/// the swap is one exchange, not two renames with a gap between them.
#[test]
fn readers_never_miss_the_output_across_replacements() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let root = root("readers");
    let bundle = root.join("bundle");
    publish_with(
        Staging::new(&bundle, OutputKind::Bundle, &[]).unwrap(),
        &[("index.html", "0")],
    );
    let stop = Arc::new(AtomicBool::new(false));
    let misses = Arc::new(AtomicU64::new(0));
    let reader = {
        let (stop, misses, index) = (
            Arc::clone(&stop),
            Arc::clone(&misses),
            bundle.join("index.html"),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if std::fs::metadata(&index).is_err() {
                    misses.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    for i in 0..300 {
        let published = publish_with(
            Staging::new(&bundle, OutputKind::Bundle, &[]).unwrap(),
            &[("index.html", &i.to_string())],
        );
        assert!(!published.gap);
    }
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    assert_eq!(misses.load(Ordering::Relaxed), 0);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn dead_stagings_of_other_outputs_go_only_with_a_free_lock() {
    let root = root("others");
    // A dead run for another bundle name: a directory and its free lock file.
    let other = root.join(".old-title.partial-42-0badcafe");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(with_suffix(&other, ".lock"), "").unwrap();
    // A user's directory that merely looks similar, with no lock file.
    let lookalike = root.join(".notes.partial-1-deadbeef");
    std::fs::create_dir(&lookalike).unwrap();
    drop(Staging::new(&root.join("bundle"), OutputKind::Bundle, &[]).unwrap());
    assert!(!other.exists() && !with_suffix(&other, ".lock").exists());
    assert!(lookalike.exists(), "no lock file: not ours to remove");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_failed_run_removes_the_directories_it_created() {
    let root = root("parents");
    drop(Staging::new(&root.join("new1/new2/bundle"), OutputKind::Bundle, &[]).unwrap());
    assert!(!root.join("new1").exists());
    std::fs::create_dir(root.join("kept")).unwrap();
    drop(Staging::new(&root.join("kept/new/bundle"), OutputKind::Bundle, &[]).unwrap());
    assert!(root.join("kept").is_dir() && !root.join("kept/new").exists());
    std::fs::remove_dir_all(&root).unwrap();
}

#[cfg(unix)]
#[test]
fn dot_dot_after_a_symbolic_link_goes_where_the_link_goes() {
    let root = root("dotdot");
    std::fs::create_dir_all(root.join("data/reference")).unwrap();
    std::fs::create_dir(root.join("work")).unwrap();
    std::os::unix::fs::symlink(root.join("data/reference"), root.join("work/ref")).unwrap();
    let sneaky = root.join("work/ref/../bundle");
    assert_eq!(resolve(&sneaky), resolve(&root.join("data")).join("bundle"));
    match Staging::new(&sneaky, OutputKind::Bundle, &[&root.join("data")]) {
        Err(StagingError::Protected { relation, .. }) => assert_eq!(relation, "is inside"),
        other => panic!("{other:?}"),
    }
    // `.` stages beside the directory, not inside it.
    let empty = root.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let staging = Staging::new(&empty.join("."), OutputKind::Bundle, &[]).unwrap();
    assert_eq!(staging.path().parent(), Some(resolve(&root).as_path()));
    drop(staging);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn an_old_copy_left_between_two_renames_is_restored() {
    let root = root("restore");
    let destination = root.join("bundle");
    let old = root.join(".bundle.partial-3-dead.old");
    std::fs::create_dir(&old).unwrap();
    std::fs::write(old.join("index.html"), "previous").unwrap();
    let manifest =
        serde_json::json!({"kind": OutputKind::Bundle.marker(), "jobs": [], "charts": []});
    std::fs::write(old.join(MANIFEST), manifest.to_string()).unwrap();
    drop(Staging::new(&destination, OutputKind::Bundle, &[]).unwrap());
    assert_eq!(
        std::fs::read(destination.join("index.html")).unwrap(),
        b"previous"
    );
    std::fs::remove_dir_all(&root).unwrap();
}
