//! The propositions agent: new messages become short statements linked to their messages; an edit
//! replaces them, a deletion removes them.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::Duration;

use chief::features::context::Context;
use chief::model::domain::MessageRef;
use chief::model::events::EventKind;
use chief::platform::bus::Subscription;
use chief::platform::db::{Db, propositions};
use chief::testkit::fake_slack::{FakeSlack, Reply};
use chief::testkit::scratch::ScratchDb;
use common::slack::store_and_drain;
use serde_json::{Value, json};

/// chief's context, with a fake Slack that knows Ana, Bob and their channel.
fn context(scratch: &ScratchDb, fake: &FakeSlack) -> Arc<Context> {
    fake.respond_with("users.info", |call| {
        let id = call.param("user").unwrap_or_default();
        let name = if id == "UBOB" { "Bob" } else { "Ana" };
        Reply::ok(
            json!({"user": {"id": id, "name": name.to_lowercase(), "real_name": name,
            "profile": {"display_name": name}, "tz": "Europe/Paris", "tz_offset": 3600}}),
        )
    });
    fake.respond_with("conversations.info", |call| {
        let id = call.param("channel").unwrap_or_default();
        Reply::ok(
            json!({"channel": {"id": id, "name": "project-lavender", "is_channel": true,
            "is_private": false, "is_member": true}}),
        )
    });
    fake.respond_with("conversations.members", |_| {
        Reply::ok(json!({"members": ["UBOB", "UANA"], "response_metadata": {"next_cursor": ""}}))
    });
    common::context(scratch, fake, None)
}

async fn deliver(ctx: &Context, event: Value) {
    let envelope = json!({"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
        "event_id": format!("Ev{}", uuid::Uuid::new_v4().simple()), "event_time": 1_700_000_000,
        "event": event});
    store_and_drain(ctx, &envelope).await;
}

fn message(ts: &str, user: &str, text: &str) -> Value {
    json!({"type": "message", "channel": "CLAV", "channel_type": "channel", "user": user, "text": text, "ts": ts})
}

async fn extract(ctx: &Context) -> usize {
    let sub = Subscription::new(
        chief::features::propositions::SUBSCRIBER,
        &[EventKind::MessagePosted, EventKind::MessageEdited],
        &ctx.instance_id,
        ctx.db.backend(),
    )
    .with_commit_grace(Duration::ZERO);
    let mut total = 0;
    loop {
        let n = chief::features::propositions::run_once(ctx, &sub)
            .await
            .unwrap();
        if n == 0 {
            return total;
        }
        total += n;
    }
}

async fn statements(db: &Db, ts: &str) -> Vec<String> {
    let at = MessageRef {
        channel_id: "CLAV".into(),
        ts: ts.into(),
    };
    propositions::for_message(db, "T1", &at)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.statement)
        .collect()
}

async fn lifecycle(scratch: &ScratchDb) {
    let fake = FakeSlack::start().await.unwrap();
    let ctx = context(scratch, &fake);
    deliver(
        &ctx,
        message(
            "1714550400.000100",
            "UBOB",
            "I am sick and can't come tomorrow, can we move the project meeting?",
        ),
    )
    .await;
    deliver(
        &ctx,
        message("1714550460.000200", "UANA", "Sure, I'll move it to Monday."),
    )
    .await;
    assert_eq!(
        extract(&ctx).await,
        2,
        "both new messages handled in one batch"
    );

    let bob = statements(&ctx.db, "1714550400.000100").await;
    assert!(
        bob.iter().any(|s| s.contains("Bob") && s.contains("sick")),
        "{bob:?}"
    );
    assert!(
        bob.iter()
            .any(|s| s.contains("Bob") && s.contains("meeting")),
        "{bob:?}"
    );
    assert!(!statements(&ctx.db, "1714550460.000200").await.is_empty());

    // Redelivery (or another replica) does not duplicate.
    assert_eq!(extract(&ctx).await, 0);
    assert_eq!(
        statements(&ctx.db, "1714550400.000100").await.len(),
        bob.len()
    );

    // An edit replaces the message's propositions.
    deliver(&ctx, json!({"type": "message", "subtype": "message_changed", "channel": "CLAV",
        "channel_type": "channel", "ts": "1714550500.000300",
        "message": {"type": "message", "user": "UBOB", "text": "Feeling better, I will be in the office tomorrow.",
                    "ts": "1714550400.000100", "edited": {"user": "UBOB", "ts": "1714550500.000000"}},
        "previous_message": {"type": "message", "user": "UBOB", "ts": "1714550400.000100",
                             "text": "I am sick and can't come tomorrow, can we move the project meeting?"}})).await;
    extract(&ctx).await;
    let edited = statements(&ctx.db, "1714550400.000100").await;
    assert!(
        !edited.is_empty() && edited.iter().all(|s| !s.contains("sick")),
        "{edited:?}"
    );

    // A deletion removes them.
    deliver(&ctx, json!({"type": "message", "subtype": "message_deleted", "channel": "CLAV",
        "channel_type": "channel", "ts": "1714550600.000400", "deleted_ts": "1714550400.000100",
        "previous_message": {"type": "message", "user": "UBOB", "ts": "1714550400.000100", "text": "x"}})).await;
    assert!(
        statements(&ctx.db, "1714550400.000100").await.is_empty(),
        "gone with the message"
    );
}

on_both_backends!(lifecycle);
