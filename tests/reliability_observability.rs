//! Observability: spans carry team, user and run ids and reach an OTLP collector over HTTP
//! (protobuf); `/metrics` lists intake, queue depth (inbox and jobs), runs, model calls, tokens,
//! guardrail outcomes and Slack API errors.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use chief::ai::llm::CallOptions;
use chief::ai::tasks::types::{ChannelInfo, ChatMessage};
use chief::ai::tasks::{Discussion, SummarizeDiscussion, Task};
use chief::platform::runs::{Run, StepMeta};
use chief::telemetry::OtlpSettings;
use chief::testkit::fake_slack;
use chief::testkit::model_server::{LocalLlm, Reply};
use common::{Backend, TestApp, spawn_app_with_model};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use serde_json::json;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// What the collector received: (content type, body) per request.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A tiny OTLP/HTTP collector on 127.0.0.1.
async fn collector() -> (String, Received) {
    let received: Received = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                let content_type = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                sink.lock().unwrap().push((content_type, body.to_vec()));
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/v1/traces"), received)
}

#[derive(Debug)]
struct SpanSeen {
    name: String,
    attributes: BTreeMap<String, String>,
}

fn decode(received: &Received) -> (Vec<SpanSeen>, Vec<String>) {
    let mut spans = Vec::new();
    let mut services = Vec::new();
    for (content_type, body) in received.lock().unwrap().iter() {
        assert_eq!(content_type, "application/x-protobuf");
        let request = ExportTraceServiceRequest::decode(body.as_slice()).expect("OTLP protobuf");
        for resource_spans in request.resource_spans {
            for attribute in resource_spans.resource.iter().flat_map(|r| &r.attributes) {
                if attribute.key == "service.name"
                    && let Some(AnyValue::StringValue(s)) =
                        attribute.value.as_ref().and_then(|v| v.value.clone())
                {
                    services.push(s);
                }
            }
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    let attributes = span
                        .attributes
                        .iter()
                        .map(|a| {
                            let value = match a.value.as_ref().and_then(|v| v.value.clone()) {
                                Some(AnyValue::StringValue(s)) => s,
                                Some(AnyValue::IntValue(i)) => i.to_string(),
                                Some(other) => format!("{other:?}"),
                                None => String::new(),
                            };
                            (a.key.clone(), value)
                        })
                        .collect();
                    spans.push(SpanSeen {
                        name: span.name,
                        attributes,
                    });
                }
            }
        }
    }
    (spans, services)
}

async fn app_with_model() -> TestApp {
    let llm = LocalLlm::start().await.unwrap();
    spawn_app_with_model(Backend::Sqlite, llm, |_| {}).await
}

/// A signed event, a durable run with a step, and a model call, in one process.
async fn exercise(app: &TestApp, llm: &LocalLlm) {
    let res = app
        .post_event(
            &json!({"type": "event_callback", "team_id": "T1", "event_id": "EvObs1",
            "event": {"type": "message", "channel": "C1", "user": "U1", "text": "ship it Friday",
                      "ts": "1700000000.000100", "channel_type": "channel"}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.drained(Duration::from_secs(10)).await.pending, 0);

    let run = Run::open(
        &app.ctx.db,
        &chief::platform::db::runs::NewRun {
            team_id: "T1",
            user_id: Some("U1"),
            kind: "observed",
            idempotency_key: "k1",
        },
    )
    .await
    .unwrap();
    let discussion = Discussion {
        channel: ChannelInfo {
            id: "C1".into(),
            name: "eng".into(),
        },
        messages: vec![ChatMessage {
            id: chief::model::domain::MessageRef {
                channel_id: "C1".into(),
                ts: "1700000000.000100".into(),
            },
            author: "Ann".into(),
            author_id: Some("U1".into()),
            text: "ship it Friday".into(),
            posted_at: 1_700_000_000,
        }],
        propositions: vec![],
        utc_offset_secs: 0,
    };
    let task = SummarizeDiscussion::default();
    let valid = serde_json::to_value(task.extractive(&discussion)).unwrap();
    llm.set_responder(move |_| Reply::json(valid.clone()));
    let span = run.span();
    async {
        run.step("summarize:C1", &discussion, |d| {
            let ctx = app.ctx.clone();
            async move {
                let answer = ctx
                    .llm
                    .run_or_extractive(
                        &SummarizeDiscussion::default(),
                        d,
                        &CallOptions::interactive("T1", Some("U1")),
                    )
                    .await;
                Ok::<_, chief::platform::runs::StepError>((
                    answer.output,
                    StepMeta::tokens(1, 1).verdict("pass"),
                ))
            }
        })
        .await
        .unwrap();
    }
    .instrument(span)
    .await;
    run.finish(chief::platform::runs::RunStatus::Succeeded)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_with_ids_reach_an_otlp_collector() {
    chief::init_process();
    let (endpoint, received) = collector().await;
    let provider = chief::telemetry::otlp_provider(&OtlpSettings {
        traces_endpoint: endpoint,
        service_name: "chief-test".into(),
    })
    .expect("an exporter");
    // The only subscriber of this test binary.
    tracing_subscriber::registry()
        .with(chief::telemetry::otlp_layer(&provider))
        .try_init()
        .expect("no other subscriber");

    let app = app_with_model().await;
    exercise(&app, app.llm()).await;
    app.stop().await;

    let flushing = provider.clone();
    tokio::task::spawn_blocking(move || flushing.force_flush())
        .await
        .unwrap()
        .expect("spans exported");
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.lock().unwrap().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (spans, services) = decode(&received);
    assert!(services.iter().all(|s| s == "chief-test") && !services.is_empty());
    let find = |name: &str, check: &dyn Fn(&BTreeMap<String, String>) -> bool| {
        spans.iter().any(|s| s.name == name && check(&s.attributes))
    };
    let has =
        |a: &BTreeMap<String, String>, k: &str, v: &str| a.get(k).map(String::as_str) == Some(v);
    assert!(
        find("request", &|a| has(a, "path", "/slack/events")
            && has(a, "team_id", "T1")
            && has(a, "user_id", "U1")),
        "the Slack request, with team and user: {spans:#?}"
    );
    assert!(find("inbox", &|a| has(a, "team_id", "T1")
        && a.contains_key("id")));
    assert!(find("run", &|a| a.contains_key("run_id")
        && has(a, "team_id", "T1")
        && has(a, "user_id", "U1")
        && has(a, "kind", "observed")));
    assert!(find("step", &|a| a.contains_key("run_id")
        && has(a, "team_id", "T1")
        && has(a, "user_id", "U1")));
    assert!(find("llm_call", &|a| has(a, "team_id", "T1")
        && has(a, "user_id", "U1")
        && has(a, "task", "summarize_discussion")));
    tokio::task::spawn_blocking(move || provider.shutdown())
        .await
        .unwrap()
        .ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_cover_intake_queues_runs_models_guardrails_and_slack_errors() {
    let app = app_with_model().await;
    app.slack.respond_with("users.info", |_| {
        fake_slack::Reply::Error("user_not_found".into())
    });
    exercise(&app, app.llm()).await;
    chief::platform::jobs::worker::refresh_metrics(&app.ctx).await;

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
        "chief_intake_accepted_total",
        "chief_inbox_pending",
        "chief_inbox_handled_total",
        "chief_jobs_queue_depth",
        "chief_runs_started_total",
        "chief_run_steps_total",
        "chief_runs_finished_total",
        "chief_llm_calls_total",
        "chief_llm_tokens_total",
        "chief_llm_requests_total",
        "chief_guardrail_outcomes_total{outcome=\"pass\"}",
        "chief_slack_api_errors_total{kind=\"api\"}",
    ] {
        assert!(
            metrics.contains(name),
            "{name} missing from /metrics:\n{metrics}"
        );
    }
    app.stop().await;
}
