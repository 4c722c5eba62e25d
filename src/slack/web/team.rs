//! Who chief is in a workspace (`auth.test`): the team, the bot's identity, and the workspace's
//! URL that permalinks are built on.

use slack_morphism::prelude::*;

use super::Session;
use crate::slack::api::SlackError;
use crate::slack::convert::text_at;

/// Where a permalink points when the workspace's own URL cannot be learned (Slack redirects it).
pub const FALLBACK_WORKSPACE_URL: &str = "https://slack.com";

/// Who chief is in a workspace (`auth.test`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthInfo {
    pub team_id: Option<String>,
    pub team_name: Option<String>,
    pub user_id: Option<String>,
    pub bot_id: Option<String>,
    /// The workspace's URL (`https://acme.slack.com`, no trailing slash); `None` unless Slack
    /// gave an HTTP(S) one, since permalinks are built on it.
    pub url: Option<String>,
}

pub async fn auth_test(session: &Session<'_>) -> Result<AuthInfo, SlackError> {
    let v = session
        .get("auth.test", vec![], Some(&SLACK_TIER4_METHOD_CONFIG))
        .await?;
    Ok(AuthInfo {
        team_id: text_at(&v, &["team_id"]),
        team_name: text_at(&v, &["team"]),
        user_id: text_at(&v, &["user_id"]),
        bot_id: text_at(&v, &["bot_id"]),
        url: text_at(&v, &["url"])
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .map(|u| u.trim_end_matches('/').to_string()),
    })
}
