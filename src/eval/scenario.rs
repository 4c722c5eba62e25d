//! Scenarios and their gold, as written by hand in `eval/scenarios/*.toml` (format: `eval/README.md`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What a scenario asks chief to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Briefing,
    Explain,
}

/// One gold item: a fact, a request or commitment, or something that must not appear.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// The item as a sentence, for people reading the suite and its reports.
    #[serde(default)]
    pub what: String,
    /// Alternatives; one matches when all of its terms occur in one story.
    #[serde(default)]
    pub any: Vec<Vec<String>>,
    /// `channel/ts` of messages that state it; when given, the matching story must cite one.
    #[serde(default)]
    pub cites: Vec<String>,
    /// `must_not` only: channels that must never be cited.
    #[serde(default)]
    pub channels: Vec<String>,
}

impl Item {
    /// The cited messages as `(channel, ts)`.
    pub fn cited(&self) -> Vec<(&str, &str)> {
        self.cites
            .iter()
            .filter_map(|c| c.split_once('/'))
            .collect()
    }
}

/// A workspace, a reader, and what a careful reader says chief must write for them.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub id: String,
    pub kind: Kind,
    #[serde(default)]
    pub covers: Vec<String>,
    /// `houston`, `racket/export-…` (a real export) or `synthetic/<name>` (`eval/workspaces/`).
    pub workspace: String,
    pub reader: String,
    /// Briefing: the reader's local day.
    #[serde(default)]
    pub date: Option<chrono::NaiveDate>,
    /// Explain: the clicked message.
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub ts: Option<String>,
    /// Briefing: nothing that day needs the reader.
    #[serde(default)]
    pub quiet: bool,
    #[serde(default)]
    pub facts: Vec<Item>,
    #[serde(default)]
    pub reader_items: Vec<Item>,
    #[serde(default)]
    pub must_not: Vec<Item>,
}

/// Why the suite could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

impl Scenario {
    /// Where the scenario's export lies: real exports under `fixtures`, synthetic ones under
    /// `suite/workspaces`.
    pub fn export_path(&self, suite: &Path, fixtures: &Path) -> PathBuf {
        match self.workspace.strip_prefix("synthetic/") {
            Some(name) => suite.join("workspaces").join(name),
            None => fixtures.join("slack-exports").join(&self.workspace),
        }
    }

    fn check(&self, path: &Path) -> Result<(), ScenarioError> {
        let invalid = |reason: &str| ScenarioError::Invalid {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        match self.kind {
            Kind::Briefing if self.date.is_none() => {
                return Err(invalid("a briefing needs `date`"));
            }
            Kind::Explain if self.channel.is_none() || self.ts.is_none() => {
                return Err(invalid("an explanation needs `channel` and `ts`"));
            }
            _ => {}
        }
        let items = self.facts.iter().chain(&self.reader_items);
        for item in items {
            if item.any.is_empty() || item.any.iter().any(Vec::is_empty) {
                return Err(invalid(&format!("`{}` has no terms to match", item.what)));
            }
            if item.cited().len() != item.cites.len() {
                return Err(invalid(&format!(
                    "`{}`: cites are written `channel/ts`",
                    item.what
                )));
            }
        }
        Ok(())
    }
}

/// Every scenario of `dir/scenarios`, sorted by id; `only` keeps those whose id contains it.
pub fn load(dir: &Path, only: Option<&str>) -> Result<Vec<Scenario>, ScenarioError> {
    let folder = dir.join("scenarios");
    let read_err = |path: &Path, source| ScenarioError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut scenarios = Vec::new();
    for entry in std::fs::read_dir(&folder).map_err(|e| read_err(&folder, e))? {
        let path = entry.map_err(|e| read_err(&folder, e))?.path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| read_err(&path, e))?;
        let scenario: Scenario = toml::from_str(&text).map_err(|e| ScenarioError::Parse {
            path: path.clone(),
            source: Box::new(e),
        })?;
        scenario.check(&path)?;
        if only.is_none_or(|o| scenario.id.contains(o)) {
            scenarios.push(scenario);
        }
    }
    scenarios.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(scenarios)
}
