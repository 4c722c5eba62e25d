//! `/chief` through the real HTTP edge: the real slash-command fixture (omnibot's), signed, with
//! `command=/chief`; answers come in the acknowledgement or through the response URL on the fake
//! Slack. Every subcommand is exercised.

#[macro_use]
mod common;

use std::time::Duration;

use chief::features::command::{BRIEFING_ACK, BRIEFING_FAILED};
use chief::model::settings::{DeliveryDays, DeliveryTime};
use chief::platform::db::profile;
use common::explain::*;
use common::{Backend, TestApp, spawn_app};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

/// What `/chief <text>` got: the acknowledgement's JSON (`None` when empty) and the ephemeral
/// answers posted to its response URL afterwards.
struct Answer {
    ack: Option<Value>,
    replies: Vec<String>,
}

impl Answer {
    fn reply(&self) -> &str {
        assert_eq!(self.replies.len(), 1, "one answer: {:?}", self.replies);
        &self.replies[0]
    }
}

async fn chief(app: &TestApp, text: &str, trigger: &str) -> Answer {
    chief_as(app, text, READER, trigger).await
}

async fn chief_as(app: &TestApp, text: &str, user: &str, trigger: &str) -> Answer {
    let before = app.slack.calls("response_url").len();
    let fields = command_fields(text, user, trigger, &app.slack.response_url(trigger));
    let res = app.post_command(&fields).await;
    assert_eq!(res.status(), 200, "acknowledged");
    let body = res.text().await.expect("a body");
    let ack = (!body.trim().is_empty())
        .then(|| serde_json::from_str::<Value>(&body).expect("the ack is JSON"));
    let counts = app.drained(WAIT).await;
    assert_eq!(counts.dead, 0, "nothing parked");
    let replies = app.slack.calls("response_url")[before..]
        .iter()
        .map(|c| {
            assert_eq!(c.param("response_type").as_deref(), Some("ephemeral"));
            c.param("text").unwrap_or_default()
        })
        .collect();
    Answer { ack, replies }
}

fn ack_text(answer: &Answer) -> String {
    answer
        .ack
        .as_ref()
        .expect("an answer in the ack")
        .to_string()
}

#[tokio::test]
async fn help_is_answered_at_once_in_block_kit() {
    let app = spawn_app(Backend::Sqlite).await;
    seed_directory(&app.ctx.db).await;
    for (text, trigger) in [("help", "t-help"), ("", "t-empty")] {
        let answer = chief(&app, text, trigger).await;
        let ack = answer.ack.as_ref().expect("help in the ack");
        assert_eq!(ack["response_type"], "ephemeral");
        let blocks = ack["blocks"].as_array().expect("Block Kit");
        chief::slack::blocks::to_slack(blocks).expect("valid blocks");
        let text = ack.to_string();
        for sub in [
            "/chief briefing",
            "/chief context",
            "/chief interests",
            "/chief time",
            "/chief days",
            "/chief mute",
            "/chief pause",
            "/chief resume",
        ] {
            assert!(text.contains(sub), "{sub} in the help");
        }
        assert!(answer.replies.is_empty(), "answered once");
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_arguments_get_the_help_not_an_error_dump() {
    let app = spawn_app(Backend::Sqlite).await;
    seed_directory(&app.ctx.db).await;
    for (text, trigger, said) in [
        ("frobnicate", "t-bad-1", "frobnicate"),
        ("time 25:99", "t-bad-2", "time"),
        ("days someday", "t-bad-3", "day"),
        ("mute", "t-bad-4", "Which channel"),
        ("context not-a-link", "t-bad-5", "message link"),
        ("interests add", "t-bad-6", "Which topics"),
        ("pause now", "t-bad-7", "takes nothing"),
    ] {
        let answer = chief(&app, text, trigger).await;
        let ack = ack_text(&answer);
        assert!(ack.contains(":warning:"), "{text}: {ack}");
        assert!(ack.contains(said), "{text}: {ack}");
        assert!(ack.contains("/chief briefing"), "{text}: the help follows");
        for dump in ["Error", "panicked", "thread '", "at src/"] {
            assert!(!ack.contains(dump), "{text}: {ack}");
        }
        assert!(answer.replies.is_empty());
    }
    // Nothing changed.
    assert_eq!(
        profile::get_settings(&app.ctx.db, TEAM, READER)
            .await
            .unwrap(),
        Default::default()
    );
    app.stop().await;
}

#[tokio::test]
async fn briefing_is_acknowledged_and_requested() {
    let app = spawn_app(Backend::Sqlite).await;
    seed_directory(&app.ctx.db).await;
    let answer = chief(&app, "briefing", "t-brief").await;
    let ack = answer.ack.as_ref().expect("an acknowledgement");
    assert_eq!(ack["response_type"], "ephemeral");
    assert_eq!(ack["text"], BRIEFING_ACK);
    // `briefing::request_now` ran: either the DM is on its way (nothing more to say), or it could
    // not be prepared and the user is told so politely.
    for reply in &answer.replies {
        assert_eq!(reply, BRIEFING_FAILED);
    }
    app.stop().await;
}

#[tokio::test]
async fn context_with_a_link_opens_the_explanation() {
    let app = spawn_app(Backend::Sqlite).await;
    let seeded = seed(&app.ctx.db).await;
    let link = format!(
        "<https://aseriousbiz.slack.com/archives/{CHANNEL}/p{}>",
        seeded.clicked.replace('.', "")
    );
    let answer = chief(&app, &format!("context {link}"), "t-context").await;
    assert!(answer.ack.is_none(), "the modal is the answer");
    let opened = app.slack.calls("views.open");
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].param("trigger_id").as_deref(), Some("t-context"));
    // The explanation follows as a job once the modal is open.
    let updated = app.slack.wait_for("views.update", 1, WAIT).await;
    assert_eq!(updated.len(), 1);
    let text = updated[0].json_param("view").unwrap().to_string();
    assert!(text.contains("Thursday"), "{text}");
    for decoy in DECOYS {
        assert!(!text.contains(decoy), "{decoy}: {text}");
    }

    // A link into a channel the user is not in: refused, without content.
    let answer = chief_as(&app, &format!("context {link}"), OUTSIDER, "t-context-2").await;
    assert!(answer.ack.is_none());
    let updated = app.slack.wait_for("views.update", 2, WAIT).await;
    let text = updated
        .last()
        .unwrap()
        .json_param("view")
        .unwrap()
        .to_string();
    assert!(text.contains("You're not in #platform"), "{text}");
    assert!(!text.contains("Thursday"));
    app.stop().await;
}

#[tokio::test]
async fn interests_are_listed_added_and_removed() {
    let app = spawn_app(Backend::Sqlite).await;
    seed_directory(&app.ctx.db).await;

    let empty = chief(&app, "interests", "t-int-1").await;
    assert!(empty.ack.is_none());
    assert!(
        empty.reply().contains("haven't learned"),
        "{}",
        empty.reply()
    );

    let added = chief(&app, "interests add payments migration, hiring", "t-int-2").await;
    assert!(
        added
            .reply()
            .contains("Added payments migration and hiring"),
        "{}",
        added.reply()
    );

    let listed = chief(&app, "interests", "t-int-3").await;
    let list = listed.reply();
    assert!(
        list.contains("payments migration — 5.0 (you added it)"),
        "{list}"
    );
    assert!(list.contains("hiring"), "{list}");

    let removed = chief(&app, "interests remove hiring", "t-int-4").await;
    assert!(
        removed.reply().contains("Removed hiring"),
        "{}",
        removed.reply()
    );
    let listed = chief(&app, "interests", "t-int-5").await;
    assert!(!listed.reply().contains("hiring"), "{}", listed.reply());

    let profile = profile::load_profile(&app.ctx.db, TEAM, READER, Default::default())
        .await
        .unwrap();
    assert_eq!(profile.suppressed(), vec!["hiring".to_string()]);
    assert!(profile.pinned().contains(&"payments migration".to_string()));
    app.stop().await;
}

/// time, days, mute/unmute, pause/resume, language: stored, confirmed, and the Home tab refreshed.
async fn settings_commands(backend: Backend) {
    let app = spawn_app(backend).await;
    seed_directory(&app.ctx.db).await;
    let settings = || profile::get_settings(&app.ctx.db, TEAM, READER);

    let a = chief(&app, "time 8:30", "t-set-1").await;
    assert!(a.ack.is_none());
    assert!(a.reply().contains("08:30"), "{}", a.reply());
    assert_eq!(
        settings().await.unwrap().delivery_time,
        DeliveryTime::parse("08:30").unwrap()
    );
    let publishes = app.slack.calls("views.publish");
    assert_eq!(publishes.len(), 1, "the Home tab is refreshed");
    assert_eq!(publishes[0].param("user_id").as_deref(), Some(READER));

    let a = chief(&app, "time auto", "t-set-2").await;
    assert!(
        a.reply().contains("usually start your day"),
        "{}",
        a.reply()
    );
    assert_eq!(settings().await.unwrap().delivery_time, DeliveryTime::Auto);

    let a = chief(&app, "days mon,wed,fri", "t-set-3").await;
    assert!(a.reply().contains("Mon"), "{}", a.reply());
    assert_eq!(
        settings().await.unwrap().delivery_days,
        DeliveryDays::parse("mon,wed,fri").unwrap()
    );

    // By name (looked up in the directory) and by Slack's escaped mention.
    let a = chief(&app, "mute #random", "t-set-4").await;
    assert!(
        a.reply().contains(&format!("<#{OTHER_CHANNEL}>")),
        "{}",
        a.reply()
    );
    assert!(settings().await.unwrap().is_muted(OTHER_CHANNEL));
    let a = chief(
        &app,
        &format!("mute <#{CHANNEL}|platform> #nope"),
        "t-set-5",
    )
    .await;
    assert!(a.reply().contains("I don't know #nope"), "{}", a.reply());
    assert!(settings().await.unwrap().is_muted(CHANNEL));
    let a = chief(&app, "unmute #random", "t-set-6").await;
    assert!(
        a.reply().contains("back in your briefings"),
        "{}",
        a.reply()
    );
    let s = settings().await.unwrap();
    assert!(!s.is_muted(OTHER_CHANNEL) && s.is_muted(CHANNEL));
    let a = chief(&app, "mute #nope", "t-set-7").await;
    assert!(a.reply().contains("I don't know #nope"), "{}", a.reply());

    let a = chief(&app, "pause", "t-set-8").await;
    assert!(a.reply().contains("Paused"), "{}", a.reply());
    assert!(settings().await.unwrap().paused);
    let a = chief(&app, "resume", "t-set-9").await;
    assert!(a.reply().contains("Resumed"), "{}", a.reply());
    assert!(!settings().await.unwrap().paused);

    let a = chief(&app, "language français", "t-set-10").await;
    assert!(a.reply().contains("Français"), "{}", a.reply());
    assert_eq!(settings().await.unwrap().language.as_deref(), Some("fr"));
    let a = chief(&app, "language auto", "t-set-11").await;
    assert!(a.reply().contains("Slack language"), "{}", a.reply());
    assert_eq!(settings().await.unwrap().language, None);
    app.stop().await;
}

on_both_backends!(backend: settings_commands);

/// `/chief priorities`: a request to the reader is listed as open with its link; once the reader
/// says it is done, it is listed as done (pending items first).
#[tokio::test]
async fn priorities_list_requests_to_you_until_you_say_they_are_done() {
    let app = spawn_app(Backend::Sqlite).await;
    seed_directory(&app.ctx.db).await;
    let empty = chief(&app, "priorities", "t-pri-0").await;
    assert!(empty.ack.is_none());
    assert!(
        empty.reply().contains("Nothing is waiting on you"),
        "{}",
        empty.reply()
    );

    let t = chief::platform::db::now() - 3600;
    let post = |at: i64, user: &str, text: &str| posted(CHANNEL, at, user, text, None);
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    let ask = post(
        t,
        ALICE,
        "@dana can you review the cutover checklist before Thursday?",
    );
    chief::platform::db::messages::upsert(
        &mut conn,
        TEAM,
        &ask,
        chief::platform::db::messages::Source::Event,
    )
    .await
    .unwrap();
    let open = chief(&app, "priorities", "t-pri-1").await;
    let text = open.reply();
    assert!(text.contains("*open* request"), "{text}");
    assert!(text.contains("review the cutover checklist"), "{text}");
    assert!(
        text.contains(&format!("/archives/{CHANNEL}/p")),
        "a link: {text}"
    );

    let done = post(t + 600, READER, "Done, I reviewed the cutover checklist.");
    chief::platform::db::messages::upsert(
        &mut conn,
        TEAM,
        &done,
        chief::platform::db::messages::Source::Event,
    )
    .await
    .unwrap();
    let closed = chief(&app, "priorities", "t-pri-2").await;
    assert!(
        closed.reply().contains("*done* request"),
        "{}",
        closed.reply()
    );
}
