//! `chief brief --export` on the real fixture exports (houston, racket): without a model (the
//! extractive engine, through the real binary) and with a local OpenAI-compatible model server
//! answering valid JSON for every task.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chief::features::briefing::cli::{self, BriefArgs};
use serde_json::Value;

use common::briefing::{export_config, requests_by_task, valid_json_model};

fn exports() -> PathBuf {
    common::fixtures().join("slack-exports")
}

fn houston() -> PathBuf {
    exports().join("houston")
}

fn racket() -> PathBuf {
    exports().join("racket/export-2021-03-14-to-2021-06-07")
}

/// (channel id, ts) of every message in an export.
fn messages_of(export: &Path) -> BTreeSet<(String, String)> {
    let channels: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(export.join("channels.json")).unwrap())
            .unwrap();
    let mut all = BTreeSet::new();
    for c in channels {
        let (id, name) = (c["id"].as_str().unwrap(), c["name"].as_str().unwrap());
        let Ok(files) = std::fs::read_dir(export.join(name)) else {
            continue;
        };
        for f in files {
            let day: Vec<Value> =
                serde_json::from_str(&std::fs::read_to_string(f.unwrap().path()).unwrap()).unwrap();
            for m in day {
                if let Some(ts) = m["ts"].as_str() {
                    all.insert((id.to_string(), ts.to_string()));
                }
            }
        }
    }
    all
}

/// Checks the JSON output: 1–3 stories, each with a title, a summary and sources whose
/// permalinks are Slack's format and point at real messages of the export.
fn check(json: &Value, export: &Path, user: &str) {
    assert_eq!(json["user"], user);
    let stories = json["stories"].as_array().expect("stories");
    assert!(!stories.is_empty() && stories.len() <= 3, "{json:#}");
    let known = messages_of(export);
    let link = regex::Regex::new(
        r"^https://slack\.com/archives/(C[A-Z0-9]+)/p(\d{10})(\d{6})(\?thread_ts=\d+\.\d+&cid=C[A-Z0-9]+)?$",
    )
    .unwrap();
    for s in stories {
        assert!(!s["title"].as_str().unwrap().is_empty(), "{s:#}");
        assert!(!s["summary"].as_str().unwrap().is_empty(), "{s:#}");
        let sources = s["sources"].as_array().unwrap();
        assert!(!sources.is_empty(), "{s:#}");
        for src in sources {
            let (channel, ts) = (
                src["channel"].as_str().unwrap(),
                src["ts"].as_str().unwrap(),
            );
            assert!(
                known.contains(&(channel.to_string(), ts.to_string())),
                "{src:#}"
            );
            let permalink = src["permalink"].as_str().unwrap();
            let caps = link
                .captures(permalink)
                .unwrap_or_else(|| panic!("{permalink}"));
            assert_eq!(&caps[1], channel);
            assert_eq!(format!("{}.{}", &caps[2], &caps[3]), ts);
        }
    }
}

/// The real `chief` binary with no model configured.
fn run_binary(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chief"))
        .arg("brief")
        .args(args)
        .env("DATABASE_URL", "sqlite::memory:")
        .env("RUST_LOG", "warn")
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("CHIEF_CONFIG")
        .env_remove("SLACK_BOT_TOKEN")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("chief runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn chief_brief_without_a_model_on_houston_and_racket() {
    let export = houston();
    let export = export.to_str().unwrap();
    let json: Value = serde_json::from_str(&run_binary(&[
        "--export",
        export,
        "--user",
        "U061A5N1G",
        "--date",
        "2015-06-09",
        "--json",
    ]))
    .unwrap();
    assert_eq!(json["date"], "2015-06-09");
    check(&json, &houston(), "U061A5N1G");
    assert_eq!(json["verdict"], "pass");

    // Racket: the default date is the last day with messages the reader can see.
    let export = racket();
    let markdown = run_binary(&[
        "--export",
        export.to_str().unwrap(),
        "--user",
        "U01GH44F3GC",
    ]);
    println!("{markdown}");
    assert!(
        markdown.starts_with("# Briefing for benknoble — 2021-06-07"),
        "{markdown}"
    );
    assert!(markdown.contains("## 1. "), "{markdown}");
    assert!(
        markdown.contains("](https://slack.com/archives/C"),
        "{markdown}"
    );
    let json: Value = serde_json::from_str(&run_binary(&[
        "--export",
        export.to_str().unwrap(),
        "--user",
        "U01GH44F3GC",
        "--json",
    ]))
    .unwrap();
    check(&json, &racket(), "U01GH44F3GC");
}

#[tokio::test]
async fn chief_brief_with_a_local_model() {
    common::init();
    let llm = valid_json_model().await;
    for (export, user, date) in [
        (houston(), "U061A5N1G", Some("2015-06-09")),
        (racket(), "U01GH44F3GC", None),
    ] {
        let config = export_config(&llm);
        let args = BriefArgs {
            export: export.clone(),
            user: user.into(),
            date: date.map(|d| d.parse().unwrap()),
            json: true,
            workspace_url: "https://slack.com".into(),
        };
        let b = cli::brief_export(config, &args).await.expect("a briefing");
        let json = cli::to_json(&b);
        println!("{}", cli::markdown(&b));
        check(&json, &export, user);
        assert_eq!(b.verdict.as_deref(), Some("pass"));
    }
    let used = requests_by_task(&llm);
    for task in ["DiscussionSummary", "Grouping", "RankOutput", "Briefing"] {
        assert!(
            used.get(task).copied().unwrap_or(0) >= 2,
            "{task}: {used:?}"
        );
    }
}

/// The reader's profile on a day in the middle of the houston export knows only that day and the
/// 30 before it: the channels they wrote in most *then* (#datajam 20, #general 5, #sponsors 4
/// messages in the 30 days to 9 June 2015), not #get_feedback, created a year later. And the
/// channel digests are made in the reader's UTC offset (America/Chicago: UTC−5 in June), not 0.
#[tokio::test]
async fn an_export_briefing_of_a_past_day_does_not_see_the_future() {
    common::init();
    let llm = valid_json_model().await;
    let config = export_config(&llm);
    let args = BriefArgs {
        export: houston(),
        user: "U061A5N1G".into(),
        date: Some("2015-06-09".parse().unwrap()),
        json: true,
        workspace_url: "https://slack.com".into(),
    };
    cli::brief_export(config, &args).await.expect("a briefing");
    let requests = llm.requests();
    let rank = requests
        .iter()
        .find(|r| common::briefing::task_of(r) == "RankOutput")
        .expect("the ranking was asked");
    let input: Value = serde_json::from_str(rank.data().unwrap()).unwrap();
    assert_eq!(
        input["profile"]["top_channels"],
        serde_json::json!(["C061A0WJG", "C061A2UGJ", "C064P9LG4"]),
        "#datajam, #general, #sponsors: {}",
        input["profile"]
    );
    let offsets: BTreeSet<i64> = requests
        .iter()
        .filter(|r| common::briefing::task_of(r) == "DiscussionSummary")
        .filter_map(|r| serde_json::from_str::<Value>(r.data()?).ok())
        .filter_map(|d| d["utc_offset_secs"].as_i64())
        .collect();
    assert_eq!(
        offsets,
        BTreeSet::from([-5 * 3600]),
        "digests in the reader's offset"
    );
}
