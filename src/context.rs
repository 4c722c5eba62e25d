//! The one `Context` every handler, agent and job takes: configuration, storage and clients.

use std::sync::Arc;

use secrecy::ExposeSecret;
use slack_morphism::prelude::*;
use tokio::sync::Notify;

use crate::config::Config;
use crate::db::Db;
use crate::slack::api::SlackApi;

pub struct Context {
    pub config: Config,
    pub db: Db,
    pub slack: SlackApi,
    /// Identifies this process in leases, so a replica only renews what it holds.
    pub instance_id: String,
    /// Woken when the edge stores a request, so the worker does not wait for its next poll.
    pub inbox_ready: Notify,
    /// Every model call goes through here (the extractive engine answers when none is set up).
    pub llm: crate::llm::Gateway,
}

/// No usable bot token for a team.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no bot token for team {0}: install chief in that workspace or set SLACK_BOT_TOKEN")]
    NotInstalled(String),
}

impl Context {
    pub fn new(config: Config, db: Db) -> Arc<Self> {
        let slack = SlackApi::new(&config.slack_api_url);
        let llm = crate::llm::Gateway::new(db.clone(), &config.llm);
        Arc::new(Context {
            config,
            db,
            slack,
            instance_id: uuid::Uuid::new_v4().to_string(),
            inbox_ready: Notify::new(),
            llm,
        })
    }

    /// The bot token to act in `team_id` with. Single-workspace mode (`SLACK_BOT_TOKEN`) serves
    /// every team id with the one token.
    pub async fn bot_token(&self, team_id: &str) -> Result<SlackApiToken, TokenError> {
        match &self.config.bot_token {
            Some(token) => Ok(SlackApiToken::new(SlackApiTokenValue::new(
                token.expose_secret().to_string(),
            ))
            .with_team_id(SlackTeamId::new(team_id.to_string()))),
            None => Err(TokenError::NotInstalled(team_id.to_string())),
        }
    }
}
