//! Importing real Slack exports: every message the files hold is stored once (minus documented
//! skips), a second import adds nothing, and a channel renamed between two exports is one channel.

#[macro_use]
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chief::features::ingest::import::{ImportOptions, ImportSummary, import_path};
use chief::platform::db::{Db, directory, messages};
use chief::testkit::scratch::ScratchDb;
use indicatif::ProgressBar;
use serde_json::Value;

fn exports() -> PathBuf {
    common::fixtures().join("slack-exports")
}

fn racket_1() -> PathBuf {
    exports().join("racket/export-2020-12-07-to-2021-03-14")
}
fn racket_2() -> PathBuf {
    exports().join("racket/export-2021-03-14-to-2021-06-07")
}
fn houston() -> PathBuf {
    exports().join("houston")
}

/// What the files say should be stored, computed from the JSON itself with the documented rule:
/// only conversation (no subtype, or thread_broadcast, file_share, file_comment, me_message), no
/// bot messages, only folders listed in channels.json/groups.json.
#[derive(Debug, Default)]
struct Expected {
    total: i64,
    kept: i64,
    threads: usize,
    channels: usize,
    users: usize,
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn expected(root: &Path) -> Expected {
    const CONTENT: [&str; 5] = [
        "thread_broadcast",
        "file_share",
        "file_comment",
        "me_message",
        "reply_broadcast",
    ];
    let mut e = Expected::default();
    let mut folders = Vec::new();
    for list in ["channels.json", "groups.json"] {
        if root.join(list).exists() {
            for c in read(&root.join(list)).as_array().unwrap() {
                folders.push(c["name"].as_str().unwrap().to_string());
            }
        }
    }
    e.channels = folders.len();
    e.users = read(&root.join("users.json")).as_array().unwrap().len();
    let mut threads = BTreeSet::new();
    for entry in std::fs::read_dir(root).unwrap().flatten() {
        if !entry.path().is_dir() {
            continue;
        }
        let folder = entry.file_name().to_string_lossy().into_owned();
        for day in std::fs::read_dir(entry.path()).unwrap().flatten() {
            for m in read(&day.path()).as_array().unwrap() {
                e.total += 1;
                let subtype = m.get("subtype").and_then(Value::as_str);
                let is_content = subtype.is_none_or(|s| CONTENT.contains(&s));
                let is_bot = m
                    .get("bot_id")
                    .and_then(Value::as_str)
                    .is_some_and(|b| !b.is_empty())
                    || m.get("user").and_then(Value::as_str) == Some("USLACKBOT");
                if is_content && !is_bot && folders.contains(&folder) {
                    e.kept += 1;
                    let ts = m["ts"].as_str().unwrap();
                    if let Some(parent) = m.get("thread_ts").and_then(Value::as_str)
                        && parent != ts
                    {
                        threads.insert((folder.clone(), parent.to_string()));
                    }
                }
            }
        }
    }
    e.threads = threads.len();
    e
}

async fn import(db: &Db, path: &Path) -> ImportSummary {
    import_path(
        db,
        path,
        &ImportOptions::default(),
        0,
        &ProgressBar::hidden(),
    )
    .await
    .unwrap_or_else(|e| panic!("import of {} failed: {e}", path.display()))
}

fn assert_complete(summary: &ImportSummary, e: &Expected) {
    assert_eq!(summary.messages, e.kept, "stored messages\n{summary}");
    assert_eq!(
        summary.skipped_total(),
        e.total - e.kept,
        "skipped\n{summary}"
    );
    assert_eq!(summary.threads, e.threads, "threads\n{summary}");
    assert_eq!(summary.channels, e.channels);
    assert_eq!(summary.users, e.users);
}

async fn two_racket_exports_merge_by_channel_id(scratch: &ScratchDb) {
    let db = &scratch.db;
    let (e1, e2) = (expected(&racket_1()), expected(&racket_2()));
    assert_eq!(
        (e1.kept, e2.kept),
        (184, 79),
        "fixture counts as documented in SOURCE.txt"
    );

    let first = import(db, &racket_1()).await;
    assert_complete(&first, &e1);
    assert_eq!(first.team_id, "T06V8J4SU", "the export's own team id");
    assert_eq!(first.new_messages, e1.kept);
    assert_eq!(first.skipped.get("subtype channel_join"), Some(&6));
    assert_eq!(
        messages::count_live(db, "T06V8J4SU").await.unwrap(),
        e1.kept
    );

    // Again: nothing new, nothing changed.
    let again = import(db, &racket_1()).await;
    assert_complete(&again, &e1);
    assert_eq!(
        (again.new_messages, again.updated_messages),
        (0, 0),
        "{again}"
    );
    assert_eq!(
        messages::count_live(db, "T06V8J4SU").await.unwrap(),
        e1.kept
    );

    // The next export: its messages are added, and the renamed channel is the same channel.
    let old = directory::get_channel(db, "T06V8J4SU", "C01R5MVFTQS")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.channel.name.as_deref(), Some("math-scribble"));
    let second = import(db, &racket_2()).await;
    assert_complete(&second, &e2);
    assert_eq!(second.new_messages, e2.kept);
    assert_eq!(
        messages::count_live(db, "T06V8J4SU").await.unwrap(),
        e1.kept + e2.kept
    );
    let renamed = directory::get_channel(db, "T06V8J4SU", "C01R5MVFTQS")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.channel.name.as_deref(), Some("scribble-math"));
    let channels = directory::list_channels(db, "T06V8J4SU").await.unwrap();
    assert_eq!(
        channels.len(),
        6,
        "five channels in both exports, one only in the first"
    );

    // Importing the older export afterwards does not bring the old name back.
    import(db, &racket_1()).await;
    let still = directory::get_channel(db, "T06V8J4SU", "C01R5MVFTQS")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.channel.name.as_deref(), Some("scribble-math"));

    // Members from channels.json can read what they imported; the text is plain.
    let seen = messages::visible_to(db, "T06V8J4SU", "U01GH44F3GC", 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(seen.len() as i64, e1.kept + e2.kept);
    assert!(
        seen.iter()
            .all(|m| !m.text.contains("<@") && !m.text.contains("&amp;"))
    );
    assert!(
        seen.iter()
            .any(|m| m.user_name.as_deref() == Some("benknoble"))
    );
    assert!(
        messages::visible_to(db, "T06V8J4SU", "USTRANGER", 0, i64::MAX)
            .await
            .unwrap()
            .is_empty()
    );
}

on_both_backends!(two_racket_exports_merge_by_channel_id);

async fn houston_imports_completely(scratch: &ScratchDb) {
    let db = &scratch.db;
    let e = expected(&houston());
    assert_eq!(e.total, 1382);
    let summary = import(db, &houston()).await;
    assert_complete(&summary, &e);
    assert_eq!(summary.threads, 0, "the export predates threads");
    assert_eq!(summary.new_messages, e.kept);
    let again = import(db, &houston()).await;
    assert_eq!(again.new_messages, 0);
    assert_eq!(messages::count_live(db, "T061A2UFL").await.unwrap(), e.kept);
    // Legacy `<@U…|name>` mentions and `<url|label>` links come out as plain text.
    let general =
        messages::visible_in_channel(db, "T061A2UFL", "U061A5N1G", "C061A2UGJ", 0, i64::MAX)
            .await
            .unwrap();
    assert!(!general.is_empty());
    assert!(general.iter().all(|m| !m.text.contains("<http")));
}

on_both_backends!(houston_imports_completely);

/// houston lists its archived channels with `members: []`. The people who posted or were
/// mentioned there are taken as members, so #sponsors, where Micah asked Neeraj (U061A5N1G) to
/// reach out to Continuum, is visible to Neeraj, and to nobody who never took part.
async fn archived_channels_are_visible_to_those_who_took_part(scratch: &ScratchDb) {
    let db = &scratch.db;
    import(db, &houston()).await;
    let sponsors = "C064P9LG4";
    let members = directory::members(db, "T061A2UFL", sponsors).await.unwrap();
    assert!(members.contains(&"U061A5N1G".to_string()), "{members:?}");
    assert!(members.contains(&"U061A1R2R".to_string()), "{members:?}");
    let seen = messages::visible_in_channel(db, "T061A2UFL", "U061A5N1G", sponsors, 0, i64::MAX)
        .await
        .unwrap();
    assert!(
        seen.iter().any(|m| m.text.contains("Continuum")),
        "{seen:#?}"
    );
    // amandashih (U064SRKPD) never posted in #sponsors nor was mentioned there.
    let outsider =
        messages::visible_in_channel(db, "T061A2UFL", "U064SRKPD", sponsors, 0, i64::MAX)
            .await
            .unwrap();
    assert!(outsider.is_empty());
    // A channel whose list is given keeps exactly that list.
    let general = directory::members(db, "T061A2UFL", "C061A2UGJ")
        .await
        .unwrap();
    assert_eq!(general.len(), 71);
}

on_both_backends!(archived_channels_are_visible_to_those_who_took_part);

/// Zips a folder the way Slack ships an export.
fn zip_folder(folder: &Path, out: &Path) {
    use std::io::Write;
    let file = std::fs::File::create(out).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut stack = vec![folder.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path
                    .strip_prefix(folder)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                zip.start_file(name, options).unwrap();
                zip.write_all(&std::fs::read(&path).unwrap()).unwrap();
            }
        }
    }
    zip.finish().unwrap();
}

#[tokio::test]
async fn a_zip_imports_like_its_folder_and_overlaps_merge() {
    let scratch = ScratchDb::test_sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("export.zip");
    zip_folder(&racket_2(), &zip_path);
    let e = expected(&racket_2());

    let from_zip = import(&scratch.db, &zip_path).await;
    assert_complete(&from_zip, &e);
    assert_eq!(from_zip.new_messages, e.kept);
    let from_folder = import(&scratch.db, &racket_2()).await;
    assert_eq!(
        from_folder.new_messages, 0,
        "an overlapping export stores nothing twice"
    );

    // --team overrides the export's team.
    let options = ImportOptions {
        team_id: Some("T0OTHER".into()),
        ingest_bot_messages: false,
    };
    let other = import_path(&scratch.db, &zip_path, &options, 0, &ProgressBar::hidden())
        .await
        .unwrap();
    assert_eq!(other.team_id, "T0OTHER");
    assert_eq!(other.new_messages, e.kept);
}

#[tokio::test]
async fn a_folder_without_channels_json_is_refused() {
    let scratch = ScratchDb::test_sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let err = import_path(
        &scratch.db,
        dir.path(),
        &ImportOptions::default(),
        0,
        &ProgressBar::hidden(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("not a Slack export"), "{err}");
}
