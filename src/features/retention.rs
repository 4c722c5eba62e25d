//! Retention: chief keeps message text only as long as it needs it.
//!
//! Every hour (and once at start-up) `serve` blanks the text of messages older than
//! `CHIEF_RETENTION_DAYS` (default 90; 0 keeps everything) and deletes what was derived from them
//! (the `db::purge` list), drops handled inbox rows older than a day (they hold raw payloads), and
//! prunes delivered bus events.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::features::context::Context;
use crate::platform::bus;
use crate::platform::db::{Db, DbError, inbox, messages, now};

const INTERVAL: Duration = Duration::from_secs(3600);
/// Handled inbox rows are kept this long (for debugging a recent problem).
const INBOX_KEEP_SECS: i64 = 86_400;

/// What one run removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub messages_expired: u64,
    pub inbox_purged: u64,
    pub bus_pruned: u64,
}

/// The epoch second before which message text is purged; `None` when retention is off (0 days).
pub fn cutoff(retention_days: u32, now: i64) -> Option<i64> {
    (retention_days > 0).then(|| now - i64::from(retention_days) * 86_400)
}

/// One retention pass.
pub async fn run_once(db: &Db, retention_days: u32) -> Result<Report, DbError> {
    let now = now();
    let messages_expired = match cutoff(retention_days, now) {
        Some(cutoff) => messages::expire_before(db, cutoff, 500).await?,
        None => 0,
    };
    Ok(Report {
        messages_expired,
        inbox_purged: inbox::purge_done(db, now - INBOX_KEEP_SECS).await?,
        bus_pruned: bus::prune(db).await?,
    })
}

/// Runs [`run_once`] now and then every hour until `shutdown`.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    let mut interval = tokio::time::interval(INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        match run_once(&ctx.db, ctx.config.retention_days).await {
            Ok(report) if report != Report::default() => info!(
                messages_expired = report.messages_expired,
                inbox_purged = report.inbox_purged,
                bus_pruned = report.bus_pruned,
                "retention pass"
            ),
            Ok(_) => {}
            Err(e) => warn!(error = %e, "retention pass failed"),
        }
        // The planner's statistics follow the data (see `Db::optimize`).
        if let Err(e) = ctx.db.optimize().await {
            warn!(error = %e, "cannot refresh the query planner's statistics");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::events::PostedMessage;
    use crate::platform::db::inbox::{self, NewItem, Source as InboxSource};
    use crate::platform::db::messages::{Source, upsert};
    use crate::testkit::scratch::ScratchDb;

    fn message(ts: &str, posted_at: i64) -> PostedMessage {
        PostedMessage {
            channel_id: "C1".into(),
            ts: ts.into(),
            thread_ts: None,
            user_id: Some("U1".into()),
            bot_id: None,
            subtype: None,
            text: format!("said at {posted_at}"),
            mentions: vec![],
            posted_at,
            edited_at: None,
            reply_count: None,
            channel_private: None,
            reactions: vec![("eyes".into(), vec!["U2".into()])],
        }
    }

    #[test]
    fn zero_days_keeps_everything() {
        assert_eq!(cutoff(0, 1_000_000), None);
        assert_eq!(cutoff(1, 1_000_000), Some(1_000_000 - 86_400));
    }

    async fn old_text_and_handled_requests_go(db: &Db) {
        let now = now();
        let old = now - 91 * 86_400;
        let mut conn = db.pool().acquire().await.unwrap();
        upsert(
            &mut conn,
            "T1",
            &message(&format!("{old}.000100"), old),
            Source::Import,
        )
        .await
        .unwrap();
        upsert(
            &mut conn,
            "T1",
            &message(&format!("{now}.000100"), now),
            Source::Event,
        )
        .await
        .unwrap();
        drop(conn);
        let item = NewItem {
            dedupe_key: "event:old",
            source: InboxSource::Event,
            team_id: Some("T1"),
            kind: "message",
            payload: "{}",
        };
        inbox::insert(db, &item).await.unwrap();
        let claimed = inbox::claim(db, "me", 1, 60).await.unwrap();
        inbox::complete(db, claimed[0].id).await.unwrap();
        sqlx::query("UPDATE inbox SET processed_at = $1")
            .bind(now - 2 * 86_400)
            .execute(db.pool())
            .await
            .unwrap();

        assert_eq!(
            run_once(db, 0).await.unwrap().messages_expired,
            0,
            "0 days: off"
        );
        let report = run_once(db, 90).await.unwrap();
        assert_eq!(report.messages_expired, 1);
        assert_eq!(report.inbox_purged, 0, "already purged by the first pass");
        assert_eq!(inbox::counts(db).await.unwrap().done, 0);
        let expired = messages::get(db, "T1", "C1", &format!("{old}.000100"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (expired.text.as_str(), expired.removed.as_deref()),
            ("", Some("expired"))
        );
        assert!(
            messages::reactions(db, "T1", "C1", &format!("{old}.000100"))
                .await
                .unwrap()
                .is_empty(),
            "derived rows go with the text"
        );
        assert_eq!(messages::count_live(db, "T1").await.unwrap(), 1);
    }

    #[tokio::test]
    async fn retention_on_sqlite() {
        let scratch = ScratchDb::test_sqlite().await;
        old_text_and_handled_requests_go(&scratch.db).await;
    }

    #[tokio::test]
    async fn retention_on_postgres() {
        let scratch = ScratchDb::test_postgres().await;
        old_text_and_handled_requests_go(&scratch.db).await;
    }
}
