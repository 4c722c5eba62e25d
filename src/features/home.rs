//! The App Home tab: the latest briefing, the user's settings as controls, usage hints.
//!
//! Published (`views.publish`) when the user opens the tab (`app_home_opened`, from the events
//! handler), after every settings change made with `/chief`, and after each control is used.
//! The controls write the same settings as `/chief` (`db::profile::update_settings`, which
//! reschedules the next briefing).

use tracing::{debug, warn};

use crate::features::context::Context;
use crate::model::activity::ScheduleRules;
use crate::model::interest::HalfLife;
use crate::model::settings::{DeliveryTime, UserSettings};
use crate::platform::db::{now, profile};
use crate::platform::retry::Failure as HandlerError;
use crate::slack::api::SlackError;
use crate::slack::blocks::{self, HomeSettings, actions};
use crate::slack::interactions::ActionClick;
use crate::slack::web;

/// Shown after "Brief me now".
pub const BRIEFING_REQUESTED: &str =
    "On it: your briefing is being prepared and arrives as a direct message in a minute or two.";

/// Publishes (`views.publish`) the user's Home tab.
pub async fn publish(ctx: &Context, team_id: &str, user_id: &str) -> Result<(), HandlerError> {
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
        interests,
    }
}

fn slack_failure(e: SlackError) -> HandlerError {
    if e.is_transient() {
        HandlerError::Transient(format!("views.publish: {e}"))
    } else {
        HandlerError::Permanent(format!("views.publish: {e}"))
    }
}

/// Publishes the Home tab with a one-line notice at the top (the result of a control).
pub async fn publish_with(
    ctx: &Context,
    team_id: &str,
    user_id: &str,
    notice: Option<&str>,
) -> Result<(), HandlerError> {
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
            debug!(error = %e, "no briefing to show on the Home tab");
            None
        }
    };
    let view = blocks::home_view(
        latest.as_ref(),
        &home_settings(&settings, interests),
        notice,
    );
    let token = ctx
        .bot_token(team_id)
        .await
        .map_err(|e| HandlerError::Permanent(e.to_string()))?;
    web::publish_view(&ctx.slack.session(&token), user_id, &view)
        .await
        .map_err(slack_failure)
}

async fn change(
    ctx: &Context,
    click: &ActionClick,
    f: impl FnOnce(&mut UserSettings) + Send,
) -> Result<(), HandlerError> {
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
pub async fn on_action(ctx: &Context, click: &ActionClick) -> Result<(), HandlerError> {
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
                        warn!(error = %e, "briefing could not be prepared");
                        crate::features::briefing::REQUEST_FAILED.into()
                    }
                },
            );
        }
        other => debug!(action_id = other, "not a Home control"),
    }
    publish_with(ctx, &click.team_id, &click.user_id, notice.as_deref()).await
}
