//! The `chief` command line.

use std::path::PathBuf;

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
    /// Measure chief's building blocks on public labelled data and print the numbers.
    Bench {
        #[command(subcommand)]
        which: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Discussion segmentation on human-annotated IRC chat (Kummerfeld et al., ACL 2019):
    /// the segmenter against time-gap and previous-message baselines.
    Segmentation {
        /// Split to report; both dev and test when omitted (dev always tunes the baseline).
        #[arg(long, value_enum)]
        split: Option<crate::segment::eval::Split>,
        /// The corpus's data/ folder (default: found in shared/fixtures above this directory).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Where to write the JSON report.
        #[arg(long, default_value = "bench-out/segmentation.json")]
        out: PathBuf,
        /// Tune the segmenter's weights on dev (coordinate ascent), print them, and exit.
        #[arg(long)]
        tune: bool,
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
        Command::Bench { which } => run_bench(&config, which),
    }
}

/// Benchmarks print numbers and write a JSON report; segmentation reads local data only.
fn run_bench(_config: &Config, which: BenchCommand) -> anyhow::Result<()> {
    use crate::segment::eval;
    match which {
        BenchCommand::Segmentation {
            split,
            data,
            out,
            tune,
        } => {
            let data = data
                .or_else(eval::find_default_data_dir)
                .ok_or(eval::BenchError::NoData)?;
            if tune {
                let dev = crate::segment::irc::load_dir(&eval::Split::Dev.folder(&data))?;
                let (params, score) = eval::tune_segmenter(&dev, Default::default(), 10);
                println!("dev objective {score:.4}");
                println!("{}", serde_json::to_string_pretty(&params)?);
                return Ok(());
            }
            let splits = match split {
                Some(split) => vec![split],
                None => vec![eval::Split::Dev, eval::Split::Test],
            };
            let report = eval::run(&eval::BenchOptions {
                data,
                splits,
                params: Default::default(),
            })?;
            print!("{}", eval::render_table(&report));
            eval::write_report(&report, &out)?;
            println!("wrote {}", out.display());
            Ok(())
        }
    }
}
