//! Models as people run them (issue 20): a model on a laptop that serves one request at a time,
//! a server that refuses some `response_format`s, a hosted deployment limited by tokens per
//! minute — and a real llama.cpp server (llama-cpp-python with SmolLM2-135M, installed by
//! `.ci/local-model`).

#[macro_use]
mod common;

use std::time::Duration;

use chief::ai::llm::{CallOptions, Gateway, Settings, Source};
use chief::ai::tasks::{Prompt, Task};
use chief::config::{Config, DeploymentConfig, DeploymentKind, JsonMode};
use chief::platform::db::llm::CallRecord;
use chief::testkit::model_server::{LocalLlm, Reply};
use chief::testkit::scratch::ScratchDb;
use common::briefing::valid_json_responder;
use common::explain::{READER, command_fields, seed, shortcut_payload};
use common::{Backend, TestApp, spawn_app_with_model};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// A small task: one sentence about a note.

#[derive(Serialize)]
struct Note {
    text: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
struct Sentence {
    sentence: String,
}

struct Describe;

impl Task for Describe {
    type Input = Note;
    type Output = Sentence;

    fn name(&self) -> &'static str {
        "test_describe"
    }

    fn prompt(&self, input: &Note) -> Prompt {
        Prompt {
            instructions: "Describe the note in one sentence.".into(),
            data: serde_json::to_string(input).unwrap_or_default(),
        }
    }

    fn extractive(&self, input: &Note) -> Sentence {
        Sentence {
            sentence: input.text.clone(),
        }
    }

    fn max_output_tokens(&self) -> u32 {
        60
    }
}

fn note(i: usize) -> Note {
    Note {
        text: format!(
            "Note {i}: the quarterly planning review moved to Thursday afternoon; bring the \
             capacity spreadsheet, the hiring plan and the list of risks for the payments \
             migration, and say which of them you own."
        ),
    }
}

fn local(base_url: &str) -> DeploymentConfig {
    DeploymentConfig {
        kind: DeploymentKind::Auto,
        json_mode: JsonMode::Auto,
        ..common::model::deployment(base_url)
    }
}

async fn calls(scratch: &ScratchDb) -> Vec<CallRecord> {
    chief::platform::db::llm::list_calls(&scratch.db, 0)
        .await
        .expect("accounting rows")
}

// ---------------------------------------------------------------------------------------------
// JSON mode: found, not configured.

#[tokio::test]
async fn a_server_that_refuses_json_schema_is_asked_more_simply_and_remembered() {
    let scratch = Backend::Sqlite.scratch().await;
    let llm = LocalLlm::builder()
        .response_formats(&["text", "json_object"])
        .start()
        .await
        .unwrap();
    let gateway = Gateway::with_settings(
        scratch.db.clone(),
        vec![local(&llm.base_url())],
        Settings::default(),
    );
    let options = CallOptions::background("T1");
    let first = gateway.run(&Describe, &note(1), &options).await.unwrap();
    assert!(matches!(first.source, Source::Model { .. }));
    let trail: Vec<String> = first.trail.iter().map(|a| a.label()).collect();
    assert_eq!(trail, ["primary:500", "primary:ok"], "stepped down at once");
    let second = gateway.run(&Describe, &note(2), &options).await.unwrap();
    assert_eq!(second.attempts, 1, "the mode found is remembered");
    let kinds: Vec<String> = llm
        .requests()
        .iter()
        .map(|r| r.body["response_format"]["type"].to_string())
        .collect();
    assert_eq!(
        kinds,
        [r#""json_schema""#, r#""json_object""#, r#""json_object""#]
    );
    assert!(
        llm.requests()[1].schema().is_some(),
        "json_object with the schema"
    );
    // A configured mode is an override: never stepped down.
    let fixed = Gateway::with_settings(
        scratch.db.clone(),
        vec![DeploymentConfig {
            json_mode: JsonMode::JsonSchema,
            ..local(&llm.base_url())
        }],
        Settings {
            max_retries: 0,
            ..Settings::default()
        },
    );
    assert!(fixed.run(&Describe, &note(3), &options).await.is_err());
}

// ---------------------------------------------------------------------------------------------
// Bounded requests.

#[tokio::test]
async fn every_request_carries_the_tasks_max_tokens_and_an_abandoned_one_is_hung_up() {
    let scratch = Backend::Sqlite.scratch().await;
    let llm = LocalLlm::builder()
        .latency(Duration::from_secs(3))
        .start()
        .await
        .unwrap();
    let gateway = Gateway::with_settings(
        scratch.db.clone(),
        vec![local(&llm.base_url())],
        Settings {
            timeout: Duration::from_millis(300),
            deadline: Duration::from_millis(900),
            retry_base: Duration::from_millis(10),
            ..Settings::default()
        },
    );
    let answer = gateway
        .run_or_extractive(&Describe, &note(1), &CallOptions::background("T1"))
        .await;
    assert!(matches!(answer.source, Source::Extractive { .. }));
    for request in llm.requests() {
        assert_eq!(request.body["max_tokens"], 60, "the task's need");
    }
    // The server saw the connection close, not a request it keeps working for.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while llm.counters().abandoned == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(llm.counters().abandoned >= 1, "{:?}", llm.counters());
}

// ---------------------------------------------------------------------------------------------
// Tokens per minute, as the tokenizer counts them.

#[tokio::test]
async fn a_tpm_limited_deployment_never_sends_more_than_its_limit_in_any_window() {
    const LIMIT: u32 = 1_200;
    let window = Duration::from_secs(2);
    let scratch = Backend::Sqlite.scratch().await;
    let llm = LocalLlm::builder()
        .count_tokens_as("gpt-4o-mini")
        .tpm(u64::from(LIMIT))
        .tpm_window(window)
        .responder(|_| Reply::json(json!({"sentence": "The planning review moved to Thursday."})))
        .start()
        .await
        .unwrap();
    let gateway = Gateway::with_settings(
        scratch.db.clone(),
        vec![DeploymentConfig {
            model: "gpt-4o-mini".into(),
            tpm: LIMIT,
            kind: DeploymentKind::Hosted,
            ..common::model::deployment(&llm.base_url())
        }],
        Settings {
            quota_period: window,
            background_wait: Duration::from_secs(30),
            deadline: Duration::from_secs(60),
            ..Settings::default()
        },
    );
    let calls_made = futures::future::join_all((0..16).map(|i| {
        let gateway = gateway.clone();
        async move {
            gateway
                .run(&Describe, &note(i), &CallOptions::background("T1"))
                .await
        }
    }))
    .await;
    for call in &calls_made {
        assert!(call.is_ok(), "{call:?}");
    }
    let counters = llm.counters();
    assert_eq!(counters.rejected, 0, "never a 429: {counters:?}");
    assert_eq!(counters.answered, 16);
    let most = llm.max_tokens_in_window(window);
    assert!(most <= u64::from(LIMIT), "{most} tokens in one window");
    // Busy enough that the limit mattered.
    assert!(
        counters.prompt_tokens + counters.completion_tokens > 2 * u64::from(LIMIT),
        "{counters:?}"
    );
    // Accounting holds the provider's counts, which match the tokenizer's.
    let rows = calls(&scratch).await;
    let prompt: i64 = rows.iter().map(|r| r.prompt_tokens).sum();
    assert_eq!(prompt as u64, counters.prompt_tokens);
}

// ---------------------------------------------------------------------------------------------
// A slow deployment: text readers see goes first, shared work yields.

#[tokio::test]
async fn on_a_slow_one_slot_model_shared_work_goes_extractive_and_reader_text_is_written() {
    use chief::ai::llm::FallbackReason;
    let scratch = Backend::Sqlite.scratch().await;
    let llm = LocalLlm::builder()
        .serial()
        .latency(Duration::from_millis(1500))
        .responder(|_| Reply::json(json!({"sentence": "The planning review moved to Thursday."})))
        .start()
        .await
        .unwrap();
    let gateway = Gateway::with_settings(
        scratch.db.clone(),
        vec![local(&llm.base_url())],
        Settings {
            interactive_wait: Duration::from_secs(2),
            ..Settings::default()
        },
    );
    let shared = CallOptions::interactive("T1", Some("U1"));
    // One answer teaches the gateway how long this model takes.
    gateway.run(&Describe, &note(0), &shared).await.unwrap();
    // Four shared calls, then the reader's text, all at once.
    let mut calls = Vec::new();
    for i in 1..=5 {
        let gateway = gateway.clone();
        let options = if i == 5 {
            shared.clone().reader_facing()
        } else {
            shared.clone()
        };
        calls.push(tokio::spawn(async move {
            gateway
                .run_or_extractive(&Describe, &note(i), &options)
                .await
        }));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap());
    }
    let reader = answers.pop().unwrap();
    assert!(
        matches!(reader.source, Source::Model { .. }),
        "{:?}",
        reader.source
    );
    let busy = answers
        .iter()
        .filter(|a| {
            a.source
                == Source::Extractive {
                    reason: FallbackReason::Busy,
                }
        })
        .count();
    assert!(
        busy >= 2,
        "{:?}",
        answers.iter().map(|a| &a.source).collect::<Vec<_>>()
    );
    // Answered at once, not after waiting in vain.
    for a in &answers {
        if a.source
            == (Source::Extractive {
                reason: FallbackReason::Busy,
            })
        {
            assert!(a.latency < Duration::from_millis(500), "{:?}", a.latency);
        }
    }
    // `chief usage` says which ran where, and why.
    let rows = chief::ai::llm::accounting::usage_report(&scratch.db, 1)
        .await
        .unwrap();
    let table = chief::ai::llm::accounting::usage_table(&rows);
    assert!(table.contains(&format!("busy {busy}")), "{table}");
    assert_eq!(rows[0].model as usize, 6 - busy, "{table}");
}

// ---------------------------------------------------------------------------------------------
// chief serve against a one-slot model.

/// `/chief briefing` and an explanation at once; returns when both reached Slack.
async fn briefing_and_explanation(app: &TestApp, wait: Duration) -> (String, String) {
    let seeded = seed(&app.ctx.db).await;
    let trigger = "t-local-brief";
    let fields = command_fields(
        "briefing",
        READER,
        trigger,
        &app.slack.response_url(trigger),
    );
    assert_eq!(app.post_command(&fields).await.status(), 200);
    let click = "t-local-click";
    let payload = shortcut_payload(
        &seeded.clicked,
        READER,
        click,
        &app.slack.response_url(click),
    );
    assert_eq!(app.post_interaction(&payload).await.status(), 200);
    let explained = app.slack.wait_for("views.update", 1, wait).await;
    assert_eq!(explained.len(), 1, "the explanation arrived");
    let dm = app.slack.wait_for("chat.postMessage", 1, wait).await;
    assert_eq!(dm.len(), 1, "the briefing arrived");
    (
        explained[0].json_param("view").unwrap().to_string(),
        common::briefing::dm_text(&dm[0]),
    )
}

/// Steps of the latest run of `kind` that a model answered.
async fn model_steps(app: &TestApp, kind: &str) -> Vec<String> {
    use chief::platform::db::runs;
    let listed = runs::list(
        &app.ctx.db,
        &runs::RunFilter {
            kind: Some(kind.into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let run = listed.first().unwrap_or_else(|| panic!("a {kind} run"));
    runs::steps(&app.ctx.db, run.run.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.source.as_deref() == Some("model"))
        .map(|s| s.name)
        .collect()
}

fn no_timeouts(rows: &[CallRecord]) {
    for row in rows {
        assert!(
            !row.trail.contains("timeout") && row.fallback_reason.as_deref() != Some("deadline"),
            "{row:?}"
        );
    }
}

#[tokio::test]
async fn a_one_slot_model_at_two_seconds_an_answer_writes_the_briefing_and_the_explanation() {
    let llm = LocalLlm::builder()
        .serial()
        .latency(Duration::from_secs(2))
        .responder(valid_json_responder)
        .start()
        .await
        .unwrap();
    let app = spawn_app_with_model(Backend::Sqlite, llm, |config: &mut Config| {
        let url = config.llm.deployments[0].base_url.clone();
        // A laptop model, found as such from its loopback address: one request at a time.
        config.llm.deployments = vec![local(&url)];
        // Shorter than three answers: without chief's queue, requests piled up in the server
        // would time out there.
        config.llm.timeout_secs = Some(5);
    })
    .await;
    let started = std::time::Instant::now();
    briefing_and_explanation(&app, Duration::from_secs(120)).await;
    let took = started.elapsed();
    let counters = app.llm().counters();
    assert_eq!(counters.max_in_flight, 1, "one at a time: {counters:?}");
    assert_eq!(counters.abandoned, 0, "{counters:?}");
    no_timeouts(&calls(&app.scratch).await);
    let explain = model_steps(&app, "explain").await;
    assert!(explain.contains(&"explain".to_string()), "{explain:?}");
    let briefing = model_steps(&app, "briefing").await;
    assert!(briefing.contains(&"generate".to_string()), "{briefing:?}");
    // The queue is visible to operators.
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "chief_llm_queue_depth",
        "chief_llm_in_flight",
        "chief_llm_queue_wait_seconds",
    ] {
        assert!(metrics.contains(name), "{name} in /metrics");
    }
    println!(
        "{} model requests in {took:?}; briefing steps by the model: {briefing:?}",
        counters.calls
    );
    let usage = chief::ai::llm::accounting::usage_table(
        &chief::ai::llm::accounting::usage_report(&app.ctx.db, 1)
            .await
            .unwrap(),
    );
    println!("{usage}");
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// A real model: llama-cpp-python's server with SmolLM2-135M (CI installs both: .ci/local-model).

/// The server's python and model: `CHIEF_TEST_LLAMA_PYTHON` / `CHIEF_TEST_LLAMA_MODEL`, or where
/// `.ci/local-model` puts them.
fn llama_paths() -> (std::path::PathBuf, std::path::PathBuf) {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".cache/llm");
    let python = std::env::var("CHIEF_TEST_LLAMA_PYTHON")
        .map(Into::into)
        .unwrap_or_else(|_| root.join("venv/bin/python"));
    let model = std::env::var("CHIEF_TEST_LLAMA_MODEL")
        .map(Into::into)
        .unwrap_or_else(|_| root.join("model/SmolLM2-135M-Instruct.Q4_1.gguf"));
    for path in [&python, &model] {
        assert!(
            path.exists(),
            "{} is missing: run .ci/local-model (it installs llama-cpp-python and SmolLM2)",
            path.display()
        );
    }
    (python, model)
}

/// llama-cpp-python's OpenAI-compatible server on a free port, killed when dropped.
struct LlamaServer {
    child: tokio::process::Child,
    base_url: String,
}

impl LlamaServer {
    async fn start() -> Self {
        common::init();
        let (python, model) = llama_paths();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        // One thread unless told otherwise: on a CI machine shared with builds and other tests,
        // llama.cpp's spinning OpenMP threads are preempted and a 2-thread server is several
        // times slower than a 1-thread one (measured here: 18 vs 300 prompt tokens/s).
        let threads = std::env::var("CHIEF_TEST_LLAMA_THREADS").unwrap_or_else(|_| "1".into());
        let log = std::fs::File::create(std::env::temp_dir().join(format!("llama-{port}.log")))
            .expect("a log file");
        let child = tokio::process::Command::new(python)
            .args(["-m", "llama_cpp.server", "--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .arg("--model")
            .arg(model)
            .args(["--n_ctx", "8192", "--n_threads", &threads])
            .args(["--n_threads_batch", &threads])
            .stdout(log.try_clone().expect("a log file"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("llama-cpp-python starts");
        let base_url = format!("http://127.0.0.1:{port}/v1");
        let http = reqwest::Client::new();
        let ready = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = http.get(format!("{base_url}/models")).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(
                std::time::Instant::now() < ready,
                "llama server not ready in 120 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        LlamaServer { child, base_url }
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_local_model_finds_its_json_mode_and_writes_a_step() {
    let server = LlamaServer::start().await;
    let url = server.base_url.clone();
    let dummy = LocalLlm::start().await.unwrap();
    let app = spawn_app_with_model(Backend::Sqlite, dummy, |config: &mut Config| {
        // As a user would set it up: a URL and a model name, nothing about JSON or concurrency.
        config.llm.deployments = vec![DeploymentConfig {
            name: "laptop".into(),
            model: "SmolLM2-135M-Instruct".into(),
            api_key: None,
            ..local(&url)
        }];
        // What README's "Using a local model" suggests for a small CPU: a request may take a
        // minute there, and a reader-facing one may wait for one in flight.
        config.llm.timeout_secs = Some(300);
        config.llm.deadline_secs = Some(900);
        config.llm.interactive_wait_secs = Some(120);
        config.llm.background_wait_secs = Some(120);
    })
    .await;
    let (explanation, dm) = briefing_and_explanation(&app, Duration::from_secs(900)).await;
    let rows = calls(&app.scratch).await;
    no_timeouts(&rows);
    for row in &rows {
        println!(
            "{:<22} {:<9} {:<14} {}",
            row.task,
            row.outcome,
            row.fallback_reason.as_deref().unwrap_or("-"),
            row.trail
        );
    }
    assert!(
        rows.iter()
            .any(|r| r.trail.starts_with("laptop:500 ") || r.trail.contains(" laptop:500 ")),
        "json_schema was refused once and the mode stepped down"
    );
    let mut by_model = model_steps(&app, "briefing").await;
    by_model.extend(model_steps(&app, "explain").await);
    assert!(
        !by_model.is_empty(),
        "at least one step was answered by the model: {rows:#?}"
    );
    println!("steps by the model: {by_model:?}\n{explanation}\n{dm}");
    app.stop().await;
    drop(server);
}
