use super::*;

use arrow::array::{Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

fn setup(name: &str) -> (PathBuf, Config) {
    let root = std::env::temp_dir().join(format!("vrn-sna-cache-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("extract")).unwrap();
    std::fs::write(root.join("extract/offences.parquet"), b"offences").unwrap();
    let config = Config {
        data_dir: root.join("extract"),
        output_dir: root.join("reports"),
        cache_dir: Some(root.join("cache")),
        ..Config::default()
    };
    (root, config)
}

fn sample_batch() -> (SchemaRef, RecordBatch) {
    let schema: SchemaRef = Arc::new(Schema::new(vec![
        Field::new("lsoa_code", DataType::Utf8, true),
        Field::new("offences", DataType::Int64, false),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(StringArray::from(vec![Some("E01000001"), None])),
            Arc::new(Int64Array::from(vec![3, 4])),
        ],
    )
    .unwrap();
    (schema, batch)
}

#[test]
fn a_stored_view_is_found_under_its_key_only() {
    let (root, config) = setup("view");
    let cache = Cache::open(&config, &config.data_dir).unwrap().unwrap();
    assert_eq!(cache.dir(), root.join("cache"));
    // Created with its tag, and the extract's stamps remembered.
    assert!(cache.dir().join("CACHEDIR.TAG").is_file());
    assert_eq!(
        std::fs::read_dir(cache.dir().join("inputs"))
            .unwrap()
            .count(),
        1
    );
    let key = cache.key("view", &["sv_offences", "sql", "{}", ""]);
    assert!(cache.view("sv_offences", &key).is_none());
    let (schema, batch) = sample_batch();
    cache
        .store_view("sv_offences", &key, &schema, &[batch])
        .unwrap();
    let entry = cache.view("sv_offences", &key).unwrap();
    assert_eq!(entry.rows, 2);
    assert!(cache.dir().join("CACHEDIR.TAG").is_file());
    // Another key, another view name: not found.
    let other = cache.key(
        "view",
        &["sv_offences", "sql", "{}", "2020-04-01 2021-03-31"],
    );
    assert_ne!(other, key);
    assert!(cache.view("sv_offences", &other).is_none());
    assert!(cache.view("sv_victims", &key).is_none());
    // Storing the same entry again (as a second command would) keeps one.
    let (schema, batch) = sample_batch();
    cache
        .store_view("sv_offences", &key, &schema, &[batch])
        .unwrap();
    let status = status(cache.dir()).unwrap();
    assert_eq!(status.views.len(), 1);
    assert!(status.views[0].intact);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn a_changed_input_changes_every_key() {
    let (root, config) = setup("inputs");
    let before = Cache::open(&config, &config.data_dir).unwrap().unwrap();
    let key = before.key("view", &["v"]);
    std::fs::write(config.data_dir.join("offences.parquet"), b"offenceS").unwrap();
    let after = Cache::open(&config, &config.data_dir).unwrap().unwrap();
    assert_ne!(after.key("view", &["v"]), key);
    // The same bytes again: the same key, whatever the modification time.
    std::fs::write(config.data_dir.join("offences.parquet"), b"offences").unwrap();
    let again = Cache::open(&config, &config.data_dir).unwrap().unwrap();
    assert_eq!(again.key("view", &["v"]), key);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn a_corrupt_entry_is_not_trusted() {
    let (root, config) = setup("corrupt");
    let cache = Cache::open(&config, &config.data_dir).unwrap().unwrap();
    let key = cache.key("view", &["v"]);
    let (schema, batch) = sample_batch();
    cache.store_view("v", &key, &schema, &[batch]).unwrap();
    let data = cache.view("v", &key).unwrap().data;
    let mut bytes = std::fs::read(&data).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&data, bytes).unwrap();
    assert!(cache.view("v", &key).is_none());
    assert!(!status(cache.dir()).unwrap().views[0].intact);
    // Computed again, the entry replaces the corrupt one.
    let (schema, batch) = sample_batch();
    cache.store_view("v", &key, &schema, &[batch]).unwrap();
    assert_eq!(cache.view("v", &key).unwrap().rows, 2);
    assert!(status(cache.dir()).unwrap().views[0].intact);

    // A validation report edited after it was written is not trusted either.
    let report = serde_json::json!({"rows": 3});
    cache.store_validation("k", &report).unwrap();
    assert_eq!(cache.validation::<serde_json::Value>("k"), Some(report));
    let path = cache.dir().join("validation/k.json");
    let text = std::fs::read_to_string(&path).unwrap().replace('3', "4");
    std::fs::write(&path, text).unwrap();
    assert_eq!(cache.validation::<serde_json::Value>("k"), None);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn no_cache_and_someone_elses_directory() {
    let (root, mut config) = setup("ours");
    config.no_cache = true;
    assert!(Cache::open(&config, &config.data_dir).unwrap().is_none());
    config.no_cache = false;
    config.cache_dir = Some(root.join("mine"));
    std::fs::create_dir_all(root.join("mine")).unwrap();
    std::fs::write(root.join("mine/thesis.docx"), b"years of work").unwrap();
    let error = Cache::open(&config, &config.data_dir).unwrap_err();
    assert!(matches!(error, CacheError::NotOurs { .. }), "{error}");
    assert!(error.to_string().contains("cache_dir"), "{error}");
    assert!(matches!(
        clear(&root.join("mine")),
        Err(CacheError::NotOurs { .. })
    ));
    assert!(root.join("mine/thesis.docx").is_file());

    // Its own cache is cleared; a file someone put in it afterwards is left, with the
    // directory.
    config.cache_dir = Some(root.join("cache"));
    let cache = Cache::open(&config, &config.data_dir).unwrap().unwrap();
    let (schema, batch) = sample_batch();
    cache
        .store_view("v", &cache.key("view", &[]), &schema, &[batch])
        .unwrap();
    std::fs::write(root.join("cache/notes.txt"), b"keep me").unwrap();
    assert!(clear(&root.join("cache")).unwrap() > 0);
    assert_eq!(
        std::fs::read(root.join("cache/notes.txt")).unwrap(),
        b"keep me"
    );
    assert!(!root.join("cache/views").exists() && !root.join("cache/CACHEDIR.TAG").exists());
    std::fs::remove_file(root.join("cache/notes.txt")).unwrap();
    let cache = Cache::open(&config, &config.data_dir).unwrap().unwrap();
    assert!(clear(cache.dir()).unwrap() > 0);
    assert!(!root.join("cache").exists());

    // A cache inside the extract, or holding the outputs, is refused.
    config.cache_dir = Some(config.data_dir.join("cache"));
    assert!(matches!(
        Cache::open(&config, &config.data_dir),
        Err(CacheError::Overlaps { .. })
    ));
    config.cache_dir = Some(root.clone());
    assert!(matches!(
        Cache::open(&config, &config.data_dir),
        Err(CacheError::Overlaps { .. })
    ));

    // A cache left half made by a killed command (an untagged directory holding only what
    // the cache writes) is still ours.
    config.cache_dir = Some(root.join("half"));
    std::fs::create_dir_all(root.join("half/views/.v-1.2.3.partial")).unwrap();
    std::fs::write(root.join("half/.CACHEDIR.TAG.1.2.partial"), b"").unwrap();
    let cache = Cache::open(&config, &config.data_dir).unwrap().unwrap();
    assert!(cache.dir().join("CACHEDIR.TAG").is_file());
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn old_entries_of_a_view_are_evicted() {
    let (root, config) = setup("evict");
    let cache = Cache::open(&config, &config.data_dir).unwrap().unwrap();
    for i in 0..KEEP_PER_VIEW + 2 {
        let (schema, batch) = sample_batch();
        cache
            .store_view(
                "v",
                &cache.key("view", &[&i.to_string()]),
                &schema,
                &[batch],
            )
            .unwrap();
        // Distinct modification times.
        std::thread::sleep(std::time::Duration::from_millis(15));
    }
    let (schema, batch) = sample_batch();
    cache
        .store_view("w", &cache.key("view", &["w"]), &schema, &[batch])
        .unwrap();
    let status = status(cache.dir()).unwrap();
    let of = |name: &str| status.views.iter().filter(|v| v.view == name).count();
    assert_eq!(of("v"), KEEP_PER_VIEW);
    assert_eq!(of("w"), 1);
    // The newest is kept.
    let newest = cache.key("view", &[&(KEEP_PER_VIEW + 1).to_string()]);
    assert!(cache.view("v", &newest).is_some());
    let _ = std::fs::remove_dir_all(root);
}
