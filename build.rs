//! Rebuild the server when the web UI changes. Release builds embed `web/dist` (rust-embed), but
//! cargo does not know the folder is an input: after `make web`, `cargo build --release` used to
//! keep serving "the web UI was not built". The stamp below (every file's path, size and
//! modification time) is an input of the crate, so a changed UI recompiles it, and an unchanged
//! one does not.

use std::path::Path;
use std::time::UNIX_EPOCH;

fn stamp(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            stamp(&path, out);
            continue;
        }
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        out.push(format!("{}:{}:{modified}", path.display(), meta.len()));
    }
}

fn main() {
    let dist = Path::new("web/dist");
    // A directory is scanned recursively for changes; a missing one is created by `make web`.
    println!("cargo::rerun-if-changed=web/dist");
    println!("cargo::rerun-if-changed=build.rs");
    let mut files = Vec::new();
    stamp(dist, &mut files);
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in files.join("\n").bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    println!(
        "cargo::rustc-env=FLUXO_UI_STAMP={hash:016x}-{}",
        files.len()
    );
}
