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
    assert!(out.contains("you ask"), "{out}");
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

/// The export of issue 14's case, written for this test: in #design Priya asks to move the
/// design review; in the thread Lena moves it to Thursday 10 December at 2pm and Priya agrees;
/// half an hour later Lena writes that she booked Kestrel for it and asks Marco for mockups;
/// coffee-machine and umbrella chatter around it.
fn reschedule() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/exports/reschedule")
        .display()
        .to_string()
}

fn explain_reschedule(reader: &str) -> String {
    let (ok, out, err) = chief_context(&[
        "--export",
        &reschedule(),
        "--channel",
        "C0DESIGN01",
        "--ts",
        "1796634000.000100",
        "--user",
        reader,
    ]);
    assert!(ok, "{err}");
    out
}

#[test]
fn a_rescheduled_meeting_is_explained_with_the_threads_outcome_and_the_related_message() {
    let out = explain_reschedule("U0MARCO01");
    // Who asked what, not a keyword list.
    assert!(
        out.contains("In #design, Priya asks to move the design review."),
        "{out}"
    );
    assert!(!out.contains("is about"), "{out}");
    // What the thread decided: the new day and time, with the reply linked.
    assert!(
        out.contains(
            "In the thread, Lena replied: “Sure, let's move the design review to Thursday 10 December at 2pm.”"
        ),
        "{out}"
    );
    assert!(
        out.contains("/archives/C0DESIGN01/p1796634600000100?thread_ts=1796634000.000100"),
        "{out}"
    );
    // The related message half an hour later, linked; the chatter around it left out.
    assert!(
        out.contains("Later in #design, Lena wrote: “Reminder: I booked Kestrel"),
        "{out}"
    );
    assert!(
        out.contains("/archives/C0DESIGN01/p1796635800000100"),
        "{out}"
    );
    assert!(
        !out.contains("coffee") && !out.contains("umbrella"),
        "{out}"
    );
    // It asks the reader for something: that is said, and "nothing is asked" is not.
    assert!(
        out.contains("Lena asks you to bring the new checkout mockups."),
        "{out}"
    );
    assert!(!out.contains("Nothing here is asked of you"), "{out}");
    assert!(!out.contains("Marco"), "the reader is never named: {out}");
    // Said once, not repeated under another heading.
    assert_eq!(out.matches("move the design review.").count(), 1, "{out}");
}

#[test]
fn a_french_locale_reader_gets_french_framing_and_the_messages_as_written() {
    // Claire's users.json entry says "locale": "fr-FR"; nothing in the thread asks her anything.
    let out = explain_reschedule("U0CLAIRE1");
    assert!(
        out.contains("Dans #design : Priya asks to move the design review."),
        "{out}"
    );
    assert!(out.contains("**Résultat**"), "{out}");
    assert!(
        out.contains("Dans le fil, Lena a répondu : «\u{a0}Sure, let's move the design review to Thursday 10 December at 2pm.\u{a0}»"),
        "{out}"
    );
    assert!(
        out.contains("Plus tard dans #design, Lena a écrit : «\u{a0}Reminder"),
        "{out}"
    );
    assert!(
        out.contains("Rien ne vous est demandé directement ici."),
        "{out}"
    );
}
