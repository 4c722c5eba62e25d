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
    /// Print model usage (calls, requests, cache hits, fallbacks, tokens) by day, team and task.
    Usage {
        /// How many UTC days to include, today included.
        #[arg(long, default_value_t = 7)]
        days: u32,
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
        Command::Usage { days } => {
            let db = Db::connect(&config.database_url).await?;
            db.migrate().await?;
            let rows = crate::llm::accounting::usage_report(&db, days).await?;
            if rows.is_empty() {
                println!("no model calls recorded in the last {days} day(s)");
            } else {
                print!("{}", crate::llm::accounting::usage_table(&rows));
            }
            Ok(())
        }
    }
}
