//! The running service: built from a [`Config`], bound to a port, run until stopped. `main` and the
//! tests build exactly the same thing.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::config::Config;
use crate::context::Context;
use crate::db::Db;
use crate::http::{self, AppState};
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
            clock: crate::db::now,
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
        let registry = Arc::new(crate::jobs::registry()?);
        let worker = tokio::spawn(crate::worker::run(ctx.clone(), shutdown.clone()));
        let jobs = tokio::spawn(crate::jobs::worker::run(
            ctx.clone(),
            registry,
            shutdown.clone(),
        ));
        // Clicks' explanations get workers of their own (see `explain::ExplainClick`).
        let interactive = tokio::spawn(crate::jobs::worker::run_with(
            ctx.clone(),
            Arc::new(crate::jobs::interactive_registry()?),
            crate::jobs::worker::WorkerOptions::interactive(),
            shutdown.clone(),
        ));
        let background = [
            tokio::spawn(crate::retention::run(ctx.clone(), shutdown.clone())),
            tokio::spawn(crate::backfill::run_jobs(ctx.clone(), shutdown.clone())),
            tokio::spawn(crate::propositions::run(ctx.clone(), shutdown.clone())),
            tokio::spawn(crate::briefing::run(ctx.clone(), shutdown.clone())),
        ];
        let socket = ctx.config.app_token.clone().map(|token| {
            let ctx = ctx.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                if let Err(e) = crate::slack::socket::run(ctx, &token, shutdown).await {
                    error!(error = %e, "Socket Mode stopped");
                }
            })
        });
        let addr = self.local_addr();
        let app = http::router(AppState {
            ctx: ctx.clone(),
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
