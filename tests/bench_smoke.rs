//! Each benchmark, run small: correctness only (no timing assertions).

mod common;

use chief::bench::intake;

#[tokio::test]
async fn intake_benchmark_stores_every_acked_event() {
    common::init();
    let out = tempfile::tempdir().unwrap();
    let report = intake::run(intake::Options {
        rate: 40,
        seconds: 0.5,
        concurrency: 4,
        sqlite: true,
        postgres: Some(chief::testkit::scratch::test_server_url()),
        peer_python: None,
        out: Some(out.path().join("intake.json")),
        chief_exe: env!("CARGO_BIN_EXE_chief").into(),
    })
    .await
    .expect("the benchmark runs");
    assert_eq!(
        report.phases.len(),
        4,
        "fixed and max rate on both backends"
    );
    for phase in &report.phases {
        assert!(phase.acked > 0, "{phase:?}");
        assert_eq!(phase.errors, 0, "{phase:?}");
        assert_eq!(
            phase.stored,
            Some(phase.acked),
            "every acked event is stored: {phase:?}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("intake.json")).unwrap()).unwrap();
    assert!(json["phases"].as_array().is_some_and(|p| p.len() == 4));
}

/// The last 24 hours: the window a daily briefing prepared now covers.
fn day() -> i64 {
    chief::bench::workspace::Spec::last_day_before(chief::platform::db::now())
}

#[tokio::test]
async fn briefings_benchmark_briefs_or_skips_everyone_on_both_backends() {
    use chief::bench::briefings;
    use chief::bench::workspace::{Spec, Workspace};
    common::init();
    let out = tempfile::tempdir().unwrap();
    let spec = Spec::new(30, 5, 200, 3, day());
    let expected = Workspace::generate(&spec).stats;
    let report = briefings::run(briefings::Options {
        spec,
        latency: std::time::Duration::from_millis(5),
        model_concurrency: 8,
        tpm: None,
        rpm: None,
        workers: 8,
        sqlite: true,
        postgres: Some(chief::testkit::scratch::test_server_url()),
        naive: true,
        naive_sample: 3,
        out: Some(out.path().join("briefings.json")),
    })
    .await
    .expect("the benchmark runs");
    assert_eq!(report.runs.len(), 2, "SQLite and PostgreSQL");
    for run in &report.runs {
        let stored = &run.stored;
        assert_eq!(stored.users, 30, "{run:?}");
        assert_eq!(stored.channels, 5);
        assert_eq!(stored.memberships as usize, expected.memberships);
        assert_eq!(stored.messages, 200);
        assert_eq!(stored.reactions as usize, expected.reactions);
        assert_eq!(stored.agents, 30);
        let skipped: usize = run.skipped.values().sum();
        assert_eq!(
            run.prepared + skipped,
            30,
            "every person gets a briefing or a documented skip: {run:?}"
        );
        assert!(run.failed.is_empty(), "{:?}", run.failed);
        assert_eq!(run.server.rejected, 0, "the server's limits are not hit");
    }
    let naive = report.naive.as_ref().expect("--naive was asked");
    assert!(naive.calls > 0 && naive.tokens_per_user > 0.0);
    let sample = naive.sample.as_ref().expect("a sample was sent");
    assert_eq!(sample.measured_calls, sample.computed_calls);
    assert_eq!(sample.measured_tokens, sample.computed_tokens);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("briefings.json")).unwrap()).unwrap();
    assert_eq!(json["runs"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn context_benchmark_acks_every_shortcut() {
    use chief::bench::context;
    use chief::bench::workspace::Spec;
    common::init();
    let out = tempfile::tempdir().unwrap();
    let report = context::run(context::Options {
        spec: Spec::new(40, 6, 300, 5, day()),
        requests: 4,
        rate: 50.0,
        latency: std::time::Duration::from_millis(20),
        sqlite: true,
        postgres: None,
        out: Some(out.path().join("context.json")),
        settle: std::time::Duration::from_millis(500),
    })
    .await
    .expect("the benchmark runs");
    assert_eq!(report.phases.len(), 2, "instant model, then with latency");
    for phase in &report.phases {
        assert_eq!(phase.acked, phase.requests, "{phase:?}");
    }
    assert!(out.path().join("context.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_benchmark_scores_teams_and_replays_identically_on_both_backends() {
    use clap::Parser;
    common::init();
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("org.json");
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: chief::bench::org::Args,
    }
    let mut args = Cli::parse_from([
        "bench",
        "--users",
        "120",
        "--channels",
        "12",
        "--messages",
        "600",
        "--teams",
        "6",
        "--team-messages",
        "1200",
        "--replay",
        "20000",
    ])
    .args;
    args.postgres = chief::testkit::scratch::test_server_url();
    args.out = path.clone();
    let report = chief::bench::org::run(args)
        .await
        .expect("the benchmark runs");
    assert_eq!(report.recovery.len(), 2, "SQLite and PostgreSQL");
    assert_eq!(report.replay.len(), 2);
    let first = &report.recovery[0];
    for r in &report.recovery {
        assert!(r.adjusted_rand_index > 0.5, "{r:?}");
        assert_eq!(
            r.adjusted_rand_index, first.adjusted_rand_index,
            "one projection"
        );
    }
    for r in &report.replay {
        assert!(r.identical, "snapshot + tail = full replay: {r:?}");
        assert_eq!(r.interactions, 20_000);
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(json["recovery"][0]["adjusted_rand_index"].is_number());
}
