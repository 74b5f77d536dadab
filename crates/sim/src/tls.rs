//! The cluster's own CA, its serving certificate and client certificates (rcgen), and the
//! rustls server configuration that verifies client certificates when they are presented.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A client identity: certificate and key, both PEM.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    /// Certificate, PEM.
    pub cert_pem: String,
    /// Private key (PKCS#8), PEM.
    pub key_pem: String,
}

/// CA, serving certificate and the issued client certificates of one cluster.
pub struct TlsMaterial {
    /// CA certificate, PEM (goes into kubeconfig `certificate-authority-data`).
    pub ca_pem: String,
    /// CA certificate, DER (for `kube::Config::root_cert`).
    pub ca_der: Vec<u8>,
    /// Server configuration for the listener.
    pub server_config: Arc<rustls::ServerConfig>,
    /// The admin client identity issued at start-up.
    pub admin: ClientIdentity,
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// DER of each issued client certificate → user name (written by `issue_client`, read by
    /// the connection handler to name the authenticated user).
    issued: Mutex<HashMap<Vec<u8>, String>>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial").finish_non_exhaustive()
    }
}

/// Install ring as the process-wide rustls provider unless one is installed already. Both
/// ring and aws-lc-rs are compiled into this binary, so rustls cannot pick one by itself, and
/// the kube client (hyper-rustls) asks for the process default.
pub fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsMaterial {
    /// Generate a CA named after the cluster and a serving certificate for `ip`, `localhost`
    /// and `127.0.0.1`.
    pub fn generate(cluster: &str, ip: IpAddr) -> anyhow::Result<Self> {
        let issuer = certificate_authority(cluster)?;
        let ca_der = issuer.der().to_vec();
        let ca_pem = issuer.pem();
        let (chain, key) = serving_certificate(&issuer, ip)?;
        let server_config = server_config(&ca_der, chain, key)?;
        let mut material = Self {
            ca_pem,
            ca_der,
            server_config: Arc::new(server_config),
            admin: ClientIdentity {
                cert_pem: String::new(),
                key_pem: String::new(),
            },
            issuer,
            issued: Mutex::new(HashMap::new()),
        };
        material.admin =
            material.issue_client("flux-orchestrator-admin", Some("system:masters"))?;
        Ok(material)
    }

    /// Issue a client certificate for `user` (CN) in `group` (O), signed by the cluster CA.
    pub fn issue_client(&self, user: &str, group: Option<&str>) -> anyhow::Result<ClientIdentity> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = dn(user, group);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let key = KeyPair::generate()?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .context("sign client certificate")?;
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(cert.der().to_vec(), user.to_string());
        Ok(ClientIdentity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// The user a verified peer certificate was issued to.
    pub fn user_of(&self, cert_der: &[u8]) -> Option<String> {
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(cert_der)
            .cloned()
    }
}

/// A self-signed CA named after the cluster.
fn certificate_authority(cluster: &str) -> anyhow::Result<CertifiedIssuer<'static, KeyPair>> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name = dn(&format!("{cluster}-ca"), None);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?).context("self-sign CA")
}

/// The apiserver's certificate chain (serving certificate, CA) for `localhost`, `127.0.0.1`,
/// `kubernetes.default.svc` and `ip`, and its key.
fn serving_certificate(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    ip: IpAddr,
) -> anyhow::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let mut sans = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "kubernetes.default.svc".to_string(),
    ];
    if ip.to_string() != "127.0.0.1" && !ip.is_unspecified() {
        sans.push(ip.to_string());
    }
    let mut params = CertificateParams::new(sans)?;
    params.distinguished_name = dn("kube-apiserver", None);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let key = KeyPair::generate()?;
    let cert = params
        .signed_by(&key, issuer)
        .context("sign serving certificate")?;
    let chain = vec![
        cert.der().clone(),
        CertificateDer::from(issuer.der().to_vec()),
    ];
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok((chain, key_der))
}

/// The listener's rustls configuration: serves `chain`, and verifies client certificates
/// against the cluster CA when a client presents one (token clients present none).
fn server_config(
    ca_der: &[u8],
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> anyhow::Result<rustls::ServerConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca_der.to_vec()))
        .context("trust own CA")?;
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .allow_unauthenticated()
            .build()
            .context("client certificate verifier")?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .context("serving certificate")?;
    // Both, HTTP/2 preferred, as kube-apiserver: clients that offer h2 (kubectl, the server)
    // multiplex every request on one connection.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

fn dn(cn: &str, org: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    if let Some(o) = org {
        dn.push(DnType::OrganizationName, o);
    }
    dn
}
