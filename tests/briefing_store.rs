//! The briefing's repository on SQLite and PostgreSQL: one row per user-day, the delivery claim,
//! shared digests and their deletion with their messages, interest origins, workspace URLs, purge.

#[macro_use]
mod common;

use chief::model::domain::{Briefing, BriefingStory};
use chief::platform::db::briefings::{self, NewBriefing, Status};
use chief::platform::db::{Db, purge};
use chief::testkit::scratch::ScratchDb;

use common::briefing::{TEAM, add_channel, add_user, post};

fn briefing(user: &str, date: &str, title: &str) -> Briefing {
    Briefing {
        team_id: TEAM.into(),
        user_id: user.into(),
        date: date.into(),
        stories: vec![BriefingStory {
            id: "story-1".into(),
            title: title.into(),
            summary: "You asked for a date.".into(),
            why: "This is for you because you were mentioned.".into(),
            topics: vec!["release".into()],
            sources: vec![],
        }],
    }
}

fn day(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

async fn briefings_are_stored_once_and_claimed_once(db: &Db) {
    let first = briefing("U1", "2026-05-01", "first");
    fn new(b: &Briefing) -> NewBriefing<'_> {
        NewBriefing {
            local_date: day("2026-05-01"),
            edition: "",
            briefing: b,
            verdict: Some("pass"),
            run_id: None,
            window_start: 10,
            window_end: 20,
            status: Status::Prepared,
            skip_reason: None,
        }
    }
    let (row, created) = briefings::insert(db, &new(&first)).await.unwrap();
    assert!(created);
    assert_eq!(row.status, Status::Prepared);
    assert_eq!(row.briefing, first);
    // The same user-day again: the first one stays.
    let second = briefing("U1", "2026-05-01", "second");
    let (again, created) = briefings::insert(db, &new(&second)).await.unwrap();
    assert!(!created);
    assert_eq!(again.id, row.id);
    assert_eq!(again.briefing.stories[0].title, "first");

    // One claim wins; the loser sees it taken.
    assert!(briefings::claim(db, row.id, "replica-a").await.unwrap());
    assert!(!briefings::claim(db, row.id, "replica-b").await.unwrap());
    // Only the owner may give it back or finish it.
    assert!(!briefings::release(db, row.id, "replica-b").await.unwrap());
    assert!(briefings::release(db, row.id, "replica-a").await.unwrap());
    assert!(briefings::claim(db, row.id, "replica-b").await.unwrap());
    assert!(
        !briefings::mark_delivered(db, row.id, "replica-a", "D1", "1.2")
            .await
            .unwrap()
    );
    assert!(
        briefings::mark_delivered(db, row.id, "replica-b", "D1", "1.2")
            .await
            .unwrap()
    );
    assert!(!briefings::claim(db, row.id, "replica-a").await.unwrap());
    let row = briefings::get_by_id(db, row.id).await.unwrap().unwrap();
    assert_eq!(row.status, Status::Delivered);
    assert_eq!(row.dm_channel.as_deref(), Some("D1"));
    let found = briefings::find_by_message(db, TEAM, "U1", "D1", "1.2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, row.id);
    // Feedback acknowledgements accumulate.
    briefings::add_ack(db, row.id, "story-1", "Got it")
        .await
        .unwrap();
    let acks = briefings::add_ack(db, row.id, "story-2", "Muted")
        .await
        .unwrap();
    assert_eq!(acks.len(), 2);

    // An on-demand edition of the same day is a second row; latest() returns it.
    let extra = briefing("U1", "2026-05-01", "extra");
    let (edition, created) = briefings::insert(
        db,
        &NewBriefing {
            edition: "now:1",
            ..new(&extra)
        },
    )
    .await
    .unwrap();
    assert!(created && edition.id != row.id);
    assert_eq!(
        briefings::count_editions(db, TEAM, "U1", day("2026-05-01"))
            .await
            .unwrap(),
        1
    );
    let latest = briefings::latest(db, TEAM, "U1").await.unwrap().unwrap();
    assert!(latest.id == edition.id || latest.prepared_at >= row.prepared_at);

    // A claim whose owner died is never re-posted: it becomes `unknown`.
    assert!(briefings::claim(db, edition.id, "dead").await.unwrap());
    assert!(
        !briefings::mark_stale_unknown(db, edition.id, 0)
            .await
            .unwrap(),
        "a fresh claim is left alone"
    );
    assert!(
        briefings::mark_stale_unknown(db, edition.id, chief::platform::db::now() + 1)
            .await
            .unwrap()
    );
    let edition = briefings::get_by_id(db, edition.id).await.unwrap().unwrap();
    assert_eq!(edition.status, Status::Unknown);
    assert!(!briefings::claim(db, edition.id, "x").await.unwrap());
}

async fn digests_are_shared_and_go_with_their_messages(db: &Db) {
    add_user(db, "U1", "Ana Lima", "UTC").await;
    add_channel(db, "C1", "eng", false, &["U1"]).await;
    let t1 = post(db, "C1", 1_000, 1, "U1", "The release is on Friday", None).await;
    let t2 = post(
        db,
        "C1",
        1_060,
        1,
        "U1",
        "The release notes are ready",
        None,
    )
    .await;
    let ts = vec![t1.clone(), t2.clone()];
    let d = briefings::insert_digest(db, TEAM, "C1", (0, 2_000), "h1", &ts, "[]")
        .await
        .unwrap();
    // Stored twice (two readers at once): one row.
    let again = briefings::insert_digest(db, TEAM, "C1", (0, 2_000), "h1", &ts, "[1]")
        .await
        .unwrap();
    assert_eq!(again.id, d.id);
    assert_eq!(again.summaries, "[]");
    assert!(
        briefings::find_digest(db, TEAM, "C1", (0, 2_000), "h1")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        briefings::find_digest(db, TEAM, "C1", (0, 2_000), "other")
            .await
            .unwrap()
            .is_none()
    );
    // Deleting one of its messages deletes the digest (no summary outlives its messages).
    purge::delete_message_derivatives(db, TEAM, "C1", &t2)
        .await
        .unwrap();
    assert!(
        briefings::digests_of_channel(db, TEAM, "C1")
            .await
            .unwrap()
            .is_empty()
    );

    // Origins and the workspace URL.
    briefings::set_origin(db, TEAM, "U1", "release", "reacted", 10)
        .await
        .unwrap();
    briefings::set_origin(db, TEAM, "U1", "release", "feedback", 5)
        .await
        .unwrap();
    assert_eq!(
        briefings::origins(db, TEAM, "U1").await.unwrap()["release"],
        "reacted",
        "an older signal does not overwrite a newer origin"
    );
    briefings::set_workspace_url(db, TEAM, "https://acme.slack.com")
        .await
        .unwrap();
    assert_eq!(
        briefings::workspace_url(db, TEAM).await.unwrap().as_deref(),
        Some("https://acme.slack.com")
    );
    assert_eq!(
        briefings::top_channels(db, TEAM, "U1", (0, i64::MAX), 3)
            .await
            .unwrap(),
        vec![("C1".to_string(), 2)]
    );
    assert_eq!(
        briefings::people_names(db, TEAM).await.unwrap(),
        vec!["Ana Lima".to_string()]
    );

    // Uninstall leaves nothing.
    briefings::insert_digest(db, TEAM, "C1", (0, 2_000), "h2", &[t1], "[]")
        .await
        .unwrap();
    briefings::insert(
        db,
        &NewBriefing {
            local_date: day("2026-05-02"),
            edition: "",
            briefing: &briefing("U1", "2026-05-02", "t"),
            verdict: None,
            run_id: None,
            window_start: 0,
            window_end: 1,
            status: Status::Prepared,
            skip_reason: None,
        },
    )
    .await
    .unwrap();
    purge::purge_team(db, TEAM).await.unwrap();
    for table in [
        "briefings",
        "briefing_digests",
        "briefing_digest_messages",
        "briefing_interest_origins",
        "briefing_workspaces",
    ] {
        let n: i64 = sqlx::Row::try_get(
            &sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) AS n FROM {table}"
            )))
            .fetch_one(db.pool())
            .await
            .unwrap(),
            "n",
        )
        .unwrap();
        assert_eq!(n, 0, "{table} emptied by the purge");
    }
}

async fn every_team_table_is_purgeable(db: &Db) {
    let tables = purge::tables_with_team_column(db).await.unwrap();
    for t in tables {
        assert!(
            purge::TEAM_TABLES.iter().any(|x| x.table == t),
            "{t} is missing from TEAM_TABLES"
        );
    }
}

on_both_backends!(store);

async fn store(s: &ScratchDb) {
    common::init();
    briefings_are_stored_once_and_claimed_once(&s.db).await;
    digests_are_shared_and_go_with_their_messages(&s.db).await;
    every_team_table_is_purgeable(&s.db).await;
}
