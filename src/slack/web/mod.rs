//! chief's one Slack Web API client: every feature talks to Slack through here.
//!
//! | file | concern | methods |
//! |---|---|---|
//! | `directory.rs` | who and where (ingestion) | `users.info`, `conversations.info`, `conversations.members`, `users.conversations` |
//! | `history.rs` | reading conversations (backfill, click-to-context) | `conversations.history`, `conversations.replies` |
//! | `views.rs` | answering a person (click-to-context, `/chief`, App Home) | `views.open/update/publish`, `chat.postEphemeral`, a `response_url` |
//! | `chat.rs` | chief's own messages (briefing DMs) | `conversations.open`, `chat.postMessage`, `chat.update` |
//! | `team.rs` | who chief is in a workspace | `auth.test` (identity, workspace URL) |
//!
//! Calls go through slack-morphism's client, so its per-tier throttling and its `Retry-After`
//! retries on 429 apply, but bodies are sent and answers read as plain JSON: one block type
//! slack-morphism's models do not know must not make a whole `conversations.history` page
//! unreadable, and what chief builds in `slack::blocks` is exactly what Slack receives. Answers are
//! read with the same tolerant readers as events, and failures come back as
//! [`SlackError`](crate::slack::api::SlackError). The layers above see chief's own types only
//! ([`SlackApi`], [`BotToken`], [`Session`], [`Page`]), never slack-morphism's.
//!
//! Caches live with the feature that owns what is cached (the workspace URL is kept in the
//! database, `features::context`); this client holds only connections and rate state.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use slack_morphism::prelude::*;

use crate::slack::api::{Client, Connector, SlackError};
use crate::slack::convert::text_at;

mod chat;
mod directory;
mod history;
mod team;
mod views;

pub use chat::{open_dm, post_message, update_message};
pub use directory::{
    all_conversation_members, bot_conversations, conversation_info, conversation_members, user_info,
};
pub use history::{history, history_between, replies};
pub use team::{AuthInfo, FALLBACK_WORKSPACE_URL, auth_test};
pub use views::{
    OpenView, ResponseUrlError, open_view, post_ephemeral, publish_view, replace_original, respond,
    update_view,
};

/// One Slack Web API client for the whole process (it pools connections and holds rate state).
#[derive(Clone)]
pub struct SlackApi {
    client: Arc<Client>,
}

impl std::fmt::Debug for SlackApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SlackApi")
    }
}

impl SlackApi {
    /// `api_url` is the Web API base without a trailing slash (`https://slack.com/api`, or a
    /// local fake in tests, which is why plain HTTP is allowed).
    pub fn new(api_url: &str) -> Self {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        let connector = Connector::from(https)
            .with_slack_api_url(api_url.trim_end_matches('/'))
            .with_rate_control(
                SlackApiRateControlConfig::new()
                    .with_max_retries(5)
                    .with_max_delay_timeout(Duration::from_secs(120)),
            );
        SlackApi {
            client: Arc::new(SlackClient::new(connector)),
        }
    }

    /// The underlying client, for the Slack edge's own typed calls (OAuth, Socket Mode).
    pub fn client(&self) -> Arc<Client> {
        self.client.clone()
    }

    /// A session bound to a bot token: what every call in this module takes.
    pub fn session<'a>(&'a self, token: &'a BotToken) -> Session<'a> {
        Session {
            inner: self.client.open_session(&token.0),
        }
    }
}

/// A workspace's bot token, as chief acts with it.
///
/// Wraps slack-morphism's token so that the layers above the Slack edge never name it; its
/// `Debug` shows the team, never the value (tokens end up in logged structs).
#[derive(Clone)]
pub struct BotToken(SlackApiToken);

impl BotToken {
    /// The token `value` (`xoxb-…`) for `team_id` (which tags the client's tracing spans).
    pub fn new(value: String, team_id: &str) -> Self {
        BotToken(
            SlackApiToken::new(SlackApiTokenValue::new(value))
                .with_team_id(SlackTeamId::new(team_id.to_string())),
        )
    }

    /// The secret itself; named like `secrecy`'s so that every use is easy to find.
    pub fn expose_secret(&self) -> &str {
        &self.0.token_value.0
    }
}

impl std::fmt::Debug for BotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let team = self.0.team_id.as_ref().map_or("-", |t| t.0.as_str());
        write!(f, "BotToken(team {team}, [REDACTED])")
    }
}

/// The client bound to one [`BotToken`] (see [`SlackApi::session`]).
pub struct Session<'a> {
    inner: SlackClientSession<'a, Connector>,
}

/// A method's rate tier: `None` sends it without client-side throttling (Slack's 429s are still
/// honoured).
type Tier = Option<&'static SlackApiMethodRateControlConfig>;

impl Session<'_> {
    /// GETs a Web API method with query parameters (`None` ones left out) and reads the answer as
    /// plain JSON.
    async fn get(
        &self,
        method: &str,
        params: Vec<(&str, Option<String>)>,
        tier: Tier,
    ) -> Result<Value, SlackError> {
        self.inner
            .http_session_api
            .http_get::<Value, _, String>(method, &params, tier)
            .await
            .map_err(SlackError::from)
    }

    /// POSTs a Web API method with a JSON body and reads the answer as plain JSON.
    async fn post(&self, method: &str, body: &Value, tier: Tier) -> Result<Value, SlackError> {
        self.inner
            .http_session_api
            .http_post::<Value, Value>(method, body, tier)
            .await
            .map_err(SlackError::from)
    }
}

/// One page of a cursor-paginated list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The cursor of the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// Moves `cursor` on to the page after this one. `false` at the end of the list, and also when
/// Slack hands back the cursor just used, which would otherwise loop forever.
pub fn advance(cursor: &mut Option<String>, next: Option<String>) -> bool {
    match next {
        Some(next) if Some(&next) != cursor.as_ref() => {
            *cursor = Some(next);
            true
        }
        _ => false,
    }
}

fn next_cursor(v: &Value) -> Option<String> {
    text_at(v, &["response_metadata", "next_cursor"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bot_token_does_not_show_its_value() {
        let token = BotToken::new("xoxb-secret".into(), "T1");
        assert_eq!(token.expose_secret(), "xoxb-secret");
        let shown = format!("{token:?}");
        assert!(shown.contains("T1") && !shown.contains("xoxb"), "{shown}");
    }
}
