//! Kubernetes label selectors (`app=web,tier!=db,env in (prod,staging),!legacy`), parsed into
//! typed requirements that the list query turns into `labels` jsonb conditions.

use std::fmt;

/// Most requirements one list may ask for, all `label` parameters together. Each becomes a
/// condition on every candidate row; twenty is more than any real selector needs.
pub const MAX_REQUIREMENTS: usize = 20;
/// Most values in one `in` / `notin` set. Each value is one more containment test per row.
pub const MAX_SET_VALUES: usize = 100;
/// Longest selector text, all `label` parameters together, in bytes: checked before any
/// parsing, so an oversized selector costs nothing.
pub const MAX_SELECTOR_BYTES: usize = 4096;

/// One requirement of a selector; a selector is their conjunction (the grammar is
/// `fluxo-selector`'s, shared with the simulator).
pub use fluxo_selector::Requirement as LabelRequirement;

/// Why a selector was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError(String);

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SelectorError {}

impl From<fluxo_selector::SyntaxError> for SelectorError {
    fn from(e: fluxo_selector::SyntaxError) -> SelectorError {
        SelectorError(e.0)
    }
}

fn refuse<T>(message: String) -> Result<T, SelectorError> {
    Err(SelectorError(message))
}

/// Parse a selector as kubectl's `-l` does: comma-separated requirements, all of which must hold.
pub fn parse_selector(text: &str) -> Result<Vec<LabelRequirement>, SelectorError> {
    parse_selectors(&[text])
}

/// Parse several selectors that must all hold (repeated `label` parameters), within the
/// limits [`MAX_SELECTOR_BYTES`], [`MAX_REQUIREMENTS`] and [`MAX_SET_VALUES`], with keys and
/// values as Kubernetes allows them in labels.
pub fn parse_selectors(texts: &[impl AsRef<str>]) -> Result<Vec<LabelRequirement>, SelectorError> {
    let bytes: usize = texts.iter().map(|t| t.as_ref().len()).sum();
    if bytes > MAX_SELECTOR_BYTES {
        return refuse(format!(
            "the label selector is {bytes} bytes long; at most {MAX_SELECTOR_BYTES} are allowed"
        ));
    }
    let mut terms = Vec::new();
    for text in texts {
        terms.extend(fluxo_selector::split_terms(text.as_ref())?);
    }
    if terms.len() > MAX_REQUIREMENTS {
        return refuse(format!(
            "the label selector has {} requirements; at most {MAX_REQUIREMENTS} are allowed",
            terms.len()
        ));
    }
    terms.into_iter().map(parse_term).collect()
}

/// One term, its key and values checked as label syntax.
fn parse_term(term: &str) -> Result<LabelRequirement, SelectorError> {
    let requirement = fluxo_selector::parse_term(term)?;
    let values = requirement.values();
    if values.len() > MAX_SET_VALUES {
        return refuse(format!(
            "the set of {:?} has {} values; at most {MAX_SET_VALUES} are allowed in one \
             `in`/`notin` set",
            requirement.key(),
            values.len()
        ));
    }
    key_of(requirement.key())?;
    for value in values {
        value_of(value)?;
    }
    Ok(requirement)
}

/// A label key: `[prefix/]name`, the prefix a DNS subdomain, the name a qualified name part.
fn key_of(key: &str) -> Result<(), SelectorError> {
    let (prefix, name) = key
        .rsplit_once('/')
        .map_or((None, key), |(p, n)| (Some(p), n));
    let prefix_ok =
        prefix.is_none_or(|p| !p.is_empty() && p.len() <= 253 && p.split('.').all(dns_label));
    if !prefix_ok || name.is_empty() || name.len() > 63 || !name_part(name) {
        return refuse(format!("invalid label key {key:?}"));
    }
    Ok(())
}

/// A label value: empty, or up to 63 characters of `[A-Za-z0-9._-]` starting and ending alphanumeric.
fn value_of(value: &str) -> Result<(), SelectorError> {
    if value.len() > 63 || !(value.is_empty() || name_part(value)) {
        return refuse(format!("invalid label value {value:?}"));
    }
    Ok(())
}

fn name_part(s: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    edge(s.chars().next())
        && edge(s.chars().last())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn dns_label(s: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    s.len() <= 63
        && edge(s.chars().next())
        && edge(s.chars().last())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::LabelRequirement::*;
    use super::*;

    fn s(v: &str) -> String {
        v.to_string()
    }

    #[test]
    fn equality_inequality_and_existence_requirements_are_parsed() {
        let got = parse_selector("app=web, tier != db,env==prod,team,!legacy").unwrap();
        assert_eq!(
            got,
            vec![
                Equals(s("app"), s("web")),
                NotEquals(s("tier"), s("db")),
                Equals(s("env"), s("prod")),
                Exists(s("team")),
                NotExists(s("legacy")),
            ]
        );
    }

    #[test]
    fn set_based_requirements_keep_commas_inside_parentheses() {
        let got = parse_selector("env in (prod, staging),tier notin(db),app=x").unwrap();
        assert_eq!(
            got,
            vec![
                In(s("env"), vec![s("prod"), s("staging")]),
                NotIn(s("tier"), vec![s("db")]),
                Equals(s("app"), s("x")),
            ]
        );
    }

    #[test]
    fn prefixed_keys_and_empty_values_are_accepted() {
        let got =
            parse_selector("kustomize.toolkit.fluxcd.io/name=apps,app.kubernetes.io/part-of=")
                .unwrap();
        assert_eq!(
            got,
            vec![
                Equals(s("kustomize.toolkit.fluxcd.io/name"), s("apps")),
                Equals(s("app.kubernetes.io/part-of"), s(""))
            ]
        );
    }

    #[test]
    fn malformed_selectors_are_refused_with_a_reason() {
        for bad in [
            "",
            "a=b,",
            ",a",
            "=x",
            "a=b=c",
            "a b",
            "a>1",
            "env in prod",
            "env in (prod",
            "env in ()",
            "env in (a)(b)",
            "-a=b",
            "a=-b",
            "Bad_Prefix/a=b",
            "/a=b",
            "a/=b",
            "!",
            "a!=b c",
        ] {
            let err = parse_selector(bad).expect_err(bad);
            assert!(!err.to_string().is_empty(), "{bad}");
        }
    }

    fn set(n: usize) -> String {
        let values: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
        format!("team in ({})", values.join(","))
    }

    fn refused(texts: &[String]) -> String {
        parse_selectors(texts)
            .expect_err("over a limit")
            .to_string()
    }

    #[test]
    fn a_set_of_nine_thousand_values_is_refused_by_its_length_before_parsing() {
        let message = refused(&[set(9_000)]);
        assert!(message.contains("at most 4096 are allowed"), "{message}");
    }

    #[test]
    fn a_set_may_hold_one_hundred_values_and_not_one_more() {
        assert_eq!(parse_selectors(&[set(MAX_SET_VALUES)]).unwrap().len(), 1);
        let message = refused(&[set(MAX_SET_VALUES + 1)]);
        assert!(message.contains("101 values; at most 100"), "{message}");
    }

    #[test]
    fn twenty_requirements_are_allowed_across_all_label_parameters_and_not_one_more() {
        let terms = |n: usize| (0..n).map(|i| format!("k{i}=v")).collect::<Vec<_>>();
        let split = |t: Vec<String>| vec![t[..10].join(","), t[10..].join(",")];
        assert_eq!(parse_selectors(&split(terms(20))).unwrap().len(), 20);
        let message = refused(&split(terms(21)));
        assert!(message.contains("21 requirements; at most 20"), "{message}");
    }

    #[test]
    fn the_length_limit_counts_every_label_parameter() {
        let half = format!("k={}", "v".repeat(60));
        let many: Vec<String> = vec![half; 70];
        assert!(many.iter().all(|t| parse_selector(t).is_ok()));
        assert!(refused(&many).contains("bytes long"));
    }

    #[test]
    fn keys_and_values_longer_than_kubernetes_allows_are_refused() {
        let long = "a".repeat(64);
        assert!(parse_selector(&format!("{long}=x")).is_err());
        assert!(parse_selector(&format!("x={long}")).is_err());
        assert!(parse_selector(&format!("{}=x", "a".repeat(63))).is_ok());
    }
}
