//! `chief brief --export PATH --user UID [--date YYYY-MM-DD] [--json]`: one person's briefing from
//! a Slack export, printed, without Slack.
//!
//! The export is imported into a temporary SQLite store (`db::TempDb`), channel membership
//! coming from the export's `members` lists, and the same agent that serves Slack prepares the
//! briefing — with the configured model if there is one, else the extractive engine. The window
//! is the chosen day in the reader's time zone (default: the last day with messages they can see).

use std::path::PathBuf;

use chrono::{Duration as Days, NaiveDate, NaiveTime};
use indicatif::ProgressBar;
use serde_json::{Value, json};

use super::agent::{self, PrepareRequest, WindowRule};
use crate::ai::llm::Priority;
use crate::config::Config;
use crate::features::context::Context;
use crate::features::ingest::import::{self, ImportOptions};
use crate::model::activity::UserTz;
use crate::model::domain::Briefing;
use crate::platform::db::TempDb;
use crate::platform::db::briefings;
use crate::platform::db::directory;
use crate::slack::web::FALLBACK_WORKSPACE_URL;

/// Options of `chief brief`.
#[derive(Clone, Debug, clap::Args)]
pub struct BriefArgs {
    /// The Slack export: the unzipped folder or the .zip Slack produced.
    #[arg(long)]
    pub export: PathBuf,
    /// The reader's Slack user id (`U…`, as in the export's users.json).
    #[arg(long)]
    pub user: String,
    /// The day to brief on, in the reader's time zone (default: the last day with messages the
    /// reader can see).
    #[arg(long)]
    pub date: Option<NaiveDate>,
    /// Print JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
    /// The workspace's URL, for permalinks (exports do not say it).
    #[arg(long, default_value = FALLBACK_WORKSPACE_URL)]
    pub workspace_url: String,
}

/// An export imported into a scratch store, and one person's day in it.
pub struct ExportDay {
    /// chief's context over the scratch store (its configuration's database is the scratch one).
    pub ctx: std::sync::Arc<Context>,
    pub team_id: String,
    pub user: crate::model::events::User,
    pub tz: UserTz,
    /// The day asked for, else the last day with messages the person can see, in their zone.
    pub date: NaiveDate,
}

/// Imports `export` into `scratch` and finds `user` and their day: what `chief brief` and
/// `chief priorities` start from.
pub async fn export_day(
    scratch: &TempDb,
    mut config: Config,
    export: &std::path::Path,
    user_id: &str,
    date: Option<NaiveDate>,
) -> anyhow::Result<ExportDay> {
    let summary = import::import_path(
        &scratch.db,
        export,
        &ImportOptions {
            team_id: None,
            ingest_bot_messages: config.ingest_bot_messages,
        },
        0,
        &ProgressBar::hidden(),
    )
    .await?;
    let team_id = summary.team_id.clone();
    config.database_url = scratch.url.clone();
    let ctx = Context::new(config, scratch.db.clone());
    let user = directory::get_user(&ctx.db, &team_id, user_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("user {user_id} is not in the export's users.json"))?;
    let tz = UserTz::resolve(user.tz.as_deref(), user.tz_offset, None);
    let date = match date {
        Some(date) => date,
        None => {
            let last = briefings::last_visible_message_at(&ctx.db, &team_id, user_id)
                .await?
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{user_id} can see no messages in this export (not a member of any channel?)"
                    )
                })?;
            tz.local(last).date()
        }
    };
    Ok(ExportDay {
        ctx,
        team_id,
        user,
        tz,
        date,
    })
}

/// A briefing made from an export.
#[derive(Clone, Debug)]
pub struct ExportBriefing {
    pub user_id: String,
    pub user_name: String,
    pub date: NaiveDate,
    /// The day as epoch seconds `[start, end)` in the reader's time zone.
    pub window: (i64, i64),
    pub briefing: Briefing,
    /// The guardrail outcome (`pass`, `corrected: …`, `fallback: …`, `empty`).
    pub verdict: Option<String>,
}

/// Imports the export into a temporary store and prepares the reader's briefing.
pub async fn brief_export(config: Config, args: &BriefArgs) -> anyhow::Result<ExportBriefing> {
    let scratch = TempDb::new().await?;
    let made = brief_in(&scratch, config, args).await;
    scratch.db.close().await;
    drop(scratch);
    made
}

/// [`brief_export`] into a scratch store the caller keeps, so that it can look at what the run
/// left there (`chief eval` reads the model calls and the reader's messages).
pub async fn brief_in(
    scratch: &TempDb,
    config: Config,
    args: &BriefArgs,
) -> anyhow::Result<ExportBriefing> {
    let ExportDay {
        ctx,
        team_id,
        user,
        tz,
        date,
    } = export_day(scratch, config, &args.export, &args.user, args.date).await?;
    // Never ask Slack: the export is not necessarily the workspace of any configured token.
    briefings::set_workspace_url(&ctx.db, &team_id, args.workspace_url.trim_end_matches('/'))
        .await?;
    let start = tz.instant(date, NaiveTime::MIN);
    let end = tz.instant(date + Days::days(1), NaiveTime::MIN);
    let row = agent::prepare_with(
        &ctx,
        &PrepareRequest {
            team_id: team_id.clone(),
            user_id: args.user.clone(),
            local_date: date,
            edition: String::new(),
            window: WindowRule::Fixed { start, end },
            priority: Priority::Background,
            now: end,
        },
    )
    .await?;
    Ok(ExportBriefing {
        user_id: args.user.clone(),
        user_name: user.shown_name().unwrap_or(&args.user).to_string(),
        date,
        window: (start, end),
        briefing: row.briefing,
        verdict: row.verdict,
    })
}

/// The briefing as Markdown.
pub fn markdown(b: &ExportBriefing) -> String {
    let mut out = format!("# Briefing for {} — {}\n\n", b.user_name, b.date);
    if b.briefing.stories.is_empty() {
        out.push_str("Nothing needs you today.\n");
    }
    for (i, s) in b.briefing.stories.iter().enumerate() {
        out.push_str(&format!("## {}. {}\n\n{}\n\n", i + 1, s.title, s.summary));
        if !s.why.is_empty() {
            out.push_str(&format!("_{}_\n\n", s.why));
        }
        let links: Vec<String> = s
            .sources
            .iter()
            .map(|l| {
                let label = l
                    .channel_name
                    .as_deref()
                    .map(|n| format!("#{n}"))
                    .unwrap_or_else(|| l.channel.clone());
                format!("[{label}]({})", l.permalink)
            })
            .collect();
        if !links.is_empty() {
            out.push_str(&format!("Sources: {}\n\n", links.join(" · ")));
        }
    }
    if let Some(v) = &b.verdict {
        out.push_str(&format!("---\nguardrail: {v}\n"));
    }
    out
}

/// The briefing as JSON: `{"user","date","stories":[{"title","summary","sources":[{"channel",
/// "ts","permalink"}]}]}` (plus `id`, `why`, `topics`, `channel_name`, `verdict`).
pub fn to_json(b: &ExportBriefing) -> Value {
    json!({
        "user": b.user_id,
        "user_name": b.user_name,
        "date": b.date.format("%Y-%m-%d").to_string(),
        "verdict": b.verdict,
        "stories": b.briefing.stories.iter().map(|s| json!({
            "id": s.id,
            "title": s.title,
            "summary": s.summary,
            "why": s.why,
            "topics": s.topics,
            "sources": s.sources.iter().map(|l| json!({
                "channel": l.channel,
                "channel_name": l.channel_name,
                "ts": l.ts,
                "permalink": l.permalink,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// `chief brief`.
pub async fn run_cli(config: Config, args: BriefArgs) -> anyhow::Result<()> {
    let b = brief_export(config, &args).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&to_json(&b))?);
    } else {
        print!("{}", markdown(&b));
    }
    Ok(())
}
