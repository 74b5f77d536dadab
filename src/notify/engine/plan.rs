//! From changes (or cluster states, or due timers) and the states held, to the rows to write:
//! the engine's decisions, without I/O. `eval` decides per rule and object; this file applies
//! mutes, keeps the states of one batch consistent (an object may change twice in it) and
//! makes the message items.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::flux::ChangeOp;
use crate::notify::eval::{self, ClusterInfo, HealthChange, Held, ObjectRef, Step};
use crate::notify::message::{Item, link};
use crate::notify::{Condition, RuleFilter};
use crate::store::{ChangeEntry, ClusterState, Plan, QueueItem, StateRow};

/// An enabled rule, parsed.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Id.
    pub id: Uuid,
    /// Condition.
    pub condition: Condition,
    /// Filter.
    pub filter: RuleFilter,
    /// `stillFailed` minutes.
    pub after_minutes: Option<i32>,
}

/// A mute in force, parsed.
#[derive(Debug, Clone)]
pub struct Mute {
    /// Its rule; `None`: every rule.
    pub rule_id: Option<Uuid>,
    /// What it covers.
    pub filter: RuleFilter,
}

/// What one evaluation knows: rules, mutes, clusters, the length of a "minute" (60 s; shorter
/// only in tests) and the UI's base URL for links.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Enabled rules.
    pub rules: Vec<Rule>,
    /// Mutes in force.
    pub mutes: Vec<Mute>,
    /// Clusters by id.
    pub clusters: HashMap<Uuid, ClusterInfo>,
    /// `stillFailed`'s minute.
    pub minute: Duration,
    /// Base of links (empty: relative).
    pub base: String,
}

impl Context {
    fn muted(&self, rule: Uuid, cluster: &ClusterInfo, object: Option<ObjectRef<'_>>) -> bool {
        self.mutes
            .iter()
            .any(|m| m.rule_id.is_none_or(|r| r == rule) && m.filter.matches(cluster, object))
    }

    fn rule(&self, id: Uuid) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

/// The states of one evaluation: what was held, changed in order, written once at the end.
struct States {
    now: BTreeMap<(Uuid, Uuid), StateRow>,
    /// `firing` states in `now` per object, kept with it: `any_firing` is asked for every
    /// change, and scanning `now` made a batch quadratic in the states it holds.
    firing: HashMap<Uuid, usize>,
    touched: BTreeSet<(Uuid, Uuid)>,
    queue: Vec<QueueItem>,
}

impl States {
    fn new(held: &[StateRow]) -> States {
        let mut states = States {
            now: BTreeMap::new(),
            firing: HashMap::new(),
            touched: BTreeSet::new(),
            queue: Vec::new(),
        };
        for s in held {
            states.put(s.clone());
        }
        states
    }

    /// Insert or replace a state, keeping `firing` in step.
    fn put(&mut self, row: StateRow) {
        let (object, fires) = (row.object_id, row.state == "firing");
        if let Some(old) = self.now.insert((row.rule_id, row.object_id), row) {
            self.unfire(&old);
        }
        if fires {
            *self.firing.entry(object).or_default() += 1;
        }
    }

    fn unfire(&mut self, old: &StateRow) {
        if old.state == "firing"
            && let Some(n) = self.firing.get_mut(&old.object_id)
        {
            *n = n.saturating_sub(1);
        }
    }

    fn held(&self, rule: Uuid, object: Uuid) -> Option<Held> {
        self.now
            .get(&(rule, object))
            .map(|s| match s.state.as_str() {
                "waiting" => Held::Waiting,
                _ => Held::Firing,
            })
    }

    fn any_firing(&self, object: Uuid) -> bool {
        self.firing.get(&object).is_some_and(|n| *n > 0)
    }

    fn set(&mut self, row: StateRow) {
        self.touched.insert((row.rule_id, row.object_id));
        self.put(row);
    }

    fn remove(&mut self, rule: Uuid, object: Uuid) {
        self.touched.insert((rule, object));
        if let Some(old) = self.now.remove(&(rule, object)) {
            self.unfire(&old);
        }
    }

    fn send(&mut self, rule: Uuid, action: &'static str, object: Uuid, item: &Item) {
        self.queue.push(QueueItem {
            rule_id: rule,
            action,
            object_id: object,
            // An `Item` of strings, ids and a time always serializes.
            item: serde_json::to_value(item).unwrap_or_default(),
        });
    }

    /// Apply `step` of `rule` for `object`; `due` is when a `Wait` fires.
    fn step(&mut self, step: Step, rule: Uuid, object: Uuid, item: &Item, due: DateTime<Utc>) {
        let row = |state: &str, due_at| StateRow {
            rule_id: rule,
            object_id: object,
            state: state.into(),
            since: item.since,
            due_at,
            item: serde_json::to_value(item).unwrap_or_default(),
        };
        match step {
            Step::Fire => {
                self.set(row("firing", None));
                self.send(rule, "firing", object, item);
            }
            Step::Wait => self.set(row("waiting", Some(due))),
            Step::Resolve => {
                self.remove(rule, object);
                self.send(rule, "resolved", object, item);
            }
            Step::Forget => self.remove(rule, object),
            Step::Recover => self.send(rule, "recovered", object, item),
            Step::Nothing => {}
        }
    }

    fn into_plan(self) -> Plan {
        let mut plan = Plan {
            queue: self.queue,
            ..Plan::default()
        };
        for key in self.touched {
            match self.now.get(&key) {
                Some(row) => plan.upserts.push(row.clone()),
                None => plan.deletes.push(key),
            }
        }
        plan
    }
}

fn unknown_cluster(c: &ChangeEntry) -> ClusterInfo {
    ClusterInfo {
        id: c.cluster_id,
        name: c
            .cluster_name
            .clone()
            .unwrap_or_else(|| c.cluster_id.to_string()),
        labels: BTreeMap::new(),
    }
}

fn item_of(ctx: &Context, cluster: &ClusterInfo, c: &ChangeEntry) -> Item {
    Item {
        cluster_id: c.cluster_id,
        cluster: cluster.name.clone(),
        resource_id: Some(c.resource_id),
        kind: c.kind.clone(),
        namespace: c.namespace.clone(),
        name: c.name.clone(),
        health: c.health_after.map_or("deleted", |h| h.as_str()).to_string(),
        revision: c.revision.clone(),
        reason: c.reason.clone(),
        message: c.message.clone(),
        since: c.at,
        url: link(&ctx.base, Some(c.resource_id), &cluster.name),
    }
}

fn minutes(ctx: &Context, rule: &Rule) -> chrono::Duration {
    let secs = ctx.minute.as_secs_f64() * f64::from(rule.after_minutes.unwrap_or(0));
    chrono::Duration::milliseconds((secs * 1000.0) as i64)
}

/// The writes the changes cause (events are skipped), given the states held for their objects.
pub fn changes(ctx: &Context, changes: &[ChangeEntry], held: &[StateRow]) -> Plan {
    let mut states = States::new(held);
    for c in changes.iter().filter(|c| c.op != ChangeOp::Event) {
        let cluster = ctx
            .clusters
            .get(&c.cluster_id)
            .cloned()
            .unwrap_or_else(|| unknown_cluster(c));
        let object = ObjectRef {
            kind: &c.kind,
            namespace: &c.namespace,
            name: &c.name,
        };
        let change = HealthChange {
            before: c.health_before,
            after: c.health_after,
        };
        let item = item_of(ctx, &cluster, c);
        let any_firing = states.any_firing(c.resource_id);
        for rule in &ctx.rules {
            if eval::is_cluster_condition(rule.condition)
                || !rule.filter.matches(&cluster, Some(object))
            {
                continue;
            }
            let held = states.held(rule.id, c.resource_id);
            let step = eval::object_step(rule.condition, change, held, any_firing);
            let quiet = matches!(step, Step::Fire | Step::Wait | Step::Recover)
                && ctx.muted(rule.id, &cluster, Some(object));
            if !quiet {
                let due = c.at + minutes(ctx, rule);
                states.step(step, rule.id, c.resource_id, &item, due);
            }
        }
    }
    states.into_plan()
}

fn cluster_item(ctx: &Context, c: &ClusterState, since: DateTime<Utc>) -> Item {
    Item {
        cluster_id: c.id,
        cluster: c.name.clone(),
        resource_id: None,
        kind: "Cluster".into(),
        namespace: String::new(),
        name: c.name.clone(),
        health: c.state.clone(),
        revision: None,
        reason: None,
        message: Some(c.message.clone()).filter(|m| !m.is_empty()),
        since,
        url: link(&ctx.base, None, &c.name),
    }
}

/// The writes of the periodic scan: cluster conditions against the clusters' states now, and
/// `stillFailed` timers that are due (fired, or dropped if muted or their rule is gone).
pub fn scan(
    ctx: &Context,
    clusters: &[ClusterState],
    held: &[StateRow],
    due: &[StateRow],
    now: DateTime<Utc>,
) -> Plan {
    let mut states = States::new(held);
    for c in clusters {
        let info = ClusterInfo {
            id: c.id,
            name: c.name.clone(),
            labels: c.labels.clone(),
        };
        let item = cluster_item(ctx, c, now);
        let any_firing = states.any_firing(c.id);
        for rule in &ctx.rules {
            if !eval::is_cluster_condition(rule.condition) || !rule.filter.matches(&info, None) {
                continue;
            }
            let step = eval::cluster_step(
                rule.condition,
                &c.state,
                states.held(rule.id, c.id),
                any_firing,
            );
            let quiet =
                matches!(step, Step::Fire | Step::Recover) && ctx.muted(rule.id, &info, None);
            if !quiet {
                states.step(step, rule.id, c.id, &item, now);
            }
        }
    }
    for d in due {
        fire_due(ctx, &mut states, d);
    }
    states.into_plan()
}

fn fire_due(ctx: &Context, states: &mut States, d: &StateRow) {
    let item: Option<Item> = serde_json::from_value(d.item.clone()).ok();
    let (Some(rule), Some(item)) = (ctx.rule(d.rule_id), item) else {
        states.remove(d.rule_id, d.object_id);
        return;
    };
    let cluster = ctx
        .clusters
        .get(&item.cluster_id)
        .cloned()
        .unwrap_or(ClusterInfo {
            id: item.cluster_id,
            name: item.cluster.clone(),
            labels: BTreeMap::new(),
        });
    let object = ObjectRef {
        kind: &item.kind,
        namespace: &item.namespace,
        name: &item.name,
    };
    if ctx.muted(rule.id, &cluster, Some(object)) {
        states.remove(d.rule_id, d.object_id);
        return;
    }
    // A due timer is held in `notify_state` as `waiting`; firing replaces it.
    states.now.remove(&(d.rule_id, d.object_id));
    states.step(Step::Fire, d.rule_id, d.object_id, &item, d.since);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flux::Health;

    fn ctx(condition: Condition, mutes: Vec<Mute>) -> Context {
        let cluster = ClusterInfo {
            id: Uuid::from_u128(1),
            name: "prod".into(),
            labels: BTreeMap::new(),
        };
        Context {
            rules: vec![Rule {
                id: Uuid::from_u128(10),
                condition,
                filter: RuleFilter::default(),
                after_minutes: Some(2),
            }],
            mutes,
            clusters: [(cluster.id, cluster)].into(),
            minute: Duration::from_secs(60),
            base: String::new(),
        }
    }

    fn change(seq: i64, name: &str, before: Option<Health>, after: Option<Health>) -> ChangeEntry {
        ChangeEntry {
            seq,
            at: DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            cluster_id: Uuid::from_u128(1),
            cluster_name: Some("prod".into()),
            resource_id: Uuid::from_u128(100 + name.len() as u128),
            api_group: "kustomize.toolkit.fluxcd.io".into(),
            kind: "Kustomization".into(),
            namespace: "apps".into(),
            name: name.into(),
            op: if after.is_some() {
                ChangeOp::Upsert
            } else {
                ChangeOp::Delete
            },
            health_before: before,
            health_after: after,
            event_type: None,
            revision: Some("main@sha1:ab12".into()),
            reason: None,
            message: None,
            version: None,
            summary: None,
        }
    }

    const READY: Option<Health> = Some(Health::Ready);
    const FAILED: Option<Health> = Some(Health::Failed);

    #[test]
    fn a_failure_and_its_recovery_in_one_batch_queue_both_and_leave_no_state() {
        let c = ctx(Condition::Failed, vec![]);
        let batch = [
            change(1, "web", READY, FAILED),
            change(2, "web", FAILED, READY),
        ];
        let plan = changes(&c, &batch, &[]);
        let actions: Vec<&str> = plan.queue.iter().map(|q| q.action).collect();
        assert_eq!(actions, ["firing", "resolved"]);
        assert!(plan.upserts.is_empty());
        assert_eq!(plan.deletes.len(), 1);
    }

    #[test]
    fn a_held_failure_is_not_sent_again_and_a_muted_one_not_at_all() {
        let c = ctx(Condition::Failed, vec![]);
        let first = changes(&c, &[change(1, "web", READY, FAILED)], &[]);
        assert_eq!(first.upserts.len(), 1);
        let again = changes(&c, &[change(2, "web", READY, FAILED)], &first.upserts);
        assert!(again.queue.is_empty() && again.upserts.is_empty());
        let muted = ctx(
            Condition::Failed,
            vec![Mute {
                rule_id: None,
                filter: RuleFilter {
                    name_prefix: "we".into(),
                    ..RuleFilter::default()
                },
            }],
        );
        let plan = changes(&muted, &[change(1, "web", READY, FAILED)], &[]);
        assert!(plan.queue.is_empty() && plan.upserts.is_empty());
    }

    fn with_recovered(mut c: Context) -> Context {
        c.rules.push(Rule {
            id: Uuid::from_u128(11),
            condition: Condition::Recovered,
            filter: RuleFilter::default(),
            after_minutes: None,
        });
        c
    }

    fn actions(plan: &Plan) -> Vec<&'static str> {
        plan.queue.iter().map(|q| q.action).collect()
    }

    #[test]
    fn recovered_follows_a_failure_notified_in_the_batch_or_before_but_not_a_waiting_one() {
        let c = with_recovered(ctx(Condition::Failed, vec![]));
        let batch = [
            change(1, "web", READY, FAILED),
            change(2, "web", FAILED, READY),
        ];
        let plan = changes(&c, &batch, &[]);
        assert_eq!(actions(&plan), ["firing", "resolved", "recovered"]);
        let first = changes(&c, &batch[..1], &[]);
        let later = changes(&c, &batch[1..], &first.upserts);
        assert_eq!(actions(&later), ["resolved", "recovered"]);
        // A second ready change finds nothing firing any more.
        let again = changes(&c, &[change(3, "web", READY, READY)], &[]);
        assert!(again.queue.is_empty());
        let waiting = with_recovered(ctx(Condition::StillFailed, vec![]));
        assert!(changes(&waiting, &batch, &[]).queue.is_empty());
    }

    #[test]
    fn still_failed_waits_then_fires_when_due_keeping_its_start() {
        let c = ctx(Condition::StillFailed, vec![]);
        let plan = changes(&c, &[change(1, "web", READY, FAILED)], &[]);
        assert!(plan.queue.is_empty());
        let waiting = &plan.upserts[0];
        assert_eq!(waiting.state, "waiting");
        assert_eq!(
            waiting.due_at,
            Some(waiting.since + chrono::Duration::minutes(2))
        );
        let now = waiting.since + chrono::Duration::minutes(3);
        let fired = scan(&c, &[], &[], std::slice::from_ref(waiting), now);
        assert_eq!(fired.queue.len(), 1);
        assert_eq!(
            (fired.upserts[0].state.as_str(), fired.upserts[0].since),
            ("firing", waiting.since)
        );
    }
}
