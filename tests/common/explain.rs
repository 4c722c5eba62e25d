//! A seeded conversation for the click-to-context, `/chief` and App Home tests: a channel with a
//! thread and neighbours around a clicked message, and decoys that must never show up (the same
//! channel outside the hour, another channel the reader is in, a private channel they are not in).

use chief::model::events::{PostedMessage, User};
use chief::platform::db::Db;
use chief::platform::db::messages::{self, Source};
use serde_json::Value;

/// The ids of the real `message_action` fixture, so the payload is used as captured.
pub const TEAM: &str = "T013108BYLS";
pub const CHANNEL: &str = "C02MEN6N1EW";
pub const READER: &str = "U02M9M339R9";
pub const ALICE: &str = "U0ALICE01";
pub const BOB: &str = "U0BOB0001";
pub const CAROL: &str = "U0CAROL01";
/// A member of nothing.
pub const OUTSIDER: &str = "U0OUTSIDE";
pub const OTHER_CHANNEL: &str = "C0OTHER001";
pub const SECRET_CHANNEL: &str = "G0SECRET01";

/// Words that appear only in decoys.
/// (Words, not numbers: digits could match a timestamp by chance.)
pub const DECOYS: &[&str] = &["Zebra", "Walrus", "Quokka", "Penguin", "Flamingo", "Okapi"];

pub struct Seeded {
    /// The clicked message's time.
    pub t0: i64,
    pub clicked: String,
    pub thread_replies: Vec<String>,
    pub late_reply: String,
    pub neighbours: Vec<String>,
    pub decoys: Vec<String>,
}

pub fn ts(t: i64) -> String {
    format!("{t}.000100")
}

pub fn posted(channel: &str, t: i64, user: &str, text: &str, thread: Option<i64>) -> PostedMessage {
    PostedMessage {
        channel_id: channel.into(),
        ts: ts(t),
        thread_ts: thread.map(ts),
        user_id: Some(user.into()),
        bot_id: None,
        subtype: None,
        text: text.into(),
        mentions: vec![],
        posted_at: t,
        edited_at: None,
        reply_count: None,
        channel_private: None,
        reactions: vec![],
    }
}

/// The directory only: people, channels and who is in which.
pub async fn seed_directory(db: &Db) {
    let mut conn = db.pool().acquire().await.expect("a connection");
    for (id, name) in [
        (READER, "dana"),
        (ALICE, "alice"),
        (BOB, "bob"),
        (CAROL, "carol"),
        (OUTSIDER, "oscar"),
    ] {
        chief::platform::db::directory::upsert_user(
            &mut *conn,
            TEAM,
            &User {
                user_id: id.into(),
                name: Some(name.into()),
                display_name: Some(name.into()),
                real_name: Some(format!("{} Example", capitalise(name))),
                tz_offset: Some(0),
                ..User::default()
            },
            1,
        )
        .await
        .expect("user");
    }
    drop(conn);
    for (id, name, private, members) in [
        (CHANNEL, "platform", false, vec![READER, ALICE, BOB, CAROL]),
        (OTHER_CHANNEL, "random", false, vec![READER, ALICE, BOB]),
        (SECRET_CHANNEL, "acquisition", true, vec![ALICE, BOB]),
    ] {
        super::add_channel(db, TEAM, id, name, private, &members).await;
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The conversation (see the module docs). `t0` is three hours ago.
pub async fn seed(db: &Db) -> Seeded {
    seed_directory(db).await;
    let t0 = chief::platform::db::now() - 3 * 3600;
    let mut conn = db.pool().acquire().await.expect("a connection");
    let messages_to_store = vec![
        // The clicked message: a thread parent.
        posted(
            CHANNEL,
            t0,
            ALICE,
            "Can we move the payments migration cutover to Thursday? The ledger backfill is still running.",
            Some(t0),
        ),
        // Its thread: two replies within the hour, one two hours later (the thread is whole).
        posted(
            CHANNEL,
            t0 + 60,
            BOB,
            "Thursday works for me, I will pause the ledger backfill tonight.",
            Some(t0),
        ),
        posted(
            CHANNEL,
            t0 + 120,
            READER,
            "Agreed, we go with Thursday for the payments migration cutover.",
            Some(t0),
        ),
        posted(
            CHANNEL,
            t0 + 7200,
            CAROL,
            "The payments migration cutover checklist is in the runbook now.",
            Some(t0),
        ),
        // Neighbours within the hour.
        posted(
            CHANNEL,
            t0 - 1800,
            BOB,
            "The payments migration dry run finished and the ledger totals match.",
            None,
        ),
        posted(
            CHANNEL,
            t0 + 1500,
            ALICE,
            "Should we tell finance about the payments migration delay before Thursday?",
            None,
        ),
        // Decoys: same channel outside the hour.
        posted(
            CHANNEL,
            t0 - 3 * 3600,
            BOB,
            "Zebra: the payments migration budget was Okapi-sized last quarter.",
            None,
        ),
        posted(
            CHANNEL,
            t0 + 2 * 3600 + 300,
            ALICE,
            "Walrus reminder about the payments migration retro, room Quokka.",
            None,
        ),
        // Another channel the reader is in, at the same time.
        posted(
            OTHER_CHANNEL,
            t0 + 30,
            BOB,
            "Penguin says the payments migration cutover moved again.",
            None,
        ),
        // A private channel the reader is not in.
        posted(
            SECRET_CHANNEL,
            t0 + 10,
            ALICE,
            "Flamingo: the payments migration is part of the acquisition deal.",
            None,
        ),
    ];
    for m in &messages_to_store {
        messages::upsert(&mut conn, TEAM, m, Source::Event)
            .await
            .expect("message");
    }
    Seeded {
        t0,
        clicked: ts(t0),
        thread_replies: vec![ts(t0 + 60), ts(t0 + 120)],
        late_reply: ts(t0 + 7200),
        neighbours: vec![ts(t0 - 1800), ts(t0 + 1500)],
        decoys: vec![
            ts(t0 - 3 * 3600),
            ts(t0 + 2 * 3600 + 300),
            ts(t0 + 30),
            ts(t0 + 10),
        ],
    }
}

/// The real `message_action` fixture, turned into chief's shortcut on `ts`.
pub fn shortcut_payload(ts: &str, user: &str, trigger_id: &str, response_url: &str) -> String {
    let mut payload =
        super::fixture_json(&format!("{}/message_action.json", super::ABBOT_PAYLOADS));
    payload["callback_id"] = Value::String("explain_in_context".into());
    payload["user"]["id"] = Value::String(user.into());
    payload["trigger_id"] = Value::String(trigger_id.into());
    payload["response_url"] = Value::String(response_url.into());
    payload["message_ts"] = Value::String(ts.into());
    payload["message"]["ts"] = Value::String(ts.into());
    payload["message"]["thread_ts"] = Value::String(ts.into());
    payload.to_string()
}

/// The real slash-command fixture (omnibot), as `/chief <text>` from `user`.
pub fn command_fields(
    text: &str,
    user: &str,
    trigger_id: &str,
    response_url: &str,
) -> Vec<(String, String)> {
    let payload = super::fixture_json(
        "payloads/omnibot/data/mock/slash_command/user_issues_echo_command.json",
    );
    let mut fields: Vec<(String, String)> = payload
        .as_object()
        .expect("an object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    for (k, v) in fields.iter_mut() {
        match k.as_str() {
            "team_id" => *v = TEAM.into(),
            "channel_id" => *v = CHANNEL.into(),
            "channel_name" => *v = "platform".into(),
            "user_id" => *v = user.into(),
            "command" => *v = "/chief".into(),
            "text" => *v = text.into(),
            "trigger_id" => *v = trigger_id.into(),
            "response_url" => *v = response_url.into(),
            _ => {}
        }
    }
    fields
}
