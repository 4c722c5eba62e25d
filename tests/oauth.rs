//! Installing chief in many workspaces: the OAuth v2 flow, with `state` checked and the bot token
//! stored encrypted.

#[macro_use]
mod common;

use chief::testkit::fake_slack::Reply;
use common::{Backend, spawn_app_with};
use secrecy::SecretString;
use serde_json::json;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn install_flow(backend: Backend) {
    let key = chief::platform::secrets::generate_key();
    let app = spawn_app_with(backend, |c| {
        c.bot_token = None;
        c.client_id = Some("111.222".into());
        c.client_secret = Some(SecretString::from("client-secret"));
        c.secret_key = Some(SecretString::from(key.clone()));
        c.public_url = Some("https://chief.example.com".into());
    })
    .await;
    let http = no_redirects();

    let res = http.get(app.url("/slack/install")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.contains("/oauth/v2/authorize?client_id=111.222"),
        "{location}"
    );
    assert!(
        location
            .contains("redirect_uri=https%3A%2F%2Fchief.example.com%2Fslack%2Foauth%2Fcallback")
    );
    let state = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.to_string())
        .unwrap();

    // A forged state is refused and nothing is stored.
    let res = http
        .get(app.url("/slack/oauth/callback?code=c0de&state=forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(app.slack.calls("oauth.v2.access").is_empty());

    app.slack.script(
        "oauth.v2.access",
        [Reply::ok(json!({
            "access_token": "xoxb-installed-secret", "token_type": "bot", "scope": "commands",
            "bot_user_id": "U0BOT", "app_id": "A0APP",
            "team": {"id": "T0NEW", "name": "New Team"},
            "authed_user": {"id": "U0ADMIN"}
        }))],
    );
    let res = http
        .get(app.url(&format!("/slack/oauth/callback?code=c0de&state={state}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("New Team"));
    assert_eq!(
        app.slack.calls("oauth.v2.access")[0]
            .param("code")
            .as_deref(),
        Some("c0de")
    );

    let team = chief::platform::db::teams::get(&app.ctx.db, "T0NEW")
        .await
        .unwrap()
        .expect("stored");
    let sealed = team.bot_token_enc.expect("a token");
    assert!(
        !String::from_utf8_lossy(&sealed).contains("xoxb-installed-secret"),
        "encrypted at rest"
    );
    let token = app.ctx.bot_token("T0NEW").await.expect("usable");
    assert_eq!(token.expose_secret(), "xoxb-installed-secret");

    // The state is single-use.
    let res = http
        .get(app.url(&format!("/slack/oauth/callback?code=c0de&state={state}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // Suspended teams get no token.
    chief::platform::db::teams::set_status(
        &app.ctx.db,
        "T0NEW",
        chief::platform::db::teams::TeamStatus::Suspended,
    )
    .await
    .unwrap();
    assert!(app.ctx.bot_token("T0NEW").await.is_err());
    app.stop().await;
}

on_both_backends!(backend: install_flow);

#[tokio::test]
async fn single_workspace_mode_has_no_install_page() {
    let app = common::spawn_app(Backend::Sqlite).await;
    let res = no_redirects()
        .get(app.url("/slack/install"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(
        app.ctx.bot_token("T-any").await.is_ok(),
        "SLACK_BOT_TOKEN serves every team"
    );
    app.stop().await;
}
