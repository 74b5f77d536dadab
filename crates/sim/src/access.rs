//! Service accounts and their tokens, as far as `flux-orchestrator cluster add` needs them.
//!
//! ServiceAccount, Secret, ClusterRole and ClusterRoleBinding are served and stored like any
//! object. No RBAC is evaluated (every authenticated caller may do everything, as before; the
//! fault switches still refuse). What the real control plane adds:
//! - the **token controller**: a Secret of type `kubernetes.io/service-account-token` naming an
//!   existing ServiceAccount (annotation `kubernetes.io/service-account.name`) gets `data.token`,
//!   `data.ca.crt` (the cluster CA, PEM) and `data.namespace`. The real controller fills them
//!   just after the create; here the create itself stores them, so a client polling for the
//!   token sees it at its first read.
//! - the **token authenticator**: a bearer token equal to such a Secret's `data.token` is the
//!   user `system:serviceaccount:<namespace>:<name>` for as long as the Secret and its
//!   ServiceAccount exist (deleting either revokes it).

use base64::Engine;
use serde_json::{Value, json};

use super::catalog::{Class, ResourceType};
use super::state::Shared;

/// The Secret type the token controller fills.
pub const TOKEN_SECRET_TYPE: &str = "kubernetes.io/service-account-token";
/// The annotation naming the Secret's ServiceAccount.
pub const SERVICE_ACCOUNT_ANNOTATION: &str = "kubernetes.io/service-account.name";

/// `(group, kind, plural, singular, namespaced)` of each access type.
const KINDS: &[(&str, &str, &str, &str, bool)] = &[
    (
        "",
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        true,
    ),
    ("", "Secret", "secrets", "secret", true),
    (
        "rbac.authorization.k8s.io",
        "ClusterRole",
        "clusterroles",
        "clusterrole",
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        "clusterrolebindings",
        "clusterrolebinding",
        false,
    ),
];

/// The access types every simulated cluster serves.
pub(crate) fn types() -> Vec<ResourceType> {
    KINDS
        .iter()
        .map(
            |&(group, kind, plural, singular, namespaced)| ResourceType {
                class: Class::Access,
                generation: false,
                group,
                kind,
                plural,
                singular,
                namespaced,
                short_names: if kind == "ServiceAccount" {
                    &["sa"]
                } else {
                    &[]
                },
                versions: vec!["v1"],
                has_status: false,
                controller: None,
            },
        )
        .collect()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The token controller, on a Secret about to be created in `namespace`: fill a token Secret
/// of an existing ServiceAccount. Any other object is left alone.
pub fn fill_token(shared: &Shared, rt: &ResourceType, namespace: &str, body: &mut Value) {
    if rt.kind != "Secret" || body["type"].as_str() != Some(TOKEN_SECRET_TYPE) {
        return;
    }
    let Some(account) = body["metadata"]["annotations"][SERVICE_ACCOUNT_ANNOTATION].as_str() else {
        return;
    };
    if !account_exists(shared, namespace, account) {
        return;
    }
    let token = format!("sim-sa-{}", shared.store.new_uid());
    let ca = shared.tls.as_ref().map_or("", |t| t.ca_pem.as_str());
    let data = json!({
        "token": b64(token.as_bytes()),
        "ca.crt": b64(ca.as_bytes()),
        "namespace": b64(namespace.as_bytes()),
    });
    match body["data"].as_object_mut() {
        Some(existing) => existing.extend(
            data.as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone())),
        ),
        None => body["data"] = data,
    }
}

fn account_exists(shared: &Shared, namespace: &str, name: &str) -> bool {
    shared
        .catalog
        .by_kind("", "ServiceAccount")
        .is_some_and(|ty| shared.store.get(ty, namespace, name).is_some())
}

/// The token authenticator: the service account whose token Secret holds `token`, as
/// `system:serviceaccount:<namespace>:<name>`.
pub fn token_user(shared: &Shared, token: &str) -> Option<String> {
    let ty = shared.catalog.by_kind("", "Secret")?;
    let secrets: Vec<_> = shared.store.read(ty).objects.values().cloned().collect();
    secrets.iter().find_map(|stored| {
        let secret: Value = serde_json::from_slice(&stored.bytes).ok()?;
        let account = account_of_token(&secret, token)?;
        let namespace = secret["metadata"]["namespace"].as_str()?;
        account_exists(shared, namespace, account)
            .then(|| format!("system:serviceaccount:{namespace}:{account}"))
    })
}

/// The ServiceAccount a token Secret names, when its token is `token`.
fn account_of_token<'a>(secret: &'a Value, token: &str) -> Option<&'a str> {
    if secret["type"].as_str() != Some(TOKEN_SECRET_TYPE) {
        return None;
    }
    let stored = base64::engine::general_purpose::STANDARD
        .decode(secret["data"]["token"].as_str()?)
        .ok()?;
    (!token.is_empty() && stored == token.as_bytes())
        .then(|| secret["metadata"]["annotations"][SERVICE_ACCOUNT_ANNOTATION].as_str())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(token: &str) -> Value {
        json!({
            "type": TOKEN_SECRET_TYPE,
            "metadata": {"namespace": "kube-system", "annotations": {SERVICE_ACCOUNT_ANNOTATION: "fluxo"}},
            "data": {"token": b64(token.as_bytes())},
        })
    }

    #[test]
    fn a_token_secret_names_its_account_only_for_its_own_token() {
        assert_eq!(account_of_token(&secret("abc"), "abc"), Some("fluxo"));
        assert_eq!(account_of_token(&secret("abc"), "abd"), None);
        assert_eq!(account_of_token(&secret(""), ""), None);
        let mut opaque = secret("abc");
        opaque["type"] = json!("Opaque");
        assert_eq!(account_of_token(&opaque, "abc"), None);
    }
}
