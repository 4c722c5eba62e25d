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
    /// Inspect durable runs: each step's input, output, verdict, tokens and source.
    Runs {
        #[command(subcommand)]
        command: crate::runs::inspect::RunsCommand,
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
        Command::Runs { command } => {
            let db = Db::connect(&config.database_url).await?;
            print!("{}", crate::runs::inspect::execute(&db, command).await?);
            Ok(())
        }
    }
}
