//! The engine: the catalog a run queries (the extract, the reference lookups and the views of
//! `queries/`), the SQL functions, the SQL files with the metadata beside them, and the job
//! runner that executes them in dependency order and checks their tests.

pub mod capability;
pub mod catalog;
pub mod cluster;
pub mod jobs;
pub mod metadata;
pub mod queries;
pub mod udf;
