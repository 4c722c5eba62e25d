//! The test harness: chief started in-process on a random port with its own database, a fake Slack
//! Web API, and requests signed with a real signing secret.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chief::app::Application;
use chief::config::Config;
use chief::features::context::Context;
use chief::slack::signature::Verifier;
use chief::testkit::fake_slack::FakeSlack;
use chief::testkit::scratch::ScratchDb;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

/// Runs `$scenario(&ScratchDb)` on a fresh SQLite file and a fresh PostgreSQL database: one module
/// per scenario, with a `sqlite` and a `postgres` test in it.
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let scratch = chief::testkit::scratch::ScratchDb::test_sqlite().await;
                super::$scenario(&scratch).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let scratch = chief::testkit::scratch::ScratchDb::test_postgres().await;
                super::$scenario(&scratch).await;
            }
        }
    )*};
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

/// Where the shared real-data fixtures live (`../shared/fixtures` beside the checkout).
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

/// chief running in this process.
pub struct TestApp {
    pub base: String,
    pub ctx: Arc<Context>,
    pub slack: FakeSlack,
    pub http: reqwest::Client,
    pub scratch: ScratchDb,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
    init();
    let scratch = backend.scratch().await;
    let slack = FakeSlack::start().await.expect("fake Slack starts");
    let mut config = config(&scratch.url, &slack);
    tweak(&mut config);
    let app = Application::build(config).await.expect("chief builds");
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
