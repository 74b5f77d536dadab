//! Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), with the
//! columns Flux's CRDs declare (and kubectl's own for the workload kinds), so `kubectl get`
//! looks like it does against a real cluster.

use bytes::Bytes;
use http::{HeaderMap, Response, header};
use serde_json::{Value, json};

use super::catalog::ResourceType;
use super::list::Page;
use super::server::{Body, json_typed};
use super::workloadtable;

const TABLE_CT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// Whether the client asked for a Table.
pub fn wanted(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            a.split(',')
                .next()
                .is_some_and(|first| first.contains("as=Table"))
        })
}

fn col(name: &str, ty: &str, format: &str) -> Value {
    json!({"name": name, "type": ty, "format": format, "description": "", "priority": 0})
}

/// Column definitions for a type.
pub fn columns(rt: &ResourceType) -> Value {
    let mut cols = vec![col("Name", "string", "name")];
    if rt.is_workload() {
        let names = workloadtable::columns(rt.kind);
        cols.extend(names.iter().map(|n| col(n, "string", "")));
        return Value::Array(cols);
    }
    match rt.kind {
        "Namespace" => cols.extend([col("Status", "string", ""), col("Age", "string", "")]),
        "Event" => cols.extend(
            ["Last Seen", "Type", "Reason", "Object", "Message"].map(|n| col(n, "string", "")),
        ),
        "GitRepository" | "HelmRepository" | "OCIRepository" => cols.extend([
            col("URL", "string", ""),
            col("Age", "date", ""),
            col("Ready", "string", ""),
            col("Status", "string", ""),
        ]),
        _ => cols.extend([
            col("Age", "date", ""),
            col("Ready", "string", ""),
            col("Status", "string", ""),
        ]),
    }
    Value::Array(cols)
}

fn ready(obj: &Value) -> (String, String) {
    let cond = obj["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"));
    let s = |f: &str| {
        cond.and_then(|c| c[f].as_str())
            .unwrap_or_default()
            .to_string()
    };
    (s("status"), s("message"))
}

/// Human age like kubectl prints (`45s`, `12m`, `3h`, `5d`).
pub fn age(ts: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(ts) else {
        return "<unknown>".into();
    };
    let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
        .num_seconds()
        .max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

fn cells(rt: &ResourceType, obj: &Value) -> Vec<Value> {
    let md = &obj["metadata"];
    let name = md["name"].clone();
    let created = age(md["creationTimestamp"].as_str().unwrap_or_default());
    if rt.is_workload() {
        let mut out = vec![name];
        out.extend(workloadtable::cells(rt.kind, obj, created));
        return out;
    }
    let (ready, message) = ready(obj);
    match rt.kind {
        "Namespace" => vec![name, obj["status"]["phase"].clone(), created.into()],
        "Event" => {
            let io = &obj["involvedObject"];
            let object = format!(
                "{}/{}",
                io["kind"].as_str().unwrap_or_default().to_lowercase(),
                io["name"].as_str().unwrap_or_default()
            );
            let last = age(obj["lastTimestamp"].as_str().unwrap_or_default());
            vec![
                name,
                last.into(),
                obj["type"].clone(),
                obj["reason"].clone(),
                object.into(),
                obj["message"].clone(),
            ]
        }
        "GitRepository" | "HelmRepository" | "OCIRepository" => {
            vec![
                name,
                obj["spec"]["url"].clone(),
                created.into(),
                ready.into(),
                message.into(),
            ]
        }
        _ => vec![name, created.into(), ready.into(), message.into()],
    }
}

/// One table row for an object; the row object is its metadata unless the full object was asked.
pub fn row(rt: &ResourceType, obj: &Value) -> Value {
    json!({
        "cells": cells(rt, obj),
        "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]},
    })
}

/// A LIST answered as a Table.
pub fn list_table(rt: &ResourceType, page: &Page) -> Response<Body> {
    let rows: Vec<Value> = page
        .items
        .iter()
        .filter_map(|(_, o)| serde_json::from_slice::<Value>(&o.bytes).ok())
        .map(|o| row(rt, &o))
        .collect();
    let mut md = json!({"resourceVersion": page.rv.to_string()});
    if let Some(next) = &page.next {
        md["continue"] = json!(next);
    }
    let t = json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": md, "columnDefinitions": columns(rt), "rows": rows});
    json_typed(200, TABLE_CT, serde_json::to_vec(&t).unwrap_or_default())
}

/// A watch event line whose object is a one-row Table (kubectl `get --watch`).
pub fn watch_line(rt: &ResourceType, event_type: &str, obj: &Value, with_columns: bool) -> Bytes {
    let rv = obj["metadata"]["resourceVersion"].clone();
    let cols = if with_columns { columns(rt) } else { json!([]) };
    let t = json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv}, "columnDefinitions": cols, "rows": [row(rt, obj)]});
    let mut line =
        serde_json::to_vec(&json!({"type": event_type, "object": t})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}
