//! Which resources a list selects and in what order, turned into SQL (pure, unit-tested).

use std::sync::LazyLock;

use serde_json::json;
use uuid::Uuid;

use super::cursor::{Cursor, KeyType, KeyValue};
use super::images::image_condition;
use super::selector::LabelRequirement;
use super::sql::{
    Params, any_of, cluster_condition, contains_pattern, keyset, one_of, order_by, where_clause,
};
use crate::flux::{Health, ImageQuery};
use crate::store::{RESOURCE_COLUMNS, ResourceRow};

/// Resources to select; every non-empty field must match (values within a field are OR-ed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceFilter {
    /// Cluster ids or names.
    pub clusters: Vec<String>,
    /// Kinds, as the catalogue spells them (`Kustomization`).
    pub kinds: Vec<String>,
    /// Namespaces.
    pub namespaces: Vec<String>,
    /// Health values.
    pub health: Vec<Health>,
    /// Label requirements, all of which must hold.
    pub labels: Vec<LabelRequirement>,
    /// Case-insensitive substring of the name or the message.
    pub text: Option<String>,
    /// Flux objects (the default) or workloads.
    pub class: Class,
    /// Workloads running an image this search matches.
    pub image: Option<ImageQuery>,
    /// Workloads of these owners (Flux object ids).
    pub owners: Vec<Uuid>,
    /// Flux objects whose workloads' roll-up is one of these.
    pub workload_health: Vec<Health>,
}

/// Which objects a list is about: each list reads one class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Class {
    /// Flux objects (`/resources`).
    #[default]
    Flux,
    /// The objects Flux applies (`/workloads`).
    Workloads,
}

/// The field a resource list is sorted by; ties are broken by identity, then id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    /// Name (bytewise, the order of the `name` index), then namespace, kind.
    Name,
    /// Namespace, then name, kind.
    Namespace,
    /// Kind, then namespace, name.
    Kind,
    /// Cluster name, then namespace, name, kind.
    Cluster,
    /// Time of the last stored change.
    Updated,
    /// Severity (`Health::SEVERITY`, worst first); then name.
    Health,
    /// Problems first: severity as [`SortField::Health`], then the most recently changed
    /// first (`updated_at`, then id, both descending). The directions differ per column, so
    /// one keyset condition cannot express it: it is always answered one health value at a
    /// time (`split`), each part served newest first by the `(health, updated_at)` index.
    Severity,
}

/// A sort field and direction, e.g. `-updated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceOrder {
    /// The field.
    pub field: SortField,
    /// Descending (`-field`).
    pub descending: bool,
}

/// `r.health`'s rank in [`Health::SEVERITY`] (0 is the worst), as SQL.
static HEALTH_RANK_SQL: LazyLock<String> = LazyLock::new(|| {
    let ranks: Vec<String> = Health::SEVERITY
        .iter()
        .map(|h| format!("WHEN '{h}' THEN {} ", h.severity()))
        .collect();
    format!("(CASE r.health {}END)", ranks.concat())
});

/// A sort key column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Name,
    Namespace,
    Kind,
    Cluster,
    Updated,
    HealthRank,
    Id,
}

impl Col {
    fn sql(self) -> (&'static str, KeyType) {
        match self {
            Col::Name => ("r.name", KeyType::Text),
            Col::Namespace => ("r.namespace", KeyType::Text),
            Col::Kind => ("r.kind", KeyType::Text),
            Col::Cluster => ("c.name", KeyType::Text),
            Col::Updated => ("r.updated_at", KeyType::Time),
            Col::HealthRank => (HEALTH_RANK_SQL.as_str(), KeyType::Int),
            Col::Id => ("r.id", KeyType::Uuid),
        }
    }

    fn value(self, row: &ResourceRow) -> KeyValue {
        match self {
            Col::Name => KeyValue::Text(row.name.clone()),
            Col::Namespace => KeyValue::Text(row.namespace.clone()),
            Col::Kind => KeyValue::Text(row.kind.clone()),
            Col::Cluster => KeyValue::Text(row.cluster_name.clone()),
            Col::Updated => KeyValue::Time(Some(row.updated_at)),
            Col::HealthRank => KeyValue::Int(row.health.severity() as i64),
            Col::Id => KeyValue::Uuid(row.id),
        }
    }
}

impl SortField {
    const ALL: [(SortField, &'static str); 7] = [
        (SortField::Name, "name"),
        (SortField::Namespace, "namespace"),
        (SortField::Kind, "kind"),
        (SortField::Cluster, "cluster"),
        (SortField::Updated, "updated"),
        (SortField::Health, "health"),
        (SortField::Severity, "severity"),
    ];

    fn columns(self) -> &'static [Col] {
        use Col::*;
        match self {
            SortField::Name => &[Name, Namespace, Kind, Id],
            SortField::Namespace => &[Namespace, Name, Kind, Id],
            SortField::Kind => &[Kind, Namespace, Name, Id],
            SortField::Cluster => &[Cluster, Namespace, Name, Kind, Id],
            SortField::Updated => &[Updated, Id],
            SortField::Health => &[HealthRank, Name, Namespace, Kind, Id],
            SortField::Severity => &[HealthRank, Updated, Id],
        }
    }
}

impl ResourceOrder {
    /// Parse `name`, `-name`, `updated`, `-updated`, …; `None` for anything else.
    pub fn parse(text: &str) -> Option<ResourceOrder> {
        let (descending, name) = text
            .strip_prefix('-')
            .map_or((false, text), |rest| (true, rest));
        let field = SortField::ALL.iter().find(|(_, n)| *n == name)?.0;
        Some(ResourceOrder { field, descending })
    }

    /// The text form, e.g. `-updated`.
    pub fn as_string(&self) -> String {
        let name = SortField::ALL
            .iter()
            .find(|(f, _)| *f == self.field)
            .map_or("name", |(_, n)| n);
        if self.descending {
            format!("-{name}")
        } else {
            name.to_string()
        }
    }

    /// The types of the key columns, for [`Cursor::decode`].
    pub fn key_types(&self) -> Vec<KeyType> {
        self.field.columns().iter().map(|c| c.sql().1).collect()
    }

    /// The cursor that continues after `row`.
    pub fn cursor_after(&self, row: &ResourceRow) -> Cursor {
        let keys = self.field.columns().iter().map(|c| c.value(row)).collect();
        Cursor {
            sort: self.as_string(),
            keys,
        }
    }

    fn sql_columns(&self) -> Vec<(&'static str, KeyType)> {
        self.field.columns().iter().map(|c| c.sql()).collect()
    }
}

fn label_condition(req: &LabelRequirement, params: &mut Params) -> String {
    let mut has = |key: &str, value: &str| {
        format!("r.labels @> {}::jsonb", params.bind(json!({ key: value })))
    };
    match req {
        LabelRequirement::Equals(k, v) => has(k, v),
        LabelRequirement::NotEquals(k, v) => format!("NOT ({})", has(k, v)),
        LabelRequirement::In(k, vs) => format!(
            "({})",
            vs.iter()
                .map(|v| has(k, v))
                .collect::<Vec<_>>()
                .join(" OR ")
        ),
        LabelRequirement::NotIn(k, vs) => {
            format!(
                "NOT ({})",
                vs.iter()
                    .map(|v| has(k, v))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            )
        }
        LabelRequirement::Exists(k) => format!("r.labels ? {}::text", params.bind(k.clone())),
        LabelRequirement::NotExists(k) => {
            format!("NOT (r.labels ? {}::text)", params.bind(k.clone()))
        }
    }
}

/// The conditions of `filter`, with `r` aliasing `flux_resources`; `clusters` are the ids that
/// `filter.clusters` resolved to.
pub fn filter_conditions(
    filter: &ResourceFilter,
    clusters: &[Uuid],
    params: &mut Params,
) -> Vec<String> {
    let mut out = vec![match filter.class {
        Class::Flux => "NOT r.workload".to_string(),
        Class::Workloads => "r.workload".to_string(),
    }];
    if !filter.clusters.is_empty() {
        out.push(cluster_condition("r.cluster_id", clusters, params));
    }
    any_of("r.kind", &filter.kinds, params, &mut out);
    any_of("r.namespace", &filter.namespaces, params, &mut out);
    any_of("r.health", &filter.health, params, &mut out);
    any_of(
        "r.workload_health",
        &filter.workload_health,
        params,
        &mut out,
    );
    if !filter.owners.is_empty() {
        out.push(one_of("r.owner_id", &filter.owners, "uuid", params));
    }
    if let Some(image) = &filter.image {
        out.push(image_condition(image, params));
    }
    out.extend(filter.labels.iter().map(|req| label_condition(req, params)));
    if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        let pattern = params.bind(contains_pattern(text));
        out.push(format!(
            "(r.name ILIKE {pattern} OR r.message ILIKE {pattern})"
        ));
    }
    out
}

/// The rows a list reads as `r` (joined with their cluster as `c`): the live table.
pub const LIVE: &str = "flux_resources r JOIN clusters c ON c.id = r.cluster_id";

/// One page of resources in `order` after `after`, fetching `limit` rows.
pub fn list_statement(
    filter: &ResourceFilter,
    clusters: &[Uuid],
    order: ResourceOrder,
    after: Option<&Cursor>,
    limit: i64,
) -> (String, Params) {
    list_statement_in(
        LIVE,
        Params::default(),
        filter,
        clusters,
        order,
        after,
        limit,
    )
}

/// [`list_statement`] over the rows of `source` (`r` and `c` as in [`LIVE`]), whose own
/// parameters are already bound in `params`.
pub fn list_statement_in(
    source: &str,
    mut params: Params,
    filter: &ResourceFilter,
    clusters: &[Uuid],
    order: ResourceOrder,
    after: Option<&Cursor>,
    limit: i64,
) -> (String, Params) {
    let mut conditions = filter_conditions(filter, clusters, &mut params);
    let columns = order.sql_columns();
    if let Some(cursor) = after {
        let bytewise = order.field == SortField::Name;
        conditions.push(keyset(
            &columns,
            cursor,
            order.descending,
            bytewise,
            &mut params,
        ));
    }
    let limit = params.bind(limit);
    let sql = format!(
        "SELECT {RESOURCE_COLUMNS} FROM {source} {} {} LIMIT {limit}",
        where_clause(&conditions),
        order_by(&columns, order.descending, order.field == SortField::Name),
    );
    (sql, params)
}

/// How many resources match `filter`, counting no further than `cap`.
pub fn count_statement(filter: &ResourceFilter, clusters: &[Uuid], cap: i64) -> (String, Params) {
    count_statement_in("flux_resources r", Params::default(), filter, clusters, cap)
}

/// [`count_statement`] over the rows of `source` (aliased `r`), whose own parameters are
/// already bound in `params`.
pub fn count_statement_in(
    source: &str,
    mut params: Params,
    filter: &ResourceFilter,
    clusters: &[Uuid],
    cap: i64,
) -> (String, Params) {
    let conditions = filter_conditions(filter, clusters, &mut params);
    let sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM {source} {} LIMIT {}) AS matching",
        where_clause(&conditions),
        params.bind(cap)
    );
    (sql, params)
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
