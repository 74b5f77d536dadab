//! Building parameterised statements: a parameter list that hands out `$n` placeholders, and
//! the keyset condition that starts a page after a cursor.

use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::cursor::{Cursor, KeyType};

/// The parameters of a statement being built; `bind` returns the placeholder to splice in.
#[derive(Default)]
pub struct Params(Vec<Box<dyn ToSql + Sync + Send>>);

impl Params {
    /// Add a parameter; returns its placeholder (`$1`, `$2`, …).
    pub fn bind<T: ToSql + Sync + Send + 'static>(&mut self, value: T) -> String {
        self.bind_boxed(Box::new(value))
    }

    /// Add a boxed parameter.
    pub fn bind_boxed(&mut self, value: Box<dyn ToSql + Sync + Send>) -> String {
        self.0.push(value);
        format!("${}", self.0.len())
    }

    /// How many parameters are bound.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The parameters as `tokio_postgres` takes them.
    pub fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|_| "?")).finish()
    }
}

fn cast(ty: KeyType) -> &'static str {
    match ty {
        KeyType::Text => "text",
        KeyType::Int => "bigint",
        KeyType::Time => "timestamptz",
        KeyType::Uuid => "uuid",
    }
}

/// `(a, b) > ($1, $2)` (or `<` when descending): the rows after `cursor` in the order of
/// `columns`, all sorted the same direction. Keys are typed casts so that PostgreSQL never
/// has to guess the parameter types. With `bytewise_lead`, the first column compares
/// bytewise (see [`order_by`]) and is bounded on its own, so that an index walk can start at
/// the cursor.
pub fn keyset(
    columns: &[(&str, KeyType)],
    cursor: &Cursor,
    descending: bool,
    bytewise_lead: bool,
    params: &mut Params,
) -> String {
    let names: Vec<&str> = columns.iter().map(|(sql, _)| *sql).collect();
    let values: Vec<String> = cursor
        .keys
        .iter()
        .zip(columns)
        .map(|(key, (_, ty))| format!("{}::{}", params.bind_boxed(key.param()), cast(*ty)))
        .collect();
    let op = if descending { "<" } else { ">" };
    if !bytewise_lead || names.len() < 2 {
        return format!("({}) {op} ({})", names.join(", "), values.join(", "));
    }
    let (ge, gt) = if descending {
        ("~<=~", "~<~")
    } else {
        ("~>=~", "~>~")
    };
    let (lead, value) = (names[0], &values[0]);
    let (rest, rest_values) = (names[1..].join(", "), values[1..].join(", "));
    format!("{lead} {ge} {value} AND ({lead} {gt} {value} OR ({rest}) {op} ({rest_values}))")
}

/// `ORDER BY a, b` or `ORDER BY a DESC, b DESC`. With `bytewise_lead`, the first column is
/// ordered bytewise (`USING ~<~`), which is the order of a `text_pattern_ops` index: the
/// `name` index serves name-sorted pages whatever the database collation (Kubernetes names
/// are lowercase ASCII, so bytewise is also the natural order).
pub fn order_by(columns: &[(&str, KeyType)], descending: bool, bytewise_lead: bool) -> String {
    let dir = if descending { " DESC" } else { "" };
    let mut cols: Vec<String> = columns
        .iter()
        .map(|(sql, _)| format!("{sql}{dir}"))
        .collect();
    if let (true, Some((lead, _))) = (bytewise_lead, columns.first()) {
        cols[0] = format!("{lead} USING {}", if descending { "~>~" } else { "~<~" });
    }
    format!("ORDER BY {}", cols.join(", "))
}

/// `column` is one of the clusters `ids` (resolved from ids and names beforehand, so that the
/// planner sees concrete values and uses the indexes that lead with `cluster_id`).
pub fn cluster_condition(column: &str, ids: &[Uuid], params: &mut Params) -> String {
    one_of(column, ids, "uuid", params)
}

/// `column = $n` for one value, `column = ANY($n)` for several. One value is written as a
/// plain equality because PostgreSQL (before 17) walks an index in order only for that, so a
/// filter on one health, kind or cluster can be served in the sort order by an index.
pub fn one_of<T>(column: &str, values: &[T], sql_type: &str, params: &mut Params) -> String
where
    T: ToSql + Sync + Send + Clone + 'static,
    Vec<T>: ToSql,
{
    match values {
        [one] => format!("{column} = {}::{sql_type}", params.bind(one.clone())),
        _ => format!(
            "{column} = ANY({}::{sql_type}[])",
            params.bind(values.to_vec())
        ),
    }
}

/// [`one_of`] for text values (strings or words of the vocabulary), when there are any.
pub fn any_of<T>(column: &str, values: &[T], params: &mut Params, out: &mut Vec<String>)
where
    T: ToSql + Sync + Send + Clone + 'static,
    Vec<T>: ToSql,
{
    if !values.is_empty() {
        out.push(one_of(column, values, "text", params));
    }
}

/// `WHERE a AND b`, or nothing.
pub fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    }
}

/// A `LIKE` pattern matching `text` anywhere, with `%`, `_` and `\` taken literally.
pub fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::super::cursor::KeyValue;
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards_and_backslashes() {
        assert_eq!(contains_pattern("app"), "%app%");
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn keyset_conditions_compare_rows_in_the_sort_direction() {
        let cols = [("r.name", KeyType::Text), ("r.id", KeyType::Uuid)];
        let cursor = Cursor {
            sort: "name".into(),
            keys: vec![KeyValue::Text("a".into()), KeyValue::Uuid(Uuid::nil())],
        };
        let mut params = Params::default();
        params.bind(1i64);
        assert_eq!(
            keyset(&cols, &cursor, false, false, &mut params),
            "(r.name, r.id) > ($2::text, $3::uuid)"
        );
        assert_eq!(
            keyset(&cols, &cursor, true, false, &mut params),
            "(r.name, r.id) < ($4::text, $5::uuid)"
        );
        assert_eq!(params.len(), 5);
        assert_eq!(
            order_by(&cols, true, false),
            "ORDER BY r.name DESC, r.id DESC"
        );
    }

    #[test]
    fn a_bytewise_leading_column_is_bounded_alone_and_ordered_by_pattern_operators() {
        let cols = [("r.name", KeyType::Text), ("r.id", KeyType::Uuid)];
        let cursor = Cursor {
            sort: "name".into(),
            keys: vec![KeyValue::Text("a".into()), KeyValue::Uuid(Uuid::nil())],
        };
        let mut params = Params::default();
        assert_eq!(
            keyset(&cols, &cursor, false, true, &mut params),
            "r.name ~>=~ $1::text AND (r.name ~>~ $1::text OR (r.id) > ($2::uuid))"
        );
        assert_eq!(
            keyset(&cols, &cursor, true, true, &mut params),
            "r.name ~<=~ $3::text AND (r.name ~<~ $3::text OR (r.id) < ($4::uuid))"
        );
        assert_eq!(
            order_by(&cols, false, true),
            "ORDER BY r.name USING ~<~, r.id"
        );
        assert_eq!(
            order_by(&cols, true, true),
            "ORDER BY r.name USING ~>~, r.id DESC"
        );
    }

    #[test]
    fn cluster_conditions_take_resolved_ids() {
        let mut params = Params::default();
        let sql = cluster_condition("r.cluster_id", &[Uuid::nil()], &mut params);
        assert_eq!(sql, "r.cluster_id = $1::uuid");
        let sql = cluster_condition("r.cluster_id", &[Uuid::nil(), Uuid::max()], &mut params);
        assert_eq!(sql, "r.cluster_id = ANY($2::uuid[])");
        let mut out = Vec::new();
        any_of::<String>("r.kind", &[], &mut params, &mut out);
        assert!(out.is_empty());
    }
}
