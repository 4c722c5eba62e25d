//! The reader's language end to end, on `tests/exports/reschedule` (issue 14's click-to-context
//! case, plus a request to Claire later that day): Claire's `users.json` entry has
//! `"locale": "fr-FR"`, Marco's `en-GB`. Without a model the framing sentences are in the
//! reader's language and the messages' own words stay as written; with a model, every briefing
//! and explanation prompt carries the language (`reader.language`) and asks to write in it.

mod common;

use std::path::PathBuf;

use chief::config::Config;
use chief::features::briefing::cli::{self, BriefArgs};
use serde_json::Value;

use common::briefing::{export_config, task_of, valid_json_model};

const CLAIRE: &str = "U0CLAIRE1";
const MARCO: &str = "U0MARCO01";

fn export() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/exports/reschedule")
}

fn brief_args(user: &str) -> BriefArgs {
    BriefArgs {
        export: export(),
        user: user.into(),
        date: Some("2026-12-07".parse().unwrap()),
        json: false,
        workspace_url: "https://slack.com".into(),
    }
}

#[tokio::test]
async fn without_a_model_the_framing_follows_the_slack_locale() {
    let config = Config::for_database("sqlite::memory:");
    let french = cli::markdown(
        &cli::brief_export(config.clone(), &brief_args(CLAIRE))
            .await
            .unwrap(),
    );
    println!("{french}");
    // chief's own sentences in French (the request to Claire is why)…
    assert!(
        french.contains("C'est pour vous parce qu'on vous a demandé quelque chose."),
        "{french}"
    );
    assert!(
        !french.contains("came up in") && !french.contains("This is for you"),
        "{french}"
    );
    // …the request itself as the messages say it.
    assert!(french.contains("onboarding screens"), "{french}");

    let english = cli::markdown(
        &cli::brief_export(config.clone(), &brief_args(MARCO))
            .await
            .unwrap(),
    );
    assert!(english.contains("This is for you because"), "{english}");
    assert!(!english.contains("Sujet abordé"), "{english}");

    let (explanation, _, _) = chief::features::explain::cli::explain_export(
        &config,
        &export(),
        "C0DESIGN01",
        "1796634000.000100",
        Some(CLAIRE),
    )
    .await
    .unwrap();
    let text = explanation.paragraphs.join("\n");
    assert!(
        text.starts_with("Dans #design : Priya asks to move the design review."),
        "{text}"
    );
    assert!(text.contains("Dans le fil, Lena a répondu"), "{text}");
    assert!(
        text.contains("Rien ne vous est demandé directement ici."),
        "{text}"
    );
}

#[tokio::test]
async fn with_a_model_the_prompts_say_the_readers_language() {
    common::init();
    let llm = valid_json_model().await;
    let config = export_config(&llm);
    cli::brief_export(config.clone(), &brief_args(CLAIRE))
        .await
        .expect("a briefing");
    chief::features::explain::cli::explain_export(
        &config,
        &export(),
        "C0DESIGN01",
        "1796634000.000100",
        Some(CLAIRE),
    )
    .await
    .expect("an explanation");

    let requests = llm.requests();
    for task in ["Briefing", "Explainer"] {
        let asked: Vec<_> = requests.iter().filter(|r| task_of(r) == task).collect();
        assert!(!asked.is_empty(), "{task} was asked of the model");
        for r in asked {
            let data: Value = serde_json::from_str(r.data().unwrap()).unwrap();
            assert_eq!(data["reader"]["language"], "fr", "{task}: {data}");
            let instructions = &r.messages[0].content;
            assert!(
                instructions.contains("reader.language"),
                "{task} asks to write in the reader's language: {instructions}"
            );
        }
    }
}
