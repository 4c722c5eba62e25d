//! `chief bench context`: click-to-context through the real HTTP edge. chief runs in this process
//! (`app::Application`, the same service `chief serve` runs) on a synthetic workspace, with a fake
//! Slack Web API and the local model server; signed `message_action` payloads ("Explain in
//! context") are posted to `/slack/interactions` at a fixed rate.
//!
//! Measured per request, from just before the request is sent:
//! - **ack**: the HTTP answer (Slack's 3-second limit);
//! - **views.open**: the fake Slack receives the modal (the `trigger_id` is valid for 3 s);
//! - **filled**: the fake Slack receives the first `views.update` of that modal (the explanation).
//!
//! Two phases on distinct messages (so no answer comes from the response cache): one with a model
//! that answers at once — its "filled" time is chief's whole overhead — and one with the configured
//! model latency, whose overhead is "filled" minus the model time (the click's explainer requests
//! × latency).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;
use serde::Serialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::briefings::{BackendChoice, deployment, start_model};
use super::report::{self, Latency};
use super::workspace::{Spec, Workspace};
use crate::app::Application;
use crate::config::Config;
use crate::slack::interactions::EXPLAIN_CALLBACK_ID;
use crate::slack::signature::Verifier;
use crate::testkit::fake_slack::{FakeSlack, Reply as SlackReply};
use crate::testkit::scratch::ScratchDb;

const SECRET: &str = "bench-signing-secret";

/// `chief bench context` options.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Shortcut requests per phase.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// Requests per second (open loop).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Latency of the model server in the second phase (the first has none).
    #[arg(long, default_value_t = 300)]
    pub latency_ms: u64,
    /// Size of the synthetic workspace.
    #[arg(long, default_value_t = 2_000)]
    pub users: usize,
    #[arg(long, default_value_t = 100)]
    pub channels: usize,
    #[arg(long, default_value_t = 10_000)]
    pub messages: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, value_enum, default_value = "sqlite")]
    pub backend: BackendChoice,
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres: String,
    #[arg(long, default_value = "bench-out/context.json")]
    pub out: PathBuf,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub spec: Spec,
    pub requests: usize,
    pub rate: f64,
    pub latency: Duration,
    pub sqlite: bool,
    pub postgres: Option<String>,
    pub out: Option<PathBuf>,
    /// How long to wait for more modals once none arrives (plus ten times the model latency).
    pub settle: Duration,
}

impl From<Args> for Options {
    fn from(a: Args) -> Self {
        let start = Spec::last_day_before(crate::platform::db::now());
        Options {
            spec: Spec::new(a.users, a.channels, a.messages, a.seed, start),
            requests: a.requests.max(1),
            rate: a.rate.max(0.1),
            latency: Duration::from_millis(a.latency_ms),
            sqlite: a.backend != BackendChoice::Postgres,
            postgres: (a.backend != BackendChoice::Sqlite).then_some(a.postgres),
            out: Some(a.out),
            settle: Duration::from_secs(10),
        }
    }
}

/// One phase (one model latency) on one backend.
#[derive(Clone, Debug, Serialize)]
pub struct Phase {
    pub backend: String,
    pub model_latency_ms: u64,
    pub requests: usize,
    /// Answered 200 by the edge.
    pub acked: usize,
    /// Modals opened (`views.open` received by the fake Slack).
    pub opened: usize,
    /// Modals filled (`views.update` received).
    pub filled: usize,
    pub ack: Latency,
    pub views_open: Latency,
    pub views_update: Latency,
    /// Model requests per explanation (from the model server's counters).
    pub model_requests_per_request: f64,
    /// Time to the filled modal minus the model's latency × its requests: chief's own part.
    pub overhead: Latency,
    /// CPU the model server spent computing answers, per request (inside "overhead" at 0 ms).
    pub responder_cpu_ms_per_request: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub machine: String,
    pub workspace: super::workspace::Stats,
    pub rate: f64,
    pub phases: Vec<Phase>,
}

fn payload(
    i: usize,
    team: &str,
    user: &str,
    channel: &str,
    ts: &str,
    thread_ts: Option<&str>,
    slack: &FakeSlack,
) -> String {
    let mut message = json!({"type": "message", "user": user, "ts": ts, "text": ""});
    if let Some(t) = thread_ts {
        message["thread_ts"] = json!(t);
    }
    json!({
        "type": "message_action",
        "token": "bench",
        "action_ts": format!("{}.000000", crate::platform::db::now()),
        "team": {"id": team, "domain": "bench"},
        "user": {"id": user, "username": user, "team_id": team, "name": user},
        "channel": {"id": channel, "name": channel},
        "is_enterprise_install": false,
        "callback_id": EXPLAIN_CALLBACK_ID,
        "trigger_id": trigger(i),
        "response_url": slack.response_url(&format!("bench-{i}")),
        "message_ts": ts,
        "message": message,
    })
    .to_string()
}

fn trigger(i: usize) -> String {
    format!("bench-trigger-{i}")
}

/// The fake Slack's `views.open` answers with a view id derived from the trigger id, so each
/// `views.update` can be matched to its request.
fn fake_slack_views(slack: &FakeSlack) {
    slack.respond_with("views.open", |call| {
        let mut view = match call.json_param("view") {
            Some(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        let id = format!("V{}", call.param("trigger_id").unwrap_or_default());
        view.insert("id".into(), json!(id));
        view.insert("team_id".into(), json!("TBENCH"));
        view.insert("hash".into(), json!(format!("h-{id}")));
        SlackReply::ok(json!({ "view": view }))
    });
}

/// (user, channel, ts, thread_ts) for `n` clicks, each on a distinct message, by a member of its
/// channel; `offset` keeps phases apart.
fn clicks(
    workspace: &Workspace,
    n: usize,
    seed: u64,
) -> Vec<(String, String, String, Option<String>)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut picked = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(n);
    let total = workspace.messages.len();
    let mut guard = 0;
    while out.len() < n && guard < n * 100 && total > 0 {
        guard += 1;
        let i = rng.random_range(0..total);
        if !picked.insert(i) {
            continue;
        }
        let m = &workspace.messages[i];
        let Some(c) = workspace.channels.iter().position(|c| c.id == m.channel_id) else {
            continue;
        };
        let members = &workspace.channels[c].members;
        let user = &workspace.users[members[rng.random_range(0..members.len())]];
        out.push((
            user.id.clone(),
            m.channel_id.clone(),
            m.ts.clone(),
            m.thread_ts.clone(),
        ));
    }
    out
}

async fn phase(
    backend: &str,
    scratch: &ScratchDb,
    workspace: &Workspace,
    latency: Duration,
    clicks: &[(String, String, String, Option<String>)],
    opts: &Options,
    first_index: usize,
) -> anyhow::Result<Phase> {
    let cpu = Arc::new(AtomicU64::new(0));
    let model = start_model(latency, 1_000, None, cpu.clone()).await?;
    let slack = FakeSlack::start().await?;
    fake_slack_views(&slack);
    let mut config = Config::for_database(&scratch.url);
    config.listen = "127.0.0.1:0".parse()?;
    config.signing_secret = Some(SecretString::from(SECRET));
    config.bot_token = Some(SecretString::from("xoxb-bench"));
    config.slack_api_url = slack.api_url();
    config.llm.deployments = vec![deployment(&model, None, None)];
    let app = Application::build(config).await?;
    let base = format!("http://{}", app.local_addr());
    let stop = CancellationToken::new();
    let running = tokio::spawn(app.run_until(stop.clone()));

    let http = reqwest::Client::new();
    let verifier = Arc::new(Verifier::new(SecretString::from(SECRET)));
    let url = format!("{base}/slack/interactions");
    let period = Duration::from_secs_f64(1.0 / opts.rate);
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let before = model.counters();
    let since = crate::platform::db::now() - 1;
    let team = workspace.spec.team_id.clone();
    let mut tasks = Vec::with_capacity(clicks.len());
    for (k, (user, channel, ts, thread_ts)) in clicks.iter().enumerate() {
        ticker.tick().await;
        let i = first_index + k;
        let body = serde_urlencoded::to_string([(
            "payload",
            payload(i, &team, user, channel, ts, thread_ts.as_deref(), &slack),
        )])?;
        let (http, url, verifier) = (http.clone(), url.clone(), verifier.clone());
        tasks.push(tokio::spawn(async move {
            let stamp = crate::platform::db::now().to_string();
            let signature = verifier.sign(&stamp, body.as_bytes());
            let sent = Instant::now();
            let ok = http
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-slack-request-timestamp", stamp)
                .header("x-slack-signature", signature)
                .body(body)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            (i, sent, sent.elapsed(), ok)
        }));
    }
    let mut sent_at: HashMap<String, Instant> = HashMap::new();
    let mut acks = Vec::new();
    let mut acked = 0;
    for t in tasks {
        if let Ok((i, sent, ack, ok)) = t.await {
            sent_at.insert(trigger(i), sent);
            acks.push(ack.as_micros() as u64);
            acked += usize::from(ok);
        }
    }
    // Wait for the modals to be filled (or for nothing more to happen).
    let deadline = Instant::now() + Duration::from_secs(30) + latency * 20;
    let mut last_progress = (0, Instant::now());
    loop {
        let updates = slack.calls("views.update").len();
        if updates >= clicks.len() || Instant::now() > deadline {
            break;
        }
        if updates != last_progress.0 {
            last_progress = (updates, Instant::now());
        } else if last_progress.1.elapsed() > opts.settle + latency * 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let served = model.counters();
    stop.cancel();
    let _ = running.await;

    let mut open_us = Vec::new();
    let mut opened_at: HashMap<String, Instant> = HashMap::new();
    for call in slack.calls("views.open") {
        let Some(trigger) = call.param("trigger_id") else {
            continue;
        };
        if let Some(sent) = sent_at.get(&trigger)
            && !opened_at.contains_key(&trigger)
        {
            open_us.push(call.at.saturating_duration_since(*sent).as_micros() as u64);
            opened_at.insert(trigger, call.at);
        }
    }
    let mut filled_us = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for call in slack.calls("views.update") {
        let Some(trigger) = call
            .param("view_id")
            .and_then(|v| v.strip_prefix('V').map(str::to_string))
        else {
            continue;
        };
        if let Some(sent) = sent_at.get(&trigger)
            && seen.insert(trigger.clone())
        {
            filled_us.push(call.at.saturating_duration_since(*sent).as_micros() as u64);
        }
    }
    let model_requests = served.answered - before.answered;
    let per_request = model_requests as f64 / clicks.len().max(1) as f64;
    // Model time on a click's path: its explainer requests (a correction makes two), from chief's
    // accounting; the server's other requests (the propositions agent reading the seeded
    // messages) run beside the clicks, not on their path.
    let explain_requests: i64 = crate::platform::db::llm::usage(&scratch.db, since)
        .await?
        .iter()
        .filter(|r| r.task == crate::ai::tasks::Task::name(&crate::ai::tasks::ExplainContext))
        .map(|r| r.requests)
        .sum();
    let per_click = explain_requests as f64 / clicks.len().max(1) as f64;
    let model_us = (per_click * latency.as_micros() as f64) as u64;
    let overhead: Vec<u64> = filled_us
        .iter()
        .map(|f| f.saturating_sub(model_us))
        .collect();
    Ok(Phase {
        backend: backend.to_string(),
        model_latency_ms: latency.as_millis() as u64,
        requests: clicks.len(),
        acked,
        opened: open_us.len(),
        filled: filled_us.len(),
        ack: Latency::from_micros(acks),
        views_open: Latency::from_micros(open_us),
        views_update: Latency::from_micros(filled_us),
        model_requests_per_request: per_request,
        overhead: Latency::from_micros(overhead),
        responder_cpu_ms_per_request: cpu.load(Ordering::Relaxed) as f64
            / 1e6
            / clicks.len().max(1) as f64,
    })
}

async fn run_backend(
    name: &str,
    scratch: ScratchDb,
    workspace: &Workspace,
    opts: &Options,
) -> anyhow::Result<Vec<Phase>> {
    workspace.store(&scratch.db).await?;
    let all = clicks(workspace, opts.requests * 2, opts.spec.seed ^ 0x5eed);
    let (fast, slow) = all.split_at(all.len() / 2);
    let mut phases = Vec::new();
    println!("[{name}] {} shortcuts with an instant model…", fast.len());
    phases.push(phase(name, &scratch, workspace, Duration::ZERO, fast, opts, 0).await?);
    println!(
        "[{name}] {} shortcuts with {} ms of model latency…",
        slow.len(),
        opts.latency.as_millis()
    );
    phases.push(
        phase(
            name,
            &scratch,
            workspace,
            opts.latency,
            slow,
            opts,
            fast.len(),
        )
        .await?,
    );
    Ok(phases)
}

pub async fn run(opts: Options) -> anyhow::Result<Report> {
    let workspace = Workspace::generate(&opts.spec);
    let mut phases = Vec::new();
    if opts.sqlite {
        phases.extend(run_backend("sqlite", ScratchDb::sqlite().await?, &workspace, &opts).await?);
    }
    if let Some(server) = &opts.postgres {
        phases.extend(
            run_backend(
                "postgres",
                ScratchDb::postgres(server).await?,
                &workspace,
                &opts,
            )
            .await?,
        );
    }
    let report = Report {
        machine: super::intake::machine(),
        workspace: workspace.stats.clone(),
        rate: opts.rate,
        phases,
    };
    print(&report);
    report::save(opts.out.as_deref(), &report)?;
    Ok(report)
}

fn print(r: &Report) {
    println!(
        "\nclick-to-context on {} ({} users, {} channels, {} messages), {} requests/s",
        r.machine, r.workspace.users, r.workspace.channels, r.workspace.messages, r.rate
    );
    let rows: Vec<Vec<String>> = r
        .phases
        .iter()
        .map(|p| {
            vec![
                p.backend.clone(),
                p.model_latency_ms.to_string(),
                format!("{}/{}/{}/{}", p.requests, p.acked, p.opened, p.filled),
                format!("{:.1}/{:.1}", p.ack.p50_ms, p.ack.p95_ms),
                format!("{:.0}/{:.0}", p.views_open.p50_ms, p.views_open.p95_ms),
                format!("{:.0}/{:.0}", p.views_update.p50_ms, p.views_update.p95_ms),
                format!("{:.2}", p.model_requests_per_request),
                format!("{:.0}/{:.0}", p.overhead.p50_ms, p.overhead.p95_ms),
            ]
        })
        .collect();
    report::print_table(
        &[
            "backend",
            "model ms",
            "sent/acked/opened/filled",
            "ack p50/p95",
            "views.open p50/p95",
            "filled p50/p95",
            "model req/click",
            "overhead p50/p95",
        ],
        &rows,
    );
}
