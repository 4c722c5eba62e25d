//! The one test harness (zero2prod's `spawn_app`): chief started in-process on a random port with
//! its own database, a fake Slack Web API, a local model server when asked for, and requests signed
//! with a real signing secret; or, for tests that drive workers themselves, chief's `Context` over a
//! scratch database and the same fake Slack. Every test file goes through here.
//!
//! - `mod.rs`: backends (`on_both_backends!`), `fixtures()`, configuration, `TestApp`, contexts.
//! - `model.rs`: the local model server as chief's LLM endpoint.
//! - `slack.rs`: the fake Slack's directory answers; events delivered the way the edge stores them.
//! - `briefing.rs`, `explain.rs`: seeded workspaces of the briefing and click-to-context tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chief::app::Application;
use chief::config::Config;
use chief::features::context::Context;
use chief::platform::db::Db;
use chief::slack::signature::Verifier;
use chief::testkit::fake_slack::FakeSlack;
use chief::testkit::model_server::LocalLlm;
use chief::testkit::scratch::ScratchDb;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

/// Runs each scenario on a fresh SQLite file and on a fresh PostgreSQL database: one module per
/// scenario, with a `sqlite` and a `postgres` test in it. A PostgreSQL server that cannot be
/// reached fails the test (see `ScratchDb::test_postgres`); nothing is skipped.
///
/// - `on_both_backends!(a, b)`: `async fn a(scratch: &ScratchDb)`, given a migrated database.
/// - `on_both_backends!(backend: a, b)`: `async fn a(backend: Backend)`, for scenarios that make
///   their own database from it (a served app with `spawn_app(backend)`, several pools, …).
#[allow(unused_macros)]
macro_rules! on_both_backends {
    (backend: $($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario(crate::common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$scenario(crate::common::Backend::Postgres).await;
            }
        }
    )*};
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let scratch = crate::common::Backend::Sqlite.scratch().await;
                super::$scenario(&scratch).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let scratch = crate::common::Backend::Postgres.scratch().await;
                super::$scenario(&scratch).await;
            }
        }
    )*};
}

pub mod briefing;
pub mod explain;
pub mod model;
pub mod slack;

/// Stores channel `id` of `team` (named `name`) with exactly these members.
pub async fn add_channel(
    db: &Db,
    team: &str,
    id: &str,
    name: &str,
    private: bool,
    members: &[&str],
) {
    use chief::model::events::Channel;
    use chief::platform::db::directory;
    directory::upsert_channel(
        db.pool(),
        team,
        &Channel {
            channel_id: id.into(),
            name: Some(name.into()),
            is_private: private,
            ..Channel::default()
        },
        1,
    )
    .await
    .expect("channel stored");
    let mut conn = db.pool().acquire().await.expect("a connection");
    let members: Vec<String> = members.iter().map(|m| m.to_string()).collect();
    directory::replace_members(&mut conn, team, id, &members, 1)
        .await
        .expect("members stored");
}

pub const SIGNING_SECRET: &str = "test-signing-secret-8f742231b10e8888";
pub const BOT_TOKEN: &str = "xoxb-test-bot-token";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub async fn scratch(self) -> ScratchDb {
        match self {
            Backend::Sqlite => ScratchDb::test_sqlite().await,
            Backend::Postgres => ScratchDb::test_postgres().await,
        }
    }
}

/// Where the shared real-data fixtures live: `CHIEF_FIXTURES`, or `../shared/fixtures` beside the
/// checkout. The one locator: no test names the folder itself.
pub fn fixtures() -> PathBuf {
    std::env::var("CHIEF_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"))
}

/// Logs for a test when `TEST_LOG` is set.
pub fn init() {
    chief::init_process();
    if std::env::var("TEST_LOG").is_ok() {
        chief::telemetry::init_logging(false);
    }
}

/// A configuration pointing at the given database and fake Slack.
pub fn config(database_url: &str, slack: &FakeSlack) -> Config {
    let mut config = Config::for_database(database_url);
    config.listen = "127.0.0.1:0".parse().expect("a valid address");
    config.signing_secret = Some(SecretString::from(SIGNING_SECRET));
    config.bot_token = Some(SecretString::from(BOT_TOKEN));
    config.slack_api_url = slack.api_url();
    config
}

/// chief's context over `scratch` without the HTTP server, for tests that drive the workers, jobs
/// and agents themselves: the fake Slack as the Web API, and `llm` (if any) as the model.
pub fn context(scratch: &ScratchDb, slack: &FakeSlack, llm: Option<&LocalLlm>) -> Arc<Context> {
    init();
    let mut config = config(&scratch.url, slack);
    if let Some(llm) = llm {
        model::use_model(&mut config, llm);
    }
    Context::new(config, scratch.db.clone())
}

/// chief's context with no outside system configured at all (no Slack, no model).
pub fn bare_context(db: &Db, url: &str) -> Arc<Context> {
    init();
    Context::new(Config::for_database(url), db.clone())
}

/// chief running in this process.
pub struct TestApp {
    pub base: String,
    pub ctx: Arc<Context>,
    pub slack: FakeSlack,
    /// The local model server chief calls, when the app was spawned with one.
    pub llm: Option<LocalLlm>,
    pub http: reqwest::Client,
    pub scratch: ScratchDb,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
    start(backend, None, None, tweak).await
}

/// chief whose signature check reads `clock` instead of the time (real payloads signed long ago).
pub async fn spawn_app_at(
    backend: Backend,
    clock: fn() -> i64,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    start(backend, None, Some(clock), tweak).await
}

/// chief with `llm` as its model (see [`model::use_model`]), then `tweak`.
pub async fn spawn_app_with_model(
    backend: Backend,
    llm: LocalLlm,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    start(backend, Some(llm), None, tweak).await
}

async fn start(
    backend: Backend,
    llm: Option<LocalLlm>,
    clock: Option<fn() -> i64>,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    init();
    let scratch = backend.scratch().await;
    let slack = FakeSlack::start().await.expect("fake Slack starts");
    let mut config = config(&scratch.url, &slack);
    if let Some(llm) = &llm {
        model::use_model(&mut config, llm);
    }
    tweak(&mut config);
    let mut app = Application::build(config).await.expect("chief builds");
    if let Some(clock) = clock {
        app = app.with_clock(clock);
    }
    let base = format!("http://{}", app.local_addr());
    let ctx = app.context();
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    let task = tokio::spawn(async move {
        app.run_until(stopped).await.expect("chief runs");
    });
    TestApp {
        base,
        ctx,
        slack,
        llm,
        http: reqwest::Client::new(),
        scratch,
        stop,
        task,
    }
}

/// Signs `body` at `timestamp` the way Slack does.
pub fn sign(timestamp: i64, body: &[u8]) -> String {
    Verifier::new(SecretString::from(SIGNING_SECRET)).sign(&timestamp.to_string(), body)
}

pub fn now() -> i64 {
    chief::platform::db::now()
}

impl TestApp {
    /// The model server this app was spawned with.
    pub fn llm(&self) -> &LocalLlm {
        self.llm
            .as_ref()
            .expect("spawned with spawn_app_with_model")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs a body signed now.
    pub async fn post_signed(
        &self,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> reqwest::Response {
        let ts = now();
        self.http
            .post(self.url(path))
            .header("content-type", content_type)
            .header("x-slack-request-timestamp", ts.to_string())
            .header("x-slack-signature", sign(ts, body))
            .body(body.to_vec())
            .send()
            .await
            .expect("chief answers")
    }

    pub async fn post_event(&self, event: &serde_json::Value) -> reqwest::Response {
        self.post_signed(
            "/slack/events",
            "application/json",
            event.to_string().as_bytes(),
        )
        .await
    }

    /// An interaction, form-encoded the way Slack sends it.
    pub async fn post_interaction(&self, payload: &str) -> reqwest::Response {
        let body = serde_urlencoded::to_string([("payload", payload)]).expect("encodable");
        self.post_signed(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            body.as_bytes(),
        )
        .await
    }

    /// A slash command from its form fields.
    pub async fn post_command(&self, fields: &[(String, String)]) -> reqwest::Response {
        let body = serde_urlencoded::to_string(fields).expect("encodable");
        self.post_signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            body.as_bytes(),
        )
        .await
    }

    /// Waits until no stored request is pending (all handled or parked).
    pub async fn drained(&self, timeout: Duration) -> chief::platform::db::inbox::Counts {
        let deadline = Instant::now() + timeout;
        loop {
            let counts = chief::platform::db::inbox::counts(&self.ctx.db)
                .await
                .expect("counts");
            if counts.pending == 0 || Instant::now() > deadline {
                return counts;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// Rows in a table (tests only: the table name is a literal).
pub async fn count_rows(db: &chief::platform::db::Db, table: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM {table}"
    )))
    .fetch_one(db.pool())
    .await
    .expect("count")
    .try_get("n")
    .expect("a count")
}

/// A JSON file under [`fixtures`], parsed.
pub fn fixture_json(relative: &str) -> serde_json::Value {
    let path = fixtures().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("fixture {} is readable: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// Where abbot's captured Slack payloads (events, interactions) live under [`fixtures`].
pub const ABBOT_PAYLOADS: &str = "payloads/abbot/tests/Abbot.Web.Library.Tests/Serialization";
