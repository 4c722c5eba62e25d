//! What every feature stands on, and which knows nothing of Slack or of models: storage (`db`),
//! the job queue (`jobs`), durable runs (`runs`), the internal event bus (`bus`), retry policy
//! (`retry`) and secrets at rest (`secrets`).

pub mod bus;
pub mod db;
pub mod jobs;
pub mod retry;
pub mod runs;
pub mod secrets;

use db::Db;

/// What the platform's long-running loops (job workers, bus subscribers) need of the context they
/// are run with: its store, and the id that marks this process's leases. The composition root's
/// context implements it and is handed back, whole, to the jobs and subscribers it runs — so the
/// platform never names a type of the layers above it.
pub trait Host: Send + Sync + 'static {
    fn db(&self) -> &Db;
    /// Identifies this process in leases, so a replica only renews what it holds.
    fn instance_id(&self) -> &str;
}

impl<T: Host + ?Sized> Host for std::sync::Arc<T> {
    fn db(&self) -> &Db {
        (**self).db()
    }
    fn instance_id(&self) -> &str {
        (**self).instance_id()
    }
}

/// A [`Host`] that is a database and nothing else: for tools and tests that run the platform's
/// loops without the rest of chief.
pub struct Standalone {
    pub db: Db,
    pub instance_id: String,
}

impl Standalone {
    pub fn new(db: Db) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Standalone {
            db,
            instance_id: uuid::Uuid::new_v4().to_string(),
        })
    }
}

impl Host for Standalone {
    fn db(&self) -> &Db {
        &self.db
    }
    fn instance_id(&self) -> &str {
        &self.instance_id
    }
}
