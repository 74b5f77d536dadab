//! TLS to PostgreSQL over rustls (ring), for every connection the store opens: the pools, the
//! live listener, the claims connection and migrations.
//!
//! What each `sslmode` checks, as libpq does:
//! | mode | encrypted | certificate chain | host name |
//! |------|-----------|-------------------|-----------|
//! | `disable` | no | | |
//! | `allow`, `prefer` | if the server offers TLS | only when a CA is configured | no |
//! | `require` | yes | only when a CA is configured | no |
//! | `verify-ca` | yes | yes | no |
//! | `verify-full` | yes | yes | yes |
//!
//! The CA is `sslrootcert` in the URL or `FLUXO_DB_CA_FILE`; `verify-*` without either uses the
//! system's roots.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

use super::binding::server_end_point;

/// What the server's certificate must prove.
#[derive(Debug, Clone)]
pub enum Check {
    /// Nothing: encryption against passive eavesdroppers only (`require` without a CA).
    Nothing,
    /// Signed by one of these roots (`verify-ca`, or a CA with `require`).
    Chain(Arc<RootCertStore>),
    /// Signed by one of these roots and issued for the host connected to (`verify-full`).
    ChainAndName(Arc<RootCertStore>),
}

/// The connector handed to tokio-postgres and deadpool. Cheap to clone.
#[derive(Clone)]
pub struct DbTls {
    config: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for DbTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbTls").finish_non_exhaustive()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl DbTls {
    /// A connector that checks `check`.
    pub fn new(check: Check) -> DbTls {
        let provider = provider();
        let verifier = Arc::new(Verifier {
            check,
            provider: provider.clone(),
        });
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            // ring implements TLS 1.2 and 1.3, the safe defaults: this cannot fail.
            .expect("ring supports the default TLS versions")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        // PostgreSQL 17 refuses TLS whose ALPN is not `postgresql`; older servers ignore it.
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        DbTls {
            config: Arc::new(config),
        }
    }
}

impl MakeTlsConnect<tokio_postgres::Socket> for DbTls {
    type Stream = DbTlsStream;
    type TlsConnect = DbTlsConnect;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<DbTlsConnect, Self::Error> {
        Ok(DbTlsConnect {
            config: self.config.clone(),
            name: ServerName::try_from(domain)?.to_owned(),
        })
    }
}

/// One TLS handshake to come, with the name of the host it is for.
pub struct DbTlsConnect {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
}

type Handshake = Pin<Box<dyn Future<Output = io::Result<DbTlsStream>> + Send>>;

impl TlsConnect<tokio_postgres::Socket> for DbTlsConnect {
    type Stream = DbTlsStream;
    type Error = io::Error;
    type Future = Handshake;

    fn connect(self, stream: tokio_postgres::Socket) -> Handshake {
        let connector = tokio_rustls::TlsConnector::from(self.config);
        Box::pin(async move {
            let tls = connector
                .connect(self.name, stream)
                .await
                .map_err(explain)?;
            let end_point = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|cert| server_end_point(cert.as_ref()));
            Ok(DbTlsStream {
                inner: Box::new(tls),
                end_point,
            })
        })
    }
}

/// Say what to check when the server's certificate is refused; other errors pass unchanged.
fn explain(e: io::Error) -> io::Error {
    let refused = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|inner| matches!(inner, rustls::Error::InvalidCertificate(_)));
    if !refused {
        return e;
    }
    io::Error::new(
        e.kind(),
        format!(
            "the database server's certificate was refused ({e}): check that FLUXO_DB_CA_FILE or \
             sslrootcert is the CA that signed it and, with sslmode=verify-full, that the host \
             name in DATABASE_URL is one the certificate names"
        ),
    )
}

/// An established TLS session to PostgreSQL.
pub struct DbTlsStream {
    inner: Box<tokio_rustls::client::TlsStream<tokio_postgres::Socket>>,
    /// `tls-server-end-point` of the server's certificate, for SCRAM channel binding; `None`
    /// when its signature algorithm has no defined hash (then SCRAM runs without binding).
    end_point: Option<Vec<u8>>,
}

impl TlsStream for DbTlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        match &self.end_point {
            Some(hash) => ChannelBinding::tls_server_end_point(hash.clone()),
            None => ChannelBinding::none(),
        }
    }
}

impl AsyncRead for DbTlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for DbTlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.inner).poll_shutdown(cx)
    }
}

/// Checks the server's certificate as [`Check`] says. Handshake signatures are always verified,
/// so even without a chain check the session key belongs to whoever sent the certificate.
#[derive(Debug)]
struct Verifier {
    check: Check,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let (roots, name) = match &self.check {
            Check::Nothing => return Ok(ServerCertVerified::assertion()),
            Check::Chain(roots) => (roots, false),
            Check::ChainAndName(roots) => (roots, true),
        };
        let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        if name {
            rustls::client::verify_server_name(&cert, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
