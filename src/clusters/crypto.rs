//! Credential encryption at rest: AES-256-GCM with a random 96-bit nonce per message.
//!
//! Sealed form: `0x01 | nonce (12) | ciphertext+tag`. The cluster id is the associated data, so a
//! ciphertext copied onto another cluster's row does not open.

use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use uuid::Uuid;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

/// Errors about the key or sealed data. Never carries key or plaintext bytes.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The configured key is not 32 bytes of base64.
    #[error("FLUXO_SECRET_KEY must be 32 bytes encoded as base64 (e.g. `openssl rand -base64 32`)")]
    BadKey,
    /// Sealed data is damaged, was sealed under another key, or belongs to another cluster.
    #[error("stored credentials cannot be decrypted: wrong FLUXO_SECRET_KEY or damaged data")]
    Open,
    /// The key file could not be read or created.
    #[error("secret key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The credential key. Debug output never shows it.
#[derive(Clone)]
pub struct SecretKey(Key<Aes256Gcm>);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    /// Decode a base64 key of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<SecretKey, CryptoError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| CryptoError::BadKey)?;
        let array: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(SecretKey(array.into()))
    }

    /// A fresh random key.
    pub fn generate() -> SecretKey {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        SecretKey(bytes.into())
    }

    /// Read the key from `path`, or create the file (mode 0600) with a random key.
    pub fn load_or_create(path: &Path) -> Result<SecretKey, CryptoError> {
        let io = |source| CryptoError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => SecretKey::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::generate();
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = match options.open(path) {
                    Ok(file) => file,
                    // Another process (a second replica in a test) created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        let text = std::fs::read_to_string(path).map_err(io)?;
                        return SecretKey::from_base64(&text);
                    }
                    Err(e) => return Err(io(e)),
                };
                writeln!(file, "{}", STANDARD.encode(key.0)).map_err(io)?;
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Encrypt `plaintext` for the cluster `id`.
    pub fn seal(&self, id: Uuid, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let cipher = Aes256Gcm::new(&self.0);
        let payload = Payload {
            msg: plaintext,
            aad: id.as_bytes(),
        };
        // Encryption fails only when the message exceeds GCM's 64 GiB limit; kubeconfigs are
        // capped far below that by the request size limit.
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .expect("AES-GCM encryption of a bounded message cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypt what [`SecretKey::seal`] produced for the cluster `id`.
    pub fn open(&self, id: Uuid, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != VERSION {
            return Err(CryptoError::Open);
        }
        let (nonce, body) = sealed[1..].split_at(NONCE_LEN);
        let payload = Payload {
            msg: body,
            aad: id.as_bytes(),
        };
        Aes256Gcm::new(&self.0)
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| CryptoError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_credentials_open_only_for_the_same_cluster_and_key() {
        let key = SecretKey::generate();
        let id = Uuid::new_v4();
        let sealed = key.seal(id, b"token: abc");
        assert!(!sealed.windows(3).any(|w| w == b"abc"));
        assert_eq!(key.open(id, &sealed).unwrap(), b"token: abc");
        assert!(key.open(Uuid::new_v4(), &sealed).is_err());
        assert!(SecretKey::generate().open(id, &sealed).is_err());
        assert!(key.open(id, &sealed[..5]).is_err());
    }

    #[test]
    fn two_seals_of_the_same_text_differ() {
        let key = SecretKey::generate();
        let id = Uuid::new_v4();
        assert_ne!(key.seal(id, b"same"), key.seal(id, b"same"));
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(SecretKey::from_base64("not base64!").is_err());
        assert!(SecretKey::from_base64(&STANDARD.encode([1u8; 16])).is_err());
        assert!(SecretKey::from_base64(&STANDARD.encode([1u8; 32])).is_ok());
    }

    #[test]
    fn key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/key");
        let a = SecretKey::load_or_create(&path).unwrap();
        let b = SecretKey::load_or_create(&path).unwrap();
        let id = Uuid::new_v4();
        assert_eq!(b.open(id, &a.seal(id, b"x")).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
