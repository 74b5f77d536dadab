//! Label and field selectors as the apiserver parses them (`a=b,c!=d,e in (f,g),!h`).

use fluxo_selector::Requirement;

use super::status::ApiError;

/// Labels of a stored object, sorted by key; shared between the object and its events.
pub type Labels = std::sync::Arc<[(String, String)]>;

/// A parsed selector: every requirement must hold. Empty matches everything. The grammar is
/// `fluxo-selector`'s, shared with the server.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector {
    reqs: Vec<Requirement>,
}

impl Selector {
    /// Parse a label or field selector string; keys must be label keys or field paths.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let bad =
            |why: String| ApiError::bad_request(format!("unable to parse requirement: {why}"));
        let reqs = fluxo_selector::parse(s).map_err(|e| bad(e.0))?;
        if let Some(r) = reqs.iter().find(|r| !valid_key(r.key())) {
            return Err(bad(format!("invalid key {:?}", r.key())));
        }
        Ok(Self { reqs })
    }

    /// True when there are no requirements.
    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Evaluate against a lookup of keys (labels, or field paths).
    pub fn matches_with<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.reqs.iter().all(|r| r.matches(&get))
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
        self.reqs.iter().map(Requirement::key)
    }
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
        assert!(Selector::parse("a b").is_err(), "a key with a space");
        assert!(Selector::parse("a=b,").is_err(), "an empty term");
    }
}
