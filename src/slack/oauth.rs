//! Slack's OAuth v2 install flow, for serving many workspaces: the authorize URL, and the code
//! exchange through slack-morphism's `oauth.v2.access`.

use secrecy::{ExposeSecret, SecretString};
use slack_morphism::prelude::*;

use crate::slack::api::SlackError;
use crate::slack::web::SlackApi;

/// The bot scopes chief asks for; `manifest.yml` lists the same.
pub const BOT_SCOPES: &[&str] = &[
    "channels:history",
    "channels:read",
    "groups:history",
    "groups:read",
    "users:read",
    "chat:write",
    "im:write",
    "reactions:read",
    "commands",
];

/// Where to send an installing user: Slack's authorize page for this app.
pub fn authorize_url(
    slack_api_url: &str,
    client_id: &str,
    state: &str,
    redirect_uri: Option<&str>,
) -> String {
    let base = slack_api_url.trim_end_matches('/');
    let base = base.strip_suffix("/api").unwrap_or(base);
    let mut url = url::Url::parse(&format!("{base}/oauth/v2/authorize")).unwrap_or_else(|_| {
        url::Url::parse("https://slack.com/oauth/v2/authorize").expect("valid")
    });
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("client_id", client_id)
            .append_pair("scope", &BOT_SCOPES.join(","))
            .append_pair("state", state);
        if let Some(redirect) = redirect_uri {
            query.append_pair("redirect_uri", redirect);
        }
    }
    url.to_string()
}

/// What an install gives chief.
pub struct Installation {
    pub team_id: String,
    pub team_name: Option<String>,
    pub bot_user_id: Option<String>,
    pub bot_token: SecretString,
}

/// Exchanges the callback's `code` for the workspace's bot token.
pub async fn exchange_code(
    api: &SlackApi,
    client_id: &str,
    client_secret: &SecretString,
    code: &str,
    redirect_uri: Option<&str>,
) -> Result<Installation, SlackError> {
    let mut request = SlackOAuthV2AccessTokenRequest::new(
        SlackClientId::new(client_id.to_string()),
        SlackClientSecret::new(client_secret.expose_secret().to_string()),
        SlackOAuthCode::new(code.to_string()),
    );
    if let Some(redirect) = redirect_uri.and_then(|r| url::Url::parse(r).ok()) {
        request = request.with_redirect_uri(redirect);
    }
    let response = api.client().oauth2_access(&request).await?;
    Ok(Installation {
        team_id: response.team.id.to_string(),
        team_name: response.team.name.clone(),
        bot_user_id: response.bot_user_id.map(|u| u.to_string()),
        bot_token: SecretString::from(response.access_token.value().to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorize_url_sits_beside_the_web_api() {
        let url = authorize_url("https://slack.com/api", "123.456", "st4te", None);
        assert!(url.starts_with("https://slack.com/oauth/v2/authorize?client_id=123.456"));
        assert!(url.contains("state=st4te"));
        assert!(url.contains("scope=channels%3Ahistory%2C"));
        let local = authorize_url(
            "http://127.0.0.1:9/api",
            "1",
            "s",
            Some("https://c.example/cb"),
        );
        assert!(local.starts_with("http://127.0.0.1:9/oauth/v2/authorize"));
        assert!(local.contains("redirect_uri=https%3A%2F%2Fc.example%2Fcb"));
    }
}
