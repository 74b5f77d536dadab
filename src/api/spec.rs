//! The spec as clients read it: poem-openapi's output, finished so that every common generator
//! (openapi-python-client, openapi-typescript, progenitor) turns it into a working client and
//! every answer the server gives matches it. Applied once, in [`super::spec_json`], to every
//! operation and schema, so an endpoint added later gets the same treatment without a line of
//! its own:
//!
//! - **Nullability.** poem-openapi serialises an absent `Option` field as `null` but declares it
//!   only as not required, and it reads `null` for any property that is not required (an
//!   `Option`'s `None`, an `#[oai(default)]` field's default). So every property that is not
//!   required is declared `nullable`.
//! - **References.** poem-openapi writes a field whose type is a named schema, with the field's
//!   own description, as `allOf: [{$ref}, {description}]`. OpenAPI 3.0 ignores siblings of a
//!   `$ref`, and generators refuse an `allOf` that mixes an enum with an object ("Cannot take
//!   allOf a non-object"). A required field becomes a plain `$ref` (its schema carries the
//!   description); an optional one becomes `allOf: [{$ref}]` with `nullable` and its
//!   description beside it — the one 3.0 spelling of "this schema or null". Parameters whose
//!   type is a named schema (`sort`) are unwrapped the same way.
//! - **Request bodies** refuse unknown fields (every request type is
//!   `#[oai(deny_unknown_fields)]`), so their schemas say `additionalProperties: false`; the
//!   conformance run (`tests/it/api_fuzz.rs`) fails for a new body type that accepts them.
//! - **Statuses.** Every operation documents the answers the shared layers around the handlers
//!   can give it (the guard: 401, 403, 404, 429, 503 `starting`; parameter and body parsing:
//!   400, 415; body limits: 408, 413), derived from the access rule the guard applies
//!   ([`super::auth::policy::RULES`]) and the operation's parameters and body. The handler's
//!   own [`super::error::ApiError`] statuses are already there.

use serde_json::{Map, Value, json};

use super::auth::policy::{Access, Target, rule_of};

/// Finish the spec (see the module doc).
pub fn finish(spec: &mut Value) {
    let bodies = request_bodies(spec);
    if let Some(schemas) = spec["components"]["schemas"].as_object_mut() {
        union_branches(schemas);
        schemas.values_mut().for_each(properties);
        for name in bodies {
            if let Some(body) = schemas.get_mut(&name).and_then(Value::as_object_mut) {
                body.entry("additionalProperties").or_insert(json!(false));
            }
        }
    }
    let Some(paths) = spec["paths"].as_object_mut() else {
        return;
    };
    for op in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|ops| ops.values_mut())
    {
        parameters(op);
        shared_responses(op);
    }
}

/// Discriminated unions whose tags share a payload (`subscribed` and `heartbeat` both carry a
/// `PositionMessage`): poem-openapi writes one branch schema for them, whose tag enum holds only
/// the last tag, and lists it in `oneOf` once per tag. A `subscribed` message then matches no
/// branch, and a generated client fails to decode it. Each tag of a shared payload gets a
/// branch of its own, `{Union}_{Tag}`, listed once.
fn union_branches(schemas: &mut Map<String, Value>) {
    let unions: Vec<String> = schemas
        .iter()
        .filter(|(_, s)| s["discriminator"]["mapping"].is_object())
        .map(|(name, _)| name.clone())
        .collect();
    for name in unions {
        let union = &schemas[&name]["discriminator"];
        let tag_field = union["propertyName"].as_str().unwrap_or("type").to_string();
        let mapping: Vec<(String, String)> = union["mapping"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(tag, r)| Some((tag.clone(), r.as_str()?.to_string())))
            .collect();
        let shared = |r: &str| mapping.iter().filter(|(_, other)| other == r).count() > 1;
        let mut branches = Map::new();
        for (tag, reference) in &mapping {
            if !shared(reference) {
                branches.insert(tag.clone(), json!(reference));
                continue;
            }
            let Some(payload) = reference.strip_prefix(SCHEMAS) else {
                continue;
            };
            let mut branch = schemas.get(payload).cloned().unwrap_or_default();
            retag(&mut branch, &tag_field, tag);
            let branch_name = format!("{name}_{}", pascal(tag));
            branches.insert(tag.clone(), json!(format!("{SCHEMAS}{branch_name}")));
            schemas.insert(branch_name, branch);
        }
        for (_, reference) in mapping.iter().filter(|(_, r)| shared(r)) {
            reference.strip_prefix(SCHEMAS).map(|p| schemas.remove(p));
        }
        let mut one_of: Vec<Value> = Vec::new();
        for reference in branches.values() {
            let entry = json!({ "$ref": reference });
            if !one_of.contains(&entry) {
                one_of.push(entry);
            }
        }
        let union = &mut schemas[&name];
        union["oneOf"] = Value::Array(one_of);
        union["discriminator"]["mapping"] = Value::Object(branches);
    }
}

const SCHEMAS: &str = "#/components/schemas/";

/// Set the tag a union branch declares (the `allOf` part that holds the tag property).
fn retag(branch: &mut Value, tag_field: &str, tag: &str) {
    let parts = branch["allOf"].as_array_mut().into_iter().flatten();
    for part in parts.filter(|p| p["properties"][tag_field].is_object()) {
        part["properties"][tag_field]["enum"] = json!([tag]);
        part["properties"][tag_field]["example"] = json!(tag);
    }
}

/// `heartbeat` → `Heartbeat`, `still_failed` → `StillFailed`.
fn pascal(tag: &str) -> String {
    tag.split(['_', '-'])
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}

/// Parameters whose type is a named schema (`sort`), unwrapped like properties. A parameter
/// is never `null` (an absent one is absent).
fn parameters(op: &mut Value) {
    let params = op.get_mut("parameters").and_then(Value::as_array_mut);
    for param in params.into_iter().flatten() {
        if let Some(fields) = param["schema"].as_object_mut() {
            param["schema"] = property(std::mem::take(fields), false);
        }
    }
}

/// The schemas that operations take as JSON request bodies.
fn request_bodies(spec: &Value) -> Vec<String> {
    let ops = spec["paths"].as_object().into_iter().flatten();
    ops.flat_map(|(_, ops)| ops.as_object().into_iter().flatten())
        .filter_map(|(_, op)| op.get("requestBody")?["content"].as_object())
        .flat_map(|content| content.values())
        .filter_map(|media| media["schema"]["$ref"].as_str())
        .filter_map(|r| r.strip_prefix("#/components/schemas/"))
        .map(String::from)
        .collect()
}

/// Nullability and references of an object schema's properties.
fn properties(schema: &mut Value) {
    let required: Vec<String> = schema["required"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, prop) in props.iter_mut() {
        let Some(fields) = prop.as_object_mut() else {
            continue;
        };
        let nullable = !required.contains(name);
        *prop = property(std::mem::take(fields), nullable);
    }
}

/// One property, declared `nullable` if it is, with a wrapped `$ref` unwrapped.
fn property(mut fields: Map<String, Value>, nullable: bool) -> Value {
    if nullable {
        fields.insert("nullable".into(), json!(true));
    }
    let Some(target) = wrapped_ref(&fields) else {
        return Value::Object(fields);
    };
    fields.remove("allOf");
    // openapi-python-client refuses a default for a model ("ModelProperty cannot have a
    // default value"); the description says what absence means.
    if fields.get("default").is_some_and(Value::is_object) {
        fields.remove("default");
    }
    let only_description = fields.keys().all(|k| k == "description");
    if only_description {
        return json!({ "$ref": target });
    }
    fields.insert("allOf".into(), json!([{ "$ref": target }]));
    Value::Object(fields)
}

/// The target of `allOf: [{$ref}, {annotations}]` as poem-openapi writes a described reference.
fn wrapped_ref(fields: &Map<String, Value>) -> Option<String> {
    let parts = fields.get("allOf")?.as_array()?;
    let (first, rest) = parts.split_first()?;
    let target = first.as_object()?.get("$ref")?.as_str()?;
    let annotations_only = rest.iter().all(|p| {
        p.as_object()
            .is_some_and(|o| !o.contains_key("$ref") && !o.contains_key("properties"))
    });
    annotations_only.then(|| target.to_string())
}

/// A status the shared layers give, and when.
struct Shared {
    status: &'static str,
    description: &'static str,
    applies: fn(&Facts) -> bool,
}

/// What decides which shared statuses an operation can get.
struct Facts {
    access: Access,
    target: Target,
    params: bool,
    body: bool,
    probe: bool,
    login: bool,
}

/// The shared layers' answers.
const SHARED: &[Shared] = &[
    Shared {
        status: "400",
        description: "A parameter or the body cannot be parsed or is out of range \
                      (`invalid_parameter`, `invalid_body`).",
        applies: |f| f.params || f.body || f.target == Target::List,
    },
    Shared {
        status: "401",
        description: "No credential, or one that is unknown, expired or revoked.",
        applies: |f| f.access != Access::Public,
    },
    Shared {
        status: "403",
        description: "The caller's role or cluster scope does not allow this, or a \
                      cookie-authenticated request came from another origin.",
        applies: |f| f.access != Access::Public,
    },
    Shared {
        status: "404",
        description: "The cluster or resource named in the path does not exist.",
        applies: |f| matches!(f.target, Target::Cluster | Target::Resource),
    },
    Shared {
        status: "408",
        description: "An unauthenticated body did not arrive in time.",
        applies: |f| f.body && f.access == Access::Public,
    },
    Shared {
        status: "413",
        description: "The request body is larger than the limit.",
        applies: |f| f.body,
    },
    Shared {
        status: "415",
        description: "The body is not sent as `application/json`.",
        applies: |f| f.body,
    },
    Shared {
        status: "429",
        description: "Too many unknown credentials or login attempts from this address; \
                      retry after `Retry-After` seconds.",
        applies: |f| f.access != Access::Public || f.login,
    },
    Shared {
        status: "503",
        description: "The server is starting (`starting`) or the database is unavailable; \
                      retry after `Retry-After` seconds.",
        applies: |f| !f.probe,
    },
];

/// Add the shared statuses an operation lacks.
fn shared_responses(op: &mut Value) {
    let Some(id) = op["operationId"].as_str() else {
        return;
    };
    let rule = rule_of(id);
    let facts = Facts {
        access: rule.access,
        target: rule.target,
        params: op["parameters"].as_array().is_some_and(|p| !p.is_empty()),
        body: op.get("requestBody").is_some(),
        probe: matches!(id, "healthz" | "readyz"),
        login: matches!(id, "createSession" | "oidcCallback"),
    };
    let Some(responses) = op["responses"].as_object_mut() else {
        return;
    };
    for shared in SHARED.iter().filter(|s| (s.applies)(&facts)) {
        responses.entry(shared.status).or_insert_with(|| {
            json!({
                "description": shared.description,
                "content": {"application/json; charset=utf-8": {
                    "schema": {"$ref": "#/components/schemas/ErrorBody"}
                }}
            })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(props: Value, required: &[&str]) -> Value {
        json!({"type": "object", "properties": props, "required": required})
    }

    #[test]
    fn a_payload_shared_by_two_tags_gets_a_branch_per_tag() {
        let branch = |tag: &str, payload: &str| {
            json!({"allOf": [
                {"type": "object", "required": ["type"],
                 "properties": {"type": {"type": "string", "enum": [tag], "example": tag}}},
                {"$ref": format!("#/components/schemas/{payload}")}
            ]})
        };
        let r = |n: &str| format!("#/components/schemas/{n}");
        let mut schemas = json!({
            "M": {"oneOf": [{"$ref": r("M_A")}, {"$ref": r("M_Pos")}, {"$ref": r("M_Pos")}],
                  "discriminator": {"propertyName": "type", "mapping": {
                      "a": r("M_A"), "sub": r("M_Pos"), "heart_beat": r("M_Pos")}}},
            "M_A": branch("a", "A"),
            "M_Pos": branch("heart_beat", "Pos"),
        });
        union_branches(schemas.as_object_mut().unwrap());
        assert!(schemas.get("M_Pos").is_none());
        assert_eq!(schemas["M_Sub"], branch("sub", "Pos"));
        assert_eq!(schemas["M_HeartBeat"], branch("heart_beat", "Pos"));
        assert_eq!(schemas["M_A"], branch("a", "A"));
        let mapping = &schemas["M"]["discriminator"]["mapping"];
        assert_eq!(mapping["sub"], json!(r("M_Sub")));
        assert_eq!(mapping["a"], json!(r("M_A")));
        let one_of = schemas["M"]["oneOf"].as_array().unwrap();
        assert_eq!(one_of.len(), 3);
        assert!(one_of.contains(&json!({"$ref": r("M_HeartBeat")})));
    }

    #[test]
    fn optional_properties_are_nullable_and_required_ones_are_not() {
        let mut s = schema(
            json!({
                "a": {"type": "string"},
                "b": {"type": "string"},
                "c": {"type": "boolean", "default": false}
            }),
            &["a"],
        );
        properties(&mut s);
        assert_eq!(s["properties"]["a"], json!({"type": "string"}));
        assert_eq!(
            s["properties"]["b"],
            json!({"type": "string", "nullable": true})
        );
        assert_eq!(
            s["properties"]["c"],
            json!({"type": "boolean", "default": false, "nullable": true})
        );
    }

    #[test]
    fn described_references_become_plain_or_single_nullable_all_of() {
        let wrapped = |d: &str| {
            json!({"allOf": [{"$ref": "#/components/schemas/Health"}, {"description": d}],
                   "description": d})
        };
        let mut s = schema(
            json!({"required": wrapped("r"), "optional": wrapped("o")}),
            &["required"],
        );
        properties(&mut s);
        assert_eq!(
            s["properties"]["required"],
            json!({"$ref": "#/components/schemas/Health"})
        );
        assert_eq!(
            s["properties"]["optional"],
            json!({"allOf": [{"$ref": "#/components/schemas/Health"}],
                   "description": "o", "nullable": true})
        );
    }

    #[test]
    fn a_named_parameter_type_keeps_its_default_beside_a_single_all_of() {
        let mut op = json!({"parameters": [{"name": "sort", "schema": {
            "allOf": [{"$ref": "#/components/schemas/ResourceSort"}, {"default": "name"}],
            "default": "name"}}]});
        parameters(&mut op);
        assert_eq!(
            op["parameters"][0]["schema"],
            json!({"allOf": [{"$ref": "#/components/schemas/ResourceSort"}], "default": "name"})
        );
    }

    #[test]
    fn a_model_default_is_dropped() {
        let filter = json!({"allOf": [{"$ref": "#/components/schemas/StreamFilter"},
                                      {"default": {"kinds": []}}],
                            "default": {"kinds": []}, "description": "d"});
        let mut s = schema(json!({ "filter": filter }), &[]);
        properties(&mut s);
        assert_eq!(
            s["properties"]["filter"],
            json!({"allOf": [{"$ref": "#/components/schemas/StreamFilter"}],
                   "description": "d", "nullable": true})
        );
    }

    #[test]
    fn an_all_of_that_merges_objects_is_left_alone() {
        let merged = json!({"allOf": [
            {"$ref": "#/components/schemas/ChangeMessage"},
            {"type": "object", "properties": {"type": {"type": "string"}}}
        ]});
        let mut s = schema(json!({ "m": merged.clone() }), &["m"]);
        properties(&mut s);
        assert_eq!(s["properties"]["m"], merged);
    }

    #[test]
    fn request_body_schemas_refuse_unknown_fields() {
        let mut spec = json!({
            "paths": {"/x": {"post": {"requestBody": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/In"}}}}, "responses": {}}}},
            "components": {"schemas": {"In": {"type": "object"}, "Out": {"type": "object"}}}
        });
        finish(&mut spec);
        assert_eq!(
            spec["components"]["schemas"]["In"]["additionalProperties"],
            false
        );
        assert!(spec["components"]["schemas"]["Out"]["additionalProperties"].is_null());
        assert!(spec["paths"]["/x"]["post"].get("parameters").is_none());
    }

    fn statuses(op: &Value) -> Vec<&str> {
        op["responses"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn guarded_operations_document_the_guards_answers() {
        let mut op = json!({"operationId": "getResource",
                            "parameters": [{"name": "id"}],
                            "responses": {"200": {"description": "ok"}}});
        shared_responses(&mut op);
        assert_eq!(
            statuses(&op),
            ["200", "400", "401", "403", "404", "429", "503"]
        );
    }

    #[test]
    fn probes_document_nothing_more_and_public_bodies_may_time_out() {
        let mut probe = json!({"operationId": "healthz", "responses": {"200": {}}});
        shared_responses(&mut probe);
        assert_eq!(statuses(&probe), ["200"]);
        let mut login = json!({"operationId": "createSession", "requestBody": {},
                               "responses": {"200": {}}});
        shared_responses(&mut login);
        assert_eq!(
            statuses(&login),
            ["200", "400", "408", "413", "415", "429", "503"]
        );
    }

    #[test]
    fn a_status_the_handler_documents_keeps_its_description() {
        let mut op = json!({"operationId": "listClusters",
                            "responses": {"401": {"description": "own"}}});
        shared_responses(&mut op);
        assert_eq!(op["responses"]["401"]["description"], "own");
    }
}
