//! The fleet-scale benchmark suite (issue 8): every scenario in one run against the real server
//! binary, a private PostgreSQL and simulated clusters; prints a table with each figure next to
//! its goal and writes the run as JSON.
//!
//! ```text
//! make bench                                   # full run, durable PostgreSQL, release build
//! cargo bench --bench fleet -- scale rest      # only some scenarios (DATABASE_URL set)
//! cargo test --bench fleet                     # quick mode: a few seconds per scenario
//! ```
//!
//! Scenarios: `latency` (1), `polling` (2), `ingest` (3), `scale` (4), `backstop` (5),
//! `fanout` (6), `recovery` (7), `rest` (8), `workloads` (9), `notify` (10), `history` (11).
//! Scenarios 4, 5, 7 and 8 share one 50-cluster fleet (`FLEET_CLUSTERS` and `FLEET_PER_KIND`
//! resize it); scenario 9 has its own, with 8,000 workloads per cluster (`FLEET_WL_CLUSTERS`,
//! `FLEET_WL_PER_KIND`, `FLEET_WORKLOADS`); scenario 10 its own too (`FLEET_NOTIFY_*`, see
//! `notify.rs`); scenario 11 generates its history in SQL (`FLEET_HIST_CLUSTERS`,
//! `FLEET_HIST_OBJECTS`, `FLEET_HIST_CHANGES`, `FLEET_HIST_DAYS`).
//!
//! Quick mode (`cargo test`, or `FLEET_QUICK=1`) shrinks every scenario and fails on a broken
//! invariant (a lost frame, rows written by an unchanged backstop, more than one LIST per kind
//! after a restart); goals are reported, not enforced, since the sizes are too small for them.
//! Results go to `target/bench-results/fleet.json` (`fleet-quick.json` in quick mode).

// The integration tests' helpers; the benchmark uses a part of them (the server as a process,
// whose memory and CPU it reads, the databases, the stream client).
#[path = "../../tests/it/support/mod.rs"]
#[allow(dead_code)]
mod support;

mod fanout;
mod harness;
mod history;
mod history_fill;
mod ingest;
mod latency;
mod notify;
mod polling;
mod scale;
mod workloads;

use std::time::Instant;

use harness::Report;

/// Scenario names, in run order (the shared 50-cluster fleet last, it is the heaviest).
const SCENARIOS: &[&str] = &[
    "ingest",
    "latency",
    "polling",
    "fanout",
    "scale",
    "backstop",
    "rest",
    "recovery",
    "workloads",
    "notify",
    "history",
];

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; `cargo test` runs the same binary without it.
    let quick = !args.iter().any(|a| a == "--bench")
        || std::env::var("FLEET_QUICK").is_ok_and(|v| v == "1");
    let picked: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    if let Some(bad) = picked.iter().find(|p| !SCENARIOS.contains(p)) {
        eprintln!(
            "unknown scenario {bad:?}; scenarios: {}",
            SCENARIOS.join(", ")
        );
        std::process::exit(2);
    }
    let run = |name: &str| picked.is_empty() || picked.contains(&name);
    if std::env::var("DATABASE_URL").is_err() {
        eprintln!("set DATABASE_URL to a PostgreSQL admin URL (make bench and make test do)");
        std::process::exit(2);
    }
    let machine = harness::machine();
    println!(
        "fleet benchmark ({}) on {} cores, {}, load {}",
        if quick { "quick mode" } else { "full run" },
        machine["cores"],
        machine["cpu"].as_str().unwrap_or("?"),
        machine["load_average_at_start"].as_str().unwrap_or("?"),
    );
    let started = Instant::now();
    let mut report = Report::default();
    let mut failures = Vec::new();
    let mut step = |name: &str, result: anyhow::Result<()>| {
        if let Err(e) = result {
            eprintln!("scenario {name} failed: {e:#}");
            failures.push(format!("{name}: {e:#}"));
        }
    };
    if run("ingest") {
        println!("\n== 3. ingest: sustained changes/s into PostgreSQL through the real writer");
        step("ingest", ingest::run(&mut report, quick).await);
    }
    if run("latency") {
        println!("\n== 1. latency: change in a simulator → WebSocket frame at each subscriber");
        step("latency", latency::run(&mut report, quick).await);
    }
    if run("polling") {
        println!("\n== 2. polling baseline: watches vs. the prototype's periodic full list");
        step("polling", polling::run(&mut report, quick).await);
    }
    if run("fanout") {
        println!("\n== 6. fan-out: many subscribers, commit → frame");
        step("fanout", fanout::run(&mut report, quick).await);
    }
    let fleet_parts = scale::Parts {
        scale: run("scale"),
        backstop: run("backstop"),
        rest: run("rest"),
        recovery: run("recovery"),
    };
    if fleet_parts.any() {
        step("scale", scale::run(&mut report, quick, fleet_parts).await);
    }
    if run("workloads") {
        println!(
            "\n== 9. workloads: Flux objects and the workloads they apply, graph and image search"
        );
        step("workloads", workloads::run(&mut report, quick).await);
    }
    if run("notify") {
        println!(
            "\n== 10. notify: 100 rules over the fleet, change → webhook, ingest and stream beside"
        );
        step("notify", notify::run(&mut report, quick).await);
    }
    if run("history") {
        println!("\n== 11. history: 10,000,000 changes of a month, read through the API");
        step("history", history::run(&mut report, quick).await);
    }
    report.print_table();
    println!(
        "\n{} figures in {:.0} s",
        report.figures.len(),
        started.elapsed().as_secs_f64()
    );
    let missed = report.missed();
    if !missed.is_empty() {
        println!(
            "goals missed{}:",
            if quick {
                " (quick mode: sizes too small to judge)"
            } else {
                ""
            }
        );
        for f in missed {
            println!(
                "  {} / {}: {}",
                f.scenario,
                f.name,
                harness::number(f.value)
            );
        }
    }
    let json = report.json(machine, quick);
    let path = format!(
        "target/bench-results/fleet{}.json",
        if quick { "-quick" } else { "" }
    );
    let written = std::fs::create_dir_all("target/bench-results").and_then(|_| {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&json).unwrap_or_default(),
        )
    });
    match written {
        Ok(()) => println!("results: {path}"),
        Err(e) => eprintln!("could not write {path}: {e}"),
    }
    if !report.violations.is_empty() {
        eprintln!("\ninvariants broken:");
        for v in &report.violations {
            eprintln!("  {v}");
        }
    }
    if !failures.is_empty() || !report.violations.is_empty() {
        std::process::exit(1);
    }
}
