//! The connection to the server: the generated client with the bearer token, and the
//! mapping of its errors to [`Error`].

use std::time::Duration;

use fluxo_client::Client;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

use super::config::Target;
use super::error::{Error, Result};

/// A connected server: the generated client plus what errors and the stream need.
pub struct Api {
    /// The generated client.
    pub client: Client,
    /// Where it points (also for error messages and the WebSocket URL).
    pub target: Target,
}

/// Install ring as rustls' crypto provider (the only one compiled in). Idempotent.
pub fn install_crypto() {
    // Fails only when a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Api {
    /// A client for `target`: 10 s to connect, 60 s per request.
    pub fn new(target: Target) -> Result<Api> {
        install_crypto();
        let mut headers = HeaderMap::new();
        if let Some(token) = &target.token {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                Error::Usage("the token contains characters a header cannot carry".into())
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Error::transport(&target.server, &e))?;
        if !(target.server.starts_with("http://") || target.server.starts_with("https://")) {
            return Err(Error::Usage(format!(
                "the server URL {:?} must start with http:// or https://",
                target.server
            )));
        }
        Ok(Api {
            client: Client::new_with_client(&target.server, http),
            target,
        })
    }

    /// Map an error of the generated client.
    pub fn err(&self, e: fluxo_client::Error<fluxo_client::types::ErrorBody>) -> Error {
        Error::from_client(&self.target.server, e)
    }
}
