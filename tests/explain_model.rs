//! Click-to-context with a model (a local OpenAI-compatible server): the modal opens before the
//! model is asked, a guardrail failure is corrected once with the critique, and a second failure
//! falls back to the extractive explainer.

#[macro_use]
mod common;

use std::time::Duration;

use chief::testkit::model_server::{LocalLlm, Reply, SeenRequest};
use common::explain::*;
use common::{Backend, TestApp, spawn_app_with_model};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

fn data(request: &SeenRequest) -> Value {
    serde_json::from_str(request.data().expect("data markers")).expect("JSON data")
}

/// An explainer citing the clicked message; `about` is the sentence to check.
fn explainer(data: &Value, about: &str) -> Value {
    let clicked = data["clicked"]["id"].clone();
    let reply = data["thread"]
        .as_array()
        .and_then(|t| t.iter().find(|m| m["author"] == "dana"))
        .map(|m| m["id"].clone())
        .unwrap_or_else(|| clicked.clone());
    json!({
        "language": "en",
        "about": {"text": about, "sources": [clicked]},
        "outcome": [{"text": "In the thread, the cutover was agreed for Thursday.",
                     "sources": [reply]}],
        "asks": [{"text": "alice asks to move the payments migration cutover to Thursday.",
                  "sources": [clicked]}],
        "decisions": [],
        "open_questions": [],
        "for_you": [{"text": "You agreed to go with Thursday.", "sources": [reply]}],
        "key_messages": [clicked],
    })
}

const INVENTED: &str = "The payments migration cutover moves to Thursday, as Marcus wants.";
const CORRECTED: &str = "The team discusses moving the payments migration cutover to Thursday.";

async fn start(backend: Backend, second_answer_ok: bool) -> TestApp {
    let llm = LocalLlm::builder()
        .responder(move |request| {
            let data = data(request);
            let corrected = data.get("critique").is_some();
            let about = if corrected && second_answer_ok {
                CORRECTED
            } else {
                INVENTED
            };
            Reply::json(explainer(&data, about))
        })
        .start()
        .await
        .expect("local model server");
    spawn_app_with_model(backend, llm, |_| {}).await
}

async fn click(app: &TestApp, ts: &str, trigger: &str) -> String {
    let payload = shortcut_payload(ts, READER, trigger, &app.slack.response_url(trigger));
    assert_eq!(app.post_interaction(&payload).await.status(), 200);
    let updates = app.slack.wait_for("views.update", 1, WAIT).await;
    assert_eq!(updates.len(), 1);
    updates[0].json_param("view").unwrap().to_string()
}

async fn step_names(app: &TestApp) -> Vec<String> {
    let runs = chief::platform::db::runs::list(
        &app.ctx.db,
        &chief::platform::db::runs::RunFilter {
            kind: Some("explain".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    chief::platform::db::runs::steps(&app.ctx.db, runs[0].run.id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect()
}

async fn a_guardrail_failure_is_corrected_with_the_critique(backend: Backend) {
    let app = start(backend, true).await;
    let seeded = seed(&app.ctx.db).await;
    let text = click(&app, &seeded.clicked, "trigger-model-1").await;

    // The modal was open before the model was asked.
    let opened = app.slack.calls("views.open");
    assert_eq!(opened.len(), 1);
    let requests = app.llm().requests();
    assert_eq!(requests.len(), 2, "the answer, then one correction");
    assert!(opened[0].at <= requests[0].received);
    let first_slack = &app.slack.all_calls()[0];
    assert_eq!(first_slack.method, "views.open");

    // The model saw only the gathered conversation.
    let asked = requests[0].data().unwrap();
    assert!(asked.contains("Thursday") && asked.contains("finance"));
    for decoy in DECOYS {
        assert!(!asked.contains(decoy), "{decoy} sent to the model");
    }
    // The correction carried the critique, in the data.
    let critique = data(&requests[1])["critique"].as_str().unwrap().to_string();
    assert!(critique.contains("Marcus"), "{critique}");
    assert!(!requests[1].messages[0].content.contains("Marcus"));

    assert!(text.contains(CORRECTED), "{text}");
    assert!(!text.contains("Marcus"), "{text}");
    assert_eq!(
        step_names(&app).await,
        [
            "gather",
            "explain",
            "guardrail",
            "explain:corrected",
            "guardrail:corrected"
        ]
    );
    app.stop().await;
}

on_both_backends!(backend: a_guardrail_failure_is_corrected_with_the_critique);

#[tokio::test]
async fn a_second_failure_falls_back_to_the_extractive_explainer() {
    let app = start(Backend::Sqlite, false).await;
    let seeded = seed(&app.ctx.db).await;
    let text = click(&app, &seeded.clicked, "trigger-model-2").await;
    assert_eq!(app.llm().requests().len(), 2);
    assert!(!text.contains("Marcus"), "{text}");
    assert!(
        text.contains("Thursday"),
        "the extractive explainer: {text}"
    );
    assert_eq!(
        step_names(&app).await.last().map(String::as_str),
        Some("explain:extractive")
    );
    app.stop().await;
}

/// Opening a modal never waits for another click's explanation: with a model that takes seconds
/// to answer, every click's modal opens at once, and the explanations follow.
#[tokio::test]
async fn slow_explanations_do_not_hold_up_other_clicks_modals() {
    let llm = LocalLlm::builder()
        .latency(Duration::from_secs(3))
        .responder(|request| Reply::json(explainer(&data(request), CORRECTED)))
        .start()
        .await
        .expect("local model server");
    let app = spawn_app_with_model(Backend::Sqlite, llm, |_| {}).await;
    let seeded = seed(&app.ctx.db).await;
    for i in 0..3 {
        let trigger = format!("trigger-slow-{i}");
        let payload = shortcut_payload(
            &seeded.clicked,
            READER,
            &trigger,
            &app.slack.response_url(&trigger),
        );
        assert_eq!(app.post_interaction(&payload).await.status(), 200);
    }
    let opened = app
        .slack
        .wait_for("views.open", 3, Duration::from_millis(2500))
        .await;
    assert_eq!(
        opened.len(),
        3,
        "every modal opened within the trigger's life"
    );
    assert!(
        app.slack.calls("views.update").is_empty(),
        "while the first explanation was still with the model"
    );
    let filled = app.slack.wait_for("views.update", 3, WAIT).await;
    assert_eq!(filled.len(), 3);
    for update in &filled {
        let text = update.json_param("view").unwrap().to_string();
        assert!(text.contains(CORRECTED), "{text}");
    }
    app.stop().await;
}
