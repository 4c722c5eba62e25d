//! `chief bench briefings`: every person's daily briefing in a synthetic workspace
//! ([`super::workspace`]), prepared through `briefing::prepare` with a local model server that has
//! a fixed latency and a concurrency limit, on SQLite and PostgreSQL.
//!
//! Reported per backend: wall time against the **LLM-bound limit** (model calls × latency ÷
//! concurrency: the least time those calls can take on that server), model calls and tokens per
//! person (from the server's counters and from chief's `llm_calls` accounting), peak RSS, and what
//! happened to each person (briefing, documented skip, failure). `--naive` adds the cost of the
//! naive per-user pipeline — every person's channels' whole day sent to the model for that person
//! — computed call by call with the same prompts and token estimates the gateway uses, and checked
//! against a sample actually sent through the gateway.
//!
//! The model server answers each task with what chief's extractive engine would answer (valid,
//! realistically sized output); the CPU time it spends doing so is reported separately
//! (`responder_cpu_secs`) because a real model server would not share chief's cores.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use futures::StreamExt;
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::report::{self, Latency};
use super::workspace::{Spec, Stats, StoreTimings, Workspace};
use crate::ai::llm::CallOptions;
use crate::ai::llm::openai::{estimate_prompt_tokens, estimate_tokens};
use crate::ai::tasks::{
    ChannelInfo, ChatMessage, ConsolidateInput, ConsolidateTopics, Discussion, ExplainContext,
    ExtractPropositions, GenerateBriefing, GroupTopics, Guardrail, RankForUser,
    SummarizeDiscussion, Task,
};
use crate::config::{Config, DeploymentConfig, JsonMode};
use crate::features::context::Context;
use crate::platform::db::Db;
use crate::platform::db::llm::UsageRow;
use crate::testkit::model_server::{LocalLlm, Reply, SeenRequest, schema_responder};
use crate::testkit::scratch::ScratchDb;

/// Which databases to run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
    Sqlite,
    Postgres,
    Both,
}

/// `chief bench briefings` options.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// People in the workspace.
    #[arg(long, default_value_t = 10_000)]
    pub users: usize,
    /// Channels (Zipf-like sizes; #general has everyone).
    #[arg(long, default_value_t = 500)]
    pub channels: usize,
    /// Messages posted during the day.
    #[arg(long, default_value_t = 50_000)]
    pub messages: usize,
    /// Seed of the workspace generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Latency the local model server adds to every answer.
    #[arg(long, default_value_t = 300)]
    pub latency_ms: u64,
    /// Requests the model server serves at once (more are refused with 429).
    #[arg(long, default_value_t = 200)]
    pub model_concurrency: usize,
    /// Tokens per minute the model server accepts (and the deployment is given); default: no limit.
    #[arg(long)]
    pub tpm: Option<u32>,
    /// Requests per minute the deployment is given; default: no practical limit.
    #[arg(long)]
    pub rpm: Option<u32>,
    /// Briefings prepared at once (default: the model concurrency).
    #[arg(long)]
    pub workers: Option<usize>,
    #[arg(long, value_enum, default_value = "both")]
    pub backend: BackendChoice,
    /// PostgreSQL server to benchmark on (a scratch database is created there).
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres: String,
    /// Also measure the naive per-user pipeline (every person's channels' day sent per person).
    #[arg(long)]
    pub naive: bool,
    /// People whose naive pipeline is really sent to the model server, to check the computation.
    #[arg(long, default_value_t = 20)]
    pub naive_sample: usize,
    #[arg(long, default_value = "bench-out/briefings.json")]
    pub out: PathBuf,
}

/// What to run (the CLI's [`Args`], resolved).
#[derive(Clone, Debug)]
pub struct Options {
    pub spec: Spec,
    pub latency: Duration,
    pub model_concurrency: usize,
    pub tpm: Option<u32>,
    pub rpm: Option<u32>,
    pub workers: usize,
    pub sqlite: bool,
    pub postgres: Option<String>,
    pub naive: bool,
    pub naive_sample: usize,
    pub out: Option<PathBuf>,
}

impl From<Args> for Options {
    fn from(a: Args) -> Self {
        let start = Spec::last_day_before(crate::platform::db::now());
        Options {
            spec: Spec::new(a.users, a.channels, a.messages, a.seed, start),
            latency: Duration::from_millis(a.latency_ms),
            model_concurrency: a.model_concurrency.max(1),
            tpm: a.tpm,
            rpm: a.rpm,
            workers: a.workers.unwrap_or(a.model_concurrency).max(1),
            sqlite: a.backend != BackendChoice::Postgres,
            postgres: (a.backend != BackendChoice::Sqlite).then_some(a.postgres),
            naive: a.naive,
            naive_sample: a.naive_sample,
            out: Some(a.out),
        }
    }
}

/// Model traffic seen by the local server.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ServerFigures {
    /// Requests received (answered or refused).
    pub requests: u64,
    pub answered: u64,
    /// Refused by its concurrency or TPM limit (429).
    pub rejected: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// One task's rows of chief's `llm_calls` accounting.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TaskUsage {
    pub task: String,
    pub calls: i64,
    pub requests: i64,
    pub cache_hits: i64,
    pub fallbacks: i64,
    pub failed: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

impl TaskUsage {
    /// The report's columns of one task's summed accounting rows.
    fn of(task: String, total: &UsageRow) -> Self {
        TaskUsage {
            task,
            calls: total.calls,
            requests: total.requests,
            cache_hits: total.cache_hits,
            fallbacks: total.fallbacks,
            failed: total.failed,
            prompt_tokens: total.prompt_tokens,
            completion_tokens: total.completion_tokens,
        }
    }
}

/// Rows found in the database after generation.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct StoredCounts {
    pub users: i64,
    pub channels: i64,
    pub memberships: i64,
    pub messages: i64,
    pub reactions: i64,
    pub agents: i64,
}

/// One backend's run.
#[derive(Clone, Debug, Serialize)]
pub struct BackendRun {
    pub backend: String,
    pub store: StoreTimings,
    pub stored: StoredCounts,
    /// Briefings returned by `prepare`.
    pub prepared: usize,
    /// Of those, briefings with at least one story.
    pub with_stories: usize,
    pub stories: usize,
    /// `prepare` refused for a documented reason (permanent errors), by reason.
    pub skipped: BTreeMap<String, usize>,
    /// `prepare` failed (transient errors), by reason.
    pub failed: BTreeMap<String, usize>,
    pub wall_secs: f64,
    /// Time to prepare one person's briefing (under the run's concurrency).
    pub per_user: Latency,
    pub server: ServerFigures,
    pub accounting: Vec<TaskUsage>,
    pub model_calls_per_user: f64,
    pub tokens_per_user: f64,
    /// Model calls × latency ÷ concurrency.
    pub llm_bound_secs: f64,
    pub wall_to_llm_bound: f64,
    /// Peak resident set of this process during the run (VmHWM, reset before each backend).
    pub peak_rss_mib: Option<f64>,
    /// CPU time the model server spent computing its answers (not chief's work).
    pub responder_cpu_secs: f64,
    /// Naive tokens per user ÷ ours (`--naive`).
    pub naive_token_ratio: Option<f64>,
    pub naive_call_ratio: Option<f64>,
}

/// The naive per-user pipeline's cost.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Naive {
    pub method: String,
    pub calls: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub calls_per_user: f64,
    pub tokens_per_user: f64,
    pub llm_bound_secs: f64,
    pub sample: Option<NaiveSample>,
}

/// The naive pipeline of a few people, really sent: the computation must match it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NaiveSample {
    pub users: usize,
    pub computed_calls: u64,
    pub measured_calls: u64,
    pub computed_tokens: u64,
    pub measured_tokens: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub machine: String,
    pub spec: Spec,
    pub briefing_date: String,
    pub workspace: Stats,
    pub generate_secs: f64,
    pub latency_ms: u64,
    pub model_concurrency: usize,
    pub workers: usize,
    pub runs: Vec<BackendRun>,
    pub naive: Option<Naive>,
}

/// The model server's answers: for each of chief's tasks, the output its extractive engine gives
/// for the request's data (so answers are valid and realistically sized); anything else gets the
/// smallest schema-shaped value. The CPU time spent is added to `cpu_nanos`.
pub fn task_responder(
    cpu_nanos: Arc<AtomicU64>,
) -> impl Fn(&SeenRequest) -> Reply + Send + Sync + 'static {
    move |req| {
        let started = Instant::now();
        let name = req
            .body
            .pointer("/response_format/json_schema/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let data = req.data().unwrap_or("{}");
        let out = if name == SummarizeDiscussion::default().name() {
            echo(&SummarizeDiscussion::default(), data)
        } else if name == ConsolidateTopics::default().name() {
            serde_json::from_str::<Value>(data)
                .ok()
                .and_then(|v| {
                    serde_json::from_value::<ConsolidateInput>(v.get("input")?.clone()).ok()
                })
                .and_then(|input| {
                    serde_json::to_value(ConsolidateTopics::default().extractive(&input)).ok()
                })
        } else if name == GroupTopics::default().name() {
            serde_json::from_str::<Value>(data)
                .ok()
                .and_then(|v| {
                    serde_json::from_value::<ConsolidateInput>(v.get("input")?.clone()).ok()
                })
                .and_then(|input| {
                    serde_json::to_value(GroupTopics::default().extractive(&input)).ok()
                })
        } else if name == RankForUser::default().name() {
            echo(&RankForUser::default(), data)
        } else if name == GenerateBriefing.name() {
            echo(&GenerateBriefing, data)
        } else if name == Guardrail.name() {
            echo(&Guardrail, data)
        } else if name == ExplainContext.name() {
            echo(&ExplainContext, data)
        } else if name == ExtractPropositions.name() {
            echo(&ExtractPropositions, data)
        } else {
            None
        };
        let reply = out
            .map(Reply::json)
            .unwrap_or_else(|| schema_responder(req));
        cpu_nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        reply
    }
}

fn echo<T>(task: &T, data: &str) -> Option<Value>
where
    T: Task,
    T::Input: DeserializeOwned,
{
    let input: T::Input = serde_json::from_str(data).ok()?;
    serde_json::to_value(task.extractive(&input)).ok()
}

/// A deployment pointing at the local server, with quotas that are not the limit unless asked.
pub fn deployment(server: &LocalLlm, rpm: Option<u32>, tpm: Option<u32>) -> DeploymentConfig {
    DeploymentConfig {
        name: "bench".into(),
        base_url: server.base_url(),
        api_key: Some(SecretString::from("bench-key")),
        model: "bench-model".into(),
        azure_api_version: None,
        rpm: rpm.unwrap_or(10_000_000),
        tpm: tpm.unwrap_or(u32::MAX),
        weight: 1,
        context_tokens: 16_000,
        json_mode: JsonMode::JsonSchema,
        temperature: None,
        // The bench measures chief, not a one-slot laptop model: as many at once as it sends.
        kind: crate::config::DeploymentKind::Hosted,
        max_concurrency: None,
        tokenizer: None,
    }
}

/// Starts the local model server for a run.
pub async fn start_model(
    latency: Duration,
    concurrency: usize,
    tpm: Option<u32>,
    cpu_nanos: Arc<AtomicU64>,
) -> std::io::Result<LocalLlm> {
    let mut builder = LocalLlm::builder()
        .latency(latency)
        .max_concurrency(concurrency)
        .model("bench-model")
        .responder(task_responder(cpu_nanos));
    if let Some(tpm) = tpm {
        builder = builder.tpm(u64::from(tpm));
    }
    builder.start().await
}

fn server_figures(
    before: crate::testkit::model_server::Counters,
    server: &LocalLlm,
) -> ServerFigures {
    let after = server.counters();
    ServerFigures {
        requests: after.calls - before.calls,
        answered: after.answered - before.answered,
        rejected: after.rejected - before.rejected,
        prompt_tokens: after.prompt_tokens - before.prompt_tokens,
        completion_tokens: after.completion_tokens - before.completion_tokens,
    }
}

/// Resets this process's peak RSS (VmHWM), so each backend's figure is its own (Linux ≥ 4.0).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn count(db: &Db, sql: &'static str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .bind("TBENCH")
        .fetch_one(db.pool())
        .await
        .and_then(|r| r.try_get::<i64, _>("n"))
        .unwrap_or(-1)
}

/// Rows of the generated workspace found in the database.
pub async fn stored_counts(db: &Db) -> StoredCounts {
    StoredCounts {
        users: count(db, "SELECT COUNT(*) AS n FROM users WHERE team_id = $1").await,
        channels: count(db, "SELECT COUNT(*) AS n FROM channels WHERE team_id = $1").await,
        memberships: count(
            db,
            "SELECT COUNT(*) AS n FROM channel_members WHERE team_id = $1",
        )
        .await,
        messages: count(
            db,
            "SELECT COUNT(*) AS n FROM messages WHERE team_id = $1 AND removed IS NULL",
        )
        .await,
        reactions: count(db, "SELECT COUNT(*) AS n FROM reactions WHERE team_id = $1").await,
        agents: count(
            db,
            "SELECT COUNT(*) AS n FROM user_agents WHERE team_id = $1",
        )
        .await,
    }
}

/// Error messages grouped without the ids in them.
fn reason_key(message: &str) -> String {
    static IDS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\b[UCT][A-Z0-9]{6,}\b|\d{4}-\d{2}-\d{2}").expect("a valid pattern")
    });
    let key = IDS.replace_all(message, "…").into_owned();
    key.chars().take(160).collect()
}

/// The Context a run uses: the database, the local model server as the one deployment, and a
/// Slack URL that is never called by `prepare`.
pub fn context(
    db: &Db,
    url: &str,
    deployment: DeploymentConfig,
    slack_api_url: &str,
) -> Arc<Context> {
    let mut config = Config::for_database(url);
    config.llm.deployments = vec![deployment];
    config.bot_token = Some(SecretString::from("xoxb-bench"));
    config.signing_secret = Some(SecretString::from("bench-signing-secret"));
    config.slack_api_url = slack_api_url.to_string();
    Context::new(config, db.clone())
}

async fn run_backend(
    name: &str,
    scratch: ScratchDb,
    workspace: &Workspace,
    opts: &Options,
    briefing_date: NaiveDate,
    naive: Option<&NaiveCost>,
) -> anyhow::Result<(BackendRun, Option<NaiveSample>)> {
    reset_peak_rss();
    let db = scratch.db.clone();
    println!("[{name}] storing the workspace…");
    let store = workspace.store(&db).await?;
    let stored = stored_counts(&db).await;
    println!(
        "[{name}] stored in {:.1}s: {} users, {} channels, {} memberships, {} messages",
        store.total_secs, stored.users, stored.channels, stored.memberships, stored.messages
    );

    let cpu = Arc::new(AtomicU64::new(0));
    let server = start_model(opts.latency, opts.model_concurrency, opts.tpm, cpu.clone()).await?;
    let slack = crate::testkit::fake_slack::FakeSlack::start().await?;
    let ctx = context(
        &db,
        &scratch.url,
        deployment(&server, opts.rpm, opts.tpm),
        &slack.api_url(),
    );
    let team = workspace.spec.team_id.clone();
    let prepared_at = workspace.spec.day_start() + 86_400 + 60;
    let since = crate::platform::db::now() - 1;
    let before = server.counters();

    println!(
        "[{name}] preparing {} briefings for {briefing_date}, {} at a time…",
        workspace.users.len(),
        opts.workers
    );
    let started = Instant::now();
    let progress_every = (workspace.users.len() / 10).max(1);
    let done = AtomicU64::new(0);
    let results: Vec<(
        Duration,
        Result<crate::model::domain::Briefing, crate::features::briefing::BriefingError>,
    )> = futures::stream::iter(workspace.users.iter())
        .map(|u| {
            let (ctx, team, done) = (&ctx, &team, &done);
            async move {
                let t = Instant::now();
                // `briefing::prepare` with its clock pinned to just after the day of messages,
                // as that hour's scheduled jobs run it (a run crossing an hour would otherwise
                // start a new window, and new digests, halfway).
                let request = crate::features::briefing::PrepareRequest::daily(
                    team,
                    &u.id,
                    briefing_date,
                    prepared_at,
                );
                let r = crate::features::briefing::agent::prepare_with(ctx, &request)
                    .await
                    .map(|row| row.briefing);
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if (n as usize).is_multiple_of(progress_every) {
                    println!(
                        "[{name}]   {n} done after {:.1}s",
                        started.elapsed().as_secs_f64()
                    );
                }
                (t.elapsed(), r)
            }
        })
        .buffer_unordered(opts.workers)
        .collect()
        .await;
    let wall = started.elapsed().as_secs_f64();
    let server_fig = server_figures(before, &server);
    let peak_rss_mib = report::rss_mib(std::process::id());

    let mut run = BackendRun {
        backend: name.to_string(),
        store,
        stored,
        prepared: 0,
        with_stories: 0,
        stories: 0,
        skipped: BTreeMap::new(),
        failed: BTreeMap::new(),
        wall_secs: wall,
        per_user: Latency::from_micros(results.iter().map(|(d, _)| d.as_micros() as u64).collect()),
        server: ServerFigures::default(),
        accounting: Vec::new(),
        model_calls_per_user: 0.0,
        tokens_per_user: 0.0,
        llm_bound_secs: 0.0,
        wall_to_llm_bound: 0.0,
        peak_rss_mib,
        responder_cpu_secs: cpu.load(Ordering::Relaxed) as f64 / 1e9,
        naive_token_ratio: None,
        naive_call_ratio: None,
    };
    for (_, r) in &results {
        match r {
            Ok(b) => {
                run.prepared += 1;
                run.stories += b.stories.len();
                if !b.stories.is_empty() {
                    run.with_stories += 1;
                }
            }
            Err(e) if e.is_retryable() => {
                *run.failed
                    .entry(reason_key(&crate::platform::retry::Chain(e).to_string()))
                    .or_default() += 1;
            }
            Err(e) => {
                *run.skipped
                    .entry(reason_key(&crate::platform::retry::Chain(e).to_string()))
                    .or_default() += 1;
            }
        }
    }
    let mut by_task = BTreeMap::<String, UsageRow>::new();
    for row in crate::platform::db::llm::usage(&db, since).await? {
        by_task.entry(row.task.clone()).or_default().add(&row);
    }
    run.accounting = by_task
        .into_iter()
        .map(|(task, total)| TaskUsage::of(task, &total))
        .collect();
    let users = workspace.users.len().max(1) as f64;
    run.model_calls_per_user = server_fig.answered as f64 / users;
    run.tokens_per_user = (server_fig.prompt_tokens + server_fig.completion_tokens) as f64 / users;
    run.llm_bound_secs =
        server_fig.answered as f64 * opts.latency.as_secs_f64() / opts.model_concurrency as f64;
    run.wall_to_llm_bound = if run.llm_bound_secs > 0.0 {
        wall / run.llm_bound_secs
    } else {
        0.0
    };
    run.server = server_fig;
    if let Some(naive) = naive {
        if run.tokens_per_user > 0.0 {
            run.naive_token_ratio = Some(naive.tokens_per_user() / run.tokens_per_user);
        }
        if run.model_calls_per_user > 0.0 {
            run.naive_call_ratio = Some(naive.calls_per_user() / run.model_calls_per_user);
        }
    }

    // The naive sample runs on the first backend only (it measures the model traffic, not storage).
    let sample = match naive {
        Some(naive) if opts.naive_sample > 0 => {
            Some(naive_sample(&ctx, &server, workspace, naive, opts).await)
        }
        _ => None,
    };
    drop(ctx);
    drop(server);
    Ok((run, sample))
}

/// The naive per-user pipeline, one channel-day at a time: each person's every channel's whole
/// day goes to the model for that person (chunked to the summarizer's token limit). Each chunk of
/// a channel costs the same for every member, so each is computed once and multiplied.
pub struct NaiveCost {
    /// Per channel: (calls, prompt tokens, completion tokens) of summarizing its day once.
    pub per_channel: Vec<(u64, u64, u64)>,
    pub members: Vec<usize>,
    pub users: usize,
    /// Chunks of each channel's day (the inputs sent), for the sample run.
    pub chunks: Vec<Vec<Discussion>>,
}

impl NaiveCost {
    pub fn compute(workspace: &Workspace) -> NaiveCost {
        let task = SummarizeDiscussion::default();
        let schema = crate::ai::llm::prompt::output_schema::<crate::ai::tasks::DiscussionSummary>();
        let names: BTreeMap<&str, &str> = workspace
            .users
            .iter()
            .map(|u| (u.id.as_str(), u.display_name.as_str()))
            .collect();
        let mut per_channel = Vec::with_capacity(workspace.channels.len());
        let mut chunks_of = Vec::with_capacity(workspace.channels.len());
        for (c, ch) in workspace.channels.iter().enumerate() {
            let msgs = workspace.channel_messages(c);
            if msgs.is_empty() {
                per_channel.push((0, 0, 0));
                chunks_of.push(Vec::new());
                continue;
            }
            let input = Discussion {
                channel: ChannelInfo {
                    id: ch.id.clone(),
                    name: ch.name.clone(),
                },
                messages: msgs
                    .iter()
                    .map(|m| ChatMessage {
                        id: crate::model::domain::MessageRef {
                            channel_id: m.channel_id.clone(),
                            ts: m.ts.clone(),
                        },
                        author: m
                            .user_id
                            .as_deref()
                            .and_then(|u| names.get(u).copied())
                            .unwrap_or("someone")
                            .to_string(),
                        author_id: m.user_id.clone(),
                        text: m.text.clone(),
                        posted_at: m.posted_at,
                    })
                    .collect(),
                propositions: Vec::new(),
                utc_offset_secs: 0,
            };
            let chunks = task.chunks(&input);
            let (mut calls, mut prompt, mut completion) = (0, 0, 0);
            for chunk in &chunks {
                let messages = crate::ai::llm::prompt::build_messages(&task.prompt(chunk), &schema);
                calls += 1;
                prompt += estimate_prompt_tokens(&messages);
                let answer = serde_json::to_string(&task.extractive(chunk)).unwrap_or_default();
                completion += estimate_tokens(&answer).max(1);
            }
            per_channel.push((calls, prompt, completion));
            chunks_of.push(chunks);
        }
        NaiveCost {
            per_channel,
            members: workspace.channels.iter().map(|c| c.members.len()).collect(),
            users: workspace.users.len(),
            chunks: chunks_of,
        }
    }

    fn totals(&self) -> (u64, u64, u64) {
        self.per_channel.iter().zip(&self.members).fold(
            (0, 0, 0),
            |(a, b, c), ((calls, p, q), m)| {
                let m = *m as u64;
                (a + calls * m, b + p * m, c + q * m)
            },
        )
    }

    pub fn calls_per_user(&self) -> f64 {
        self.totals().0 as f64 / self.users.max(1) as f64
    }

    pub fn tokens_per_user(&self) -> f64 {
        let (_, p, c) = self.totals();
        (p + c) as f64 / self.users.max(1) as f64
    }

    pub fn summary(&self, opts: &Options, sample: Option<NaiveSample>) -> Naive {
        let (calls, prompt, completion) = self.totals();
        Naive {
            method: "per person, per channel they are in: the channel's whole day summarized \
                     for that person (chunked at 6,000 message tokens); computed once per \
                     channel-day with the gateway's prompts and token estimates, times the \
                     channel's members"
                .into(),
            calls,
            prompt_tokens: prompt,
            completion_tokens: completion,
            calls_per_user: self.calls_per_user(),
            tokens_per_user: self.tokens_per_user(),
            llm_bound_secs: calls as f64 * opts.latency.as_secs_f64()
                / opts.model_concurrency as f64,
            sample,
        }
    }
}

/// Sends the naive pipeline of the first `opts.naive_sample` people through the gateway (no
/// cache) and compares what the server saw with the computation.
async fn naive_sample(
    ctx: &Context,
    server: &LocalLlm,
    workspace: &Workspace,
    naive: &NaiveCost,
    opts: &Options,
) -> NaiveSample {
    let of_users = workspace.channels_of_users();
    let people: Vec<usize> = (0..workspace.users.len().min(opts.naive_sample)).collect();
    let task = SummarizeDiscussion::default();
    let team = workspace.spec.team_id.as_str();
    let mut computed_calls = 0;
    let mut computed_tokens = 0;
    let mut jobs: Vec<(&str, &Discussion)> = Vec::new();
    for &u in &people {
        for &c in &of_users[u] {
            let (calls, p, q) = naive.per_channel[c];
            computed_calls += calls;
            computed_tokens += p + q;
            for chunk in &naive.chunks[c] {
                jobs.push((workspace.users[u].id.as_str(), chunk));
            }
        }
    }
    let before = server.counters();
    futures::stream::iter(jobs)
        .map(|(user, chunk)| {
            let task = &task;
            async move {
                let mut options = CallOptions::background(team).with_user(user);
                options.skip_cache = true;
                let _ = ctx.llm.run(task, chunk, &options).await;
            }
        })
        .buffer_unordered(opts.model_concurrency)
        .collect::<Vec<_>>()
        .await;
    let measured = server_figures(before, server);
    NaiveSample {
        users: people.len(),
        computed_calls,
        measured_calls: measured.answered,
        computed_tokens,
        measured_tokens: measured.prompt_tokens + measured.completion_tokens,
    }
}

pub async fn run(opts: Options) -> anyhow::Result<Report> {
    let briefing_date = opts.spec.briefing_date();
    let started = Instant::now();
    let workspace = Workspace::generate(&opts.spec);
    let generate_secs = started.elapsed().as_secs_f64();
    println!(
        "workspace: {} users, {} channels ({} private), {} memberships, {} messages in {} \
         discussions ({} threads), {} topics ({} in several channels); generated in {:.1}s",
        workspace.stats.users,
        workspace.stats.channels,
        workspace.stats.private_channels,
        workspace.stats.memberships,
        workspace.stats.messages,
        workspace.stats.discussions,
        workspace.stats.threads,
        workspace.stats.topics,
        workspace.stats.cross_channel_topics,
        generate_secs
    );
    let naive_cost = opts.naive.then(|| {
        let t = Instant::now();
        let cost = NaiveCost::compute(&workspace);
        println!(
            "naive pipeline computed in {:.1}s: {:.1} calls and {:.0} tokens per person",
            t.elapsed().as_secs_f64(),
            cost.calls_per_user(),
            cost.tokens_per_user()
        );
        cost
    });

    let mut runs = Vec::new();
    let mut sample = None;
    if opts.sqlite {
        let (run, s) = run_backend(
            "sqlite",
            ScratchDb::sqlite().await?,
            &workspace,
            &opts,
            briefing_date,
            naive_cost.as_ref(),
        )
        .await?;
        runs.push(run);
        sample = sample.or(s);
    }
    if let Some(server) = &opts.postgres {
        let naive_for_pg = naive_cost.as_ref();
        let mut pg_opts = opts.clone();
        if sample.is_some() {
            pg_opts.naive_sample = 0;
        }
        let (run, s) = run_backend(
            "postgres",
            ScratchDb::postgres(server).await?,
            &workspace,
            &pg_opts,
            briefing_date,
            naive_for_pg,
        )
        .await?;
        runs.push(run);
        sample = sample.or(s);
    }
    let report = Report {
        machine: super::intake::machine(),
        spec: opts.spec.clone(),
        briefing_date: briefing_date.to_string(),
        workspace: workspace.stats.clone(),
        generate_secs,
        latency_ms: opts.latency.as_millis() as u64,
        model_concurrency: opts.model_concurrency,
        workers: opts.workers,
        runs,
        naive: naive_cost.map(|n| n.summary(&opts, sample)),
    };
    print(&report);
    report::save(opts.out.as_deref(), &report)?;
    Ok(report)
}

fn print(r: &Report) {
    println!(
        "\nbriefings on {}: {} users / {} channels / {} messages, model latency {} ms, \
         concurrency {}, {} briefings at a time",
        r.machine,
        r.spec.users,
        r.spec.channels,
        r.spec.messages,
        r.latency_ms,
        r.model_concurrency,
        r.workers
    );
    let rows: Vec<Vec<String>> = r
        .runs
        .iter()
        .map(|b| {
            vec![
                b.backend.clone(),
                format!("{:.1}", b.store.total_secs),
                format!("{}/{}", b.prepared, r.spec.users),
                b.skipped.values().sum::<usize>().to_string(),
                b.failed.values().sum::<usize>().to_string(),
                format!("{:.1}", b.wall_secs),
                format!("{:.1}", b.llm_bound_secs),
                format!("{:.2}", b.wall_to_llm_bound),
                format!("{:.2}", b.model_calls_per_user),
                format!("{:.0}", b.tokens_per_user),
                b.naive_token_ratio
                    .map_or("-".into(), |x| format!("{x:.1}×")),
                b.peak_rss_mib.map_or("-".into(), |x| format!("{x:.0}")),
                format!("{:.0}/{:.0}", b.per_user.p50_ms, b.per_user.p95_ms),
            ]
        })
        .collect();
    report::print_table(
        &[
            "backend",
            "store s",
            "prepared",
            "skipped",
            "failed",
            "wall s",
            "LLM-bound s",
            "wall/bound",
            "calls/user",
            "tokens/user",
            "naive/ours",
            "peak RSS MiB",
            "per-user p50/p95 ms",
        ],
        &rows,
    );
    for b in &r.runs {
        for (reason, n) in b.skipped.iter().chain(&b.failed) {
            println!("  {}: {n} × {reason}", b.backend);
        }
        println!(
            "  {}: server {} requests ({} answered, {} refused), {} prompt + {} completion tokens; \
             model-server CPU {:.1}s",
            b.backend,
            b.server.requests,
            b.server.answered,
            b.server.rejected,
            b.server.prompt_tokens,
            b.server.completion_tokens,
            b.responder_cpu_secs
        );
    }
    if let Some(b) = r.runs.first() {
        let rows: Vec<Vec<String>> = b
            .accounting
            .iter()
            .map(|t| {
                vec![
                    t.task.clone(),
                    t.calls.to_string(),
                    t.requests.to_string(),
                    t.cache_hits.to_string(),
                    t.fallbacks.to_string(),
                    t.failed.to_string(),
                    t.prompt_tokens.to_string(),
                    t.completion_tokens.to_string(),
                ]
            })
            .collect();
        println!("\nllm_calls accounting ({}):", b.backend);
        report::print_table(
            &[
                "task",
                "calls",
                "requests",
                "cached",
                "fallback",
                "failed",
                "prompt",
                "completion",
            ],
            &rows,
        );
    }
    if let Some(n) = &r.naive {
        println!(
            "\nnaive per-user pipeline: {} calls, {} tokens ({:.1} calls and {:.0} tokens per \
             person; LLM-bound {:.0}s)",
            n.calls,
            n.prompt_tokens + n.completion_tokens,
            n.calls_per_user,
            n.tokens_per_user,
            n.llm_bound_secs
        );
        if let Some(s) = &n.sample {
            println!(
                "  checked on {} people sent for real: computed {} calls / {} tokens, server saw {} \
                 calls / {} tokens",
                s.users, s.computed_calls, s.computed_tokens, s.measured_calls, s.measured_tokens
            );
        }
    }
}
