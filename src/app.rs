//! The running service: built from a [`Config`], bound to a port, run until stopped. `main` and the
//! tests build exactly the same thing.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::config::Config;
use crate::features::Context;
use crate::http::{self, AppState};
use crate::inbox::intake::Intake;
use crate::platform::db::Db;
use crate::platform::jobs::{DuplicateJob, DynJob, Registry};
use crate::slack::signature::Verifier;

pub struct Application {
    listener: TcpListener,
    ctx: Arc<Context>,
    verifier: Verifier,
    clock: fn() -> i64,
}

impl Application {
    /// Connects and migrates the database and binds the listener; fails with a clear error when a
    /// required setting is missing.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let verifier = Verifier::new(config.require_signing_secret()?.clone());
        config.token_cipher()?;
        if config.oauth_enabled() && config.secret_key.is_none() {
            anyhow::bail!(crate::config::ConfigError::Missing("CHIEF_SECRET_KEY"));
        }
        let db = Db::connect(&config.database_url).await?;
        db.migrate().await?;
        let listener = TcpListener::bind(config.listen).await.map_err(|e| {
            anyhow::anyhow!("cannot listen on {} (CHIEF_LISTEN): {e}", config.listen)
        })?;
        Ok(Application {
            listener,
            ctx: Context::new(config, db),
            verifier,
            clock: crate::platform::db::now,
        })
    }

    /// Replaces the clock used for the signature replay window (tests of old, real payloads).
    pub fn with_clock(mut self, clock: fn() -> i64) -> Self {
        self.clock = clock;
        self
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.ctx.config.listen)
    }

    pub fn context(&self) -> Arc<Context> {
        self.ctx.clone()
    }

    /// Serves HTTP, drains the inbox, runs queued jobs and (with an app token) listens over Socket
    /// Mode, until `shutdown` is cancelled.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let ctx = self.ctx.clone();
        let registry = Arc::new(registry()?);
        let intake = Arc::new(Intake::new(&ctx));
        let worker = tokio::spawn(crate::inbox::worker::run(ctx.clone(), shutdown.clone()));
        // Jobs and agents (briefings, explanations, propositions) run on threads of their own:
        // their work is CPU-heavy, and on the edge's threads it would delay acks and the modals
        // clicks wait for (the OS shares the cores between the two pools instead).
        let pool = BackgroundPool::start()?;
        let bg = pool.handle();
        // Leases a previous process left are released once, before either job worker claims
        // anything (a release after a claim would hand that job out twice).
        crate::platform::jobs::worker::release_stale_leases(&ctx).await;
        let jobs = bg.spawn(crate::platform::jobs::worker::run_with(
            ctx.clone(),
            registry,
            crate::platform::jobs::worker::WorkerOptions {
                release_stale_leases: false,
                ..Default::default()
            },
            shutdown.clone(),
        ));
        // Clicks' explanations get workers of their own (see `explain::ExplainClick`).
        let interactive = bg.spawn(crate::platform::jobs::worker::run_with(
            ctx.clone(),
            Arc::new(interactive_registry()?),
            crate::platform::jobs::worker::WorkerOptions::interactive(),
            shutdown.clone(),
        ));
        let background = [
            bg.spawn(crate::features::retention::run(
                ctx.clone(),
                shutdown.clone(),
            )),
            bg.spawn(crate::features::ingest::backfill::run_jobs(
                ctx.clone(),
                shutdown.clone(),
            )),
            bg.spawn(crate::features::propositions::run(
                ctx.clone(),
                shutdown.clone(),
            )),
            bg.spawn(crate::features::org::run(ctx.clone(), shutdown.clone())),
            bg.spawn(crate::features::briefing::run(
                ctx.clone(),
                shutdown.clone(),
            )),
        ];
        let socket = ctx.config.app_token.clone().map(|token| {
            let (client, intake) = (ctx.slack.client(), intake.clone());
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                if let Err(e) = crate::slack::socket::run(client, intake, &token, shutdown).await {
                    error!(error = %e, "Socket Mode stopped");
                }
            })
        });
        let addr = self.local_addr();
        let app = http::router(AppState {
            ctx: ctx.clone(),
            intake,
            verifier: self.verifier,
            clock: self.clock,
        });
        info!(%addr, backend = ?ctx.db.backend(), "chief is listening");
        let stop = shutdown.clone();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await?;
        shutdown.cancel();
        let _ = worker.await;
        let _ = jobs.await;
        let _ = interactive.await;
        for task in background {
            let _ = task.await;
        }
        if let Some(socket) = socket {
            let _ = socket.await;
        }
        drop(pool);
        ctx.db.close().await;
        Ok(())
    }

    /// Runs until SIGINT or SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let shutdown = CancellationToken::new();
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            info!("shutting down");
            trigger.cancel();
        });
        self.run_until(shutdown).await
    }
}

/// Every job chief runs. A feature with a job adds it here.
pub fn default_jobs() -> Vec<Arc<dyn DynJob<Context>>> {
    vec![
        Arc::new(crate::features::briefing::schedule::PrepareBriefing),
        Arc::new(crate::features::briefing::schedule::DeliverBriefing),
        Arc::new(crate::features::explain::ExplainClick),
    ]
}

/// The jobs someone is waiting for (click-to-context), run by a worker of their own so that a
/// queue of briefings never stands between a click and its explanation.
pub fn interactive_registry() -> Result<Registry<Context>, DuplicateJob> {
    Registry::from_jobs(vec![Arc::new(crate::features::explain::ExplainClick)])
}

/// The registry `chief serve` runs with.
pub fn registry() -> Result<Registry<Context>, DuplicateJob> {
    Registry::from_jobs(default_jobs())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The runtime jobs and agents run on, beside the one serving HTTP and the inbox.
struct BackgroundPool(Option<tokio::runtime::Runtime>);

impl BackgroundPool {
    fn start() -> anyhow::Result<Self> {
        let threads = std::thread::available_parallelism().map_or(2, usize::from);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("chief-background")
            .enable_all()
            .build()
            .map_err(|e| anyhow::anyhow!("cannot start the background threads: {e}"))?;
        Ok(BackgroundPool(Some(runtime)))
    }

    fn handle(&self) -> tokio::runtime::Handle {
        match &self.0 {
            Some(runtime) => runtime.handle().clone(),
            None => tokio::runtime::Handle::current(),
        }
    }
}

impl Drop for BackgroundPool {
    /// Its tasks have been stopped and awaited by then; a runtime cannot be dropped from inside
    /// another one (a test's, or `main`'s) any other way.
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn job_names_are_unique() {
        let jobs = default_jobs();
        let names: HashSet<_> = jobs.iter().map(|j| j.name()).collect();
        assert_eq!(names.len(), jobs.len(), "two jobs share a name");
        assert!(registry().is_ok());
        assert!(interactive_registry().is_ok());
    }
}
