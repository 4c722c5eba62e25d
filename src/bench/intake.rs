//! `chief bench intake`: signed Events API requests over loopback, at a fixed rate and at the
//! maximum rate, against `chief serve` (SQLite and PostgreSQL) and against a minimal Bolt for Python
//! app (the peer) driven by the same load. Reports acked events/s, ack latency, and — for chief —
//! that every acknowledged event was stored.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde::Serialize;
use serde_json::json;

use super::report::{self, Latency};
use crate::slack::signature::Verifier;
use crate::testkit::scratch::ScratchDb;

const SECRET: &str = "bench-signing-secret";

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Requests per second of the fixed-rate phase.
    pub rate: u32,
    /// Seconds of each phase.
    pub seconds: f64,
    /// Concurrent connections of the max-rate phase.
    pub concurrency: usize,
    pub sqlite: bool,
    /// A PostgreSQL server to create the benchmark database on (`None`: skip PostgreSQL).
    pub postgres: Option<String>,
    /// The Python interpreter of the peer's virtualenv (`None`: skip the peer).
    pub peer_python: Option<PathBuf>,
    pub out: Option<PathBuf>,
    /// The `chief` executable to start (the running one, from the CLI).
    pub chief_exe: PathBuf,
}

/// One phase against one target.
#[derive(Clone, Debug, Serialize)]
pub struct Phase {
    pub target: String,
    pub mode: String,
    pub sent: u64,
    pub acked: u64,
    pub errors: u64,
    pub acked_per_sec: f64,
    pub latency: Latency,
    /// Events found stored after the phase (chief only): must equal `acked`.
    pub stored: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: String,
    pub phases: Vec<Phase>,
    /// chief's max-rate acked events/s divided by the peer's, per backend.
    pub ratio_to_peer: Vec<(String, f64)>,
}

fn event_body(i: u64, run: &str) -> String {
    json!({
        "token": "bench", "team_id": "TBENCH", "api_app_id": "ABENCH", "type": "event_callback",
        "event_id": format!("Ev{run}{i:09}"), "event_time": 1_700_000_000u64 + i,
        "authorizations": [{"team_id": "TBENCH", "user_id": "UBOT", "is_bot": true}],
        "event": {
            "type": "message", "channel": "CBENCH", "channel_type": "channel",
            "user": format!("U{:04}", i % 500), "ts": format!("{}.{:06}", 1_700_000_000u64 + i / 1000, i % 1000),
            "text": format!("Benchmark message {i}: can we ship the release on Friday? <@U0001> please review the deploy plan."),
            "blocks": [{"type": "rich_text", "block_id": "b", "elements": [{"type": "rich_text_section",
                "elements": [{"type": "text", "text": format!("Benchmark message {i}")}]}]}]
        }
    })
    .to_string()
}

struct Samples {
    sent: AtomicU64,
    acked: AtomicU64,
    errors: AtomicU64,
    micros: std::sync::Mutex<Vec<u64>>,
}

impl Samples {
    fn new() -> Arc<Self> {
        Arc::new(Samples {
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            micros: std::sync::Mutex::new(Vec::new()),
        })
    }
}

async fn send_one(
    http: &reqwest::Client,
    url: &str,
    verifier: &Verifier,
    body: String,
    samples: &Samples,
) {
    let ts = crate::platform::db::now().to_string();
    let signature = verifier.sign(&ts, body.as_bytes());
    samples.sent.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let result = http
        .post(url)
        .header("content-type", "application/json")
        .header("x-slack-request-timestamp", ts)
        .header("x-slack-signature", signature)
        .body(body)
        .send()
        .await;
    let elapsed = started.elapsed().as_micros() as u64;
    match result {
        Ok(res) if res.status().is_success() => {
            samples.acked.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut m) = samples.micros.lock() {
                m.push(elapsed);
            }
        }
        _ => {
            samples.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What every load shape shares: fresh counters, one signer with the bench's secret, and a clock
/// started before the first request, so both shapes measure acked events/s the same way.
struct Load {
    samples: Arc<Samples>,
    verifier: Arc<Verifier>,
    started: Instant,
}

impl Load {
    fn start() -> Self {
        Load {
            samples: Samples::new(),
            verifier: Arc::new(Verifier::new(SecretString::from(SECRET))),
            started: Instant::now(),
        }
    }

    /// Waits for every sender, then gives the counters and the seconds the whole load took.
    async fn finish(self, senders: Vec<tokio::task::JoinHandle<()>>) -> (Arc<Samples>, f64) {
        for sender in senders {
            let _ = sender.await;
        }
        (self.samples, self.started.elapsed().as_secs_f64())
    }
}

/// Sends `rate` requests a second for `seconds`, each on its own task (an open-loop load).
async fn fixed_rate(
    http: &reqwest::Client,
    url: &str,
    rate: u32,
    seconds: f64,
    run: &str,
    offset: u64,
) -> (Arc<Samples>, f64) {
    let total = (f64::from(rate) * seconds) as u64;
    let period = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let load = Load::start();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        ticker.tick().await;
        let (http, url, verifier, samples) = (
            http.clone(),
            url.to_string(),
            load.verifier.clone(),
            load.samples.clone(),
        );
        let body = event_body(offset + i, run);
        tasks.push(tokio::spawn(async move {
            send_one(&http, &url, &verifier, body, &samples).await
        }));
    }
    load.finish(tasks).await
}

/// `concurrency` closed loops sending as fast as answers come back, for `seconds`.
async fn max_rate(
    http: &reqwest::Client,
    url: &str,
    concurrency: usize,
    seconds: f64,
    run: &str,
    offset: u64,
) -> (Arc<Samples>, f64) {
    let next = Arc::new(AtomicU64::new(offset));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let load = Load::start();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (http, url, verifier, samples, next, run) = (
                http.clone(),
                url.to_string(),
                load.verifier.clone(),
                load.samples.clone(),
                next.clone(),
                run.to_string(),
            );
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    send_one(&http, &url, &verifier, event_body(i, &run), &samples).await;
                }
            })
        })
        .collect();
    load.finish(workers).await
}

fn phase(target: &str, mode: &str, samples: &Samples, elapsed: f64, stored: Option<u64>) -> Phase {
    let micros = samples.micros.lock().map(|m| m.clone()).unwrap_or_default();
    let acked = samples.acked.load(Ordering::Relaxed);
    Phase {
        target: target.to_string(),
        mode: mode.to_string(),
        sent: samples.sent.load(Ordering::Relaxed),
        acked,
        errors: samples.errors.load(Ordering::Relaxed),
        acked_per_sec: if elapsed > 0.0 {
            acked as f64 / elapsed
        } else {
            0.0
        },
        latency: Latency::from_micros(micros),
        stored,
    }
}

async fn stored_events(scratch: &ScratchDb) -> u64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM inbox WHERE source = 'event'")
        .fetch_one(scratch.db.pool())
        .await
        .and_then(|r| r.try_get::<i64, _>("n"))
        .map(|n| n as u64)
        .unwrap_or(0)
}

async fn bench_chief(
    name: &str,
    scratch: ScratchDb,
    opts: &Options,
    http: &reqwest::Client,
) -> anyhow::Result<Vec<Phase>> {
    let exe = &opts.chief_exe;
    let port = report::free_port()?;
    let slack = crate::testkit::fake_slack::FakeSlack::start().await?;
    let _server = report::spawn(
        exe,
        &["serve"],
        &[
            ("DATABASE_URL", scratch.url.clone()),
            ("SLACK_SIGNING_SECRET", SECRET.to_string()),
            ("SLACK_BOT_TOKEN", "xoxb-bench".to_string()),
            ("SLACK_API_URL", slack.api_url()),
            ("CHIEF_LISTEN", format!("127.0.0.1:{port}")),
            ("RUST_LOG", "error".to_string()),
        ],
    )?;
    let base = format!("http://127.0.0.1:{port}");
    anyhow::ensure!(
        report::wait_ready(http, &format!("{base}/readyz"), Duration::from_secs(30)).await,
        "chief did not start"
    );
    let url = format!("{base}/slack/events");
    let mut phases = Vec::new();
    let (samples, elapsed) = fixed_rate(http, &url, opts.rate, opts.seconds, "f", 0).await;
    let stored = stored_events(&scratch).await;
    phases.push(phase(
        name,
        &format!("fixed {} req/s", opts.rate),
        &samples,
        elapsed,
        Some(stored),
    ));
    let before = stored;
    let (samples, elapsed) = max_rate(http, &url, opts.concurrency, opts.seconds, "m", 0).await;
    let stored = stored_events(&scratch).await - before;
    phases.push(phase(
        name,
        &format!("max ({} conns)", opts.concurrency),
        &samples,
        elapsed,
        Some(stored),
    ));
    Ok(phases)
}

async fn bench_peer(
    python: &Path,
    opts: &Options,
    http: &reqwest::Client,
) -> anyhow::Result<Vec<Phase>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/peer/bolt_app.py");
    let port = report::free_port()?;
    let _server = report::spawn(
        python,
        &[
            script.to_string_lossy().as_ref(),
            "--port",
            &port.to_string(),
        ],
        &[("SLACK_SIGNING_SECRET", SECRET.to_string())],
    )?;
    let base = format!("http://127.0.0.1:{port}");
    anyhow::ensure!(
        report::wait_ready(http, &format!("{base}/healthz"), Duration::from_secs(60)).await,
        "the Bolt peer did not start ({} {})",
        python.display(),
        script.display()
    );
    let url = format!("{base}/slack/events");
    let (samples, elapsed) = fixed_rate(http, &url, opts.rate, opts.seconds, "f", 0).await;
    let mut phases = vec![phase(
        "bolt-python",
        &format!("fixed {} req/s", opts.rate),
        &samples,
        elapsed,
        None,
    )];
    let (samples, elapsed) = max_rate(http, &url, opts.concurrency, opts.seconds, "m", 0).await;
    phases.push(phase(
        "bolt-python",
        &format!("max ({} conns)", opts.concurrency),
        &samples,
        elapsed,
        None,
    ));
    Ok(phases)
}

pub async fn run(opts: Options) -> anyhow::Result<Report> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.concurrency.max(64))
        .build()?;
    let mut phases = Vec::new();
    if opts.sqlite {
        phases.extend(bench_chief("chief-sqlite", ScratchDb::sqlite().await?, &opts, &http).await?);
    }
    if let Some(server) = &opts.postgres {
        phases.extend(
            bench_chief(
                "chief-postgres",
                ScratchDb::postgres(server).await?,
                &opts,
                &http,
            )
            .await?,
        );
    }
    if let Some(python) = &opts.peer_python {
        phases.extend(bench_peer(python, &opts, &http).await?);
    }
    let max_of = |target: &str| {
        phases
            .iter()
            .find(|p| p.target == target && p.mode.starts_with("max"))
            .map(|p| p.acked_per_sec)
    };
    let ratio_to_peer = match max_of("bolt-python") {
        Some(peer) if peer > 0.0 => ["chief-sqlite", "chief-postgres"]
            .iter()
            .filter_map(|t| max_of(t).map(|c| (t.to_string(), c / peer)))
            .collect(),
        _ => Vec::new(),
    };
    let report = Report {
        machine: machine(),
        phases,
        ratio_to_peer,
    };
    print(&report);
    report::save(opts.out.as_deref(), &report)?;
    Ok(report)
}

fn print(report: &Report) {
    println!("intake on {}", report.machine);
    let rows: Vec<Vec<String>> = report
        .phases
        .iter()
        .map(|p| {
            vec![
                p.target.clone(),
                p.mode.clone(),
                p.sent.to_string(),
                p.acked.to_string(),
                p.errors.to_string(),
                format!("{:.0}", p.acked_per_sec),
                format!("{:.2}", p.latency.p50_ms),
                format!("{:.2}", p.latency.p99_ms),
                p.stored.map_or("-".into(), |s| s.to_string()),
            ]
        })
        .collect();
    report::print_table(
        &[
            "target", "load", "sent", "acked", "errors", "acked/s", "p50 ms", "p99 ms", "stored",
        ],
        &rows,
    );
    for (target, ratio) in &report.ratio_to_peer {
        println!("{target}: {ratio:.1}× the Bolt peer's acked events/s (max rate)");
    }
}

/// A one-line description of this machine for the report.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores, {cpu}")
}
