//! The repository's own files, as the deployment tests read them.

use std::path::Path;

/// The repository root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The strings of a YAML sequence (empty for anything else).
pub fn strings(v: &serde_yaml::Value) -> Vec<&str> {
    v.as_sequence()
        .map(|s| s.iter().filter_map(serde_yaml::Value::as_str).collect())
        .unwrap_or_default()
}
