//! Slack misbehaving, through the paths that call it today (directory fetches while handling
//! events, and backfill): 429 with `Retry-After`, 5xx, `ratelimited`, `not_in_channel`,
//! `channel_not_found`, `invalid_auth` and `account_inactive`. Each is retried, skipped or
//! surfaced as the product promises: messages are stored whatever the directory fetch did, a
//! missing member list is fetched again, a backfill waits and resumes or stops with the reason,
//! and a rejected token stops every Slack call for that team until it is installed again.

mod common;

use chief::features::context::{Context, TokenError};
use chief::features::ingest::backfill::{self, BackfillError};
use chief::platform::db::teams::{self, Team, TeamStatus};
use chief::platform::db::{backfill as jobs, directory, messages};
use chief::testkit::fake_slack::Reply;
use chief::testkit::scratch::ScratchDb;
use common::slack::{deliver, history_page, message_event, recent_ts, slack_knowing_everyone};
use serde_json::{Value, json};

/// Stores a message event as the edge would and lets the worker handle it.
async fn post(ctx: &Context, team: &str, channel: &str, user: &str, ts: &str) {
    let text = format!("hello from {user}");
    deliver(ctx, &message_event(team, channel, user, ts, &text)).await;
}

/// The message is in the store, live.
async fn stored(ctx: &Context, team: &str, channel: &str, ts: &str) -> bool {
    sqlx::query(
        "SELECT 1 AS ok FROM messages
         WHERE team_id = $1 AND channel_id = $2 AND ts = $3 AND removed IS NULL",
    )
    .bind(team)
    .bind(channel)
    .bind(ts)
    .fetch_optional(ctx.db.pool())
    .await
    .unwrap()
    .is_some()
}

async fn known(ctx: &Context, team: &str, user: &str) -> bool {
    directory::known_users(&ctx.db, team, &[user.to_string()])
        .await
        .unwrap()
        .contains(user)
}

async fn sees(ctx: &Context, team: &str, user: &str, channel: &str) -> bool {
    messages::may_see_channel(&ctx.db, team, user, channel)
        .await
        .unwrap()
}

/// Directory fetches while handling events: retried after 429, skipped (and fetched again on the
/// next event) after 5xx, `ratelimited`, `channel_not_found` and `not_in_channel`. The message
/// is stored every time.
#[tokio::test]
async fn directory_fetches_retry_429_and_survive_other_failures() {
    let scratch = ScratchDb::test_sqlite().await;
    let fake = slack_knowing_everyone(&["U1", "U2", "U3", "U0CHIEF"]).await;
    let ctx = common::context(&scratch, &fake, None);
    const T: &str = "T0DIR";

    // 429 with Retry-After: the client waits and retries; the user is known afterwards.
    fake.script(
        "users.info",
        [Reply::RateLimited {
            retry_after_secs: 1,
        }],
    );
    post(&ctx, T, "C1", "U1", "1700000000.000100").await;
    assert!(stored(&ctx, T, "C1", "1700000000.000100").await);
    assert_eq!(fake.calls("users.info").len(), 2, "one 429, one retry");
    assert!(known(&ctx, T, "U1").await);
    assert!(sees(&ctx, T, "U1", "C1").await);

    // 5xx: skipped for this event, fetched again on the next one.
    fake.script(
        "users.info",
        [Reply::Raw {
            status: 503,
            body: "upstream unavailable".into(),
        }],
    );
    post(&ctx, T, "C1", "U2", "1700000000.000200").await;
    assert!(stored(&ctx, T, "C1", "1700000000.000200").await);
    assert!(!known(&ctx, T, "U2").await);
    post(&ctx, T, "C1", "U2", "1700000000.000201").await;
    assert!(
        known(&ctx, T, "U2").await,
        "fetched again on the next event"
    );

    // `ratelimited` as an API error (HTTP 200): skipped, no suspension.
    fake.script("users.info", [Reply::Error("ratelimited".into())]);
    post(&ctx, T, "C1", "U3", "1700000000.000300").await;
    assert!(stored(&ctx, T, "C1", "1700000000.000300").await);
    assert!(!known(&ctx, T, "U3").await);

    // `channel_not_found`: the message is stored; the channel stays a stub nobody sees.
    fake.script(
        "conversations.info",
        [Reply::Error("channel_not_found".into())],
    );
    post(&ctx, T, "C2", "U1", "1700000000.000400").await;
    assert!(stored(&ctx, T, "C2", "1700000000.000400").await);
    assert!(
        !sees(&ctx, T, "U1", "C2").await,
        "unknown members: visible to nobody"
    );
    // …and is described on its next event.
    post(&ctx, T, "C2", "U1", "1700000000.000401").await;
    assert!(sees(&ctx, T, "U1", "C2").await);

    // `not_in_channel` on the member list: nobody sees the channel yet, and the list is fetched
    // again on the next event (the channel's description alone is not enough).
    fake.script(
        "conversations.members",
        [Reply::Error("not_in_channel".into())],
    );
    post(&ctx, T, "C3", "U1", "1700000000.000500").await;
    assert!(stored(&ctx, T, "C3", "1700000000.000500").await);
    assert!(!sees(&ctx, T, "U1", "C3").await);
    post(&ctx, T, "C3", "U1", "1700000000.000501").await;
    assert!(sees(&ctx, T, "U1", "C3").await, "members fetched again");

    // 5xx on the member list: the same.
    fake.script(
        "conversations.members",
        [Reply::Raw {
            status: 500,
            body: "<html>oops</html>".into(),
        }],
    );
    post(&ctx, T, "C4", "U1", "1700000000.000600").await;
    assert!(!sees(&ctx, T, "U1", "C4").await);
    post(&ctx, T, "C4", "U1", "1700000000.000601").await;
    assert!(sees(&ctx, T, "U1", "C4").await);

    let team = teams::get(&ctx.db, T).await.unwrap().expect("remembered");
    assert_eq!(team.status, TeamStatus::Active, "no fault above suspends");
    assert!(ctx.bot_token(T).await.is_ok());
}

/// `invalid_auth` and `account_inactive` stop all work for that team — and only that team —
/// until it is installed again.
#[tokio::test]
async fn a_rejected_token_stops_work_for_that_team_only() {
    let scratch = ScratchDb::test_postgres().await;
    let fake = slack_knowing_everyone(&["U1", "U2", "U3", "U0CHIEF"]).await;
    let ctx = common::context(&scratch, &fake, None);

    for (team, method, code) in [
        ("T0AUTH", "users.info", "invalid_auth"),
        ("T0GONE", "conversations.info", "account_inactive"),
    ] {
        fake.script(method, [Reply::Error(code.into())]);
        post(&ctx, team, "C1", "U1", "1700000000.000100").await;
        let row = teams::get(&ctx.db, team)
            .await
            .unwrap()
            .expect("a team row");
        assert_eq!(row.status, TeamStatus::Suspended, "{code} suspends {team}");
        assert!(
            matches!(ctx.bot_token(team).await, Err(TokenError::Suspended(_))),
            "no token for a suspended team"
        );

        // Nothing more happens for it: no Slack call, nothing stored, no backfill.
        let calls = fake.all_calls().len();
        post(&ctx, team, "C1", "U1", "1700000000.000200").await;
        assert!(!stored(&ctx, team, "C1", "1700000000.000200").await);
        backfill::request(&ctx, team, "C1", 7).await.unwrap();
        let job = jobs::claim(&ctx.db, &ctx.instance_id, 300, Some((team, "C1")))
            .await
            .unwrap()
            .expect("due");
        assert!(matches!(
            backfill::run_job(&ctx, job, &|_| {}).await,
            Err(BackfillError::Suspended(_))
        ));
        assert_eq!(fake.all_calls().len(), calls, "no Slack call for {team}");
    }

    // Other teams carry on.
    post(&ctx, "T0FINE", "C1", "U1", "1700000000.000300").await;
    assert!(stored(&ctx, "T0FINE", "C1", "1700000000.000300").await);
    assert!(sees(&ctx, "T0FINE", "U1", "C1").await);

    // A new install (OAuth upserts the team as active) brings the suspended team back.
    teams::upsert(
        &ctx.db,
        &Team {
            team_id: "T0AUTH".into(),
            name: None,
            bot_user_id: None,
            bot_id: None,
            bot_token_enc: None,
            status: TeamStatus::Active,
        },
    )
    .await
    .unwrap();
    assert!(ctx.bot_token("T0AUTH").await.is_ok());
    post(&ctx, "T0AUTH", "C1", "U1", "1700000000.000400").await;
    assert!(stored(&ctx, "T0AUTH", "C1", "1700000000.000400").await);
}

fn msg(ts: &str, user: &str) -> Value {
    json!({"type": "message", "user": user, "text": format!("note {ts}"), "ts": ts})
}

/// Runs the due job of `channel` (making a postponed one due now first).
async fn run_now(ctx: &Context, team: &str, channel: &str) -> Result<(), BackfillError> {
    sqlx::query(
        "UPDATE backfill_jobs SET next_attempt_at = 0 WHERE team_id = $1 AND channel_id = $2",
    )
    .bind(team)
    .bind(channel)
    .execute(ctx.db.pool())
    .await
    .unwrap();
    let job = jobs::claim(&ctx.db, &ctx.instance_id, 300, Some((team, channel)))
        .await
        .unwrap()
        .expect("a due job");
    backfill::run_job(ctx, job, &|_| {}).await.map(|_| ())
}

async fn job(ctx: &Context, team: &str, channel: &str) -> jobs::Job {
    jobs::get(&ctx.db, team, channel)
        .await
        .unwrap()
        .expect("a job")
}

/// Backfill: a 5xx or `ratelimited` postpones the job with its progress kept, and it resumes
/// from its cursor; a 429 with `Retry-After` is waited out; `not_in_channel` and
/// `channel_not_found` stop the job with the reason; `invalid_auth` suspends the team.
#[tokio::test]
async fn backfill_waits_resumes_or_stops_with_the_reason() {
    let scratch = ScratchDb::test_sqlite().await;
    let fake = slack_knowing_everyone(&["U1", "U2", "U3", "U0CHIEF"]).await;
    let ctx = common::context(&scratch, &fake, None);
    const T: &str = "T0BACK";
    let (a, b, c) = (recent_ts(30, 1), recent_ts(20, 2), recent_ts(10, 3));

    // Page 1, then a 500, then (after the pause) a 429 waited out, then a `ratelimited`, then
    // page 2.
    fake.script(
        "conversations.history",
        [
            history_page(vec![msg(&c, "U1")], "cursor-2"),
            Reply::Raw {
                status: 500,
                body: "Internal Server Error".into(),
            },
        ],
    );
    backfill::request(&ctx, T, "C1", 1).await.unwrap();
    let err = run_now(&ctx, T, "C1").await.unwrap_err();
    assert!(err.to_string().contains("HTTP 500"), "{err}");
    let j = job(&ctx, T, "C1").await;
    assert_eq!(j.status, "pending", "postponed, not failed");
    assert_eq!(j.cursor.as_deref(), Some("cursor-2"), "progress kept");
    assert!(stored(&ctx, T, "C1", &c).await);

    fake.script(
        "conversations.history",
        [
            Reply::RateLimited {
                retry_after_secs: 1,
            },
            history_page(vec![msg(&b, "U2")], "cursor-3"),
            Reply::Error("ratelimited".into()),
        ],
    );
    let err = run_now(&ctx, T, "C1").await.unwrap_err();
    assert!(matches!(err, BackfillError::Slack(_)), "{err}");
    let j = job(&ctx, T, "C1").await;
    assert_eq!(
        (j.status.as_str(), j.cursor.as_deref()),
        ("pending", Some("cursor-3"))
    );
    assert!(stored(&ctx, T, "C1", &b).await, "the page after the 429");

    fake.script(
        "conversations.history",
        [history_page(vec![msg(&a, "U3")], "")],
    );
    run_now(&ctx, T, "C1").await.unwrap();
    let j = job(&ctx, T, "C1").await;
    assert_eq!(j.status, "done");
    assert!(stored(&ctx, T, "C1", &a).await);
    let cursors: Vec<Option<String>> = fake
        .calls("conversations.history")
        .iter()
        .map(|c| c.param("cursor"))
        .collect();
    assert_eq!(
        cursors,
        vec![
            None,
            Some("cursor-2".into()),
            Some("cursor-2".into()),
            Some("cursor-2".into()),
            Some("cursor-3".into()),
            Some("cursor-3".into()),
        ],
        "every resumption starts from the saved cursor"
    );

    // Permanent answers stop the job with the reason; the team stays active.
    for (channel, code) in [("C2", "not_in_channel"), ("C3", "channel_not_found")] {
        fake.script("conversations.history", [Reply::Error(code.into())]);
        backfill::request(&ctx, T, channel, 1).await.unwrap();
        assert!(run_now(&ctx, T, channel).await.is_err());
        let j = job(&ctx, T, channel).await;
        assert_eq!(j.status, "failed");
        assert!(j.last_error.unwrap_or_default().contains(code));
    }
    assert_eq!(
        teams::get(&ctx.db, T).await.unwrap().map(|t| t.status),
        Some(TeamStatus::Active)
    );

    // A rejected token on thread replies suspends the team.
    let parent = recent_ts(5, 4);
    let mut with_thread = msg(&parent, "U1");
    with_thread["thread_ts"] = json!(parent);
    with_thread["reply_count"] = json!(2);
    fake.script(
        "conversations.history",
        [history_page(vec![with_thread], "")],
    );
    fake.script(
        "conversations.replies",
        [Reply::Error("invalid_auth".into())],
    );
    backfill::request(&ctx, T, "C4", 1).await.unwrap();
    assert!(run_now(&ctx, T, "C4").await.is_err());
    assert_eq!(job(&ctx, T, "C4").await.status, "failed");
    assert_eq!(
        teams::get(&ctx.db, T).await.unwrap().map(|t| t.status),
        Some(TeamStatus::Suspended)
    );
    assert!(ctx.bot_token(T).await.is_err());
}
