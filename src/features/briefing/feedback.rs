//! "More like this", "Less like this" and "Mute #channel" on a briefing story.
//!
//! - **More / Less like this** apply a `MoreLikeThis` (+3) / `LessLikeThis` (−4) interest signal
//!   to the story's topics and entities (`domain::BriefingStory::topics`). The signal id is
//!   `feedback:{briefing}:{story}:{more|less}`, so clicking twice counts once. A story whose
//!   topics a reader disliked is left out of their next briefings; liked topics rank higher.
//! - **Mute #channel** (the story's overflow menu) adds the channel to the reader's muted
//!   channels: it is no longer read for their briefings.
//!
//! The DM is then updated in place (`chat.update`): that story's buttons become a line such as
//! "Got it — more like this"; without a known message, the click's `response_url` is used.

use serde_json::Value;
use tracing::{debug, warn};

use super::{BriefingError, delivery, interest};
use crate::features::context::Context;
use crate::model::activity::ScheduleRules;
use crate::model::interest::{Signal, SignalKind};
use crate::platform::db::briefings::{self, BriefingRow};
use crate::platform::db::{messages, now, profile};
use crate::slack::blocks::actions;
use crate::slack::interactions::ActionClick;
use crate::slack::web;

/// What a click asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Feedback {
    More {
        story: String,
    },
    Less {
        story: String,
    },
    Mute {
        channel: String,
        story: Option<String>,
    },
}

/// Reads a click on a story's controls; `None` when it is not one.
pub fn parse(click: &ActionClick) -> Option<Feedback> {
    let value: Value = serde_json::from_str(click.value.as_deref()?).ok()?;
    let story = value
        .get("story")
        .and_then(Value::as_str)
        .map(str::to_string);
    match click.action_id.as_str() {
        actions::MORE_LIKE_THIS => Some(Feedback::More { story: story? }),
        actions::LESS_LIKE_THIS => Some(Feedback::Less { story: story? }),
        actions::STORY_MENU => Some(Feedback::Mute {
            channel: value.get("mute").and_then(Value::as_str)?.to_string(),
            story,
        }),
        _ => None,
    }
}

/// Handles a click on a story's buttons (`slack::blocks::actions::{MORE_LIKE_THIS, LESS_LIKE_THIS,
/// STORY_MENU}`): updates the interest model and acknowledges in place.
pub async fn on_action(ctx: &Context, click: &ActionClick) -> Result<(), BriefingError> {
    let Some(feedback) = parse(click) else {
        debug!(action_id = %click.action_id, "not a feedback click");
        return Ok(());
    };
    apply(ctx, click, &feedback).await
}

/// The stored briefing the click came from: the DM message it is on, else the user's recent
/// briefing holding the story.
async fn briefing_of(
    ctx: &Context,
    click: &ActionClick,
    story: Option<&str>,
) -> Result<Option<BriefingRow>, BriefingError> {
    if let (Some(channel), Some(ts)) = (&click.channel_id, &click.message_ts)
        && let Some(row) =
            briefings::find_by_message(&ctx.db, &click.team_id, &click.user_id, channel, ts).await?
    {
        return Ok(Some(row));
    }
    let Some(story) = story else { return Ok(None) };
    Ok(
        briefings::recent(&ctx.db, &click.team_id, &click.user_id, 14)
            .await?
            .into_iter()
            .find(|r| r.briefing.stories.iter().any(|s| s.id == story)),
    )
}

/// Applies the feedback and acknowledges it.
pub async fn apply(
    ctx: &Context,
    click: &ActionClick,
    feedback: &Feedback,
) -> Result<(), BriefingError> {
    let story_id = match feedback {
        Feedback::More { story } | Feedback::Less { story } => Some(story.as_str()),
        Feedback::Mute { story, .. } => story.as_deref(),
    };
    let row = briefing_of(ctx, click, story_id).await?;
    // The overflow menu's value names only the channel: acknowledge on the first story from it.
    let target: Option<String> = story_id.map(str::to_string).or_else(|| match feedback {
        Feedback::Mute { channel, .. } => row.as_ref().and_then(|r| {
            r.briefing
                .stories
                .iter()
                .find(|s| s.sources.iter().any(|src| &src.channel == channel))
                .map(|s| s.id.clone())
        }),
        _ => None,
    });
    let ack = match feedback {
        Feedback::More { story } | Feedback::Less { story } => {
            let Some(row) = &row else {
                warn!(%story, "feedback on a briefing chief no longer has");
                return Ok(());
            };
            let Some(found) = row.briefing.stories.iter().find(|s| &s.id == story) else {
                warn!(%story, briefing = row.id, "feedback on an unknown story");
                return Ok(());
            };
            let (kind, word, text) = match feedback {
                Feedback::More { .. } => {
                    (SignalKind::MoreLikeThis, "more", "Got it — more like this.")
                }
                _ => (SignalKind::LessLikeThis, "less", "Got it — less like this."),
            };
            // The story's topics were read from its sources: deleting those forgets them.
            let mut texts: Vec<(&str, &str, String)> = Vec::new();
            for l in &found.sources {
                if let Some(m) = messages::get(&ctx.db, &click.team_id, &l.channel, &l.ts).await?
                    && m.removed.is_none()
                {
                    texts.push((&l.channel, &l.ts, m.text));
                }
            }
            let from: Vec<interest::Learned<'_>> = texts
                .iter()
                .map(|(channel_id, ts, text)| interest::Learned {
                    channel_id,
                    ts,
                    text,
                })
                .collect();
            interest::apply(
                ctx,
                &click.team_id,
                &Signal {
                    id: format!("feedback:{}:{story}:{word}", row.id),
                    user_id: click.user_id.clone(),
                    kind,
                    topics: found.topics.clone(),
                    entities: vec![],
                    people: vec![],
                    at: now(),
                },
                &from,
            )
            .await?;
            text.to_string()
        }
        Feedback::Mute { channel, .. } => {
            profile::update_settings(
                &ctx.db,
                &click.team_id,
                &click.user_id,
                now(),
                &ScheduleRules::default(),
                |s| {
                    s.muted_channels.insert(channel.clone());
                },
            )
            .await?;
            let name = row
                .as_ref()
                .and_then(|r| {
                    r.briefing
                        .stories
                        .iter()
                        .flat_map(|s| &s.sources)
                        .find(|s| &s.channel == channel)
                        .and_then(|s| s.channel_name.clone())
                })
                .map(|n| format!("#{n}"))
                .unwrap_or_else(|| format!("<#{channel}>"));
            format!("Got it — {name} is muted in your briefings (`/chief unmute` brings it back).")
        }
    };
    acknowledge(ctx, click, row, target.as_deref(), &ack).await
}

async fn acknowledge(
    ctx: &Context,
    click: &ActionClick,
    row: Option<BriefingRow>,
    story: Option<&str>,
    ack: &str,
) -> Result<(), BriefingError> {
    if let (Some(mut row), Some(story)) = (row, story) {
        row.acks = briefings::add_ack(&ctx.db, row.id, story, ack).await?;
        if row.dm_channel.is_some() && row.message_ts.is_some() {
            return delivery::update_message(ctx, &row).await;
        }
        if let Some(url) = &click.response_url {
            let text = crate::slack::blocks::briefing_text(&row.briefing);
            log_lost(web::replace_original(url, &text, &delivery::message_blocks(&row)).await);
        }
        return Ok(());
    }
    if let Some(url) = &click.response_url {
        log_lost(web::respond(url, ack, &[]).await);
    }
    Ok(())
}

/// An acknowledgement that could not be shown is only logged: the feedback itself is stored.
fn log_lost(result: Result<(), web::ResponseUrlError>) {
    if let Err(e) = result {
        warn!(error = %e, "response_url failed; the acknowledgement is lost");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn click(action: &str, value: &str) -> ActionClick {
        ActionClick {
            team_id: "T1".into(),
            user_id: "U1".into(),
            action_id: action.into(),
            value: Some(value.into()),
            selected: vec![],
            channel_id: Some("D1".into()),
            message_ts: Some("1.2".into()),
            view_id: None,
            view_hash: None,
            trigger_id: None,
            response_url: None,
        }
    }

    #[test]
    fn clicks_read_back_the_values_the_blocks_carry() {
        assert_eq!(
            parse(&click(
                actions::MORE_LIKE_THIS,
                r#"{"story":"s1","action":"more"}"#
            )),
            Some(Feedback::More { story: "s1".into() })
        );
        assert_eq!(
            parse(&click(
                actions::LESS_LIKE_THIS,
                r#"{"story":"s1","action":"less"}"#
            )),
            Some(Feedback::Less { story: "s1".into() })
        );
        assert_eq!(
            parse(&click(actions::STORY_MENU, r#"{"mute":"C9"}"#)),
            Some(Feedback::Mute {
                channel: "C9".into(),
                story: None
            })
        );
        assert_eq!(parse(&click(actions::MORE_LIKE_THIS, "garbage")), None);
        assert_eq!(parse(&click("other", r#"{"story":"s1"}"#)), None);
    }
}
