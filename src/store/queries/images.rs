//! Image search as SQL (pure, unit-tested): which workloads run an image a user searched for
//! (`flux::ImageQuery`), answered from `workload_images` by its indexes — a repository or any
//! path above it, an exact tag, a digest prefix. Prefixes are bytewise ranges (`~>=~`, `~<~`),
//! which the `text_pattern_ops` indexes serve whatever the database's collation.

use super::sql::Params;
use crate::flux::ImageQuery;

/// The smallest string above every string that starts with `prefix` (bytewise): `prefix`
/// with its last character raised by one. `None` when no such string exists.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = char::from_u32(last as u32 + 1) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// `column` starts with `prefix`, as an index-served range.
fn starts_with(column: &str, prefix: &str, params: &mut Params) -> String {
    let from = format!("{column} ~>=~ {}::text", params.bind(prefix.to_string()));
    match prefix_end(prefix) {
        Some(end) => format!("({from} AND {column} ~<~ {}::text)", params.bind(end)),
        None => from,
    }
}

/// `i.repository` is `repository` or below it (`ghcr.io/acme` finds `ghcr.io/acme/web`).
fn repository_condition(repository: &str, params: &mut Params) -> String {
    let exact = format!(
        "i.repository = {}::text",
        params.bind(repository.to_string())
    );
    let below = starts_with("i.repository", &format!("{repository}/"), params);
    format!("({exact} OR {below})")
}

/// The workloads (`r`) that run an image `query` matches.
pub fn image_condition(query: &ImageQuery, params: &mut Params) -> String {
    let mut conditions = Vec::new();
    match query {
        ImageQuery::Digest(prefix) => conditions.push(starts_with("i.digest", prefix, params)),
        ImageQuery::Tag(tag) => {
            conditions.push(format!("i.tag = {}::text", params.bind(tag.clone())))
        }
        ImageQuery::Reference {
            repository,
            tag,
            digest,
        } => {
            conditions.push(repository_condition(repository, params));
            if let Some(tag) = tag {
                conditions.push(format!("i.tag = {}::text", params.bind(tag.clone())));
            }
            if let Some(prefix) = digest {
                conditions.push(starts_with("i.digest", prefix, params));
            }
        }
    }
    format!(
        "r.id IN (SELECT i.resource_id FROM workload_images i WHERE {})",
        conditions.join(" AND ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(term: &str) -> (String, usize) {
        let mut params = Params::default();
        let query = ImageQuery::parse(term).expect("a valid term");
        (image_condition(&query, &mut params), params.len())
    }

    #[test]
    fn a_prefix_ends_just_above_its_last_character() {
        assert_eq!(prefix_end("sha256:ab").as_deref(), Some("sha256:ac"));
        assert_eq!(
            prefix_end("ghcr.io/acme/").as_deref(),
            Some("ghcr.io/acme0")
        );
        assert_eq!(prefix_end(""), None);
    }

    #[test]
    fn a_reference_with_a_tag_matches_the_repository_or_below_and_the_exact_tag() {
        let (sql, n) = sql("nginx:1.25.3");
        assert!(sql.contains("i.repository = $1::text"), "{sql}");
        assert!(
            sql.contains("i.repository ~>=~ $2::text AND i.repository ~<~ $3::text"),
            "{sql}"
        );
        assert!(sql.contains("i.tag = $4::text"), "{sql}");
        assert_eq!(n, 4);
    }

    #[test]
    fn a_digest_prefix_is_a_range_and_a_tag_alone_is_an_equality() {
        let (digest, n) = sql("sha256:9f86d0");
        assert!(
            digest.contains("i.digest ~>=~ $1::text AND i.digest ~<~ $2::text"),
            "{digest}"
        );
        assert_eq!(n, 2);
        let (tag, n) = sql(":1.25.3");
        assert!(tag.ends_with("WHERE i.tag = $1::text)"), "{tag}");
        assert_eq!(n, 1);
    }
}
