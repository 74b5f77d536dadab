//! The generated history of scenario 11, written in SQL straight into the real tables (no
//! simulator: 10,000,000 changes through the writer would take hours on the benchmark
//! machine). Every statement is a `generate_series`; nothing is read back into the harness.
//!
//! Shape, for `objects` objects on `clusters` clusters over `days` days ending now:
//!
//! - object `o` lives on cluster `o % clusters`; its kind cycles with `o / clusters` over 4
//!   Kustomizations, 2 HelmReleases, 2 GitRepositories, a HelmRepository and an
//!   OCIRepository; 8 namespaces;
//! - the log's row `g` (1-based, `seq = g`) is stamped `start + (g - 1) × days / changes`, so
//!   `at` follows `seq` as the writer's log lock makes it;
//! - rows `g % 10 ∈ {0, 5}` (20%) go round-robin to the last 1% of the objects, the
//!   *flappers*: ready → progressing → failed → ready, consecutive flappers change within
//!   seconds of each other, so the timeline sees bursts of one transition; `g % 10 = 3` (10%)
//!   are controller events on any object; the rest (70%) go round-robin to the quiet 99%, whose
//!   health is `ready` but for 2% `progressing` and 1% `failed` steps (a hash of object and
//!   step), and whose revisions move every third step;
//! - each object's chain is consistent: a row's `health_before` is its previous row's
//!   `health_after`, the first row is a first sight, and `flux_resources` holds the last state;
//! - rollouts: every GitRepository has one of 100 identities shared across clusters, each
//!   Kustomization and HelmRelease a `source` edge to a GitRepository of its cluster and its 10
//!   newest revisions in `rollout_applies` (the newest pending on one consumer in 7).

/// The sizes of a generated history.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub clusters: i64,
    pub objects: i64,
    pub changes: i64,
    pub days: i64,
}

/// One step of the fill: a name for the timing and its SQL.
pub struct Step {
    pub name: &'static str,
    pub sql: String,
}

/// The fill, in order.
pub fn steps(s: Shape) -> Vec<Step> {
    let Shape {
        clusters,
        objects,
        changes,
        days,
    } = s;
    let flappers = (objects / 100).max(1);
    let quiet = objects - flappers;
    vec![
        Step {
            name: "clusters",
            sql: format!(
                "INSERT INTO clusters (id, name, source, server_url, credentials, labels, watch_workloads) \
                 SELECT md5('c' || c)::uuid, 'hist-' || c, 'kubeconfig', 'https://127.0.0.1:1', '\\x00'::bytea, \
                        jsonb_build_object('env', CASE WHEN c % 4 = 0 THEN 'staging' ELSE 'prod' END), false \
                 FROM generate_series(0, {clusters} - 1) c"
            ),
        },
        Step {
            name: "objects (a scratch table)",
            sql: format!(
                "CREATE UNLOGGED TABLE bench_objects AS \
                 SELECT o, md5('o' || o)::uuid AS id, md5('c' || (o % {clusters}))::uuid AS cluster_id, \
                        (ARRAY['Kustomization','Kustomization','Kustomization','Kustomization','HelmRelease', \
                               'HelmRelease','GitRepository','GitRepository','HelmRepository','OCIRepository'])[(o / {clusters}) % 10 + 1] AS kind, \
                        'ns-' || ((o / {clusters} / 10) % 8) AS namespace \
                 FROM generate_series(0::bigint, {objects} - 1) o; \
                 ALTER TABLE bench_objects ADD PRIMARY KEY (o)"
            ),
        },
        Step {
            name: "change log",
            sql: changes_sql(changes, days, quiet, flappers, objects),
        },
        Step {
            name: "sequence",
            sql:
                "SELECT setval('resource_changes_seq_seq', (SELECT max(seq) FROM resource_changes))"
                    .into(),
        },
        Step {
            name: "current objects",
            sql: CURRENT.into(),
        },
        Step {
            name: "rollout edges and identities",
            sql: format!("{ROLLOUT_SOURCES}; {ROLLOUT_APPLIES}"),
        },
        Step {
            name: "analyze",
            sql: "DROP TABLE bench_objects; ANALYZE".into(),
        },
    ]
}

/// The log: `changes` rows over `days` days ending now (see the module's comment).
fn changes_sql(changes: i64, days: i64, quiet: i64, flappers: i64, objects: i64) -> String {
    format!(
        "WITH g AS ( \
           SELECT g, now() - make_interval(days => {days}) + (g - 1) * make_interval(days => {days}) / {changes} AS at, \
                  CASE WHEN g % 10 IN (0, 5) THEN 'b' WHEN g % 10 = 3 THEN 'e' ELSE 'a' END AS stream, \
                  (g / 10) * (CASE WHEN g % 10 IN (0, 5) THEN 2 WHEN g % 10 = 3 THEN 1 ELSE 7 END) \
                  + (ARRAY[0, 0, 1, 0, 2, 1, 3, 4, 5, 6])[g % 10 + 1] AS i \
           FROM generate_series(1::bigint, {changes}) g), \
         s AS ( \
           SELECT g, at, stream, \
                  CASE stream WHEN 'a' THEN i % {quiet} WHEN 'b' THEN {quiet} + i % {flappers} \
                              ELSE (i * 7919) % {objects} END AS o, \
                  CASE stream WHEN 'a' THEN i / {quiet} WHEN 'b' THEN i / {flappers} ELSE 0 END AS k \
           FROM g), \
         h AS ( \
           SELECT s.*, {HEALTH_AFTER} AS after, \
                  CASE WHEN k = 0 THEN NULL ELSE {HEALTH_BEFORE} END AS before \
           FROM s) \
         INSERT INTO resource_changes (seq, at, cluster_id, resource_id, api_group, kind, namespace, name, op, \
                                       health_before, health_after, revision, reason, message) \
         SELECT h.g, h.at, b.cluster_id, b.id, {GROUP}, b.kind, b.namespace, lower(b.kind) || '-' || h.o, \
                CASE WHEN h.stream = 'e' THEN 'event' ELSE 'upsert' END, \
                CASE WHEN h.stream = 'e' THEN NULL ELSE h.before END, \
                CASE WHEN h.stream = 'e' THEN (CASE WHEN h.g % 7 = 0 THEN 'Warning' ELSE 'Normal' END) ELSE h.after END, \
                'main@sha1:' || md5((h.o % 100) || ':' || (h.k / 3)), \
                CASE WHEN h.stream = 'e' THEN 'ReconciliationSucceeded' WHEN h.after = 'failed' THEN 'BuildFailed' \
                     WHEN h.after = 'progressing' THEN 'Progressing' ELSE 'ReconciliationSucceeded' END, \
                CASE WHEN h.after = 'failed' THEN 'kustomize build failed: accumulating resources from ./apps' \
                     ELSE 'Applied revision: main@sha1:' || md5((h.o % 100) || ':' || (h.k / 3)) END \
         FROM h JOIN bench_objects b ON b.o = h.o \
         ORDER BY h.g"
    )
}

/// A row's health after, from its stream, object and step.
const HEALTH_AFTER: &str = "CASE stream \
    WHEN 'b' THEN (ARRAY['ready','progressing','failed','progressing'])[k % 4 + 1] \
    WHEN 'a' THEN CASE WHEN (o * 7919 + k * 104729) % 100 = 0 THEN 'failed' \
                       WHEN (o * 7919 + k * 104729) % 100 < 3 THEN 'progressing' ELSE 'ready' END \
    ELSE NULL END";

/// The same for the object's previous step (`k - 1`).
const HEALTH_BEFORE: &str = "CASE stream \
    WHEN 'b' THEN (ARRAY['ready','progressing','failed','progressing'])[(k - 1) % 4 + 1] \
    WHEN 'a' THEN CASE WHEN (o * 7919 + (k - 1) * 104729) % 100 = 0 THEN 'failed' \
                       WHEN (o * 7919 + (k - 1) * 104729) % 100 < 3 THEN 'progressing' ELSE 'ready' END \
    ELSE NULL END";

/// An object's API group from its kind (`b` aliases `bench_objects`).
const GROUP: &str = "CASE b.kind WHEN 'Kustomization' THEN 'kustomize.toolkit.fluxcd.io' \
    WHEN 'HelmRelease' THEN 'helm.toolkit.fluxcd.io' ELSE 'source.toolkit.fluxcd.io' END";

/// Each object's row as its last upsert left it.
const CURRENT: &str = "\
INSERT INTO flux_resources (cluster_id, api_group, kind, namespace, name, id, api_version, health, reason, \
                            message, revision, last_attempted_revision, content_hash, last_seq, \
                            last_transition_at, created_at, updated_at) \
SELECT h.cluster_id, h.api_group, h.kind, h.namespace, h.name, h.resource_id, 'v1', h.health_after, h.reason, \
       h.message, h.revision, h.revision, decode(md5(h.seq::text), 'hex'), h.seq, h.at, f.at, h.at \
FROM (SELECT resource_id, max(seq) AS last, min(seq) AS first FROM resource_changes WHERE op = 'upsert' \
      GROUP BY resource_id) m \
JOIN resource_changes h ON h.seq = m.last \
JOIN resource_changes f ON f.seq = m.first";

/// Identities of the GitRepositories (100, shared across clusters) and the consumers' edges to
/// a GitRepository of their cluster (`o` and the repository differ by a multiple of the
/// cluster count).
const ROLLOUT_SOURCES: &str = "\
INSERT INTO source_identities (resource_id, identity) \
SELECT b.id, 'GitRepository|https://git.example.com/acme/repo-' || ((b.o / c.n / 10) % 100) || '|branch=main' \
FROM bench_objects b, (SELECT count(*) AS n FROM clusters) c \
WHERE b.kind = 'GitRepository' AND EXISTS (SELECT 1 FROM flux_resources r WHERE r.id = b.id); \
INSERT INTO resource_edges (resource_id, target_id, type, outgoing, target_group, target_kind, \
                            target_namespace, target_name) \
SELECT b.id, s.id, 'source', false, 'source.toolkit.fluxcd.io', 'GitRepository', s.namespace, 'gitrepository-' || s.o \
FROM bench_objects b, (SELECT count(*) AS n FROM clusters) c, bench_objects s \
WHERE b.kind IN ('Kustomization', 'HelmRelease') \
  AND s.o = b.o - ((b.o / c.n) % 10 - 6) * c.n \
  AND EXISTS (SELECT 1 FROM flux_resources r WHERE r.id = b.id) \
  AND EXISTS (SELECT 1 FROM flux_resources r WHERE r.id = s.id)";

/// Every consumer's 10 newest revisions of its source, three days apart, applied within
/// minutes; the newest is pending on one consumer in 7.
const ROLLOUT_APPLIES: &str = "\
INSERT INTO rollout_applies (resource_id, revision, first_seen_at, applied_at) \
SELECT e.resource_id, 'main@sha1:' || md5(si.identity || ':' || n), \
       now() - make_interval(days => 3 * n) + make_interval(secs => (abs(hashtext(e.resource_id::text)) % 600)), \
       CASE WHEN n = 0 AND abs(hashtext(e.resource_id::text)) % 7 = 0 THEN NULL \
            ELSE now() - make_interval(days => 3 * n) + make_interval(secs => 60 + (abs(hashtext(e.resource_id::text)) % 1200)) END \
FROM resource_edges e JOIN source_identities si ON si.resource_id = e.target_id, generate_series(0, 9) n \
WHERE e.type = 'source'";
