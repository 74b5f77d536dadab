//! The admin endpoint of `flux-orchestrator sim`: plain HTTP, JSON, no auth (bind it to
//! localhost). Lists the clusters, shows request counters, flips faults, changes churn.
//!
//! ```text
//! GET  /clusters                                  names, URLs, kubeconfig paths, object counts
//! GET  /clusters/{name}/counts                    request counters ("LIST kustomizations": n)
//! POST /clusters/{name|all}/faults/drop-watches
//! POST /clusters/{name|all}/faults/compact
//! POST /clusters/{name|all}/faults/restart
//! POST /clusters/{name|all}/faults/hang?seconds=N
//! POST /clusters/{name|all}/faults/fail?count=N&code=503
//! POST /clusters/{name|all}/faults/refuse?on=true|false   or   ?seconds=N
//! POST /clusters/{name|all}/faults/forbid?resource=helmreleases&on=true|false
//! POST /clusters/{name|all}/faults/slow?ms=N
//! POST /clusters/{name|all}/faults/clear
//! POST /clusters/{name|all}/churn?rate=N            (0 stops churn)
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::churn::{ChurnHandle, ChurnOptions, spawn_churn};
use super::cluster::SimCluster;
use super::router::Query;
use super::server::{Body, json as json_response};

/// One cluster as the admin endpoint manages it.
pub struct Managed {
    /// The cluster.
    pub cluster: SimCluster,
    /// Where its kubeconfig was written.
    pub kubeconfig: String,
    /// Its running churn (replaced by `POST .../churn`).
    pub churn: Mutex<Option<ChurnHandle>>,
    /// Seed and mix for churn restarts (`POST .../churn` changes only the rate).
    pub churn_options: ChurnOptions,
}

/// Serve the admin endpoint until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    clusters: Arc<Vec<Managed>>,
    shutdown: CancellationToken,
) {
    loop {
        let (tcp, _) = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = listener.accept() => match r { Ok(c) => c, Err(_) => continue },
        };
        let clusters = clusters.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let clusters = clusters.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&clusters, req)) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), svc)
                .await;
        });
    }
}

fn reply(code: u16, v: Value) -> Response<Body> {
    json_response(code, serde_json::to_vec(&v).unwrap_or_default())
}

fn handle(clusters: &[Managed], req: Request<Incoming>) -> Response<Body> {
    let q = Query::parse(req.uri().query());
    let segs: Vec<&str> = req.uri().path().trim_matches('/').split('/').collect();
    match (req.method(), segs.as_slice()) {
        (&Method::GET, ["clusters"]) => {
            reply(200, Value::Array(clusters.iter().map(describe).collect()))
        }
        (&Method::GET, ["clusters", name, "counts"]) => {
            match clusters.iter().find(|m| m.cluster.name() == *name) {
                Some(m) => reply(200, json!(m.cluster.request_counts().snapshot())),
                None => reply(
                    404,
                    json!({"code": "not_found", "message": format!("no cluster {name}")}),
                ),
            }
        }
        (&Method::POST, ["clusters", name, rest @ ..]) => {
            let targets: Vec<&Managed> = clusters
                .iter()
                .filter(|m| *name == "all" || m.cluster.name() == *name)
                .collect();
            if targets.is_empty() {
                return reply(
                    404,
                    json!({"code": "not_found", "message": format!("no cluster {name}")}),
                );
            }
            for m in &targets {
                if let Err(msg) = act(m, rest, &q) {
                    return reply(400, json!({"code": "bad_request", "message": msg}));
                }
            }
            reply(
                200,
                json!({"applied": rest.join("/"), "clusters": targets.iter().map(|m| m.cluster.name()).collect::<Vec<_>>()}),
            )
        }
        _ => reply(
            404,
            json!({"code": "not_found", "message": "see the module docs of sim::admin"}),
        ),
    }
}

fn describe(m: &Managed) -> Value {
    let o = m.cluster.objects();
    json!({
        "name": m.cluster.name(),
        "url": m.cluster.url(),
        "kubeconfig": m.kubeconfig,
        "objects": o.total(),
        "resourceVersion": o.resource_version(),
        "churnChanges": m.churn.lock().ok().and_then(|c| c.as_ref().map(ChurnHandle::changes)),
    })
}

fn num(q: &Query, key: &str) -> Result<u64, String> {
    q.get(key)
        .ok_or_else(|| format!("missing ?{key}="))?
        .parse()
        .map_err(|_| format!("?{key} must be a number"))
}

fn act(m: &Managed, action: &[&str], q: &Query) -> Result<(), String> {
    let f = m.cluster.faults();
    match action {
        ["faults", "drop-watches"] => f.drop_watches(),
        ["faults", "compact"] => f.compact(),
        ["faults", "restart"] => f.restart(),
        ["faults", "clear"] => f.clear(),
        ["faults", "hang"] => f.hang(Duration::from_secs(num(q, "seconds")?)),
        ["faults", "slow"] => f.slow(Duration::from_millis(num(q, "ms")?)),
        ["faults", "fail"] => {
            let code = q.get("code").map_or(Ok(503), |_| num(q, "code"))?;
            f.fail_next(num(q, "count")? as u32, code as u16);
        }
        ["faults", "refuse"] if q.get("seconds").is_some() => {
            f.refuse_403_for(Duration::from_secs(num(q, "seconds")?))
        }
        ["faults", "refuse"] => f.refuse_403(q.get("on") != Some("false")),
        ["faults", "forbid"] => {
            let resource = q.get("resource").ok_or("missing ?resource=")?;
            f.forbid_resource(resource, q.get("on") != Some("false"));
        }
        ["churn"] => {
            let rate: f64 = q
                .get("rate")
                .ok_or("missing ?rate=")?
                .parse()
                .map_err(|_| "?rate must be a number")?;
            let mut churn = m.churn.lock().map_err(|_| "churn lock poisoned")?;
            drop(churn.take());
            if rate > 0.0 {
                *churn = Some(spawn_churn(
                    &m.cluster,
                    ChurnOptions {
                        rate,
                        ..m.churn_options.clone()
                    },
                ));
            }
        }
        other => return Err(format!("unknown action {:?}", other.join("/"))),
    }
    Ok(())
}
