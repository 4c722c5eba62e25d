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

use crate::bus;
use crate::context::Context;
use crate::db::{Db, DbError, inbox, messages, now};

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
    }
}
