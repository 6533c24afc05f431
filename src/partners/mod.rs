//! What partners use: SQL over the same tables (`query`, `shell`) and the partner pack, an
//! aggregate-only extract under disclosure control (`pack`, `structure`, `disclosure`,
//! `audit`, `pack_audit`), and the log of packs released (`release_log`).

pub mod audit;
pub mod disclosure;
pub mod pack;
pub mod pack_audit;
pub mod query;
pub mod release_log;
pub mod shell;
pub mod structure;
