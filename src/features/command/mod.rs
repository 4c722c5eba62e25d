//! `/chief`: every answer is ephemeral (only the person who typed it sees it).
//!
//! Slack wants an acknowledgement within three seconds, and chief stores the command before
//! acknowledging (persist, then ack). What the acknowledgement itself says is decided by
//! [`immediate_reply`], a pure function of the command text, used by both the HTTP edge and Socket
//! Mode:
//! - the help — `/chief help`, an unknown subcommand or bad arguments — is answered in the ack
//!   itself, in Block Kit, with one sentence saying what was wrong (never an error dump);
//! - `/chief briefing` is acknowledged with one sentence ("on it, it arrives as a DM");
//! - everything else is acknowledged with an empty body, and the worker answers through the
//!   command's `response_url` (settings and interests take a few milliseconds; `/chief context`
//!   opens a modal with the command's `trigger_id`, like the message shortcut).
//!
//! The worker ([`handle`]) calls the same function and does not answer again what the ack already
//! answered. Commands go through the inbox's interactive lane, ahead of queued events.

use serde_json::{Value, json};
use tracing::{debug, info, warn};

pub mod parse;

use crate::features::context::Context;
use crate::features::explain::ExplainError;
use crate::model::activity::ScheduleRules;
use crate::model::interest::{HalfLife, Signal, SignalKind};
use crate::model::settings::{DeliveryTime, UserSettings};
use crate::platform::db::inbox::Item;
use crate::platform::db::{DbError, directory, now, profile};
use crate::platform::retry::{Chain, Retryable};
use crate::slack::blocks;
use crate::slack::web;
use parse::{ChannelRef, ChiefCommand};

/// What `/chief briefing` answers when no briefing can be prepared.
pub use crate::features::briefing::REQUEST_FAILED as BRIEFING_FAILED;
/// The acknowledgement of a briefing request.
pub use crate::features::briefing::REQUESTED as BRIEFING_ACK;

/// Why a command could not be carried out. What the person is told about a failed briefing
/// request is not an error: it is answered, and the command succeeds.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Reading or writing the person's settings, interests or the channel directory.
    #[error(transparent)]
    Db(#[from] DbError),
    /// `/chief context <link>`: click-to-context could not take the request.
    #[error(transparent)]
    Explain(#[from] ExplainError),
    /// `/chief team`: reading or correcting the org chart.
    #[error(transparent)]
    Org(#[from] crate::features::org::OrgError),
}

impl Retryable for CommandError {
    fn is_transient(&self) -> bool {
        match self {
            CommandError::Db(e) => e.is_transient(),
            CommandError::Explain(e) => e.is_transient(),
            CommandError::Org(crate::features::org::OrgError::Db(e)) => e.is_transient(),
            CommandError::Org(_) => false,
        }
    }
}

/// The fields of a stored slash command chief uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandRequest {
    pub command: String,
    pub team_id: String,
    pub user_id: String,
    pub channel_id: Option<String>,
    pub text: String,
    pub response_url: Option<String>,
    pub trigger_id: Option<String>,
}

fn field(payload: &Value, key: &str) -> Option<String> {
    payload
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl CommandRequest {
    pub fn from_payload(payload: &Value) -> Result<Self, String> {
        Ok(CommandRequest {
            command: field(payload, "command").ok_or("no command")?,
            team_id: field(payload, "team_id").ok_or("no team_id")?,
            user_id: field(payload, "user_id").ok_or("no user_id")?,
            channel_id: field(payload, "channel_id"),
            text: payload
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            response_url: field(payload, "response_url"),
            trigger_id: field(payload, "trigger_id"),
        })
    }
}

/// An ephemeral message body (`text` for notifications, `blocks` when given).
fn ephemeral(text: &str, blocks: Option<Vec<Value>>) -> Value {
    let mut body = json!({"response_type": "ephemeral", "text": text});
    if let Some(blocks) = blocks {
        body["blocks"] = json!(blocks);
    }
    body
}

/// What the acknowledgement of a slash command carries (see the module docs); `None` is an empty
/// acknowledgement, the worker answering later through the response URL.
pub fn immediate_reply(payload: &Value) -> Option<Value> {
    let text = payload
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match parse::parse(text) {
        ChiefCommand::Help { error } => Some(ephemeral(
            &parse::help_reply(error.as_deref()),
            Some(blocks::help_blocks(&parse::help_text(), error.as_deref())),
        )),
        ChiefCommand::Briefing => Some(ephemeral(BRIEFING_ACK, None)),
        _ => None,
    }
}

/// Handles a stored slash command whose `payload` the inbox has already read.
pub async fn handle(ctx: &Context, item: &Item, payload: &Value) -> Result<(), CommandError> {
    let request = match CommandRequest::from_payload(payload) {
        Ok(r) => r,
        Err(reason) => {
            warn!(%reason, kind = %item.kind, "command skipped");
            return Ok(());
        }
    };
    let command = parse::parse(&request.text);
    info!(subcommand = command.name(), team_id = %request.team_id, user_id = %request.user_id, "/chief");
    run(ctx, &request, command, item.id).await
}

/// Carries out one parsed command. `item_id` makes the interest signals' ids unique and stable
/// across retries of the same stored command.
pub async fn run(
    ctx: &Context,
    request: &CommandRequest,
    command: ChiefCommand,
    item_id: i64,
) -> Result<(), CommandError> {
    let team = request.team_id.as_str();
    let user = request.user_id.as_str();
    match command {
        // The acknowledgement carried the help.
        ChiefCommand::Help { .. } => Ok(()),
        ChiefCommand::Briefing => {
            match crate::features::briefing::request_now(ctx, team, user).await {
                Ok(()) => debug!(team, user, "briefing requested"),
                Err(e) => {
                    warn!(error = %Chain(&e), team, user, "briefing could not be prepared");
                    reply(ctx, request, BRIEFING_FAILED, None).await;
                }
            }
            Ok(())
        }
        ChiefCommand::Context(link) => {
            crate::features::explain::on_command(
                ctx,
                crate::features::explain::gather::Request {
                    team_id: team.to_string(),
                    user_id: user.to_string(),
                    channel_id: link.channel_id.clone(),
                    ts: link.ts.clone(),
                    thread_ts: link.thread_ts.clone(),
                },
                request.trigger_id.as_deref(),
                request.response_url.as_deref(),
            )
            .await?;
            Ok(())
        }
        ChiefCommand::Interests => {
            let text = interests_text(ctx, team, user).await?;
            reply(ctx, request, &text, None).await;
            Ok(())
        }
        ChiefCommand::Priorities => {
            let items = crate::features::priorities::current(ctx, team, user).await?;
            let text = priorities_text(ctx, team, &items).await;
            reply(ctx, request, &text, None).await;
            Ok(())
        }
        ChiefCommand::InterestsAdd(topics) => {
            change_interests(ctx, request, &topics, true, item_id).await
        }
        ChiefCommand::InterestsRemove(topics) => {
            change_interests(ctx, request, &topics, false, item_id).await
        }
        ChiefCommand::Time(time) => {
            change_settings(ctx, request, |s| s.delivery_time = time).await?;
            let text = match time {
                DeliveryTime::Auto => "Done: your briefing arrives when you usually start your day (09:00 until I've learned when that is).".to_string(),
                DeliveryTime::Fixed(_) => format!(
                    "Done: your briefing arrives at {time} your time, on your delivery days."
                ),
            };
            reply(ctx, request, &text, None).await;
            Ok(())
        }
        ChiefCommand::Days(days) => {
            change_settings(ctx, request, |s| s.delivery_days = days).await?;
            reply(
                ctx,
                request,
                &format!("Done: you get a briefing on {days}."),
                None,
            )
            .await;
            Ok(())
        }
        ChiefCommand::Mute(refs) => change_mutes(ctx, request, &refs, true).await,
        ChiefCommand::Unmute(refs) => change_mutes(ctx, request, &refs, false).await,
        ChiefCommand::Language(code) => {
            let name = crate::model::settings::language_name(code.as_deref());
            change_settings(ctx, request, |s| s.language = code).await?;
            reply(
                ctx,
                request,
                &format!("Done: I write your briefings and explanations in {name}."),
                None,
            )
            .await;
            Ok(())
        }
        ChiefCommand::Team => {
            let text = match crate::features::org::team_lines(&ctx.db, team, user).await? {
                Some(lines) => format!(
                    "{}\nNot right? `/chief team set <team name>` (or `/chief team reset`).",
                    lines.join("\n")
                ),
                None => "I have not seen you work with anyone yet, so I don't know your team. \
                         You can tell me: `/chief team set <team name>`."
                    .to_string(),
            };
            reply(ctx, request, &text, None).await;
            Ok(())
        }
        ChiefCommand::TeamSet(name) => {
            let model =
                crate::features::org::set_team(&ctx.db, team, user, name.as_deref().unwrap_or(""))
                    .await?;
            let text = match (&name, model.people.get(user).and_then(|p| p.team.as_ref())) {
                (Some(name), _) => format!("Done: I'll count you in the {name} team."),
                (None, Some(inferred)) => {
                    format!("Done: back to what I infer — the {inferred} team.")
                }
                (None, None) => "Done: back to what I infer (no team yet).".to_string(),
            };
            reply(ctx, request, &text, None).await;
            Ok(())
        }
        ChiefCommand::Pause => {
            change_settings(ctx, request, |s| s.paused = true).await?;
            reply(
                ctx,
                request,
                "Paused: no briefings until you `/chief resume`.",
                None,
            )
            .await;
            Ok(())
        }
        ChiefCommand::Resume => {
            change_settings(ctx, request, |s| s.paused = false).await?;
            reply(
                ctx,
                request,
                "Resumed: your briefings start again on your next delivery day.",
                None,
            )
            .await;
            Ok(())
        }
    }
}

/// `/chief interests add|remove`: one manual signal per topic.
async fn change_interests(
    ctx: &Context,
    request: &CommandRequest,
    topics: &[String],
    add: bool,
    item_id: i64,
) -> Result<(), CommandError> {
    let kind = if add {
        SignalKind::ManualAdd
    } else {
        SignalKind::ManualRemove
    };
    for (n, topic) in topics.iter().enumerate() {
        let signal = Signal {
            id: format!("cmd:{item_id}:{n}"),
            user_id: request.user_id.clone(),
            kind,
            topics: vec![topic.clone()],
            entities: vec![],
            people: vec![],
            at: now(),
        };
        profile::apply_signal(&ctx.db, &request.team_id, &signal, HalfLife::default()).await?;
    }
    let list = join_words(topics);
    let text = if add {
        format!("Added {list}: I'll always treat it as important to you.")
    } else {
        format!("Removed {list}: I won't treat it as important to you any more.")
    };
    reply(ctx, request, &text, None).await;
    Ok(())
}

/// `/chief mute|unmute #channel…`.
async fn change_mutes(
    ctx: &Context,
    request: &CommandRequest,
    refs: &[ChannelRef],
    mute: bool,
) -> Result<(), CommandError> {
    let (ids, unknown) = resolve_channels(ctx, &request.team_id, refs).await?;
    if !ids.is_empty() {
        change_settings(ctx, request, |s| {
            for id in &ids {
                if mute {
                    s.muted_channels.insert(id.clone());
                } else {
                    s.muted_channels.remove(id);
                }
            }
        })
        .await?;
    }
    let mut sentences = Vec::new();
    if !ids.is_empty() {
        let list = join_words(&ids.iter().map(|id| format!("<#{id}>")).collect::<Vec<_>>());
        sentences.push(if mute {
            format!("Done: {list} will be left out of your briefings.")
        } else {
            format!("Done: {list} is back in your briefings.")
        });
    }
    if !unknown.is_empty() {
        sentences.push(format!(
            "I don't know {}: type `#` and pick the channel from the list.",
            join_words(&unknown)
        ));
    }
    reply(ctx, request, &sentences.join(" "), None).await;
    Ok(())
}

/// `a`, `a and b`, `a, b and c`.
fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Applies a settings change (the schedule is recomputed), then refreshes the Home tab.
async fn change_settings(
    ctx: &Context,
    request: &CommandRequest,
    change: impl FnOnce(&mut UserSettings) + Send,
) -> Result<UserSettings, CommandError> {
    let (settings, _plan) = profile::update_settings(
        &ctx.db,
        &request.team_id,
        &request.user_id,
        now(),
        &ScheduleRules::default(),
        change,
    )
    .await?;
    if let Err(e) = crate::features::home::publish(ctx, &request.team_id, &request.user_id).await {
        debug!(error = %Chain(&e), "Home tab not refreshed");
    }
    Ok(settings)
}

/// Channel references as ids: mentions carry theirs, `#names` are looked up in the directory.
/// Returns the ids and the names nobody knows.
pub async fn resolve_channels(
    ctx: &Context,
    team_id: &str,
    refs: &[ChannelRef],
) -> Result<(Vec<String>, Vec<String>), CommandError> {
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    let mut channels = None;
    for r in refs {
        match r {
            ChannelRef::Id { id, .. } => ids.push(id.clone()),
            ChannelRef::Name(name) => {
                if channels.is_none() {
                    channels = Some(directory::list_channels(&ctx.db, team_id).await?);
                }
                let found = channels.iter().flatten().find(|c| {
                    !c.channel.is_im
                        && !c.channel.is_mpim
                        && c.channel
                            .name
                            .as_deref()
                            .is_some_and(|n| n.eq_ignore_ascii_case(name))
                });
                match found {
                    Some(c) => ids.push(c.channel.channel_id.clone()),
                    None => unknown.push(format!("#{name}")),
                }
            }
        }
    }
    ids.dedup();
    Ok((ids, unknown))
}

/// The person's watched items, pending first, for `/chief priorities`: state, kind, what, due,
/// and a link to where it was said.
async fn priorities_text(
    ctx: &Context,
    team: &str,
    items: &[crate::model::priorities::Item],
) -> String {
    if items.is_empty() {
        return "Nothing is waiting on you: no open request to you, no commitment of yours and no                 blocker in your channels in the last week."
            .to_string();
    }
    let workspace = ctx.workspace_url(team).await;
    let mut sorted: Vec<&crate::model::priorities::Item> = items.iter().collect();
    sorted.sort_by_key(|i| (!i.state.is_pending(), i.last_progress));
    let mut out = String::from("*What I watch for you* (the last week):");
    for i in sorted.iter().take(15) {
        let due = i
            .due
            .as_deref()
            .map(|d| format!(", due {d}"))
            .unwrap_or_default();
        let link = i
            .sources
            .first()
            .map(|s| {
                format!(
                    " <{}|source>",
                    crate::model::domain::permalink(&workspace, &s.channel_id, &s.ts, None)
                )
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "\n• *{}* {}{due}: {}{link}",
            i.state.as_str(),
            i.kind.as_str(),
            blocks::escape(&i.text)
        ));
    }
    out
}

/// The user's top interests with their scores, for `/chief interests`.
async fn interests_text(ctx: &Context, team: &str, user: &str) -> Result<String, CommandError> {
    let profile = profile::load_profile(&ctx.db, team, user, HalfLife::default()).await?;
    let top = profile.top(10, now());
    let pinned = profile.pinned();
    if top.is_empty() {
        return Ok("I haven't learned what you care about yet: it grows as you write, reply and \
                   react in your channels. Tell me directly with `/chief interests add payments, hiring`."
            .to_string());
    }
    let mut out =
        String::from("*What I think you care about* (scores halve every week unless renewed):");
    for (name, score) in top {
        let pin = if pinned.iter().any(|p| p.eq_ignore_ascii_case(&name)) {
            " (you added it)"
        } else {
            ""
        };
        out.push_str(&format!("\n• {} — {score:.1}{pin}", blocks::escape(&name)));
    }
    out.push_str(
        "\n\nChange it with `/chief interests add <topic>` or `/chief interests remove <topic>`.",
    );
    Ok(out)
}

/// Answers the person ephemerally: the response URL, else `chat.postEphemeral` in the channel the
/// command was typed in. Failures are logged: the command's effect is already applied.
async fn reply(ctx: &Context, request: &CommandRequest, text: &str, blocks: Option<Vec<Value>>) {
    let blocks = blocks.unwrap_or_default();
    if let Some(url) = &request.response_url {
        match web::respond(url, text, &blocks).await {
            Ok(()) => return,
            Err(e) => warn!(error = %e, "response_url failed"),
        }
    }
    let (Some(channel), Ok(token)) = (&request.channel_id, ctx.bot_token(&request.team_id).await)
    else {
        warn!(team_id = %request.team_id, "no way to answer the command");
        return;
    };
    let session = ctx.slack.session(&token);
    if let Err(e) = web::post_ephemeral(&session, channel, &request.user_id, text, &blocks).await {
        warn!(error = %e, "chat.postEphemeral failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_and_mistakes_are_answered_in_the_ack() {
        for text in ["", "help", "frobnicate", "time 25:99", "mute", "pause now"] {
            let reply = immediate_reply(&json!({"text": text})).expect("answered at once");
            assert_eq!(reply["response_type"], "ephemeral");
            let blocks = reply["blocks"].as_array().expect("Block Kit");
            blocks::to_slack(blocks).expect("valid blocks");
            assert!(reply["text"].as_str().unwrap().contains("/chief briefing"));
        }
        let bad = immediate_reply(&json!({"text": "frobnicate"})).unwrap();
        assert!(bad.to_string().contains("frobnicate"));
    }

    #[test]
    fn slow_and_settings_commands_are_answered_later() {
        assert_eq!(
            immediate_reply(&json!({"text": "briefing"})).unwrap()["text"],
            BRIEFING_ACK
        );
        for text in [
            "interests",
            "time 9am",
            "days mon-fri",
            "mute #random",
            "language fr",
            "pause",
        ] {
            assert!(immediate_reply(&json!({"text": text})).is_none(), "{text}");
        }
    }

    #[test]
    fn lists_read_naturally() {
        let w = |v: &[&str]| join_words(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(w(&["a"]), "a");
        assert_eq!(w(&["a", "b"]), "a and b");
        assert_eq!(w(&["a", "b", "c"]), "a, b and c");
    }
}
