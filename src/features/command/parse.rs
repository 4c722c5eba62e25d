//! The `/chief` slash command: its text parsed into a typed [`ChiefCommand`], and its help.
//!
//! A small hand parser rather than clap: the grammar is a dozen words, but every argument needs
//! Slack-specific reading that clap would leave to custom value parsers anyway (permalinks,
//! `<#C123|name>` mentions, `9am`, `mon-fri`, free-text topics with apostrophes that a shell-style
//! splitter would reject as an unclosed quote). clap's errors are terminal usage dumps; here every
//! mistake becomes [`ChiefCommand::Help`] with one friendly sentence, shown above the help in
//! Slack. The help text is written for Slack's mrkdwn, from the same table the tests check
//! against every subcommand.

use std::fmt;

use crate::model::domain::MessageRef;
use crate::model::interest::normalize_key;
use crate::model::settings::{DeliveryDays, DeliveryTime, parse_language};

/// Most topics one `/chief interests add` may carry.
const MAX_TOPICS: usize = 20;
/// Longest topic accepted, in characters.
const MAX_TOPIC_CHARS: usize = 100;

/// What the user asked `/chief` to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChiefCommand {
    /// `briefing`: today's briefing, now.
    Briefing,
    /// `context <message link>`: explain a message in context.
    Context(MessageLink),
    /// `interests`: show what chief thinks the user cares about.
    Interests,
    /// `interests add <topic>, <topic>…`
    InterestsAdd(Vec<String>),
    /// `interests remove <topic>, <topic>…`
    InterestsRemove(Vec<String>),
    /// `time 9am` / `time 17:30` / `time auto`
    Time(DeliveryTime),
    /// `days mon-fri` / `days mon,wed,fri` / `days every day`
    Days(DeliveryDays),
    /// `mute #channel…`
    Mute(Vec<ChannelRef>),
    /// `unmute #channel…`
    Unmute(Vec<ChannelRef>),
    /// `language fr` / `language auto`: the language briefings and explanations are written in
    /// (`None`: follow the Slack locale).
    Language(Option<String>),
    /// `team`: the person's team as the org chart infers it, its lead, and the evidence.
    Team,
    /// `team set <name>` / `team reset` (`None`): correct it, or go back to the inference.
    TeamSet(Option<String>),
    /// `priorities`: what chief watches for you (requests to you, your commitments, blockers).
    Priorities,
    /// `pause`: no briefings until `resume`.
    Pause,
    /// `resume`
    Resume,
    /// `help`, an empty command, or anything not understood (`error` says what).
    Help { error: Option<String> },
}

impl ChiefCommand {
    /// The subcommand as the help writes it (`interests add`, `mute`…).
    pub fn name(&self) -> &'static str {
        match self {
            ChiefCommand::Briefing => "briefing",
            ChiefCommand::Context(_) => "context",
            ChiefCommand::Interests => "interests",
            ChiefCommand::InterestsAdd(_) => "interests add",
            ChiefCommand::InterestsRemove(_) => "interests remove",
            ChiefCommand::Time(_) => "time",
            ChiefCommand::Days(_) => "days",
            ChiefCommand::Mute(_) => "mute",
            ChiefCommand::Unmute(_) => "unmute",
            ChiefCommand::Language(_) => "language",
            ChiefCommand::Team => "team",
            ChiefCommand::TeamSet(_) => "team set",
            ChiefCommand::Priorities => "priorities",
            ChiefCommand::Pause => "pause",
            ChiefCommand::Resume => "resume",
            ChiefCommand::Help { .. } => "help",
        }
    }
}

/// A Slack message permalink, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageLink {
    pub channel_id: String,
    /// The message's ts, `1700000000.000100`.
    pub ts: String,
    /// The thread's parent ts when the link is to a reply.
    pub thread_ts: Option<String>,
}

impl MessageLink {
    /// Reads `https://x.slack.com/archives/C123/p1700000000000100?thread_ts=1700000000.000050`,
    /// with or without Slack's `<…>` / `<…|label>` wrapping and `&amp;` escaping.
    pub fn parse(text: &str) -> Result<Self, String> {
        let raw = unescape(text.trim());
        let raw = raw.trim();
        let raw = raw
            .strip_prefix('<')
            .and_then(|r| r.strip_suffix('>'))
            .map(|r| r.split('|').next().unwrap_or(r))
            .unwrap_or(raw)
            .trim();
        let not_a_link = || {
            "That is not a message link. In Slack, open the message's ⋮ menu, choose \
             *Copy link*, and paste it after `/chief context`."
                .to_string()
        };
        let url = url::Url::parse(raw).map_err(|_| not_a_link())?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(not_a_link());
        }
        let segments: Vec<&str> = url.path_segments().map(|s| s.collect()).unwrap_or_default();
        let Some(pos) = segments.iter().position(|s| *s == "archives") else {
            return Err(not_a_link());
        };
        let channel_id = segments
            .get(pos + 1)
            .filter(|c| is_conversation_id(c))
            .ok_or_else(not_a_link)?;
        let Some(p) = segments.get(pos + 2).filter(|s| !s.is_empty()) else {
            return Err(
                "That link points at a channel, not a message: copy the link of the message itself."
                    .into(),
            );
        };
        let digits = p.strip_prefix('p').ok_or_else(not_a_link)?;
        if digits.len() < 7 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_a_link());
        }
        let (secs, micros) = digits.split_at(digits.len() - 6);
        let thread_ts = url
            .query_pairs()
            .find(|(k, _)| k == "thread_ts")
            .map(|(_, v)| v.into_owned())
            .filter(|v| is_ts(v));
        Ok(MessageLink {
            channel_id: channel_id.to_string(),
            ts: format!("{secs}.{micros}"),
            thread_ts,
        })
    }

    /// The linked message.
    pub fn reference(&self) -> MessageRef {
        MessageRef {
            channel_id: self.channel_id.clone(),
            ts: self.ts.clone(),
        }
    }

    /// The thread's parent: the message itself when it is not a reply.
    pub fn thread_reference(&self) -> MessageRef {
        MessageRef {
            channel_id: self.channel_id.clone(),
            ts: self.thread_ts.clone().unwrap_or_else(|| self.ts.clone()),
        }
    }
}

fn is_ts(s: &str) -> bool {
    s.split_once('.').is_some_and(|(a, b)| {
        !a.is_empty()
            && !b.is_empty()
            && a.bytes().all(|c| c.is_ascii_digit())
            && b.bytes().all(|c| c.is_ascii_digit())
    })
}

/// Slack conversation ids: `C…` (channel), `G…` (private/group), `D…` (DM), upper-case
/// alphanumerics.
fn is_conversation_id(s: &str) -> bool {
    s.len() >= 8
        && s.starts_with(['C', 'G', 'D'])
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A channel as typed after `mute`/`unmute`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelRef {
    /// Slack's escaped mention `<#C123|name>`, or a raw id `C123ABC45`: no lookup needed.
    Id { id: String, name: Option<String> },
    /// `#name` (or `name`) as typed: the handler looks the id up.
    Name(String),
}

impl ChannelRef {
    /// Reads `<#C123|name>`, `<#C123>`, `#name`, `name` or `C0123ABCD`.
    pub fn parse(word: &str) -> Result<Self, String> {
        let w = word.trim();
        if let Some(inner) = w.strip_prefix("<#").and_then(|r| r.strip_suffix('>')) {
            let (id, name) = match inner.split_once('|') {
                Some((id, name)) => (id, Some(name).filter(|n| !n.is_empty())),
                None => (inner, None),
            };
            if is_conversation_id(id) {
                return Ok(ChannelRef::Id {
                    id: id.to_string(),
                    name: name.map(str::to_string),
                });
            }
        }
        let bare = w.strip_prefix('#').unwrap_or(w);
        if is_conversation_id(bare) {
            return Ok(ChannelRef::Id {
                id: bare.to_string(),
                name: None,
            });
        }
        let valid_name = !bare.is_empty()
            && bare.chars().count() <= 80
            && bare
                .chars()
                .all(|c| c.is_alphanumeric() && !c.is_uppercase() || matches!(c, '-' | '_' | '.'));
        if valid_name {
            Ok(ChannelRef::Name(bare.to_string()))
        } else {
            Err(format!(
                "`{}` is not a channel. Type `#` and pick the channel, like `/chief mute #random`.",
                unescape(w)
            ))
        }
    }
}

impl fmt::Display for ChannelRef {
    /// How to show it back in Slack: a live channel mention when the id is known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelRef::Id { id, .. } => write!(f, "<#{id}>"),
            ChannelRef::Name(name) => write!(f, "#{name}"),
        }
    }
}

/// Undoes the three escapes Slack applies to all command text.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Reads the text after `/chief`. Never fails: anything not understood is
/// [`ChiefCommand::Help`] with the reason.
pub fn parse(text: &str) -> ChiefCommand {
    let text = text.trim();
    let (word, rest) = match text.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (text, ""),
    };
    let word = word.to_lowercase();
    let result =
        match word.as_str() {
            "" | "help" | "?" | "-h" | "--help" | "h" => {
                no_args("help", rest, ChiefCommand::Help { error: None })
            }
            "briefing" | "brief" | "today" => no_args("briefing", rest, ChiefCommand::Briefing),
            "context" | "explain" => {
                if rest.is_empty() {
                    Err("`/chief context` needs a message link: copy one from the message's ⋮ menu \
                     (*Copy link*)."
                    .to_string())
                } else {
                    MessageLink::parse(rest).map(ChiefCommand::Context)
                }
            }
            "interests" | "interest" | "topics" => parse_interests(rest),
            "time" => {
                if rest.is_empty() {
                    Err(
                        "`/chief time` needs a time, like `/chief time 9am` or `/chief time auto`."
                            .to_string(),
                    )
                } else {
                    DeliveryTime::parse(rest)
                        .map(ChiefCommand::Time)
                        .map_err(|e| e.0)
                }
            }
            "days" | "day" => {
                if rest.is_empty() {
                    Err("`/chief days` needs days, like `/chief days mon-fri`.".to_string())
                } else {
                    DeliveryDays::parse(rest)
                        .map(ChiefCommand::Days)
                        .map_err(|e| e.0)
                }
            }
            "mute" => parse_channels("mute", rest).map(ChiefCommand::Mute),
            "unmute" => parse_channels("unmute", rest).map(ChiefCommand::Unmute),
            "language" | "lang" | "langue" | "sprache" | "idioma" => parse_language(rest)
                .map(ChiefCommand::Language)
                .map_err(|e| e.0),
            "team" => parse_team(rest),
            "priorities" | "todo" => no_args("priorities", rest, ChiefCommand::Priorities),
            "pause" => no_args("pause", rest, ChiefCommand::Pause),
            "resume" | "unpause" => no_args("resume", rest, ChiefCommand::Resume),
            _ => Err(format!(
                "I don't know `{}`.",
                unescape(&word).chars().take(40).collect::<String>()
            )),
        };
    result.unwrap_or_else(|error| ChiefCommand::Help { error: Some(error) })
}

/// `team`, `team set <name>`, `team reset`.
fn parse_team(rest: &str) -> Result<ChiefCommand, String> {
    let (word, name) = match rest.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (rest, ""),
    };
    match word.to_lowercase().as_str() {
        "" => Ok(ChiefCommand::Team),
        "reset" | "auto" => no_args("team reset", name, ChiefCommand::TeamSet(None)),
        "set" => {
            let name = unescape(name.trim_start_matches('#')).trim().to_string();
            if name.is_empty() {
                Err("`/chief team set` needs a team name, like `/chief team set payments`.".into())
            } else {
                Ok(ChiefCommand::TeamSet(Some(
                    name.chars().take(MAX_TOPIC_CHARS).collect(),
                )))
            }
        }
        other => Err(format!(
            "`/chief team` takes `set <name>` or `reset`, not `{}`.",
            unescape(other).chars().take(40).collect::<String>()
        )),
    }
}

fn no_args(name: &str, rest: &str, cmd: ChiefCommand) -> Result<ChiefCommand, String> {
    if rest.is_empty() {
        Ok(cmd)
    } else {
        Err(format!("`/chief {name}` takes nothing after it."))
    }
}

fn parse_interests(rest: &str) -> Result<ChiefCommand, String> {
    let (verb, topics) = match rest.split_once(char::is_whitespace) {
        Some((v, t)) => (v, t.trim()),
        None => (rest, ""),
    };
    match verb.to_lowercase().as_str() {
        "" | "list" | "show" => {
            if topics.is_empty() {
                Ok(ChiefCommand::Interests)
            } else {
                Err("To change your interests, use `/chief interests add …` or `/chief interests remove …`.".into())
            }
        }
        "add" | "+" => parse_topics("add", topics).map(ChiefCommand::InterestsAdd),
        "remove" | "rm" | "delete" | "del" | "drop" | "-" => {
            parse_topics("remove", topics).map(ChiefCommand::InterestsRemove)
        }
        other => Err(format!(
            "`/chief interests` understands `add` and `remove`, not `{}`.",
            unescape(other).chars().take(40).collect::<String>()
        )),
    }
}

/// Comma-separated topics; a topic may have spaces (`payments migration, rust`).
fn parse_topics(verb: &str, text: &str) -> Result<Vec<String>, String> {
    let text = unescape(text);
    let mut seen = std::collections::BTreeSet::new();
    let mut topics = Vec::new();
    for part in text.split([',', ';', '\n']) {
        let topic = part
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .trim_matches(|c: char| matches!(c, '"' | '\'' | '“' | '”' | '‘' | '’' | '`'))
            .trim()
            .to_string();
        let Some(key) = normalize_key(&topic) else {
            continue;
        };
        if topic.chars().count() > MAX_TOPIC_CHARS {
            return Err(format!(
                "That topic is too long: keep each one under {MAX_TOPIC_CHARS} characters."
            ));
        }
        if seen.insert(key) {
            topics.push(topic);
        }
    }
    if topics.is_empty() {
        return Err(format!(
            "Which topics? For example `/chief interests {verb} payments migration, hiring`."
        ));
    }
    if topics.len() > MAX_TOPICS {
        return Err(format!(
            "That is a lot of topics: {MAX_TOPICS} at a time, please."
        ));
    }
    Ok(topics)
}

fn parse_channels(verb: &str, text: &str) -> Result<Vec<ChannelRef>, String> {
    let mut channels = Vec::new();
    for word in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        let channel = ChannelRef::parse(word)?;
        if !channels.contains(&channel) {
            channels.push(channel);
        }
    }
    if channels.is_empty() {
        return Err(format!(
            "Which channel? For example `/chief {verb} #random`."
        ));
    }
    Ok(channels)
}

/// Every subcommand as `(usage, what it does)`, in the order the help lists them.
pub const SUBCOMMANDS: &[(&str, &str)] = &[
    ("briefing", "Your briefing for today, right now."),
    (
        "context <message link>",
        "Explain a message in context (or use the message's *Explain in context* shortcut).",
    ),
    (
        "interests",
        "What I think you care about, and why your briefing looks the way it does.",
    ),
    (
        "interests add <topic>, <topic>…",
        "Always consider these topics important to you.",
    ),
    (
        "interests remove <topic>, <topic>…",
        "Stop treating these topics as important to you, for good.",
    ),
    (
        "time <HH:MM> | time auto",
        "Deliver your briefing at a fixed local time (`9am`, `17:30`), or `auto`: when you usually start your day (the default).",
    ),
    (
        "days <days>",
        "Which days you get a briefing: `mon-fri` (the default), `mon,wed,fri`, `every day`.",
    ),
    ("mute #channel", "Leave a channel out of your briefings."),
    ("unmute #channel", "Bring a muted channel back."),
    (
        "language <en|fr|de|es> | language auto",
        "Write your briefings and explanations in this language, or `auto`: your Slack language (the default).",
    ),
    (
        "team",
        "Your team as I infer it from who you work with, its likely lead, and the evidence.",
    ),
    (
        "team set <name> | team reset",
        "Correct your team (it becomes a fact I keep), or go back to what I infer.",
    ),
    (
        "priorities",
        "What I watch for you: requests to you, your commitments, blockers in your channels — open, stalled or done.",
    ),
    ("pause", "No briefings until you `resume`."),
    ("resume", "Start your briefings again."),
    ("help", "This list."),
];

/// The help, in Slack mrkdwn (also valid Markdown): one line per subcommand.
pub fn help_text() -> String {
    let mut out = String::from(
        "*chief* gives you a short daily briefing: the few things in your channels that need you.\n\n",
    );
    for (usage, what) in SUBCOMMANDS {
        out.push_str(&format!("• `/chief {usage}` — {what}\n"));
    }
    out.push_str("\nUnder each briefing story, *More like this* and *Less like this* teach me what matters to you.");
    out
}

/// What to answer: the help, preceded by the error when there is one.
pub fn help_reply(error: Option<&str>) -> String {
    match error {
        Some(e) => format!(":warning: {e}\n\n{}", help_text()),
        None => help_text(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveTime, Weekday};

    fn help_error(cmd: ChiefCommand) -> String {
        match cmd {
            ChiefCommand::Help { error: Some(e) } => e,
            other => panic!("expected help with an error, got {other:?}"),
        }
    }

    fn link(channel: &str, ts: &str, thread: Option<&str>) -> MessageLink {
        MessageLink {
            channel_id: channel.into(),
            ts: ts.into(),
            thread_ts: thread.map(str::to_string),
        }
    }

    #[test]
    fn help_and_an_empty_command_show_the_help() {
        for text in ["", "  ", "help", "HELP", "?", "--help"] {
            assert_eq!(parse(text), ChiefCommand::Help { error: None }, "{text:?}");
        }
    }

    #[test]
    fn commands_without_arguments() {
        assert_eq!(parse("briefing"), ChiefCommand::Briefing);
        assert_eq!(parse(" Briefing "), ChiefCommand::Briefing);
        assert_eq!(parse("today"), ChiefCommand::Briefing);
        assert_eq!(parse("pause"), ChiefCommand::Pause);
        assert_eq!(parse("resume"), ChiefCommand::Resume);
        assert_eq!(parse("unpause"), ChiefCommand::Resume);
        assert_eq!(parse("interests"), ChiefCommand::Interests);
        assert_eq!(parse("interests list"), ChiefCommand::Interests);
    }

    #[test]
    fn extra_words_after_a_command_without_arguments_are_refused() {
        assert!(help_error(parse("briefing tomorrow")).contains("/chief briefing"));
        assert!(help_error(parse("pause for a week")).contains("/chief pause"));
        assert!(help_error(parse("resume now")).contains("/chief resume"));
        assert!(help_error(parse("help me")).contains("/chief help"));
        assert!(help_error(parse("interests list all")).contains("interests add"));
    }

    #[test]
    fn unknown_commands_get_the_help_with_the_reason() {
        assert_eq!(
            help_error(parse("frobnicate now")),
            "I don't know `frobnicate`."
        );
        assert!(help_error(parse("interests fancy rust")).contains("`fancy`"));
        let long = "x".repeat(500);
        assert!(help_error(parse(&long)).len() < 100, "the echo is cut");
    }

    #[test]
    fn context_reads_permalinks_with_and_without_a_thread() {
        assert_eq!(
            parse("context https://acme.slack.com/archives/C0123ABCD/p1700000000000100"),
            ChiefCommand::Context(link("C0123ABCD", "1700000000.000100", None))
        );
        assert_eq!(
            parse(
                "context https://acme.slack.com/archives/C0123ABCD/p1700000000000100?thread_ts=1699999999.000050&cid=C0123ABCD"
            ),
            ChiefCommand::Context(link(
                "C0123ABCD",
                "1700000000.000100",
                Some("1699999999.000050")
            ))
        );
    }

    #[test]
    fn context_reads_links_as_slack_escapes_them() {
        for text in [
            "context <https://acme.slack.com/archives/C0123ABCD/p1700000000000100?thread_ts=1699999999.000050&amp;cid=C0123ABCD>",
            "context <https://acme.slack.com/archives/C0123ABCD/p1700000000000100?thread_ts=1699999999.000050|a message>",
            "explain   https://acme.enterprise.slack.com/archives/C0123ABCD/p1700000000000100?thread_ts=1699999999.000050  ",
        ] {
            assert_eq!(
                parse(text),
                ChiefCommand::Context(link(
                    "C0123ABCD",
                    "1700000000.000100",
                    Some("1699999999.000050")
                )),
                "{text}"
            );
        }
        let dm = MessageLink::parse("https://acme.slack.com/archives/D0123ABCD/p1700000000000100")
            .unwrap();
        assert_eq!(dm.channel_id, "D0123ABCD");
        assert_eq!(dm.reference().ts, "1700000000.000100");
        assert_eq!(dm.thread_reference().ts, "1700000000.000100");
        let reply = MessageLink::parse(
            "https://acme.slack.com/archives/C0123ABCD/p1700000000000100?thread_ts=1699999999.000050",
        )
        .unwrap();
        assert_eq!(reply.thread_reference().ts, "1699999999.000050");
    }

    #[test]
    fn real_permalinks_match_the_ts_slack_gave_beside_them() {
        // Pairs Slack itself produced: an unfurl's `from_url` with its `channel_id` and `ts`
        // (fixtures/payloads/abbot/…/message.message_changed.json, MIT), and a search match's
        // `permalink` with its `channel` and `ts` (fixtures/payloads/slack-api-specs, MIT).
        for (permalink, channel, ts) in [
            (
                "https://redact.slack.com/archives/C01BVR1MN2G/p1643662336032109",
                "C01BVR1MN2G",
                "1643662336.032109",
            ),
            (
                "https://hitchhikers.slack.com/archives/C2U86NC6H/p1508197641000151",
                "C2U86NC6H",
                "1508197641.000151",
            ),
        ] {
            assert_eq!(
                parse(&format!("context <{permalink}>")),
                ChiefCommand::Context(link(channel, ts, None))
            );
        }
    }

    #[test]
    fn context_refuses_what_is_not_a_message_link() {
        assert!(help_error(parse("context")).contains("needs a message link"));
        for text in [
            "context hello",
            "context https://example.com/",
            "context ftp://acme.slack.com/archives/C0123ABCD/p1700000000000100",
            "context https://acme.slack.com/archives/c0123abcd/p1700000000000100",
            "context https://acme.slack.com/archives/C0123ABCD/p12",
            "context https://acme.slack.com/archives/C0123ABCD/x1700000000000100",
            "context https://acme.slack.com/archives/C0123ABCD/p17000000000001OO",
        ] {
            assert!(
                help_error(parse(text)).contains("not a message link"),
                "{text}"
            );
        }
        assert!(
            help_error(parse("context https://acme.slack.com/archives/C0123ABCD"))
                .contains("points at a channel")
        );
        let odd_thread = MessageLink::parse(
            "https://acme.slack.com/archives/C0123ABCD/p1700000000000100?thread_ts=garbage",
        )
        .unwrap();
        assert_eq!(
            odd_thread.thread_ts, None,
            "a malformed thread_ts is ignored"
        );
    }

    #[test]
    fn interests_add_and_remove_take_comma_separated_topics() {
        assert_eq!(
            parse("interests add payments migration, Rust ,  hiring"),
            ChiefCommand::InterestsAdd(vec![
                "payments migration".into(),
                "Rust".into(),
                "hiring".into()
            ])
        );
        assert_eq!(
            parse("interests add what's new in Q3"),
            ChiefCommand::InterestsAdd(vec!["what's new in Q3".into()])
        );
        assert_eq!(
            parse("Interests Remove \"kubernetes\", k8s, Kubernetes"),
            ChiefCommand::InterestsRemove(vec!["kubernetes".into(), "k8s".into()])
        );
        assert_eq!(
            parse("interests add R&amp;D budget"),
            ChiefCommand::InterestsAdd(vec!["R&D budget".into()])
        );
        assert_eq!(
            parse("interests rm on-call"),
            ChiefCommand::InterestsRemove(vec!["on-call".into()])
        );
    }

    #[test]
    fn interests_without_topics_or_with_too_many_are_refused() {
        assert!(help_error(parse("interests add")).contains("Which topics"));
        assert!(help_error(parse("interests remove , ,")).contains("Which topics"));
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(help_error(parse(&format!("interests add {}", many.join(",")))).contains("20"));
        let long = "y".repeat(101);
        assert!(help_error(parse(&format!("interests add {long}"))).contains("too long"));
    }

    #[test]
    fn time_takes_a_clock_time_or_auto() {
        let t = |h, m| {
            ChiefCommand::Time(DeliveryTime::Fixed(
                NaiveTime::from_hms_opt(h, m, 0).unwrap(),
            ))
        };
        assert_eq!(parse("time 9am"), t(9, 0));
        assert_eq!(parse("time 17:30"), t(17, 30));
        assert_eq!(parse("time 8:15 am"), t(8, 15));
        assert_eq!(parse("time auto"), ChiefCommand::Time(DeliveryTime::Auto));
        assert!(help_error(parse("time")).contains("needs a time"));
        assert!(help_error(parse("time 25:00")).contains("`25:00`"));
        assert!(help_error(parse("time tomorrow")).contains("9am"));
    }

    #[test]
    fn days_takes_a_day_spec() {
        assert_eq!(
            parse("days mon-fri"),
            ChiefCommand::Days(DeliveryDays::WEEKDAYS)
        );
        assert_eq!(
            parse("days every day"),
            ChiefCommand::Days(DeliveryDays::EVERY_DAY)
        );
        assert_eq!(
            parse("days weekdays"),
            ChiefCommand::Days(DeliveryDays::WEEKDAYS)
        );
        assert_eq!(
            parse("days mon,wed,fri"),
            ChiefCommand::Days(DeliveryDays::of(&[
                Weekday::Mon,
                Weekday::Wed,
                Weekday::Fri
            ]))
        );
        assert!(help_error(parse("days")).contains("needs days"));
        assert!(help_error(parse("days someday")).contains("`someday`"));
    }

    #[test]
    fn language_takes_a_supported_language_or_auto() {
        let lang = |c: &str| ChiefCommand::Language(Some(c.to_string()));
        assert_eq!(parse("language fr"), lang("fr"));
        assert_eq!(parse("language fr-CA"), lang("fr"));
        assert_eq!(parse("Language Deutsch"), lang("de"));
        assert_eq!(parse("lang spanish"), lang("es"));
        assert_eq!(parse("langue français"), lang("fr"));
        assert_eq!(parse("language auto"), ChiefCommand::Language(None));
        assert!(help_error(parse("language")).contains("Which language"));
        let err = help_error(parse("language ja"));
        assert!(err.contains("`ja`") && err.contains("`auto`"), "{err}");
    }

    #[test]
    fn mute_and_unmute_read_escaped_mentions_names_and_ids() {
        let id = |id: &str, name: Option<&str>| ChannelRef::Id {
            id: id.into(),
            name: name.map(str::to_string),
        };
        assert_eq!(
            parse("mute <#C0123ABCD|random>"),
            ChiefCommand::Mute(vec![id("C0123ABCD", Some("random"))])
        );
        assert_eq!(
            parse("mute <#C0123ABCD|>"),
            ChiefCommand::Mute(vec![id("C0123ABCD", None)])
        );
        assert_eq!(
            parse("mute <#G0123ABCD>"),
            ChiefCommand::Mute(vec![id("G0123ABCD", None)])
        );
        assert_eq!(
            parse("mute #eng-platform"),
            ChiefCommand::Mute(vec![ChannelRef::Name("eng-platform".into())])
        );
        assert_eq!(
            parse("unmute C0123ABCD"),
            ChiefCommand::Unmute(vec![id("C0123ABCD", None)])
        );
        assert_eq!(
            parse("unmute #C0123ABCD"),
            ChiefCommand::Unmute(vec![id("C0123ABCD", None)])
        );
        assert_eq!(
            parse("mute <#C0123ABCD|random>, #general general"),
            ChiefCommand::Mute(vec![
                id("C0123ABCD", Some("random")),
                ChannelRef::Name("general".into())
            ])
        );
        assert_eq!(ChannelRef::Name("x".into()).to_string(), "#x");
        assert_eq!(id("C0123ABCD", None).to_string(), "<#C0123ABCD>");
    }

    #[test]
    fn mute_without_a_proper_channel_is_refused() {
        assert!(help_error(parse("mute")).contains("Which channel"));
        assert!(help_error(parse("unmute")).contains("Which channel"));
        assert!(help_error(parse("mute <@U0123ABCD>")).contains("not a channel"));
        assert!(help_error(parse("mute #Bad!Name")).contains("not a channel"));
    }

    #[test]
    fn the_help_lists_every_subcommand_in_slack_mrkdwn() {
        let help = help_text();
        for (usage, _) in SUBCOMMANDS {
            assert!(help.contains(&format!("`/chief {usage}`")), "{usage}");
        }
        // One example per variant, each of which the help must name.
        let examples = [
            ("briefing", ChiefCommand::Briefing),
            (
                "context https://a.slack.com/archives/C0123ABCD/p1700000000000100",
                parse("context https://a.slack.com/archives/C0123ABCD/p1700000000000100"),
            ),
            ("interests", ChiefCommand::Interests),
            ("interests add x", parse("interests add x")),
            ("interests remove x", parse("interests remove x")),
            ("time auto", parse("time auto")),
            ("days mon-fri", parse("days mon-fri")),
            ("mute #x", parse("mute #x")),
            ("unmute #x", parse("unmute #x")),
            ("language fr", parse("language fr")),
            ("team", ChiefCommand::Team),
            ("team set payments", parse("team set payments")),
            ("priorities", ChiefCommand::Priorities),
            ("pause", ChiefCommand::Pause),
            ("resume", ChiefCommand::Resume),
            ("help", ChiefCommand::Help { error: None }),
        ];
        // `name()` matches every variant exhaustively, so a new subcommand cannot compile
        // without a name, and cannot pass this test without an example and a help line.
        for (text, cmd) in examples {
            assert!(
                !matches!(cmd, ChiefCommand::Help { error: Some(_) }),
                "{text}"
            );
            assert!(text.starts_with(cmd.name()), "{text}");
            assert!(
                help.contains(&format!("`/chief {}", cmd.name())),
                "{}",
                cmd.name()
            );
        }
        assert!(!help.contains("**"), "mrkdwn bold is a single asterisk");
        assert!(help_reply(Some("Oops.")).starts_with(":warning: Oops."));
    }
}
