//! Kubeconfig YAML and `kube::Config` for a simulated cluster.

use base64::Engine;
use serde_json::{Value, json};

use super::options::KubeconfigAuth;
use super::state::Shared;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn user_entry(shared: &Shared, auth: KubeconfigAuth) -> Value {
    match (auth, &shared.tls) {
        (KubeconfigAuth::ClientCert, Some(tls)) => json!({
            "client-certificate-data": b64(&tls.admin.cert_pem),
            "client-key-data": b64(&tls.admin.key_pem),
        }),
        _ => json!({"token": shared.token}),
    }
}

/// A kubeconfig with one cluster, one user and one context, all named after the cluster.
pub fn yaml(shared: &Shared, auth: KubeconfigAuth) -> String {
    let name = &shared.opts.name;
    let mut cluster = json!({"server": shared.url()});
    if let Some(tls) = &shared.tls {
        cluster["certificate-authority-data"] = json!(b64(&tls.ca_pem));
    }
    let user = format!("{name}-admin");
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": user, "user": user_entry(shared, auth)}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user, "namespace": "default"}}],
        "current-context": name,
        "preferences": {},
    });
    // Serialising a JSON value to YAML cannot fail.
    serde_yaml::to_string(&doc).unwrap_or_default()
}

/// A `kube::Config` trusting the cluster CA and carrying the chosen credentials.
pub fn client_config(shared: &Shared, auth: KubeconfigAuth) -> kube::Config {
    // The URL is built from a bound socket address, so it always parses.
    let url = shared
        .url()
        .parse()
        .unwrap_or_else(|_| http::Uri::from_static("https://127.0.0.1"));
    let mut cfg = kube::Config::new(url);
    cfg.default_namespace = "default".into();
    cfg.connect_timeout = Some(std::time::Duration::from_secs(5));
    if let Some(tls) = &shared.tls {
        cfg.root_cert = Some(vec![tls.ca_der.clone()]);
    }
    // AuthInfo's secret fields are set through its serde form (the same keys as kubeconfig).
    cfg.auth_info = serde_json::from_value(user_entry(shared, auth)).unwrap_or_default();
    cfg
}
