//! Storage: one repository layer over SQLite (embedded default) and PostgreSQL (scale-out).
//!
//! Both backends go through `sqlx::Any`, so every query is written once: `$n` placeholders, epoch
//! integer times, INTEGER booleans and TEXT JSON. Where the SQL must differ (identity columns, row
//! locking) the schema lives in `migrations/<backend>/` and [`Db::backend`] picks the statement.

/// Runs a storage scenario (`async fn(&Db)`) as two unit tests, one per backend, each on a fresh
/// scratch database: every query here is written once for both dialects, so every scenario must
/// pass on both. Written once so that no module can forget the PostgreSQL half.
#[cfg(test)]
macro_rules! on_both_backends {
    ($scenario:ident => $sqlite:ident, $postgres:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            let scratch = crate::testkit::scratch::ScratchDb::test_sqlite().await;
            $scenario(&scratch.db).await;
        }

        #[tokio::test]
        async fn $postgres() {
            let scratch = crate::testkit::scratch::ScratchDb::test_postgres().await;
            $scenario(&scratch.db).await;
        }
    };
}

pub mod backfill;
pub mod briefings;
pub mod bus;
pub mod directory;
pub mod inbox;
pub mod jobs;
pub mod llm;
pub mod messages;
pub mod names;
pub mod oauth;
pub mod org;
pub mod profile;
pub mod propositions;
pub mod purge;
pub mod runs;
pub mod teams;

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Which SQL dialect the pool speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported DATABASE_URL {0:?}: use sqlite://… or postgres://…")]
    UnsupportedUrl(String),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row in {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
    /// One failure reported to every caller that shared the statement (a group commit).
    #[error(transparent)]
    Shared(std::sync::Arc<DbError>),
}

/// Every database failure is worth another try: a lost connection, a busy SQLite file or a
/// failed group commit clear up on their own, and work that hits the same corrupt row again
/// still ends up parked once its attempts run out.
impl crate::platform::retry::Retryable for DbError {
    fn is_transient(&self) -> bool {
        true
    }
}

/// The shared connection pool and the dialect it speaks. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Db {
    /// Connects, creating the SQLite file when it does not exist yet.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        install_default_drivers();
        let (backend, url) = if let Some(rest) = url.strip_prefix("sqlite:") {
            let sep = if rest.contains('?') { '&' } else { '?' };
            let url = if rest.contains("mode=") {
                url.to_string()
            } else {
                format!("{url}{sep}mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(DbError::UnsupportedUrl(redact_url(url)));
        };
        let options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(10))
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            });
        let options = match backend {
            // WAL lets readers run beside the one writer; the busy timeout makes writers queue
            // instead of failing with SQLITE_BUSY.
            Backend::Sqlite => options.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            }),
            Backend::Postgres => options,
        };
        let pool = options.connect(&url).await?;
        Ok(Db { pool, backend })
    }

    /// Applies every pending migration of this backend.
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Refreshes the query planner's statistics. Without them SQLite reads a reader's window by
    /// scanning every channel's messages (the time index looks best to a planner that knows no
    /// sizes); with them it starts from the reader's memberships. PostgreSQL's autovacuum does
    /// this on its own, but not right after a bulk load.
    pub async fn optimize(&self) -> Result<(), DbError> {
        let sql = match self.backend {
            // 0x10002: analyse every table whose statistics are missing or stale.
            Backend::Sqlite => "PRAGMA optimize = 0x10002",
            Backend::Postgres => "ANALYZE",
        };
        sqlx::query(sql).execute(&self.pool).await?;
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// True when a trivial query succeeds: what `/readyz` reports.
    pub async fn is_reachable(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so a transaction that reads before it writes queues behind other
    /// writers instead of failing with "database is locked" when it tries to upgrade.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, DbError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A database URL fit for messages and logs: the password, if any, replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        // Not a URL the parser takes: drop anything that looks like credentials.
        Err(_) => match (url.find("://"), url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                format!("{}://***@{}", &url[..scheme], &url[at + 1..])
            }
            _ => url.to_string(),
        },
    }
}

/// A stored value this code cannot read back: the error every row decoder reports, naming the
/// table so that a bad row can be found.
pub(crate) fn corrupt(table: &'static str, reason: impl Into<String>) -> DbError {
    DbError::Corrupt {
        table,
        reason: reason.into(),
    }
}

/// A calendar day as stored (`YYYY-MM-DD` TEXT: `sqlx::Any` has no date type, and this form
/// sorts and compares as the dates do).
pub(crate) fn date_str(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Reads back a day stored by [`date_str`]; anything else is a corrupt row of `table`.
pub(crate) fn parse_date(table: &'static str, s: &str) -> Result<chrono::NaiveDate, DbError> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| corrupt(table, format!("bad date {s:?}: {e}")))
}

/// `$from, $from+1, …`: the `n` placeholders of an `IN (…)` list whose values are bound after
/// the `from - 1` fixed parameters (the only SQL built from a count rather than written out).
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Seconds since the Unix epoch: the one time representation stored in the database.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A migrated SQLite database in a folder of its own under the system's temporary folder, deleted
/// with this value: the store of the commands that read a Slack export (`chief brief --export`,
/// `chief context --export`), and of tests.
pub struct TempDb {
    pub db: Db,
    /// The URL the database was opened with.
    pub url: String,
    _dir: tempfile::TempDir,
}

impl TempDb {
    pub async fn new() -> Result<Self, DbError> {
        let dir = tempfile::tempdir().map_err(|e| DbError::Corrupt {
            table: "-",
            reason: format!("cannot create a temporary folder: {e}"),
        })?;
        let url = format!("sqlite://{}", dir.path().join("chief.db").display());
        let db = Db::connect(&url).await?;
        db.migrate().await?;
        Ok(TempDb { db, url, _dir: dir })
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted_from_database_urls() {
        assert_eq!(
            redact_url("postgres://chief:s3cret@db:5432/chief"),
            "postgres://chief:***@db:5432/chief"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(redact_url("sqlite://chief.db"), "sqlite://chief.db");
        assert!(!redact_url("weird://u:s3cret@[bad").contains("s3cret"));
    }
}
