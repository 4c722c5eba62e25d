//! Privacy: who may read what, and that deleted things are gone — everywhere.
//!
//! 1. The privacy boundary (`db::messages::visible_*`, `may_see_channel`): a person reads a message
//!    only when they are a member of its channel, and never a direct or group-direct message —
//!    on a fixed world on both backends, and on random worlds (memberships, channel kinds,
//!    deletions) against a model of the rule.
//! 2. A message deleted in Slack loses its text in every table: the store, the bus payloads, the
//!    model answer cache, the inbox — searched column by column across the whole database — and
//!    replays, edits and backfills cannot bring it back.
//! 3. Uninstall removes every row of the workspace from every table of `db::purge::TEAM_TABLES`
//!    (each one filled first through its own code path), and nothing of the other workspace.

#[macro_use]
mod common;

use std::collections::{BTreeMap, BTreeSet};

use chief::ai::llm::CallOptions;
use chief::ai::tasks::Task;
use chief::features::context::Context;
use chief::model::events::{Channel, PostedMessage};
use chief::platform::db::messages::{self, Source};
use chief::platform::db::{Db, directory, purge};
use chief::platform::jobs::Job as _;
use chief::testkit::fake_slack::Reply;
use chief::testkit::model_server::{self, LocalLlm};
use chief::testkit::scratch::ScratchDb;
use common::slack::{deliver, message_event, slack_knowing_everyone};
use proptest::prelude::*;
use serde_json::{Value, json};
use sqlx::Row;

// ---------------------------------------------------------------------------------------------
// Shared helpers.

/// Every (table, column) of the live schema whose value contains `needle`, as text.
async fn find_everywhere(db: &Db, needle: &str) -> Vec<String> {
    let sql = match db.backend() {
        chief::platform::db::Backend::Sqlite => {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'"
        }
        chief::platform::db::Backend::Postgres => {
            "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'"
        }
    };
    let columns = sqlx::query(sql).fetch_all(db.pool()).await.unwrap();
    assert!(columns.len() > 50, "the whole schema is searched");
    let mut hits = Vec::new();
    for row in columns {
        let (t, c): (String, String) = (row.get("t"), row.get("c"));
        let sql = format!("SELECT COUNT(*) AS n FROM \"{t}\" WHERE CAST(\"{c}\" AS TEXT) LIKE $1");
        let n: i64 = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(format!("%{needle}%"))
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get("n");
        if n > 0 {
            hits.push(format!("{t}.{c} ({n})"));
        }
    }
    hits
}

/// The local model answers every request with `output`.
fn answer_with<T: serde::Serialize>(llm: &LocalLlm, output: &T) {
    let value = serde_json::to_value(output).unwrap();
    llm.set_responder(move |_| model_server::Reply::json(value.clone()));
}

// ---------------------------------------------------------------------------------------------
// 1. The privacy boundary.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Public,
    Private,
    Im,
    Mpim,
}

/// Stores a channel of `kind` with `members` (`None`: members never learned) and one message
/// per entry of `texts` (`(ts, text, deleted)`).
async fn seed_channel(
    db: &Db,
    team: &str,
    channel_id: &str,
    kind: Kind,
    archived: bool,
    members: Option<&[&str]>,
    texts: &[(&str, &str, bool)],
) {
    let channel = Channel {
        channel_id: channel_id.into(),
        name: Some(format!("n-{}", channel_id.to_lowercase())),
        is_private: kind != Kind::Public,
        is_im: kind == Kind::Im,
        is_mpim: kind == Kind::Mpim,
        is_archived: archived,
    };
    directory::upsert_channel(db.pool(), team, &channel, 1)
        .await
        .unwrap();
    let mut tx = db.begin_write().await.unwrap();
    if let Some(members) = members {
        let members: Vec<String> = members.iter().map(|m| m.to_string()).collect();
        directory::replace_members(&mut tx, team, channel_id, &members, 1)
            .await
            .unwrap();
    }
    for (ts, text, deleted) in texts {
        let posted = PostedMessage {
            channel_id: channel_id.into(),
            ts: ts.to_string(),
            thread_ts: None,
            user_id: Some("U9".into()),
            bot_id: None,
            subtype: None,
            text: text.to_string(),
            mentions: vec![],
            posted_at: chief::model::domain::ts_to_epoch(ts).unwrap(),
            edited_at: None,
            reply_count: None,
            channel_private: None,
            reactions: vec![],
        };
        messages::upsert(&mut tx, team, &posted, Source::Event)
            .await
            .unwrap();
        if *deleted {
            messages::remove(&mut tx, team, channel_id, ts, messages::Removal::Deleted)
                .await
                .unwrap();
        }
    }
    tx.commit().await.unwrap();
}

async fn texts_for(db: &Db, team: &str, user: &str) -> BTreeSet<String> {
    messages::visible_to(db, team, user, 0, i64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect()
}

async fn fixed_world(scratch: &ScratchDb) {
    let db = &scratch.db;
    const T: &str = "T1";
    seed_channel(
        db,
        T,
        "C0PUB",
        Kind::Public,
        false,
        Some(&["U1", "U2"]),
        &[
            ("1700000001.000100", "pub-1", false),
            ("1700000001.000200", "pub-deleted", true),
        ],
    )
    .await;
    seed_channel(
        db,
        T,
        "G0PRIV",
        Kind::Private,
        false,
        Some(&["U1"]),
        &[("1700000002.000100", "priv-1", false)],
    )
    .await;
    seed_channel(
        db,
        T,
        "D0IM",
        Kind::Im,
        false,
        Some(&["U1", "U2"]),
        &[("1700000003.000100", "dm-1", false)],
    )
    .await;
    seed_channel(
        db,
        T,
        "G0MPIM",
        Kind::Mpim,
        false,
        Some(&["U1", "U2", "U3"]),
        &[("1700000004.000100", "mpim-1", false)],
    )
    .await;
    seed_channel(
        db,
        T,
        "C0STUB",
        Kind::Public,
        false,
        None,
        &[("1700000005.000100", "stub-1", false)],
    )
    .await;
    seed_channel(
        db,
        T,
        "C0ARCH",
        Kind::Public,
        true,
        Some(&["U2"]),
        &[("1700000006.000100", "arch-1", false)],
    )
    .await;
    // Another workspace with the same ids.
    seed_channel(
        db,
        "T2",
        "C0PUB",
        Kind::Public,
        false,
        Some(&["U1", "U2"]),
        &[("1700000001.000300", "other-team", false)],
    )
    .await;

    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(texts_for(db, T, "U1").await, set(&["pub-1", "priv-1"]));
    assert_eq!(texts_for(db, T, "U2").await, set(&["pub-1", "arch-1"]));
    assert_eq!(
        texts_for(db, T, "U3").await,
        set(&[]),
        "a group DM member sees nothing"
    );
    assert_eq!(texts_for(db, T, "U4").await, set(&[]));
    assert_eq!(texts_for(db, "T2", "U1").await, set(&["other-team"]));

    for (user, channel, ts, visible) in [
        ("U1", "G0PRIV", "1700000002.000100", true),
        ("U2", "G0PRIV", "1700000002.000100", false),
        ("U1", "D0IM", "1700000003.000100", false),
        ("U2", "G0MPIM", "1700000004.000100", false),
        ("U1", "C0STUB", "1700000005.000100", false),
    ] {
        assert_eq!(
            messages::visible_message(db, T, user, channel, ts)
                .await
                .unwrap()
                .is_some(),
            visible,
            "{user} reading {channel}/{ts}"
        );
        assert_eq!(
            !messages::visible_in_channel(db, T, user, channel, 0, i64::MAX)
                .await
                .unwrap()
                .is_empty(),
            visible,
            "{user} in {channel}"
        );
        assert_eq!(
            !messages::visible_thread(db, T, user, channel, ts)
                .await
                .unwrap()
                .is_empty(),
            visible,
            "{user} thread {channel}/{ts}"
        );
    }
    assert!(
        messages::visible_message(db, T, "U1", "C0PUB", "1700000001.000200")
            .await
            .unwrap()
            .is_none(),
        "a deleted message is read by nobody"
    );
    for channel in ["D0IM", "G0MPIM", "C0STUB"] {
        for user in ["U1", "U2", "U3"] {
            assert!(
                !messages::may_see_channel(db, T, user, channel)
                    .await
                    .unwrap()
            );
        }
    }

    // Leaving a channel ends reading it.
    let mut tx = db.begin_write().await.unwrap();
    directory::remove_member(&mut tx, T, "G0PRIV", "U1")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(texts_for(db, T, "U1").await, set(&["pub-1"]));
}

on_both_backends!(fixed_world);

/// Random worlds: whatever the channels' kinds, memberships and deletions, `visible_to` returns
/// exactly the live messages of the non-DM channels the person is a member of.
#[test]
fn boundary_holds_on_random_worlds() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let scratch = runtime.block_on(ScratchDb::test_sqlite());
    let users = ["U1", "U2", "U3"];
    let channel = (
        prop_oneof![
            Just(Kind::Public),
            Just(Kind::Private),
            Just(Kind::Im),
            Just(Kind::Mpim)
        ],
        any::<bool>(),
        prop::option::weighted(0.85, prop::collection::vec(any::<bool>(), 3)),
        prop::collection::vec(any::<bool>(), 1..4),
    );
    let world = prop::collection::vec(channel, 1..6);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let case = std::cell::Cell::new(0);
    runner
        .run(&world, |world| {
            case.set(case.get() + 1);
            let team = format!("TW{}", case.get());
            let mut expected: BTreeMap<&str, BTreeSet<String>> =
                users.iter().map(|u| (*u, BTreeSet::new())).collect();
            runtime.block_on(async {
                for (i, (kind, archived, membership, deletions)) in world.iter().enumerate() {
                    let channel_id = format!("C{i}");
                    let members: Option<Vec<&str>> = membership.as_ref().map(|m| {
                        users
                            .iter()
                            .zip(m)
                            .filter(|(_, is)| **is)
                            .map(|(u, _)| *u)
                            .collect()
                    });
                    let texts: Vec<(String, String, bool)> = deletions
                        .iter()
                        .enumerate()
                        .map(|(j, deleted)| {
                            (
                                format!("17000000{i:02}.0000{j:02}"),
                                format!("m-{i}-{j}"),
                                *deleted,
                            )
                        })
                        .collect();
                    let borrowed: Vec<(&str, &str, bool)> = texts
                        .iter()
                        .map(|(ts, text, d)| (ts.as_str(), text.as_str(), *d))
                        .collect();
                    seed_channel(
                        &scratch.db,
                        &team,
                        &channel_id,
                        *kind,
                        *archived,
                        members.as_deref(),
                        &borrowed,
                    )
                    .await;
                    if matches!(kind, Kind::Im | Kind::Mpim) {
                        continue;
                    }
                    for user in members.iter().flatten() {
                        for (_, text, deleted) in &texts {
                            if !deleted {
                                expected.get_mut(user).unwrap().insert(text.clone());
                            }
                        }
                    }
                }
                for user in users {
                    assert_eq!(
                        texts_for(&scratch.db, &team, user).await,
                        expected[user],
                        "{user} in {world:?}"
                    );
                }
            });
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

// ---------------------------------------------------------------------------------------------
// 2. Deleted messages are gone everywhere.

const SECRET: &str = "swordfish-launch-code-42";

async fn deletion_is_total(scratch: &ScratchDb) {
    let fake = slack_knowing_everyone(&["U1", "U2", "U0CHIEF"]).await;
    let llm = LocalLlm::start().await.unwrap();
    let ctx = common::context(scratch, &fake, Some(&llm));
    let db = &scratch.db;
    const T: &str = "T1";
    let ts = "1700000000.000100";
    deliver(
        &ctx,
        &message_event(T, "C1", "U1", ts, &format!("the code is {SECRET}")),
    )
    .await;
    deliver(
        &ctx,
        &message_event(T, "C1", "U2", "1700000000.000200", "unrelated"),
    )
    .await;
    // A model call on the channel's messages, cached under the team.
    let visible = messages::visible_in_channel(db, T, "U1", "C1", 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(visible.len(), 2);
    let discussion = chief::ai::tasks::Discussion {
        channel: chief::ai::tasks::types::ChannelInfo {
            id: "C1".into(),
            name: "chan-c1".into(),
        },
        messages: visible
            .iter()
            .map(chief::ai::tasks::types::ChatMessage::from)
            .collect(),
        propositions: vec![],
        utc_offset_secs: 0,
    };
    // The model quotes the message back in its (valid) summary, so the cache holds the text.
    let task = chief::ai::tasks::SummarizeDiscussion::default();
    let mut summary = task.extractive(&discussion);
    summary.title = format!("About {SECRET}");
    answer_with(&llm, &summary);
    let answer = ctx
        .llm
        .run_or_extractive(&task, &discussion, &CallOptions::background(T))
        .await;
    assert!(
        matches!(answer.source, chief::ai::llm::Source::Model { .. }),
        "{:?}",
        answer.source
    );
    let before = find_everywhere(db, SECRET).await;
    for table in ["messages", "bus_events", "llm_cache"] {
        assert!(
            before.iter().any(|h| h.starts_with(&format!("{table}."))),
            "{table} held the text before the deletion (else the test proves nothing): {before:?}"
        );
    }

    // Slack says it was deleted.
    deliver(
        &ctx,
        &json!({"type": "event_callback", "team_id": T, "event": {
            "type": "message", "subtype": "message_deleted", "channel": "C1", "hidden": true,
            "deleted_ts": ts, "ts": "1700000100.000100", "channel_type": "channel",
            "previous_message": {"type": "message", "user": "U1", "ts": ts,
                                 "text": format!("the code is {SECRET}")}}}),
    )
    .await;
    assert_eq!(
        find_everywhere(db, SECRET).await,
        Vec::<String>::new(),
        "no trace left"
    );
    assert!(
        messages::visible_message(db, T, "U1", "C1", ts)
            .await
            .unwrap()
            .is_none()
    );

    // Nothing brings it back: a replay of the original event, an edit, a backfill page.
    deliver(
        &ctx,
        &message_event(T, "C1", "U1", ts, &format!("the code is {SECRET}")),
    )
    .await;
    deliver(
        &ctx,
        &json!({"type": "event_callback", "team_id": T, "event": {
            "type": "message", "subtype": "message_changed", "channel": "C1", "hidden": true,
            "ts": "1700000200.000100", "channel_type": "channel",
            "message": {"type": "message", "user": "U1", "ts": ts,
                        "text": format!("edited: {SECRET}"), "edited": {"user": "U1", "ts": "1700000200.000000"}}}}),
    )
    .await;
    fake.script(
        "conversations.history",
        [Reply::ok(json!({"messages": [
            {"type": "message", "user": "U1", "ts": ts, "text": format!("the code is {SECRET}")}
        ], "has_more": false, "response_metadata": {"next_cursor": ""}}))],
    );
    chief::features::ingest::backfill::request(&ctx, T, "C1", 36_500)
        .await
        .unwrap();
    let job = chief::platform::db::backfill::claim(&ctx.db, &ctx.instance_id, 300, Some((T, "C1")))
        .await
        .unwrap()
        .expect("due");
    chief::features::ingest::backfill::run_job(&ctx, job, &|_| {})
        .await
        .unwrap();
    assert_eq!(
        find_everywhere(db, SECRET).await,
        Vec::<String>::new(),
        "replays, edits and backfills do not restore a deleted message"
    );
    assert_eq!(
        messages::visible_in_channel(db, T, "U1", "C1", 0, i64::MAX)
            .await
            .unwrap()
            .len(),
        1,
        "the other message is untouched"
    );
}

on_both_backends!(deletion_is_total);

/// What chief learned and wrote from a message goes with it: the interests it taught its author
/// and the reader who reacted (`interest_scores`, `interest_sources`, `briefing_interest_origins`),
/// the shared digest, the reader's prepared briefing and the run steps that made it — while
/// what other messages also taught stays.
async fn deletion_forgets_interests_and_briefings(scratch: &ScratchDb) {
    use chief::features::briefing::agent::{self, PrepareRequest, WindowRule};
    use chief::features::briefing::interest;
    use chief::platform::bus::{self, Subscription};
    const WORD: &str = "zanzibarite";
    const T: &str = "T1";
    let fake = slack_knowing_everyone(&["U1", "U2", "U0CHIEF"]).await;
    let ctx = common::context(scratch, &fake, None);
    let db = &scratch.db;
    let now = chief::platform::db::now();
    let ts = format!("{}.000100", now - 1_800);
    deliver(
        &ctx,
        &message_event(
            T,
            "C1",
            "U1",
            &format!("{}.000100", now - 3_000),
            "The warehouse inventory audit for the Houston depot is finished, numbers look right.",
        ),
    )
    .await;
    deliver(
        &ctx,
        &message_event(
            T,
            "C1",
            "U1",
            &ts,
            &format!(
                "<@U2> the {WORD} shipment for the Houston depot arrives on Friday: can you sign \
             the customs papers for the {WORD} crates today?"
            ),
        ),
    )
    .await;
    deliver(
        &ctx,
        &json!({"type": "event_callback", "team_id": T, "event": {
            "type": "reaction_added", "user": "U2", "reaction": "eyes",
            "item": {"type": "message", "channel": "C1", "ts": &ts},
            "event_ts": format!("{}.000200", now - 1_700)}}),
    )
    .await;
    // The interest agent reads the bus.
    let sub = Subscription::new(
        interest::SUBSCRIBER,
        &interest::KINDS,
        "privacy-test",
        db.backend(),
    )
    .with_commit_grace(std::time::Duration::ZERO);
    loop {
        let polled = bus::poll(db, &sub, 100).await.unwrap();
        if polled.events.is_empty() {
            break;
        }
        for e in &polled.events {
            interest::handle(&ctx, e).await.unwrap();
        }
        bus::ack(db, &sub, polled.up_to).await.unwrap();
    }
    // The reader who reacted gets a briefing of the last hours.
    let date = chrono::DateTime::from_timestamp(now, 0)
        .unwrap()
        .date_naive();
    // The same request before and after the deletion: the reader's briefing of the last hours.
    let request = PrepareRequest {
        team_id: T.into(),
        user_id: "U2".into(),
        local_date: date,
        edition: String::new(),
        window: WindowRule::Fixed {
            start: now - 7_200,
            end: now,
        },
        priority: chief::ai::llm::Priority::Background,
        now,
    };
    let row = agent::prepare_with(&ctx, &request).await.unwrap();
    println!("{:#?}", row.briefing);
    let before = find_everywhere(db, WORD).await;
    println!("before: {before:?}");
    for column in [
        "messages.text",
        "interest_scores.key",
        "interest_scores.display",
        "interest_sources.key",
        "briefing_interest_origins.key",
        "briefing_digests.summaries",
        "run_steps.output",
    ] {
        assert!(
            before.iter().any(|h| h.starts_with(&format!("{column} "))),
            "{column} held the word before the deletion (else the test proves nothing): {before:?}"
        );
    }
    // What U1's other message taught ("inventory"): it must outlive the deletion.
    let taught_inventory = || async {
        let top = chief::platform::db::profile::load_profile(
            db,
            T,
            "U1",
            chief::model::interest::HalfLife::default(),
        )
        .await
        .unwrap()
        .top(50, now);
        assert!(
            top.iter()
                .any(|(t, _)| t.to_lowercase().contains("inventory")),
            "{top:?}"
        );
    };
    taught_inventory().await;

    deliver(
        &ctx,
        &json!({"type": "event_callback", "team_id": T, "event": {
            "type": "message", "subtype": "message_deleted", "channel": "C1", "hidden": true,
            "deleted_ts": &ts, "ts": format!("{}.000300", now - 60), "channel_type": "channel",
            "previous_message": {"type": "message", "user": "U1", "ts": &ts, "text": "…"}}}),
    )
    .await;
    assert_eq!(
        find_everywhere(db, WORD).await,
        Vec::<String>::new(),
        "no table keeps a word of the deleted message"
    );
    // What the other message taught stays.
    taught_inventory().await;
    // The briefing not yet sent is made again, without it.
    let again = agent::prepare_with(&ctx, &request).await.unwrap();
    assert!(!format!("{:?}", again.briefing).contains(WORD));
}

on_both_backends!(deletion_forgets_interests_and_briefings);

// ---------------------------------------------------------------------------------------------
// 3. Uninstall purges every table, for that workspace only.

struct Noop;

impl chief::platform::jobs::Job for Noop {
    type Ctx = chief::features::Context;
    const NAME: &'static str = "privacy_noop";
    type Payload = Value;

    async fn run(
        &self,
        _: &Context,
        _: Value,
        _: &chief::platform::db::jobs::JobRecord,
    ) -> Result<(), chief::platform::jobs::JobError> {
        Ok(())
    }
}

/// Fills every team table for `team` through its own code path.
async fn fill_team(ctx: &Context, llm: &LocalLlm, team: &str) {
    let db = &ctx.db;
    // Recent, so that today's briefing reads it.
    let posted = chief::platform::db::now() - 3600;
    let ts = format!("{posted}.000100");
    // Ingestion: messages, reactions, users, channels, members, bus, inbox, teams (auth.test).
    let text = format!("hello team {team}");
    deliver(ctx, &message_event(team, "C1", "U1", &ts, &text)).await;
    deliver(
        ctx,
        &json!({"type": "event_callback", "team_id": team, "event": {
            "type": "reaction_added", "user": "U2", "reaction": "tada",
            "item": {"type": "message", "channel": "C1", "ts": &ts},
            "event_ts": "1700000001.000100"}}),
    )
    .await;
    chief::features::ingest::backfill::request(ctx, team, "C1", 7)
        .await
        .unwrap();
    // Propositions.
    let proposition: chief::ai::tasks::types::Proposition = serde_json::from_value(json!({
        "statement": "U1 says hello", "subject": "U1", "predicate": "says", "object": "hello",
        "modality": "statement",
        "sources": [{"channel_id": "C1", "ts": &ts}]
    }))
    .unwrap();
    chief::platform::db::propositions::replace_for_messages(
        db,
        team,
        "C1",
        &[chief::platform::db::propositions::Extracted::new(
            &ts, posted, &text,
        )],
        &[proposition],
    )
    .await
    .unwrap();
    // Model calls: accounting and cache.
    let discussion = chief::ai::tasks::Discussion {
        channel: chief::ai::tasks::types::ChannelInfo {
            id: "C1".into(),
            name: "c1".into(),
        },
        messages: messages::visible_in_channel(db, team, "U1", "C1", 0, i64::MAX)
            .await
            .unwrap()
            .iter()
            .map(chief::ai::tasks::types::ChatMessage::from)
            .collect(),
        propositions: vec![],
        utc_offset_secs: 0,
    };
    let task = chief::ai::tasks::SummarizeDiscussion::default();
    answer_with(llm, &task.extractive(&discussion));
    let answer = ctx
        .llm
        .run_or_extractive(&task, &discussion, &CallOptions::background(team))
        .await;
    assert!(
        matches!(answer.source, chief::ai::llm::Source::Model { .. }),
        "a model answer, so it is cached: {:?}",
        answer.source
    );
    // Jobs and runs.
    chief::platform::jobs::enqueue::<Noop>(db, team, &json!({}), Default::default())
        .await
        .unwrap();
    // A claim records the team's turn (job_teams, for fairness).
    let claimed = chief::platform::db::jobs::claim(
        db,
        "privacy-test",
        &[Noop::NAME],
        chief::platform::db::now(),
        60,
    )
    .await
    .unwrap();
    assert!(claimed.is_some_and(|j| j.team_id == team));
    let run = chief::platform::runs::Run::open(
        db,
        &chief::platform::db::runs::NewRun {
            team_id: team,
            user_id: Some("U1"),
            kind: "privacy",
            idempotency_key: "k",
        },
    )
    .await
    .unwrap();
    run.step("s", &json!({"in": 1}), |_| async {
        Ok::<_, chief::platform::runs::StepError>((
            json!("out"),
            chief::platform::runs::StepMeta::default(),
        ))
    })
    .await
    .unwrap();
    // The profile.
    let rules = chief::model::activity::ScheduleRules::default();
    let now = chief::platform::db::now();
    chief::platform::db::profile::record_activity(
        db,
        team,
        "U1",
        now,
        chief::model::activity::ActivitySource::Message,
        now,
        &rules,
    )
    .await
    .unwrap();
    chief::platform::db::profile::update_settings(db, team, "U1", now, &rules, |s| s.paused = true)
        .await
        .unwrap();
    // Where the interest came from (the message above).
    chief::platform::db::profile::record_interest_sources(
        db,
        team,
        "U1",
        &[chief::platform::db::profile::InterestSource {
            key: "launch".into(),
            display: "launch".into(),
            channel_id: "C1".into(),
            message_ts: ts.clone(),
        }],
        now,
    )
    .await
    .unwrap();
    chief::platform::db::profile::apply_signal(
        db,
        team,
        &chief::model::interest::Signal {
            id: "sig-1".into(),
            user_id: "U1".into(),
            kind: chief::model::interest::SignalKind::Wrote,
            topics: vec!["launch".into()],
            entities: vec![],
            people: vec!["U2".into()],
            at: now,
        },
        chief::model::interest::HalfLife::default(),
    )
    .await
    .unwrap();
    // The briefing agent: digests of the channel, the briefing itself (sent as a DM), the
    // workspace URL, where an interest came from.
    let outcome = chief::features::briefing::delivery::deliver_now(
        ctx,
        team,
        "U1",
        chief::ai::llm::Priority::Interactive,
    )
    .await
    .unwrap();
    assert!(
        matches!(
            outcome,
            chief::features::briefing::delivery::Outcome::Delivered { .. }
        ),
        "{outcome:?}"
    );
    chief::platform::db::briefings::set_origin(db, team, "U1", "launch", "manual", now)
        .await
        .unwrap();
    chief::platform::db::briefings::set_workspace_url(db, team, "https://x.slack.com/")
        .await
        .unwrap();
    // The org chart: the agent's log and projection, and a snapshot.
    let sub = chief::platform::bus::Subscription::new(
        chief::features::org::SUBSCRIBER,
        &chief::features::org::KINDS,
        "privacy",
        db.backend(),
    )
    .with_commit_grace(std::time::Duration::ZERO);
    while chief::features::org::run_once(db, &sub).await.unwrap() > 0 {}
    chief::features::org::rebuild(db, team).await.unwrap();
}

async fn rows_of(db: &Db, team: &str) -> BTreeMap<String, i64> {
    let mut rows = BTreeMap::new();
    for table in purge::tables_with_team_column(db).await.unwrap() {
        let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE team_id = $1");
        let n: i64 = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(team)
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get("n");
        rows.insert(table, n);
    }
    let steps: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM run_steps WHERE run_id IN (SELECT id FROM runs WHERE team_id = $1)",
    )
    .bind(team)
    .fetch_one(db.pool())
    .await
    .unwrap()
    .get("n");
    rows.insert("run_steps".into(), steps);
    rows
}

async fn uninstall_purges_every_table(scratch: &ScratchDb) {
    let fake = slack_knowing_everyone(&["U1", "U2", "U0CHIEF"]).await;
    let llm = LocalLlm::start().await.unwrap();
    let ctx = common::context(scratch, &fake, Some(&llm));
    let db = &scratch.db;
    fill_team(&ctx, &llm, "TGONE").await;
    fill_team(&ctx, &llm, "TSTAYS").await;

    let gone_before = rows_of(db, "TGONE").await;
    let stays_before = rows_of(db, "TSTAYS").await;
    for t in purge::TEAM_TABLES {
        assert!(
            gone_before.get(t.table).copied().unwrap_or(0) > 0,
            "no {} row for the team before the uninstall: the test would prove nothing ({gone_before:?})",
            t.table
        );
    }
    assert!(gone_before["run_steps"] > 0);

    deliver(
        &ctx,
        &json!({"type": "event_callback", "team_id": "TGONE",
               "event": {"type": "app_uninstalled", "event_ts": "1700000500.000100"}}),
    )
    .await;

    let gone_after = rows_of(db, "TGONE").await;
    assert!(
        gone_after.values().all(|n| *n == 0),
        "rows of the uninstalled team remain: {gone_after:?}"
    );
    let mut stays_after = rows_of(db, "TSTAYS").await;
    // The uninstall event itself was stored under its own team only.
    stays_after.insert("inbox".into(), stays_after["inbox"]);
    assert_eq!(stays_after, stays_before, "the other team is untouched");
    assert!(
        find_everywhere(db, "TGONE").await.is_empty(),
        "not even the team id remains"
    );
}

on_both_backends!(uninstall_purges_every_table);
