//! Slack markup → plain text, for storage and for every later task.
//!
//! Two inputs: mrkdwn (`text` of a message: `<@U123>`, `<#C1|general>`, `<https://x|label>`,
//! `&amp;`…) and `rich_text` blocks (what Slack's composer produces). Both become the same plain
//! text: mentions resolved to names through a [`Names`] lookup (falling back to the label Slack gave,
//! then the id), links as `label (url)`, entities decoded, emoji shortcodes kept (`:tada:`), lists
//! and quotes kept on their own lines. Formatting characters of mrkdwn (`*bold*`) are left as they
//! are: removing them cannot be done without damaging text such as `a*b*c` or `snake_case_names`.
//!
//! Everything here is pure: the caller loads the names it needs first ([`Refs`] says which).

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// Resolves ids to the names people see.
pub trait Names {
    fn user(&self, user_id: &str) -> Option<String>;
    fn channel(&self, channel_id: &str) -> Option<String>;
    fn usergroup(&self, _usergroup_id: &str) -> Option<String> {
        None
    }
}

/// No names known: every mention falls back to its label or id.
pub struct NoNames;

impl Names for NoNames {
    fn user(&self, _: &str) -> Option<String> {
        None
    }
    fn channel(&self, _: &str) -> Option<String> {
        None
    }
}

/// Names loaded up front (from the directory, or an export's users.json/channels.json).
#[derive(Clone, Debug, Default)]
pub struct NameMap {
    pub users: HashMap<String, String>,
    pub channels: HashMap<String, String>,
    pub usergroups: HashMap<String, String>,
}

impl Names for NameMap {
    fn user(&self, id: &str) -> Option<String> {
        self.users.get(id).cloned()
    }
    fn channel(&self, id: &str) -> Option<String> {
        self.channels.get(id).cloned()
    }
    fn usergroup(&self, id: &str) -> Option<String> {
        self.usergroups.get(id).cloned()
    }
}

/// The ids a piece of markup refers to: what to load before rendering it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Refs {
    pub users: BTreeSet<String>,
    pub channels: BTreeSet<String>,
}

impl Refs {
    pub fn extend(&mut self, other: Refs) {
        self.users.extend(other.users);
        self.channels.extend(other.channels);
    }
}

static ANGLE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<([^<>]*)>").expect("valid regex"));

/// Decodes the three entities Slack escapes (and the two common others).
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// One `<…>` token of mrkdwn.
enum Token<'a> {
    User(&'a str, Option<&'a str>),
    Channel(&'a str, Option<&'a str>),
    Special(&'a str, Option<&'a str>),
    Link(&'a str, Option<&'a str>),
}

fn token(inner: &str) -> Token<'_> {
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(l).filter(|l| !l.is_empty())),
        None => (inner, None),
    };
    if let Some(id) = target.strip_prefix('@') {
        Token::User(id, label)
    } else if let Some(id) = target.strip_prefix('#') {
        Token::Channel(id, label)
    } else if let Some(cmd) = target.strip_prefix('!') {
        Token::Special(cmd, label)
    } else {
        Token::Link(target, label)
    }
}

fn user_text(id: &str, label: Option<&str>, names: &dyn Names) -> String {
    let name = names
        .user(id)
        .or_else(|| label.map(|l| decode_entities(l.trim_start_matches('@'))))
        .unwrap_or_else(|| id.to_string());
    format!("@{name}")
}

fn channel_text(id: &str, label: Option<&str>, names: &dyn Names) -> String {
    let name = names
        .channel(id)
        .or_else(|| label.map(|l| decode_entities(l.trim_start_matches('#'))))
        .unwrap_or_else(|| id.to_string());
    format!("#{name}")
}

fn usergroup_text(id: &str, label: Option<&str>, names: &dyn Names) -> String {
    let name = names
        .usergroup(id)
        .or_else(|| label.map(|l| decode_entities(l.trim_start_matches('@'))))
        .unwrap_or_else(|| id.to_string());
    format!("@{name}")
}

fn link_text(url: &str, label: Option<&str>) -> String {
    let url = decode_entities(url);
    let bare = url
        .strip_prefix("mailto:")
        .or_else(|| url.strip_prefix("tel:"));
    match label.map(decode_entities) {
        Some(label)
            if label != url
                && Some(label.as_str()) != bare
                && label
                    != url
                        .trim_start_matches("https://")
                        .trim_start_matches("http://") =>
        {
            format!("{label} ({url})")
        }
        _ => bare.map(str::to_string).unwrap_or(url),
    }
}

fn special_text(cmd: &str, label: Option<&str>, names: &dyn Names) -> String {
    match cmd {
        "here" | "channel" | "everyone" => format!("@{cmd}"),
        _ => {
            if let Some(id) = cmd.strip_prefix("subteam^") {
                usergroup_text(id, label, names)
            } else if let Some(label) = label {
                // `<!date^1392734382^{date}|Feb 18, 2014>` and friends carry a readable fallback.
                decode_entities(label)
            } else {
                let word = cmd.split('^').next().unwrap_or(cmd);
                format!("@{word}")
            }
        }
    }
}

/// mrkdwn → plain text.
pub fn mrkdwn_to_plain(text: &str, names: &dyn Names) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for caps in ANGLE.captures_iter(text) {
        let (Some(whole), Some(inner)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        out.push_str(&decode_entities(&text[last..whole.start()]));
        out.push_str(&match token(inner.as_str()) {
            Token::User(id, label) => user_text(id, label, names),
            Token::Channel(id, label) => channel_text(id, label, names),
            Token::Special(cmd, label) => special_text(cmd, label, names),
            Token::Link(url, label) => link_text(url, label),
        });
        last = whole.end();
    }
    out.push_str(&decode_entities(&text[last..]));
    out
}

/// The users and channels mrkdwn mentions.
pub fn mrkdwn_refs(text: &str) -> Refs {
    let mut refs = Refs::default();
    for caps in ANGLE.captures_iter(text) {
        let Some(inner) = caps.get(1) else { continue };
        match token(inner.as_str()) {
            Token::User(id, _) if !id.is_empty() => {
                refs.users.insert(id.to_string());
            }
            Token::Channel(id, _) if !id.is_empty() => {
                refs.channels.insert(id.to_string());
            }
            _ => {}
        }
    }
    refs
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn elements(v: &Value) -> &[Value] {
    v.get("elements")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Whether `blocks` holds at least one `rich_text` block (then it is the message's best text).
pub fn has_rich_text(blocks: &Value) -> bool {
    blocks
        .as_array()
        .is_some_and(|b| b.iter().any(|b| str_of(b, "type") == Some("rich_text")))
}

/// Renders the `rich_text` blocks of a message; `None` when there are none.
pub fn rich_text_to_plain(blocks: &Value, names: &dyn Names) -> Option<String> {
    if !has_rich_text(blocks) {
        return None;
    }
    let mut out = String::new();
    for block in blocks.as_array().into_iter().flatten() {
        if str_of(block, "type") == Some("rich_text") {
            ensure_newline(&mut out);
            for element in elements(block) {
                render_block_element(element, names, &mut out);
            }
        }
    }
    Some(tidy(&out))
}

fn ensure_newline(out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

fn render_block_element(element: &Value, names: &dyn Names, out: &mut String) {
    match str_of(element, "type") {
        Some("rich_text_section") => render_inline(elements(element), names, out),
        Some("rich_text_list") => {
            ensure_newline(out);
            let ordered = str_of(element, "style") == Some("ordered");
            let indent = element.get("indent").and_then(Value::as_u64).unwrap_or(0) as usize;
            let offset = element.get("offset").and_then(Value::as_u64).unwrap_or(0) as usize;
            for (i, item) in elements(element).iter().enumerate() {
                out.push_str(&"  ".repeat(indent));
                if ordered {
                    out.push_str(&format!("{}. ", offset + i + 1));
                } else {
                    out.push_str("- ");
                }
                let mut line = String::new();
                render_block_element(item, names, &mut line);
                out.push_str(line.trim_end_matches('\n'));
                out.push('\n');
            }
        }
        Some("rich_text_quote") => {
            ensure_newline(out);
            let mut quoted = String::new();
            render_inline(elements(element), names, &mut quoted);
            for line in quoted.trim_end_matches('\n').split('\n') {
                out.push_str("> ");
                out.push_str(line);
                out.push('\n');
            }
        }
        Some("rich_text_preformatted") => {
            ensure_newline(out);
            render_inline(elements(element), names, out);
            out.push('\n');
        }
        // An inline element directly in a block (seen in older payloads).
        _ => render_inline(std::slice::from_ref(element), names, out),
    }
}

fn render_inline(items: &[Value], names: &dyn Names, out: &mut String) {
    for item in items {
        match str_of(item, "type") {
            Some("text") => out.push_str(item.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("link") => {
                if let Some(url) = str_of(item, "url") {
                    out.push_str(&link_text(url, str_of(item, "text")));
                }
            }
            Some("user") => {
                if let Some(id) = str_of(item, "user_id") {
                    out.push_str(&user_text(id, None, names));
                }
            }
            Some("channel") => {
                if let Some(id) = str_of(item, "channel_id") {
                    out.push_str(&channel_text(id, None, names));
                }
            }
            Some("usergroup") => {
                if let Some(id) = str_of(item, "usergroup_id") {
                    out.push_str(&usergroup_text(id, None, names));
                }
            }
            Some("emoji") => {
                if let Some(name) = str_of(item, "name") {
                    out.push(':');
                    out.push_str(name);
                    out.push(':');
                }
            }
            Some("broadcast") => {
                out.push('@');
                out.push_str(str_of(item, "range").unwrap_or("here"));
            }
            Some("date") => {
                if let Some(text) = str_of(item, "fallback").or_else(|| str_of(item, "text")) {
                    out.push_str(text);
                }
            }
            Some(
                "rich_text_section"
                | "rich_text_list"
                | "rich_text_quote"
                | "rich_text_preformatted",
            ) => render_block_element(item, names, out),
            _ => {
                if let Some(text) = str_of(item, "text") {
                    out.push_str(text);
                }
            }
        }
    }
}

/// The users and channels `rich_text` blocks mention.
pub fn rich_text_refs(blocks: &Value) -> Refs {
    let mut refs = Refs::default();
    collect_refs(blocks, &mut refs);
    refs
}

fn collect_refs(v: &Value, refs: &mut Refs) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect_refs(i, refs)),
        Value::Object(map) => {
            match map.get("type").and_then(Value::as_str) {
                Some("user") => {
                    if let Some(id) = str_of(v, "user_id") {
                        refs.users.insert(id.to_string());
                    }
                }
                Some("channel") => {
                    if let Some(id) = str_of(v, "channel_id") {
                        refs.channels.insert(id.to_string());
                    }
                }
                _ => {}
            }
            if let Some(children) = map.get("elements") {
                collect_refs(children, refs);
            }
        }
        _ => {}
    }
}

/// Trims trailing spaces on lines, at most one blank line in a row, no blank start or end.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank_run = 0;
    for line in s.split('\n') {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_string()
}

/// A message's plain text: its `rich_text` blocks when it has some (they carry structure the
/// `text` field flattens), else its mrkdwn `text`.
pub fn message_to_plain(text: &str, blocks: &Value, names: &dyn Names) -> String {
    rich_text_to_plain(blocks, names).unwrap_or_else(|| tidy(&mrkdwn_to_plain(text, names)))
}

/// What [`message_to_plain`] needs resolved.
pub fn message_refs(text: &str, blocks: &Value) -> Refs {
    let mut refs = mrkdwn_refs(text);
    refs.extend(rich_text_refs(blocks));
    refs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names() -> NameMap {
        let mut n = NameMap::default();
        n.users.insert("U074VRHQ11T".into(), "Ada".into());
        n.users.insert("U06NU4E26M9".into(), "Grace Hopper".into());
        n.channels.insert("C061A0WJG".into(), "datajam".into());
        n.usergroups.insert("S02TR6UTZS4".into(), "oncall".into());
        n
    }

    fn fixture(path: &str) -> Value {
        let full = format!("/work/shared/fixtures/payloads/{path}");
        serde_json::from_str(&std::fs::read_to_string(&full).unwrap()).unwrap()
    }

    #[test]
    fn mentions_resolve_to_names_or_fall_back_to_label_then_id() {
        let n = names();
        assert_eq!(
            mrkdwn_to_plain("<@U074VRHQ11T> and <@U999|bob> and <@U000>", &n),
            "@Ada and @bob and @U000"
        );
        assert_eq!(
            mrkdwn_to_plain("see <#C061A0WJG> and <#C2|random> and <#C3|>", &n),
            "see #datajam and #random and #C3"
        );
        assert_eq!(
            mrkdwn_to_plain(
                "<!here> <!channel|channel> <!subteam^S02TR6UTZS4|@team>",
                &n
            ),
            "@here @channel @oncall"
        );
    }

    #[test]
    fn links_keep_label_and_url() {
        let n = NoNames;
        assert_eq!(
            mrkdwn_to_plain("read <https://x.org/a?b=1&amp;c=2|the doc>", &n),
            "read the doc (https://x.org/a?b=1&c=2)"
        );
        assert_eq!(mrkdwn_to_plain("<https://x.org>", &n), "https://x.org");
        assert_eq!(
            mrkdwn_to_plain("<http://example.com|example.com>", &n),
            "http://example.com"
        );
        assert_eq!(
            mrkdwn_to_plain("mail <mailto:a@b.org|a@b.org>", &n),
            "mail a@b.org"
        );
        assert_eq!(
            mrkdwn_to_plain("<!date^1392734382^{date}|Feb 18, 2014>", &n),
            "Feb 18, 2014"
        );
    }

    #[test]
    fn entities_are_decoded_and_emoji_kept() {
        assert_eq!(
            mrkdwn_to_plain("a &lt;b&gt; &amp;lt; c :tada: *bold*", &NoNames),
            "a <b> &lt; c :tada: *bold*"
        );
    }

    #[test]
    fn a_real_houston_message_with_legacy_labels() {
        // houston/general/2016-01-15.json: a file comment with a labelled mention and link.
        let text = "<@U0J8SUPPY|eloy> commented on U064SRKPD's file <https://houstondatavis.slack.com/files/amandashih/F0JDJ524E/01_11_2016_Meetup|01/11/2016 Meetup>: Did you type this up";
        assert_eq!(
            mrkdwn_to_plain(text, &NoNames),
            "@eloy commented on U064SRKPD's file 01/11/2016 Meetup (https://houstondatavis.slack.com/files/amandashih/F0JDJ524E/01_11_2016_Meetup): Did you type this up"
        );
        assert_eq!(
            mrkdwn_refs(text).users.into_iter().collect::<Vec<_>>(),
            vec!["U0J8SUPPY".to_string()]
        );
    }

    #[test]
    fn zulip_rich_text_mentions_become_names() {
        let event = &fixture(
            "zulip/zerver/webhooks/slack/fixtures/message_with_user_mentions.json",
        )["event"];
        let text = event["text"].as_str().unwrap();
        let blocks = &event["blocks"];
        let refs = message_refs(text, blocks);
        assert_eq!(refs.users.len(), 3);
        let plain = message_to_plain(text, blocks, &names());
        assert_eq!(
            plain,
            "@Ada @U074G5E1ANR @Grace Hopper hello, this is a message with mentions"
        );
        // The mrkdwn path gives the same result.
        assert_eq!(tidy(&mrkdwn_to_plain(text, &names())), plain);
    }

    #[test]
    fn zulip_styles_are_dropped_in_rich_text() {
        let event = &fixture(
            "zulip/zerver/webhooks/slack/fixtures/message_with_complex_formatted_texts.json",
        )["event"];
        let plain = message_to_plain(event["text"].as_str().unwrap(), &event["blocks"], &NoNames);
        assert_eq!(
            plain,
            "this is text messages with overlapping formatting\nbold with italic\nbold with strike through\nitalic with strike through\nall three"
        );
    }

    #[test]
    fn abbot_rich_text_lists_quotes_code_and_mentions() {
        let event =
            &fixture("abbot/tests/Abbot.Web.Library.Tests/Serialization/message.json")["event"];
        let plain = message_to_plain(event["text"].as_str().unwrap(), &event["blocks"], &names());
        assert_eq!(
            plain,
            ".ping testing\n1. rich\n2. formatting\n\n> Quoted\n\nInline code\n\npublic class C {\n}\n\n @oncall\n\n#C02SPDHPBPC"
        );
        let refs = rich_text_refs(&event["blocks"]);
        assert!(refs.channels.contains("C02SPDHPBPC"));
    }

    #[test]
    fn rich_text_links_and_emoji() {
        let blocks = json!([{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
            {"type": "emoji", "name": "wave"},
            {"type": "text", "text": " see "},
            {"type": "link", "url": "https://r.org", "text": "Racket"},
            {"type": "text", "text": " and "},
            {"type": "link", "url": "https://r.org/doc"},
            {"type": "broadcast", "range": "channel"}
        ]}]}]);
        assert_eq!(
            rich_text_to_plain(&blocks, &NoNames).unwrap(),
            ":wave: see Racket (https://r.org) and https://r.org/doc@channel"
        );
        assert_eq!(
            rich_text_to_plain(&json!([{"type": "section"}]), &NoNames),
            None
        );
        assert_eq!(rich_text_to_plain(&json!("garbage"), &NoNames), None);
    }
}
