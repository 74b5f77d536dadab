//! Label and field selectors as the apiserver parses them (`a=b,c!=d,e in (f,g),!h`).

use super::status::ApiError;

/// Labels of a stored object, sorted by key; shared between the object and its events.
pub type Labels = std::sync::Arc<[(String, String)]>;

#[derive(Debug, Clone, PartialEq)]
enum Req {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed selector: every requirement must hold. Empty matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector {
    reqs: Vec<Req>,
}

impl Selector {
    /// Parse a label or field selector string.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for term in split_terms(s) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            reqs.push(parse_term(term).ok_or_else(|| {
                ApiError::bad_request(format!("unable to parse requirement: {term:?}"))
            })?);
        }
        Ok(Self { reqs })
    }

    /// True when there are no requirements.
    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Evaluate against a lookup of keys (labels, or field paths).
    pub fn matches_with<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.reqs.iter().all(|r| match r {
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::NotEq(k, v) => get(k) != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
        })
    }

    /// Evaluate against a label set.
    pub fn matches_labels(&self, labels: &[(String, String)]) -> bool {
        if self.reqs.is_empty() {
            return true;
        }
        self.matches_with(|k| {
            labels
                .iter()
                .find(|(lk, _)| lk == k)
                .map(|(_, v)| v.as_str())
        })
    }

    /// Keys mentioned by the selector (field selectors use this to decide what to extract).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.reqs.iter().map(|r| match r {
            Req::Eq(k, _)
            | Req::NotEq(k, _)
            | Req::In(k, _)
            | Req::NotIn(k, _)
            | Req::Exists(k)
            | Req::NotExists(k) => k.as_str(),
        })
    }
}

/// Split on commas that are not inside parentheses.
fn split_terms(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn parse_term(t: &str) -> Option<Req> {
    if let Some(k) = t.strip_prefix('!') {
        return valid_key(k.trim()).then(|| Req::NotExists(k.trim().to_string()));
    }
    for (op, neg) in [(" notin ", true), (" in ", false)] {
        if let Some(i) = t.find(op) {
            let key = t[..i].trim().to_string();
            let set = t[i + op.len()..].trim();
            let inner = set.strip_prefix('(')?.strip_suffix(')')?;
            let vals: Vec<String> = inner.split(',').map(|v| v.trim().to_string()).collect();
            return Some(if neg {
                Req::NotIn(key, vals)
            } else {
                Req::In(key, vals)
            });
        }
    }
    if let Some((k, v)) = t.split_once("!=") {
        return Some(Req::NotEq(k.trim().to_string(), v.trim().to_string()));
    }
    if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
        return Some(Req::Eq(k.trim().to_string(), v.trim().to_string()));
    }
    valid_key(t).then(|| Req::Exists(t.to_string()))
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn set_and_equality_requirements_combine() {
        let s = Selector::parse("app=web,tier in (a, b),!legacy,env!=prod").unwrap();
        assert!(s.matches_labels(&labels(&[("app", "web"), ("tier", "b")])));
        assert!(!s.matches_labels(&labels(&[("app", "web"), ("tier", "c")])));
        assert!(!s.matches_labels(&labels(&[("app", "web"), ("tier", "a"), ("legacy", "1")])));
        assert!(!s.matches_labels(&labels(&[("app", "web"), ("tier", "a"), ("env", "prod")])));
        assert!(Selector::parse("").unwrap().is_empty());
        assert!(Selector::parse("a notin (x)").unwrap().matches_labels(&[]));
        assert!(Selector::parse("(bad").is_err());
    }
}
