//! Socket Mode (when `SLACK_APP_TOKEN` is set): the same inbox, the same handlers as HTTP.
//!
//! slack-morphism sends the ack only after a callback returns, and each connection handles one
//! message at a time, so the callbacks only store the request — never work on it.

use std::sync::Arc;

use secrecy::ExposeSecret;
use slack_morphism::errors::*;
use slack_morphism::prelude::*;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::context::Context;
use crate::intake;
use crate::slack::api::Connector;
use crate::slack::envelope::{self, Envelope};

type Callback<T> = UserCallbackResult<T>;

fn context(states: &SlackClientEventsUserState) -> impl Future<Output = Option<Arc<Context>>> {
    let states = states.clone();
    async move {
        states
            .read()
            .await
            .get_user_state::<Arc<Context>>()
            .cloned()
    }
}

fn system_error(message: String) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(SlackClientError::SystemError(
        SlackClientSystemError::new().with_message(message),
    ))
}

async fn store(ctx: &Context, inbound: envelope::Inbound) -> Callback<()> {
    intake::accept(ctx, &inbound)
        .await
        .map(|_| ())
        .map_err(|e| system_error(e.to_string()))
}

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<SlackClient<Connector>>,
    states: SlackClientEventsUserState,
) -> Callback<()> {
    let ctx = context(&states)
        .await
        .ok_or_else(|| system_error("no context".into()))?;
    let body = serde_json::to_vec(&SlackPushEvent::EventCallback(event))?;
    match envelope::parse_event(&body) {
        Ok(Envelope::EventCallback(inbound)) => store(&ctx, inbound).await,
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
    let ctx = context(&states)
        .await
        .ok_or_else(|| system_error("no context".into()))?;
    let json = serde_json::to_string(&event)?;
    match envelope::interaction_from_json(&json) {
        Ok(inbound) => store(&ctx, inbound).await,
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
    let ctx = context(&states)
        .await
        .ok_or_else(|| system_error("no context".into()))?;
    let value = serde_json::to_value(&event)?;
    let reply = crate::handlers::commands::immediate_reply(&value);
    match envelope::command_from_json(value) {
        Ok(inbound) => store(&ctx, inbound).await?,
        Err(e) => error!(error = %e, "Socket Mode command could not be read"),
    }
    // The same acknowledgement as over HTTP (see handlers::commands): the help at once, else
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
    ctx: Arc<Context>,
    app_token: &secrecy::SecretString,
    shutdown: CancellationToken,
) -> Result<(), SlackClientError> {
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_push_events(on_push)
        .with_interaction_events(on_interaction)
        .with_command_events(on_command);
    let environment = Arc::new(
        SlackClientEventsListenerEnvironment::new(ctx.slack.client()).with_user_state(ctx.clone()),
    );
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
