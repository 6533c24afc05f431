//! vrn-sna: a serious-violence Strategic Needs Assessment (SNA) pipeline for Violence Reduction
//! Networks.
//!
//! Data flows one way: [`config`] → [`sources`] (the extract checked against the contract, the
//! reference lookups, the importers) → [`engine`] (the catalog, the SQL functions, the jobs of
//! `queries/` with their metadata, run in dependency order) → [`bundle`] (result tables,
//! charts, the report and findings) → published through [`staging`]. [`refresh`] keeps a
//! dashboard of the latest months current for a scheduler; [`partners`] reach the same catalog
//! through SQL and take aggregate-only packs; [`funding`] allocates a pot between areas.
//! [`stats`] holds the statistical methods, each with its reference; [`generate`] writes the
//! synthetic sample. Dependencies point one way: commands → engine, bundle, partners →
//! stats, sources.

pub mod bundle;
pub mod cache;
pub mod config;
pub mod engine;
pub mod funding;
pub mod generate;
pub mod output;
pub mod partners;
pub mod readable;
pub mod refresh;
pub mod sources;
pub mod staging;
pub mod stats;
pub mod text;
