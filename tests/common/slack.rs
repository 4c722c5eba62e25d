//! What the fake Slack (`chief::testkit::fake_slack`) answers about the workspace, and events
//! delivered the way the edge stores them, then handled by the inbox worker.

use chief::features::context::Context;
use chief::platform::db::inbox::{self, Counts};
use chief::slack::envelope::{self, Envelope};
use chief::testkit::fake_slack::{FakeSlack, Reply};
use serde_json::{Value, json};

/// Makes the fake Slack know every user and channel it is asked about (users in Europe/Paris,
/// public channels named `chan-<id>` with chief in them), with `members` in every channel.
/// Like Slack, `users.info` says the user's locale (`en-GB`) only when asked `include_locale`.
pub fn knows_everyone(slack: &FakeSlack, members: &[&str]) {
    slack.respond_with("users.info", |call| {
        let id = call.param("user").unwrap_or_default();
        let mut user = json!({"id": id, "name": id.to_lowercase(),
            "real_name": format!("Real {id}"), "tz": "Europe/Paris", "tz_offset": 3600});
        if call.param("include_locale").as_deref() == Some("true") {
            user["locale"] = json!("en-GB");
        }
        Reply::ok(json!({ "user": user }))
    });
    slack.respond_with("conversations.info", |call| {
        let id = call.param("channel").unwrap_or_default();
        Reply::ok(
            json!({"channel": {"id": id, "name": format!("chan-{}", id.to_lowercase()),
            "is_channel": true, "is_private": false, "is_member": true}}),
        )
    });
    let members: Vec<String> = members.iter().map(|m| m.to_string()).collect();
    slack.respond_with("conversations.members", move |_| {
        Reply::ok(json!({"members": members, "response_metadata": {"next_cursor": ""}}))
    });
}

/// Stores an `event_callback` envelope as the edge would, under a fresh event id (fixtures reuse
/// theirs, which the inbox would rightly collapse), and lets the worker handle what is pending.
/// Returns the inbox counts afterwards.
pub async fn store_and_drain(ctx: &Context, envelope: &Value) -> Counts {
    let mut envelope = envelope.clone();
    envelope["event_id"] = json!(format!("Ev{}", uuid::Uuid::new_v4().simple()));
    let body = serde_json::to_vec(&envelope).expect("serialisable");
    match envelope::parse_event(&body).expect("a Slack envelope") {
        Envelope::EventCallback(inbound) => {
            chief::inbox::intake::Intake::new(ctx)
                .accept(&inbound)
                .await
                .expect("stored");
        }
        other => panic!("not an event callback: {other:?}"),
    }
    while chief::inbox::worker::drain_once(ctx)
        .await
        .expect("the worker runs")
        > 0
    {}
    inbox::counts(&ctx.db).await.expect("counts")
}

/// [`store_and_drain`], then checks that every request was handled and none parked.
pub async fn deliver(ctx: &Context, envelope: &Value) {
    let counts = store_and_drain(ctx, envelope).await;
    assert_eq!(
        (counts.pending, counts.dead),
        (0, 0),
        "every request handled, none parked"
    );
}

/// A `message` event in a public channel, wrapped in its envelope.
pub fn message_event(team: &str, channel: &str, user: &str, ts: &str, text: &str) -> Value {
    json!({"type": "event_callback", "team_id": team,
        "event": {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
                  "channel_type": "channel"}})
}

/// A fake Slack started with [`knows_everyone`]'s answers.
pub async fn slack_knowing_everyone(members: &[&str]) -> FakeSlack {
    let slack = FakeSlack::start().await.expect("fake Slack starts");
    knows_everyone(&slack, members);
    slack
}

/// A recent Slack ts (`minutes_ago` minutes before now), unique by `seq`.
pub fn recent_ts(minutes_ago: i64, seq: u32) -> String {
    format!("{}.{seq:06}", chief::platform::db::now() - minutes_ago * 60)
}

/// One page of `conversations.history` / `conversations.replies`, `next` the cursor ("" at the end).
pub fn history_page(messages: Vec<Value>, next: &str) -> Reply {
    Reply::ok(json!({"messages": messages, "has_more": !next.is_empty(),
        "response_metadata": {"next_cursor": next}}))
}
