//! Talking to the issuer, by `openidconnect` over our [`Http`]: discovery (cached; the document
//! must name our issuer exactly), the JWKS (cached; refetched when a token names a key we do not
//! hold — at most once a second, and once a minute per unknown key — so key rotation works
//! without a restart), and the code exchange.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, EmptyExtraTokenFields, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, StandardErrorResponse, StandardTokenResponse,
};
use secrecy::ExposeSecret;
use tokio::sync::Mutex;

use super::http::Http;
use super::verify::{self, Expected, Extra, IdToken};
use super::{Error, OidcSettings};

/// Least time between two JWKS fetches.
const MIN_GAP: Duration = Duration::from_secs(1);
/// Least time between two fetches for the same unknown key id.
const RETRY_KID_EVERY: Duration = Duration::from_secs(60);
/// Unknown key ids remembered at most.
const MAX_TRIED: usize = 64;

type TokenResponse = StandardTokenResponse<
    IdTokenFields<
        Extra,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

/// `openidconnect`'s client for our claims, built from the discovery document (authorization
/// endpoint set, token endpoint maybe).
pub(super) type OidcClient = openidconnect::Client<
    Extra,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

#[derive(Default)]
struct Keys {
    set: CoreJsonWebKeySet,
    fetched: Option<Instant>,
    /// Key ids that were still unknown after a fetch, and when.
    tried: Vec<(Option<String>, Instant)>,
}

/// The OIDC client of one issuer.
pub struct Client {
    settings: OidcSettings,
    http: Http,
    /// Filled at the first login (the issuer may be down at start).
    discovery: Mutex<Option<CoreProviderMetadata>>,
    /// Written at discovery and by `keys_for`, read by every callback.
    keys: Mutex<Keys>,
}

fn unreachable(e: impl std::fmt::Display) -> Error {
    Error::Unreachable(e.to_string())
}

impl Client {
    /// A client for `settings`; nothing is fetched yet.
    pub fn new(settings: OidcSettings) -> Client {
        Client {
            settings,
            http: Http::new(),
            discovery: Mutex::new(None),
            keys: Mutex::new(Keys::default()),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The issuer's discovery document and keys (fetched once).
    async fn discovery(&self) -> Result<CoreProviderMetadata, Error> {
        let mut cached = self.discovery.lock().await;
        if let Some(d) = cached.as_ref() {
            return Ok(d.clone());
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone()).map_err(unreachable)?;
        let d = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(unreachable)?;
        *self.keys.lock().await = Keys {
            set: d.jwks().clone(),
            fetched: Some(Instant::now()),
            tried: Vec::new(),
        };
        *cached = Some(d.clone());
        Ok(d)
    }

    /// `openidconnect`'s client, from discovery.
    pub(super) async fn oidc(&self) -> Result<OidcClient, Error> {
        let s = &self.settings;
        let secret = s
            .client_secret
            .as_ref()
            .map(|c| ClientSecret::new(c.expose_secret().to_string()));
        let client = OidcClient::from_provider_metadata(
            self.discovery().await?,
            ClientId::new(s.client_id.clone()),
            secret,
        );
        // client_secret_post, as before: the secret goes in the form, not in Basic auth.
        Ok(client.set_auth_type(AuthType::RequestBody))
    }

    /// Exchange an authorization code (with its PKCE verifier) for the ID token.
    pub(super) async fn exchange(
        &self,
        code: &str,
        verifier: &str,
        redirect: &str,
    ) -> Result<IdToken, Error> {
        let client = self.oidc().await?;
        let redirect = RedirectUrl::new(redirect.to_string()).map_err(unreachable)?;
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| Error::Exchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
            .set_redirect_uri(Cow::Owned(redirect));
        let tokens = request
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::Request(e) => unreachable(e),
                RequestTokenError::ServerResponse(e) => Error::Exchange(e.to_string()),
                e => Error::Exchange(e.to_string()),
            })?;
        tokens
            .extra_fields()
            .id_token()
            .cloned()
            .ok_or_else(|| Error::Exchange("no id_token in the answer".into()))
    }

    /// The keys to verify `token` with: the cached JWKS, or a fresh one when the token names a
    /// key the cache lacks and the last fetch is old enough.
    pub(super) async fn keys_for(
        &self,
        token: &IdToken,
        want: &Expected<'_>,
    ) -> Result<CoreJsonWebKeySet, Error> {
        let uri = self.discovery().await?.jwks_uri().clone();
        let mut keys = self.keys.lock().await;
        if !verify::needs_other_keys(token, &keys.set, want) {
            return Ok(keys.set.clone());
        }
        let kid = key_id(token);
        let recently_tried = keys
            .tried
            .iter()
            .any(|(k, at)| *k == kid && at.elapsed() < RETRY_KID_EVERY);
        if recently_tried || keys.fetched.is_some_and(|at| at.elapsed() < MIN_GAP) {
            return Ok(keys.set.clone());
        }
        let set = CoreJsonWebKeySet::fetch_async(&uri, &self.http)
            .await
            .map_err(unreachable)?;
        tracing::info!(
            keys = set.keys().len(),
            "OIDC: fetched the issuer's signing keys"
        );
        keys.set = set;
        keys.fetched = Some(Instant::now());
        keys.tried.retain(|(_, at)| at.elapsed() < RETRY_KID_EVERY);
        if verify::needs_other_keys(token, &keys.set, want) && keys.tried.len() < MAX_TRIED {
            keys.tried.push((kid, Instant::now()));
        }
        Ok(keys.set.clone())
    }
}

/// The `kid` of a token's header, to remember which unknown keys were looked for. Read from
/// the unverified header: it only throttles refetches, it decides nothing.
fn key_id(token: &IdToken) -> Option<String> {
    use base64::Engine;
    let compact = token.to_string();
    let header = compact.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    let header: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    header["kid"].as_str().map(str::to_string)
}
