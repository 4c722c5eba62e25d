//! The Org Chart Keeper: interactions in a log, the org chart a projection of it.
//!
//! - Replaying the log rebuilds the projection identically: what the agent kept up to date batch
//!   by batch = a full replay = the newest snapshot plus the tail (both backends).
//! - On the synthetic workspace with known teams, the inferred teams reach an adjusted Rand index
//!   of at least 0.8 and the inferred leads are true leads.
//! - A message deleted in Slack takes its interactions and what was derived from them (snapshots,
//!   the collaborator in the projection) with it; an uninstall removes the log, snapshots and
//!   projection.
//! - `chief org --export` on the houston export prints `{"teams":[{"name","members","leads"}]}`.
//! - A correction (`/chief team set …`) is an event of the log like any other.

#[macro_use]
mod common;

use std::time::Duration;

use chief::bench::org::{Args, build_org, score, workspace};
use chief::features::org::{self, Replay};
use chief::platform::bus::Subscription;
use chief::platform::db::{Db, org as store};
use chief::testkit::scratch::ScratchDb;
use clap::Parser;
use common::slack::{deliver, message_event, slack_knowing_everyone};
use serde_json::json;

/// The benchmark's options at test size.
fn small() -> Args {
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }
    Cli::parse_from([
        "test",
        "--users",
        "160",
        "--channels",
        "16",
        "--messages",
        "1500",
        "--teams",
        "8",
        "--team-messages",
        "3000",
        "--replay",
        "0",
    ])
    .args
}

fn sub(db: &Db) -> Subscription {
    Subscription::new(org::SUBSCRIBER, &org::KINDS, "test", db.backend())
        .with_commit_grace(Duration::ZERO)
}

async fn agent(db: &Db) {
    while org::run_once(db, &sub(db))
        .await
        .expect("the org agent runs")
        > 0
    {}
}

async fn projection_json(db: &Db, team: &str, from: Replay) -> String {
    let (state, _, _) = org::fold(db, team, from).await.unwrap();
    serde_json::to_string(&org::project(db, team, &state).await.unwrap()).unwrap()
}

async fn replay_rebuilds_identically(scratch: &ScratchDb) {
    let db = &scratch.db;
    let ws = workspace(&small());
    let team = ws.spec.team_id.clone();
    let (incremental, _) = build_org(db, &ws).await.unwrap();
    let stored = store::projection(db, &team).await.unwrap();
    assert!(stored.len() >= 150, "everyone is in the projection");
    assert!(
        !store::snapshot_seqs(db, &team).await.unwrap().is_empty(),
        "the agent took a snapshot on the way"
    );

    // More events after the snapshot: a tail to replay.
    org::set_team(db, &team, &ws.users[0].id, "skunkworks")
        .await
        .unwrap();
    org::set_team(db, &team, &ws.users[1].id, "skunkworks")
        .await
        .unwrap();
    let after_corrections = store::projection(db, &team).await.unwrap();
    assert_ne!(after_corrections, stored);
    let full = projection_json(db, &team, Replay::Full).await;
    let resumed = projection_json(db, &team, Replay::FromSnapshot).await;
    assert_eq!(full, resumed, "snapshot + tail = full replay");

    // The stored projection (kept incrementally) is what a rebuild writes, row for row.
    let (rebuilt, replayed) = org::rebuild(db, &team).await.unwrap();
    assert_eq!(replayed, store::count(db, &team).await.unwrap());
    assert_eq!(
        store::projection(db, &team).await.unwrap(),
        after_corrections
    );
    assert_eq!(serde_json::to_string(&rebuilt).unwrap(), full);
    assert_eq!(
        rebuilt.team_of(&ws.users[1].id).map(|t| t.name.as_str()),
        Some("skunkworks")
    );
    assert_ne!(serde_json::to_string(&incremental).unwrap(), full);
}

on_both_backends!(replay_rebuilds_identically);

async fn teams_of_the_synthetic_workspace_are_recovered(scratch: &ScratchDb) {
    let ws = workspace(&small());
    let (model, _) = build_org(&scratch.db, &ws).await.unwrap();
    let (ari, precision, recall) = score(&model, &ws);
    assert!(ari >= 0.8, "adjusted Rand index {ari:.3}");
    assert!(precision >= 0.8, "lead precision {precision:.2}");
    assert!(recall >= 0.5, "lead recall {recall:.2}");
}

on_both_backends!(teams_of_the_synthetic_workspace_are_recovered);

async fn a_deleted_message_takes_its_interactions(scratch: &ScratchDb) {
    let fake = slack_knowing_everyone(&["U1", "U2", "U3"]).await;
    let ctx = common::context(scratch, &fake, None);
    let db = &ctx.db;
    const T: &str = "T1";
    let base = chief::platform::db::now() - 3_600;
    // Ana (U1) asks Bob (U2) to take something, twice; Carol (U3) says hi to Ana once.
    let asks = [format!("{base}.000100"), format!("{base}.000200")];
    for ts in &asks {
        deliver(
            &ctx,
            &message_event(
                T,
                "C1",
                "U1",
                ts,
                "<@U2> can you take the billing migration?",
            ),
        )
        .await;
    }
    let hello = format!("{}.000300", base + 1);
    deliver(&ctx, &message_event(T, "C1", "U3", &hello, "hi <@U1>")).await;
    agent(db).await;
    let before = org::team_view(db, T, "U2").await.unwrap().expect("Bob");
    assert_eq!(before.user.collaborators[0].0, "U1");
    let kinds: i64 = common::count_rows(db, "org_interactions").await;
    assert!(
        kinds >= 6,
        "message, mention and assignment per ask; {kinds}"
    );
    org::rebuild(db, T).await.unwrap();
    assert!(!store::snapshot_seqs(db, T).await.unwrap().is_empty());

    // Both asks are deleted in Slack.
    for ts in &asks {
        deliver(
            &ctx,
            &json!({"type": "event_callback", "team_id": T, "event": {
                "type": "message", "subtype": "message_deleted", "channel": "C1", "hidden": true,
                "deleted_ts": ts, "ts": format!("{}.000900", base + 5), "channel_type": "channel"}}),
        )
        .await;
    }
    let left: Vec<(i64, chief::model::org::Interaction)> =
        store::load_after(db, T, 0, 1_000).await.unwrap();
    assert!(
        left.iter()
            .all(|(_, i)| !asks.contains(i.message_ts.as_ref().unwrap_or(&String::new()))),
        "no interaction of a deleted message remains: {left:?}"
    );
    assert!(
        store::snapshot_seqs(db, T).await.unwrap().is_empty(),
        "the snapshot that counted them is gone"
    );
    agent(db).await;
    let bob = org::team_view(db, T, "U2").await.unwrap();
    assert!(
        bob.is_none_or(|v| v.user.collaborators.is_empty()),
        "Bob no longer works with Ana as far as chief knows"
    );
    let ana = org::team_view(db, T, "U1").await.unwrap().expect("Ana");
    assert_eq!(
        ana.user
            .collaborators
            .iter()
            .map(|(u, _)| u.as_str())
            .collect::<Vec<_>>(),
        ["U3"]
    );
    assert_eq!(
        ana.user.assigned, 0,
        "the assignments went with the messages"
    );

    // Uninstalled: the log, snapshots and projection go.
    org::rebuild(db, T).await.unwrap();
    deliver(
        &ctx,
        &json!({"type": "event_callback", "team_id": T,
               "event": {"type": "app_uninstalled", "event_ts": "1700000500.000100"}}),
    )
    .await;
    for table in ["org_interactions", "org_snapshots", "org_projection"] {
        assert_eq!(common::count_rows(db, table).await, 0, "{table}");
    }
}

on_both_backends!(a_deleted_message_takes_its_interactions);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_of_the_houston_export() {
    common::init();
    let config = chief::config::Config::for_database("sqlite://unused.db");
    let org = chief::features::org::cli::org_of_export(
        &config,
        &common::fixtures().join("slack-exports/houston"),
    )
    .await
    .unwrap();
    let out = chief::features::org::cli::to_json(&org);
    let teams = out["teams"].as_array().expect("teams");
    assert!(!teams.is_empty(), "{out}");
    for t in teams {
        assert!(t["name"].as_str().is_some_and(|n| !n.is_empty()));
        assert!(t["members"].as_array().is_some_and(|m| m.len() >= 2));
        assert!(t["leads"].is_array());
    }
    // The organiser who asks people to do things leads the biggest group.
    let general = teams
        .iter()
        .find(|t| t["name"] == "general")
        .expect("general");
    assert!(
        general["lead_names"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "Micah Stubbs"),
        "{general}"
    );
    assert!(org.interactions > 1_000);
}

/// `/chief team` and `/chief team set` through the signed command path: the answer comes to the
/// response URL; the correction is an event of the log and moves the person.
async fn team_command_shows_and_corrects(backend: common::Backend) {
    use common::explain::{ALICE, BOB, CAROL, READER, TEAM, command_fields, seed_directory};
    let app = common::spawn_app(backend).await;
    let db = &app.ctx.db;
    seed_directory(db).await;
    let mut log = Vec::new();
    for (a, b) in [
        (READER, ALICE),
        (ALICE, READER),
        (READER, BOB),
        (ALICE, BOB),
    ] {
        for n in 0..3 {
            log.push(chief::model::org::Interaction {
                kind: chief::model::org::InteractionKind::Reply,
                actor: a.into(),
                target: b.into(),
                channel_id: Some("C1".into()),
                message_ts: Some(format!("1700000000.00010{n}")),
                at: 1_700_000_000,
                weight: 3,
            });
        }
    }
    log.push(chief::model::org::Interaction {
        kind: chief::model::org::InteractionKind::Mention,
        actor: CAROL.into(),
        target: "U0SOLO".into(),
        channel_id: Some("C2".into()),
        message_ts: Some("1700000000.000200".into()),
        at: 1_700_000_000,
        weight: 2,
    });
    store::append(db, TEAM, &log).await.unwrap();
    org::refresh(db, TEAM).await.unwrap();

    let ask = |text: &'static str, trigger: &'static str| {
        let app = &app;
        async move {
            let before = app.slack.calls("response_url").len();
            let fields = command_fields(text, READER, trigger, &app.slack.response_url(trigger));
            let res = app.post_command(&fields).await;
            assert_eq!(res.status(), 200);
            assert_eq!(app.drained(Duration::from_secs(20)).await.dead, 0);
            let replies: Vec<String> = app.slack.calls("response_url")[before..]
                .iter()
                .map(|c| c.param("text").unwrap_or_default())
                .collect();
            assert_eq!(replies.len(), 1, "{replies:?}");
            replies[0].clone()
        }
    };
    let shown = ask("team", "t-team").await;
    assert!(shown.contains("Your team:"), "{shown}");
    assert!(shown.contains("inferred"), "{shown}");
    assert!(shown.contains("Closest collaborators"), "{shown}");
    assert!(shown.contains("alice"), "names, not ids: {shown}");

    let set = ask("team set payments", "t-team-set").await;
    assert!(set.contains("payments"), "{set}");
    let corrections = store::load_after(db, TEAM, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, i)| i.kind == chief::model::org::InteractionKind::Correction)
        .count();
    assert_eq!(corrections, 1, "the correction is in the log");
    let shown = ask("team", "t-team-2").await;
    assert!(
        shown.contains("Your team: payments (you said so)"),
        "{shown}"
    );
    app.stop().await;
}

on_both_backends!(backend: team_command_shows_and_corrects);

/// Redelivered and repeated events leave one interaction each; a reaction goes when the person's
/// last emoji on the message does.
async fn reactions_and_membership_are_recorded_once(scratch: &ScratchDb) {
    let fake = slack_knowing_everyone(&["U1", "U2"]).await;
    let ctx = common::context(scratch, &fake, None);
    let db = &ctx.db;
    const T: &str = "T1";
    let ts = format!("{}.000100", chief::platform::db::now() - 600);
    deliver(
        &ctx,
        &message_event(T, "C1", "U1", &ts, "shipped the release"),
    )
    .await;
    let reaction = |kind: &str, emoji: &str| {
        json!({"type": "event_callback", "team_id": T, "event": {
            "type": kind, "user": "U2", "reaction": emoji,
            "item": {"type": "message", "channel": "C1", "ts": &ts},
            "event_ts": "1700000001.000100"}})
    };
    let joined = json!({"type": "event_callback", "team_id": T, "event": {
        "type": "member_joined_channel", "user": "U4", "channel": "C1",
        "channel_type": "C", "event_ts": "1700000002.000100"}});
    for event in [
        reaction("reaction_added", "tada"),
        reaction("reaction_added", "tada"),
        reaction("reaction_added", "rocket"),
        joined.clone(),
        joined,
    ] {
        deliver(&ctx, &event).await;
    }
    agent(db).await;
    let of_kind = |log: &[(i64, chief::model::org::Interaction)], kind| {
        log.iter().filter(|(_, i)| i.kind == kind).count()
    };
    use chief::model::org::InteractionKind::{Membership, Reaction};
    let log = store::load_after(db, T, 0, 100).await.unwrap();
    assert_eq!(of_kind(&log, Reaction), 1, "{log:?}");
    assert_eq!(
        log.iter()
            .filter(|(_, i)| i.kind == Membership && i.actor == "U4")
            .count(),
        1,
        "{log:?}"
    );
    let u2 = org::team_view(db, T, "U2").await.unwrap().expect("U2");
    assert_eq!(u2.user.collaborators, [("U1".to_string(), 1)]);

    deliver(&ctx, &reaction("reaction_removed", "tada")).await;
    agent(db).await;
    let log = store::load_after(db, T, 0, 100).await.unwrap();
    assert_eq!(of_kind(&log, Reaction), 1, "the rocket is still there");
    deliver(&ctx, &reaction("reaction_removed", "rocket")).await;
    agent(db).await;
    let log = store::load_after(db, T, 0, 100).await.unwrap();
    assert_eq!(of_kind(&log, Reaction), 0);
    assert!(
        org::team_view(db, T, "U2").await.unwrap().is_none(),
        "U2 interacted with no one any more"
    );
}

on_both_backends!(reactions_and_membership_are_recorded_once);

/// The org chart feeds the ranking: the person who assigns the reader work is one of their close
/// people, and the briefing says so.
async fn the_ranking_knows_who_the_reader_works_with(scratch: &ScratchDb) {
    use chief::features::briefing::agent::{PrepareRequest, prepare_with};
    let fake = slack_knowing_everyone(&["U1", "U2"]).await;
    let ctx = common::context(scratch, &fake, None);
    const T: &str = "T1";
    let base = chief::platform::db::now() - 3_600;
    for (i, text) in [
        "<@U2> can you take the billing migration?",
        "<@U2> can you also review the ledger export?",
    ]
    .iter()
    .enumerate()
    {
        let ts = format!("{base}.00010{i}");
        deliver(&ctx, &message_event(T, "C1", "U1", &ts, text)).await;
    }
    agent(&ctx.db).await;
    let view = org::team_view(&ctx.db, T, "U2").await.unwrap().expect("U2");
    assert_eq!(view.user.collaborators[0].0, "U1");
    let now = chief::platform::db::now();
    let today = chrono::DateTime::from_timestamp(now, 0)
        .unwrap()
        .date_naive();
    let row = prepare_with(
        &ctx,
        &PrepareRequest::on_demand(
            T,
            "U2",
            today,
            1,
            now,
            chief::ai::llm::Priority::Interactive,
        ),
    )
    .await
    .unwrap();
    let whys: Vec<&str> = row
        .briefing
        .stories
        .iter()
        .map(|s| s.why.as_str())
        .collect();
    assert!(
        whys.iter().any(|w| w.contains("whom you work with")),
        "{whys:?}"
    );
}

on_both_backends!(the_ranking_knows_who_the_reader_works_with);
