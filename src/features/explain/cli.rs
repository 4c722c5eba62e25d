//! `chief context --export PATH --channel CID --ts TS [--user UID] [--json]`: click-to-context on a
//! Slack export, without Slack. The export is imported into a scratch SQLite database (deleted
//! afterwards), then explained exactly as a click would be, and printed as Markdown or JSON.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::features::context::Context;
use crate::features::ingest::import::{self, ImportOptions};
use crate::model::domain::Explanation;
use crate::platform::db::TempDb;
use crate::platform::db::{directory, messages};

/// What `chief context` was asked.
#[derive(Clone, Debug)]
pub struct ContextArgs {
    pub export: PathBuf,
    pub channel: String,
    pub ts: String,
    /// The reader; default: the clicked message's author when in the channel, else a member.
    pub user: Option<String>,
    pub json: bool,
}

/// Explains one message of an export; returns the explanation, who it was written for and the
/// propositions it read.
pub async fn explain_export(
    config: &Config,
    export: &Path,
    channel: &str,
    ts: &str,
    user: Option<&str>,
) -> anyhow::Result<(Explanation, String, Vec<serde_json::Value>)> {
    let scratch = TempDb::new().await?;
    let made = explain_in(&scratch, config, export, channel, ts, user).await;
    scratch.db.close().await;
    made.map(|e| (e.explanation, e.user_id, e.propositions))
}

/// An explanation made from an export, and for whom.
#[derive(Clone, Debug)]
pub struct ExportExplanation {
    pub team_id: String,
    pub user_id: String,
    pub explanation: Explanation,
    /// The propositions the explanation read (as the run recorded them).
    pub propositions: Vec<serde_json::Value>,
}

/// [`explain_export`] into a scratch store the caller keeps (`chief eval` looks at it afterwards).
pub async fn explain_in(
    scratch: &TempDb,
    config: &Config,
    export: &Path,
    channel: &str,
    ts: &str,
    user: Option<&str>,
) -> anyhow::Result<ExportExplanation> {
    let options = ImportOptions {
        team_id: None,
        ingest_bot_messages: config.ingest_bot_messages,
    };
    let summary = import::import_path(
        &scratch.db,
        export,
        &options,
        0,
        &indicatif::ProgressBar::hidden(),
    )
    .await?;
    let team = summary.team_id;
    let user = match user {
        Some(u) => u.to_string(),
        None => default_reader(scratch, &team, channel, ts).await?,
    };
    let mut config = config.clone();
    config.database_url = scratch.url.clone();
    let ctx = Context::new(config, scratch.db.clone());
    let explanation = super::explain(&ctx, &team, &user, channel, ts)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let runs = crate::platform::db::runs::list(
        &scratch.db,
        &crate::platform::db::runs::RunFilter {
            team_id: Some(team.clone()),
            user_id: Some(user.clone()),
            kind: Some("explain".into()),
            status: None,
            limit: 1,
        },
    )
    .await?;
    let propositions = match runs.first() {
        Some(run) => crate::platform::runs::inspect::propositions_used(
            &crate::platform::db::runs::steps(&scratch.db, run.run.id).await?,
        ),
        None => Vec::new(),
    };
    Ok(ExportExplanation {
        team_id: team,
        user_id: user,
        explanation,
        propositions,
    })
}

async fn default_reader(
    scratch: &TempDb,
    team: &str,
    channel: &str,
    ts: &str,
) -> anyhow::Result<String> {
    let members = directory::members(&scratch.db, team, channel).await?;
    let author = messages::get(&scratch.db, team, channel, ts)
        .await?
        .and_then(|m| m.user_id);
    if let Some(author) = author.filter(|a| members.contains(a)) {
        return Ok(author);
    }
    members.into_iter().next().ok_or_else(|| {
        anyhow::anyhow!(
            "channel {channel} has no members in the export; pass --user with a member's id"
        )
    })
}

/// Runs the command and prints the result.
pub async fn run_cli(config: Config, args: ContextArgs) -> anyhow::Result<()> {
    let (explanation, user, propositions) = explain_export(
        &config,
        &args.export,
        &args.channel,
        &args.ts,
        args.user.as_deref(),
    )
    .await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "user": user,
                "explanation": explanation,
                "propositions": propositions,
            }))?
        );
    } else {
        print!("{}", super::render::markdown(&explanation));
    }
    Ok(())
}
