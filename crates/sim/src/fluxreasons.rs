//! The reasons and messages Flux controllers write: failure modes per kind, success reasons
//! and Ready messages (texts modelled on what source-, kustomize-, helm-, notification- and
//! image-controllers report).

use serde_json::Value;

use super::fluxhelm::released;
use super::fluxspec::hex_digest;
use super::fluxstatus::Health;

/// Failure modes per kind: `(reason, message template)`; `{ns}`, `{name}` are substituted by
/// [`failure`], `{rev}` (the attempted revision) by [`as_attempted`].
const FAILURES: &[(&str, &[(&str, &str)])] = &[
    (
        "GitRepository",
        &[
            (
                "GitOperationFailed",
                "failed to checkout and determine revision: unable to clone 'https://github.com/acme/{name}': authentication required: Repository not found.",
            ),
            (
                "AuthenticationFailed",
                "failed to get secret '{ns}/git-credentials': secrets \"git-credentials\" not found",
            ),
        ],
    ),
    (
        "HelmRepository",
        &[(
            "IndexationFailed",
            "failed to fetch Helm repository index: failed to cache index to temporary file: failed to fetch https://charts.acme.example/{name}/index.yaml : 404 Not Found",
        )],
    ),
    (
        "HelmChart",
        &[(
            "ChartPullError",
            "chart pull error: failed to get chart version for remote reference: no 'podinfo' chart with version matching '6.5.*' found",
        )],
    ),
    (
        "OCIRepository",
        &[(
            "OCIArtifactPullFailed",
            "failed to pull artifact from 'oci://ghcr.io/acme/{name}': GET https://ghcr.io/v2/acme/{name}/manifests/latest: MANIFEST_UNKNOWN: manifest unknown",
        )],
    ),
    (
        "Bucket",
        &[("BucketOperationFailed", "bucket 'flux-{name}' not found")],
    ),
    (
        "Kustomization",
        &[
            (
                "HealthCheckFailed",
                "health check failed after 4m59.9s: timeout waiting for: [Deployment/{ns}/{name} status: 'InProgress']",
            ),
            (
                "ArtifactFailed",
                "Source artifact not found, retrying in 30s",
            ),
            (
                "BuildFailed",
                "kustomize build failed: accumulating resources: accumulation err='accumulating resources from './apps/{name}': no such file or directory'",
            ),
            (
                "ReconciliationFailed",
                "Deployment/{ns}/{name} dry-run failed: failed to create typed patch object: .spec.template.spec.containers[0].ports: duplicate entries for key",
            ),
        ],
    ),
    (
        "HelmRelease",
        &[
            (
                "UpgradeFailed",
                "Helm upgrade failed for release {ns}/{name} with chart podinfo@{rev}: timed out waiting for the condition",
            ),
            (
                "InstallFailed",
                "Helm install failed for release {ns}/{name} with chart podinfo@{rev}: context deadline exceeded",
            ),
            (
                "ArtifactFailed",
                "HelmChart '{ns}/{ns}-{name}' is not ready: chart pull error: failed to download chart for remote reference",
            ),
        ],
    ),
    (
        "Receiver",
        &[(
            "SecretNotFound",
            "unable to read token from secret '{ns}/webhook-token': Secret \"webhook-token\" not found",
        )],
    ),
    (
        "ImageRepository",
        &[(
            "ReconciliationFailed",
            "GET https://ghcr.io/v2/acme/{name}/tags/list: UNAUTHORIZED: authentication required",
        )],
    ),
    (
        "ImagePolicy",
        &[(
            "DependencyNotReady",
            "referenced ImageRepository '{ns}/{name}' has not been scanned yet",
        )],
    ),
    (
        "ImageUpdateAutomation",
        &[(
            "GitOperationFailed",
            "failed to push to remote: authentication required: permission denied",
        )],
    ),
];

/// A kind without failure modes of its own fails like this.
const GENERIC_FAILURE: &[(&str, &str)] = &[("ReconciliationFailed", "reconciliation failed")];

/// The failure modes of `kind`.
fn failures(kind: &str) -> &'static [(&'static str, &'static str)] {
    FAILURES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(GENERIC_FAILURE, |(_, modes)| modes)
}

/// The `i`-th failure mode of a kind (wraps around). Its message may still name `{rev}`:
/// the revision is known once the reconciliation picks it, where [`as_attempted`] fills it in.
pub fn failure(kind: &str, ns: &str, name: &str, i: usize) -> Health {
    let list = failures(kind);
    let (reason, template) = list[i % list.len()];
    let message = template.replace("{ns}", ns).replace("{name}", name);
    // Install failures exhaust their retries and stall, as helm-controller reports it.
    Health::Failed {
        reason: reason.to_string(),
        message,
        stalled: reason == "InstallFailed",
    }
}

/// A failure as the controller reports it for an attempt at `revision` on `obj`: `{rev}` in
/// the message becomes that revision, and a HelmRelease fails to *install* only while it has no
/// release yet, to *upgrade* once it has one (helm-controller picks the action by that). Other
/// outcomes pass through.
pub fn as_attempted(obj: &Value, health: Health, revision: &str) -> Health {
    let Health::Failed {
        reason,
        message,
        stalled,
    } = health
    else {
        return health;
    };
    let kind = obj["kind"].as_str().unwrap_or_default();
    let action = match (kind, reason.as_str(), released(obj)) {
        ("HelmRelease", "InstallFailed", true) => Some("UpgradeFailed"),
        ("HelmRelease", "UpgradeFailed", false) => Some("InstallFailed"),
        _ => None,
    };
    let md = &obj["metadata"];
    let (ns, name) = (
        md["namespace"].as_str().unwrap_or_default(),
        md["name"].as_str().unwrap_or_default(),
    );
    let swapped = action
        .and_then(|a| failures(kind).iter().position(|(r, _)| *r == a))
        .map(|i| failure(kind, ns, name, i));
    let (reason, message, stalled) = match swapped {
        Some(Health::Failed {
            reason,
            message,
            stalled,
        }) => (reason, message, stalled),
        _ => (reason, message, stalled),
    };
    Health::Failed {
        reason,
        message: message.replace("{rev}", revision),
        stalled,
    }
}

/// Ready=True reason of a kind.
pub fn success_reason(kind: &str) -> &'static str {
    match kind {
        "Kustomization" => "ReconciliationSucceeded",
        "HelmRelease" => "UpgradeSucceeded",
        _ => "Succeeded",
    }
}

pub(crate) fn success_message(
    kind: &str,
    ns: &str,
    name: &str,
    rev: &str,
    release_version: u64,
) -> String {
    match kind {
        "GitRepository" | "Bucket" => format!("stored artifact for revision '{rev}'"),
        "OCIRepository" => format!("stored artifact for digest '{rev}'"),
        "HelmRepository" => format!("stored artifact: revision '{rev}'"),
        "HelmChart" => format!("pulled 'podinfo' chart with version '{rev}'"),
        "Kustomization" => format!("Applied revision: {rev}"),
        "HelmRelease" => format!(
            "Helm upgrade succeeded for release {ns}/{name}.v{release_version} with chart podinfo@{rev}"
        ),
        "Receiver" => format!(
            "Receiver initialized for path: /hook/{}",
            hex_digest(&[ns, name, "token"], 64)
        ),
        "ImageRepository" => "successful scan: found 42 tags".to_string(),
        "ImagePolicy" => format!("Latest image tag for ghcr.io/acme/{name} resolved to {rev}"),
        "ImageUpdateAutomation" => "repository up-to-date".to_string(),
        _ => "reconciliation succeeded".to_string(),
    }
}
