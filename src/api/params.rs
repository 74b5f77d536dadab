//! Query parameters shared by the read endpoints: limits, cursors, kinds, label selectors.
//! A bad value is the caller's mistake: 400 naming the parameter, like the framework's parse
//! errors (`api::explain`).

use std::fmt::Display;

use crate::api::error::ApiError;
use crate::flux;
use crate::store::queries::{Cursor, CursorError, LabelRequirement, parse_selectors};

/// Page size when `limit` is absent.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest accepted `limit`.
pub const MAX_LIMIT: u32 = 1000;
/// The first page of a resource list counts matches up to this many.
pub const TOTAL_CAP: i64 = 10_000;
/// The first page of an image search counts matches up to this many: a broad term
/// (`nginx`, `:latest`) matches a large share of the fleet's workloads, and counting each one
/// checks its image rows (scenario 9 in docs/benchmarks.md).
pub const IMAGE_TOTAL_CAP: i64 = 1_000;
/// Changes and events shown inside a resource's detail.
pub const DETAIL_HISTORY: usize = 50;
/// Most values of one repeatable filter (`cluster`, `kind`, `namespace`, …): each is one more
/// value to compare every row with, and no screen offers more.
pub const MAX_FILTER_VALUES: usize = 100;

/// 400 for a parameter that cannot be used, with the code of the framework's parse errors
/// (`api::explain`): the parameter by name, then why.
pub fn bad_param(name: &str, reason: impl Display) -> ApiError {
    ApiError::bad_request("invalid_parameter", format!("parameter `{name}`: {reason}"))
}

/// The page size (`limit` is range-checked by its validator; this applies the default).
pub fn page_size(limit: Option<u32>) -> usize {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize
}

/// Decode the `continue` token with the decoder of the list it belongs to. An empty token is
/// none (the first page), as the spec allows: a client that always sends the parameter sends
/// the empty string before it has a cursor.
pub fn cursor(
    token: Option<&str>,
    decode: impl FnOnce(&str) -> Result<Cursor, CursorError>,
) -> Result<Option<Cursor>, ApiError> {
    token
        .filter(|t| !t.is_empty())
        .map(|t| decode(t).map_err(|e| bad_param("continue", e)))
        .transpose()
}

/// Resolve kinds as users type them (`Kustomization`, `kustomization`, `kustomizations`, `ks`)
/// to the catalogue's spelling. An empty value filters nothing, as for the other filters.
pub fn kinds(values: &[String]) -> Result<Vec<String>, ApiError> {
    values
        .iter()
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            flux::lookup(v.trim())
                .map(|k| k.kind.to_string())
                .ok_or_else(|| {
                    let known: Vec<String> = flux::all_kinds()
                        .iter()
                        .map(|k| format!("{} ({})", k.kind, k.short))
                        .collect();
                    bad_param(
                        "kind",
                        format!("unknown kind {v:?}; expected one of {}", known.join(", ")),
                    )
                })
        })
        .collect()
}

/// Parse every `label` parameter; all requirements of all of them must hold. An empty one
/// selects everything (as an empty Kubernetes selector does). A malformed selector or one over
/// a limit is 400 `invalid_selector`.
pub fn labels(values: &[String]) -> Result<Vec<LabelRequirement>, ApiError> {
    let values: Vec<&str> = values
        .iter()
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
        .collect();
    parse_selectors(&values).map_err(|e| {
        ApiError::bad_request(
            "invalid_selector",
            format!("failed to parse parameter `label`: {e}"),
        )
    })
}

/// 400 `too_many_values` when a repeatable filter has more than [`MAX_FILTER_VALUES`] values;
/// `counts` pairs each parameter's name with how often it was given.
pub fn at_most(counts: &[(&str, usize)]) -> Result<(), ApiError> {
    match counts.iter().find(|(_, n)| *n > MAX_FILTER_VALUES) {
        Some((name, n)) => Err(ApiError::bad_request(
            "too_many_values",
            format!("parameter `{name}` has {n} values; at most {MAX_FILTER_VALUES} are allowed"),
        )),
        None => Ok(()),
    }
}

/// Non-empty values, trimmed.
pub fn values(values: Vec<String>) -> Vec<String> {
    values
        .into_iter()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_resolve_names_plurals_and_short_names_to_the_catalogue_spelling() {
        let got = kinds(&[
            "kustomization".into(),
            "hr".into(),
            "GitRepositories".into(),
            "ks".into(),
        ])
        .unwrap();
        assert_eq!(
            got,
            [
                "Kustomization",
                "HelmRelease",
                "GitRepository",
                "Kustomization"
            ]
        );
    }

    #[test]
    fn empty_kind_and_label_values_filter_nothing() {
        assert!(kinds(&["".into(), " ".into()]).unwrap().is_empty());
        assert!(labels(&["".into()]).unwrap().is_empty());
        assert_eq!(labels(&["".into(), "a=b".into()]).unwrap().len(), 1);
    }

    #[test]
    fn an_unknown_kind_is_a_bad_request_naming_the_parameter() {
        let ApiError::BadRequest(body) = kinds(&["Deployment".into()]).unwrap_err() else {
            panic!("not 400")
        };
        assert!(body.0.message.contains("`kind`"), "{}", body.0.message);
        assert!(
            body.0.message.contains("Kustomization (ks)"),
            "{}",
            body.0.message
        );
    }

    #[test]
    fn a_filter_with_more_than_one_hundred_values_is_refused_naming_it() {
        assert!(at_most(&[("cluster", 100), ("kind", 3)]).is_ok());
        let ApiError::BadRequest(body) = at_most(&[("kind", 1), ("namespace", 101)]).unwrap_err()
        else {
            panic!("not 400")
        };
        assert_eq!(body.0.code, "too_many_values");
        assert!(
            body.0.message.contains("`namespace` has 101"),
            "{}",
            body.0.message
        );
    }

    #[test]
    fn every_selector_error_is_an_invalid_selector_naming_the_parameter() {
        for bad in [vec!["a b".to_string()], vec!["k=v".repeat(2000)]] {
            let ApiError::BadRequest(body) = labels(&bad).unwrap_err() else {
                panic!("not 400")
            };
            assert_eq!(body.0.code, "invalid_selector");
            assert!(body.0.message.contains("`label`"), "{}", body.0.message);
        }
    }

    #[test]
    fn an_empty_continue_is_the_first_page_and_a_made_up_one_is_refused() {
        let never = |_: &str| -> Result<Cursor, CursorError> { Err(CursorError::Malformed) };
        assert!(cursor(None, never).unwrap().is_none());
        assert!(cursor(Some(""), never).unwrap().is_none());
        let ApiError::BadRequest(body) = cursor(Some("x"), never).unwrap_err() else {
            panic!("not 400")
        };
        assert!(body.0.message.contains("`continue`"), "{}", body.0.message);
    }

    #[test]
    fn page_sizes_default_to_one_hundred() {
        assert_eq!(page_size(None), 100);
        assert_eq!(page_size(Some(7)), 7);
    }
}
