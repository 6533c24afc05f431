//! Telling a file that cannot be decoded from other failures: the cause types in an error's
//! chain, panics of DataFusion's workers, and re-reading each input to name the bad one.

use super::*;

/// Why a Parquet file's data cannot be decoded.
#[derive(Debug)]
pub enum DecodeError {
    /// The file could not be opened, or the thread reading it could not start.
    Io(std::io::Error),
    /// The Parquet reader failed on the file.
    Parquet(ParquetError),
    /// Decoding a batch failed.
    Arrow(ArrowError),
    /// The decoder panicked, with this message.
    Panic(String),
    /// A query over the file failed in decoding it: its error, shown by the Parquet error in
    /// its chain where there is one.
    Query(Box<CatalogError>),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Io(e) => write!(f, "{e}"),
            DecodeError::Parquet(e) => write!(f, "{e}"),
            DecodeError::Arrow(e) => write!(f, "{e}"),
            DecodeError::Panic(message) => write!(f, "the Parquet decoder failed ({message})"),
            DecodeError::Query(e) => match parquet_cause(e.as_ref()) {
                Some(cause) => write!(f, "{cause}"),
                None => write!(f, "{e}"),
            },
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DecodeError::Io(e) => Some(e),
            DecodeError::Parquet(e) => Some(e),
            DecodeError::Arrow(e) => Some(e),
            DecodeError::Panic(_) => None,
            // The cause is the error shown: the Parquet error, whose causes follow it.
            DecodeError::Query(e) => parquet_cause(e.as_ref()).or(Some(e.as_ref())),
        }
    }
}

/// The errors of `error`'s chain, `error` first.
pub(super) fn chain<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| e.source())
}

/// `error` as a DataFusion error, also when shared in an `Arc` (as DataFusion shares an error
/// among a plan's outputs).
pub(super) fn as_datafusion<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a DataFusionError> {
    error.downcast_ref::<DataFusionError>().or_else(|| {
        error
            .downcast_ref::<Arc<DataFusionError>>()
            .map(|shared| shared.as_ref())
    })
}

/// The first Parquet error in `error`'s chain, as DataFusion, Arrow or the Parquet reader gives
/// it.
pub(super) fn parquet_cause<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    chain(error).find(|&e| {
        matches!(as_datafusion(e), Some(DataFusionError::ParquetError(_)))
            || e.is::<ParquetError>()
            || matches!(
                e.downcast_ref::<ArrowError>(),
                Some(ArrowError::ParquetError(_))
            )
    })
}

/// How a query worker's panic appears in an error's chain.
#[derive(Debug)]
pub enum Panic {
    /// tokio's `JoinError` of a panicked task, with the panic's message when it has one. The
    /// error gives the message only in its text (`task 7 panicked with message "..."`; the
    /// payload itself only by value), so it is read from there.
    Task(Option<String>),
    /// An execution or internal error that says a worker panicked: DataFusion (and
    /// [`guarded`]) report some panics only as such text.
    Text,
}

/// The panic of a query worker in `error`'s chain, if there is one.
pub fn panic_in(error: &(dyn std::error::Error + 'static)) -> Option<Panic> {
    chain(error).find_map(|e| {
        // DataFusion's repartitioning shares the error among its outputs, in an `Arc`.
        let join = e.downcast_ref::<JoinError>().or_else(|| {
            e.downcast_ref::<Arc<JoinError>>()
                .map(|shared| shared.as_ref())
        });
        if let Some(join) = join {
            return join.is_panic().then(|| {
                let text = join.to_string();
                let message = text
                    .split_once("panicked with message \"")
                    .map(|(_, rest)| rest.split('"').next().unwrap_or(rest).to_owned());
                Panic::Task(message)
            });
        }
        match as_datafusion(e)? {
            DataFusionError::Execution(text) | DataFusionError::Internal(text)
                if text.contains("panicked") =>
            {
                Some(Panic::Text)
            }
            _ => None,
        }
    })
}

/// Whether `error` is a failure to decode data: a Parquet error in its chain, or a query
/// worker's panic (the decoder panics on corrupt pages, and DataFusion returns a worker's
/// panic as an error).
pub fn is_decode_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    parquet_cause(error).is_some() || panic_in(error).is_some()
}

/// The first of `files` whose data cannot be decoded, with what the decoder met. Every page
/// of every file is read, batch by batch, so this is for explaining a failure, not for the
/// normal path; files in an object store are not checked. The decoder may panic on corrupt pages; that is caught on its own thread.
pub fn find_unreadable(files: &[PathBuf]) -> Option<(PathBuf, DecodeError)> {
    // An object in an object store is not read again here (that would download the extract):
    // the store's or the decoder's own error stands.
    let local = files
        .iter()
        .filter(|p| !crate::sources::remote::is_remote(p));
    local.into_iter().find_map(|path| {
        let owned = path.clone();
        let decoded = std::thread::Builder::new()
            .name("decode-check".to_owned())
            .spawn(move || -> Result<(), DecodeError> {
                use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
                let file = std::fs::File::open(&owned).map_err(DecodeError::Io)?;
                let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                    .and_then(|b| b.build())
                    .map_err(DecodeError::Parquet)?;
                for batch in reader {
                    batch.map_err(DecodeError::Arrow)?;
                }
                Ok(())
            })
            .map_err(DecodeError::Io)
            .and_then(|handle| {
                handle.join().unwrap_or_else(|panic| {
                    Err(DecodeError::Panic(crate::text::panic_message(
                        panic.as_ref(),
                    )))
                })
            });
        decoded.err().map(|detail| (path.clone(), detail))
    })
}

/// `error`, or when it is a failure to decode data, an [`CatalogError::Unreadable`] naming the
/// file of `files` that cannot be decoded.
pub fn name_unreadable(files: &[PathBuf], error: CatalogError) -> CatalogError {
    if !is_decode_failure(&error) {
        return error;
    }
    match find_unreadable(files) {
        Some((path, source)) => CatalogError::Unreadable { path, source },
        None => error,
    }
}

/// Runs `work` over the Parquet `files`, turning a panic that reaches it (DataFusion re-raises
/// a worker's panic, such as the decoder's on corrupt pages, in the polling thread) into an
/// error naming the file that cannot be decoded.
pub async fn guarded<T, E: From<CatalogError>>(
    files: &[PathBuf],
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(work).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let message = crate::text::panic_message(panic.as_ref());
            let error = match find_unreadable(files) {
                Some((path, source)) => CatalogError::Unreadable { path, source },
                None => CatalogError::DataFusion {
                    context: "running a query".to_owned(),
                    source: DataFusionError::Execution(format!(
                        "a query worker panicked: {message}"
                    )),
                },
            };
            Err(error.into())
        }
    }
}
