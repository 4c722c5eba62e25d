//! Real captured Slack payloads, through the real edge → inbox → worker → handler path, against a
//! scratch database and a fake Slack Web API: what ends up in the store and on the bus.

#[macro_use]
mod common;

use chief::features::context::Context;
use chief::model::events::{DomainEvent, EventKind};
use chief::platform::bus::{self, Subscription};
use chief::platform::db::teams::{self, TeamStatus};
use chief::platform::db::{Db, backfill as jobs, directory, messages, purge};
use chief::testkit::fake_slack::{FakeSlack, Reply};
use chief::testkit::scratch::ScratchDb;
use common::slack::{deliver, slack_knowing_everyone};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    common::fixture_json(&format!("{}/{name}", common::ABBOT_PAYLOADS))
}

fn with_event_id(mut envelope: Value, id: &str) -> Value {
    envelope["event_id"] = json!(id);
    envelope
}

/// An envelope posting `message` (a message object) in `channel` of `team`.
fn posting(team: &str, channel: &str, message: &Value, id: &str) -> Value {
    let mut event = message.clone();
    event["channel"] = json!(channel);
    event["channel_type"] = json!("channel");
    json!({"type": "event_callback", "team_id": team, "event_id": id, "event": event})
}

async fn bus_kinds(db: &Db, team: &str) -> Vec<DomainEvent> {
    let sub = Subscription::new(&format!("test-{team}"), &EventKind::ALL, "t", db.backend())
        .with_commit_grace(std::time::Duration::ZERO);
    let polled = bus::poll(db, &sub, 1000).await.unwrap();
    bus::ack(db, &sub, polled.up_to).await.unwrap();
    polled
        .events
        .into_iter()
        .filter(|e| e.team_id == team)
        .map(|e| e.event)
        .collect()
}

async fn messages_are_posted_edited_and_deleted(db: &Db, ctx: &Context, fake: &FakeSlack) {
    // A rich-text message from a real workspace.
    let message = fixture("message.json");
    deliver(ctx, &message).await;
    let stored = messages::get(db, "T013108BYLS", "C01A3DGTSP9", "1640027021.060900")
        .await
        .unwrap()
        .expect("stored");
    assert!(
        stored
            .text
            .starts_with(".ping testing\n1. rich\n2. formatting"),
        "{}",
        stored.text
    );
    assert_eq!(stored.user_id.as_deref(), Some("U012LKJFG0P"));
    assert_eq!(stored.source, "event");
    // The unknown channel and author were fetched once; chief's identity came from auth.test.
    assert_eq!(fake.calls("conversations.info").len(), 1);
    assert!(!fake.calls("users.info").is_empty());
    let channel = directory::get_channel(db, "T013108BYLS", "C01A3DGTSP9")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(channel.channel.name.as_deref(), Some("chan-c01a3dgtsp9"));
    assert!(channel.is_member);
    let team = teams::get(db, "T013108BYLS").await.unwrap().unwrap();
    assert_eq!(team.bot_user_id.as_deref(), Some("U0CHIEF"));
    // The author (a member from conversations.members) sees it, with their resolved name.
    let seen = messages::visible_to(db, "T013108BYLS", "U012LKJFG0P", 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].user_name.as_deref(), Some("Real U012LKJFG0P"));
    // users.info asked for the locale, and the author's language is stored with them.
    assert!(
        fake.calls("users.info")
            .iter()
            .all(|c| c.param("include_locale").as_deref() == Some("true"))
    );
    let author = directory::get_user(db, "T013108BYLS", "U012LKJFG0P")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(author.locale.as_deref(), Some("en-GB"));
    let events = bus_kinds(db, "T013108BYLS").await;
    assert!(
        matches!(&events[..], [DomainEvent::MessagePosted(m), DomainEvent::UserBecameActive { .. }] if m.ts == "1640027021.060900"),
        "{events:?}"
    );

    // Handled twice (a redelivery): nothing more stored or published.
    chief::features::ingest::live::handle_envelope(ctx, "T013108BYLS", &message)
        .await
        .unwrap();
    assert_eq!(messages::count_live(db, "T013108BYLS").await.unwrap(), 1);
    let replayed = bus_kinds(db, "T013108BYLS").await;
    assert!(
        replayed
            .iter()
            .all(|e| !matches!(e, DomainEvent::MessagePosted(_))),
        "{replayed:?}"
    );

    // message_changed: the original (its previous_message), then the edit.
    let changed = fixture("message.message_changed.json");
    let original = &changed["event"]["previous_message"];
    deliver(
        ctx,
        &posting("T00012121", "C50000000", original, "EvOriginal"),
    )
    .await;
    let before = messages::get(db, "T00012121", "C50000000", "1656728353.239749")
        .await
        .unwrap()
        .unwrap();
    assert!(
        before
            .text
            .contains("multiple rooms.\nYou all are wonderful")
    );
    deliver(ctx, &changed).await;
    let after = messages::get(db, "T00012121", "C50000000", "1656728353.239749")
        .await
        .unwrap()
        .unwrap();
    assert!(
        after
            .text
            .contains("multiple rooms. This message is just to let you know"),
        "{}",
        after.text
    );
    assert_eq!(after.edited_at, Some(1657199914));

    // message_deleted: a reply with a reaction, then its deletion.
    let deleted = fixture("message.message_deleted.json");
    let doomed = &deleted["event"]["previous_message"].clone();
    deliver(ctx, &posting("T00012121", "C50000000", doomed, "EvDoomed")).await;
    let mut reaction = fixture("reaction_added.json");
    reaction["event"]["item"]["ts"] = json!("1656696554.844419");
    deliver(ctx, &with_event_id(reaction, "EvReactDoomed")).await;
    assert_eq!(
        messages::reactions(db, "T00012121", "C50000000", "1656696554.844419")
            .await
            .unwrap()
            .len(),
        1
    );
    deliver(ctx, &deleted).await;
    let gone = messages::get(db, "T00012121", "C50000000", "1656696554.844419")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gone.text, "", "the text is removed from the store");
    assert_eq!(gone.removed.as_deref(), Some("deleted"));
    assert!(
        messages::reactions(db, "T00012121", "C50000000", "1656696554.844419")
            .await
            .unwrap()
            .is_empty()
    );
    let events = bus_kinds(db, "T00012121").await;
    assert!(
        events.iter().any(
            |e| matches!(e, DomainEvent::MessageDeleted { ts, .. } if ts == "1656696554.844419")
        )
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, DomainEvent::MessagePosted(m) if m.ts == "1656696554.844419")),
        "the deleted message's text is gone from the bus too"
    );
    // A replay of the original after the deletion does not bring the text back.
    chief::features::ingest::live::handle_envelope(
        ctx,
        "T00012121",
        &posting("T00012121", "C50000000", doomed, "x"),
    )
    .await
    .unwrap();
    assert_eq!(
        messages::get(db, "T00012121", "C50000000", "1656696554.844419")
            .await
            .unwrap()
            .unwrap()
            .text,
        ""
    );

    // A tombstone edit (a thread parent deleted) deletes too.
    deliver(ctx, &fixture("message.message_changed.deleted.json")).await;
    let tomb = messages::get(db, "T00012121", "C50000000", "1652889358.377929")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (tomb.text.as_str(), tomb.removed.as_deref()),
        ("", Some("deleted"))
    );
}

async fn reactions_members_and_noise(db: &Db, ctx: &Context) {
    deliver(ctx, &fixture("reaction_added.json")).await;
    assert_eq!(
        messages::reactions(db, "T00012121", "C50000000", "1644779732.750289")
            .await
            .unwrap(),
        vec![("eyes".to_string(), "U50100000".to_string())]
    );
    deliver(ctx, &fixture("reaction_removed.json")).await;

    // Someone joins a channel: membership updated directly (and the channel fetched once).
    deliver(ctx, &fixture("member_joined_channel.json")).await;
    let members = directory::members(db, "T013108BYLS", "C0343M2HF5J")
        .await
        .unwrap();
    assert!(members.contains(&"U02NU2HM11B".to_string()), "{members:?}");
    assert!(
        jobs::get(db, "T013108BYLS", "C0343M2HF5J")
            .await
            .unwrap()
            .is_none(),
        "not chief: no backfill"
    );
    deliver(ctx, &fixture("member_left_channel.json")).await;
    let members = directory::members(db, "T013108BYLS", "C0343M2HF5J")
        .await
        .unwrap();
    assert!(!members.contains(&"U02NU2HM11B".to_string()));

    // chief itself joins: the channel is marked and a backfill is queued (not run inline).
    let mut joined = fixture("member_joined_channel.json");
    joined["event"]["user"] = json!("U0CHIEF");
    joined["event"]["channel"] = json!("C0NEW");
    deliver(ctx, &with_event_id(joined, "EvChiefJoined")).await;
    let job = jobs::get(db, "T013108BYLS", "C0NEW")
        .await
        .unwrap()
        .expect("backfill requested");
    assert_eq!(job.status, "pending");
    assert!(
        directory::get_channel(db, "T013108BYLS", "C0NEW")
            .await
            .unwrap()
            .unwrap()
            .is_member
    );

    // Renames, noise, bots, unknown events: handled without error, nothing stored for noise.
    let before = messages::count_live(db, "T013108BYLS").await.unwrap();
    for name in [
        "message.channel_name.json",
        "message.bot_message.json",
        "unknown_event.json",
        "app_home_opened.json",
        "channel_rename.json",
        "team_join.json",
        "message.invalid-json.json",
    ] {
        let envelope = fixture(name);
        if envelope["type"] == "event_callback" {
            deliver(ctx, &with_event_id(envelope, &format!("Ev-{name}"))).await;
        }
    }
    assert_eq!(
        messages::count_live(db, "T013108BYLS").await.unwrap(),
        before
    );
    assert!(
        messages::get(db, "T00012121", "C50000000", "1644777118.277809")
            .await
            .unwrap()
            .is_none(),
        "bot message"
    );
    // chief's own messages are never stored.
    let own = json!({"type": "message", "user": "U0CHIEF", "text": "Your briefing", "ts": "1700000000.000900"});
    deliver(ctx, &posting("T013108BYLS", "C01A3DGTSP9", &own, "EvOwn")).await;
    assert!(
        messages::get(db, "T013108BYLS", "C01A3DGTSP9", "1700000000.000900")
            .await
            .unwrap()
            .is_none()
    );
    // DMs are never stored.
    let mut dm = posting(
        "T013108BYLS",
        "D0DM",
        &json!({"type": "message", "user": "U1", "text": "psst",
        "ts": "1700000000.000901"}),
        "EvDm",
    );
    dm["event"]["channel_type"] = json!("im");
    deliver(ctx, &dm).await;
    assert!(
        messages::get(db, "T013108BYLS", "D0DM", "1700000000.000901")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        directory::get_channel(db, "T013108BYLS", "D0DM")
            .await
            .unwrap()
            .is_none()
    );
}

async fn uninstall_leaves_nothing(db: &Db, ctx: &Context) {
    // Fill team T12345678 (the uninstall fixture's) through the same handlers.
    for (name, id) in [
        ("message.json", "EvU1"),
        ("member_joined_channel.json", "EvU2"),
        ("reaction_added.json", "EvU3"),
        ("app_home_opened.json", "EvU4"),
    ] {
        let mut envelope = fixture(name);
        envelope["team_id"] = json!("T12345678");
        deliver(ctx, &with_event_id(envelope, id)).await;
    }
    chief::features::ingest::backfill::request(ctx, "T12345678", "C01A3DGTSP9", 7)
        .await
        .unwrap();
    assert!(messages::count_live(db, "T12345678").await.unwrap() > 0);
    // A row of every team table exists for the team before (so the check below means something).
    let tables = purge::tables_with_team_column(db).await.unwrap();
    let rows = |table: String| async move {
        let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE team_id = 'T12345678'");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(db.pool())
            .await
            .unwrap();
        sqlx::Row::try_get::<i64, _>(&row, "n").unwrap()
    };
    // Ingestion's own tables must hold rows (so the check below means something); the other
    // features' tables are covered by the whole-product uninstall test.
    for table in [
        "messages",
        "reactions",
        "channels",
        "channel_members",
        "users",
        "inbox",
        "teams",
    ] {
        assert!(
            rows(table.to_string()).await > 0,
            "no {table} row to purge: the test would prove nothing"
        );
    }
    let others_before = messages::count_live(db, "T013108BYLS").await.unwrap();

    deliver(ctx, &fixture("app_uninstalled.json")).await;
    for table in tables {
        assert_eq!(
            rows(table.clone()).await,
            0,
            "{table} still holds rows of the uninstalled team"
        );
    }
    assert_eq!(
        messages::count_live(db, "T013108BYLS").await.unwrap(),
        others_before,
        "other teams untouched"
    );

    // tokens_revoked (chief's bot token) purges too.
    assert!(teams::get(db, "T013108BYLS").await.unwrap().is_some());
    deliver(ctx, &fixture("tokens_revoked.json")).await;
    assert_eq!(messages::count_live(db, "T013108BYLS").await.unwrap(), 0);
    assert!(teams::get(db, "T013108BYLS").await.unwrap().is_none());
}

async fn scenario(scratch: &ScratchDb) {
    let fake = slack_knowing_everyone(&["U012LKJFG0P", "U50100000", "U0CHIEF"]).await;
    let ctx = common::context(scratch, &fake, None);
    messages_are_posted_edited_and_deleted(&scratch.db, &ctx, &fake).await;
    reactions_members_and_noise(&scratch.db, &ctx).await;
    uninstall_leaves_nothing(&scratch.db, &ctx).await;
}

on_both_backends!(scenario);

/// Slack rejecting the token suspends the team, and its events are then ignored.
#[tokio::test]
async fn a_rejected_token_suspends_the_team() {
    let scratch = ScratchDb::test_sqlite().await;
    let fake = slack_knowing_everyone(&["U012LKJFG0P", "U50100000", "U0CHIEF"]).await;
    fake.script("auth.test", [Reply::Error("invalid_auth".into())]);
    let ctx = common::context(&scratch, &fake, None);
    deliver(&ctx, &fixture("message.json")).await;
    let team = teams::get(&scratch.db, "T013108BYLS")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(team.status, TeamStatus::Suspended);
    assert_eq!(
        messages::count_live(&scratch.db, "T013108BYLS")
            .await
            .unwrap(),
        0
    );
    let calls = fake.all_calls().len();
    deliver(&ctx, &with_event_id(fixture("message.json"), "EvAgain")).await;
    assert_eq!(
        fake.all_calls().len(),
        calls,
        "no Slack call for a suspended team"
    );
}

/// A channel seen for the first time is fetched once, members across every page.
#[tokio::test]
async fn channel_members_follow_the_cursor() {
    let scratch = ScratchDb::test_postgres().await;
    let fake = slack_knowing_everyone(&["U012LKJFG0P", "U50100000", "U0CHIEF"]).await;
    fake.script(
        "conversations.members",
        [
            Reply::ok(json!({"members": ["U1", "U2"], "response_metadata": {"next_cursor": "m2"}})),
            Reply::ok(json!({"members": ["U3"], "response_metadata": {"next_cursor": ""}})),
        ],
    );
    let ctx = common::context(&scratch, &fake, None);
    chief::features::ingest::directory::ensure_channel(&ctx, "T1", "C0PAGED", None, false)
        .await
        .unwrap();
    assert_eq!(
        directory::members(&scratch.db, "T1", "C0PAGED")
            .await
            .unwrap(),
        vec!["U1", "U2", "U3"]
    );
    let calls = fake.calls("conversations.members");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].param("cursor").as_deref(), Some("m2"));
    // Known now: not fetched again unless asked.
    chief::features::ingest::directory::ensure_channel(&ctx, "T1", "C0PAGED", None, false)
        .await
        .unwrap();
    assert_eq!(fake.calls("conversations.info").len(), 1);
    assert!(
        messages::may_see_channel(&scratch.db, "T1", "U3", "C0PAGED")
            .await
            .unwrap()
    );
}
