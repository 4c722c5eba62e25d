//! The App Home tab: the latest briefing, the user's settings as controls, usage hints.
//!
//! Published (`views.publish`) when the user opens the tab (`app_home_opened`, from the events
//! handler), after every settings change made with `/chief`, and after each control is used.
//! The controls write the same settings as `/chief` (`db::profile::update_settings`, which
//! reschedules the next briefing).

use tracing::{debug, warn};

use crate::features::context::{Context, TokenError};
use crate::model::activity::ScheduleRules;
use crate::model::interest::HalfLife;
use crate::model::settings::{DeliveryTime, UserSettings};
use crate::platform::db::{DbError, now, profile};
use crate::platform::retry::{Chain, Retryable};
use crate::slack::api::SlackError;
use crate::slack::blocks::{self, HomeSettings, actions};
use crate::slack::interactions::ActionClick;
use crate::slack::web;

/// Shown after "Brief me now".
pub const BRIEFING_REQUESTED: &str =
    "On it: your briefing is being prepared and arrives as a direct message in a minute or two.";

/// Why the Home tab could not be shown or a control applied.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// No usable bot token for the team.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Slack refused or failed the `views.publish`.
    #[error("views.publish")]
    Publish(#[source] SlackError),
}

/// Retried while the database or Slack is unavailable; a token that is missing or rejected, or a
/// view Slack refuses, waits for a person (the next opening of the tab publishes again anyway).
impl Retryable for HomeError {
    fn is_transient(&self) -> bool {
        match self {
            HomeError::Db(e) => e.is_transient(),
            HomeError::Token(e) => e.is_transient(),
            HomeError::Publish(e) => Retryable::is_transient(e),
        }
    }

    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            HomeError::Publish(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// Publishes (`views.publish`) the user's Home tab.
pub async fn publish(ctx: &Context, team_id: &str, user_id: &str) -> Result<(), HomeError> {
    publish_with(ctx, team_id, user_id, None).await
}

fn home_settings(settings: &UserSettings, interests: Vec<String>) -> HomeSettings {
    HomeSettings {
        time: match settings.delivery_time {
            DeliveryTime::Auto => None,
            fixed @ DeliveryTime::Fixed(_) => Some(fixed.to_storage()),
        },
        days: settings.delivery_days.to_string(),
        muted: settings.muted_channels.iter().cloned().collect(),
        paused: settings.paused,
        language: settings.language.clone(),
        interests,
    }
}

/// Publishes the Home tab with a one-line notice at the top (the result of a control).
pub async fn publish_with(
    ctx: &Context,
    team_id: &str,
    user_id: &str,
    notice: Option<&str>,
) -> Result<(), HomeError> {
    let settings = profile::get_settings(&ctx.db, team_id, user_id).await?;
    let interests = profile::load_profile(&ctx.db, team_id, user_id, HalfLife::default())
        .await?
        .top(5, now())
        .into_iter()
        .filter(|(_, score)| *score > 0.0)
        .map(|(name, _)| name)
        .collect();
    let latest = match crate::features::briefing::latest(ctx, team_id, user_id).await {
        Ok(latest) => latest,
        Err(e) => {
            debug!(error = %Chain(&e), "no briefing to show on the Home tab");
            None
        }
    };
    let mut view = blocks::home_view(
        latest.as_ref(),
        &home_settings(&settings, interests),
        notice,
    );
    match crate::features::org::team_lines(&ctx.db, team_id, user_id).await {
        Ok(Some(lines)) => blocks::append_team(&mut view, &lines),
        Ok(None) => {}
        Err(e) => debug!(error = %e, "no team to show on the Home tab"),
    }
    let token = ctx.bot_token(team_id).await?;
    web::publish_view(&ctx.slack.session(&token), user_id, &view)
        .await
        .map_err(HomeError::Publish)
}

async fn change(
    ctx: &Context,
    click: &ActionClick,
    f: impl FnOnce(&mut UserSettings) + Send,
) -> Result<(), HomeError> {
    profile::update_settings(
        &ctx.db,
        &click.team_id,
        &click.user_id,
        now(),
        &ScheduleRules::default(),
        f,
    )
    .await?;
    Ok(())
}

/// A control on the Home tab changed (`slack::blocks::actions::{BRIEFING_NOW, SET_TIME, …}`).
pub async fn on_action(ctx: &Context, click: &ActionClick) -> Result<(), HomeError> {
    let mut notice: Option<String> = None;
    match click.action_id.as_str() {
        actions::SET_TIME => {
            let raw = click
                .selected
                .first()
                .or(click.value.as_ref())
                .map(String::as_str)
                .unwrap_or("auto");
            match DeliveryTime::parse(raw) {
                Ok(time) => {
                    change(ctx, click, |s| s.delivery_time = time).await?;
                    notice = Some(match time {
                        DeliveryTime::Auto => {
                            "Your briefing now arrives when you usually start your day.".into()
                        }
                        DeliveryTime::Fixed(_) => {
                            format!("Your briefing now arrives at {time} your time.")
                        }
                    });
                }
                Err(e) => notice = Some(e.0),
            }
        }
        actions::SET_LANGUAGE => {
            let raw = click
                .value
                .as_deref()
                .or(click.selected.first().map(String::as_str))
                .unwrap_or(crate::model::settings::LANGUAGE_AUTO);
            match crate::model::settings::parse_language(raw) {
                Ok(code) => {
                    let name = crate::model::settings::language_name(code.as_deref());
                    change(ctx, click, |s| s.language = code).await?;
                    notice = Some(format!(
                        "Your briefings and explanations are now written in {name}."
                    ));
                }
                Err(e) => notice = Some(e.0),
            }
        }
        actions::SET_MUTES => {
            let muted: std::collections::BTreeSet<String> =
                click.selected.iter().cloned().collect();
            let n = muted.len();
            change(ctx, click, |s| s.muted_channels = muted).await?;
            notice = Some(match n {
                0 => "No channel is muted.".into(),
                1 => "One channel is left out of your briefings.".into(),
                n => format!("{n} channels are left out of your briefings."),
            });
        }
        actions::TOGGLE_PAUSE => {
            let current = profile::get_settings(&ctx.db, &click.team_id, &click.user_id)
                .await?
                .paused;
            let paused = match click.value.as_deref() {
                Some("pause") => true,
                Some("resume") => false,
                _ => !current,
            };
            change(ctx, click, |s| s.paused = paused).await?;
            notice = Some(if paused {
                "Paused: no briefings until you resume them.".into()
            } else {
                "Resumed: your briefings start again on your next delivery day.".into()
            });
        }
        actions::BRIEFING_NOW => {
            notice = Some(
                match crate::features::briefing::request_now(ctx, &click.team_id, &click.user_id)
                    .await
                {
                    Ok(()) => BRIEFING_REQUESTED.into(),
                    Err(e) => {
                        warn!(error = %Chain(&e), "briefing could not be prepared");
                        crate::features::briefing::REQUEST_FAILED.into()
                    }
                },
            );
        }
        other => debug!(action_id = other, "not a Home control"),
    }
    publish_with(ctx, &click.team_id, &click.user_id, notice.as_deref()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_view_is_parked_with_slack_s_code_and_an_outage_retried() {
        let refused = HomeError::Publish(SlackError::Api {
            code: "invalid_blocks".into(),
        });
        assert!(!refused.is_transient());
        assert_eq!(
            Chain(&refused).to_string(),
            "views.publish: Slack API error invalid_blocks"
        );
        let down = HomeError::Publish(SlackError::Transport("HTTP 503".into()));
        assert!(down.is_transient());
        let no_token = HomeError::Token(TokenError::NotInstalled("T1".into()));
        assert!(!no_token.is_transient());
    }
}
