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

/// The propositions a briefing run read, by the message they cite.
async fn propositions_of_run(ctx: &Context, run_id: i64) -> Vec<Value> {
    let steps = chief::platform::db::runs::steps(&ctx.db, run_id)
        .await
        .unwrap();
    chief::platform::runs::inspect::propositions_used(&steps)
}

fn cites(p: &Value, ts: &str) -> bool {
    p["sources"]
        .as_array()
        .is_some_and(|s| s.iter().any(|r| r["ts"] == ts))
}

/// Ana's on-demand briefing `n` (now is just after the messages).
async fn brief_ana(ctx: &Context, n: i64) -> chief::platform::db::briefings::BriefingRow {
    use chief::features::briefing::agent::{PrepareRequest, prepare_with};
    let now = 1_714_557_600;
    let date = chrono::NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
    let req = PrepareRequest::on_demand(
        "T1",
        "UANA",
        date,
        n,
        now,
        chief::ai::llm::Priority::Interactive,
    );
    prepare_with(ctx, &req).await.unwrap()
}

/// A briefing reads the propositions of its window (extracting the messages the agent has not,
/// here all of them, as after an import), and a deleted message's propositions are gone from
/// every later run: from the store, from the digest (made again without it) and from the stories.
async fn deleted_messages_leave_later_runs(scratch: &ScratchDb) {
    let fake = FakeSlack::start().await.unwrap();
    let ctx = context(scratch, &fake);
    deliver(
        &ctx,
        message(
            "1714550400.000100",
            "UBOB",
            "@Ana can you move the project meeting to Monday? I am sick tomorrow.",
        ),
    )
    .await;
    deliver(
        &ctx,
        message(
            "1714550460.000200",
            "UANA",
            "Sure, I'll move it to Monday and tell the design team.",
        ),
    )
    .await;
    let first = brief_ana(&ctx, 1).await;
    let read = propositions_of_run(&ctx, first.run_id.unwrap()).await;
    assert!(
        read.iter().any(|p| cites(p, "1714550400.000100")),
        "{read:#?}"
    );
    assert!(
        read.iter()
            .any(|p| p["kind"] == "commitment" && cites(p, "1714550460.000200")),
        "Ana's promise is a commitment: {read:#?}"
    );

    deliver(&ctx, json!({"type": "message", "subtype": "message_deleted", "channel": "CLAV",
        "channel_type": "channel", "ts": "1714550600.000400", "deleted_ts": "1714550400.000100",
        "previous_message": {"type": "message", "user": "UBOB", "ts": "1714550400.000100", "text": "x"}})).await;
    assert!(statements(&ctx.db, "1714550400.000100").await.is_empty());
    let second = brief_ana(&ctx, 2).await;
    let read = propositions_of_run(&ctx, second.run_id.unwrap()).await;
    assert!(
        !read.is_empty() && read.iter().all(|p| !cites(p, "1714550400.000100")),
        "{read:#?}"
    );
}

on_both_backends!(lifecycle, deleted_messages_leave_later_runs);

mod every_step {
    //! With a model, every step of a briefing and of an explanation is sent the propositions of
    //! its messages (`tests/exports/reschedule`: Marco asks to move the design review, the
    //! thread settles it, and Priya later asks Claire for the onboarding screens).

    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use chief::features::briefing::cli::{self, BriefArgs};

    use super::common;
    use super::common::briefing::{export_config, valid_json_model};

    fn export() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/exports/reschedule")
    }

    #[tokio::test]
    async fn every_step_is_sent_the_propositions() {
        common::init();
        let llm = valid_json_model().await;
        let config = export_config(&llm);
        cli::brief_export(
            config.clone(),
            &BriefArgs {
                export: export(),
                user: "U0CLAIRE1".into(),
                date: Some("2026-12-07".parse().unwrap()),
                json: false,
                workspace_url: "https://slack.com".into(),
            },
        )
        .await
        .expect("a briefing");
        chief::features::explain::cli::explain_export(
            &config,
            &export(),
            "C0DESIGN01",
            "1796634000.000100",
            Some("U0CLAIRE1"),
        )
        .await
        .expect("an explanation");
        let mut data: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in llm.requests() {
            data.entry(r.task.clone().unwrap_or_default())
                .or_default()
                .push(r.data().unwrap_or_default().to_string());
        }
        for task in [
            "extract_propositions",
            "summarize_discussion",
            "group_topics",
            "rank_for_user",
            "generate_briefing",
            "explain_context",
        ] {
            assert!(
                data.contains_key(task),
                "{task} was not asked: {:?}",
                data.keys()
            );
        }
        // The statements reach every step after extraction, one line each with their kind.
        for task in [
            "summarize_discussion",
            "group_topics",
            "rank_for_user",
            "generate_briefing",
            "explain_context",
        ] {
            assert!(
                data[task]
                    .iter()
                    .any(|d| d.contains("\"propositions\":[\"") && d.contains("request")),
                "{task}: {:#?}",
                data[task]
            );
        }
        // The ranking and the writer see what is asked of the reader.
        for task in ["rank_for_user", "generate_briefing"] {
            assert!(
                data[task].iter().any(|d| d.contains("request → Claire")),
                "{task}: {:#?}",
                data[task]
            );
        }
    }
}
