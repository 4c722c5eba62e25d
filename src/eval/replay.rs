//! `--engine replay`: a capable model's answers, written by hand and stored in `eval/replay/`, served
//! over real HTTP by the local OpenAI-compatible server, so CI measures the whole pipeline with a
//! good model and no network.
//!
//! An answer is filed as `replay/<task>/<input-key>.json` — the task chief names in `x-chief-task`
//! and the hash of the task's input it sends in `x-chief-input` — so rewording a prompt keeps the
//! answers, while a change to what a task is given (another segmentation, another story) asks a
//! new question, which has no answer until someone writes one. Such a question gets HTTP 503: chief
//! falls back as it would on an outage, and the miss is counted (and, with `--pending`, the prompt
//! is written out to be answered).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::testkit::model_server::{LocalLlm, Reply, SeenRequest};

/// One stored answer.
#[derive(Debug, Deserialize, Serialize)]
pub struct StoredAnswer {
    pub task: String,
    /// Who wrote it and anything worth knowing about it.
    #[serde(default)]
    pub note: String,
    /// The task's output, as the model would return it.
    pub answer: Value,
}

/// The replay server and what it saw.
pub struct Replay {
    pub server: LocalLlm,
    misses: Arc<AtomicUsize>,
    answered: Arc<AtomicUsize>,
    scenario: Arc<Mutex<String>>,
}

impl Replay {
    /// Serves the answers under `dir`; unanswered prompts are written under `pending` when set.
    pub async fn start(dir: &Path, pending: Option<PathBuf>) -> std::io::Result<Self> {
        let misses = Arc::new(AtomicUsize::new(0));
        let answered = Arc::new(AtomicUsize::new(0));
        let scenario = Arc::new(Mutex::new(String::new()));
        let (dir, m, a, s) = (
            dir.to_path_buf(),
            misses.clone(),
            answered.clone(),
            scenario.clone(),
        );
        let server = LocalLlm::builder()
            .model("replay")
            .responder(move |seen| match lookup(&dir, seen) {
                Some(answer) => {
                    a.fetch_add(1, Ordering::SeqCst);
                    Reply::json(answer)
                }
                None => {
                    m.fetch_add(1, Ordering::SeqCst);
                    if let Some(pending) = &pending {
                        let scenario = s.lock().map(|g| g.clone()).unwrap_or_default();
                        write_pending(pending, &scenario, seen);
                    }
                    Reply::status(503)
                }
            })
            .start()
            .await?;
        Ok(Replay {
            server,
            misses,
            answered,
            scenario,
        })
    }

    /// Names the scenario now running (for pending prompts) and resets the counters.
    pub fn begin(&self, scenario: &str) {
        if let Ok(mut s) = self.scenario.lock() {
            *s = scenario.to_string();
        }
        self.misses.store(0, Ordering::SeqCst);
        self.answered.store(0, Ordering::SeqCst);
    }

    /// `(answered, missed)` since [`Replay::begin`].
    pub fn counts(&self) -> (usize, usize) {
        (
            self.answered.load(Ordering::SeqCst),
            self.misses.load(Ordering::SeqCst),
        )
    }
}

fn file_of(dir: &Path, task: &str, key: &str) -> Option<PathBuf> {
    // Both come from chief's own headers, but a path is built from them: keep them plain.
    let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (plain(task) && plain(key)).then(|| dir.join(task).join(format!("{key}.json")))
}

fn lookup(dir: &Path, seen: &SeenRequest) -> Option<Value> {
    let path = file_of(dir, seen.task.as_deref()?, seen.input_key.as_deref()?)?;
    let text = std::fs::read_to_string(path).ok()?;
    let stored: StoredAnswer = serde_json::from_str(&text).ok()?;
    Some(stored.answer)
}

/// The prompt a replay could not answer, for someone to answer by hand.
fn write_pending(pending: &Path, scenario: &str, seen: &SeenRequest) {
    let (Some(task), Some(key)) = (seen.task.as_deref(), seen.input_key.as_deref()) else {
        return;
    };
    let Some(path) = file_of(pending, task, key) else {
        return;
    };
    let record = json!({
        "task": task,
        "input_key": key,
        "scenario": scenario,
        "messages": seen.messages,
        "schema": seen.schema(),
    });
    if let Some(parent) = path.parent()
        && std::fs::create_dir_all(parent).is_ok()
        && let Ok(text) = serde_json::to_string_pretty(&record)
    {
        let _ = std::fs::write(path, text);
    }
}
