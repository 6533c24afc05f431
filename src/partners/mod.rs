//! What partners use: SQL over the same tables (`query`, `shell`) and the partner pack, an
//! aggregate-only extract under disclosure control (`pack`, `disclosure`).

pub mod disclosure;
pub mod pack;
pub mod query;
pub mod shell;
