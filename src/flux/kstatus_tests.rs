use serde_json::{Value, json};

use super::*;

macro_rules! workload_fixtures {
    ($($name:literal),* $(,)?) => {
        /// Workloads as the API server returns them (`fixtures/workloads/*.yaml`).
        const WORKLOADS: &[(&str, &str)] =
            &[$(($name, include_str!(concat!("fixtures/workloads/", $name, ".yaml")))),*];
    };
}

workload_fixtures![
    "cronjob",
    "daemonset-ready",
    "deployment-available",
    "deployment-generation-behind",
    "deployment-progress-deadline-exceeded",
    "deployment-rolling-out",
    "ingress",
    "job-complete",
    "job-failed",
    "pod-crashloop",
    "pvc-bound",
    "pvc-pending",
    "service-loadbalancer-pending",
    "statefulset-rolling-out",
];

fn fixture(name: &str) -> Value {
    let (_, text) = WORKLOADS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fixture {name}"));
    serde_yaml::from_str(text).expect("fixture parses")
}

fn verdict(obj: &Value) -> (KStatus, Option<String>) {
    let s = compute(obj);
    (s.status, s.reason)
}

#[test]
fn every_workload_fixture_gets_the_status_kstatus_gives_it() {
    let expected: &[(&str, KStatus, Option<&str>)] = &[
        ("cronjob", KStatus::Current, None),
        ("daemonset-ready", KStatus::Current, None),
        ("deployment-available", KStatus::Current, None),
        (
            "deployment-generation-behind",
            KStatus::InProgress,
            Some("LatestGenerationNotObserved"),
        ),
        (
            "deployment-progress-deadline-exceeded",
            KStatus::Failed,
            Some("ProgressDeadlineExceeded"),
        ),
        (
            "deployment-rolling-out",
            KStatus::InProgress,
            Some("LessUpdated"),
        ),
        ("ingress", KStatus::Current, None),
        ("job-complete", KStatus::Current, None),
        ("job-failed", KStatus::Failed, Some("JobFailed")),
        (
            "pod-crashloop",
            KStatus::Failed,
            Some("ContainerCrashLooping"),
        ),
        ("pvc-bound", KStatus::Current, None),
        ("pvc-pending", KStatus::InProgress, Some("NotBound")),
        ("service-loadbalancer-pending", KStatus::Current, None),
        (
            "statefulset-rolling-out",
            KStatus::InProgress,
            Some("LessCurrent"),
        ),
    ];
    assert_eq!(expected.len(), WORKLOADS.len(), "every fixture is judged");
    for (name, status, reason) in expected {
        assert_eq!(
            verdict(&fixture(name)),
            (*status, reason.map(str::to_string)),
            "{name}"
        );
    }
}

#[test]
fn messages_and_replicas_say_what_is_missing() {
    let rolling = compute(&fixture("deployment-rolling-out"));
    assert_eq!(rolling.message, "Updated: 1/3");
    assert_eq!(
        rolling.replicas,
        Some(Replicas {
            ready: 3,
            desired: 3
        })
    );
    let stuck = compute(&fixture("deployment-progress-deadline-exceeded"));
    assert_eq!(
        stuck.message,
        "ReplicaSet \"web-6f7c8d9b5a\" has timed out progressing."
    );
    let behind = compute(&fixture("deployment-generation-behind"));
    assert_eq!(
        behind.message,
        "Deployment generation is 8, but latest observed generation is 7"
    );
    let job = compute(&fixture("job-failed"));
    assert_eq!(
        (job.message.as_str(), job.replicas),
        (
            "Job Failed. failed: 7/1",
            Some(Replicas {
                ready: 0,
                desired: 1
            })
        )
    );
    assert_eq!(
        compute(&fixture("daemonset-ready")).replicas,
        Some(Replicas {
            ready: 3,
            desired: 3
        })
    );
    assert_eq!(
        compute(&fixture("pvc-pending")).message,
        "PVC is not Bound. phase: Pending"
    );
    assert_eq!(compute(&fixture("ingress")).replicas, None);
}

#[test]
fn a_deployment_is_current_only_when_every_count_and_condition_agrees() {
    let mut d = fixture("deployment-available");
    let cases: &[(&str, Value, &str)] = &[
        ("replicas", json!(2), "LessReplicas"),
        ("availableReplicas", json!(2), "LessAvailable"),
        ("readyReplicas", json!(2), "LessReady"),
    ];
    for (field, value, reason) in cases {
        let mut changed = d.clone();
        changed["status"][*field] = value.clone();
        assert_eq!(verdict(&changed).1.as_deref(), Some(*reason), "{field}");
    }
    d["status"]["replicas"] = json!(4);
    assert_eq!(verdict(&d).1.as_deref(), Some("ExtraPods"));
    d["status"]["replicas"] = json!(3);
    d["status"]["conditions"][1]["reason"] = json!("ReplicaSetUpdated");
    assert_eq!(verdict(&d).1.as_deref(), Some("ReplicaSetNotAvailable"));
    d["spec"]
        .as_object_mut()
        .unwrap()
        .remove("progressDeadlineSeconds");
    assert_eq!(
        verdict(&d).0,
        KStatus::Current,
        "no deadline: nothing to wait for"
    );
    d["status"]["conditions"][0]["status"] = json!("False");
    assert_eq!(verdict(&d).1.as_deref(), Some("DeploymentNotAvailable"));
}

#[test]
fn generic_rules_come_first_terminating_then_generation_then_conditions() {
    let mut d = fixture("deployment-progress-deadline-exceeded");
    d["metadata"]["deletionTimestamp"] = json!("2025-12-02T11:00:00Z");
    let s = compute(&d);
    assert_eq!(
        (s.status, s.status.health()),
        (KStatus::Terminating, Health::Progressing)
    );
    let mut cr = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"generation": 2},
        "status": {"observedGeneration": 2, "conditions": [
            {"type": "Ready", "status": "False", "reason": "Broken", "message": "no"},
            {"type": "Stalled", "status": "True", "reason": "GaveUp", "message": "retries exhausted"}]}});
    assert_eq!(verdict(&cr), (KStatus::Failed, Some("GaveUp".into())));
    cr["status"]["conditions"][1] =
        json!({"type": "Reconciling", "status": "True", "reason": "Progressing", "message": "m"});
    assert_eq!(
        verdict(&cr),
        (KStatus::InProgress, Some("Progressing".into()))
    );
    cr["status"]["conditions"].as_array_mut().unwrap().pop();
    assert_eq!(
        verdict(&cr),
        (KStatus::Failed, Some("Broken".into())),
        "Ready=False alone fails"
    );
    cr["status"]["conditions"][0]["status"] = json!("Unknown");
    assert_eq!(verdict(&cr).0, KStatus::InProgress);
    cr["status"]["conditions"][0]["status"] = json!("True");
    assert_eq!(verdict(&cr), (KStatus::Current, None));
    cr["metadata"]["generation"] = json!(3);
    assert_eq!(
        verdict(&cr).1.as_deref(),
        Some("LatestGenerationNotObserved")
    );
}

#[test]
fn a_kind_is_judged_by_its_group_too() {
    let mut d = fixture("deployment-rolling-out");
    d["apiVersion"] = json!("example.com/v1");
    assert_eq!(
        verdict(&d).0,
        KStatus::Current,
        "not apps/Deployment: the generic rule"
    );
    assert_eq!(verdict(&json!({"metadata": {}})).0, KStatus::Unknown);
}

#[test]
fn statefulsets_daemonsets_jobs_services_and_pods_follow_their_rules() {
    let mut sts = fixture("statefulset-rolling-out");
    for f in ["currentReplicas", "updatedReplicas"] {
        sts["status"][f] = json!(3);
    }
    assert_eq!(verdict(&sts).1.as_deref(), Some("RevisionMismatch"));
    sts["spec"]["updateStrategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 2}});
    assert_eq!(verdict(&sts).0, KStatus::Current, "3 updated ≥ 3 - 2");
    sts["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
    sts["status"]["readyReplicas"] = json!(0);
    assert_eq!(verdict(&sts).0, KStatus::Current);

    let mut ds = fixture("daemonset-ready");
    ds["status"]["numberReady"] = json!(2);
    assert_eq!(verdict(&ds).1.as_deref(), Some("LessReady"));
    ds["status"]
        .as_object_mut()
        .unwrap()
        .remove("observedGeneration");
    assert_eq!(verdict(&ds).1.as_deref(), Some("NoObservedGeneration"));

    let mut job = fixture("job-complete");
    job["status"] = json!({"startTime": "2025-12-02T10:30:02Z", "active": 1});
    assert_eq!(
        verdict(&job),
        (KStatus::InProgress, Some("JobInProgress".into())),
        "Flux: running is not done"
    );

    let mut svc = fixture("service-loadbalancer-pending");
    svc["spec"]["clusterIP"] = json!("");
    assert_eq!(verdict(&svc).1.as_deref(), Some("NoIPAssigned"));

    let mut pod = fixture("pod-crashloop");
    pod["status"]["containerStatuses"][0]["state"] = json!({"running": {}});
    assert_eq!(verdict(&pod).1.as_deref(), Some("PodRunningNotReady"));
    pod["status"]["phase"] = json!("Pending");
    pod["status"]["conditions"] =
        json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]);
    assert_eq!(verdict(&pod).0, KStatus::Failed);
    pod["status"]["phase"] = json!("Exploded");
    assert_eq!(verdict(&pod).0, KStatus::Unknown);
}

#[test]
fn each_kstatus_maps_to_one_health() {
    let map: Vec<Health> = [
        KStatus::Current,
        KStatus::InProgress,
        KStatus::Failed,
        KStatus::Terminating,
        KStatus::Unknown,
    ]
    .map(KStatus::health)
    .to_vec();
    assert_eq!(
        map,
        [
            Health::Ready,
            Health::Progressing,
            Health::Failed,
            Health::Progressing,
            Health::Unknown
        ]
    );
}
