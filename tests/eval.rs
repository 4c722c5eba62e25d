#![recursion_limit = "256"]
//! The quality suite (`chief eval`, `eval/`) runs on every `cargo test`: the whole suite with the
//! extractive engine, and the replayed capable model on the scenarios it has answers for. The
//! floors below are the figures QUALITY.md records; they only move up (issue 14's targets are in
//! `chief::eval::targets`, and `chief eval --check` holds a run to them).

mod common;

use std::path::PathBuf;

use chief::config::Config;
use chief::eval::{Engine, EvalArgs, Report, run};

fn args(engine: Engine) -> EvalArgs {
    EvalArgs {
        engine,
        json: false,
        only: None,
        suite: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("eval"),
        fixtures: Some(common::fixtures()),
        pending: None,
        out: None,
        check: false,
    }
}

async fn eval(engine: Engine) -> Report {
    common::init();
    run(Config::for_database("sqlite::memory:"), &args(engine))
        .await
        .expect("the suite runs")
}

fn metric(report: &Report, name: &str) -> f64 {
    report.metrics[name]
        .as_f64()
        .unwrap_or_else(|| panic!("{name} is missing: {}", report.metrics))
}

#[test]
fn the_suite_has_forty_scenarios_from_real_exports_and_synthetic_workspaces() {
    let suite = args(Engine::Extractive).suite;
    let scenarios = chief::eval::scenario::load(&suite, None).expect("the scenarios parse");
    assert!(scenarios.len() >= 40, "{} scenarios", scenarios.len());
    let real = scenarios
        .iter()
        .filter(|s| !s.workspace.starts_with("synthetic/"))
        .count();
    assert!(real >= 12, "{real} real days");
    for export in ["houston", "racket/"] {
        assert!(
            scenarios.iter().any(|s| s.workspace.starts_with(export)),
            "no scenario on {export}"
        );
    }
    let explain = scenarios
        .iter()
        .filter(|s| s.kind == chief::eval::scenario::Kind::Explain)
        .count();
    assert!(explain >= 8, "{explain} click-to-context scenarios");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_extractive_engine_is_cited_faithful_and_no_worse_than_recorded() {
    let report = eval(Engine::Extractive).await;
    let table = chief::eval::table(&report);
    // What must hold absolutely.
    assert_eq!(metric(&report, "citations_valid"), 1.0, "{table}");
    assert_eq!(metric(&report, "invented_facts"), 0.0, "{table}");
    assert_eq!(metric(&report, "reader_as_you"), 1.0, "{table}");
    assert!(metric(&report, "contentless_stories") <= 1.0, "{table}");
    assert!(metric(&report, "duplicate_stories") <= 1.0, "{table}");
    assert_eq!(metric(&report, "model_calls_per_briefing"), 0.0, "{table}");
    // Floors: the figures QUALITY.md records for this engine.
    assert!(metric(&report, "key_fact_recall") >= 0.58, "{table}");
    assert!(metric(&report, "reader_item_recall") >= 0.85, "{table}");
    assert!(metric(&report, "explain_fact_recall") >= 0.69, "{table}");
    // The drift set (`eval/drift/`, 172 hand-judged sentences): what the guardrail's semantic
    // check catches and how rarely it rejects a good paraphrase (issue 15 targets ≥ 0.9 and
    // ≤ 0.05; the floors are what QUALITY.md records).
    assert!(report.extra["drift_cases"].as_u64() >= Some(150), "{table}");
    assert!(metric(&report, "faithfulness_detection") >= 0.37, "{table}");
    assert!(
        metric(&report, "faithfulness_false_alarm") <= 0.06,
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_capable_model_replayed_no_briefing_is_emptied_and_every_citation_holds() {
    let report = eval(Engine::Replay).await;
    let table = chief::eval::table(&report);
    assert!(report.scenarios >= 10, "{table}");
    assert_eq!(report.extra["emptied_briefings"], 0, "{table}");
    assert_eq!(metric(&report, "citations_valid"), 1.0, "{table}");
    assert_eq!(metric(&report, "reader_as_you"), 1.0, "{table}");
    assert!(metric(&report, "model_calls_per_briefing") > 0.0, "{table}");
    // Every prompt of these scenarios has its answer: a change to what a task is given shows here.
    assert_eq!(report.extra["replay_missed"], 0, "{table}");
    // Good paraphrases pass the guardrail (issue 14's target), and the floors QUALITY.md records.
    assert!(
        metric(&report, "guardrail_false_rejects") <= 0.05,
        "{table}"
    );
    assert!(metric(&report, "key_fact_recall") >= 0.72, "{table}");
    assert!(metric(&report, "reader_item_recall") >= 0.95, "{table}");
    assert!(metric(&report, "explain_fact_recall") >= 0.9, "{table}");
}
