//! The grammar of Kubernetes selectors, shared by the server (label selectors turned into SQL)
//! and the simulator (label and field selectors evaluated in memory, as an apiserver does).
//!
//! `a=b`, `a==b`, `a!=b`, `a in (b,c)`, `a notin (b,c)`, `a`, `!a`, joined by commas, all of
//! which must hold. This crate knows the structure only; what a key or a value may contain
//! (label syntax, field paths) and how many terms are too many is the caller's policy, checked
//! on the parsed [`Requirement`]s.

use std::fmt;

/// One requirement of a selector; a selector is their conjunction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `key=value` or `key==value`: the key exists with this value.
    Equals(String, String),
    /// `key!=value`: the key is absent or has another value (as kubectl matches it).
    NotEquals(String, String),
    /// `key in (a,b)`: the key exists with one of the values.
    In(String, Vec<String>),
    /// `key notin (a,b)`: the key is absent or has none of the values.
    NotIn(String, Vec<String>),
    /// `key`: the key exists.
    Exists(String),
    /// `!key`: the key is absent.
    NotExists(String),
}

/// A selector that does not follow the grammar; the text says where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError(pub String);

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SyntaxError {}

fn refuse<T>(message: String) -> Result<T, SyntaxError> {
    Err(SyntaxError(message))
}

impl Requirement {
    /// The key the requirement is about.
    pub fn key(&self) -> &str {
        match self {
            Requirement::Equals(k, _)
            | Requirement::NotEquals(k, _)
            | Requirement::In(k, _)
            | Requirement::NotIn(k, _)
            | Requirement::Exists(k)
            | Requirement::NotExists(k) => k,
        }
    }

    /// The values it names (none for existence).
    pub fn values(&self) -> &[String] {
        match self {
            Requirement::Equals(_, v) | Requirement::NotEquals(_, v) => std::slice::from_ref(v),
            Requirement::In(_, vs) | Requirement::NotIn(_, vs) => vs,
            Requirement::Exists(_) | Requirement::NotExists(_) => &[],
        }
    }

    /// True when the value `get` finds for the key satisfies it.
    pub fn matches<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        let found = get(self.key());
        match self {
            Requirement::Equals(_, v) => found == Some(v.as_str()),
            Requirement::NotEquals(_, v) => found != Some(v.as_str()),
            Requirement::In(_, vs) => found.is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(_, vs) => found.is_none_or(|x| vs.iter().all(|v| v != x)),
            Requirement::Exists(_) => found.is_some(),
            Requirement::NotExists(_) => found.is_none(),
        }
    }
}

/// Parse a selector. Empty (or blank) text is the empty selector, which matches everything;
/// otherwise every comma-separated term must be a requirement (no empty terms).
pub fn parse(text: &str) -> Result<Vec<Requirement>, SyntaxError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    split_terms(text)?.into_iter().map(parse_term).collect()
}

/// Split on the commas that are not inside a `( … )` value set.
pub fn split_terms(text: &str) -> Result<Vec<&str>, SyntaxError> {
    let (mut terms, mut depth, mut start) = (Vec::new(), 0usize, 0usize);
    for (i, ch) in text.char_indices() {
        match ch {
            '(' if depth == 0 => depth = 1,
            ')' if depth == 1 => depth = 0,
            '(' | ')' => return refuse(format!("unbalanced parentheses in {text:?}")),
            ',' if depth == 0 => {
                terms.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return refuse(format!("unbalanced parentheses in {text:?}"));
    }
    terms.push(&text[start..]);
    Ok(terms)
}

/// One term; keys and values are trimmed, not otherwise checked.
pub fn parse_term(term: &str) -> Result<Requirement, SyntaxError> {
    let term = term.trim();
    if term.is_empty() {
        return refuse("empty requirement (two commas in a row, or a trailing comma?)".into());
    }
    if let Some(key) = term.strip_prefix('!') {
        return Ok(Requirement::NotExists(key_of(key)?));
    }
    if let Some((key, value)) = term.split_once("!=") {
        return Ok(Requirement::NotEquals(key_of(key)?, value.trim().into()));
    }
    if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
        return Ok(Requirement::Equals(key_of(key)?, value.trim().into()));
    }
    if term.contains('(') {
        return parse_set(term);
    }
    Ok(Requirement::Exists(key_of(term)?))
}

fn key_of(key: &str) -> Result<String, SyntaxError> {
    match key.trim() {
        "" => refuse("a requirement without a key".into()),
        key => Ok(key.to_string()),
    }
}

/// `key in (a, b)` / `key notin (a, b)`.
fn parse_set(term: &str) -> Result<Requirement, SyntaxError> {
    let bad = || {
        SyntaxError(format!(
            "cannot parse {term:?}: expected `key in (v1,v2)` or `key notin (v1,v2)`"
        ))
    };
    let (key, rest) = term.split_once(char::is_whitespace).ok_or_else(bad)?;
    let rest = rest.trim_start();
    let (negated, rest) = match rest.strip_prefix("notin") {
        Some(rest) => (true, rest),
        None => (false, rest.strip_prefix("in").ok_or_else(bad)?),
    };
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(bad)?;
    if inner.contains(['(', ')']) {
        return Err(bad());
    }
    let values: Vec<String> = inner.split(',').map(|v| v.trim().to_string()).collect();
    if values.iter().all(String::is_empty) {
        return refuse(format!("{term:?}: the value set is empty"));
    }
    let key = key_of(key)?;
    Ok(if negated {
        Requirement::NotIn(key, values)
    } else {
        Requirement::In(key, values)
    })
}

#[cfg(test)]
mod tests {
    use super::Requirement::*;
    use super::*;

    fn s(v: &str) -> String {
        v.to_string()
    }

    #[test]
    fn every_form_of_requirement_is_parsed() {
        let got =
            parse("app=web, tier != db,env==prod,team,!legacy,x in (a, b),y notin(c)").unwrap();
        assert_eq!(
            got,
            vec![
                Equals(s("app"), s("web")),
                NotEquals(s("tier"), s("db")),
                Equals(s("env"), s("prod")),
                Exists(s("team")),
                NotExists(s("legacy")),
                In(s("x"), vec![s("a"), s("b")]),
                NotIn(s("y"), vec![s("c")]),
            ]
        );
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(parse("  ").unwrap(), vec![]);
    }

    #[test]
    fn malformed_structure_is_refused() {
        for bad in [
            "a=b,",
            ",a",
            "=x",
            "!",
            "env in (prod",
            "env in ()",
            "env in (a)(b)",
            "a)",
            "k in x(",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn requirements_match_as_kubectl_matches_them() {
        let labels = [("app", "web"), ("tier", "b")];
        let get = |k: &str| labels.iter().find(|(l, _)| *l == k).map(|(_, v)| *v);
        let holds = |text: &str| parse(text).unwrap().iter().all(|r| r.matches(get));
        assert!(holds("app=web,tier in (a, b),!legacy,env!=prod"));
        assert!(!holds("tier in (c)"));
        assert!(holds("tier notin (c),missing notin (x)"));
        assert!(!holds("legacy"));
        assert!(holds("missing!=x"));
    }

    #[test]
    fn keys_and_values_are_reported() {
        let r = parse("k in (a,b)").unwrap().remove(0);
        assert_eq!((r.key(), r.values()), ("k", &[s("a"), s("b")][..]));
        assert!(parse("!k").unwrap()[0].values().is_empty());
    }
}
