//! Timing: when each person's briefing is prepared and delivered.
//!
//! Every minute the scheduler ([`run`], started by `chief serve`) calls [`tick`]:
//! 1. replans users whose planned briefing was missed (`db::profile::reschedule_overdue`);
//! 2. finds users due for preparation — their learned first-active time (09:00 local until
//!    learned, or the time they set) minus an hour; weekends skipped by default, paused users and
//!    users inactive for 14 days left out (`db::profile::list_due_for_preparation`) — interleaves
//!    teams round-robin, and queues a [`PrepareBriefing`] job per user-day (idempotency key
//!    `briefing.prepare:{user}:{date}`; users active in the last hour at `ACTIVE_USER` priority,
//!    the others at `BACKGROUND`; the queue then serves teams fairly within a priority);
//! 3. finds prepared briefings whose latest delivery time has come without the user showing up
//!    (`list_due_for_delivery`) and queues a [`DeliverBriefing`] job.
//!
//! The usual path to delivery is the user showing up: the interest agent sees
//! `user_became_active` and queues the delivery of today's prepared briefing at once. A briefing
//! prepared while its user is already online (active in the last hour) is delivered right away.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::BriefingError;
use crate::features::context::Context;
use crate::model::activity::ScheduleRules;
use crate::platform::db::jobs::JobRecord;
use crate::platform::db::{DbError, briefings, now, profile};
use crate::platform::jobs::{self, EnqueueOptions, Job, JobError, priority};

/// How often the scheduler looks for due work.
pub const TICK: Duration = Duration::from_secs(60);
/// Users handled per tick, at most (the rest next tick).
const BATCH: i64 = 500;
/// A user active this recently is online: their work goes first, their briefing out at once.
const ONLINE_SECS: i64 = 3_600;
/// Prepared briefings and digests are kept this long (they hold text derived from messages).
pub const KEEP_SECS: i64 = 30 * 86_400;

/// Payload of the briefing jobs: the user and their local date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDay {
    pub user_id: String,
    /// `YYYY-MM-DD`, the user's local date.
    pub date: NaiveDate,
}

/// Prepares one user's daily briefing (a durable run), then delivers it at once if they are
/// online.
pub struct PrepareBriefing;

impl Job for PrepareBriefing {
    type Ctx = Context;
    const NAME: &'static str = "briefing.prepare";
    type Payload = UserDay;

    async fn run(&self, ctx: &Context, day: UserDay, job: &JobRecord) -> Result<(), JobError> {
        if crate::features::ingest::directory::is_suspended(ctx, &job.team_id).await? {
            return Ok(());
        }
        let row = super::agent::prepare_with(
            ctx,
            &super::PrepareRequest::daily(&job.team_id, &day.user_id, day.date, now()),
        )
        .await?;
        if let Some(run_id) = row.run_id
            && let Err(e) = crate::platform::db::runs::set_job(&ctx.db, run_id, job.id).await
        {
            warn!(error = %e, "cannot link the run to its job");
        }
        let online = profile::get_agent(&ctx.db, &job.team_id, &day.user_id)
            .await?
            .and_then(|a| a.last_active_at)
            .is_some_and(|at| now() - at <= ONLINE_SECS);
        if online && row.status == briefings::Status::Prepared {
            enqueue_delivery(
                ctx,
                &job.team_id,
                &day.user_id,
                day.date,
                priority::ACTIVE_USER,
            )
            .await?;
        }
        Ok(())
    }
}

/// Sends one user's daily briefing (preparing it first if needed), once.
pub struct DeliverBriefing;

impl Job for DeliverBriefing {
    type Ctx = Context;
    const NAME: &'static str = "briefing.deliver";
    const PRIORITY: i32 = priority::ACTIVE_USER;
    type Payload = UserDay;

    async fn run(&self, ctx: &Context, day: UserDay, job: &JobRecord) -> Result<(), JobError> {
        let outcome =
            super::delivery::deliver_daily(ctx, &job.team_id, &day.user_id, day.date).await?;
        info!(user_id = %day.user_id, date = %day.date, ?outcome, "delivery job done");
        Ok(())
    }
}

/// Queues the preparation of (user, date), once.
pub async fn enqueue_preparation(
    ctx: &Context,
    team_id: &str,
    user_id: &str,
    date: NaiveDate,
    priority: i32,
) -> Result<bool, BriefingError> {
    enqueue_once::<PrepareBriefing>(ctx, team_id, user_id, date, priority).await
}

/// Queues the delivery of (user, date), once.
pub async fn enqueue_delivery(
    ctx: &Context,
    team_id: &str,
    user_id: &str,
    date: NaiveDate,
    priority: i32,
) -> Result<bool, BriefingError> {
    enqueue_once::<DeliverBriefing>(ctx, team_id, user_id, date, priority).await
}

/// Queues a `J` job for (user, date) unless one is already queued: the idempotency key is the
/// job's name with the user and the day. `false` when it was queued before.
async fn enqueue_once<J: Job<Payload = UserDay>>(
    ctx: &Context,
    team_id: &str,
    user_id: &str,
    date: NaiveDate,
    priority: i32,
) -> Result<bool, BriefingError> {
    let enqueued = jobs::enqueue::<J>(
        &ctx.db,
        team_id,
        &UserDay {
            user_id: user_id.to_string(),
            date,
        },
        EnqueueOptions::default()
            .priority(priority)
            .idempotency_key(format!("{}:{user_id}:{date}", J::NAME)),
    )
    .await?;
    Ok(enqueued.created)
}

/// What one tick queued.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tick {
    pub replanned: usize,
    pub preparations: usize,
    pub deliveries: usize,
}

/// One pass of the scheduler at `now` (see the module docs). Idempotent: queuing is keyed per
/// user-day, so overlapping ticks (several replicas) queue each job once.
pub async fn tick(ctx: &Context, now: i64) -> Result<Tick, BriefingError> {
    let rules = ScheduleRules::default();
    let mut done = Tick {
        replanned: profile::reschedule_overdue(&ctx.db, now, BATCH, &rules).await?,
        ..Tick::default()
    };
    // Anything due to be prepared by now and not too late to deliver.
    let from = now - rules.prepare_lead_secs - rules.late_grace_secs;
    let due = profile::list_due_for_preparation(&ctx.db, from, now + 1, BATCH, &rules).await?;
    for user in profile::fair_order(due) {
        let online = user
            .last_active_at
            .is_some_and(|at| now - at <= ONLINE_SECS);
        let p = if online {
            priority::ACTIVE_USER
        } else {
            priority::BACKGROUND
        };
        if enqueue_preparation(ctx, &user.team_id, &user.user_id, user.local_date, p).await? {
            done.preparations += 1;
        }
    }
    for user in profile::list_due_for_delivery(&ctx.db, now, BATCH).await? {
        if enqueue_delivery(
            ctx,
            &user.team_id,
            &user.user_id,
            user.local_date,
            priority::BACKGROUND,
        )
        .await?
        {
            done.deliveries += 1;
        }
    }
    Ok(done)
}

/// Housekeeping, hourly: old briefings and digests go.
async fn prune(ctx: &Context) -> Result<u64, DbError> {
    briefings::prune(&ctx.db, now() - KEEP_SECS).await
}

/// The scheduler loop of `chief serve`: a tick every minute until `shutdown`.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    let mut ticks: u64 = 0;
    loop {
        match tick(&ctx, now()).await {
            Ok(t) if t != Tick::default() => info!(?t, "briefing scheduler"),
            Ok(_) => {}
            Err(e) => {
                warn!(error = %crate::platform::retry::Chain(&e), "briefing scheduler tick failed")
            }
        }
        if ticks.is_multiple_of(60)
            && let Err(e) = prune(&ctx).await
        {
            warn!(error = %e, "pruning old briefings failed");
        }
        ticks += 1;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}
