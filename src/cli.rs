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
    /// Exit 0 when the local `chief serve` answers /healthz (the container health check).
    Healthcheck,
    /// Print a new random key for CHIEF_SECRET_KEY.
    Keygen,
    /// Re-encrypt every stored bot token with the current CHIEF_SECRET_KEY (after a rotation, with
    /// the old key in CHIEF_SECRET_KEY_PREVIOUS).
    RotateKey,
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
        Command::Keygen => {
            println!("{}", crate::secrets::generate_key());
            Ok(())
        }
        Command::RotateKey => {
            let cipher = config
                .token_cipher()?
                .ok_or(crate::config::ConfigError::Missing("CHIEF_SECRET_KEY"))?;
            let db = Db::connect(&config.database_url).await?;
            db.migrate().await?;
            let mut resealed = 0;
            for (team_id, sealed) in crate::db::teams::sealed_tokens(&db).await? {
                if cipher.is_current(&sealed) {
                    continue;
                }
                let token = cipher
                    .open(&sealed)
                    .map_err(|e| anyhow::anyhow!("team {team_id}: {e}"))?;
                crate::db::teams::set_sealed_token(&db, &team_id, &cipher.seal(&token)).await?;
                resealed += 1;
            }
            println!("re-encrypted {resealed} token(s) with the current key");
            Ok(())
        }
        Command::Healthcheck => {
            let port = config.listen.port();
            let url = format!("http://127.0.0.1:{port}/healthz");
            let res = reqwest::Client::new()
                .get(&url)
                .timeout(std::time::Duration::from_secs(3))
                .send()
                .await?;
            anyhow::ensure!(res.status().is_success(), "{url} answered {}", res.status());
            Ok(())
        }
    }
}
