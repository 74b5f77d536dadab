//! Where and how to connect: `DATABASE_URL` (URL or `key=value` form) parsed into a
//! tokio-postgres configuration and the TLS connector its `sslmode` asks for.
//!
//! tokio-postgres knows `sslmode` only up to `require` and no `sslrootcert`, so those two are
//! taken out of the text here, and the rest is left to tokio-postgres.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::tls::{Check, DbTls};
use super::{Error, Result};

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it (`allow` is treated the same).
    Prefer,
    /// TLS or no connection.
    Require,
    /// TLS with a certificate signed by a trusted CA.
    VerifyCa,
    /// TLS with a trusted certificate issued for the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<SslMode> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(Error::Settings(format!(
                    "sslmode {other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                )));
            }
        })
    }
}

/// The CA that signs the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Roots {
    /// A PEM file.
    File(PathBuf),
    /// The system's trusted roots (`sslrootcert=system`, or `verify-*` without a CA file).
    System,
}

/// A parsed database target.
pub struct Target {
    /// Host, port, user, database and tokio-postgres' own options.
    pub pg: tokio_postgres::Config,
    /// The `sslmode` asked for.
    pub mode: SslMode,
    /// The connector every connection uses.
    pub tls: DbTls,
}

/// The TLS options taken out of the URL.
#[derive(Debug, Default, PartialEq, Eq)]
struct TlsOptions {
    sslmode: Option<String>,
    sslrootcert: Option<String>,
}

/// Parse `url`; `ca_file` is `FLUXO_DB_CA_FILE`.
pub fn parse(url: &str, ca_file: Option<&Path>) -> Result<Target> {
    let (rest, options) = take_tls_options(url)?;
    let mut pg: tokio_postgres::Config = rest.parse().map_err(Error::Url)?;
    let roots = match (options.sslrootcert.as_deref(), ca_file) {
        (Some(_), Some(_)) => {
            return Err(Error::Settings(
                "the CA is set twice: use sslrootcert in DATABASE_URL or FLUXO_DB_CA_FILE, not both"
                    .into(),
            ));
        }
        (Some("system"), None) => Some(Roots::System),
        (Some(path), None) => Some(Roots::File(path.into())),
        (None, ca) => ca.map(|p| Roots::File(p.to_path_buf())),
    };
    let mode = match (options.sslmode.as_deref(), &roots) {
        (None, Some(Roots::System)) => SslMode::VerifyFull,
        (None, _) => SslMode::Prefer,
        (Some(text), _) => SslMode::parse(text)?,
    };
    if roots == Some(Roots::System) && mode != SslMode::VerifyFull {
        // As libpq: trusting every public CA only means something with the host name checked.
        return Err(Error::Settings(
            "sslrootcert=system needs sslmode=verify-full".into(),
        ));
    }
    pg.ssl_mode(match mode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            tokio_postgres::config::SslMode::Require
        }
    });
    let tls = DbTls::new(check(mode, roots)?);
    Ok(Target { pg, mode, tls })
}

/// What the certificate must prove in `mode` with `roots` configured.
fn check(mode: SslMode, roots: Option<Roots>) -> Result<Check> {
    let verify = matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull);
    let roots = match roots {
        None if verify => load(&Roots::System)?,
        None => return Ok(Check::Nothing),
        Some(roots) => load(&roots)?,
    };
    Ok(if mode == SslMode::VerifyFull {
        Check::ChainAndName(roots)
    } else {
        Check::Chain(roots)
    })
}

fn load(roots: &Roots) -> Result<Arc<RootCertStore>> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::File(path) => {
            let pem = std::fs::read(path).map_err(|source| Error::CaFile {
                path: path.clone(),
                source,
            })?;
            let certs = CertificateDer::pem_slice_iter(&pem)
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| {
                    Error::Settings(format!("the CA file {} is not PEM: {e}", path.display()))
                })?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(Error::Settings(format!(
                    "the CA file {} holds no usable certificate",
                    path.display()
                )));
            }
        }
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(Error::Settings(
                    "sslmode verify-ca/verify-full needs a CA: no system CA certificates were \
                     found; set FLUXO_DB_CA_FILE or sslrootcert"
                        .into(),
                ));
            }
        }
    }
    Ok(Arc::new(store))
}

/// Split `sslmode` and `sslrootcert` off `url`; the rest is for tokio-postgres.
fn take_tls_options(url: &str) -> Result<(String, TlsOptions)> {
    let mut options = TlsOptions::default();
    let mut take = |key: &str, value: String| match key {
        "sslmode" => {
            options.sslmode = Some(value);
            true
        }
        "sslrootcert" => {
            options.sslrootcert = Some(value);
            true
        }
        _ => false,
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        take_from_query(url, &mut take)?
    } else {
        take_from_pairs(url, &mut take)?
    };
    Ok((rest, options))
}

fn decode(text: &str) -> Result<String> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| Error::Settings("DATABASE_URL: a query value is not UTF-8".into()))
}

/// URL form: `postgres://…/db?sslmode=verify-full&…`.
fn take_from_query(url: &str, take: &mut impl FnMut(&str, String) -> bool) -> Result<String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok(url.to_string());
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !take(&decode(key)?, decode(value)?) {
            kept.push(pair);
        }
    }
    Ok(if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    })
}

/// `key=value` form: `host=db sslmode=verify-full password='a b'`. Values are re-quoted.
fn take_from_pairs(text: &str, take: &mut impl FnMut(&str, String) -> bool) -> Result<String> {
    let mut kept = Vec::new();
    for (key, value) in pairs(text)? {
        if !take(&key, value.clone()) {
            let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
            kept.push(format!("{key}='{quoted}'"));
        }
    }
    Ok(kept.join(" "))
}

/// libpq's `key = value` syntax: values unquoted up to white space, or single-quoted; a
/// backslash escapes the next character in both.
fn pairs(text: &str) -> Result<Vec<(String, String)>> {
    let bad = || Error::Settings("DATABASE_URL: cannot parse the key=value settings".into());
    let mut chars = text.chars().peekable();
    let mut out = Vec::new();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        chars.next_if_eq(&'=').ok_or_else(bad)?;
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let quoted = chars.next_if_eq(&'\'').is_some();
        let mut value = String::new();
        loop {
            match chars.next() {
                None if quoted => return Err(bad()),
                None => break,
                Some('\'') if quoted => break,
                Some(c) if c.is_whitespace() && !quoted => break,
                Some('\\') => value.push(chars.next().ok_or_else(bad)?),
                Some(c) => value.push(c),
            }
        }
        out.push((key, value));
    }
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
