//! The `chief` command line.

use clap::{Parser, Subcommand};

use crate::app::Application;
use crate::config::Config;
use crate::db::Db;

/// chief — an AI chief of staff for engineering leaders, as a Slack app.
///
/// Settings come from the environment (and an optional chief.toml); see the README.
#[derive(Debug, Parser)]
#[command(name = "chief", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Slack app: HTTP endpoints (or Socket Mode), the inbox worker and the schedulers.
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Load a Slack export (a folder or a .zip) into the store; importing twice adds nothing.
    Import {
        /// The export: the unzipped folder or the .zip Slack produced.
        path: std::path::PathBuf,
        /// Workspace id to store it under (default: the export's own, else T0IMPORT).
        #[arg(long)]
        team: Option<String>,
    },
    /// Fetch recent history of the channels chief is in (or one channel) from Slack.
    Backfill {
        /// Only this channel id.
        #[arg(long)]
        channel: Option<String>,
        /// Days of history (default: CHIEF_BACKFILL_DAYS, 7).
        #[arg(long)]
        days: Option<u32>,
        /// Workspace id (default: the bot token's, from auth.test).
        #[arg(long)]
        team: Option<String>,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load()?;
    match cli.command {
        Command::Serve => Application::build(config).await?.run_until_stopped().await,
        Command::Migrate => {
            let db = Db::connect(&config.database_url).await?;
            db.migrate().await?;
            println!("database is up to date ({:?})", db.backend());
            Ok(())
        }
        Command::Import { path, team } => crate::import::run_cli(config, &path, team).await,
        Command::Backfill {
            channel,
            days,
            team,
        } => crate::backfill::run_cli(config, channel, days, team).await,
    }
}
