//! Backfill against the fake Slack: cursor pagination, thread replies (the parent Slack repeats on
//! every page stored once), a 429 honoured, and resumption after an interruption.

mod common;

use std::time::Duration;

use chief::features::context::Context;
use chief::features::ingest::backfill::{self, Progress};
use chief::model::events::{DomainEvent, EventKind};
use chief::platform::bus::{self, Subscription};
use chief::platform::db::{backfill as jobs, messages};
use chief::testkit::fake_slack::{FakeSlack, Reply};
use chief::testkit::scratch::ScratchDb;
use common::slack::{history_page, recent_ts};
use serde_json::{Value, json};

const TEAM: &str = "T0FAKE";
const CHANNEL: &str = "C0HIST";

fn msg(ts: &str, user: &str, text: &str) -> Value {
    json!({"type": "message", "user": user, "text": text, "ts": ts})
}

async fn run(ctx: &Context) -> Result<Progress, backfill::BackfillError> {
    let job = jobs::claim(&ctx.db, &ctx.instance_id, 300, Some((TEAM, CHANNEL)))
        .await
        .unwrap()
        .expect("a due job");
    backfill::run_job(ctx, job, &|_| {}).await
}

#[tokio::test]
async fn pages_threads_and_a_rate_limit() {
    let scratch = ScratchDb::test_sqlite().await;
    let fake = FakeSlack::start().await.unwrap();
    let ctx = common::context(&scratch, &fake, None);

    let parent_ts = recent_ts(120, 1);
    let mut parent = msg(
        &parent_ts,
        "U1",
        "Should we ship <https://x.org/pr/1|the PR> today?",
    );
    parent["thread_ts"] = json!(parent_ts);
    parent["reply_count"] = json!(2);
    let (r1, r2) = (recent_ts(110, 2), recent_ts(100, 3));
    let reply = |ts: &str, text: &str| {
        let mut m = msg(ts, "U2", text);
        m["thread_ts"] = json!(parent_ts);
        m
    };
    let (newest, oldest) = (recent_ts(10, 4), recent_ts(200, 5));
    let join = json!({"type": "message", "subtype": "channel_join", "user": "U3",
        "text": "<@U3> has joined the channel", "ts": recent_ts(5, 6)});

    fake.script(
        "conversations.history",
        [
            history_page(
                vec![join, msg(&newest, "U1", "shipped :tada:"), parent.clone()],
                "page-2",
            ),
            Reply::RateLimited {
                retry_after_secs: 1,
            },
            history_page(vec![msg(&oldest, "U2", "good morning")], ""),
        ],
    );
    fake.script(
        "conversations.replies",
        [
            history_page(vec![parent.clone(), reply(&r1, "yes")], "replies-2"),
            history_page(vec![parent.clone(), reply(&r2, "after lunch")], ""),
        ],
    );

    backfill::request(&ctx, TEAM, CHANNEL, 7).await.unwrap();
    let report = run(&ctx).await.expect("backfill completes");

    // Every message once: 3 from history (the join is noise), 2 replies; the parent not twice.
    assert_eq!(
        messages::count_in_channel(&scratch.db, TEAM, CHANNEL)
            .await
            .unwrap(),
        5
    );
    assert_eq!(report.messages, 5);
    assert_eq!(report.threads, 1);
    let stored_parent = messages::get(&scratch.db, TEAM, CHANNEL, &parent_ts)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored_parent.reply_count, 2);
    assert_eq!(
        stored_parent.text,
        "Should we ship the PR (https://x.org/pr/1) today?"
    );
    assert_eq!(stored_parent.source, "backfill");
    let second = messages::get(&scratch.db, TEAM, CHANNEL, &r2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.thread_ts.as_deref(), Some(parent_ts.as_str()));

    // Pagination followed the cursors; the 429 was retried after Retry-After.
    let history = fake.calls("conversations.history");
    assert_eq!(history.len(), 3, "page 1, the 429, page 2 again");
    assert_eq!(history[0].param("cursor"), None);
    assert_eq!(history[1].param("cursor").as_deref(), Some("page-2"));
    assert_eq!(history[2].param("cursor").as_deref(), Some("page-2"));
    assert!(history[0].param("oldest").is_some(), "the window is sent");
    assert!(
        history[2].at.duration_since(history[1].at) >= Duration::from_millis(950),
        "the retry waited for Retry-After"
    );
    let replies = fake.calls("conversations.replies");
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0].param("ts").as_deref(), Some(parent_ts.as_str()));
    assert_eq!(replies[1].param("cursor").as_deref(), Some("replies-2"));

    // The job is done, and agents hear about the window once.
    let job = jobs::get(&scratch.db, TEAM, CHANNEL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (job.status.as_str(), job.messages, job.threads),
        ("done", 5, 1)
    );
    let sub = Subscription::new("t", &[EventKind::HistoryLoaded], "t", scratch.db.backend());
    let polled = bus::poll(&scratch.db, &sub, 10).await.unwrap();
    assert!(matches!(&polled.events[..], [e] if matches!(&e.event,
        DomainEvent::HistoryLoaded { channel_id, messages: 5, .. } if channel_id == CHANNEL)));

    // Backfilling again stores nothing twice.
    fake.script(
        "conversations.history",
        [history_page(
            vec![msg(&newest, "U1", "shipped :tada:"), parent.clone()],
            "",
        )],
    );
    fake.script(
        "conversations.replies",
        [history_page(
            vec![parent, reply(&r1, "yes"), reply(&r2, "after lunch")],
            "",
        )],
    );
    backfill::request(&ctx, TEAM, CHANNEL, 7).await.unwrap();
    let again = run(&ctx).await.unwrap();
    assert_eq!(again.messages, 0);
    assert_eq!(
        messages::count_in_channel(&scratch.db, TEAM, CHANNEL)
            .await
            .unwrap(),
        5
    );
}

#[tokio::test]
async fn an_interrupted_backfill_resumes_from_its_cursor() {
    let scratch = ScratchDb::test_sqlite().await;
    let fake = FakeSlack::start().await.unwrap();
    let ctx = common::context(&scratch, &fake, None);
    fake.script(
        "conversations.history",
        [
            history_page(vec![msg(&recent_ts(30, 1), "U1", "first page")], "page-2"),
            Reply::Raw {
                status: 503,
                body: "upstream down".into(),
            },
        ],
    );
    backfill::request(&ctx, TEAM, CHANNEL, 7).await.unwrap();
    let err = run(&ctx).await.unwrap_err();
    assert!(err.to_string().contains("unreachable"), "{err}");

    // Postponed with its progress: phase, cursor and count kept.
    let job = jobs::get(&scratch.db, TEAM, CHANNEL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status, "pending");
    assert_eq!(
        (job.phase.as_str(), job.cursor.as_deref(), job.messages),
        ("history", Some("page-2"), 1)
    );
    assert!(
        jobs::claim(&scratch.db, "someone", 300, None)
            .await
            .unwrap()
            .is_none(),
        "not due before its retry time"
    );

    // When it is due again it continues at page 2, not from the start.
    sqlx::query("UPDATE backfill_jobs SET next_attempt_at = 0")
        .execute(scratch.db.pool())
        .await
        .unwrap();
    fake.script(
        "conversations.history",
        [history_page(
            vec![msg(&recent_ts(60, 2), "U1", "second page")],
            "",
        )],
    );
    let report = run(&ctx).await.unwrap();
    assert_eq!(report.messages, 2);
    let history = fake.calls("conversations.history");
    assert_eq!(
        history.last().unwrap().param("cursor").as_deref(),
        Some("page-2")
    );
    assert_eq!(
        messages::count_in_channel(&scratch.db, TEAM, CHANNEL)
            .await
            .unwrap(),
        2
    );
}

#[tokio::test]
async fn the_background_runner_picks_up_requested_jobs() {
    let scratch = ScratchDb::test_postgres().await;
    let fake = FakeSlack::start().await.unwrap();
    let ctx = common::context(&scratch, &fake, None);
    fake.script(
        "conversations.history",
        [history_page(
            vec![msg(&recent_ts(30, 1), "U1", "hello from the past")],
            "",
        )],
    );
    backfill::request(&ctx, TEAM, CHANNEL, 7).await.unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let runner = tokio::spawn(backfill::run_jobs(ctx.clone(), shutdown.clone()));
    let mut status = String::new();
    for _ in 0..200 {
        status = jobs::get(&scratch.db, TEAM, CHANNEL)
            .await
            .unwrap()
            .unwrap()
            .status;
        if status == "done" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    runner.await.unwrap();
    assert_eq!(status, "done");
    assert_eq!(
        messages::count_in_channel(&scratch.db, TEAM, CHANNEL)
            .await
            .unwrap(),
        1
    );
}
