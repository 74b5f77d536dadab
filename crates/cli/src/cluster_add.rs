//! `cluster add CONTEXT`: with the user's own kubeconfig context (its exec plugins run here,
//! on the user's machine, never on the server), create a ServiceAccount with a read/patch
//! ClusterRole and a long-lived token Secret, wait for the token controller to fill it, and
//! register the cluster with that token and the cluster's CA.

use std::time::{Duration, Instant};

use base64::Engine;
use fluxo_client::types::CreateCluster;
use kube::api::{Api as KubeApi, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

use super::api::Api;
use super::args::ClusterAddArgs;
use super::error::{Error, Result};
use super::manifests::{self, Names};
use super::output::{print, progress};

/// The field manager of our server-side applies (a re-run updates, never conflicts).
const FIELD_MANAGER: &str = "flux-orchestrator";

/// `cluster add --dry-run`: the manifests, no cluster or server contacted.
pub fn dry_run(args: &ClusterAddArgs) -> Result<()> {
    print(&manifests::yaml(&manifests::objects(&names(args))))
}

fn names(args: &ClusterAddArgs) -> Names {
    Names {
        namespace: args.namespace.clone(),
        account: args.service_account.clone(),
    }
}

/// `cluster add`.
pub async fn run(api: &Api, args: &ClusterAddArgs) -> Result<()> {
    let labels = manifests::parse_labels(&args.labels).map_err(Error::Usage)?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| manifests::cluster_name(&args.context));
    let config = kube_config(args).await?;
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let insecure = config.accept_invalid_certs;
    let local_ca = config
        .root_cert
        .as_ref()
        .and_then(|certs| certs.first())
        .map(|der| pem_base64(der));
    let client = kube::Client::try_from(config)
        .map_err(|e| Error::kube(format!("building a client for context {}", args.context), e))?;
    let names = names(args);
    for object in manifests::objects(&names) {
        apply(&client, &object).await?;
    }
    let secret = wait_for_token(&client, &names, args.timeout).await?;
    let token = decode(&secret, "token")?;
    let ca = secret["data"]["ca.crt"]
        .as_str()
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .or(local_ca);
    let kubeconfig = manifests::kubeconfig(&name, &server, ca.as_deref(), insecure, &token);
    let allow_insecure = insecure || server.starts_with("http://");
    let body = create_body(args, name, kubeconfig, labels, allow_insecure);
    let created = api
        .client
        .create_cluster()
        .body(body)
        .send()
        .await
        .map_err(|e| api.err(e))?;
    let created = created.into_inner();
    print(&format!(
        "cluster {} registered ({}): {server}\n",
        created.name, created.id
    ))
}

/// The registration: the built kubeconfig, labels, and a description naming the context.
fn create_body(
    args: &ClusterAddArgs,
    name: String,
    kubeconfig: String,
    labels: serde_json::Map<String, Value>,
    allow_insecure: bool,
) -> CreateCluster {
    let labels = labels
        .into_iter()
        .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
        .collect();
    CreateCluster {
        name,
        kubeconfig,
        context: None,
        description: Some(format!(
            "added with `flux-orchestrator cluster add {}`",
            args.context
        )),
        labels: Some(labels),
        allow_insecure: Some(allow_insecure),
    }
}

/// The local kubeconfig's context, resolved here (exec plugins and all).
async fn kube_config(args: &ClusterAddArgs) -> Result<kube::Config> {
    let context = format!("kubeconfig context {}", args.context);
    let kubeconfig = match &args.kubeconfig {
        Some(path) => Kubeconfig::read_from(path),
        None => Kubeconfig::read(),
    }
    .map_err(|e| {
        Error::kube(
            format!("reading the kubeconfig for {context}"),
            kube::Error::InferKubeconfig(e),
        )
    })?;
    let options = KubeConfigOptions {
        context: Some(args.context.clone()),
        ..KubeConfigOptions::default()
    };
    kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| Error::kube(context, kube::Error::InferKubeconfig(e)))
}

/// The API resource of one of our manifests.
fn resource_of(object: &Value) -> ApiResource {
    let (group, version) = match object["apiVersion"]
        .as_str()
        .unwrap_or("v1")
        .split_once('/')
    {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (
            String::new(),
            object["apiVersion"].as_str().unwrap_or("v1").to_string(),
        ),
    };
    let kind = object["kind"].as_str().unwrap_or_default();
    let plural = format!("{}s", kind.to_ascii_lowercase());
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(&group, &version, kind), &plural)
}

async fn apply(client: &kube::Client, object: &Value) -> Result<()> {
    let ar = resource_of(object);
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let api: KubeApi<DynamicObject> = match object["metadata"]["namespace"].as_str() {
        Some(ns) => KubeApi::namespaced_with(client.clone(), ns, &ar),
        None => KubeApi::all_with(client.clone(), &ar),
    };
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch(name, &params, &Patch::Apply(object))
        .await
        .map_err(|e| Error::kube(format!("applying {} {name}", ar.kind), e))?;
    progress(&format!("✔ {} {name}", ar.kind));
    Ok(())
}

/// Poll the token Secret until the token controller has filled it.
async fn wait_for_token(client: &kube::Client, names: &Names, timeout: Duration) -> Result<Value> {
    let ar =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "Secret"), "secrets");
    let api: KubeApi<DynamicObject> =
        KubeApi::namespaced_with(client.clone(), &names.namespace, &ar);
    let started = Instant::now();
    loop {
        let secret = api.get(&names.secret()).await.map_err(|e| {
            Error::kube(
                format!("reading Secret {}/{}", names.namespace, names.secret()),
                e,
            )
        })?;
        let value = serde_json::to_value(&secret).map_err(|e| Error::Protocol(e.to_string()))?;
        if value["data"]["token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
        {
            return Ok(value);
        }
        if started.elapsed() >= timeout {
            return Err(Error::Timeout(
                timeout,
                format!(
                    "the token controller did not fill Secret {}/{}",
                    names.namespace,
                    names.secret()
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn decode(secret: &Value, key: &str) -> Result<String> {
    let raw = secret["data"][key].as_str().unwrap_or_default();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map_err(|e| Error::Protocol(format!("Secret data {key}: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::Protocol(format!("Secret data {key}: {e}")))
}

/// A DER certificate as base64 of its PEM (kubeconfig's `certificate-authority-data`).
fn pem_base64(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = b64.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    b64.encode(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_map_to_their_api_resources() {
        let objs = manifests::objects(&Names {
            namespace: "ns".into(),
            account: "a".into(),
        });
        let ars: Vec<(String, String, String)> = objs
            .iter()
            .map(resource_of)
            .map(|a| (a.group, a.version, a.plural))
            .collect();
        assert_eq!(ars[0], ("".into(), "v1".into(), "serviceaccounts".into()));
        assert_eq!(ars[1], ("".into(), "v1".into(), "secrets".into()));
        assert_eq!(
            ars[2],
            (
                "rbac.authorization.k8s.io".into(),
                "v1".into(),
                "clusterroles".into()
            )
        );
        assert_eq!(ars[3].2, "clusterrolebindings");
    }

    #[test]
    fn a_der_certificate_becomes_base64_pem() {
        let text = base64::engine::general_purpose::STANDARD
            .decode(pem_base64(&[1u8; 100]))
            .unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(text.lines().all(|l| l.len() <= 64));
    }
}
