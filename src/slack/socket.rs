//! Socket Mode (when `SLACK_APP_TOKEN` is set): the same inbox, the same handlers as HTTP.
//!
//! slack-morphism sends the ack only after a callback returns, and each connection handles one
//! message at a time, so the callbacks only store the request — never work on it.

use std::sync::Arc;

use futures::future::BoxFuture;

use secrecy::ExposeSecret;
use slack_morphism::errors::*;
use slack_morphism::prelude::*;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::slack::api::Connector;
use crate::slack::envelope::{self, Envelope};

type Callback<T> = UserCallbackResult<T>;

/// Where Socket Mode hands what arrives: the inbox, wired in by the composition root (`app`), so
/// that this edge names nothing above it.
pub trait Receiver: Send + Sync + 'static {
    /// Stores a request (persist, then ack): only then does the callback return.
    fn store(&self, inbound: envelope::Inbound) -> BoxFuture<'_, Result<(), String>>;
    /// The answer a slash command gets at once, if any (the rest follows through its response URL).
    fn command_reply(&self, payload: &serde_json::Value) -> Option<serde_json::Value>;
}

type SharedReceiver = Arc<dyn Receiver>;

/// The receiver `run` put in the listener's state.
async fn receiver(states: &SlackClientEventsUserState) -> Callback<SharedReceiver> {
    states
        .read()
        .await
        .get_user_state::<SharedReceiver>()
        .cloned()
        .ok_or_else(|| system_error("no receiver".into()))
}

fn system_error(message: String) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(SlackClientError::SystemError(
        SlackClientSystemError::new().with_message(message),
    ))
}

async fn store(receiver: &SharedReceiver, inbound: envelope::Inbound) -> Callback<()> {
    receiver.store(inbound).await.map_err(system_error)
}

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<SlackClient<Connector>>,
    states: SlackClientEventsUserState,
) -> Callback<()> {
    let receiver = receiver(&states).await?;
    let body = serde_json::to_vec(&SlackPushEvent::EventCallback(event))?;
    match envelope::parse_event(&body) {
        Ok(Envelope::EventCallback(inbound)) => store(&receiver, inbound).await,
        Ok(_) => Ok(()),
        Err(e) => {
            error!(error = %e, "Socket Mode event could not be read");
            Ok(())
        }
    }
}

async fn on_interaction(
    event: SlackInteractionEvent,
    _client: Arc<SlackClient<Connector>>,
    states: SlackClientEventsUserState,
) -> Callback<()> {
    let receiver = receiver(&states).await?;
    let json = serde_json::to_string(&event)?;
    match envelope::interaction_from_json(&json) {
        Ok(inbound) => store(&receiver, inbound).await,
        Err(e) => {
            error!(error = %e, "Socket Mode interaction could not be read");
            Ok(())
        }
    }
}

async fn on_command(
    event: SlackCommandEvent,
    _client: Arc<SlackClient<Connector>>,
    states: SlackClientEventsUserState,
) -> Callback<SlackCommandEventResponse> {
    let receiver = receiver(&states).await?;
    let value = serde_json::to_value(&event)?;
    let reply = receiver.command_reply(&value);
    match envelope::command_from_json(value) {
        Ok(inbound) => store(&receiver, inbound).await?,
        Err(e) => error!(error = %e, "Socket Mode command could not be read"),
    }
    // The same acknowledgement as over HTTP (see features::command): the help at once, else
    // empty (the worker answers through the response URL).
    let Some(reply) = reply else {
        return Ok(SlackCommandEventResponse::new(SlackMessageContent::new()));
    };
    let text = reply.get("text").and_then(serde_json::Value::as_str);
    let blocks = reply
        .get("blocks")
        .and_then(serde_json::Value::as_array)
        .and_then(|b| crate::slack::blocks::to_slack(b).ok());
    let mut content = SlackMessageContent::new();
    content.text = text.map(str::to_string);
    content.blocks = blocks;
    Ok(SlackCommandEventResponse::new(content)
        .with_response_type(SlackMessageResponseType::Ephemeral))
}

/// Connects to Slack over Socket Mode and stores what arrives until `shutdown`.
pub async fn run(
    client: Arc<SlackClient<Connector>>,
    receiver: SharedReceiver,
    app_token: &secrecy::SecretString,
    shutdown: CancellationToken,
) -> Result<(), SlackClientError> {
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_push_events(on_push)
        .with_interaction_events(on_interaction)
        .with_command_events(on_command);
    let environment =
        Arc::new(SlackClientEventsListenerEnvironment::new(client).with_user_state(receiver));
    let listener = SlackClientSocketModeListener::new(
        &SlackClientSocketModeConfig::new(),
        environment,
        callbacks,
    );
    let token = SlackApiToken::new(SlackApiTokenValue::new(
        app_token.expose_secret().to_string(),
    ));
    listener.listen_for(&token).await?;
    listener.start().await;
    info!("Socket Mode connected");
    shutdown.cancelled().await;
    listener.shutdown().await;
    Ok(())
}
