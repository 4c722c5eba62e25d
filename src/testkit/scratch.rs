//! Throwaway databases: a fresh SQLite file in a temporary folder, or a fresh database on a
//! PostgreSQL server, migrated and dropped again when the value is dropped.
//!
//! Tests use them so that each test has its own database on both backends.

use crate::platform::db::{Db, DbError, TempDb};

/// The PostgreSQL server tests use: `TEST_DATABASE_URL`, or the local default.
pub fn test_server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] TempDb),
    Postgres { server_url: String, name: String },
}

/// A migrated database that disappears with this value.
pub struct ScratchDb {
    pub db: Db,
    /// The URL the database was opened with (to start a `chief` process on it).
    pub url: String,
    cleanup: Option<Cleanup>,
}

impl ScratchDb {
    /// A new SQLite file in a new temporary folder.
    pub async fn sqlite() -> Result<Self, DbError> {
        let temp = TempDb::new().await?;
        Ok(ScratchDb {
            db: temp.db.clone(),
            url: temp.url.clone(),
            cleanup: Some(Cleanup::Sqlite(temp)),
        })
    }

    /// A new database on the PostgreSQL server at `server_url` (any database on it to connect to).
    pub async fn postgres(server_url: &str) -> Result<Self, DbError> {
        let admin = Db::connect(server_url).await?;
        let name = format!("chief_scratch_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(admin.pool())
            .await?;
        admin.close().await;
        let mut url = url::Url::parse(server_url).map_err(|e| DbError::Corrupt {
            table: "-",
            reason: format!("bad server URL: {e}"),
        })?;
        url.set_path(&name);
        let url = url.to_string();
        let db = Db::connect(&url).await?;
        db.migrate().await?;
        Ok(ScratchDb {
            db,
            url,
            cleanup: Some(Cleanup::Postgres {
                server_url: server_url.to_string(),
                name,
            }),
        })
    }

    /// A new database on the test PostgreSQL server ([`test_server_url`]). Panics with a clear
    /// message when there is none: tests must fail loudly, not skip.
    pub async fn test_postgres() -> Self {
        let server = test_server_url();
        match Self::postgres(&server).await {
            Ok(scratch) => scratch,
            Err(e) => panic!(
                "PostgreSQL tests need a server at TEST_DATABASE_URL ({server}): {e}. \
                 Start one, or run .ci/run which starts it."
            ),
        }
    }

    /// A new SQLite database; panics on failure (tests only).
    pub async fn test_sqlite() -> Self {
        Self::sqlite()
            .await
            .unwrap_or_else(|e| panic!("cannot create a SQLite test database: {e}"))
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        if let Some(Cleanup::Postgres { server_url, name }) = self.cleanup.take() {
            // Drop may run inside a runtime that is blocked here: use a thread with its own, and
            // let FORCE end this pool's connections (closing the pool would wait on that runtime).
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(admin) = Db::connect(&server_url).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(admin.pool())
                        .await;
                        admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::db::inbox::{self, NewItem, Source};

    async fn inbox_dedupes_and_claims(db: &Db) {
        let item = NewItem {
            dedupe_key: "event:Ev1",
            source: Source::Event,
            team_id: Some("T1"),
            kind: "message",
            payload: "{}",
        };
        assert!(inbox::insert(db, &item).await.unwrap());
        assert!(
            !inbox::insert(db, &item).await.unwrap(),
            "a retry is not stored twice"
        );
        let claimed = inbox::claim(db, "me", 10, 60).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].attempts, 1);
        assert!(
            inbox::claim(db, "other", 10, 60).await.unwrap().is_empty(),
            "a leased row is not claimed twice"
        );
        inbox::complete(db, claimed[0].id).await.unwrap();
        assert_eq!(inbox::counts(db).await.unwrap().done, 1);
    }

    #[tokio::test]
    async fn inbox_on_sqlite() {
        let scratch = ScratchDb::test_sqlite().await;
        inbox_dedupes_and_claims(&scratch.db).await;
    }

    #[tokio::test]
    async fn inbox_on_postgres() {
        let scratch = ScratchDb::test_postgres().await;
        inbox_dedupes_and_claims(&scratch.db).await;
    }
}
