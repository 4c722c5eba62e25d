//! `chief org --export PATH [--json]`: the teams and leads chief infers from a Slack export, and
//! `chief org rebuild`: replay every team's interaction log in the configured database.
//!
//! The export is imported into a temporary SQLite store (`db::TempDb`); the import publishes one
//! `history_loaded` event per channel, and the same agent that runs in `chief serve` turns them
//! into the interaction log and the projection.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use indicatif::ProgressBar;
use serde_json::{Value, json};

use super::{KINDS, OrgError, SUBSCRIBER};
use crate::config::Config;
use crate::features::ingest::import::{self, ImportOptions};
use crate::model::org::OrgModel;
use crate::platform::bus::Subscription;
use crate::platform::db::{Db, TempDb, directory};

/// Options of `chief org`.
#[derive(Clone, Debug, clap::Args)]
pub struct OrgArgs {
    #[command(subcommand)]
    pub command: Option<OrgCommand>,
    /// A Slack export (the unzipped folder or the .zip): print the teams and leads inferred from
    /// it, without Slack.
    #[arg(long)]
    pub export: Option<PathBuf>,
    /// Print JSON: {"teams":[{"name","members":[…],"leads":[…]}]}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Debug, clap::Subcommand)]
pub enum OrgCommand {
    /// Replay every team's interaction log from the start and rewrite the org projection.
    Rebuild,
}

/// Teams inferred from an export, with people's names.
pub struct ExportOrg {
    pub model: OrgModel,
    pub names: BTreeMap<String, String>,
    pub interactions: i64,
}

/// Imports the export into a scratch store, lets the org agent read it, returns the projection.
pub async fn org_of_export(config: &Config, path: &std::path::Path) -> anyhow::Result<ExportOrg> {
    let scratch = TempDb::new().await?;
    let made = org_in(&scratch.db, config, path).await;
    scratch.db.close().await;
    made
}

async fn org_in(db: &Db, config: &Config, path: &std::path::Path) -> anyhow::Result<ExportOrg> {
    let summary = import::import_path(
        db,
        path,
        &ImportOptions {
            team_id: None,
            ingest_bot_messages: config.ingest_bot_messages,
        },
        0,
        &ProgressBar::hidden(),
    )
    .await?;
    let sub = Subscription::new(SUBSCRIBER, &KINDS, "chief-org-cli", db.backend())
        .with_commit_grace(Duration::ZERO);
    while super::run_once(db, &sub).await? > 0 {}
    let (model, _) = super::rebuild(db, &summary.team_id).await?;
    let ids: Vec<String> = model.people.keys().cloned().collect();
    let names = directory::user_names(db, &summary.team_id, &ids)
        .await?
        .into_iter()
        .collect();
    let interactions = crate::platform::db::org::count(db, &summary.team_id).await?;
    Ok(ExportOrg {
        model,
        names,
        interactions,
    })
}

/// `{"teams":[{"name","members":[…],"leads":[…]}]}` (plus `member_names`, `lead_names`,
/// `channel`).
pub fn to_json(org: &ExportOrg) -> Value {
    let named = |ids: &[String]| -> Vec<String> {
        ids.iter()
            .map(|u| org.names.get(u).cloned().unwrap_or_else(|| u.clone()))
            .collect()
    };
    json!({
        "teams": org.model.teams.iter().map(|t| json!({
            "name": t.name,
            "members": t.members,
            "leads": t.leads,
            "member_names": named(&t.members),
            "lead_names": named(&t.leads),
            "channel": t.channel_id,
        })).collect::<Vec<_>>(),
    })
}

/// The teams as Markdown.
pub fn markdown(org: &ExportOrg) -> String {
    let name = |u: &String| org.names.get(u).cloned().unwrap_or_else(|| u.clone());
    let mut out = format!(
        "# Teams ({} inferred from {} interactions)\n\n",
        org.model.teams.len(),
        org.interactions
    );
    for t in &org.model.teams {
        out.push_str(&format!("## {}\n\n", t.name));
        if !t.leads.is_empty() {
            let leads: Vec<String> = t.leads.iter().map(name).collect();
            out.push_str(&format!("Leads: {}\n\n", leads.join(", ")));
        }
        let members: Vec<String> = t.members.iter().map(name).collect();
        out.push_str(&format!("Members: {}\n\n", members.join(", ")));
    }
    out
}

/// `chief org`.
pub async fn run_cli(config: Config, args: OrgArgs) -> anyhow::Result<()> {
    match (args.command, args.export) {
        (Some(OrgCommand::Rebuild), _) => {
            let db = Db::connect(&config.database_url).await?;
            db.migrate().await?;
            // Events the agent has not read yet (chief import, or serve not running) first.
            let sub = Subscription::new(SUBSCRIBER, &KINDS, "chief-org-rebuild", db.backend());
            while super::run_once(&db, &sub).await? > 0 {}
            for team in crate::platform::db::org::teams(&db).await? {
                let started = std::time::Instant::now();
                let (model, replayed) = super::rebuild(&db, &team).await.map_err(|e| match e {
                    OrgError::Db(e) => anyhow::Error::from(e),
                    other => anyhow::Error::from(other),
                })?;
                println!(
                    "{team}: replayed {replayed} interactions in {:.2} s → {} teams, {} people",
                    started.elapsed().as_secs_f64(),
                    model.teams.len(),
                    model.people.len()
                );
            }
            Ok(())
        }
        (None, Some(export)) => {
            let org = org_of_export(&config, &export).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&to_json(&org))?);
            } else {
                print!("{}", markdown(&org));
            }
            Ok(())
        }
        (None, None) => anyhow::bail!("say `chief org --export PATH` or `chief org rebuild`"),
    }
}
