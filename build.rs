//! Rebuilds the crate when the SQL in `queries/` changes: `sna` embeds a copy of it (used when
//! no `queries/` directory is configured), and cargo does not otherwise see new or edited files.

fn main() {
    println!("cargo:rerun-if-changed=queries");
    println!("cargo:rerun-if-changed=data/reference");
}
