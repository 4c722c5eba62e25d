//! Bad input never panics: property tests over every parser that reads what Slack (or anyone
//! reaching the request URLs, or an export file) sends.
//!
//! Inputs are arbitrary bytes and strings, arbitrary JSON built from Slack's own vocabulary (so
//! the parsers get past their first `type` check), and real captured payloads with random parts
//! replaced. Each property says only: the parser returns (a value or an error) — it does not panic,
//! hang, or accept what it must refuse.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use chief::slack::convert::{self, BotIdentity, Options};
use chief::slack::envelope::{self, Envelope};
use chief::slack::markup::{self as text, NameMap, NoNames};
use chief::slack::signature::{MAX_SKEW_SECS, Verifier};
use proptest::prelude::*;
use proptest::sample::select;
use secrecy::SecretString;
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------------
// Generators.

/// Keys Slack payloads use, so generated objects reach past the parsers' first checks.
const KEYS: &[&str] = &[
    "type",
    "subtype",
    "event",
    "event_id",
    "team_id",
    "team",
    "id",
    "user",
    "users",
    "channel",
    "channel_type",
    "text",
    "ts",
    "thread_ts",
    "event_ts",
    "blocks",
    "elements",
    "elements",
    "message",
    "previous_message",
    "deleted_ts",
    "bot_id",
    "bot_profile",
    "files",
    "name",
    "title",
    "item",
    "reaction",
    "item_user",
    "members",
    "is_private",
    "is_im",
    "is_mpim",
    "profile",
    "tz",
    "tz_offset",
    "real_name",
    "display_name",
    "deleted",
    "is_bot",
    "url",
    "user_id",
    "range",
    "style",
    "callback_id",
    "trigger_id",
    "response_url",
    "actions",
    "action_id",
    "value",
    "selected_option",
    "selected_options",
    "selected_conversations",
    "view",
    "hash",
    "state",
    "container",
    "tokens",
    "bot",
    "oauth",
    "challenge",
    "edited",
    "reply_count",
    "attachments",
    "channel_id",
    "message_ts",
    "command",
    "emoji",
    "unicode",
    "border",
    "indent",
    "offset",
    "rich_text_section",
    "rich_text_list",
    "rich_text_quote",
];

/// Values those keys often hold.
const WORDS: &[&str] = &[
    "event_callback",
    "url_verification",
    "app_rate_limited",
    "message",
    "message_changed",
    "message_deleted",
    "thread_broadcast",
    "file_share",
    "bot_message",
    "me_message",
    "reaction_added",
    "reaction_removed",
    "member_joined_channel",
    "member_left_channel",
    "channel_rename",
    "channel_archive",
    "channel_unarchive",
    "channel_deleted",
    "group_deleted",
    "channel_left",
    "user_change",
    "team_join",
    "app_home_opened",
    "app_uninstalled",
    "tokens_revoked",
    "block_actions",
    "message_action",
    "shortcut",
    "view_submission",
    "explain_in_context",
    "rich_text",
    "rich_text_section",
    "rich_text_list",
    "rich_text_quote",
    "rich_text_preformatted",
    "user",
    "channel",
    "usergroup",
    "broadcast",
    "link",
    "emoji",
    "date",
    "color",
    "C0123",
    "G0123",
    "D0123",
    "U0123",
    "W0123",
    "T0123",
    "B0123",
    "S0123",
    "1700000000.000100",
    "1700000000",
    "-1",
    "",
    "im",
    "mpim",
    "group",
    "private_channel",
    "<@U0123>",
    "<@U0123|ann>",
    "<#C0123|eng>",
    "<#C0123>",
    "<!here>",
    "<!subteam^S1|@team>",
    "<https://x.example|label>",
    "<mailto:a@b.c>",
    "&amp;&lt;&gt;",
    ":tada:",
    "*bold*",
    "`code`",
    "```block```",
    "> quote",
    "\u{0}",
    "\u{202e}",
    "🙂",
    "ñ",
    "a\u{301}",
];

fn slack_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(WORDS).prop_map(str::to_string),
        2 => any::<String>(),
        2 => "[<>@#!|&;:a-zA-Z0-9 ._/*~`^-]{0,40}",
        1 => prop::collection::vec(select(WORDS), 0..6).prop_map(|w| w.concat()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(KEYS).prop_map(str::to_string),
        1 => "[a-z_]{0,10}",
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        slack_string().prop_map(Value::String),
    ]
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Real captured payloads (events, interactions) from the shared fixtures.
fn real_payloads() -> &'static [Value] {
    static PAYLOADS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    PAYLOADS.get_or_init(|| {
        let dir = common::fixtures().join(common::ABBOT_PAYLOADS);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        let payloads: Vec<Value> = files
            .iter()
            .filter_map(|f| serde_json::from_slice(&std::fs::read(f).ok()?).ok())
            .collect();
        assert!(
            payloads.len() > 20,
            "real payloads expected in {} (set CHIEF_FIXTURES)",
            dir.display()
        );
        payloads
    })
}

/// Replaces the node reached by following `path` (indices taken modulo each node's size) with
/// `replacement`, or deletes it when `replacement` is `None`.
fn mutate(value: &mut Value, path: &[usize], replacement: Option<Value>) {
    let Some((&step, rest)) = path.split_first() else {
        if let Some(r) = replacement {
            *value = r;
        }
        return;
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            let key = map
                .keys()
                .nth(step % map.len())
                .cloned()
                .unwrap_or_default();
            if rest.is_empty() && replacement.is_none() {
                map.remove(&key);
            } else if let Some(child) = map.get_mut(&key) {
                mutate(child, rest, replacement);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = step % items.len();
            if rest.is_empty() && replacement.is_none() {
                items.remove(i);
            } else {
                mutate(&mut items[i], rest, replacement);
            }
        }
        other => {
            if let Some(r) = replacement {
                *other = r;
            }
        }
    }
}

/// A real payload with one to four parts replaced by arbitrary JSON or deleted.
fn mutated_payload() -> impl Strategy<Value = Value> {
    let edit = (
        prop::collection::vec(any::<usize>(), 0..6),
        prop::option::weighted(0.8, arbitrary_json()),
    );
    (any::<usize>(), prop::collection::vec(edit, 1..5)).prop_map(|(pick, edits)| {
        let payloads = real_payloads();
        let mut value = payloads[pick % payloads.len()].clone();
        for (path, replacement) in edits {
            mutate(&mut value, &path, replacement);
        }
        value
    })
}

fn any_payload() -> impl Strategy<Value = Value> {
    prop_oneof![2 => mutated_payload(), 1 => arbitrary_json()]
}

fn names() -> NameMap {
    let mut names = NameMap::default();
    names.users.insert("U0123".into(), "Ann <b>&".into());
    names.channels.insert("C0123".into(), "eng".into());
    names.usergroups.insert("S0123".into(), "team".into());
    names
}

/// 512 cases a property (`PROPTEST_CASES` for a longer hunt).
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(512),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Request signatures.

proptest! {
    #![proptest_config(config())]

    /// Any headers, any body, any clock: an answer, never a panic, and never `Ok` unless the
    /// signature is the real one within five minutes.
    #[test]
    fn signature_verification_never_panics(
        signature in prop::option::of(prop_oneof![any::<String>(), "v0=[0-9a-f]{0,70}"]),
        timestamp in prop::option::of(prop_oneof![
            any::<String>(),
            any::<i64>().prop_map(|n| n.to_string()),
            Just(i64::MIN.to_string()),
            Just(i64::MAX.to_string()),
            " ?[0-9]{1,25} ?",
        ]),
        body in prop::collection::vec(any::<u8>(), 0..512),
        now in prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), 1_600_000_000i64..1_900_000_000],
    ) {
        let verifier = Verifier::new(SecretString::from("a-signing-secret"));
        let result = verifier.verify(signature.as_deref(), timestamp.as_deref(), &body, now);
        if result.is_ok() {
            let ts = timestamp.unwrap_or_default();
            let expected = verifier.sign(ts.trim(), &body);
            prop_assert_eq!(signature.as_deref(), Some(expected.as_str()));
            let ts: i64 = ts.trim().parse().unwrap_or(i64::MIN);
            prop_assert!(now.abs_diff(ts) <= MAX_SKEW_SECS as u64);
        }
    }

    /// A request signed now verifies; the same request with one byte changed does not.
    #[test]
    fn a_signature_binds_body_and_time(
        body in prop::collection::vec(any::<u8>(), 1..512),
        flip in any::<usize>(),
        now in 1_600_000_000i64..1_900_000_000,
        skew in -MAX_SKEW_SECS..=MAX_SKEW_SECS,
    ) {
        let verifier = Verifier::new(SecretString::from("a-signing-secret"));
        let ts = (now + skew).to_string();
        let signature = verifier.sign(&ts, &body);
        prop_assert!(verifier.verify(Some(&signature), Some(&ts), &body, now).is_ok());
        let mut tampered = body.clone();
        let i = flip % tampered.len();
        tampered[i] ^= 0x01;
        prop_assert!(verifier.verify(Some(&signature), Some(&ts), &tampered, now).is_err());
        prop_assert!(verifier.verify(Some(&signature), Some(&ts), &body, now + MAX_SKEW_SECS * 2 + 1).is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// Envelopes, interactions, commands and event conversion.

proptest! {
    #![proptest_config(config())]

    #[test]
    fn envelopes_never_panic_on_bytes(body in prop::collection::vec(any::<u8>(), 0..1024)) {
        let _ = envelope::parse_event(&body);
        let _ = envelope::parse_interaction(&body);
        let _ = envelope::parse_command(&body);
    }

    #[test]
    fn envelopes_never_panic_on_json(value in any_payload()) {
        let body = serde_json::to_vec(&value).unwrap_or_default();
        if let Ok(Envelope::EventCallback(inbound)) = envelope::parse_event(&body) {
            // What is stored is JSON again, and says which request it was.
            prop_assert!(serde_json::from_str::<Value>(&inbound.payload).is_ok());
            prop_assert!(!inbound.dedupe_key.is_empty());
        }
        let form = serde_urlencoded::to_string([("payload", value.to_string())]).unwrap_or_default();
        let _ = envelope::parse_interaction(form.as_bytes());
        let _ = envelope::interaction_from_json(&value.to_string());
        let _ = envelope::command_from_json(value.clone());
        if let Value::Object(map) = &value {
            let fields: Vec<(String, String)> = map
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                .collect();
            let form = serde_urlencoded::to_string(&fields).unwrap_or_default();
            let _ = envelope::parse_command(form.as_bytes());
        }
    }

    #[test]
    fn interactions_never_panic(value in any_payload()) {
        let _ = chief::slack::interactions::parse(&value);
    }

    /// Event conversion reads anything: events come out or nothing does.
    #[test]
    fn event_conversion_never_panics(value in any_payload(), ingest_bots in any::<bool>()) {
        let bot = BotIdentity { user_id: Some("U0123".into()), bot_id: Some("B0123".into()) };
        for options in [
            Options::default(),
            Options { bot: Some(&bot), ingest_bot_messages: ingest_bots },
        ] {
            let _ = convert::convert(&value, &options, &NoNames);
            let _ = convert::convert(&value, &options, &names());
            let _ = convert::message_from_json(&value, "C0123", &options, &names());
            if let Some(event) = value.get("event") {
                let _ = convert::message_from_json(event, "C0123", &options, &NoNames);
            }
        }
        let _ = convert::envelope_team(&value);
        let _ = convert::envelope_refs(&value);
        let _ = convert::message_refs(&value);
        let _ = convert::user_from_json(&value);
        let _ = convert::channel_from_json(&value);
    }
}

// ---------------------------------------------------------------------------------------------
// The `/chief` grammar and settings.

fn command_text() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        select(
            &[
                "briefing",
                "brief",
                "context",
                "interests",
                "add",
                "remove",
                "time",
                "auto",
                "days",
                "mute",
                "unmute",
                "pause",
                "resume",
                "help",
                "mon-fri",
                "weekdays",
                "9am",
                "9:30 pm",
                "17:30",
                "noon",
                "0930",
                "24:61",
                "#eng",
                "<#C0123|eng>",
                "<#C0123>",
                ",",
                ", ,",
                "https://x.slack.com/archives/C0123/p1700000000000100",
                "https://x.slack.com/archives/C0123/p1700000000000100?thread_ts=1700000000.000100",
                "https://x.slack.com/archives/C0123/p",
                "https://x.slack.com/archives//p99999999999999999999",
                "p170000000000010",
                "mon,wed and fri",
                "fri-mon",
                "monday to thursday",
            ][..]
        )
        .prop_map(str::to_string),
        any::<String>(),
        "[a-z0-9:#<>|,.@ -]{0,12}",
    ];
    prop::collection::vec(word, 0..6).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_chief_grammar_never_panics(text in command_text()) {
        let command = chief::features::command::parse::parse(&text);
        let _ = command.name();
        let _ = chief::features::command::parse::MessageLink::parse(&text);
        let _ = chief::features::command::parse::ChannelRef::parse(&text);
        let _ = chief::features::command::parse::help_reply(Some(&text));
        let _ = chief::model::settings::DeliveryTime::parse(&text);
        let _ = chief::model::settings::DeliveryDays::parse(&text);
    }
}

// ---------------------------------------------------------------------------------------------
// mrkdwn and rich_text normalisation.

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mrkdwn_normalisation_never_panics(text in prop_oneof![slack_string(), any::<String>(),
        prop::collection::vec(slack_string(), 0..8).prop_map(|p| p.concat())]) {
        let _ = text::mrkdwn_to_plain(&text, &names());
        let _ = text::mrkdwn_to_plain(&text, &NoNames);
        let _ = text::decode_entities(&text);
        let _ = text::mrkdwn_refs(&text);
    }

    #[test]
    fn rich_text_normalisation_never_panics(blocks in any_payload(), text in slack_string()) {
        let blocks = match blocks {
            Value::Array(_) => blocks,
            other => other.get("blocks").cloned().unwrap_or(Value::Array(vec![other])),
        };
        let _ = text::has_rich_text(&blocks);
        let _ = text::rich_text_to_plain(&blocks, &names());
        let _ = text::rich_text_refs(&blocks);
        let _ = text::message_to_plain(&text, &blocks, &names());
        let _ = text::message_refs(&text, &blocks);
    }
}

// ---------------------------------------------------------------------------------------------
// Slack export import on arbitrary and corrupt files, as folders and zips.

/// One export as files (relative path → bytes) and how it is handed to `import_path`.
#[derive(Clone, Debug)]
struct ExportSpec {
    files: Vec<(String, Vec<u8>)>,
    form: ExportForm,
}

#[derive(Clone, Copy, Debug)]
enum ExportForm {
    Folder,
    Zip {
        nested: bool,
    },
    /// A zip cut short.
    TruncatedZip {
        keep_per_mille: u16,
    },
    /// Random bytes named `.zip`.
    NotAZip,
}

fn file_bytes(json: impl Strategy<Value = Value>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => json.prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
        1 => Just(Vec::new()),
        1 => Just(b"[{\"ts\": \"1700000000.0001\", \"text\": \"cut".to_vec()),
    ]
}

/// A channel object as `channels.json` lists them, with parts made odd.
fn listed_channel() -> impl Strategy<Value = Value> {
    (
        select(&["C0123", "C0456", "G0789", "", "D0123"][..]),
        select(&["general", "random", "", "ünïcode", "dms", "a b", "x.json"][..]),
        prop::option::of(prop_oneof![
            prop::collection::vec(select(&["U0123", "U0456", ""][..]), 0..4).prop_map(|m| json!(m)),
            arbitrary_json(),
        ]),
        prop::collection::vec((key(), json_leaf()), 0..3),
    )
        .prop_map(|(id, name, members, extra)| {
            let mut c = json!({"id": id, "name": name, "created": 1_600_000_000});
            if let Some(m) = members {
                c["members"] = m;
            }
            for (k, v) in extra {
                c[k] = v;
            }
            c
        })
}

/// A day file's message: a real message with parts replaced, or anything.
fn export_message() -> impl Strategy<Value = Value> {
    let real = (
        select(&["U0123", "U0456", "", "USLACKBOT"][..]),
        slack_string(),
        "1[0-9]{9}\\.[0-9]{6}|[0-9.]{0,12}",
        prop::option::of(select(WORDS)),
        prop::collection::vec((key(), arbitrary_json()), 0..2),
    )
        .prop_map(|(user, text, ts, subtype, extra)| {
            let mut m = json!({"type": "message", "user": user, "text": text, "ts": ts});
            if let Some(s) = subtype {
                m["subtype"] = json!(s);
            }
            for (k, v) in extra {
                m[k] = v;
            }
            m
        });
    prop_oneof![4 => real, 1 => arbitrary_json()]
}

fn export_spec() -> impl Strategy<Value = ExportSpec> {
    let channels = prop_oneof![
        4 => prop::collection::vec(listed_channel(), 0..4).prop_map(Value::Array),
        1 => arbitrary_json(),
    ];
    let users = prop::option::of(prop_oneof![
        3 => prop::collection::vec(
            (select(&["U0123", "U0456", ""][..]), slack_string()).prop_map(|(id, name)| {
                json!({"id": id, "name": name, "team_id": "T0EXPORT", "tz_offset": "x"})
            }),
            0..3,
        )
        .prop_map(Value::Array),
        1 => arbitrary_json(),
    ]);
    let day = (
        select(
            &[
                "general",
                "random",
                "ünïcode",
                "dms",
                "a b",
                "C0123",
                "unlisted",
            ][..],
        ),
        select(
            &[
                "2021-01-04.json",
                "2021-13-40.json",
                "1970-01-01.json",
                "x.json",
                "2021-01-04",
            ][..],
        ),
        file_bytes(prop::collection::vec(export_message(), 0..6).prop_map(Value::Array)),
    );
    let form = prop_oneof![
        3 => Just(ExportForm::Folder),
        3 => any::<bool>().prop_map(|nested| ExportForm::Zip { nested }),
        1 => (1u16..1000).prop_map(|keep_per_mille| ExportForm::TruncatedZip { keep_per_mille }),
        1 => Just(ExportForm::NotAZip),
    ];
    (
        prop::option::weighted(0.9, file_bytes(channels)),
        users,
        prop::option::of(file_bytes(arbitrary_json())),
        prop::collection::vec(day, 0..6),
        form,
    )
        .prop_map(|(channels, users, groups, days, form)| {
            let mut files = Vec::new();
            if let Some(c) = channels {
                files.push(("channels.json".to_string(), c));
            }
            if let Some(u) = users {
                files.push((
                    "users.json".to_string(),
                    serde_json::to_vec(&u).unwrap_or_default(),
                ));
            }
            if let Some(g) = groups {
                files.push(("groups.json".to_string(), g));
            }
            for (folder, name, bytes) in days {
                files.push((format!("{folder}/{name}"), bytes));
            }
            files.sort_by(|a, b| a.0.cmp(&b.0));
            files.dedup_by(|a, b| a.0 == b.0);
            ExportSpec { files, form }
        })
}

fn zip_bytes(files: &[(String, Vec<u8>)], prefix: &str) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default();
        for (name, bytes) in files {
            if zip.start_file(format!("{prefix}{name}"), options).is_ok() {
                let _ = zip.write_all(bytes);
            }
        }
        let _ = zip.finish();
    }
    out.into_inner()
}

/// Writes the export where `import_path` will read it; returns that path.
fn materialise(spec: &ExportSpec, dir: &std::path::Path) -> PathBuf {
    match spec.form {
        ExportForm::Folder => {
            let root = dir.join("export");
            for (name, bytes) in &spec.files {
                let path = root.join(name);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).expect("temp dir is writable");
                }
                std::fs::write(&path, bytes).expect("temp dir is writable");
            }
            std::fs::create_dir_all(&root).expect("temp dir is writable");
            root
        }
        ExportForm::Zip { nested } => {
            let path = dir.join("export.zip");
            let prefix = if nested {
                "Slack export Jan 1 2021/"
            } else {
                ""
            };
            std::fs::write(&path, zip_bytes(&spec.files, prefix)).expect("writable");
            path
        }
        ExportForm::TruncatedZip { keep_per_mille } => {
            let path = dir.join("export.zip");
            let bytes = zip_bytes(&spec.files, "");
            let keep = bytes.len() * usize::from(keep_per_mille) / 1000;
            std::fs::write(&path, &bytes[..keep]).expect("writable");
            path
        }
        ExportForm::NotAZip => {
            let path = dir.join("export.zip");
            let bytes: Vec<u8> = spec.files.iter().flat_map(|(_, b)| b.clone()).collect();
            std::fs::write(&path, bytes).expect("writable");
            path
        }
    }
}

/// `import_path` on anything: a summary or a clear error, never a panic; and whatever it
/// stored is readable afterwards.
#[test]
fn import_never_panics_on_corrupt_exports() {
    chief::init_process();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let scratch = runtime.block_on(chief::testkit::scratch::ScratchDb::test_sqlite());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(96),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let outcomes = std::cell::RefCell::new(std::collections::BTreeMap::<String, usize>::new());
    let result = runner.run(&export_spec(), |spec| {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = materialise(&spec, dir.path());
        let outcome = runtime.block_on(chief::features::ingest::import::import_path(
            &scratch.db,
            &path,
            &chief::features::ingest::import::ImportOptions::default(),
            0,
            &indicatif::ProgressBar::hidden(),
        ));
        let label = match &outcome {
            Ok(_) => "imported",
            Err(e) => {
                prop_assert!(!e.to_string().is_empty(), "an error says what is wrong");
                "refused"
            }
        };
        if let Ok(summary) = outcome {
            let live = runtime
                .block_on(chief::platform::db::messages::count_live(
                    &scratch.db,
                    &summary.team_id,
                ))
                .expect("the store is readable after an import");
            prop_assert!(live >= 0);
        }
        *outcomes.borrow_mut().entry(label.to_string()).or_default() += 1;
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let outcomes = outcomes.into_inner();
    assert!(
        outcomes.get("imported").copied().unwrap_or(0) > 0,
        "some generated exports import: {outcomes:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The whole edge: signed requests with arbitrary bodies, then the worker that handles them.

#[derive(Clone, Debug)]
enum Request {
    Event(Vec<u8>),
    Interaction(Vec<u8>),
    Command(Vec<u8>),
}

fn signed_request() -> impl Strategy<Value = Request> {
    let event = prop_oneof![
        6 => (any_payload(), any::<u64>()).prop_map(|(mut v, id)| {
            // A fresh event id, so what is accepted is stored rather than collapsed.
            if let Value::Object(map) = &mut v {
                map.insert("event_id".into(), json!(format!("EvFuzz{id}")));
            }
            serde_json::to_vec(&v).unwrap_or_default()
        }),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ];
    let form_of = |value: Value| -> Vec<u8> {
        match value {
            Value::Object(map) => {
                let fields: Vec<(String, String)> = map
                    .into_iter()
                    .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                    .collect();
                serde_urlencoded::to_string(&fields)
                    .unwrap_or_default()
                    .into_bytes()
            }
            other => other.to_string().into_bytes(),
        }
    };
    prop_oneof![
        4 => event.prop_map(Request::Event),
        2 => prop_oneof![
            any_payload().prop_map(|v| serde_urlencoded::to_string([("payload", v.to_string())])
                .unwrap_or_default()
                .into_bytes()),
            prop::collection::vec(any::<u8>(), 0..256),
        ]
        .prop_map(Request::Interaction),
        2 => prop_oneof![
            (any_payload(), command_text()).prop_map(move |(v, text)| {
                let mut v = v;
                if let Value::Object(map) = &mut v {
                    map.insert("command".into(), json!("/chief"));
                    map.insert("text".into(), json!(text));
                }
                form_of(v)
            }),
            prop::collection::vec(any::<u8>(), 0..256),
        ]
        .prop_map(Request::Command),
    ]
}

/// Signed but arbitrary requests get 200 or 400 — never a 5xx, never a dropped connection — and
/// the worker handles (or parks) everything stored without dying: a normal event sent afterwards
/// is still handled.
#[test]
fn arbitrary_signed_requests_get_an_answer_and_never_stop_the_worker() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let app = runtime.block_on(common::spawn_app(common::Backend::Sqlite));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(128),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let accepted = std::cell::Cell::new(0usize);
    let result = runner.run(&signed_request(), |request| {
        let (path, content_type, body) = match &request {
            Request::Event(b) => ("/slack/events", "application/json", b),
            Request::Interaction(b) => (
                "/slack/interactions",
                "application/x-www-form-urlencoded",
                b,
            ),
            Request::Command(b) => ("/slack/commands", "application/x-www-form-urlencoded", b),
        };
        let status = runtime
            .block_on(app.post_signed(path, content_type, body))
            .status()
            .as_u16();
        prop_assert!(status == 200 || status == 400, "{path} answered {status}");
        if status == 200 {
            accepted.set(accepted.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(accepted.get() > 0, "some arbitrary requests are accepted");

    runtime.block_on(async {
        let counts = app.drained(Duration::from_secs(15)).await;
        assert_eq!(counts.pending, 0, "everything stored was handled or parked");
        let before = counts.done;
        let res = app
            .post_event(&json!({
                "type": "event_callback", "team_id": "T1", "event_id": "EvAfterFuzz",
                "event": {"type": "message", "channel": "C1", "user": "U1", "text": "still here",
                          "ts": "1700000000.000900", "channel_type": "channel"}
            }))
            .await;
        assert_eq!(res.status(), 200);
        let counts = app.drained(Duration::from_secs(10)).await;
        assert_eq!(
            (counts.pending, counts.done),
            (0, before + 1),
            "the worker is alive after the fuzzing"
        );
        app.stop().await;
    });
}
