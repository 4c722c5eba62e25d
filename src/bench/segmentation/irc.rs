//! Reading the IRC disentanglement corpus (Kummerfeld et al., ACL 2019; Gouravajhala et al., 2023).
//!
//! Each sample is a log (`NAME.ascii.txt`, one message per line, numbered from 0) and its
//! annotation (`NAME.annotation.txt`, lines `a b -`: message `max(a,b)` replies to the other; a
//! self-link starts a conversation). Only messages from the first annotated one on (1,000 in the
//! corpus) are evaluated; earlier lines are context. Gold conversations are the connected components
//! of the links restricted to that range, exactly as the corpus's `graph-to-cluster.py` builds them.
//!
//! Log lines come in several shapes across years and channels:
//! `[03:10] <nick> text`, `[03:10]  * nick action`, `=== nick has joined #ubuntu` (no time),
//! `=== nick does something` (an action in old logs), and
//! `rust 2018-05-29 [21:20:37] <nick>\t text` in the 2023 domains.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::ai::segment::ChatMessage;

/// What kind of line a log line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// Someone said something.
    Message,
    /// A `/me` action (`* nick waves`, or `=== nick waves` in old logs): still a message.
    Action,
    /// Joins, parts, quits, nick changes, mode and topic changes: not part of any conversation.
    System,
}

/// One parsed log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IrcLine {
    /// Line number in the log (0-based), the id annotations use.
    pub index: usize,
    pub kind: LineKind,
    /// The speaker (for system lines, the user the event is about, when known).
    pub author: String,
    pub text: String,
    /// Seconds from midnight of the log's first day. Lines without a time take the previous line's.
    pub time: i64,
}

impl IrcLine {
    pub fn is_system(&self) -> bool {
        self.kind == LineKind::System
    }

    /// The segmenter's view of this line (id = line number).
    pub fn to_chat_message(&self) -> ChatMessage {
        ChatMessage::new(self.index.to_string(), &self.author, self.time, &self.text)
    }
}

/// Errors reading the corpus.
#[derive(Debug, thiserror::Error)]
pub enum IrcError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: bad annotation line {text:?}")]
    BadAnnotation {
        path: PathBuf,
        line: usize,
        text: String,
    },
    #[error("no annotated samples (*.annotation.txt with *.ascii.txt) in {0}")]
    NoSamples(PathBuf),
}

/// Parses a whole log. Never fails: an unrecognised line becomes a message by an unknown author.
pub fn parse_log(text: &str) -> Vec<IrcLine> {
    let mut lines = Vec::new();
    let mut clock = Clock::default();
    for (index, raw) in text.lines().enumerate() {
        let (time_of_day, rest) = split_time(raw);
        let time = clock.advance(time_of_day);
        let (kind, author, text) = classify(rest);
        lines.push(IrcLine {
            index,
            kind,
            author,
            text,
            time,
        });
    }
    // Lines before the first timestamp take the first known time.
    if let Some(first) = clock.first {
        for line in &mut lines {
            if line.time != UNKNOWN {
                break;
            }
            line.time = first;
        }
    } else {
        for line in &mut lines {
            line.time = 0;
        }
    }
    lines
}

const UNKNOWN: i64 = i64::MIN;

/// Turns times of day into a monotone clock: logs cross midnight, and system lines carry no time.
#[derive(Default)]
struct Clock {
    day: i64,
    last_of_day: Option<i64>,
    first: Option<i64>,
}

impl Clock {
    fn advance(&mut self, time_of_day: Option<i64>) -> i64 {
        let Some(t) = time_of_day else {
            return self
                .last_of_day
                .map_or(UNKNOWN, |last| self.day * 86_400 + last);
        };
        if let Some(last) = self.last_of_day
            && t + 6 * 3600 < last
        {
            self.day += 1;
        }
        self.last_of_day = Some(t);
        let time = self.day * 86_400 + t;
        self.first.get_or_insert(time);
        time
    }
}

/// Splits `[HH:MM]` / `[HH:MM:SS]` (optionally after `channel YYYY-MM-DD `) from the rest.
fn split_time(line: &str) -> (Option<i64>, &str) {
    let start = if line.starts_with('[') {
        Some(0)
    } else {
        // "rust 2018-05-29 [21:20:37] ..." — a channel name and a date before the time.
        let mut words = line.splitn(3, ' ');
        match (words.next(), words.next(), words.next()) {
            (Some(channel), Some(date), Some(rest))
                if is_date(date) && rest.starts_with('[') && !channel.is_empty() =>
            {
                Some(channel.len() + 1 + date.len() + 1)
            }
            _ => None,
        }
    };
    let Some(start) = start else {
        return (None, line);
    };
    let Some(close) = line[start..].find(']') else {
        return (None, line);
    };
    let inside = &line[start + 1..start + close];
    let parts: Vec<&str> = inside.split(':').collect();
    let numbers: Option<Vec<i64>> = parts.iter().map(|p| p.parse::<i64>().ok()).collect();
    match numbers.as_deref() {
        Some([h, m]) => (Some(h * 3600 + m * 60), &line[start + close + 1..]),
        Some([h, m, s]) => (Some(h * 3600 + m * 60 + s), &line[start + close + 1..]),
        _ => (None, line),
    }
}

fn is_date(word: &str) -> bool {
    let bytes = word.as_bytes();
    bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit())
}

/// Kind, author and text of a line with its time removed.
fn classify(rest: &str) -> (LineKind, String, String) {
    let trimmed = rest.trim();
    if let Some(after) = trimmed.strip_prefix('<')
        && let Some(close) = after.find('>')
    {
        let author = after[..close].trim().to_string();
        let text = after[close + 1..].trim().to_string();
        return (LineKind::Message, author, text);
    }
    if let Some(after) = trimmed.strip_prefix("* ") {
        let (author, text) = first_word(after);
        return (LineKind::Action, author, text);
    }
    if let Some(after) = trimmed.strip_prefix("===") {
        let after = after.trim();
        let (author, text) = first_word(after);
        let kind = if is_system_event(after, &text) {
            LineKind::System
        } else {
            LineKind::Action
        };
        return (kind, author, text);
    }
    (LineKind::Message, String::new(), trimmed.to_string())
}

fn first_word(text: &str) -> (String, String) {
    let text = text.trim();
    match text.find(char::is_whitespace) {
        Some(at) => (text[..at].to_string(), text[at..].trim().to_string()),
        None => (text.to_string(), String::new()),
    }
}

/// Whether a `===` line reports a channel event rather than someone's `/me` action. The corpus
/// notes that not every `===` line is a system message; these are the event shapes it contains.
fn is_system_event(whole: &str, after_nick: &str) -> bool {
    let after_nick = after_nick.trim_start();
    // "nick [user@host]  has joined #ubuntu" — the host part goes before the verb.
    let verb = if after_nick.starts_with('[') {
        after_nick
            .find(']')
            .map_or(after_nick, |close| after_nick[close + 1..].trim_start())
    } else {
        after_nick
    };
    verb.starts_with("has joined")
        || verb.starts_with("has left")
        || verb.starts_with("has quit")
        || verb.starts_with("is now known as")
        || whole.starts_with("mode/")
        || whole.starts_with("..[topic/")
        || whole.starts_with("Topic")
        || whole.starts_with("topic")
}

/// One annotated sample: the log and its gold links.
#[derive(Clone, Debug)]
pub struct Sample {
    /// File stem (`2004-11-15_03`).
    pub name: String,
    pub lines: Vec<IrcLine>,
    /// `(message, antecedent)` pairs; a self-link starts a conversation.
    pub links: Vec<(usize, usize)>,
}

impl Sample {
    /// The first evaluated message: the smallest annotated message.
    pub fn cutoff(&self) -> usize {
        self.links.iter().map(|&(m, _)| m).min().unwrap_or(0)
    }

    /// Gold conversations over the evaluated messages (each sorted; sorted by first message).
    pub fn gold_clusters(&self) -> Vec<Vec<usize>> {
        gold_clusters(&self.links)
    }
}

/// Parses annotation text: one link per line, `a b -` (the trailing dash is optional).
pub fn parse_annotation(text: &str, path: &Path) -> Result<Vec<(usize, usize)>, IrcError> {
    let mut links = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().filter(|f| *f != "-").collect();
        if fields.is_empty() {
            continue;
        }
        let bad = || IrcError::BadAnnotation {
            path: path.to_path_buf(),
            line: number + 1,
            text: line.to_string(),
        };
        let numbers: Vec<usize> = fields
            .iter()
            .map(|f| f.parse::<usize>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        let [a, b] = numbers[..] else {
            return Err(bad());
        };
        // The later message is the one annotated; the other is what it replies to.
        links.push((a.max(b), a.min(b)));
    }
    Ok(links)
}

/// Connected components of the links, keeping messages at or after the first annotated one —
/// the corpus's own `graph-to-cluster.py` conversion.
pub fn gold_clusters(links: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let cutoff = links.iter().map(|&(m, _)| m).min().unwrap_or(0);
    let mut parent: HashMap<usize, usize> = HashMap::new();
    fn find(parent: &mut HashMap<usize, usize>, x: usize) -> usize {
        let mut root = x;
        while let Some(&p) = parent.get(&root) {
            if p == root {
                break;
            }
            root = p;
        }
        let mut cur = x;
        while cur != root {
            let next = parent[&cur];
            parent.insert(cur, root);
            cur = next;
        }
        root
    }
    for &(a, b) in links {
        parent.entry(a).or_insert(a);
        parent.entry(b).or_insert(b);
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra != rb {
            parent.insert(ra.max(rb), ra.min(rb));
        }
    }
    let nodes: Vec<usize> = parent.keys().copied().collect();
    let mut clusters: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for node in nodes {
        let root = find(&mut parent, node);
        let entry = clusters.entry(root).or_default();
        if node >= cutoff {
            entry.insert(node);
        }
    }
    let mut out: Vec<Vec<usize>> = clusters
        .into_values()
        .filter(|c| !c.is_empty())
        .map(|c| c.into_iter().collect())
        .collect();
    out.sort();
    out
}

/// Loads every sample in a folder (`*.annotation.txt` beside `*.ascii.txt`), sorted by name.
pub fn load_dir(dir: &Path) -> Result<Vec<Sample>, IrcError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| IrcError::Io { path, source }
    };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let file = entry.file_name().to_string_lossy().into_owned();
            file.strip_suffix(".annotation.txt").map(str::to_string)
        })
        .filter(|name| dir.join(format!("{name}.ascii.txt")).is_file())
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(IrcError::NoSamples(dir.to_path_buf()));
    }
    names
        .into_iter()
        .map(|name| load_sample(dir, &name))
        .collect()
}

/// Loads one sample by file stem.
pub fn load_sample(dir: &Path, name: &str) -> Result<Sample, IrcError> {
    let read = |path: PathBuf| {
        std::fs::read(&path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .map_err(|source| IrcError::Io { path, source })
    };
    let log = read(dir.join(format!("{name}.ascii.txt")))?;
    let annotation_path = dir.join(format!("{name}.annotation.txt"));
    let annotation = read(annotation_path.clone())?;
    Ok(Sample {
        name: name.to_string(),
        lines: parse_log(&log),
        links: parse_annotation(&annotation, &annotation_path)?,
    })
}

/// Reads a `gold.*.clusters.txt` file: `file:1 2 3` per line → clusters per file.
pub fn parse_clusters_file(text: &str) -> BTreeMap<String, Vec<Vec<usize>>> {
    let mut out: BTreeMap<String, Vec<Vec<usize>>> = BTreeMap::new();
    for line in text.lines() {
        let Some((file, numbers)) = line.rsplit_once(':') else {
            continue;
        };
        let mut cluster: Vec<usize> = numbers
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        cluster.sort_unstable();
        let name = file.rsplit('/').next().unwrap_or(file).to_string();
        out.entry(name).or_default().push(cluster);
    }
    for clusters in out.values_mut() {
        clusters.sort();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNIPPET: &str = "\
[02:56] <Nafallo> mirak_: yepp
=== compdude [kads@ti211310a081-2220.bb.online.no]  has left #ubuntu []
=== strestout1__ is now known as strestout1
=== ogra thinks MrBurns is a good name
[03:10] <yohannes> can anyone recommend any app to create/open *.rar file?
[03:10]  * Hikaru79 waves
=== mode/#ubuntu [+o Seveas]  by ChanServ
[23:59] <late> almost midnight
[00:01] <early> a new day
rust 2018-05-29 [21:20:37] <talchas>\t but I don't know that I'd bother
";

    #[test]
    fn a_hand_made_irc_snippet_is_parsed_line_by_line() {
        let lines = parse_log(SNIPPET);
        assert_eq!(lines.len(), 10);
        let kinds: Vec<LineKind> = lines.iter().map(|l| l.kind).collect();
        use LineKind::*;
        assert_eq!(
            kinds,
            vec![
                Message, System, System, Action, Message, Action, System, Message, Message, Message
            ]
        );
        assert_eq!(lines[0].author, "Nafallo");
        assert_eq!(lines[0].text, "mirak_: yepp");
        assert_eq!(lines[0].time, 2 * 3600 + 56 * 60);
        // System lines carry no time: they take the previous line's.
        assert_eq!(lines[1].time, lines[0].time);
        assert_eq!(lines[3].author, "ogra");
        assert_eq!(lines[3].text, "thinks MrBurns is a good name");
        assert_eq!(lines[5].author, "Hikaru79");
        assert_eq!(lines[5].text, "waves");
        assert_eq!(lines[4].time, 3 * 3600 + 10 * 60);
        // Crossing midnight keeps the clock monotone.
        assert_eq!(lines[8].time, 86_400 + 60);
        assert_eq!(lines[9].author, "talchas");
        assert_eq!(lines[9].text, "but I don't know that I'd bother");
        assert_eq!(lines[9].time, 86_400 + 21 * 3600 + 20 * 60 + 37);
    }

    #[test]
    fn annotations_become_gold_conversations_from_the_first_annotated_message() {
        let path = Path::new("x.annotation.txt");
        let links = parse_annotation("993 1000 -\n1000 1001 -\n1002 1002 -\n1001 1003\n", path)
            .expect("valid annotation");
        assert_eq!(
            links,
            vec![(1000, 993), (1001, 1000), (1002, 1002), (1003, 1001)]
        );
        assert_eq!(
            gold_clusters(&links),
            vec![vec![1000, 1001, 1003], vec![1002]]
        );
        assert!(parse_annotation("1000 x -\n", path).is_err());
    }

    #[test]
    fn cluster_files_are_read_per_sample() {
        let parsed = parse_clusters_file("a/f1:1002 1001\nf1:1000\nf2:7\n");
        assert_eq!(parsed["f1"], vec![vec![1000], vec![1001, 1002]]);
        assert_eq!(parsed["f2"], vec![vec![7]]);
    }
}
