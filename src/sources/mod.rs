//! What comes in: the data contract an extract must meet, its validation, the reference
//! lookups compiled into `sna`, and the importers that turn published data into an extract.

pub mod contract;
pub mod import;
pub mod reference;
pub mod remote;
pub mod validate;
