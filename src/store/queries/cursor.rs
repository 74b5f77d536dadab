//! Keyset pagination cursors: the sort keys of the last row of a page, as an opaque
//! URL-safe base64 token. A cursor names the sort it was made for, so a cursor from one
//! order is refused with another instead of silently skipping rows.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

/// The type of one sort key column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// `text`.
    Text,
    /// `bigint`/`int`.
    Int,
    /// `timestamptz`, possibly null.
    Time,
    /// `uuid`.
    Uuid,
}

/// One sort key value of the last row of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyValue {
    /// A text key.
    Text(String),
    /// An integer key.
    Int(i64),
    /// A timestamp key; `None` for SQL NULL.
    Time(Option<DateTime<Utc>>),
    /// A uuid key.
    Uuid(Uuid),
}

impl KeyValue {
    fn to_json(&self) -> Value {
        match self {
            KeyValue::Text(s) => json!(s),
            KeyValue::Int(i) => json!(i),
            KeyValue::Time(t) => json!(t.map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true))),
            KeyValue::Uuid(u) => json!(u.to_string()),
        }
    }

    fn from_json(value: &Value, ty: KeyType) -> Option<KeyValue> {
        Some(match (ty, value) {
            (KeyType::Text, Value::String(s)) => KeyValue::Text(s.clone()),
            (KeyType::Int, v) => KeyValue::Int(v.as_i64()?),
            (KeyType::Time, Value::Null) => KeyValue::Time(None),
            (KeyType::Time, Value::String(s)) => KeyValue::Time(Some(
                DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc),
            )),
            (KeyType::Uuid, Value::String(s)) => KeyValue::Uuid(s.parse().ok()?),
            _ => return None,
        })
    }

    /// The value as a query parameter.
    pub(crate) fn param(&self) -> Box<dyn ToSql + Sync + Send> {
        match self {
            KeyValue::Text(s) => Box::new(s.clone()),
            KeyValue::Int(i) => Box::new(*i),
            KeyValue::Time(t) => Box::new(*t),
            KeyValue::Uuid(u) => Box::new(*u),
        }
    }
}

/// Where the next page starts: the sort it belongs to and the last row's key values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The sort's name, e.g. `-updated`.
    pub sort: String,
    /// The key values, one per sort column.
    pub keys: Vec<KeyValue>,
}

/// Why a cursor was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorError {
    /// Not a token this server issued (bad base64, JSON or key types).
    Malformed,
    /// Issued for another sort order.
    WrongSort {
        /// The sort the cursor was made for.
        issued_for: String,
        /// The sort of this request.
        requested: String,
    },
}

impl fmt::Display for CursorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CursorError::Malformed => {
                f.write_str("not a cursor this server issued; start again without it")
            }
            CursorError::WrongSort {
                issued_for,
                requested,
            } => {
                write!(
                    f,
                    "the cursor belongs to sort {issued_for:?}, not {requested:?}; keep the sort while paging"
                )
            }
        }
    }
}

impl std::error::Error for CursorError {}

impl Cursor {
    /// The opaque token.
    pub fn encode(&self) -> String {
        let keys: Vec<Value> = self.keys.iter().map(KeyValue::to_json).collect();
        URL_SAFE_NO_PAD.encode(json!({ "s": self.sort, "k": keys }).to_string())
    }

    /// Read a token for a request sorted by `sort` whose key columns have `types`.
    pub fn decode(token: &str, sort: &str, types: &[KeyType]) -> Result<Cursor, CursorError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token.trim_end_matches('='))
            .map_err(|_| CursorError::Malformed)?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| CursorError::Malformed)?;
        let issued_for = value
            .get("s")
            .and_then(Value::as_str)
            .ok_or(CursorError::Malformed)?;
        if issued_for != sort {
            let (issued_for, requested) = (issued_for.to_string(), sort.to_string());
            return Err(CursorError::WrongSort {
                issued_for,
                requested,
            });
        }
        let raw = value
            .get("k")
            .and_then(Value::as_array)
            .ok_or(CursorError::Malformed)?;
        if raw.len() != types.len() {
            return Err(CursorError::Malformed);
        }
        let keys = raw
            .iter()
            .zip(types)
            .map(|(v, ty)| KeyValue::from_json(v, *ty));
        let keys = keys
            .collect::<Option<Vec<_>>>()
            .ok_or(CursorError::Malformed)?;
        Ok(Cursor {
            sort: sort.to_string(),
            keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPES: [KeyType; 4] = [KeyType::Text, KeyType::Int, KeyType::Time, KeyType::Uuid];

    fn sample() -> Cursor {
        let at = DateTime::parse_from_rfc3339("2024-05-01T10:00:09.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        Cursor {
            sort: "-updated".into(),
            keys: vec![
                KeyValue::Text("app_1%/ü".into()),
                KeyValue::Int(-42),
                KeyValue::Time(Some(at)),
                KeyValue::Uuid(Uuid::from_u128(7)),
            ],
        }
    }

    #[test]
    fn cursors_round_trip_through_their_url_safe_token() {
        let cursor = sample();
        let token = cursor.encode();
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{token}"
        );
        assert_eq!(Cursor::decode(&token, "-updated", &TYPES), Ok(cursor));
    }

    #[test]
    fn null_timestamps_round_trip() {
        let cursor = Cursor {
            sort: "e".into(),
            keys: vec![KeyValue::Time(None), KeyValue::Int(3)],
        };
        let token = cursor.encode();
        assert_eq!(
            Cursor::decode(&token, "e", &[KeyType::Time, KeyType::Int]),
            Ok(cursor)
        );
    }

    #[test]
    fn a_cursor_from_another_sort_is_refused() {
        let token = sample().encode();
        let err = Cursor::decode(&token, "name", &TYPES).unwrap_err();
        assert_eq!(
            err,
            CursorError::WrongSort {
                issued_for: "-updated".into(),
                requested: "name".into()
            }
        );
    }

    #[test]
    fn garbage_and_tampered_tokens_are_malformed() {
        let wrong_types = URL_SAFE_NO_PAD.encode(r#"{"s":"-updated","k":[1,"x","y","z"]}"#);
        let short = URL_SAFE_NO_PAD.encode(r#"{"s":"-updated","k":["a"]}"#);
        for token in [
            "",
            "!!!",
            "bm90IGpzb24",
            wrong_types.as_str(),
            short.as_str(),
        ] {
            assert_eq!(
                Cursor::decode(token, "-updated", &TYPES),
                Err(CursorError::Malformed),
                "{token}"
            );
        }
    }
}
