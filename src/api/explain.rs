//! Readable answers to requests poem-openapi could not parse. Its own messages name its
//! internals (``failed to parse path `param0` ``, `"string_uuid"`, `occurred while parsing
//! "list_Health"`); these name the parameter or body field, say what it must be and echo what
//! was sent. Names, types, bounds and enum values are all read from the spec, so the messages
//! cannot drift from the API. [`remember`] keeps what that takes (method, URI, a JSON body) on
//! the error; `error::to_json` asks [`explain`] for the answer.

use std::sync::OnceLock;

use bytes::Bytes;
use poem::http::{Method, StatusCode, Uri, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::error::{ParseParamError, ParsePathError, ParseRequestPayloadError};
use serde_json::Value;

/// Error code of a path or query parameter that does not fit its schema.
pub const INVALID_PARAMETER: &str = "invalid_parameter";
/// Error code of a request body that is not the JSON object the operation takes.
pub const INVALID_BODY: &str = "invalid_body";

/// At most this much of a caller's value is echoed back.
const ECHO_CHARS: usize = 100;

/// What a failed request asked: attached to its error by [`remember`], read by [`explain`].
#[derive(Clone)]
pub struct Asked {
    method: Method,
    uri: Uri,
    body: Option<Bytes>,
}

/// Keep the request's method, URI and JSON body with any error the handler returns. The body is
/// already within the size limit (`limit_body` runs first) and the JSON payload reads it whole
/// anyway; keeping it costs a reference count.
pub async fn remember<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let body = if is_json(&req) {
        let bytes = req.take_body().into_bytes().await?;
        req.set_body(bytes.clone());
        Some(bytes)
    } else {
        None
    };
    let asked = Asked {
        method: req.method().clone(),
        uri: req.uri().clone(),
        body,
    };
    if let Some(message) = refused_body(&asked) {
        return Ok(json_error(StatusCode::BAD_REQUEST, INVALID_BODY, &message));
    }
    match next.call(req).await {
        Ok(resp) => Ok(resp.into_response()),
        Err(mut e) => {
            e.set_data(asked);
            Err(e)
        }
    }
}

/// What is wrong with a JSON body the spec does not allow, checked before the handler:
/// poem-openapi would read a number or boolean sent for a string field as its text, and the
/// spec (which generated clients and the conformance run hold the server to) says string.
fn refused_body(asked: &Asked) -> Option<String> {
    let body = asked.body.as_ref()?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    body_problem(Op::of(asked)?, body)
}

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
        .is_some_and(|t| t.starts_with("application/json") || t.contains("+json"))
}

/// The code and message for a parse error of poem-openapi, if `err` is one.
pub fn explain(err: &poem::Error) -> Option<(&'static str, String)> {
    let asked = err.data::<Asked>();
    let op = asked.and_then(Op::of);
    if let Some(e) = err.downcast_ref::<ParsePathError>() {
        return Some((INVALID_PARAMETER, path_param(e, asked, op)));
    }
    if let Some(e) = err.downcast_ref::<ParseParamError>() {
        return Some((INVALID_PARAMETER, query_param(e, asked, op)));
    }
    let e = err.downcast_ref::<ParseRequestPayloadError>()?;
    let body = asked.and_then(|a| a.body.as_ref());
    let message = op
        .zip(body)
        .and_then(|(op, body)| body_problem(op, body))
        .unwrap_or_else(|| format!("invalid request body: {}", clean(&e.reason)));
    Some((INVALID_BODY, message))
}

/// The spec as generated (types, parameters, bodies; the access rules do not matter here).
fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| serde_json::from_str(&super::raw_spec()).unwrap_or_default())
}

/// The operation a request was routed to: its path template and its spec entry.
#[derive(Clone, Copy)]
struct Op {
    template: &'static str,
    spec: &'static Value,
}

impl Op {
    fn of(asked: &Asked) -> Option<Op> {
        let (id, _) = super::routes::operation(&asked.method, asked.uri.path())?;
        let paths = spec()["paths"].as_object()?;
        paths.iter().find_map(|(template, ops)| {
            let op = ops.as_object()?.values().find(|o| o["operationId"] == id)?;
            Some(Op {
                template: template.as_str(),
                spec: op,
            })
        })
    }

    /// The schema of parameter `name` in `place` (`path`, `query`).
    fn param(self, place: &str, name: &str) -> Option<&'static Value> {
        let params = self.spec["parameters"].as_array()?;
        let p = params
            .iter()
            .find(|p| p["in"] == place && p["name"] == name)?;
        Some(&p["schema"])
    }
}

fn path_param(e: &ParsePathError, asked: Option<&Asked>, op: Option<Op>) -> String {
    // poem-openapi routes path parameters as `param0`, `param1`, ... in path order.
    let index = e
        .name
        .strip_prefix("param")
        .and_then(|n| n.parse::<usize>().ok());
    let found = op.zip(asked).zip(index).and_then(|((op, asked), index)| {
        let (position, segment) = op
            .template
            .split('/')
            .filter(|s| !s.is_empty())
            .enumerate()
            .filter(|(_, s)| s.starts_with('{'))
            .nth(index)?;
        let name = segment.trim_start_matches('{').trim_end_matches('}');
        // Segments as the router matched them (empty ones skipped, like `routes::operation`).
        let raw = asked
            .uri
            .path()
            .split('/')
            .filter(|s| !s.is_empty())
            .nth(position)?;
        let got = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
        Some((name, op.param("path", name)?, got.into_owned()))
    });
    match found {
        Some((name, schema, got)) => {
            format!(
                "parameter `{name}` must be {} (got {})",
                expected(schema),
                echo(&got)
            )
        }
        None => format!("invalid path parameter: {}", clean(&e.reason)),
    }
}

fn query_param(e: &ParseParamError, asked: Option<&Asked>, op: Option<Op>) -> String {
    let name = e.name;
    let Some(schema) = op.and_then(|op| op.param("query", name)) else {
        return format!("parameter `{name}`: {}", clean(&e.reason));
    };
    let schema = resolve(schema);
    // A repeatable parameter's values are each checked against the item schema.
    let item = if schema["type"] == "array" {
        &schema["items"]
    } else {
        schema
    };
    let query = asked.and_then(|a| a.uri.query()).unwrap_or_default();
    let values: Vec<String> = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v)
        .collect();
    if values.is_empty() {
        return format!("parameter `{name}` is required: {}", expected(item));
    }
    match values.iter().find(|v| !fits_text(item, v)) {
        Some(bad) => format!(
            "parameter `{name}` must be {} (got {})",
            expected(item),
            echo(bad)
        ),
        None => format!("parameter `{name}`: {}", clean(&e.reason)),
    }
}

/// What is wrong with a JSON body, field by field; `None` when the schema check finds nothing
/// (poem's own reason is used then, e.g. for an unknown field).
fn body_problem(op: Op, body: &Bytes) -> Option<String> {
    let content = op.spec["requestBody"]["content"].as_object()?;
    let schema = resolve(&content.values().next()?["schema"]);
    let title = schema["title"].as_str().unwrap_or("object");
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) if body.iter().all(u8::is_ascii_whitespace) => Value::Null,
        Err(e) => return Some(format!("the request body is not valid JSON: {e}")),
    };
    let Some(fields) = value.as_object() else {
        return Some(format!("the request body must be a JSON object ({title})"));
    };
    let props = &schema["properties"];
    let required = schema["required"].as_array().into_iter().flatten();
    for name in required.filter_map(Value::as_str) {
        if fields.get(name).is_none_or(Value::is_null) {
            return Some(format!(
                "field `{name}` is required: {}",
                expected(&props[name])
            ));
        }
    }
    let known = props.as_object()?;
    fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .find_map(|(name, v)| {
            let schema = known.get(name)?;
            (!fits(schema, v)).then(|| {
                format!(
                    "field `{name}` must be {} (got {})",
                    expected(schema),
                    echo_json(v)
                )
            })
        })
}

/// A schema with `$ref` (or poem's `allOf: [{$ref}, {description}]`) followed.
fn resolve(schema: &Value) -> &Value {
    let target = schema["allOf"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s.get("$ref").is_some()))
        .unwrap_or(schema);
    match target["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or_default();
            &spec()["components"]["schemas"][name]
        }
        None => target,
    }
}

/// What a value of `schema` must be, as the end of "must be …".
fn expected(schema: &Value) -> String {
    let s = resolve(schema);
    if let Some(values) = s["enum"].as_array() {
        let names: Vec<String> = values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect();
        return format!("one of {}", names.join(", "));
    }
    let format = s["format"].as_str().unwrap_or_default();
    match s["type"].as_str().unwrap_or_default() {
        "string" if format == "uuid" => "a UUID".into(),
        "string" if format == "date-time" => {
            "an RFC 3339 date-time, e.g. 2026-01-31T12:00:00Z".into()
        }
        "string" => match (num(s, "minLength"), num(s, "maxLength")) {
            (Some(min), Some(max)) => format!("a string of {min} to {max} characters"),
            (None, Some(max)) => format!("a string of at most {max} characters"),
            (Some(min), None) => format!("a string of at least {min} characters"),
            (None, None) => "a string".into(),
        },
        "integer" => {
            let unsigned = format.starts_with('u');
            match (num(s, "minimum"), num(s, "maximum")) {
                (Some(min), Some(max)) => format!("an integer from {min} to {max}"),
                (Some(min), None) => format!("an integer of at least {min}"),
                (None, _) if unsigned => "a non-negative integer".into(),
                (None, Some(max)) => format!("an integer of at most {max}"),
                (None, None) => "an integer".into(),
            }
        }
        "number" => "a number".into(),
        "boolean" => "true or false".into(),
        "array" => format!("a list, each {}", expected(&s["items"])),
        "object" if s["additionalProperties"].is_object() => format!(
            "an object whose values are each {}",
            expected(&s["additionalProperties"])
        ),
        "object" => "a JSON object".into(),
        _ => "valid".into(),
    }
}

/// A numeric keyword of a schema, written as an integer when it is one (the spec has `1000.0`).
fn num(schema: &Value, key: &str) -> Option<String> {
    let n = schema[key].as_f64()?;
    Some(if n.fract() == 0.0 {
        format!("{n:.0}")
    } else {
        n.to_string()
    })
}

/// Whether `v` fits `schema` (the keywords the generated spec uses).
fn fits(schema: &Value, v: &Value) -> bool {
    let s = resolve(schema);
    if let Some(values) = s["enum"].as_array() {
        return values.contains(v);
    }
    let within = |n: f64| {
        s["minimum"].as_f64().is_none_or(|min| n >= min)
            && s["maximum"].as_f64().is_none_or(|max| n <= max)
    };
    let format = s["format"].as_str().unwrap_or_default();
    match s["type"].as_str().unwrap_or_default() {
        "string" => v.as_str().is_some_and(|t| match format {
            "uuid" => uuid::Uuid::parse_str(t).is_ok(),
            "date-time" => chrono::DateTime::parse_from_rfc3339(t).is_ok(),
            _ => {
                let len = t.chars().count() as f64;
                s["minLength"].as_f64().is_none_or(|min| len >= min)
                    && s["maxLength"].as_f64().is_none_or(|max| len <= max)
            }
        }),
        "integer" => integer_fits(format, v) && v.as_f64().is_some_and(within),
        "number" => v.as_f64().is_some_and(within),
        "boolean" => v.is_boolean(),
        "array" => v
            .as_array()
            .is_some_and(|a| a.iter().all(|x| fits(&s["items"], x))),
        "object" => v.as_object().is_some_and(|o| {
            let values = &s["additionalProperties"];
            !values.is_object() || o.values().all(|x| fits(values, x))
        }),
        _ => true,
    }
}

/// Whether `v` is an integer in the range of `format` (`int32`, `uint32`, `int64`, `uint64`).
fn integer_fits(format: &str, v: &Value) -> bool {
    match (v.as_i64(), v.as_u64()) {
        (Some(n), _) => match format {
            "int32" => i32::try_from(n).is_ok(),
            "uint32" => u32::try_from(n).is_ok(),
            "uint64" => n >= 0,
            _ => true,
        },
        (None, Some(_)) => format == "uint64",
        (None, None) => false,
    }
}

/// Whether a path or query text fits `schema`, read as the schema's type.
fn fits_text(schema: &Value, text: &str) -> bool {
    let value = match resolve(schema)["type"].as_str() {
        Some("integer") => match (text.parse::<i64>(), text.parse::<u64>()) {
            (Ok(n), _) => Value::from(n),
            (_, Ok(n)) => Value::from(n),
            _ => return false,
        },
        Some("number") => match text.parse::<f64>() {
            Ok(n) => Value::from(n),
            Err(_) => return false,
        },
        Some("boolean") => match text.parse::<bool>() {
            Ok(b) => Value::Bool(b),
            Err(_) => return false,
        },
        _ => Value::String(text.to_string()),
    };
    fits(schema, &value)
}

/// A caller's text, quoted and cut short.
fn echo(text: &str) -> String {
    let cut: String = text.chars().take(ECHO_CHARS).collect();
    if cut.len() < text.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

/// A caller's JSON value, cut short.
fn echo_json(v: &Value) -> String {
    match v {
        Value::String(s) => echo(s),
        other => {
            let text = other.to_string();
            let cut: String = text.chars().take(ECHO_CHARS).collect();
            if cut.len() < text.len() {
                format!("{cut}…")
            } else {
                cut
            }
        }
    }
}

/// poem-openapi's reason without the names of its internal types (last resort).
fn clean(reason: &str) -> String {
    let mut s = reason.trim();
    while let Some(i) = s.rfind(" (occurred while parsing") {
        s = s[..i].trim_end();
    }
    while let Some((_, rest)) = s
        .strip_prefix("failed to parse \"")
        .and_then(|r| r.split_once("\": "))
    {
        s = rest;
    }
    s.trim_end_matches('.').to_string()
}

/// A JSON error response outside handlers (middleware).
pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "code": code, "message": message });
    Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(body.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn expectations_and_checks_follow_the_spec() {
        let health = json!({"$ref": "#/components/schemas/Health"});
        assert_eq!(
            expected(&health),
            "one of ready, progressing, failed, stalled, suspended, unknown"
        );
        assert!(fits_text(&health, "stalled") && !fits_text(&health, "bad"));
        let limit =
            json!({"format": "uint32", "maximum": 1000.0, "minimum": 1.0, "type": "integer"});
        assert_eq!(expected(&limit), "an integer from 1 to 1000");
        assert!(fits_text(&limit, "1000"));
        assert!(!fits_text(&limit, "0") && !fits_text(&limit, "1e3") && !fits_text(&limit, ""));
        let sort =
            json!({"allOf": [{"$ref": "#/components/schemas/ResourceSort"}, {"default": "name"}]});
        assert!(expected(&sort).starts_with("one of name, -name"));
        let since = json!({"format": "int64", "type": "integer"});
        assert!(fits_text(&since, "-5") && !fits_text(&since, "99999999999999999999"));
        assert_eq!(echo(&"x".repeat(300)), format!("{:?}…", "x".repeat(100)));
        assert_eq!(
            clean(
                r#"failed to parse "list_Health": failed to parse "Health": bad. (occurred while parsing "list_Health")"#
            ),
            "bad"
        );
    }
}
