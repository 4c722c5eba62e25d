//! The one `Context` every handler, agent and job takes: configuration, storage and clients.

use std::sync::Arc;

use secrecy::ExposeSecret;
use tokio::sync::Notify;

use crate::config::Config;
use crate::platform::Host;
use crate::platform::db::names::PeopleNames;
use crate::platform::db::{Db, DbError, briefings, teams};
use crate::platform::secrets::{SecretsError, TokenCipher};
use crate::slack::web::{self, BotToken, SlackApi};

pub struct Context {
    pub config: Config,
    pub db: Db,
    pub slack: SlackApi,
    /// Identifies this process in leases, so a replica only renews what it holds.
    pub instance_id: String,
    /// Woken when the edge stores a request, so the worker does not wait for its next poll.
    pub inbox_ready: Arc<Notify>,
    /// The names of each team's people, reused for a minute (guardrails, topics).
    pub people: PeopleNames,
    /// Opens the bot tokens stored by OAuth installs (`None` without `CHIEF_SECRET_KEY`).
    pub cipher: Option<TokenCipher>,
    /// Every model call goes through here (the extractive engine answers when none is set up).
    pub llm: crate::ai::llm::Gateway,
}

/// No usable bot token for a team.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no bot token for team {0}: install chief in that workspace or set SLACK_BOT_TOKEN")]
    NotInstalled(String),
    #[error("team {0} is suspended: Slack rejected its token; reinstall chief there")]
    Suspended(String),
    #[error("cannot open the stored token of team {team}")]
    Sealed { team: String, source: SecretsError },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Only a database outage clears up by itself; a missing, suspended or unreadable token waits for
/// someone to (re)install chief, which no retry can hasten.
impl crate::platform::retry::Retryable for TokenError {
    fn is_transient(&self) -> bool {
        matches!(self, TokenError::Db(_))
    }
}

impl Context {
    pub fn new(config: Config, db: Db) -> Arc<Self> {
        let slack = SlackApi::new(&config.slack_api_url);
        // Application::build has validated the key already; a bad one means no cipher here.
        let cipher = config.token_cipher().ok().flatten();
        let llm = crate::ai::llm::Gateway::new(db.clone(), &config.llm);
        Arc::new(Context {
            config,
            db,
            slack,
            instance_id: uuid::Uuid::new_v4().to_string(),
            inbox_ready: Arc::new(Notify::new()),
            people: Default::default(),
            cipher,
            llm,
        })
    }

    /// The bot token to act in `team_id` with: the team's own (stored encrypted by the OAuth
    /// install), else the single-workspace `SLACK_BOT_TOKEN`. A suspended team gets none.
    pub async fn bot_token(&self, team_id: &str) -> Result<BotToken, TokenError> {
        let team = teams::get(&self.db, team_id).await?;
        if let Some(team) = &team
            && team.status == teams::TeamStatus::Suspended
        {
            return Err(TokenError::Suspended(team_id.to_string()));
        }
        let stored = team.and_then(|t| t.bot_token_enc);
        let value = match (stored, &self.cipher, &self.config.bot_token) {
            (Some(sealed), Some(cipher), _) => cipher
                .open(&sealed)
                .map_err(|source| TokenError::Sealed {
                    team: team_id.to_string(),
                    source,
                })?
                .expose_secret()
                .to_string(),
            (_, _, Some(token)) => token.expose_secret().to_string(),
            (Some(_), None, None) => {
                return Err(TokenError::Sealed {
                    team: team_id.to_string(),
                    source: SecretsError::NoKey,
                });
            }
            (None, _, None) => return Err(TokenError::NotInstalled(team_id.to_string())),
        };
        Ok(BotToken::new(value, team_id))
    }

    /// The workspace's URL (`https://acme.slack.com`), the base of permalinks: stored, else asked
    /// of `auth.test` and stored, else [`web::FALLBACK_WORKSPACE_URL`] (Slack redirects it to the
    /// workspace). Kept in the database rather than in memory so that every replica and restart
    /// asks Slack once per team, and so that `chief briefing` can set it by hand.
    pub async fn workspace_url(&self, team_id: &str) -> String {
        match briefings::workspace_url(&self.db, team_id).await {
            Ok(Some(url)) => return url,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the workspace URL"),
        }
        let Ok(token) = self.bot_token(team_id).await else {
            return web::FALLBACK_WORKSPACE_URL.to_string();
        };
        match web::auth_test(&self.slack.session(&token)).await {
            Ok(web::AuthInfo { url: Some(url), .. }) => {
                if let Err(e) = briefings::set_workspace_url(&self.db, team_id, &url).await {
                    tracing::warn!(error = %e, "cannot store the workspace URL");
                }
                url
            }
            Ok(_) => web::FALLBACK_WORKSPACE_URL.to_string(),
            Err(e) => {
                tracing::debug!(team_id, error = %e, "auth.test failed; generic permalinks");
                web::FALLBACK_WORKSPACE_URL.to_string()
            }
        }
    }
}

impl Host for Context {
    fn db(&self) -> &Db {
        &self.db
    }
    fn instance_id(&self) -> &str {
        &self.instance_id
    }
}
