//! `chief context` on real Slack exports: imported into a scratch database, explained as a click
//! would be, printed as Markdown or JSON. No Slack, no model.

mod common;

use std::process::Command;

use serde_json::Value;

fn chief_context(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_chief"))
        .arg("context")
        .args(args)
        .env_clear()
        .env("RUST_LOG", "warn")
        .output()
        .expect("chief runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn export(name: &str) -> String {
    common::fixtures()
        .join("slack-exports")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn a_thread_of_the_racket_export_is_explained_in_markdown() {
    let racket = export("racket/export-2021-03-14-to-2021-06-07");
    let (ok, out, err) = chief_context(&[
        "--export",
        &racket,
        "--channel",
        "C06V96CKX",
        "--ts",
        "1615934369.019000",
    ]);
    assert!(ok, "{err}");
    assert!(out.starts_with("# #general\n"), "{out}");
    assert!(out.contains("bootstrapping compilers"), "{out}");
    assert!(out.contains("**Key messages**"), "{out}");
    // The reply in the thread is linked into its thread.
    assert!(
        out.contains("/archives/C06V96CKX/p1615934667020200?thread_ts=1615934369.019000"),
        "{out}"
    );
    // Written for the author: their own question is "you".
    assert!(out.contains("You ask"), "{out}");
}

#[test]
fn an_unthreaded_channel_of_the_houston_export_as_json() {
    let houston = export("houston");
    let (ok, out, err) = chief_context(&[
        "--export",
        &houston,
        "--channel",
        "C061A2UGJ",
        "--ts",
        "1433866058.000003",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["user"], "U061A1R2R", "the author reads it by default");
    let e = &v["explanation"];
    assert_eq!(e["title"], "#general");
    let text = e["paragraphs"].to_string();
    assert!(text.contains("census data"), "{text}");
    let sources = e["sources"].as_array().unwrap();
    assert_eq!(
        sources[0]["ts"], "1433866058.000003",
        "the clicked message first"
    );
    for s in sources {
        assert_eq!(s["channel"], "C061A2UGJ", "only the clicked channel");
        let ts: f64 = s["ts"].as_str().unwrap().parse().unwrap();
        assert!((ts - 1433866058.0).abs() <= 3600.0, "within the hour");
    }
}

#[test]
fn a_reader_outside_the_channel_is_refused() {
    let racket = export("racket/export-2021-03-14-to-2021-06-07");
    let (ok, out, err) = chief_context(&[
        "--export",
        &racket,
        "--channel",
        "C06V96CKX",
        "--ts",
        "1615934369.019000",
        "--user",
        "U0NOTHERE",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("You're not in #general, so I can't explain this conversation."),
        "{out}"
    );
    assert!(!out.contains("bootstrapping"), "{out}");
}
