//! Click-to-context through the real HTTP edge: a real `message_action` payload, signed, against
//! the fake Slack Web API.

#[macro_use]
mod common;

use std::time::Duration;

use chief::testkit::fake_slack::RecordedCall;
use common::explain::*;
use common::{Backend, TestApp, spawn_app};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

/// Every text of a view (all blocks, as JSON text).
fn view_text(call: &RecordedCall) -> String {
    call.json_param("view")
        .map(|v| v.to_string())
        .unwrap_or_default()
}

async fn click(app: &TestApp, ts: &str, user: &str, trigger: &str) {
    let payload = shortcut_payload(ts, user, trigger, &app.slack.response_url(trigger));
    let res = app.post_interaction(&payload).await;
    assert_eq!(res.status(), 200, "the click is acknowledged");
}

/// The explanation of the clicked message: what is in it, and what is not.
async fn the_shortcut_explains_the_conversation_around_the_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let seeded = seed(&app.ctx.db).await;
    let before = app.slack.all_calls().len();

    click(&app, &seeded.clicked, READER, "trigger-explain-1").await;
    let updates = app.slack.wait_for("views.update", 1, WAIT).await;
    assert_eq!(updates.len(), 1, "the modal is filled once");

    // views.open came first, with the click's trigger, before any other Slack call.
    let calls: Vec<RecordedCall> = app.slack.all_calls().split_off(before);
    assert_eq!(
        calls[0].method,
        "views.open",
        "calls: {:?}",
        methods(&calls)
    );
    assert_eq!(
        calls[0].param("trigger_id").as_deref(),
        Some("trigger-explain-1")
    );
    let loading = view_text(&calls[0]);
    assert!(loading.contains("Reading the conversation"), "{loading}");
    let opened_id = calls[0]
        .json_param("view")
        .and_then(|v| v.get("private_metadata").cloned());
    assert!(opened_id.is_some());

    // The update targets the opened view and carries the explanation.
    let update = &updates[0];
    assert!(
        update
            .param("view_id")
            .is_some_and(|id| id.starts_with('V'))
    );
    let text = view_text(update);
    assert!(text.contains("#platform"), "{text}");
    // From the thread (the replies and the clicked message) …
    assert!(text.contains("Thursday"), "{text}");
    // … and from the neighbours within the hour (quoted, or linked as key messages).
    let neighbour_linked = seeded
        .neighbours
        .iter()
        .any(|ts| text.contains(&ts.replace('.', "")));
    assert!(text.contains("finance"), "a neighbour is used: {text}");
    assert!(neighbour_linked, "a neighbour is linked: {text}");
    // Nothing from other channels or outside the hour.
    for decoy in DECOYS {
        assert!(!text.contains(decoy), "decoy {decoy} leaked: {text}");
    }
    for ts in &seeded.decoys {
        assert!(!text.contains(&ts.replace('.', "")), "decoy {ts} linked");
    }
    assert!(!text.contains(OTHER_CHANNEL) && !text.contains(SECRET_CHANNEL));
    // The view Slack receives is valid Block Kit.
    let view: slack_morphism::prelude::SlackView =
        serde_json::from_value(update.json_param("view").unwrap()).expect("a valid modal");
    assert!(matches!(view, slack_morphism::prelude::SlackView::Modal(_)));

    // Recorded as a durable run with its steps.
    let runs = chief::platform::db::runs::list(
        &app.ctx.db,
        &chief::platform::db::runs::RunFilter {
            kind: Some("explain".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .expect("runs");
    assert_eq!(runs.len(), 1);
    let steps = chief::platform::db::runs::steps(&app.ctx.db, runs[0].run.id)
        .await
        .expect("steps");
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["gather", "explain", "guardrail"]);
    assert_eq!(app.drained(WAIT).await.dead, 0);
    app.stop().await;
}

fn methods(calls: &[RecordedCall]) -> Vec<&str> {
    calls.iter().map(|c| c.method.as_str()).collect()
}

on_both_backends!(backend: the_shortcut_explains_the_conversation_around_the_message);

/// Someone who is not in the channel gets one polite sentence and nothing of the conversation.
#[tokio::test]
async fn a_non_member_gets_a_polite_refusal() {
    let app = spawn_app(Backend::Sqlite).await;
    let seeded = seed(&app.ctx.db).await;
    click(&app, &seeded.clicked, OUTSIDER, "trigger-outsider").await;
    let updates = app.slack.wait_for("views.update", 1, WAIT).await;
    assert_eq!(updates.len(), 1);
    let text = view_text(&updates[0]);
    assert!(
        text.contains("You're not in #platform, so I can't explain this conversation."),
        "{text}"
    );
    for word in ["Thursday", "ledger", "payments", "finance"] {
        assert!(!text.contains(word), "{word} leaked: {text}");
    }
    assert!(
        !text.contains("explain_retry"),
        "a refusal offers no retry: {text}"
    );
    assert!(
        app.slack.calls("conversations.history").is_empty(),
        "nothing is fetched for a non-member"
    );
    app.stop().await;
}

/// The store lacks the conversation: it is fetched from Slack with the ±1 h window, stored, and
/// explained.
#[tokio::test]
async fn missing_context_is_fetched_from_slack_with_the_one_hour_window() {
    let app = spawn_app(Backend::Sqlite).await;
    seed_directory(&app.ctx.db).await;
    let t0 = chief::platform::db::now() - 5 * 3600;
    let clicked = ts(t0);
    let history = serde_json::json!([
        {"type": "message", "user": ALICE, "ts": ts(t0 + 900),
         "text": "The search reindex for the catalog service finishes tonight."},
        {"type": "message", "user": ALICE, "ts": clicked, "thread_ts": clicked, "reply_count": 1,
         "text": "Can someone review the catalog reindex plan today?"},
        {"type": "message", "user": BOB, "ts": ts(t0 - 600),
         "text": "The catalog reindex dry run looked fine."},
    ]);
    let replies = serde_json::json!([
        {"type": "message", "user": ALICE, "ts": clicked, "thread_ts": clicked, "reply_count": 1,
         "text": "Can someone review the catalog reindex plan today?"},
        {"type": "message", "user": BOB, "ts": ts(t0 + 120), "thread_ts": clicked,
         "text": "I will review the catalog reindex plan after lunch."},
    ]);
    app.slack.respond_with("conversations.history", move |_| {
        chief::testkit::fake_slack::Reply::ok(serde_json::json!({
            "messages": history, "has_more": false, "response_metadata": {"next_cursor": ""}
        }))
    });
    app.slack.respond_with("conversations.replies", move |_| {
        chief::testkit::fake_slack::Reply::ok(serde_json::json!({
            "messages": replies, "has_more": false, "response_metadata": {"next_cursor": ""}
        }))
    });

    click(&app, &clicked, READER, "trigger-fetch").await;
    let updates = app.slack.wait_for("views.update", 1, WAIT).await;
    assert_eq!(updates.len(), 1);

    let history_calls = app.slack.calls("conversations.history");
    assert_eq!(history_calls.len(), 1);
    let h = &history_calls[0];
    assert_eq!(h.param("channel").as_deref(), Some(CHANNEL));
    assert_eq!(
        h.param("oldest").as_deref(),
        Some(format!("{}.000000", t0 - 3600).as_str())
    );
    assert_eq!(
        h.param("latest").as_deref(),
        Some(format!("{}.999999", t0 + 3600).as_str())
    );
    assert_eq!(h.param("inclusive").as_deref(), Some("true"));
    let r = app.slack.calls("conversations.replies");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].param("ts").as_deref(), Some(clicked.as_str()));
    // The first call was still views.open.
    let all = app.slack.all_calls();
    assert_eq!(all[0].method, "views.open", "calls: {:?}", methods(&all));

    // What was fetched is stored (through ingestion's upsert) and explained.
    assert!(
        chief::platform::db::messages::get(&app.ctx.db, TEAM, CHANNEL, &ts(t0 + 120))
            .await
            .unwrap()
            .is_some(),
        "the fetched reply is stored"
    );
    let text = view_text(&updates[0]);
    assert!(text.contains("review"), "{text}");
    assert!(text.contains("catalog"), "{text}");
    app.stop().await;
}

/// When the modal cannot be opened (the trigger expired), the answer goes to the response URL.
#[tokio::test]
async fn an_expired_trigger_gets_an_ephemeral_answer() {
    let app = spawn_app(Backend::Sqlite).await;
    let seeded = seed(&app.ctx.db).await;
    app.slack.script(
        "views.open",
        [chief::testkit::fake_slack::Reply::Error(
            "expired_trigger_id".into(),
        )],
    );
    click(&app, &seeded.clicked, READER, "trigger-expired").await;
    let posted = app.slack.wait_for("response_url", 1, WAIT).await;
    assert_eq!(posted.len(), 1);
    let body = posted[0].params.to_string();
    assert!(body.contains("ephemeral"), "{body}");
    assert!(body.contains("Thursday"), "{body}");
    assert!(app.slack.calls("views.update").is_empty());
    app.stop().await;
}

/// Slack failing while the context is fetched: one sentence and "Try again", which works.
#[tokio::test]
async fn failures_say_so_and_try_again_works() {
    let app = spawn_app(Backend::Sqlite).await;
    seed_directory(&app.ctx.db).await;
    let t0 = chief::platform::db::now() - 4 * 3600;
    app.slack.script(
        "conversations.history",
        std::iter::repeat_n(
            chief::testkit::fake_slack::Reply::Raw {
                status: 500,
                body: "oops".into(),
            },
            10,
        ),
    );
    click(&app, &ts(t0), READER, "trigger-fails").await;
    let updates = app.slack.wait_for("views.update", 1, WAIT).await;
    assert_eq!(updates.len(), 1);
    let view = updates[0].json_param("view").unwrap();
    let text = view.to_string();
    assert!(text.contains("Slack didn't let me read"), "{text}");
    assert!(text.contains("Try again") && text.contains("explain_retry"));
    assert!(
        !text.contains("500") && !text.contains("oops"),
        "no error dump"
    );

    // "Try again" from inside the modal: the modal is refreshed in place.
    let retry_value = view
        .pointer("/blocks/1/elements/0/value")
        .and_then(Value::as_str)
        .expect("the button's value")
        .to_string();
    let view_id = updates[0].param("view_id").unwrap();
    let click = serde_json::json!({
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "aseriousbiz"},
        "user": {"id": READER, "team_id": TEAM},
        "trigger_id": "trigger-retry",
        "container": {"type": "view", "view_id": view_id},
        "view": {"id": view_id, "hash": "h1", "type": "modal"},
        "actions": [{"action_id": "explain_retry", "type": "button", "value": retry_value}]
    });
    let res = app.post_interaction(&click.to_string()).await;
    assert_eq!(res.status(), 200);
    let updates = app.slack.wait_for("views.update", 3, WAIT).await;
    assert!(updates.len() >= 3, "loading, then the new answer");
    let last = view_text(updates.last().unwrap());
    assert!(
        last.contains("explain_retry"),
        "Slack still fails, still retryable: {last}"
    );
    app.stop().await;
}

/// A click is claimed by the interactive lane even behind a backlog of events.
async fn clicks_are_claimed_ahead_of_queued_events(backend: Backend) {
    use chief::platform::db::inbox::{self, Lane, NewItem, Source};
    let scratch = backend.scratch().await;
    let db = &scratch.db;
    for i in 0..100 {
        let key = format!("event:Ev{i}");
        inbox::insert(
            db,
            &NewItem {
                dedupe_key: &key,
                source: Source::Event,
                team_id: Some(TEAM),
                kind: "message",
                payload: "{}",
            },
        )
        .await
        .unwrap();
    }
    inbox::insert(
        db,
        &NewItem {
            dedupe_key: "interaction:click",
            source: Source::Interaction,
            team_id: Some(TEAM),
            kind: "message_action",
            payload: "{}",
        },
    )
    .await
    .unwrap();
    let claimed = inbox::claim_lane(db, "worker", Lane::Interactive, 32, 30)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].kind, "message_action");
    let events = inbox::claim_lane(db, "worker", Lane::Events, 200, 30)
        .await
        .unwrap();
    assert_eq!(events.len(), 100);
    assert!(events.iter().all(|i| i.kind == "message"));
}

on_both_backends!(backend: clicks_are_claimed_ahead_of_queued_events);

/// A failure shown ephemerally (no modal could be opened) offers "Try again"; clicking it opens a
/// new modal with the button's trigger and explains.
#[tokio::test]
async fn try_again_from_an_ephemeral_message_opens_a_modal() {
    use chief::testkit::fake_slack::Reply;
    let app = spawn_app(Backend::Sqlite).await;
    seed_directory(&app.ctx.db).await;
    let t0 = chief::platform::db::now() - 6 * 3600;
    app.slack
        .script("views.open", [Reply::Error("expired_trigger_id".into())]);
    // Slack fails twice (the step's two attempts), then answers.
    app.slack.script(
        "conversations.history",
        std::iter::repeat_n(
            Reply::Raw {
                status: 503,
                body: "unavailable".into(),
            },
            2,
        ),
    );
    let history = serde_json::json!([
        {"type": "message", "user": ALICE, "ts": ts(t0),
         "text": "Who can review the billing export change before Friday?"},
    ]);
    app.slack.respond_with("conversations.history", move |_| {
        Reply::ok(serde_json::json!({"messages": history, "has_more": false}))
    });
    click(&app, &ts(t0), READER, "trigger-late").await;
    let posted = app.slack.wait_for("response_url", 1, WAIT).await;
    assert_eq!(posted.len(), 1);
    let blocks = posted[0].json_param("blocks").expect("blocks");
    let retry_value = blocks
        .pointer("/1/elements/0/value")
        .and_then(Value::as_str)
        .expect("a Try again button")
        .to_string();
    assert!(posted[0].params.to_string().contains("Try again"));

    let click = serde_json::json!({
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": READER, "team_id": TEAM},
        "trigger_id": "trigger-retry-2",
        "response_url": app.slack.response_url("retry"),
        "container": {"type": "message", "channel_id": CHANNEL, "message_ts": "1.2", "is_ephemeral": true},
        "channel": {"id": CHANNEL},
        "actions": [{"action_id": "explain_retry", "type": "button", "value": retry_value}]
    });
    assert_eq!(app.post_interaction(&click.to_string()).await.status(), 200);
    let updates = app.slack.wait_for("views.update", 1, WAIT).await;
    assert_eq!(updates.len(), 1);
    let opened = app.slack.calls("views.open");
    assert_eq!(
        opened.last().unwrap().param("trigger_id").as_deref(),
        Some("trigger-retry-2")
    );
    let text = view_text(&updates[0]);
    assert!(text.contains("billing export"), "{text}");
    app.stop().await;
}

/// The explanation is framed in the reader's language (their Slack locale).
#[tokio::test]
async fn the_reader_gets_their_language() {
    let app = spawn_app(Backend::Sqlite).await;
    let seeded = seed(&app.ctx.db).await;
    chief::platform::db::directory::upsert_user(
        app.ctx.db.pool(),
        TEAM,
        &chief::model::events::User {
            user_id: READER.into(),
            name: Some("dana".into()),
            display_name: Some("dana".into()),
            locale: Some("fr-FR".into()),
            ..Default::default()
        },
        2,
    )
    .await
    .unwrap();
    click(&app, &seeded.clicked, READER, "trigger-fr").await;
    let updates = app.slack.wait_for("views.update", 1, WAIT).await;
    let text = view_text(&updates[0]);
    assert!(
        text.contains("Qui demande quoi") || text.contains("Pour vous"),
        "{text}"
    );
    app.stop().await;
}

/// A message in a direct conversation: chief never reads those, and says so.
#[tokio::test]
async fn direct_messages_are_not_explained() {
    let app = spawn_app(Backend::Sqlite).await;
    seed_directory(&app.ctx.db).await;
    let mut payload: Value = serde_json::from_str(&shortcut_payload(
        &ts(chief::platform::db::now() - 100),
        READER,
        "trigger-dm",
        &app.slack.response_url("dm"),
    ))
    .unwrap();
    payload["channel"]["id"] = Value::String("D0LAN2Q65".into());
    assert_eq!(
        app.post_interaction(&payload.to_string()).await.status(),
        200
    );
    let updates = app.slack.wait_for("views.update", 1, WAIT).await;
    let text = view_text(&updates[0]);
    assert!(text.contains("I don't read direct messages"), "{text}");
    assert!(app.slack.calls("conversations.history").is_empty());
    app.stop().await;
}
