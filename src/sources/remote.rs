//! An extract in an object store: `data_dir = "s3://BUCKET/PREFIX"` (a build with the `s3`
//! feature, which `distributed` includes). The extract's files are then read where they are, by
//! this process and, on a cluster, by the scheduler and every executor, each configured as the
//! `object_store` crate configures S3: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_REGION`, `AWS_ENDPOINT` (an S3-compatible store), `AWS_ALLOW_HTTP`,
//! `AWS_SKIP_SIGNATURE`, … in each process's environment.
//!
//! A directory stays a `Path` through the rest of the tool (`s3://b/p`.join(`offences.parquet`)
//! is the object's URL): [`is_remote`] tells the two apart wherever a file would be read, and
//! this module reads the objects.

use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::Schema;
use datafusion::execution::object_store::ObjectStoreRegistry;

/// Why an extract in an object store cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// This build cannot read object stores.
    #[error(
        "{0} is in an object store: reading it needs an sna built with the `s3` feature (`cargo build --release --features s3`; `distributed` includes it)"
    )]
    NotBuilt(String),
    /// An object store other than S3.
    #[error("{0}: only S3 object stores (s3://BUCKET/PREFIX) are supported")]
    Scheme(String),
    /// The store refused or failed a request.
    #[error("{path}: {detail}")]
    Store {
        /// The object or prefix.
        path: String,
        /// The store's error, with its cause.
        detail: String,
    },
}

/// The URL of `dir` when it names a place in an object store (`SCHEME://…`), else `None`.
pub fn url_of(dir: &Path) -> Option<&str> {
    let text = dir.to_str()?;
    let (scheme, rest) = text.split_once("://")?;
    let is_scheme = !scheme.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (is_scheme && !rest.is_empty()).then_some(text)
}

/// Whether `dir` is in an object store.
pub fn is_remote(dir: &Path) -> bool {
    url_of(dir).is_some()
}

/// The object store registry every session of this build uses (local, scheduler, executor):
/// with the `s3` feature, one that opens an `s3://` bucket on first use from the environment.
/// One registry for the process, so that a bucket is opened (and its credentials found) once.
pub fn registry() -> Arc<dyn ObjectStoreRegistry> {
    static REGISTRY: std::sync::OnceLock<Arc<dyn ObjectStoreRegistry>> = std::sync::OnceLock::new();
    let registry = REGISTRY.get_or_init(|| {
        #[cfg(feature = "s3")]
        {
            Arc::new(s3::FromEnvironment::default())
        }
        #[cfg(not(feature = "s3"))]
        {
            Arc::new(datafusion::execution::object_store::DefaultObjectStoreRegistry::new())
        }
    });
    Arc::clone(registry)
}

/// A Parquet object's footer: its Arrow schema, row count and size; `None` when there is no
/// such object.
pub async fn footer(path: &Path) -> Result<Option<(Schema, u64, u64)>, FooterError> {
    supported(path)?;
    #[cfg(feature = "s3")]
    {
        s3::footer(path).await
    }
    #[cfg(not(feature = "s3"))]
    {
        Err(FooterError::Remote(not_built(path)))
    }
}

/// Why a footer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FooterError {
    /// The store could not be reached or refused.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The object does not end with a Parquet footer.
    #[error("not a Parquet file")]
    NotParquet,
    /// The object's Parquet footer cannot be read.
    #[error("{0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

/// The bytes of the object at `path`, or `None` when there is none.
pub async fn read(path: &Path) -> Result<Option<Vec<u8>>, RemoteError> {
    supported(path)?;
    #[cfg(feature = "s3")]
    {
        s3::read(path).await
    }
    #[cfg(not(feature = "s3"))]
    {
        Err(not_built(path))
    }
}

/// The SHA-256 (hex) and size of the object at `path`, streamed.
pub async fn sha256(path: &Path) -> Result<(String, u64), RemoteError> {
    supported(path)?;
    #[cfg(feature = "s3")]
    {
        s3::sha256(path).await
    }
    #[cfg(not(feature = "s3"))]
    {
        Err(not_built(path))
    }
}

/// A stamp of every object under `dir` (a prefix), as the store lists it: its key below `dir`,
/// size, last-modified time and ETag (in place of a SHA-256: S3 changes an object's ETag when
/// its content changes), so that a scheduled refresh notices a changed extract without
/// reading it.
pub async fn stamps(dir: &Path) -> Result<Vec<crate::cache::inputs::FileStamp>, RemoteError> {
    supported(dir)?;
    #[cfg(feature = "s3")]
    {
        s3::stamps(dir).await
    }
    #[cfg(not(feature = "s3"))]
    {
        Err(not_built(dir))
    }
}

/// Refuses a store other than S3 in any build.
fn supported(path: &Path) -> Result<(), RemoteError> {
    if path
        .to_string_lossy()
        .to_ascii_lowercase()
        .starts_with("s3://")
    {
        Ok(())
    } else {
        Err(RemoteError::Scheme(path.display().to_string()))
    }
}

#[cfg(not(feature = "s3"))]
fn not_built(path: &Path) -> RemoteError {
    RemoteError::NotBuilt(path.display().to_string())
}

#[cfg(feature = "s3")]
mod s3 {
    use std::path::Path;
    use std::sync::Arc;

    use arrow::datatypes::Schema;
    use datafusion::common::{DataFusionError, Result};
    use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
    use futures::TryStreamExt;
    use object_store::aws::AmazonS3Builder;
    use object_store::{ObjectStore, ObjectStoreExt};
    use parquet::file::metadata::ParquetMetaDataReader;
    use sha2::{Digest, Sha256};
    use url::Url;

    use super::{FooterError, RemoteError};
    use crate::cache::inputs::FileStamp;

    /// DataFusion's registry, which also opens an `s3://` bucket the first time a table or plan
    /// names it, configured from this process's environment (`AmazonS3Builder::from_env`).
    #[derive(Debug, Default)]
    pub struct FromEnvironment {
        known: DefaultObjectStoreRegistry,
    }

    impl ObjectStoreRegistry for FromEnvironment {
        fn register_store(
            &self,
            url: &Url,
            store: Arc<dyn ObjectStore>,
        ) -> Option<Arc<dyn ObjectStore>> {
            self.known.register_store(url, store)
        }

        fn deregister_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
            self.known.deregister_store(url)
        }

        fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
            if let Ok(store) = self.known.get_store(url) {
                return Ok(store);
            }
            if url.scheme() != "s3" {
                return self.known.get_store(url);
            }
            let store: Arc<dyn ObjectStore> = Arc::new(
                AmazonS3Builder::from_env()
                    .with_url(url.as_str())
                    .build()
                    .map_err(|e| DataFusionError::ObjectStore(Box::new(e)))?,
            );
            self.known.register_store(url, Arc::clone(&store));
            Ok(store)
        }
    }

    /// The bucket's store and the object's key within it.
    fn locate(
        path: &Path,
    ) -> Result<(Arc<dyn ObjectStore>, object_store::path::Path), RemoteError> {
        let text = path.to_string_lossy();
        let url = Url::parse(&text).map_err(|e| RemoteError::Store {
            path: text.to_string(),
            detail: format!("not a URL: {e}"),
        })?;
        if url.scheme() != "s3" {
            return Err(RemoteError::Scheme(text.to_string()));
        }
        let store = super::registry()
            .get_store(&url)
            .map_err(|e| RemoteError::Store {
                path: text.to_string(),
                detail: crate::text::printable(&e.to_string()).into_owned(),
            })?;
        let key = object_store::path::Path::from_url_path(url.path()).map_err(|e| {
            RemoteError::Store {
                path: text.to_string(),
                detail: crate::text::printable(&e.to_string()).into_owned(),
            }
        })?;
        Ok((store, key))
    }

    fn store_error(path: &Path) -> impl Fn(object_store::Error) -> RemoteError + '_ {
        move |e| RemoteError::Store {
            path: path.display().to_string(),
            detail: crate::text::printable(&crate::text::error_chain(&e)).into_owned(),
        }
    }

    /// Reads the footer with two ranged requests (its length, then the metadata), as a Parquet
    /// reader does, rather than through DataFusion, so that the contract's checks name the
    /// object as they name a file.
    pub async fn footer(path: &Path) -> Result<Option<(Schema, u64, u64)>, FooterError> {
        let (store, key) = locate(path)?;
        let meta = match store.head(&key).await {
            Ok(meta) => meta,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(store_error(path)(e).into()),
        };
        let size = meta.size;
        let not_parquet = || FooterError::NotParquet;
        if size < 12 {
            return Err(not_parquet());
        }
        let tail = store
            .get_range(&key, size - 8..size)
            .await
            .map_err(store_error(path))?;
        if &tail[4..8] != b"PAR1" {
            return Err(not_parquet());
        }
        let length = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
        if length + 12 > size {
            return Err(not_parquet());
        }
        let encoded = store
            .get_range(&key, size - 8 - length..size - 8)
            .await
            .map_err(store_error(path))?;
        let metadata = ParquetMetaDataReader::decode_metadata(&encoded)?;
        let file = metadata.file_metadata();
        let schema = parquet::arrow::parquet_to_arrow_schema(
            file.schema_descr(),
            file.key_value_metadata(),
        )?;
        Ok(Some((
            schema,
            u64::try_from(file.num_rows()).unwrap_or(0),
            size,
        )))
    }

    pub async fn read(path: &Path) -> Result<Option<Vec<u8>>, RemoteError> {
        let (store, key) = locate(path)?;
        match store.get(&key).await {
            Ok(got) => Ok(Some(got.bytes().await.map_err(store_error(path))?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_error(path)(e)),
        }
    }

    pub async fn stamps(dir: &Path) -> Result<Vec<FileStamp>, RemoteError> {
        let (store, prefix) = locate(dir)?;
        let objects: Vec<object_store::ObjectMeta> = store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(store_error(dir))?;
        let mut stamps: Vec<FileStamp> = objects
            .into_iter()
            .filter_map(|meta| {
                let below: Vec<_> = meta.location.prefix_match(&prefix)?.collect();
                // Hidden entries (a partial upload's `.name`), as for a directory.
                if below.iter().any(|part| part.as_ref().starts_with('.')) {
                    return None;
                }
                let path = below
                    .iter()
                    .map(|p| p.as_ref())
                    .collect::<Vec<_>>()
                    .join("/");
                let modified_ns = u128::try_from(meta.last_modified.timestamp_nanos_opt()?).ok()?;
                Some(FileStamp {
                    path,
                    bytes: meta.size,
                    modified_ns,
                    sha256: format!("etag {}", meta.e_tag.unwrap_or_default()),
                    changed_ns: 0,
                    inode: 0,
                    settled: false,
                })
            })
            .collect();
        stamps.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(stamps)
    }

    pub async fn sha256(path: &Path) -> Result<(String, u64), RemoteError> {
        let (store, key) = locate(path)?;
        let mut stream = store
            .get(&key)
            .await
            .map_err(store_error(path))?
            .into_stream();
        let mut hasher = Sha256::new();
        let mut bytes = 0u64;
        while let Some(chunk) = stream.try_next().await.map_err(store_error(path))? {
            bytes += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok((crate::engine::queries::hex(&hasher.finalize()), bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_store_urls_are_told_from_directories() {
        assert_eq!(
            url_of(Path::new("s3://bucket/extract")),
            Some("s3://bucket/extract")
        );
        assert!(is_remote(Path::new("gs://bucket")));
        assert!(!is_remote(Path::new("data/sample")));
        assert!(!is_remote(Path::new("/srv/sna/extract")));
        assert!(!is_remote(Path::new("odd://")));
        assert!(!is_remote(Path::new("a dir/x://y")));
        assert!(!is_remote(Path::new("://y")));
    }
}
