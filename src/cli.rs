//! The `chief` command line.

use clap::{Parser, Subcommand};

use crate::app::Application;
use crate::config::Config;
use crate::platform::db::Db;

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
    /// Print model usage (calls, requests, cache hits, fallbacks, tokens) by day, team and task.
    Usage {
        /// How many UTC days to include, today included.
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
    /// Load a Slack export (a folder or a .zip) into the store; importing twice adds nothing.
    Import {
        /// The export: the unzipped folder or the .zip Slack produced.
        path: std::path::PathBuf,
        /// Workspace id to store it under (default: the export's own, else T0IMPORT).
        #[arg(long)]
        team: Option<String>,
    },
    /// Prepare one person's briefing from a Slack export and print it (Markdown or JSON); needs no
    /// Slack and no model (with one configured, it is used).
    Brief(crate::features::briefing::cli::BriefArgs),
    /// The org chart chief infers (teams, leads): from a Slack export (`--export PATH`), or
    /// `chief org rebuild` to replay the interaction log of the configured database.
    Org(crate::features::org::cli::OrgArgs),
    /// What a person's Today's Priorities agent would watch at the end of a day of an export:
    /// requests to them, their commitments, blockers in their channels, each with its state and
    /// sources.
    Priorities(crate::features::priorities::PrioritiesArgs),
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
    /// Explain one message of a Slack export in context (as the "Explain in context" shortcut
    /// would), printed as Markdown or JSON. Needs no Slack: the export is read into a scratch
    /// database.
    Context {
        /// The export: the unzipped folder or the .zip Slack produced.
        #[arg(long)]
        export: std::path::PathBuf,
        /// Channel id of the message (`C…`).
        #[arg(long)]
        channel: String,
        /// The message's ts (`1700000000.000100`).
        #[arg(long)]
        ts: String,
        /// Whom to explain it for (default: the message's author, else a channel member).
        #[arg(long)]
        user: Option<String>,
        /// Print JSON instead of Markdown.
        #[arg(long)]
        json: bool,
    },
    /// Inspect durable runs: each step's input, output, verdict, tokens and source.
    Runs {
        #[command(subcommand)]
        command: crate::platform::runs::inspect::RunsCommand,
    },
    /// Score what chief writes against the hand-written gold in eval/ (see QUALITY.md): the
    /// extractive engine, replayed answers of a capable model, or the configured model.
    Eval(crate::eval::EvalArgs),
    /// Print a new random key for CHIEF_SECRET_KEY.
    Keygen,
    /// Benchmarks: print a table and write the figures as JSON (see BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        which: BenchCommand,
    },
    /// Re-encrypt every stored bot token with the current CHIEF_SECRET_KEY (after a rotation, with
    /// the old key in CHIEF_SECRET_KEY_PREVIOUS).
    RotateKey,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Discussion segmentation on human-annotated IRC chat (Kummerfeld et al., ACL 2019):
    /// the segmenter against time-gap and previous-message baselines.
    Segmentation {
        /// Split to report; both dev and test when omitted (dev always tunes the baseline).
        #[arg(long, value_enum)]
        split: Option<crate::bench::segmentation::Split>,
        /// The corpus's data/ folder (default: found in shared/fixtures above this directory).
        #[arg(long)]
        data: Option<std::path::PathBuf>,
        /// Where to write the JSON report.
        #[arg(long, default_value = "bench-out/segmentation.json")]
        out: std::path::PathBuf,
        /// Tune the segmenter's weights on dev (coordinate ascent), print them, and exit.
        #[arg(long)]
        tune: bool,
    },
    /// Signed Events API load over loopback against `chief serve` (SQLite and PostgreSQL) and the
    /// Bolt for Python peer (`bench/peer/setup.sh` installs it): acked events/s, ack latency, and
    /// stored = acked.
    Intake {
        /// Requests per second of the fixed-rate phase.
        #[arg(long, default_value_t = 1000)]
        rate: u32,
        /// Seconds of each phase.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Concurrent connections of the max-rate phase.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// PostgreSQL server to benchmark on (a scratch database is created there).
        #[arg(
            long,
            env = "TEST_DATABASE_URL",
            default_value = "postgres://postgres@127.0.0.1:5432/postgres"
        )]
        postgres: String,
        /// Skip PostgreSQL.
        #[arg(long)]
        no_postgres: bool,
        /// Python of the peer's virtualenv.
        #[arg(long, default_value = ".venv-bench/bin/python")]
        peer_python: std::path::PathBuf,
        /// Skip the Bolt peer.
        #[arg(long)]
        no_peer: bool,
        #[arg(long, default_value = "bench-out/intake.json")]
        out: std::path::PathBuf,
    },
    /// Every person's daily briefing in a synthetic workspace (default 10,000 people, 500
    /// channels, 50,000 messages) with a local model of fixed latency and concurrency: wall time
    /// against the LLM-bound limit, model calls and tokens per person, peak RSS; `--naive` adds
    /// the naive per-user pipeline's cost.
    Briefings(crate::bench::briefings::Args),
    /// Click-to-context through the HTTP edge: signed "Explain in context" shortcuts → the modal
    /// opened (`views.open`) and filled, and chief's overhead without the model's time.
    Context(crate::bench::context::Args),
    /// The Org Chart Keeper on a synthetic workspace with true teams and leads: adjusted Rand
    /// index of the inferred teams, lead precision and recall, and the replay time of a
    /// 1,000,000-interaction log (SQLite and PostgreSQL).
    Org(crate::bench::org::Args),
    /// Proposition extraction on real exports: propositions per message and by kind, model calls
    /// and prompt/answer tokens per 1,000 messages (noise skipped, batched by token budget).
    Propositions(crate::bench::propositions::Args),
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
        Command::Bench { which } => run_bench(which).await,
        Command::Import { path, team } => {
            crate::features::ingest::import::run_cli(config, &path, team).await
        }
        Command::Brief(args) => crate::features::briefing::cli::run_cli(config, args).await,
        Command::Org(args) => crate::features::org::cli::run_cli(config, args).await,
        Command::Priorities(args) => crate::features::priorities::run_cli(config, args).await,
        Command::Eval(args) => crate::eval::run_cli(config, args).await,
        Command::Backfill {
            channel,
            days,
            team,
        } => crate::features::ingest::backfill::run_cli(config, channel, days, team).await,
        Command::Context {
            export,
            channel,
            ts,
            user,
            json,
        } => {
            crate::features::explain::cli::run_cli(
                config,
                crate::features::explain::cli::ContextArgs {
                    export,
                    channel,
                    ts,
                    user,
                    json,
                },
            )
            .await
        }
        Command::Runs { command } => {
            let db = Db::connect(&config.database_url).await?;
            print!(
                "{}",
                crate::platform::runs::inspect::execute(&db, command).await?
            );
            Ok(())
        }
        Command::Usage { days } => {
            let db = Db::connect(&config.database_url).await?;
            db.migrate().await?;
            let rows = crate::ai::llm::accounting::usage_report(&db, days).await?;
            if rows.is_empty() {
                println!("no model calls recorded in the last {days} day(s)");
            } else {
                print!("{}", crate::ai::llm::accounting::usage_table(&rows));
            }
            Ok(())
        }
        Command::Keygen => {
            println!("{}", crate::platform::secrets::generate_key());
            Ok(())
        }
        Command::RotateKey => {
            let cipher = config
                .token_cipher()?
                .ok_or(crate::config::ConfigError::Missing("CHIEF_SECRET_KEY"))?;
            let db = Db::connect(&config.database_url).await?;
            db.migrate().await?;
            let mut resealed = 0;
            for (team_id, sealed) in crate::platform::db::teams::sealed_tokens(&db).await? {
                if cipher.is_current(&sealed) {
                    continue;
                }
                let token = cipher
                    .open(&sealed)
                    .map_err(|e| anyhow::anyhow!("team {team_id}: {e}"))?;
                crate::platform::db::teams::set_sealed_token(&db, &team_id, &cipher.seal(&token))
                    .await?;
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

async fn run_bench(which: BenchCommand) -> anyhow::Result<()> {
    match which {
        BenchCommand::Segmentation {
            split,
            data,
            out,
            tune,
        } => {
            use crate::bench::segmentation as eval;
            let data = data
                .or_else(eval::find_default_data_dir)
                .ok_or(eval::BenchError::NoData)?;
            if tune {
                let dev =
                    crate::bench::segmentation::irc::load_dir(&eval::Split::Dev.folder(&data))?;
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
        BenchCommand::Intake {
            rate,
            seconds,
            concurrency,
            postgres,
            no_postgres,
            peer_python,
            no_peer,
            out,
        } => {
            let peer_python = (!no_peer).then_some(peer_python);
            if let Some(python) = &peer_python {
                anyhow::ensure!(
                    python.exists(),
                    "{} not found: run bench/peer/setup.sh first, or pass --no-peer",
                    python.display()
                );
            }
            crate::bench::intake::run(crate::bench::intake::Options {
                rate,
                seconds,
                concurrency,
                sqlite: true,
                postgres: (!no_postgres).then_some(postgres),
                peer_python,
                out: Some(out),
                chief_exe: std::env::current_exe()?,
            })
            .await?;
            Ok(())
        }
        BenchCommand::Briefings(args) => {
            crate::bench::briefings::run(args.into()).await?;
            Ok(())
        }
        BenchCommand::Org(args) => {
            crate::bench::org::run(args).await?;
            Ok(())
        }
        BenchCommand::Context(args) => {
            crate::bench::context::run(args.into()).await?;
            Ok(())
        }
        BenchCommand::Propositions(args) => {
            for r in crate::bench::propositions::run(&args)? {
                println!(
                    "{}: {} messages ({} extracted), {} propositions ({}/message) {:?}; per 1,000 messages: {} calls, {} prompt + {} answer tokens",
                    r.export,
                    r.messages,
                    r.extracted_messages,
                    r.propositions,
                    r.propositions_per_message,
                    r.by_kind,
                    r.calls_per_1000_messages,
                    r.prompt_tokens_per_1000_messages,
                    r.completion_tokens_per_1000_messages
                );
            }
            Ok(())
        }
    }
}
