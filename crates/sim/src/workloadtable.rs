//! kubectl's printer columns for the workload kinds (`kubectl get deployments` shows READY
//! `2/3`, UP-TO-DATE, AVAILABLE...), for `table.rs`.

use serde_json::{Value, json};

/// Column names after NAME, the last one being AGE.
pub fn columns(kind: &str) -> &'static [&'static str] {
    match kind {
        "Deployment" => &["Ready", "Up-to-date", "Available", "Age"],
        "StatefulSet" => &["Ready", "Age"],
        "DaemonSet" => &[
            "Desired",
            "Current",
            "Ready",
            "Up-to-date",
            "Available",
            "Age",
        ],
        "Job" => &["Status", "Completions", "Age"],
        "CronJob" => &["Schedule", "Suspend", "Active", "Last Schedule", "Age"],
        "Service" => &["Type", "Cluster-IP", "External-IP", "Port(s)", "Age"],
        "PersistentVolumeClaim" => &[
            "Status",
            "Volume",
            "Capacity",
            "Access Modes",
            "StorageClass",
            "Age",
        ],
        _ => &["Class", "Hosts", "Address", "Ports", "Age"],
    }
}

/// The cells after NAME, in [`columns`] order; `age` is the object's age as kubectl prints it.
pub fn cells(kind: &str, obj: &Value, age: String) -> Vec<Value> {
    let (spec, st) = (&obj["spec"], &obj["status"]);
    let mut out = match kind {
        "Deployment" => vec![
            json!(ready_of(obj, "readyReplicas")),
            json!(count(&st["updatedReplicas"])),
            json!(count(&st["availableReplicas"])),
        ],
        "StatefulSet" => vec![json!(ready_of(obj, "readyReplicas"))],
        "DaemonSet" => DAEMONSET.iter().map(|f| json!(count(&st[*f]))).collect(),
        "Job" => vec![
            json!(job_status(st)),
            json!(format!(
                "{}/{}",
                count(&st["succeeded"]),
                spec["completions"].as_i64().unwrap_or(1)
            )),
        ],
        "CronJob" => vec![
            spec["schedule"].clone(),
            json!(if spec["suspend"] == true {
                "True"
            } else {
                "False"
            }),
            json!(st["active"].as_array().map_or(0, Vec::len)),
            json!(
                st["lastScheduleTime"]
                    .as_str()
                    .map_or("<none>".to_string(), super::table::age)
            ),
        ],
        "Service" => vec![
            spec["type"].clone(),
            json!(text(&spec["clusterIP"])),
            json!(address(st)),
            json!(ports(spec)),
        ],
        "PersistentVolumeClaim" => pvc_cells(spec, st),
        _ => vec![
            json!(text(&spec["ingressClassName"])),
            json!(spec["rules"][0]["host"].as_str().unwrap_or("*")),
            json!(address(st)),
            json!("80"),
        ],
    };
    out.push(json!(age));
    out
}

/// The DaemonSet's counts, in column order.
const DAEMONSET: &[&str] = &[
    "desiredNumberScheduled",
    "currentNumberScheduled",
    "numberReady",
    "updatedNumberScheduled",
    "numberAvailable",
];

fn count(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or("<none>").to_string()
}

/// `ready/desired`, e.g. `2/3`.
fn ready_of(obj: &Value, field: &str) -> String {
    let desired = obj["spec"]["replicas"].as_i64().unwrap_or(1);
    format!("{}/{desired}", count(&obj["status"][field]))
}

fn pvc_cells(spec: &Value, st: &Value) -> Vec<Value> {
    vec![
        json!(text(&st["phase"])),
        json!(text(&spec["volumeName"])),
        json!(st["capacity"]["storage"].as_str().unwrap_or("")),
        json!(if st["accessModes"].is_array() {
            "RWO"
        } else {
            ""
        }),
        json!(text(&spec["storageClassName"])),
    ]
}

fn job_status(st: &Value) -> &'static str {
    let cond = |t: &str| {
        st["conditions"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| c["type"] == t && c["status"] == "True"))
    };
    match (cond("Complete"), cond("Failed")) {
        (true, _) => "Complete",
        (_, true) => "Failed",
        _ => "Running",
    }
}

fn address(st: &Value) -> String {
    st["loadBalancer"]["ingress"][0]["ip"]
        .as_str()
        .unwrap_or("<pending>")
        .to_string()
}

fn ports(spec: &Value) -> String {
    spec["ports"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}
