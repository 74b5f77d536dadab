//! Who may call which operation: one table keyed by OpenAPI operation id, matched against
//! requests by the guard and written into the spec (`x-required-role`, `security`). An
//! operation missing from the table needs an unscoped admin (deny by default); a test keeps the
//! table and the spec in step.

use serde_json::{Value, json};

use crate::auth::Role;

/// What a caller needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, authenticated or not.
    Public,
    /// Any authenticated caller.
    Authenticated,
    /// At least this role.
    Role(Role),
}

/// What a cluster-label scope restricts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Not about clusters (or public): scope does not apply.
    Any,
    /// Fleet-wide (tokens, audit, registry changes): scoped callers are refused.
    Global,
    /// The cluster named by the `{id}` path parameter (id or name).
    Cluster,
    /// The Flux object named by the `{id}` path parameter.
    Resource,
    /// A list with a `cluster` filter: limited to the clusters in scope.
    List,
    /// The handler leaves out clusters outside the scope.
    Filtered,
}

/// One operation's rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// OpenAPI operation id.
    pub op: &'static str,
    /// Who may call it.
    pub access: Access,
    /// What a scope restricts.
    pub target: Target,
}

const fn rule(op: &'static str, access: Access, target: Target) -> Rule {
    Rule { op, access, target }
}

use Access::{Authenticated, Public};
const VIEWER: Access = Access::Role(Role::Viewer);
const OPERATOR: Access = Access::Role(Role::Operator);
const ADMIN: Access = Access::Role(Role::Admin);

/// Every operation of the API and who may call it.
pub const RULES: &[Rule] = &[
    rule("healthz", Public, Target::Any),
    rule("readyz", Public, Target::Any),
    rule("metrics", VIEWER, Target::Global),
    rule("getSession", Authenticated, Target::Any),
    rule("createSession", Public, Target::Any),
    rule("deleteSession", Public, Target::Any),
    rule("oidcLogin", Public, Target::Any),
    rule("oidcCallback", Public, Target::Any),
    rule("listClusters", VIEWER, Target::Filtered),
    rule("getCluster", VIEWER, Target::Cluster),
    rule("createCluster", ADMIN, Target::Global),
    rule("updateCluster", ADMIN, Target::Global),
    rule("deleteCluster", ADMIN, Target::Global),
    rule("syncCluster", OPERATOR, Target::Cluster),
    rule("listResources", VIEWER, Target::List),
    rule("getResource", VIEWER, Target::Resource),
    rule("listResourceChanges", VIEWER, Target::Resource),
    rule("listResourceEvents", VIEWER, Target::Resource),
    rule("listResourceVersions", VIEWER, Target::Resource),
    rule("diffResourceVersions", VIEWER, Target::Resource),
    rule("getResourceGraph", VIEWER, Target::Resource),
    rule("getResourceImpact", VIEWER, Target::Resource),
    rule("listWorkloads", VIEWER, Target::List),
    rule("reconcileResource", OPERATOR, Target::Resource),
    rule("suspendResource", OPERATOR, Target::Resource),
    rule("resumeResource", OPERATOR, Target::Resource),
    rule("forceResource", OPERATOR, Target::Resource),
    rule("resetResource", OPERATOR, Target::Resource),
    rule("listChanges", VIEWER, Target::List),
    rule("listEvents", VIEWER, Target::List),
    rule("getStats", VIEWER, Target::Filtered),
    rule("listTimeline", VIEWER, Target::List),
    rule("listRollouts", VIEWER, Target::List),
    rule("getReliability", VIEWER, Target::List),
    rule("stream", VIEWER, Target::Filtered),
    rule("listTokens", ADMIN, Target::Global),
    rule("createToken", ADMIN, Target::Global),
    rule("revokeToken", ADMIN, Target::Global),
    rule("listAudit", ADMIN, Target::Global),
    rule("exportAudit", ADMIN, Target::Global),
    rule("listNotificationSinks", ADMIN, Target::Global),
    rule("createNotificationSink", ADMIN, Target::Global),
    rule("deleteNotificationSink", ADMIN, Target::Global),
    rule("testNotificationSink", ADMIN, Target::Global),
    rule("listNotificationRules", VIEWER, Target::Global),
    rule("createNotificationRule", ADMIN, Target::Global),
    rule("deleteNotificationRule", ADMIN, Target::Global),
    rule("listNotificationMutes", VIEWER, Target::Global),
    rule("createNotificationMute", OPERATOR, Target::Global),
    rule("expireNotificationMute", OPERATOR, Target::Global),
    rule("listNotificationDeliveries", VIEWER, Target::Global),
];

/// The rule of `op`; unknown operations need an unscoped admin.
pub fn rule_of(op: &str) -> Rule {
    RULES.iter().find(|r| r.op == op).copied().unwrap_or(Rule {
        op: "unknown",
        access: ADMIN,
        target: Target::Global,
    })
}

impl Access {
    /// The value of `x-required-role`.
    pub fn as_str(self) -> &'static str {
        match self {
            Public => "public",
            Authenticated => "authenticated",
            Access::Role(r) => r.as_str(),
        }
    }
}

/// Write each operation's rule into the spec: `x-required-role`, `x-cluster-scope`,
/// `security`, and a sentence in the description.
pub fn annotate(spec: &mut Value) {
    spec["components"]["securitySchemes"] = json!({
        "bearer": {"type": "http", "scheme": "bearer",
                   "description": "An API token (`fluxo_…`): POST /api/v1/tokens makes one."},
        "session": {"type": "apiKey", "in": "cookie", "name": super::SESSION_COOKIE,
                    "description": "The browser session set by POST /api/v1/session or an OIDC login; \
                                    mutating requests must also send a same-origin `Origin` header."}
    });
    let Some(paths) = spec["paths"].as_object_mut() else {
        return;
    };
    for op in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|ops| ops.values_mut())
    {
        let Some(id) = op["operationId"].as_str() else {
            continue;
        };
        let rule = rule_of(id);
        op["x-required-role"] = json!(rule.access.as_str());
        op["x-cluster-scope"] = json!(format!("{:?}", rule.target).to_lowercase());
        op["security"] = match rule.access {
            Public => json!([{}, {"bearer": []}, {"session": []}]),
            _ => json!([{"bearer": []}, {"session": []}]),
        };
        let sentence = match rule.access {
            Public => "No authentication needed.".to_string(),
            Authenticated => "Needs any authenticated caller.".to_string(),
            Access::Role(r) => format!("Needs role `{}` or higher.", r.as_str()),
        };
        let text = op["description"]
            .as_str()
            .map(|d| format!("{d}\n\n{sentence}"))
            .unwrap_or(sentence);
        op["description"] = json!(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_in_the_spec_has_a_rule_and_every_rule_an_operation() {
        let ops: Vec<&str> = crate::api::routes::operation_ids().collect();
        for op in &ops {
            assert!(
                RULES.iter().any(|r| r.op == *op),
                "no rule for operation {op}"
            );
        }
        for rule in RULES {
            assert!(
                ops.contains(&rule.op),
                "rule for unknown operation {}",
                rule.op
            );
        }
    }
}
