//! The App Home tab through the real HTTP edge: `app_home_opened` publishes it, and each of its
//! controls (real `block_actions` payloads from a Home view) changes the settings and republishes.

#[macro_use]
mod common;

use std::time::Duration;

use chief::model::settings::DeliveryTime;
use chief::platform::db::profile;
use chief::testkit::fake_slack::RecordedCall;
use common::explain::*;
use common::{Backend, TestApp, fixtures, spawn_app};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

fn fixture(name: &str) -> Value {
    let path = fixtures()
        .join("payloads/abbot/tests/Abbot.Web.Library.Tests/Serialization")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("json")
}

/// The real Home click payload, with chief's control instead of the captured one.
fn home_click(action: Value) -> String {
    let mut payload = fixture("block_actions.app_home_click.json");
    payload["team"]["id"] = json!(TEAM);
    payload["user"]["id"] = json!(READER);
    payload["user"]["team_id"] = json!(TEAM);
    payload["actions"] = json!([action]);
    payload.to_string()
}

async fn publishes_after(app: &TestApp, n: usize) -> RecordedCall {
    let calls = app.slack.wait_for("views.publish", n, WAIT).await;
    assert_eq!(calls.len(), n, "views.publish calls");
    let last = calls.last().unwrap().clone();
    assert_eq!(last.param("user_id").as_deref(), Some(READER));
    last
}

fn view(call: &RecordedCall) -> Value {
    let view = call.json_param("view").expect("a view");
    let parsed: slack_morphism::prelude::SlackView =
        serde_json::from_value(view.clone()).expect("valid Block Kit");
    assert!(matches!(
        parsed,
        slack_morphism::prelude::SlackView::Home(_)
    ));
    view
}

async fn click(app: &TestApp, action: Value) {
    let res = app.post_interaction(&home_click(action)).await;
    assert_eq!(res.status(), 200);
}

async fn the_home_tab_is_published_and_its_controls_work(backend: Backend) {
    let app = spawn_app(backend).await;
    seed_directory(&app.ctx.db).await;

    // Opening the tab (the real event, in our workspace) publishes it.
    let mut event = fixture("app_home_opened.json");
    event["team_id"] = json!(TEAM);
    event["event"]["user"] = json!(READER);
    assert_eq!(app.post_event(&event).await.status(), 200);
    let home = view(&publishes_after(&app, 1).await);
    let text = home.to_string();
    for control in [
        "home_set_time",
        "home_set_mutes",
        "home_toggle_pause",
        "home_briefing_now",
    ] {
        assert!(text.contains(control), "{control}: {text}");
    }
    assert!(text.contains("Brief me now") && text.contains("Pause briefings"));
    assert!(text.contains("Explain in context"), "usage hints");
    assert!(text.contains("No briefing yet"), "{text}");

    // The time picker.
    click(
        &app,
        json!({"type": "timepicker", "action_id": "home_set_time", "block_id": "home_time",
               "selected_time": "07:45", "action_ts": "1641926102.149005"}),
    )
    .await;
    let home = view(&publishes_after(&app, 2).await);
    assert!(home.to_string().contains("\"initial_time\":\"07:45\""));
    assert!(home.to_string().contains("arrives at 07:45"));
    assert_eq!(
        profile::get_settings(&app.ctx.db, TEAM, READER)
            .await
            .unwrap()
            .delivery_time,
        DeliveryTime::parse("07:45").unwrap()
    );

    // Back to the learned time.
    click(
        &app,
        json!({"type": "button", "action_id": "home_set_time", "block_id": "home_time_auto",
               "value": "auto", "action_ts": "1641926103.149005"}),
    )
    .await;
    publishes_after(&app, 3).await;
    assert_eq!(
        profile::get_settings(&app.ctx.db, TEAM, READER)
            .await
            .unwrap()
            .delivery_time,
        DeliveryTime::Auto
    );

    // The muted channels.
    click(
        &app,
        json!({"type": "multi_channels_select", "action_id": "home_set_mutes",
               "block_id": "home_mutes", "selected_channels": [OTHER_CHANNEL, CHANNEL],
               "action_ts": "1641926104.149005"}),
    )
    .await;
    let home = view(&publishes_after(&app, 4).await);
    assert!(home.to_string().contains("initial_channels"));
    let s = profile::get_settings(&app.ctx.db, TEAM, READER)
        .await
        .unwrap();
    assert!(s.is_muted(OTHER_CHANNEL) && s.is_muted(CHANNEL));
    click(
        &app,
        json!({"type": "multi_channels_select", "action_id": "home_set_mutes",
               "block_id": "home_mutes", "selected_channels": [],
               "action_ts": "1641926105.149005"}),
    )
    .await;
    publishes_after(&app, 5).await;
    assert!(
        profile::get_settings(&app.ctx.db, TEAM, READER)
            .await
            .unwrap()
            .muted_channels
            .is_empty()
    );

    // Pause, then resume.
    click(
        &app,
        json!({"type": "button", "action_id": "home_toggle_pause", "block_id": "home_buttons",
               "value": "pause", "action_ts": "1641926106.149005"}),
    )
    .await;
    let home = view(&publishes_after(&app, 6).await);
    assert!(home.to_string().contains("Resume briefings"));
    assert!(
        profile::get_settings(&app.ctx.db, TEAM, READER)
            .await
            .unwrap()
            .paused
    );
    click(
        &app,
        json!({"type": "button", "action_id": "home_toggle_pause", "block_id": "home_buttons",
               "value": "resume", "action_ts": "1641926107.149005"}),
    )
    .await;
    publishes_after(&app, 7).await;
    assert!(
        !profile::get_settings(&app.ctx.db, TEAM, READER)
            .await
            .unwrap()
            .paused
    );

    // "Brief me now": requested, and the Home tab says what happened.
    click(
        &app,
        json!({"type": "button", "action_id": "home_briefing_now", "block_id": "home_buttons",
               "value": "now", "action_ts": "1641926108.149005"}),
    )
    .await;
    let home = view(&publishes_after(&app, 8).await).to_string();
    assert!(
        home.contains(chief::features::home::BRIEFING_REQUESTED)
            || home.contains(chief::features::command::BRIEFING_FAILED),
        "{home}"
    );
    assert_eq!(app.drained(WAIT).await.dead, 0);
    app.stop().await;
}

on_both_backends!(backend: the_home_tab_is_published_and_its_controls_work);

/// The language control: a static select of the supported languages and "Automatic"; choosing
/// one sets the language and republishes the tab with it selected.
async fn the_language_control_sets_the_language(backend: Backend) {
    let app = spawn_app(backend).await;
    seed_directory(&app.ctx.db).await;
    let select = |value: &str, label: &str, ts: &str| {
        json!({"type": "static_select", "action_id": "home_set_language",
               "block_id": "home_language",
               "selected_option": {"text": {"type": "plain_text", "text": label}, "value": value},
               "action_ts": ts})
    };
    let language_block = |home: &Value| {
        home["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["block_id"] == "home_language")
            .expect("the language control")
            .clone()
    };

    click(&app, select("fr", "Français", "1641926102.149005")).await;
    let home = view(&publishes_after(&app, 1).await);
    let control = language_block(&home);
    assert_eq!(control["accessory"]["type"], "static_select");
    let options: Vec<&str> = control["accessory"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(options, ["auto", "en", "fr", "de", "es"]);
    assert_eq!(control["accessory"]["initial_option"]["value"], "fr");
    assert!(home.to_string().contains("now written in Français"));
    assert_eq!(
        profile::get_settings(&app.ctx.db, TEAM, READER)
            .await
            .unwrap()
            .language
            .as_deref(),
        Some("fr")
    );

    click(
        &app,
        select(
            "auto",
            "Automatic (your Slack language)",
            "1641926103.149005",
        ),
    )
    .await;
    let home = view(&publishes_after(&app, 2).await);
    assert_eq!(
        language_block(&home)["accessory"]["initial_option"]["value"],
        "auto"
    );
    assert_eq!(
        profile::get_settings(&app.ctx.db, TEAM, READER)
            .await
            .unwrap()
            .language,
        None
    );
    assert_eq!(app.drained(WAIT).await.dead, 0);
    app.stop().await;
}

on_both_backends!(backend: the_language_control_sets_the_language);

/// The Messages tab does not publish the Home view.
#[tokio::test]
async fn opening_the_messages_tab_publishes_nothing() {
    let app = spawn_app(Backend::Sqlite).await;
    seed_directory(&app.ctx.db).await;
    let mut event = fixture("app_home_opened.json");
    event["team_id"] = json!(TEAM);
    event["event"]["user"] = json!(READER);
    event["event"]["tab"] = json!("messages");
    event["event_id"] = json!("EvMessagesTab");
    assert_eq!(app.post_event(&event).await.status(), 200);
    app.drained(WAIT).await;
    assert!(app.slack.calls("views.publish").is_empty());
    app.stop().await;
}
