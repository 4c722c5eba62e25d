//! The Slack Web API client against the fake Slack of `testkit`: slack-morphism's typed client
//! reads the fake's default answers (so the fake stays shaped like Slack), 429s are retried after
//! `Retry-After` — through chief's own `slack::web` calls too — and Slack's errors map to
//! [`SlackError`].
//!
//! Only the Slack edge names slack-morphism in `src/`; this test uses its typed requests as an
//! independent check of the fake.

use std::time::{Duration, Instant};

use chief::slack::api::SlackError;
use chief::slack::web::{self, BotToken, SlackApi};
use chief::testkit::fake_slack::{FakeSlack, Reply};
use slack_morphism::prelude::*;

fn token() -> SlackApiToken {
    SlackApiToken::new(SlackApiTokenValue::new("xoxb-test".into()))
}

#[tokio::test]
async fn the_real_client_reads_the_default_answers() {
    chief::init_process();
    let fake = FakeSlack::start().await.unwrap();
    let api = SlackApi::new(&fake.api_url());
    let token = token();
    let client = api.client();
    let session = client.open_session(&token);

    let open = session
        .conversations_open(
            &SlackApiConversationsOpenRequest::new().with_users(vec!["U123".into()]),
        )
        .await
        .unwrap();
    assert_eq!(open.channel.id.to_string(), "D123");

    let posted = session
        .chat_post_message(&SlackApiChatPostMessageRequest::new(
            "D123".into(),
            SlackMessageContent::new().with_text("hello".into()),
        ))
        .await
        .unwrap();
    assert_eq!(posted.channel.to_string(), "D123");

    let view = SlackView::Modal(SlackModalView::new(
        "chief".into(),
        vec![SlackSectionBlock::new().with_text(md!("Reading…")).into()],
    ));
    let opened = session
        .views_open(&SlackApiViewsOpenRequest::new("trigger-1".into(), view))
        .await
        .unwrap();
    assert!(!opened.view.state_params.id.to_string().is_empty());

    let calls = fake.calls("chat.postMessage");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].param("text").as_deref(), Some("hello"));
    assert_eq!(calls[0].token.as_deref(), Some("xoxb-test"));
    assert_eq!(
        fake.calls("views.open")[0].param("trigger_id").as_deref(),
        Some("trigger-1")
    );
}

#[tokio::test]
async fn rate_limits_are_retried_after_the_servers_delay() {
    chief::init_process();
    let fake = FakeSlack::start().await.unwrap();
    fake.script(
        "conversations.open",
        [Reply::RateLimited {
            retry_after_secs: 1,
        }],
    );
    let api = SlackApi::new(&fake.api_url());
    let token = token();
    let started = Instant::now();
    let open = api
        .client()
        .open_session(&token)
        .conversations_open(&SlackApiConversationsOpenRequest::new().with_users(vec!["U9".into()]))
        .await
        .unwrap();
    assert_eq!(open.channel.id.to_string(), "D9");
    let calls = fake.calls("conversations.open");
    assert_eq!(calls.len(), 2, "one 429, then the retry");
    assert!(
        calls[1].at.duration_since(calls[0].at) >= Duration::from_millis(950),
        "the retry honoured Retry-After"
    );
    assert!(started.elapsed() >= Duration::from_millis(950));
}

#[tokio::test]
async fn api_errors_map_to_domain_errors() {
    chief::init_process();
    let fake = FakeSlack::start().await.unwrap();
    fake.script(
        "chat.postMessage",
        [
            Reply::Error("not_in_channel".into()),
            Reply::Error("invalid_auth".into()),
        ],
    );
    let api = SlackApi::new(&fake.api_url());
    let token = token();
    let request = SlackApiChatPostMessageRequest::new(
        "C1".into(),
        SlackMessageContent::new().with_text("x".into()),
    );
    let err: SlackError = api
        .client()
        .open_session(&token)
        .chat_post_message(&request)
        .await
        .unwrap_err()
        .into();
    assert_eq!(err.code(), Some("not_in_channel"));
    assert!(!err.is_transient());
    let err: SlackError = api
        .client()
        .open_session(&token)
        .chat_post_message(&request)
        .await
        .unwrap_err()
        .into();
    assert!(matches!(err, SlackError::AuthRevoked { .. }));
}

#[tokio::test]
async fn chiefs_own_calls_wait_out_a_rate_limit_and_map_errors() {
    chief::init_process();
    let fake = FakeSlack::start().await.unwrap();
    fake.script(
        "conversations.open",
        [Reply::RateLimited {
            retry_after_secs: 1,
        }],
    );
    fake.script("chat.postMessage", [Reply::Error("not_in_channel".into())]);
    let api = SlackApi::new(&fake.api_url());
    let token = BotToken::new("xoxb-test".into(), "T1");
    let session = api.session(&token);

    let channel = web::open_dm(&session, "U9").await.unwrap();
    assert_eq!(channel, "D9");
    let calls = fake.calls("conversations.open");
    assert_eq!(calls.len(), 2, "one 429, then the retry");
    assert!(
        calls[1].at.duration_since(calls[0].at) >= Duration::from_millis(950),
        "the retry honoured Retry-After"
    );

    let err = web::post_message(&session, &channel, "x", &[])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("not_in_channel"));
    assert!(!err.is_transient());
    let ts = web::post_message(&session, &channel, "hello", &[])
        .await
        .unwrap();
    assert!(!ts.is_empty());
    let posted = fake.calls("chat.postMessage");
    assert_eq!(posted[1].param("text").as_deref(), Some("hello"));
    assert_eq!(posted[1].token.as_deref(), Some("xoxb-test"));
}
