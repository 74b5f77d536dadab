//! JSON Patch (RFC 6902): add, remove, replace, move, copy and test.

use serde_json::Value;

use super::status::{ApiError, Result};

/// Apply a JSON patch document to `doc`; on error `doc` may be partly patched (the store
/// discards it).
pub fn apply(doc: &mut Value, patch: &Value) -> Result<()> {
    let ops = patch
        .as_array()
        .ok_or_else(|| ApiError::bad_request("a JSON patch must be an array"))?;
    for op in ops {
        let path = op["path"]
            .as_str()
            .ok_or_else(|| ApiError::bad_request("JSON patch op without path"))?;
        match op["op"].as_str().unwrap_or_default() {
            "add" => add(doc, path, op["value"].clone())?,
            "remove" => drop(remove(doc, path)?),
            "replace" => {
                remove(doc, path)?;
                add(doc, path, op["value"].clone())?;
            }
            "move" | "copy" => {
                let from = op["from"]
                    .as_str()
                    .ok_or_else(|| ApiError::bad_request("move/copy without from"))?;
                let v = if op["op"] == "move" {
                    remove(doc, from)?
                } else {
                    get(doc, from)?.clone()
                };
                add(doc, path, v)?;
            }
            "test" => {
                if get(doc, path)? != &op["value"] {
                    return Err(ApiError::new(
                        422,
                        "Invalid",
                        format!("JSON patch test failed at {path}"),
                    ));
                }
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown JSON patch op {other:?}"
                )));
            }
        }
    }
    Ok(())
}

fn unescape(seg: &str) -> String {
    seg.replace("~1", "/").replace("~0", "~")
}

fn split(path: &str) -> Result<(String, String)> {
    let i = path
        .rfind('/')
        .ok_or_else(|| ApiError::bad_request(format!("bad JSON pointer {path:?}")))?;
    Ok((path[..i].to_string(), unescape(&path[i + 1..])))
}

fn get<'a>(doc: &'a Value, path: &str) -> Result<&'a Value> {
    doc.pointer(path)
        .ok_or_else(|| ApiError::new(422, "Invalid", format!("JSON patch path not found: {path}")))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<()> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, key) = split(path)?;
    let missing = || {
        ApiError::new(
            422,
            "Invalid",
            format!("JSON patch parent not found: {path}"),
        )
    };
    match doc.pointer_mut(&parent).ok_or_else(missing)? {
        Value::Object(m) => {
            m.insert(key, value);
        }
        Value::Array(a) if key == "-" => a.push(value),
        Value::Array(a) => {
            let i: usize = key.parse().map_err(|_| missing())?;
            if i > a.len() {
                return Err(missing());
            }
            a.insert(i, value);
        }
        _ => return Err(missing()),
    }
    Ok(())
}

fn remove(doc: &mut Value, path: &str) -> Result<Value> {
    let (parent, key) = split(path)?;
    let missing = || ApiError::new(422, "Invalid", format!("JSON patch path not found: {path}"));
    match doc.pointer_mut(&parent).ok_or_else(missing)? {
        Value::Object(m) => m.remove(&key).ok_or_else(missing),
        Value::Array(a) => {
            let i: usize = key.parse().map_err(|_| missing())?;
            (i < a.len()).then(|| a.remove(i)).ok_or_else(missing)
        }
        _ => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_patch_ops_apply_in_order() {
        let mut d =
            json!({"spec": {"suspend": false, "list": [1, 3]}, "metadata": {"annotations": {}}});
        let p = json!([
            {"op": "replace", "path": "/spec/suspend", "value": true},
            {"op": "add", "path": "/spec/list/1", "value": 2},
            {"op": "add", "path": "/metadata/annotations/a~1b", "value": "x"},
            {"op": "test", "path": "/spec/list/2", "value": 3},
            {"op": "copy", "from": "/spec/suspend", "path": "/spec/copy"},
        ]);
        apply(&mut d, &p).unwrap();
        assert_eq!(
            d,
            json!({"spec": {"suspend": true, "copy": true, "list": [1, 2, 3]}, "metadata": {"annotations": {"a/b": "x"}}})
        );
        assert_eq!(
            apply(&mut d, &json!([{"op": "remove", "path": "/nope"}]))
                .unwrap_err()
                .code,
            422
        );
    }
}
