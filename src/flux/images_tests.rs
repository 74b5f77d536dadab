use serde_json::json;

use super::*;

fn parsed(image: &str) -> (String, Option<String>, Option<String>) {
    let r = ImageRef::parse(image).unwrap_or_else(|e| panic!("{image}: {e}"));
    (r.repository, r.tag, r.digest)
}

const SHA: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

#[test]
fn references_normalise_like_docker_with_registries_ports_tags_and_digests() {
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        parsed("nginx"),
        ("docker.io/library/nginx".into(), None, None)
    );
    assert_eq!(
        parsed("nginx:1.25"),
        ("docker.io/library/nginx".into(), s("1.25"), None)
    );
    assert_eq!(
        parsed("bitnami/redis:7.2"),
        ("docker.io/bitnami/redis".into(), s("7.2"), None)
    );
    assert_eq!(
        parsed("index.docker.io/library/nginx"),
        ("docker.io/library/nginx".into(), None, None)
    );
    assert_eq!(
        parsed("localhost/app"),
        ("localhost/app".into(), None, None)
    );
    assert_eq!(
        parsed("registry:5000/team/app:1.2"),
        ("registry:5000/team/app".into(), s("1.2"), None)
    );
    assert_eq!(
        parsed("registry:5000/team/app"),
        ("registry:5000/team/app".into(), None, None)
    );
    assert_eq!(
        parsed(&format!("ghcr.io/acme/web@{SHA}")),
        ("ghcr.io/acme/web".into(), None, s(SHA))
    );
    assert_eq!(
        parsed(&format!("ghcr.io/acme/web:2.0.1@{SHA}")),
        ("ghcr.io/acme/web".into(), s("2.0.1"), s(SHA))
    );
    let r = ImageRef::parse(&format!("postgres:16@{SHA}")).unwrap();
    assert_eq!(r.full(), format!("docker.io/library/postgres:16@{SHA}"));
}

#[test]
fn references_no_runtime_could_pull_are_refused() {
    for bad in [
        "",
        "Nginx",
        "nginx:",
        "nginx:-x",
        "ghcr.io/acme//web",
        "nginx@sha256:abc",
        "nginx@md5",
        "nginx@sha256:XYZ",
        "nginx:1.0@",
        "-web",
        "ghcr.io/",
    ] {
        let err = ImageRef::parse(bad).expect_err(bad);
        assert!(matches!(err, Error::InvalidImage { .. }), "{bad}: {err}");
    }
}

fn finds(term: &str, image: &str) -> bool {
    let q = ImageQuery::parse(term).unwrap_or_else(|e| panic!("{term}: {e}"));
    q.matches(&ImageRef::parse(image).unwrap())
}

#[test]
fn a_search_finds_images_by_repository_tag_and_digest() {
    let pinned = format!("ghcr.io/acme/web:2.0.1@{SHA}");
    assert!(finds("nginx", "nginx:1.25.3"));
    assert!(finds("nginx", &format!("docker.io/library/nginx@{SHA}")));
    assert!(finds("docker.io/library/nginx", "nginx:1.25"));
    assert!(finds("nginx:1.25", "docker.io/library/nginx:1.25"));
    assert!(!finds("nginx:1.25", "nginx:1.25.3"), "tags match exactly");
    assert!(
        !finds("nginx", "ghcr.io/acme/nginx:1"),
        "a name means Docker Hub's library"
    );
    assert!(!finds("nginx", "docker.io/library/nginx-exporter:1"));
    assert!(
        finds("ghcr.io/acme", &pinned),
        "a path prefix finds what is below it"
    );
    assert!(!finds("ghcr.io/ac", &pinned), "only at a path boundary");
    assert!(finds("sha256:9f86d08", &pinned));
    assert!(finds("@sha256:9f86d081884c", &pinned));
    assert!(!finds("sha256:9f86d09", &pinned));
    assert!(finds("ghcr.io/acme/web@sha256:9f86", &pinned));
    assert!(!finds("ghcr.io/acme/api@sha256:9f86", &pinned));
    assert!(finds(":2.0.1", &pinned));
    assert!(finds("ghcr.io/acme/web:2.0.1", &pinned));
    assert!(finds(
        "registry:5000/team/app:1.2",
        "registry:5000/team/app:1.2"
    ));
    assert!(!finds(
        "registry:5000/team/app:1.2",
        "registry:5001/team/app:1.2"
    ));
}

#[test]
fn bad_search_terms_are_refused() {
    for bad in [
        "sha256:",
        "sha256:xyz",
        "@",
        "@sha256",
        ":",
        "nginx@sha256:",
        "NGINX",
        "a b",
    ] {
        assert!(ImageQuery::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_workload_runs_its_containers_and_init_containers_cronjobs_included() {
    let deploy = json!({"kind": "Deployment", "spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": "ghcr.io/acme/web:1.0"}, {"name": "proxy", "image": "nginx"}],
        "initContainers": [{"name": "wait", "image": "busybox:1.36"}]}}}});
    let got: Vec<(String, bool, String)> = workload_images(&deploy)
        .into_iter()
        .map(|c| (c.container, c.init, c.parsed.unwrap().full()))
        .collect();
    assert_eq!(
        got,
        [
            ("app".to_string(), false, "ghcr.io/acme/web:1.0".to_string()),
            ("proxy".into(), false, "docker.io/library/nginx".into()),
            ("wait".into(), true, "docker.io/library/busybox:1.36".into()),
        ]
    );
    let cron = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "containers": [{"name": "report", "image": "Bad:Image"}]}}}}}});
    let images = workload_images(&cron);
    assert_eq!(
        (
            images.len(),
            images[0].image.as_str(),
            images[0].parsed.is_err()
        ),
        (1, "Bad:Image", true)
    );
    assert!(workload_images(&json!({"kind": "Service", "spec": {}})).is_empty());
    let pod = json!({"kind": "Pod", "spec": {"containers": [{"name": "x", "image": "alpine"}]}});
    assert_eq!(workload_images(&pod).len(), 1);
}
