//! The saved login: `$XDG_CONFIG_HOME/flux-orchestrator/config.json` (or
//! `$HOME/.config/flux-orchestrator/config.json`), readable by its owner only (0600, its
//! directory 0700), and how flags, environment and file combine into a [`Target`].

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};

/// What `login` saves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    /// Server URL.
    pub server: String,
    /// API token.
    pub token: String,
}

/// The server and credential a command talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Base URL without a trailing slash.
    pub server: String,
    /// Bearer token, if any (a server run with `--auth=none` needs none).
    pub token: Option<String>,
}

/// The config file for the environment `var` reads from (`XDG_CONFIG_HOME`, `HOME`).
pub fn path_from(var: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = match var("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(var("HOME").filter(|v| !v.is_empty())?).join(".config"),
    };
    Some(base.join("flux-orchestrator").join("config.json"))
}

/// The config file of this process's environment.
pub fn path() -> Result<PathBuf> {
    path_from(|k| std::env::var(k).ok()).ok_or_else(|| {
        Error::NotLoggedIn(
            "neither XDG_CONFIG_HOME nor HOME is set: no place for the config file".into(),
        )
    })
}

/// Read the saved login; `None` when there is none.
pub fn load(path: &Path) -> Result<Option<Saved>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Config {
                what: "reading",
                path: path.display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Config {
            what: "reading",
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Save a login: written to a temporary file created 0600, then renamed over the old one, so
/// the token is never readable by others, not even briefly.
pub fn save(path: &Path, saved: &Saved) -> Result<()> {
    let fail = |source| Error::Config {
        what: "writing",
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        create_private_dir(dir).map_err(fail)?;
    }
    let tmp = path.with_extension("json.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut file = private_file(&tmp).map_err(fail)?;
    // Serialising two strings cannot fail.
    let body = serde_json::to_vec_pretty(saved).unwrap_or_default();
    file.write_all(&body)
        .and_then(|()| file.sync_all())
        .map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// Forget the saved login; true when there was one.
pub fn remove(path: &Path) -> Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(Error::Config {
            what: "removing",
            path: path.display().to_string(),
            source,
        }),
    }
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Combine `--server`/`FLUXO_SERVER` and `--token`/`FLUXO_TOKEN` with the saved login. The
/// saved token is used only for the saved server: a token is never sent to another server
/// than the one it was saved for.
pub fn target(server: Option<&str>, token: Option<&str>, saved: Option<&Saved>) -> Result<Target> {
    let server = match (server, saved) {
        (Some(s), _) => s.to_string(),
        (None, Some(saved)) => saved.server.clone(),
        (None, None) => {
            return Err(Error::NotLoggedIn(
                "no server: run `flux-orchestrator login --server URL`, or pass --server / set FLUXO_SERVER".into(),
            ));
        }
    };
    let server = server.trim_end_matches('/').to_string();
    let token = match token {
        Some(t) => Some(t.to_string()),
        None => saved
            .filter(|s| s.server.trim_end_matches('/') == server)
            .map(|s| s.token.clone()),
    };
    Ok(Target {
        server,
        token: token.filter(|t| !t.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved() -> Saved {
        Saved {
            server: "https://a.example".into(),
            token: "fluxo_a".into(),
        }
    }

    #[test]
    fn the_config_file_lives_under_xdg_config_home_or_home() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            path_from(env(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")])),
            Some(PathBuf::from("/x/flux-orchestrator/config.json"))
        );
        assert_eq!(
            path_from(env(&[("XDG_CONFIG_HOME", ""), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.config/flux-orchestrator/config.json"))
        );
        assert_eq!(path_from(env(&[])), None);
    }

    #[test]
    fn flags_win_and_a_saved_token_goes_only_to_its_own_server() {
        let s = saved();
        let t = target(None, None, Some(&s)).unwrap();
        assert_eq!(
            (t.server.as_str(), t.token.as_deref()),
            ("https://a.example", Some("fluxo_a"))
        );
        let t = target(Some("https://b.example/"), None, Some(&s)).unwrap();
        assert_eq!((t.server.as_str(), t.token), ("https://b.example", None));
        let t = target(Some("https://a.example/"), Some("fluxo_b"), Some(&s)).unwrap();
        assert_eq!(t.token.as_deref(), Some("fluxo_b"));
        assert!(matches!(
            target(None, None, None),
            Err(Error::NotLoggedIn(_))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_saved_login_is_private_and_survives_a_round_trip() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("config.json");
        assert_eq!(load(&path).unwrap(), None);
        save(&path, &saved()).unwrap();
        save(&path, &saved()).unwrap();
        assert_eq!(load(&path).unwrap(), Some(saved()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        assert!(remove(&path).unwrap());
        assert!(!remove(&path).unwrap());
    }

    #[test]
    fn a_corrupt_config_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(load(&path), Err(Error::Config { .. })));
    }
}
