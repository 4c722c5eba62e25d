//! Backfill: fetching a channel's recent history when chief joins it (or on `chief backfill`).
//!
//! A backfill is a durable job (`db::backfill`): `conversations.history` page by page (the cursor
//! saved after each page), then `conversations.replies` for each thread parent in the window (the
//! last finished thread saved). A restart, a rate limit or a Slack outage resumes where it stopped.
//! Jobs run in their own background task ([`run_jobs`]), never in the inbox worker.
//!
//! Slack's limits are real: `conversations.history`/`replies` are Tier 3 (≈ 50 requests a minute),
//! and far lower for commercially distributed apps outside the Marketplace (≈ 1 a minute, 15
//! messages a page). The client throttles per tier and retries 429s after `Retry-After`; when it
//! gives up, the job waits for the advised delay and carries on. Backfill is best effort: what
//! arrives live is stored regardless.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use crate::features::context::{Context, TokenError};
use crate::features::ingest::directory::{self, DirectoryError};
use crate::model::events::DomainEvent;
use crate::platform::bus;
use crate::platform::db::backfill::{self as jobs, Job};
use crate::platform::db::messages::{self, Source, Upserted};
use crate::platform::db::{DbError, now};
use crate::platform::retry::Retryable;
use crate::slack::api::SlackError;
use crate::slack::convert::{self, Options};
use crate::slack::markup::Refs;
use crate::slack::web;

/// Messages asked for per page (Slack may return fewer).
const PAGE_LIMIT: u32 = 200;
const LEASE_SECS: i64 = 300;

/// How far a backfill got (reported after each page).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub channel_id: String,
    /// `history` or `replies`.
    pub phase: String,
    /// Pages fetched in this run.
    pub pages: i64,
    /// Messages stored or refreshed so far (replies included).
    pub messages: i64,
    /// Threads whose replies were fetched so far.
    pub threads: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error(transparent)]
    Slack(#[from] SlackError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("team {0} is suspended")]
    Suspended(String),
}

/// Slack's outages and rate limits, and the database's, pass; a refusal (`not_in_channel`), a
/// missing token or a suspended team do not.
impl Retryable for BackfillError {
    fn is_transient(&self) -> bool {
        match self {
            BackfillError::Slack(e) => Retryable::is_transient(e),
            BackfillError::Db(e) => e.is_transient(),
            BackfillError::Token(e) => e.is_transient(),
            BackfillError::Suspended(_) => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            BackfillError::Slack(e) => e.retry_after(),
            _ => None,
        }
    }
}

impl From<DirectoryError> for BackfillError {
    fn from(e: DirectoryError) -> Self {
        match e {
            DirectoryError::Suspended(team) => BackfillError::Suspended(team),
            DirectoryError::Db(e) => BackfillError::Db(e),
        }
    }
}

/// Asks for a backfill of `channel_id` covering the last `days` days (picked up by [`run_jobs`]).
pub async fn request(
    ctx: &Context,
    team_id: &str,
    channel_id: &str,
    days: u32,
) -> Result<(), DbError> {
    let oldest = now() - i64::from(days) * 86_400;
    jobs::request(&ctx.db, team_id, channel_id, oldest).await?;
    info!(team_id, channel_id, days, "backfill requested");
    Ok(())
}

/// Runs due backfill jobs one at a time until `shutdown`.
pub async fn run_jobs(ctx: Arc<Context>, shutdown: CancellationToken) {
    loop {
        let ran = match jobs::claim(&ctx.db, &ctx.instance_id, LEASE_SECS, None).await {
            Ok(Some(job)) => {
                let span =
                    info_span!("backfill", team_id = %job.team_id, channel_id = %job.channel_id);
                let log = |p: &Progress| {
                    info!(phase = %p.phase, pages = p.pages, messages = p.messages, threads = p.threads,
                        "backfill progress");
                };
                let result = tokio::select! {
                    r = run_job(&ctx, job, &log).instrument(span) => Some(r),
                    _ = shutdown.cancelled() => None,
                };
                match result {
                    Some(Ok(report)) => {
                        info!(channel_id = %report.channel_id, messages = report.messages,
                        threads = report.threads, "backfill done")
                    }
                    Some(Err(e)) => warn!(error = %e, "backfill stopped"),
                    // Interrupted: the lease expires and the saved progress is resumed later.
                    None => return,
                }
                true
            }
            Ok(None) => false,
            Err(e) => {
                warn!(error = %e, "backfill queue unavailable");
                false
            }
        };
        if !ran {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
    }
}

/// Runs one claimed job to the end (or to a pause); the job row records the outcome. A rate limit
/// or an unreachable Slack postpones the job (`Ok` with what was done so far is not returned then:
/// the error is).
pub async fn run_job(
    ctx: &Context,
    mut job: Job,
    progress: &(dyn Fn(&Progress) + Send + Sync),
) -> Result<Progress, BackfillError> {
    match fetch(ctx, &mut job, progress).await {
        Ok(report) => {
            jobs::finish(&ctx.db, &job, None).await?;
            // One event for the whole window: agents rescan it instead of a flood of messages.
            bus::publish(
                ctx.db.pool(),
                &job.team_id,
                &DomainEvent::HistoryLoaded {
                    channel_id: job.channel_id.clone(),
                    oldest: job.oldest,
                    latest: now(),
                    messages: job.messages,
                },
            )
            .await?;
            Ok(report)
        }
        Err(e) => {
            match &e {
                BackfillError::Db(_) => {
                    // Leave the lease to expire: the job resumes from its saved progress.
                }
                e if e.is_transient() => {
                    // Slack's advised wait when it gave one, else a minute.
                    let wait = e.retry_after().map_or(60, |d| d.as_secs().max(1) as i64);
                    jobs::postpone(&ctx.db, &job, now() + wait, &e.to_string()).await?;
                }
                BackfillError::Slack(SlackError::AuthRevoked { code }) => {
                    directory::suspend(ctx, &job.team_id, code).await?;
                    jobs::finish(&ctx.db, &job, Some(&e.to_string())).await?;
                }
                _ => jobs::finish(&ctx.db, &job, Some(&e.to_string())).await?,
            }
            Err(e)
        }
    }
}

async fn fetch(
    ctx: &Context,
    job: &mut Job,
    progress: &(dyn Fn(&Progress) + Send + Sync),
) -> Result<Progress, BackfillError> {
    if directory::is_suspended(ctx, &job.team_id).await? {
        return Err(BackfillError::Suspended(job.team_id.clone()));
    }
    let token = ctx.bot_token(&job.team_id).await?;
    let session = ctx.slack.session(&token);
    let identity = directory::bot_identity(ctx, &job.team_id).await?;
    let options = Options {
        bot: identity.as_ref(),
        ingest_bot_messages: ctx.config.ingest_bot_messages,
    };
    let mut report = Progress {
        channel_id: job.channel_id.clone(),
        phase: job.phase.clone(),
        pages: 0,
        messages: job.messages,
        threads: job.threads,
    };
    let oldest = format!("{}.000000", job.oldest);

    if job.phase == "history" {
        loop {
            let page = web::history(
                &session,
                &job.channel_id,
                Some(&oldest),
                job.cursor.as_deref(),
                PAGE_LIMIT,
            )
            .await?;
            report.pages += 1;
            report.messages += store_page(ctx, job, &options, &page.items, None).await?;
            let finished = page.next_cursor.is_none() || page.next_cursor == job.cursor;
            job.cursor = page.next_cursor;
            job.messages = report.messages;
            if finished {
                job.phase = "replies".into();
                job.cursor = None;
            }
            jobs::save_progress(&ctx.db, job, &ctx.instance_id, LEASE_SECS).await?;
            report.phase = job.phase.clone();
            progress(&report);
            if finished {
                break;
            }
        }
    }

    let parents = jobs::thread_parents(
        &ctx.db,
        &job.team_id,
        &job.channel_id,
        job.oldest,
        job.last_thread_ts.as_deref(),
    )
    .await?;
    for parent in parents {
        let mut cursor: Option<String> = None;
        loop {
            let page = web::replies(
                &session,
                &job.channel_id,
                &parent,
                cursor.as_deref(),
                PAGE_LIMIT,
            )
            .await?;
            report.pages += 1;
            // Slack repeats the parent at the top of every page: it is stored already.
            report.messages += store_page(ctx, job, &options, &page.items, Some(&parent)).await?;
            if !web::advance(&mut cursor, page.next_cursor) {
                break;
            }
        }
        report.threads += 1;
        job.last_thread_ts = Some(parent);
        job.messages = report.messages;
        job.threads = report.threads;
        jobs::save_progress(&ctx.db, job, &ctx.instance_id, LEASE_SECS).await?;
        progress(&report);
    }
    Ok(report)
}

/// `chief backfill [--channel C] [--days N] [--team T]`: backfills now, in this process, with a
/// progress bar per channel.
pub async fn run_cli(
    config: crate::config::Config,
    channel: Option<String>,
    days: Option<u32>,
    team: Option<String>,
) -> anyhow::Result<()> {
    let db = crate::platform::db::Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let days = days.unwrap_or(config.backfill_days);
    let ctx = Context::new(config, db);
    let team_id = match team {
        Some(team) => team,
        None => {
            // Single-workspace mode: the token says which workspace it is.
            let token = ctx.bot_token("-").await?;
            web::auth_test(&ctx.slack.session(&token))
                .await?
                .team_id
                .ok_or_else(|| anyhow::anyhow!("auth.test gave no team id: pass --team"))?
        }
    };
    let channels = match channel {
        Some(channel) => vec![channel],
        None => bot_channels(&ctx, &team_id).await?,
    };
    if channels.is_empty() {
        println!("chief is in no channel of {team_id}: invite it first, or pass --channel");
    }
    for channel_id in channels {
        request(&ctx, &team_id, &channel_id, days).await?;
        let Some(job) = jobs::claim(
            &ctx.db,
            &ctx.instance_id,
            LEASE_SECS,
            Some((&team_id, &channel_id)),
        )
        .await?
        else {
            println!("{channel_id}: already being backfilled by another process");
            continue;
        };
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(format!("{channel_id}: starting"));
        bar.enable_steady_tick(Duration::from_millis(200));
        let show = |p: &Progress| {
            bar.set_message(format!(
                "{}: {} — {} pages, {} messages, {} threads",
                p.channel_id, p.phase, p.pages, p.messages, p.threads
            ));
        };
        let outcome = run_job(&ctx, job, &show).await;
        bar.finish_and_clear();
        match outcome {
            Ok(p) => println!(
                "{channel_id}: {} messages stored or refreshed, {} threads",
                p.messages, p.threads
            ),
            Err(e) => println!("{channel_id}: stopped ({e}); `chief serve` resumes it"),
        }
    }
    ctx.db.close().await;
    Ok(())
}

/// The channels to backfill: those the directory says chief is in, else Slack's list.
async fn bot_channels(ctx: &Context, team_id: &str) -> anyhow::Result<Vec<String>> {
    let known = crate::platform::db::directory::bot_channels(&ctx.db, team_id).await?;
    if !known.is_empty() {
        return Ok(known);
    }
    let token = ctx.bot_token(team_id).await?;
    let session = ctx.slack.session(&token);
    let mut channels = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = web::bot_conversations(&session, cursor.as_deref()).await?;
        for channel in page.items {
            crate::platform::db::directory::upsert_channel(ctx.db.pool(), team_id, &channel, now())
                .await?;
            crate::platform::db::directory::set_bot_member(
                ctx.db.pool(),
                team_id,
                &channel.channel_id,
                true,
            )
            .await?;
            channels.push(channel.channel_id);
        }
        if !web::advance(&mut cursor, page.next_cursor) {
            return Ok(channels);
        }
    }
}

/// Stores one page of messages; returns how many were new or changed. `parent` skips the thread
/// parent that `conversations.replies` repeats on each page.
async fn store_page(
    ctx: &Context,
    job: &Job,
    options: &Options<'_>,
    items: &[Value],
    parent: Option<&str>,
) -> Result<i64, BackfillError> {
    let items: Vec<&Value> = items
        .iter()
        .filter(|m| parent.is_none() || m.get("ts").and_then(Value::as_str) != parent)
        .collect();
    let mut refs = Refs::default();
    for m in &items {
        refs.extend(convert::message_refs(m));
    }
    let users: BTreeSet<String> = refs.users.clone();
    directory::ensure_users(ctx, &job.team_id, &users).await?;
    let names = directory::names(ctx, &job.team_id, &refs).await?;
    let mut stored = 0;
    let mut tx = ctx.db.begin_write().await.map_err(BackfillError::Db)?;
    for m in items {
        match convert::message_from_json(m, &job.channel_id, options, &names) {
            Ok(message) => {
                let outcome =
                    messages::upsert(&mut tx, &job.team_id, &message, Source::Backfill).await?;
                if matches!(outcome, Upserted::Inserted | Upserted::Updated) {
                    stored += 1;
                }
            }
            Err(skip) => tracing::debug!(%skip, "history message not stored"),
        }
    }
    tx.commit().await.map_err(DbError::from)?;
    Ok(stored)
}
