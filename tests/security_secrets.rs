//! Secrets never reach logs or error messages.
//!
//! chief runs in this process with every log line of every crate captured at TRACE level (the
//! `log` crate's records included), and is driven through an OAuth install (one that fails on a
//! garbled answer holding the token, one that succeeds), signed events for the installed team, a
//! Slack API call with its bot token that fails behind a proxy echoing the request, a model call
//! with an API key (one refused, one answered), and configuration errors. Then the logs and every
//! error message are searched for each secret.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chief::ai::llm::CallOptions;
use chief::ai::tasks::summarize::{Discussion, SummarizeDiscussion};
use chief::ai::tasks::types::{ChannelInfo, ChatMessage};
use chief::config::Config;
use chief::testkit::fake_slack::Reply;
use chief::testkit::model_server::{self, LocalLlm};
use common::model::use_model;
use common::{Backend, SIGNING_SECRET, spawn_app_with};
use secrecy::SecretString;
use serde_json::json;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const INSTALLED_TOKEN: &str = "xoxb-installed-7f3a9c41d2";
const GARBLED_TOKEN: &str = "xoxb-garbled-answer-91c2e7";
const CLIENT_SECRET: &str = "client-secret-5e1d0b77aa";
const OPENAI_KEY: &str = "sk-openai-secret-4b2e91f0";
const TOML_KEY: &str = "sk-toml-secret-77aa3b";
const DB_PASSWORD: &str = "db-password-3a9f1c";
const BAD_SECRET_KEY: &str = "not-a-key-but-secret-4c1d8e";

/// Everything logged in this test binary.
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
            .with_writer(move || Capture(sink.clone()))
            .with_filter(LevelFilter::TRACE);
        // Also installs the `log` → tracing bridge, so crates logging through `log` are captured.
        tracing_subscriber::registry()
            .with(layer)
            .try_init()
            .expect("the only subscriber of this test binary");
        logs
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> String {
    String::from_utf8_lossy(&captured().lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

fn assert_no_secret(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        if let Some(at) = text.find(secret) {
            let start = text[..at]
                .char_indices()
                .rev()
                .nth(300)
                .map_or(0, |(i, _)| i);
            panic!(
                "{what} contains the secret {secret:?}:\n…{}…",
                &text[start..(at + secret.len()).min(text.len())]
            );
        }
    }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Starts an install and returns its one-time state.
async fn install_state(http: &reqwest::Client, url: String) -> String {
    let res = http.get(url).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.to_string())
        .expect("a state")
}

#[tokio::test]
async fn secrets_never_reach_logs_or_errors() {
    captured();
    let llm = LocalLlm::start().await.unwrap();
    let secret_key = chief::platform::secrets::generate_key();
    let previous_key = chief::platform::secrets::generate_key();
    let model = &llm;
    let (sk, pk) = (secret_key.clone(), previous_key.clone());
    let app = spawn_app_with(Backend::Sqlite, move |c| {
        c.client_id = Some("111.222".into());
        c.client_secret = Some(SecretString::from(CLIENT_SECRET));
        c.secret_key = Some(SecretString::from(sk));
        c.secret_key_previous = Some(SecretString::from(pk));
        c.public_url = Some("https://chief.example.com".into());
        use_model(c, model);
        c.llm.deployments[0].api_key = Some(SecretString::from(OPENAI_KEY));
    })
    .await;
    let http = no_redirects();
    let mut errors: Vec<String> = Vec::new();

    // 1. An install whose answer Slack garbled (the token is in it, the team is not readable).
    let state = install_state(&http, app.url("/slack/install")).await;
    app.slack.script(
        "oauth.v2.access",
        [Reply::ok(json!({
            "access_token": GARBLED_TOKEN, "token_type": "bot", "team": {"id": 42}
        }))],
    );
    let res = http
        .get(app.url(&format!("/slack/oauth/callback?code=c0de1&state={state}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 502);
    errors.push(res.text().await.unwrap());

    // 2. A good install.
    let state = install_state(&http, app.url("/slack/install")).await;
    app.slack.script(
        "oauth.v2.access",
        [Reply::ok(json!({
            "access_token": INSTALLED_TOKEN, "token_type": "bot", "scope": "commands",
            "bot_user_id": "U0BOT", "app_id": "A0APP",
            "team": {"id": "T0NEW", "name": "New Team"}, "authed_user": {"id": "U0ADMIN"}
        }))],
    );
    let res = http
        .get(app.url(&format!("/slack/oauth/callback?code=c0de2&state={state}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    errors.push(res.text().await.unwrap());
    let call = &app.slack.calls("oauth.v2.access")[1];
    assert!(
        call.param("client_secret").is_some() || call.token.is_none(),
        "the exchange authenticates with the client credentials"
    );

    // 3. Events for the installed team: users.info goes out with its bot token and meets a proxy
    //    error page that echoes the request's Authorization header.
    app.slack.script(
        "users.info",
        [Reply::Raw {
            status: 502,
            body: format!(
                "<html>Bad gateway. Request headers: Authorization: Bearer {INSTALLED_TOKEN}</html>"
            ),
        }],
    );
    for (id, user) in [("EvS1", "U1"), ("EvS2", "U2")] {
        let res = app
            .post_event(&json!({
                "type": "event_callback", "team_id": "T0NEW", "event_id": id,
                "event": {"type": "message", "channel": "C1", "user": user, "text": "hello",
                          "ts": format!("1700000000.00010{}", &user[1..]), "channel_type": "channel"}
            }))
            .await;
        assert_eq!(res.status(), 200);
    }
    // A forged and a stale request: their refusals are logged too.
    let forged = app
        .http
        .post(app.url("/slack/events"))
        .header("x-slack-request-timestamp", common::now().to_string())
        .header("x-slack-signature", "v0=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    errors.push(forged.text().await.unwrap());
    let counts = app.drained(Duration::from_secs(15)).await;
    assert_eq!(counts.pending, 0);
    let users_info = app
        .slack
        .wait_for("users.info", 2, Duration::from_secs(5))
        .await;
    assert!(
        users_info
            .iter()
            .any(|c| c.token.as_deref() == Some(INSTALLED_TOKEN)),
        "the installed team's token was used: {:?}",
        users_info.iter().map(|c| &c.token).collect::<Vec<_>>()
    );

    // 4. Model calls with the API key: one refused with 401, one answered.
    llm.enqueue(model_server::Reply::raw(
        401,
        r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#,
    ));
    let discussion = Discussion {
        channel: ChannelInfo {
            id: "C1".into(),
            name: "eng".into(),
        },
        messages: vec![ChatMessage {
            id: chief::model::domain::MessageRef {
                channel_id: "C1".into(),
                ts: "1700000000.000100".into(),
            },
            author: "Ann".into(),
            author_id: Some("U1".into()),
            text: "We ship the release on Friday.".into(),
            posted_at: 1_700_000_000,
        }],
        propositions: vec![],
        utc_offset_secs: 0,
    };
    let task = SummarizeDiscussion::default();
    match app
        .ctx
        .llm
        .run(&task, &discussion, &CallOptions::background("T0NEW"))
        .await
    {
        Ok(_) => {}
        Err(e) => errors.push(format!("{e:#} / {e:?}")),
    }
    let _ = app
        .ctx
        .llm
        .run_or_extractive(
            &task,
            &discussion,
            &CallOptions::interactive("T0NEW", Some("U1")),
        )
        .await;
    let requests = llm.requests();
    assert!(!requests.is_empty(), "the model was called");
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {OPENAI_KEY}"))),
        "with the API key"
    );

    // 5. Configuration errors.
    let mut bad = Config::for_database(&app.scratch.url);
    bad.signing_secret = Some(SecretString::from(SIGNING_SECRET));
    bad.secret_key = Some(SecretString::from(BAD_SECRET_KEY));
    let err = chief::app::Application::build(bad)
        .await
        .err()
        .expect("a malformed CHIEF_SECRET_KEY is refused");
    errors.push(format!("{err:#} / {err:?}"));

    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("chief.toml");
    std::fs::write(
        &toml,
        format!(
            "[[llm.deployments]]\nname = \"x\"\nbase_url = \"http://127.0.0.1:9/v1\"\n\
             api_key = \"{TOML_KEY}\" model = \"gpt\"\n"
        ),
    )
    .unwrap();
    let path = toml.display().to_string();
    let err = Config::from_lookup(|k| (k == "CHIEF_CONFIG").then(|| path.clone()))
        .expect_err("a broken chief.toml is refused");
    assert!(
        err.to_string().contains("line 4"),
        "the place is named: {err}"
    );
    errors.push(format!("{err} / {err:?}"));

    let url = format!("mysql://chief:{DB_PASSWORD}@127.0.0.1:1/chief");
    let err = chief::platform::db::Db::connect(&url)
        .await
        .expect_err("an unsupported URL is refused");
    assert!(
        err.to_string().contains("mysql://"),
        "the URL is named: {err}"
    );
    errors.push(format!("{err} / {err:?}"));
    let pg = Config::from_lookup(|k| {
        (k == "DATABASE_URL").then(|| format!("postgres://chief:{DB_PASSWORD}@127.0.0.1:1/chief"))
    })
    .unwrap();
    errors.push(format!("{pg:?}"));

    // 6. Debug output of what holds secrets.
    errors.push(format!("{:?}", app.ctx.config));
    errors.push(format!("{:?}", app.ctx.cipher));
    app.stop().await;
    drop(llm);

    let secrets = [
        SIGNING_SECRET,
        common::BOT_TOKEN,
        INSTALLED_TOKEN,
        GARBLED_TOKEN,
        CLIENT_SECRET,
        secret_key.as_str(),
        previous_key.as_str(),
        OPENAI_KEY,
        TOML_KEY,
        DB_PASSWORD,
        BAD_SECRET_KEY,
    ];
    let logs = logs();
    // The capture saw the whole journey (so finding nothing means something).
    for expected in [
        "OAuth code exchange failed",
        "installed",
        "users.info",
        "llm_call",
        "request refused",
        "stored",
    ] {
        assert!(
            logs.contains(expected),
            "no {expected:?} in the captured logs"
        );
    }
    assert_no_secret("the logs", &logs, &secrets);
    for error in &errors {
        assert_no_secret("an error message", error, &secrets);
    }
}
