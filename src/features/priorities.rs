//! Today's Priorities, first part: what a person's agent would watch — requests put to them,
//! commitments they made, blockers in their channels — with the state each is in
//! (`model::priorities`), read from the propositions of the messages they can see.
//!
//! `chief priorities --export PATH --user U [--date D] [--json]` imports an export into a scratch
//! store and prints the items at the end of that day (the week before it included), with their
//! sources. The propositions come from the same extraction the briefing uses (the configured
//! model, else the extractive engine).

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{Duration as Days, NaiveDate, NaiveTime};
use serde_json::{Value, json};

use crate::ai::llm::Priority;
use crate::ai::tasks::ChannelInfo;
use crate::config::Config;
use crate::features::briefing::agent::{offset_at, reader_of};
use crate::features::briefing::cli::{ExportDay, export_day};
use crate::features::context::Context;
use crate::model::activity::UserTz;
use crate::model::domain::{Message, permalink};
use crate::model::priorities::{self, Item, Watch};
use crate::model::settings::UserSettings;
use crate::platform::db::{TempDb, directory, messages};
use crate::slack::web::FALLBACK_WORKSPACE_URL;

/// How far back the agent looks for open items.
pub const LOOKBACK_DAYS: i64 = 7;
/// An open item with no progress for this many working hours (a working day) is stalled.
pub const STALL_AFTER_SECS: i64 = 8 * 3600;

/// The person's items now, from the stored propositions of what they can see in the last
/// [`LOOKBACK_DAYS`] (messages never extracted get the extractive engine's, not stored: an answer
/// to `/chief priorities` never waits for a model).
pub async fn current(
    ctx: &Context,
    team: &str,
    user: &str,
) -> Result<Vec<Item>, crate::platform::db::DbError> {
    let now = crate::platform::db::now();
    let visible =
        messages::visible_to(&ctx.db, team, user, now - LOOKBACK_DAYS * 86_400, now + 1).await?;
    let mut by_channel: BTreeMap<String, Vec<Message>> = BTreeMap::new();
    for m in visible {
        by_channel.entry(m.channel_id.clone()).or_default().push(m);
    }
    let ids: Vec<String> = by_channel.keys().cloned().collect();
    let names = directory::channel_names(&ctx.db, team, &ids).await?;
    let person = directory::get_user(&ctx.db, team, user).await?;
    let settings = crate::platform::db::profile::get_settings(&ctx.db, team, user).await?;
    let reader = reader_of(user, person.as_ref(), &settings);
    let tz = UserTz::resolve(
        person.as_ref().and_then(|u| u.tz.as_deref()),
        person.as_ref().and_then(|u| u.tz_offset),
        None,
    );
    let offset = offset_at(&tz, now);
    let known = ctx.people.get(&ctx.db, team).await?;
    let mut propositions = Vec::new();
    for (id, msgs) in &by_channel {
        let channel = ChannelInfo {
            id: id.clone(),
            name: names.get(id).cloned().unwrap_or_else(|| id.clone()),
        };
        let chat: Vec<crate::ai::tasks::ChatMessage> = msgs
            .iter()
            .map(crate::ai::tasks::ChatMessage::from)
            .collect();
        propositions.extend(
            crate::features::propositions::of_messages(ctx, team, &channel, &chat, &known, offset)
                .await?,
        );
    }
    let person_names = reader.names();
    Ok(priorities::items(
        &propositions,
        &Watch {
            names: &person_names,
            channels: &ids,
            now,
            stall_after_secs: STALL_AFTER_SECS,
            utc_offset_secs: offset,
        },
    ))
}

/// Options of `chief priorities`.
#[derive(Clone, Debug, clap::Args)]
pub struct PrioritiesArgs {
    /// The Slack export: the unzipped folder or the .zip Slack produced.
    #[arg(long)]
    pub export: PathBuf,
    /// The person's Slack user id (`U…`).
    #[arg(long)]
    pub user: String,
    /// The day, in the person's time zone (default: the last day with messages they can see).
    #[arg(long)]
    pub date: Option<NaiveDate>,
    /// Print JSON instead of a list.
    #[arg(long)]
    pub json: bool,
}

/// The items, for whom and when.
#[derive(Clone, Debug)]
pub struct ExportPriorities {
    pub user: String,
    pub date: NaiveDate,
    pub items: Vec<Item>,
    /// Thread of each cited message (for permalinks into threads).
    threads: BTreeMap<(String, String), Option<String>>,
}

/// Imports the export into `scratch` and derives the person's items at the end of the day.
pub async fn priorities_in(
    scratch: &TempDb,
    config: Config,
    args: &PrioritiesArgs,
) -> anyhow::Result<ExportPriorities> {
    let ExportDay {
        ctx,
        team_id: team,
        user,
        tz,
        date,
    } = export_day(scratch, config, &args.export, &args.user, args.date).await?;
    let end = tz.instant(date + Days::days(1), NaiveTime::MIN);
    let start = end - LOOKBACK_DAYS * 86_400;
    let visible = messages::visible_to(&ctx.db, &team, &args.user, start, end).await?;
    let mut by_channel: BTreeMap<String, Vec<Message>> = BTreeMap::new();
    let mut threads = BTreeMap::new();
    for m in visible {
        threads.insert((m.channel_id.clone(), m.ts.clone()), m.thread_ts.clone());
        by_channel.entry(m.channel_id.clone()).or_default().push(m);
    }
    let ids: Vec<String> = by_channel.keys().cloned().collect();
    let names = directory::channel_names(&ctx.db, &team, &ids).await?;
    let offset = offset_at(&tz, end);
    let mut propositions = Vec::new();
    for (id, msgs) in &by_channel {
        let channel = ChannelInfo {
            id: id.clone(),
            name: names.get(id).cloned().unwrap_or_else(|| id.clone()),
        };
        let (found, _) = crate::features::propositions::for_window(
            &ctx,
            &team,
            &channel,
            msgs,
            offset,
            Priority::Background,
        )
        .await?;
        propositions.extend(found);
    }
    let reader = reader_of(&args.user, Some(&user), &UserSettings::default());
    let person = reader.names();
    let items = priorities::items(
        &propositions,
        &Watch {
            names: &person,
            channels: &ids,
            now: end,
            stall_after_secs: STALL_AFTER_SECS,
            utc_offset_secs: offset,
        },
    );
    Ok(ExportPriorities {
        user: args.user.clone(),
        date,
        items,
        threads,
    })
}

/// The items as JSON: `{"user","date","items":[{"kind","text","state","sources":[{"channel","ts",
/// "permalink"}]}]}` (plus `due`).
pub fn to_json(p: &ExportPriorities) -> Value {
    json!({
        "user": p.user,
        "date": p.date.format("%Y-%m-%d").to_string(),
        "items": p.items.iter().map(|i| json!({
            "kind": i.kind.as_str(),
            "text": i.text,
            "state": i.state.as_str(),
            "due": i.due,
            "sources": i.sources.iter().map(|s| json!({
                "channel": s.channel_id,
                "ts": s.ts,
                "permalink": permalink(
                    FALLBACK_WORKSPACE_URL,
                    &s.channel_id,
                    &s.ts,
                    p.threads
                        .get(&(s.channel_id.clone(), s.ts.clone()))
                        .and_then(|t| t.as_deref()),
                ),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// `chief priorities`.
pub async fn run_cli(config: Config, args: PrioritiesArgs) -> anyhow::Result<()> {
    let scratch = TempDb::new().await?;
    let made = priorities_in(&scratch, config, &args).await;
    scratch.db.close().await;
    let p = made?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&to_json(&p))?);
    } else {
        println!("Priorities for {} at the end of {}", p.user, p.date);
        if p.items.is_empty() {
            println!("Nothing is waiting on you.");
        }
        for i in &p.items {
            let due = i
                .due
                .as_deref()
                .map(|d| format!(" (due {d})"))
                .unwrap_or_default();
            println!(
                "- [{}] {}: {}{due}",
                i.state.as_str(),
                i.kind.as_str(),
                i.text
            );
        }
    }
    Ok(())
}
