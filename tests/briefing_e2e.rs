//! The daily briefing end to end, through the real HTTP edge: signed Slack events (messages in
//! several channels, the same topic in two of them, a reaction, a private channel the reader is
//! not in) → inbox → store + bus → interest agent → scheduler → jobs → exactly one DM on the fake
//! Slack, then a feedback click acknowledged in place.

mod common;

use std::time::Duration;

use chief::features::briefing::schedule;
use chief::model::interest::HalfLife;
use chief::platform::db::{briefings, profile};
use chief::testkit::fake_slack::{RecordedCall, Reply};
use serde_json::{Value, json};

use common::briefing::{
    ANA, BEN, CAT, DAN, DESIGN, ENG, EXEC, OPS, deliver_every_day_at_this_minute,
};
use common::{Backend, spawn_app_with};

const TEAM: &str = "T0E2E";

fn name_of(user: &str) -> &'static str {
    match user {
        ANA => "Ana Lima",
        BEN => "Ben Okafor",
        CAT => "Cat Duarte",
        DAN => "Dan Reyes",
        _ => "Someone",
    }
}

fn channel_of(id: &str) -> (&'static str, bool, Vec<&'static str>) {
    match id {
        ENG => ("eng", false, vec![ANA, BEN, CAT, "U0CHIEF"]),
        OPS => ("ops", false, vec![ANA, BEN, DAN, "U0CHIEF"]),
        DESIGN => ("design", false, vec![ANA, CAT, "U0CHIEF"]),
        EXEC => ("exec", true, vec![BEN, DAN, "U0CHIEF"]),
        _ => ("other", false, vec![]),
    }
}

fn envelope(event: Value) -> Value {
    json!({
        "token": "t", "team_id": TEAM, "api_app_id": "A0CHIEF", "type": "event_callback",
        "event_id": format!("Ev{}", uuid::Uuid::new_v4().simple()),
        "event_time": chief::platform::db::now(), "event": event,
    })
}

fn message(channel: &str, user: &str, ts: &str, text: &str) -> Value {
    let private = channel_of(channel).1;
    envelope(json!({
        "type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
        "team": TEAM, "channel_type": if private { "group" } else { "channel" },
    }))
}

fn reaction(user: &str, channel: &str, ts: &str, item_user: &str, at: i64) -> Value {
    envelope(json!({
        "type": "reaction_added", "user": user, "reaction": "eyes", "item_user": item_user,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": format!("{at}.000100"),
    }))
}

fn dms(calls: &[RecordedCall], channel: &str) -> usize {
    calls
        .iter()
        .filter(|c| c.param("channel").as_deref() == Some(channel))
        .count()
}

#[tokio::test]
async fn one_dm_with_the_readers_topic_first_and_nothing_from_channels_they_cannot_see() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    app.slack.respond_with("users.info", |call| {
        let id = call.param("user").unwrap_or_default();
        let name = name_of(&id);
        Reply::ok(
            json!({"user": {"id": id, "name": name.split(' ').next().unwrap().to_lowercase(),
            "real_name": name, "profile": {"display_name": name, "real_name": name},
            "tz": "Europe/Lisbon", "tz_offset": 0, "locale": "en-US"}}),
        )
    });
    app.slack.respond_with("conversations.info", |call| {
        let id = call.param("channel").unwrap_or_default();
        let (name, private, _) = channel_of(&id);
        Reply::ok(
            json!({"channel": {"id": id, "name": name, "is_channel": !private,
            "is_group": private, "is_private": private, "is_member": true}}),
        )
    });
    app.slack.respond_with("conversations.members", |call| {
        let id = call.param("channel").unwrap_or_default();
        Reply::ok(json!({"members": channel_of(&id).2, "response_metadata": {"next_cursor": ""}}))
    });

    // Three hours ago: the day's conversations.
    let base = chief::platform::db::now() - 3 * 3600;
    let ts = |minute: i64| format!("{}.000100", base + minute * 60);
    let events = [
        // The Postgres migration, in #eng and in #ops: one story.
        message(
            ENG,
            BEN,
            &ts(0),
            "The Postgres migration of the billing database starts on Thursday night.",
        ),
        message(
            ENG,
            CAT,
            &ts(2),
            "I reviewed the Postgres migration runbook for the billing database, the rollback steps look fine.",
        ),
        message(
            ENG,
            BEN,
            &ts(4),
            "Good, the Postgres migration keeps the billing database read-only for an hour.",
        ),
        message(
            OPS,
            DAN,
            &ts(6),
            "Ops will pause deploys during the Postgres migration of the billing database.",
        ),
        message(
            OPS,
            BEN,
            &ts(8),
            "Thanks Dan, the Postgres migration runbook links the billing database dashboards.",
        ),
        // Onboarding in #design: the reader's topic (she reacts to it).
        message(
            DESIGN,
            CAT,
            &ts(40),
            "The onboarding flow mockups are ready, the new signup screens are in Figma.",
        ),
        message(
            DESIGN,
            CAT,
            &ts(42),
            "The onboarding flow now skips the team invite step for solo signups.",
        ),
        // Flaky CI tests in #eng, later and unrelated.
        message(
            ENG,
            BEN,
            &ts(80),
            "The flaky integration tests in CI failed three times on the payments service.",
        ),
        message(
            ENG,
            CAT,
            &ts(82),
            "The payments service integration tests need a fixed seed, I will look at the flaky CI job.",
        ),
        // The private #exec channel the reader is not in.
        message(
            EXEC,
            BEN,
            &ts(90),
            "Confidential: the Zephyrsoft acquisition closes next month.",
        ),
        message(
            EXEC,
            DAN,
            &ts(92),
            "Zephyrsoft acquisition budget approved by the board.",
        ),
        // The reader reacts to the onboarding mockups.
        reaction(ANA, DESIGN, &ts(40), CAT, chief::platform::db::now() - 600),
    ];
    for event in &events {
        let res = app.post_event(event).await;
        assert_eq!(res.status(), 200, "{event}");
    }
    let counts = app.drained(Duration::from_secs(20)).await;
    assert_eq!((counts.pending, counts.dead), (0, 0));

    // The interest agent has seen the reaction (it runs inside chief, fed by the bus).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let p = profile::load_profile(&app.ctx.db, TEAM, ANA, HalfLife::default())
            .await
            .unwrap();
        if !p.top(5, chief::platform::db::now()).is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the reaction never reached Ana's profile"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Ana's delivery time is now (every day a delivery day): the scheduler queues her briefing
    // and chief's job worker prepares and delivers it.
    let ctx = app.ctx.clone();
    deliver_every_day_at_this_minute(&ctx, TEAM, ANA).await;
    let tick = schedule::tick(&ctx, chief::platform::db::now())
        .await
        .unwrap();
    assert_eq!(tick.preparations, 1, "{tick:?}");
    let posted = app
        .slack
        .wait_for("chat.postMessage", 1, Duration::from_secs(30))
        .await;
    assert_eq!(posted.len(), 1, "one DM");

    // More ticks, a second activity, a direct delivery: still one DM.
    for _ in 0..3 {
        schedule::tick(&ctx, chief::platform::db::now())
            .await
            .unwrap();
    }
    let again = message(
        DESIGN,
        ANA,
        &format!("{}.000200", chief::platform::db::now() - 30),
        "Looks great!",
    );
    app.post_event(&again).await;
    app.drained(Duration::from_secs(10)).await;
    let row = briefings::latest(&ctx.db, TEAM, ANA)
        .await
        .unwrap()
        .unwrap();
    let date = row.local_date;
    chief::features::briefing::deliver(&ctx, TEAM, ANA, date)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let posted = app.slack.calls("chat.postMessage");
    assert_eq!(posted.len(), 1, "still exactly one DM");
    let dm = &posted[0];
    let channel = dm.param("channel").unwrap();
    assert_eq!(channel, "D0ANA", "the DM opened with conversations.open");
    assert_eq!(dms(&posted, &channel), 1);

    // What the DM says.
    let row = briefings::latest(&ctx.db, TEAM, ANA)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, briefings::Status::Delivered);
    assert!(row.message_ts.is_some());
    let stories = &row.briefing.stories;
    for s in stories {
        println!(
            "*{}*\n{}\n_{}_\n{:?}\n",
            s.title,
            s.summary,
            s.why,
            s.sources.iter().map(|l| &l.permalink).collect::<Vec<_>>()
        );
    }
    assert!(!stories.is_empty() && stories.len() <= 3, "{stories:#?}");
    let text = format!(
        "{} {}",
        dm.param("text").unwrap_or_default(),
        dm.json_param("blocks").unwrap()
    );
    assert!(
        !text.contains("Zephyrsoft"),
        "private channel content leaked: {text}"
    );
    assert!(!text.contains(EXEC) && !text.contains("#exec"), "{text}");
    for story in stories {
        for s in &story.sources {
            assert_ne!(s.channel, EXEC);
            assert!(
                s.permalink
                    .starts_with(&format!("https://fake.slack.com/archives/{}/p", s.channel)),
                "{}",
                s.permalink
            );
        }
    }
    // The reader's topic first.
    let first = &stories[0];
    assert!(
        first.sources.iter().all(|s| s.channel == DESIGN)
            && format!("{} {}", first.title, first.summary)
                .to_lowercase()
                .contains("onboarding"),
        "the onboarding story (Ana reacted to it) comes first: {stories:#?}"
    );
    assert!(first.why.contains("react"), "{}", first.why);
    // The Postgres migration is one story citing both channels.
    let migration: Vec<_> = stories
        .iter()
        .filter(|s| {
            format!("{} {}", s.title, s.summary)
                .to_lowercase()
                .contains("postgres")
        })
        .collect();
    assert_eq!(migration.len(), 1, "{stories:#?}");
    let cited: std::collections::BTreeSet<&str> = migration[0]
        .sources
        .iter()
        .map(|s| s.channel.as_str())
        .collect();
    assert!(cited.contains(ENG) && cited.contains(OPS), "{cited:?}");
    // Second person: Ana is "you", never "Ana".
    assert!(!text.contains("Ana Lima"), "{text}");
    // The run is inspectable, with the guardrail's verdict.
    assert!(
        row.verdict
            .as_deref()
            .is_some_and(|v| v == "pass" || v.starts_with("corrected"))
    );

    // "More like this" on the first story, through the interactions endpoint.
    let payload = json!({
        "type": "block_actions", "team": {"id": TEAM}, "user": {"id": ANA, "team_id": TEAM},
        "container": {"type": "message", "channel_id": channel, "message_ts": row.message_ts},
        "channel": {"id": channel}, "trigger_id": "1.2.3",
        "actions": [{"action_id": "story_more", "block_id": format!("story:{}", first.id),
            "type": "button", "value": json!({"story": first.id, "action": "more"}).to_string()}],
    });
    let res = app.post_interaction(&payload.to_string()).await;
    assert_eq!(res.status(), 200);
    let updates = app
        .slack
        .wait_for("chat.update", 1, Duration::from_secs(10))
        .await;
    assert_eq!(updates.len(), 1);
    let blocks = updates[0].json_param("blocks").unwrap().to_string();
    assert!(blocks.contains("Got it — more like this"), "{blocks}");
    let p = profile::load_profile(&ctx.db, TEAM, ANA, HalfLife::default())
        .await
        .unwrap();
    let topic = first.topics.first().expect("the story has topics");
    assert!(
        p.score_of(topic, chief::platform::db::now()) >= 3.0,
        "{topic}: {:?}",
        p.top(10, chief::platform::db::now())
    );
    assert_eq!(app.slack.calls("chat.postMessage").len(), 1);
    app.stop().await;
}
