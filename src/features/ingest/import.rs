//! `chief import PATH`: loads a standard Slack export (a folder or its `.zip`) into the store.
//!
//! What is read: `users.json`; `channels.json` (public channels) and `groups.json` (private ones)
//! with their `members`; one folder per channel of `YYYY-MM-DD.json` day files. Direct messages
//! (`dms.json`, `mpims.json` and their folders) are skipped: chief never stores them. Each message
//! goes through the same reader as live events, so noise subtypes, bots (unless
//! `CHIEF_INGEST_BOT_MESSAGES`) and chief's own messages are skipped the same way, and each skip
//! is counted by reason in the summary.
//!
//! Importing is idempotent: messages are keyed by (team, channel, ts), so importing twice, or two
//! overlapping exports, stores each message once. Channels are matched by id, never by folder
//! name, so a channel renamed between two exports is one channel; names and member lists carry the
//! export's date (its last day file) and the newest wins, whatever the import order.
//!
//! Slack lists archived channels with `members: []`. Taken literally, nobody could see them, and
//! what was asked there (houston's #sponsors: "reach out to the nice people at Continuum") would
//! reach no one. For a listed channel with no members the importer takes as members everyone who
//! posted in it (joins included) or was mentioned there ([`inferred_members`]): those are the people
//! who were in the conversation, which is what membership stands for when the list is missing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use serde_json::Value;
use tracing::info;

use crate::model::events::{Channel, DomainEvent, User};
use crate::platform::bus;
use crate::platform::db::messages::{self, Source, Upserted};
use crate::platform::db::{Db, DbError, directory, teams};
use crate::slack::convert::{self, BotIdentity, Options};
use crate::slack::markup::NameMap;

/// The team id used when neither `--team` nor the export says one.
pub const DEFAULT_TEAM: &str = "T0IMPORT";

#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// The workspace to import into; default: the export's own team id, else [`DEFAULT_TEAM`].
    pub team_id: Option<String>,
    /// Store other bots' messages too.
    pub ingest_bot_messages: bool,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub team_id: String,
    /// Channels in the export that were imported (public and private).
    pub channels: usize,
    pub users: usize,
    /// Messages of the export that are stored (new, updated or already there).
    pub messages: i64,
    /// Of those, how many were not stored before.
    pub new_messages: i64,
    /// Of those, how many changed a stored message (an edit).
    pub updated_messages: i64,
    /// Threads with at least one reply in the export.
    pub threads: usize,
    /// Messages not stored, by reason.
    pub skipped: BTreeMap<String, i64>,
    /// Day files read.
    pub files: usize,
    /// Date of the export's newest day (epoch seconds of the next midnight, UTC).
    pub as_of: i64,
    /// Stored messages older than `older_than_cutoff` (given by the caller: the retention cutoff).
    pub older_than_cutoff: i64,
}

impl ImportSummary {
    pub fn skipped_total(&self) -> i64 {
        self.skipped.values().sum()
    }
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "team:      {}", self.team_id)?;
        writeln!(f, "channels:  {}", self.channels)?;
        writeln!(f, "users:     {}", self.users)?;
        writeln!(
            f,
            "messages:  {} ({} new, {} updated, {} already stored)",
            self.messages,
            self.new_messages,
            self.updated_messages,
            self.messages - self.new_messages - self.updated_messages
        )?;
        writeln!(f, "threads:   {}", self.threads)?;
        write!(f, "skipped:   {}", self.skipped_total())?;
        for (reason, n) in &self.skipped {
            write!(f, "\n  {n:>6}  {reason}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path} is not valid JSON: {reason}")]
    Json { path: String, reason: String },
    #[error("{0} is not a Slack export: no channels.json found")]
    NotAnExport(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A folder or a zip, read by relative path (`general/2021-01-04.json`).
enum Export {
    Dir(PathBuf),
    Zip(Box<zip::ZipArchive<std::fs::File>>),
}

impl Export {
    fn open(path: &Path) -> Result<(Export, Vec<String>), ImportError> {
        let read_err = |e: &dyn fmt::Display| ImportError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        if path.is_dir() {
            let mut files = Vec::new();
            collect_files(path, path, &mut files).map_err(|e| read_err(&e))?;
            files.sort();
            Ok((Export::Dir(path.to_path_buf()), files))
        } else {
            let file = std::fs::File::open(path).map_err(|e| read_err(&e))?;
            let archive = zip::ZipArchive::new(file).map_err(|e| read_err(&e))?;
            let mut files: Vec<String> = archive
                .file_names()
                .filter(|n| !n.ends_with('/'))
                .map(str::to_string)
                .collect();
            files.sort();
            Ok((Export::Zip(Box::new(archive)), files))
        }
    }

    fn read(&mut self, name: &str) -> Result<Vec<u8>, ImportError> {
        let err = |e: &dyn fmt::Display| ImportError::Read {
            path: name.to_string(),
            reason: e.to_string(),
        };
        match self {
            Export::Dir(root) => std::fs::read(root.join(name)).map_err(|e| err(&e)),
            Export::Zip(archive) => {
                let mut entry = archive.by_name(name).map_err(|e| err(&e))?;
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).map_err(|e| err(&e))?;
                Ok(bytes)
            }
        }
    }

    fn json(&mut self, name: &str) -> Result<Value, ImportError> {
        let bytes = self.read(name)?;
        serde_json::from_slice(&bytes).map_err(|e| ImportError::Json {
            path: name.to_string(),
            reason: e.to_string(),
        })
    }
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

/// `YYYY-MM-DD.json` → the epoch second at the end of that day (UTC).
fn day_end(file_name: &str) -> Option<i64> {
    let date = file_name.strip_suffix(".json")?;
    let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(day.succ_opt()?.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
}

/// One conversation listed by the export.
struct Listed {
    channel: Channel,
    members: Vec<String>,
    /// The folder its day files are in (the channel name at export time).
    folder: String,
}

fn listed(value: &Value, private: bool) -> Vec<Listed> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let (mut channel, _) = convert::channel_from_json(c)?;
            channel.is_private |= private;
            let folder = channel
                .name
                .clone()
                .unwrap_or_else(|| channel.channel_id.clone());
            let members = convert::strings_at(c, &["members"]);
            Some(Listed {
                channel,
                members,
                folder,
            })
        })
        .collect()
}

/// The people of a day file's messages: every author (a join or a leave is posting too) and every
/// user mentioned (`<@U…>`, `<@U…|name>`). Bots and Slackbot are not people.
fn inferred_members(items: &[Value]) -> BTreeSet<String> {
    static MENTION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>").expect("static regex")
    });
    let mut out = BTreeSet::new();
    for item in items {
        let is_bot = item
            .get("bot_id")
            .and_then(Value::as_str)
            .is_some_and(|b| !b.is_empty());
        if let Some(user) = item.get("user").and_then(Value::as_str)
            && !is_bot
            && user != "USLACKBOT"
            && !user.is_empty()
        {
            out.insert(user.to_string());
        }
        if let Some(text) = item.get("text").and_then(Value::as_str) {
            out.extend(MENTION.captures_iter(text).map(|c| c[1].to_string()));
        }
    }
    out
}

/// Imports the export at `path` into `db`. `cutoff` (epoch seconds) only feeds
/// [`ImportSummary::older_than_cutoff`] (pass the retention cutoff to warn about it).
pub async fn import_path(
    db: &Db,
    path: &Path,
    options: &ImportOptions,
    cutoff: i64,
    progress: &ProgressBar,
) -> Result<ImportSummary, ImportError> {
    let (mut export, files) = Export::open(path)?;
    // The export may sit in a folder of the zip: its root is where channels.json is.
    let root = files
        .iter()
        .filter(|f| f.rsplit('/').next() == Some("channels.json"))
        .min_by_key(|f| f.matches('/').count())
        .map(|f| f.trim_end_matches("channels.json").to_string())
        .ok_or_else(|| ImportError::NotAnExport(path.display().to_string()))?;
    let has = |name: &str| files.contains(&format!("{root}{name}"));

    let users_json = if has("users.json") {
        export.json(&format!("{root}users.json"))?
    } else {
        Value::Array(vec![])
    };
    let users: Vec<User> = users_json
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(convert::user_from_json)
        .collect();
    let export_team = users_json
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|u| {
            u.get("team_id")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
        })
        .map(str::to_string);
    let team_id = options
        .team_id
        .clone()
        .or(export_team)
        .unwrap_or_else(|| DEFAULT_TEAM.to_string());

    let mut conversations = listed(&export.json(&format!("{root}channels.json"))?, false);
    if has("groups.json") {
        conversations.extend(listed(&export.json(&format!("{root}groups.json"))?, true));
    }
    // Direct-message folders: named by id (dms.json) or by name (mpims.json).
    let mut direct_folders = BTreeSet::new();
    for name in ["dms.json", "mpims.json"] {
        if has(name) {
            for d in export
                .json(&format!("{root}{name}"))?
                .as_array()
                .into_iter()
                .flatten()
            {
                for key in ["id", "name"] {
                    if let Some(v) = d.get(key).and_then(Value::as_str) {
                        direct_folders.insert(v.to_string());
                    }
                }
            }
        }
    }
    let by_folder: HashMap<&str, &Listed> = conversations
        .iter()
        .map(|l| (l.folder.as_str(), l))
        .collect();

    // Day files, grouped by folder; the export's date is its newest day.
    let mut days: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &files {
        let Some(rel) = f.strip_prefix(&root) else {
            continue;
        };
        if let Some((folder, file)) = rel.split_once('/')
            && !file.contains('/')
            && day_end(file).is_some()
        {
            days.entry(folder.to_string()).or_default().push(f.clone());
        }
    }
    let as_of = days
        .values()
        .flatten()
        .filter_map(|f| day_end(f.rsplit('/').next().unwrap_or("")))
        .max()
        .unwrap_or(0);

    let mut summary = ImportSummary {
        team_id: team_id.clone(),
        channels: conversations.len(),
        users: users.len(),
        as_of,
        ..ImportSummary::default()
    };

    // The directory first, so messages resolve names and visibility at once.
    let mut tx = db.begin_write().await?;
    for user in &users {
        directory::upsert_user(&mut *tx, &team_id, user, as_of).await?;
    }
    for l in &conversations {
        directory::upsert_channel(&mut *tx, &team_id, &l.channel, as_of).await?;
        directory::replace_members(&mut tx, &team_id, &l.channel.channel_id, &l.members, as_of)
            .await?;
    }
    tx.commit().await.map_err(DbError::from)?;

    let mut names = NameMap::default();
    for user in &users {
        if let Some(name) = user.shown_name() {
            names.users.insert(user.user_id.clone(), name.to_string());
        }
    }
    for l in &conversations {
        if let Some(name) = &l.channel.name {
            names
                .channels
                .insert(l.channel.channel_id.clone(), name.clone());
        }
    }
    // Names of the workspace's other channels, known from earlier imports or events.
    for row in directory::list_channels(db, &team_id).await? {
        if let Some(name) = row.channel.name {
            names.channels.entry(row.channel.channel_id).or_insert(name);
        }
    }
    let identity = teams::get(db, &team_id).await?.map(|t| BotIdentity {
        user_id: t.bot_user_id,
        bot_id: t.bot_id,
    });
    let convert_options = Options {
        bot: identity.as_ref(),
        ingest_bot_messages: options.ingest_bot_messages,
    };

    progress.set_length(days.values().map(Vec::len).sum::<usize>() as u64);
    // Channels listed with no members (archived ones): their members, inferred from the files.
    let mut inferred: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut threads: BTreeSet<(String, String)> = BTreeSet::new();
    for (folder, day_files) in &days {
        let target = by_folder.get(folder.as_str()).copied();
        let mut channel_new = 0;
        let mut channel_oldest = i64::MAX;
        let mut channel_latest = 0;
        for file in day_files {
            progress.set_message(folder.clone());
            let value = export.json(file)?;
            let items = value.as_array().cloned().unwrap_or_default();
            summary.files += 1;
            let Some(listed) = target else {
                let reason = if direct_folders.contains(folder) {
                    "direct messages".to_string()
                } else {
                    format!("folder {folder} not in channels.json/groups.json")
                };
                *summary.skipped.entry(reason).or_default() += items.len() as i64;
                progress.inc(1);
                continue;
            };
            let channel_id = &listed.channel.channel_id;
            if listed.members.is_empty() {
                inferred
                    .entry(channel_id.clone())
                    .or_default()
                    .extend(inferred_members(&items));
            }
            let mut tx = db.begin_write().await?;
            for item in &items {
                match convert::message_from_json(item, channel_id, &convert_options, &names) {
                    Ok(m) => {
                        summary.messages += 1;
                        if m.posted_at < cutoff {
                            summary.older_than_cutoff += 1;
                        }
                        if m.is_reply()
                            && let Some(parent) = &m.thread_ts
                        {
                            threads.insert((channel_id.clone(), parent.clone()));
                        }
                        channel_oldest = channel_oldest.min(m.posted_at);
                        channel_latest = channel_latest.max(m.posted_at);
                        match messages::upsert(&mut tx, &team_id, &m, Source::Import).await? {
                            Upserted::Inserted => {
                                summary.new_messages += 1;
                                channel_new += 1;
                            }
                            Upserted::Updated => summary.updated_messages += 1,
                            Upserted::Unchanged => {}
                            Upserted::Removed => {
                                summary.messages -= 1;
                                *summary
                                    .skipped
                                    .entry("deleted or expired in the store".into())
                                    .or_default() += 1;
                            }
                        }
                    }
                    Err(skip) => *summary.skipped.entry(skip.to_string()).or_default() += 1,
                }
            }
            tx.commit().await.map_err(DbError::from)?;
            progress.inc(1);
        }
        if let Some(listed) = target
            && channel_new > 0
        {
            bus::publish(
                db.pool(),
                &team_id,
                &DomainEvent::HistoryLoaded {
                    channel_id: listed.channel.channel_id.clone(),
                    oldest: channel_oldest,
                    latest: channel_latest,
                    messages: channel_new,
                },
            )
            .await?;
        }
    }
    if !inferred.is_empty() {
        let mut tx = db.begin_write().await?;
        for (channel_id, members) in &inferred {
            let members: Vec<String> = members.iter().cloned().collect();
            directory::replace_members(&mut tx, &team_id, channel_id, &members, as_of).await?;
        }
        tx.commit().await.map_err(DbError::from)?;
    }
    summary.threads = threads.len();
    progress.finish_and_clear();
    info!(team_id = %summary.team_id, channels = summary.channels, messages = summary.messages,
        new = summary.new_messages, skipped = summary.skipped_total(), "import done");
    Ok(summary)
}

/// `chief import PATH [--team T]`: imports with a progress bar and prints the summary.
pub async fn run_cli(
    config: crate::config::Config,
    path: &Path,
    team: Option<String>,
) -> anyhow::Result<()> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let bar = ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} day files  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let cutoff =
        crate::features::retention::cutoff(config.retention_days, crate::platform::db::now())
            .unwrap_or(0);
    let options = ImportOptions {
        team_id: team,
        ingest_bot_messages: config.ingest_bot_messages,
    };
    let summary = import_path(&db, path, &options, cutoff, &bar).await?;
    println!("{summary}");
    if summary.older_than_cutoff > 0 {
        println!(
            "note: {} of these messages are older than the retention period ({} days) and will be \
             purged by the next retention pass of `chief serve` (CHIEF_RETENTION_DAYS=0 keeps them)",
            summary.older_than_cutoff, config.retention_days
        );
    }
    db.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// houston's #sponsors is archived and listed with `members: []`; on 9 June 2015 Micah asks
    /// the reader (U061A5N1G) to reach out to Continuum there. Both are members by the files.
    #[test]
    fn an_archived_channel_without_members_takes_its_posters_and_mentioned_people() {
        let path = crate::ai::tasks::types::testkit::exports_dir()
            .join("houston/sponsors/2015-06-09.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            panic!("fixture missing: {path:?}");
        };
        let items: Vec<Value> = serde_json::from_str(&text).expect("a day file is a JSON array");
        let members = inferred_members(&items);
        assert_eq!(
            members.into_iter().collect::<Vec<_>>(),
            ["U061A1R2R", "U061A5N1G"]
        );
        let mentioned_only = serde_json::json!([{"user": "U1", "text": "<@U2|ann>: and <@U3> too"},
            {"user": "USLACKBOT", "text": "reminder"}, {"bot_id": "B1", "user": "U9", "text": "x"}]);
        let members = inferred_members(mentioned_only.as_array().expect("array"));
        assert_eq!(members.into_iter().collect::<Vec<_>>(), ["U1", "U2", "U3"]);
    }

    #[test]
    fn day_files_date_the_export() {
        assert_eq!(day_end("2021-03-13.json"), Some(1615680000));
        assert_eq!(day_end("channels.json"), None);
    }
}
