//! Each benchmark, run small: correctness only (no timing assertions).

use chief::bench::intake;

#[tokio::test]
async fn intake_benchmark_stores_every_acked_event() {
    chief::init_process();
    let out = tempfile::tempdir().unwrap();
    let report = intake::run(intake::Options {
        rate: 40,
        seconds: 0.5,
        concurrency: 4,
        sqlite: true,
        postgres: Some(chief::db::scratch::test_server_url()),
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
