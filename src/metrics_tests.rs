use super::*;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    operation: &'static str,
    status: &'static str,
}

#[test]
fn series_render_in_the_prometheus_text_format_with_help_type_and_labels() {
    let m = Metrics::default();
    let resyncs: Family<Label, Counter> =
        m.register("fluxo_resyncs_total", "Resyncs sent.", Family::default());
    resyncs.get_or_create(&[("reason", "slow")]).inc_by(2);
    resyncs.get_or_create(&[("reason", "too_old")]).inc();
    m.gauge("fluxo_subscribers", "Connected subscribers.")
        .set(-1);
    let text = m.render();
    assert!(
        text.starts_with(
            "# HELP fluxo_resyncs_total Resyncs sent.\n# TYPE fluxo_resyncs_total counter\n"
        ),
        "{text}"
    );
    // Series of a family come in no particular order.
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "# HELP fluxo_resyncs_total Resyncs sent.",
            "# HELP fluxo_subscribers Connected subscribers.",
            "# TYPE fluxo_resyncs_total counter",
            "# TYPE fluxo_subscribers gauge",
            "fluxo_resyncs_total{reason=\"slow\"} 2",
            "fluxo_resyncs_total{reason=\"too_old\"} 1",
            "fluxo_subscribers -1",
        ]
    );
}

fn tenth_and_one() -> Histogram {
    histogram(&[0.1, 1.0])
}

#[test]
fn histograms_render_cumulative_buckets_sum_and_count_per_label_set() {
    let m = Metrics::default();
    let latency: Family<Route, Histogram> = m.register(
        "fluxo_test_seconds",
        "Latency.",
        Family::new_with_constructor(tenth_and_one as fn() -> Histogram),
    );
    let route = Route {
        operation: "listClusters",
        status: "2xx",
    };
    latency.get_or_create(&route).observe(0.05);
    latency.get_or_create(&route).observe(0.5);
    let text = m.render();
    for line in [
        "# TYPE fluxo_test_seconds histogram",
        "fluxo_test_seconds_bucket{operation=\"listClusters\",status=\"2xx\",le=\"0.1\"} 1",
        "fluxo_test_seconds_bucket{operation=\"listClusters\",status=\"2xx\",le=\"1\"} 2",
        "fluxo_test_seconds_bucket{operation=\"listClusters\",status=\"2xx\",le=\"+Inf\"} 2",
        "fluxo_test_seconds_sum{operation=\"listClusters\",status=\"2xx\"} 0.55",
        "fluxo_test_seconds_count{operation=\"listClusters\",status=\"2xx\"} 2",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
}

#[test]
fn registering_twice_returns_the_same_series() {
    let m = Metrics::default();
    m.counter("a_total", "A.").inc();
    m.counter("a_total", "A.").inc();
    assert_eq!(m.counter("a_total", "A.").get(), 2);
    assert_eq!(m.render().matches("# TYPE a_total").count(), 1);
    // Another type under a taken name is handed out but not exported twice.
    m.gauge("a_total", "A.").set(5);
    assert_eq!(m.render().matches("# TYPE a_total").count(), 1);
}

#[test]
fn label_values_are_escaped() {
    let m = Metrics::default();
    let g: Family<Vec<(String, String)>, Gauge> = m.register("g", "G.", Family::default());
    g.get_or_create(&vec![("v".into(), "a\"b\\c".into())])
        .set(1);
    assert!(
        m.render().contains("g{v=\"a\\\"b\\\\c\"} 1"),
        "{}",
        m.render()
    );
}
