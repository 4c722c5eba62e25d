//! Guardrail: checks a generated text against its sources before anyone sees it.
//!
//! A pure checker ([`Guardrail::check`]) of [`FAITHFULNESS`], the one set of rules the writer
//! (`GenerateBriefing`'s prompt) is given too: paraphrase is free, facts are not. Names, numbers
//! and dates must appear in (or, for dates, follow from) the sources, in any equivalent form
//! ([`Evidence`] normalises: case, plurals and possessives, "3-dimensional" → "3d", number words
//! → digits, "10,000" → "10000", a URL's host → the site's name); the reader is "you", never named in the third person; every section
//! cites at least one source and every sentence carries its sources; no cited message lies outside
//! what the reader may see; the text fits Slack (characters per section, blocks per message).
//! It returns the violations and a critique to send back for regeneration. As a [`Task`], its
//! extractive answer is the same check, and a model may add a critique of its own.

use std::collections::{BTreeSet, HashSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

use super::types::{
    ChannelInfo, ChatMessage, MessageRef, Proposition, Reader, TextSection, json_prompt,
};
use super::{Prompt, Task};
use crate::ai::extractive::dates::{self, local_date};
use crate::ai::extractive::entities::{self, find_word};
use crate::ai::extractive::support::{self, Cited, Claim};
use crate::ai::extractive::{person, templates, text};

/// What a text may say about its sources — the writer's instructions and the guardrail's checks,
/// written once. Before it, the writer was told to use the stories' facts while the guardrail
/// matched the messages' literal words, so good paraphrases ("3D" for "3-dimensional", "Reddit"
/// for a reddit.com link) cost a correction call on most days.
pub const FAITHFULNESS: &str = "Paraphrase freely: the wording, order and length are yours. Facts \
are not: every number, date, time, person's name, name of a product, project, place or site, and \
URL must appear in the messages the story cites (`messages`), as written or in an equivalent \
form: digits or number words (\"3D\" for \"3-dimensional\", \"2\" for \"two\"), a site by its \
address (\"Reddit\" for reddit.com/r/…), any letter case, singular or plural. A weekday or date \
must be one the messages state or imply. Never add a fact, a person or a number they do not give.";

/// Slack's limits for one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SlackLimits {
    /// Characters of one section block's text.
    pub max_section_chars: usize,
    /// Blocks per message.
    pub max_blocks: usize,
    /// Blocks one text section renders to (header + body + sources context).
    pub blocks_per_section: usize,
    /// Blocks outside the sections (intro, footer, actions).
    pub fixed_blocks: usize,
}

impl Default for SlackLimits {
    fn default() -> Self {
        SlackLimits {
            max_section_chars: 3_000,
            max_blocks: 50,
            blocks_per_section: 3,
            fixed_blocks: 2,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GuardrailInput {
    pub sections: Vec<TextSection>,
    /// Every message the text may rest on.
    pub sources: Vec<ChatMessage>,
    /// Messages the reader may see (their channels); citing any other is a leak.
    pub allowed_sources: Vec<MessageRef>,
    pub reader: Reader,
    /// Names of people in the workspace: one of them in the text but not in the sources is
    /// invented even at the start of a sentence.
    #[serde(default)]
    pub known_people: Vec<String>,
    /// Channels of the sources (for `#names`).
    #[serde(default)]
    pub channels: Vec<ChannelInfo>,
    #[serde(default)]
    pub limits: SlackLimits,
    #[serde(default)]
    pub utc_offset_secs: i32,
    /// The propositions of the sources: each sentence must say what the propositions of the
    /// messages it cites say (see `ai::extractive::support`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub propositions: Vec<Proposition>,
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Violation {
    InventedName {
        section: usize,
        name: String,
    },
    UnsupportedNumber {
        section: usize,
        number: String,
    },
    UnsupportedDate {
        section: usize,
        date: String,
    },
    ReaderInThirdPerson {
        section: usize,
        name: String,
    },
    MissingCitation {
        section: usize,
    },
    UncitedSentence {
        section: usize,
        sentence: String,
    },
    ForbiddenSource {
        section: usize,
        source: MessageRef,
    },
    SectionTooLong {
        section: usize,
        chars: usize,
        limit: usize,
    },
    TooManyBlocks {
        blocks: usize,
        limit: usize,
    },
    UnsupportedLink {
        section: usize,
        url: String,
    },
    /// A sentence that does not say what the messages it cites say: another actor, act,
    /// polarity, entity or day, or a claim they do not make.
    Unfaithful {
        section: usize,
        sentence: String,
        problem: String,
    },
}

impl Violation {
    /// The instruction that fixes it.
    pub fn describe(&self) -> String {
        match self {
            Violation::InventedName { section, name } => format!(
                "Section {}: the name \"{name}\" is not in the sources; use only names that appear in the sources.",
                section + 1
            ),
            Violation::UnsupportedNumber { section, number } => format!(
                "Section {}: the number \"{number}\" is not in the sources; do not state numbers the sources do not give.",
                section + 1
            ),
            Violation::UnsupportedDate { section, date } => format!(
                "Section {}: the date \"{date}\" does not follow from the sources; only give dates the messages state.",
                section + 1
            ),
            Violation::ReaderInThirdPerson { section, name } => format!(
                "Section {}: the reader is named as \"{name}\"; address the reader as \"you\" and describe their own actions in the second person.",
                section + 1
            ),
            Violation::MissingCitation { section } => format!(
                "Section {} cites no source message; cite at least one.",
                section + 1
            ),
            Violation::UncitedSentence { section, sentence } => format!(
                "Section {}: the sentence \"{sentence}\" has no sources; every sentence must cite its messages.",
                section + 1
            ),
            Violation::ForbiddenSource { section, source } => format!(
                "Section {} cites message {}/{} which the reader may not see; cite only the given sources.",
                section + 1,
                source.channel_id,
                source.ts
            ),
            Violation::SectionTooLong {
                section,
                chars,
                limit,
            } => format!(
                "Section {} is {chars} characters; keep each section under {limit}.",
                section + 1
            ),
            Violation::UnsupportedLink { section, url } => format!(
                "Section {}: the link \"{url}\" is not in the sources; give only links the messages give.",
                section + 1
            ),
            Violation::Unfaithful {
                section,
                sentence,
                problem,
            } => format!(
                "Section {}: the sentence \"{sentence}\" does not say what the messages it cites say: {problem}. Say only what they say, or cite the messages that say it.",
                section + 1
            ),
            Violation::TooManyBlocks { blocks, limit } => {
                format!(
                    "The text needs {blocks} blocks; use fewer sections (at most {limit} blocks)."
                )
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GuardrailReport {
    pub passed: bool,
    pub violations: Vec<Violation>,
    /// Instructions for regenerating the text; empty when it passed.
    pub critique: String,
}

/// The checker.
#[derive(Clone, Copy, Debug, Default)]
pub struct Guardrail;

const INSTRUCTIONS: &str = "You check a generated briefing against its source messages by \
these rules (the writer's too): see FAITHFULNESS below. Report every name, number or date in \
`sections` that the sources do not support by them, every place where the \
reader (see `reader`) is named in the third person instead of being addressed as \"you\", every \
section without a cited source, every cited source not in `allowed_sources`, and every section \
longer than `limits.max_section_chars`. Answer as {\"passed\": bool, \"violations\": [...], \
\"critique\": \"instructions to fix the text\"}.";

impl Task for Guardrail {
    type Input = GuardrailInput;
    type Output = GuardrailReport;

    fn name(&self) -> &'static str {
        "guardrail"
    }

    fn prompt(&self, input: &Self::Input) -> Prompt {
        json_prompt(
            &format!("{INSTRUCTIONS}\n\nFAITHFULNESS: {FAITHFULNESS}"),
            input,
        )
    }

    fn extractive(&self, input: &Self::Input) -> Self::Output {
        self.check(input)
    }
}

/// What the sources support: their words in every form [`FAITHFULNESS`] allows.
struct Evidence {
    words: HashSet<String>,
    dates: HashSet<(u32, u32)>,
    people: Vec<String>,
    /// The sources' texts as [`link_key`] compares links.
    links: Vec<String>,
}

/// A link as compared with the sources: lower-cased, without scheme or `www.`, without a
/// trailing slash (a text may drop them).
fn link_key(url: &str) -> String {
    let lower = url.to_lowercase();
    let rest = lower
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches("www.");
    rest.trim_end_matches('/').to_string()
}

impl Evidence {
    /// Whether a word of the text (lower-cased) is one the sources give, in any allowed form:
    /// as written, singular or plural, a possessive's name, a number without its separators or
    /// ordinal suffix.
    fn supports(&self, lower: &str) -> bool {
        let lower = lower.replace('’', "'");
        let base = lower.strip_suffix("'s").unwrap_or(&lower);
        let mut forms: Vec<String> = vec![lower.clone(), base.to_string()];
        for suffix in ["es", "s"] {
            if let Some(stem) = base.strip_suffix(suffix) {
                forms.push(stem.to_string());
            }
        }
        forms.push(format!("{base}s"));
        if base.chars().any(|c| c.is_ascii_digit()) {
            let plain = compact_number(base);
            for suffix in ["st", "nd", "rd", "th"] {
                if let Some(n) = plain.strip_suffix(suffix)
                    && n.chars().all(|c| c.is_ascii_digit())
                {
                    forms.push(n.to_string());
                }
            }
            forms.push(plain);
        }
        forms
            .iter()
            .any(|f| !f.is_empty() && self.words.contains(f))
    }
}

/// "10,000" → "10000", "1 000" stays two words: separators inside a number are not facts.
fn compact_number(word: &str) -> String {
    word.chars()
        .filter(|c| !matches!(c, ',' | '\'' | '_'))
        .collect()
}

/// Number words the sources may spell out ("three brokers") and a text may give as digits.
fn number_word(lower: &str) -> Option<u32> {
    const WORDS: [&str; 21] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    WORDS
        .iter()
        .position(|w| *w == lower)
        .map(|i| i as u32)
        .or(match lower {
            "dozen" => Some(12),
            "hundred" => Some(100),
            "thousand" => Some(1000),
            _ => None,
        })
}

/// The forms a source text's words support beyond themselves: "3-dimensional" or "3
/// dimensional" → "3d" and "3dimensional"; "three" → "3"; "10,000" → "10000"; every URL's host
/// → its labels ("www.reddit.com/r/x" → "reddit", "reddit.com").
fn equivalent_forms(text: &str, words: &mut HashSet<String>) {
    static LINK: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)(?:https?://|www\.)([a-z0-9.\-]+)").expect("static regex")
    });
    for caps in LINK.captures_iter(text) {
        let host = caps[1].to_lowercase();
        let host = host.trim_start_matches("www.").trim_end_matches('.');
        words.insert(host.to_string());
        let labels: Vec<&str> = host.split('.').filter(|l| !l.is_empty()).collect();
        for l in &labels {
            words.insert(l.to_string());
            // "stack-overflow" names Stack Overflow: its parts too.
            for part in l.split('-') {
                words.insert(part.to_string());
            }
        }
    }
    let tokens: Vec<String> = text
        .split_word_bounds()
        .map(|w| w.to_lowercase())
        .filter(|w| !w.trim().is_empty())
        .collect();
    for (i, t) in tokens.iter().enumerate() {
        if let Some(n) = number_word(t) {
            words.insert(n.to_string());
        }
        if t.chars().any(|c| c.is_ascii_digit()) {
            words.insert(compact_number(t));
            let next = match tokens.get(i + 1).map(String::as_str) {
                Some("-") => tokens.get(i + 2),
                _ => tokens.get(i + 1),
            };
            if let Some(word) = next.filter(|w| w.chars().all(char::is_alphabetic))
                && let Some(first) = word.chars().next()
            {
                words.insert(format!("{t}{first}"));
                words.insert(format!("{t}{word}"));
            }
        }
    }
}

fn evidence(input: &GuardrailInput) -> Evidence {
    use chrono::Datelike;
    let mut words: HashSet<String> = HashSet::new();
    let mut dates_seen: HashSet<(u32, u32)> = HashSet::new();
    let mut people: Vec<String> = Vec::new();
    let add_words = |t: &str, words: &mut HashSet<String>| {
        for w in t.split_word_bounds() {
            let lower = w.to_lowercase();
            if lower.chars().any(char::is_alphanumeric) {
                words.insert(lower.replace('’', "'"));
            }
        }
    };
    for m in &input.sources {
        let cleaned = text::clean(&m.text);
        add_words(&cleaned, &mut words);
        equivalent_forms(&m.text, &mut words);
        equivalent_forms(&cleaned, &mut words);
        add_words(&m.author, &mut words);
        people.push(m.author.clone());
        people.extend(entities::mentions(&cleaned));
        let posted = local_date(m.posted_at, input.utc_offset_secs);
        dates_seen.insert((posted.month(), posted.day()));
        for d in dates::find_dates(&cleaned, m.posted_at, input.utc_offset_secs) {
            dates_seen.insert((d.date.month(), d.date.day()));
        }
    }
    for c in &input.channels {
        add_words(&c.name, &mut words);
    }
    // chief's own framing words are not claims.
    for w in template_vocabulary() {
        words.insert(w);
    }
    let links = input
        .sources
        .iter()
        .map(|m| {
            m.text
                .to_lowercase()
                .replace("https://", "")
                .replace("http://", "")
                .replace("www.", "")
        })
        .collect();
    Evidence {
        words,
        dates: dates_seen,
        people,
        links,
    }
}

/// Every word the framing templates can produce (in any language), lower-cased.
pub fn template_vocabulary() -> Vec<String> {
    templates::vocabulary().iter().cloned().collect()
}

/// The drifts the guardrail rejects in one cited sentence, against the messages it cites and
/// their propositions (empty when it says what they say). Sentences citing nothing the input
/// holds are left to the other checks.
fn unfaithful(
    input: &GuardrailInput,
    sentence: &super::types::CitedSentence,
    reader_names: &[String],
) -> Vec<support::Drift> {
    let refs: HashSet<&MessageRef> = sentence.sources.iter().collect();
    let cited: Vec<Cited> = input
        .sources
        .iter()
        .filter(|m| refs.contains(&m.id))
        .map(|m| Cited {
            author: &m.author,
            text: &m.text,
            posted_at: m.posted_at,
        })
        .collect();
    if cited.is_empty() {
        return Vec::new();
    }
    let propositions: Vec<&Proposition> = input
        .propositions
        .iter()
        .filter(|p| p.sources.iter().any(|s| refs.contains(s)))
        .collect();
    let drifts = support::check(&Claim {
        sentence: &sentence.text,
        cited,
        propositions,
        reader: reader_names,
        known_people: &input.known_people,
        channels: input
            .channels
            .iter()
            .filter(|c| sentence.sources.iter().any(|s| s.channel_id == c.id))
            .map(|c| c.name.as_str())
            .collect(),
        utc_offset_secs: input.utc_offset_secs,
    });
    if !drifts.is_empty() {
        tracing::debug!(sentence = %sentence.text, ?drifts, "unfaithful sentence");
    }
    drifts.into_iter().filter(|d| d.rejects()).collect()
}

fn sentence_starts(text: &str) -> BTreeSet<usize> {
    let mut starts = BTreeSet::new();
    let mut expect = true;
    for (i, w) in text.split_word_bound_indices() {
        if w.chars().any(char::is_alphanumeric) {
            if expect {
                starts.insert(i);
            }
            expect = false;
        } else if w.contains(['.', '!', '?', ':', '\n', '"', '“', '(', '-', '—']) {
            expect = true;
        }
    }
    starts
}

impl Guardrail {
    pub fn check(&self, input: &GuardrailInput) -> GuardrailReport {
        let _span = tracing::debug_span!("guardrail", sections = input.sections.len()).entered();
        use chrono::Datelike;
        let ev = evidence(input);
        let allowed: HashSet<&MessageRef> = input.allowed_sources.iter().collect();
        let reader_names = input.reader.names();
        let reference_day = input
            .sources
            .iter()
            .map(|m| m.posted_at)
            .max()
            .map(|t| local_date(t, input.utc_offset_secs))
            .unwrap_or_default();
        let mut violations: Vec<Violation> = Vec::new();
        let push = |v: Violation, list: &mut Vec<Violation>| {
            if !list.contains(&v) {
                list.push(v);
            }
        };

        for (si, section) in input.sections.iter().enumerate() {
            let cited: Vec<&MessageRef> =
                section.sentences.iter().flat_map(|s| &s.sources).collect();
            if cited.is_empty() {
                push(Violation::MissingCitation { section: si }, &mut violations);
            }
            for r in &cited {
                if !allowed.contains(r) {
                    push(
                        Violation::ForbiddenSource {
                            section: si,
                            source: (*r).clone(),
                        },
                        &mut violations,
                    );
                }
            }
            let chars = section.rendered().chars().count();
            if chars > input.limits.max_section_chars {
                push(
                    Violation::SectionTooLong {
                        section: si,
                        chars,
                        limit: input.limits.max_section_chars,
                    },
                    &mut violations,
                );
            }
            let texts: Vec<(&str, bool)> = std::iter::once((section.title.as_str(), true))
                .chain(
                    section
                        .sentences
                        .iter()
                        .map(|s| (s.text.as_str(), !s.sources.is_empty())),
                )
                .collect();
            for s in &section.sentences {
                if s.sources.is_empty() && !cited.is_empty() {
                    push(
                        Violation::UncitedSentence {
                            section: si,
                            sentence: s.text.clone(),
                        },
                        &mut violations,
                    );
                }
            }
            let semantic: Vec<(&str, Vec<support::Drift>)> = section
                .sentences
                .iter()
                .filter(|s| !s.sources.is_empty())
                .map(|s| (s.text.as_str(), unfaithful(input, s, &reader_names)))
                .filter(|(_, d)| !d.is_empty())
                .collect();
            for (t, _) in texts {
                if let Some(name) = person::names_reader(t, &reader_names) {
                    push(
                        Violation::ReaderInThirdPerson { section: si, name },
                        &mut violations,
                    );
                }
                // Dates: explicit calendar dates must be dates the sources state or imply.
                let found_dates = dates::explicit_dates(t, reference_day);
                for d in &found_dates {
                    if !ev.dates.contains(&(d.date.month(), d.date.day())) {
                        push(
                            Violation::UnsupportedDate {
                                section: si,
                                date: d.phrase.clone(),
                            },
                            &mut violations,
                        );
                    }
                }
                let in_date =
                    |pos: usize| found_dates.iter().any(|d| d.start <= pos && pos < d.end);
                let starts = sentence_starts(t);
                let lower_text = t.to_lowercase();
                // Known people absent from the sources are invented wherever they appear.
                for p in &input.known_people {
                    let lower = p.to_lowercase();
                    let in_sources = ev.people.iter().any(|x| x.eq_ignore_ascii_case(p))
                        || lower.split_whitespace().all(|w| ev.words.contains(w));
                    if !in_sources
                        && !input.reader.is(p)
                        && find_word(&lower_text, &lower).is_some()
                    {
                        push(
                            Violation::InventedName {
                                section: si,
                                name: p.clone(),
                            },
                            &mut violations,
                        );
                    }
                }
                let mut skip_until = 0;
                // German capitalises every noun: there a capitalised word after an article
                // ("den Termin", "seit dem Vortag", "am selben Tag") is a noun, not a name.
                // (A sentence too short to tell is in the reader's language.)
                let german = crate::ai::extractive::lang::detect(t).unwrap_or(input.reader.lang())
                    == crate::ai::extractive::Lang::De;
                let mut previous: [String; 2] = Default::default();
                for (pos, w) in t.split_word_bound_indices() {
                    if pos < skip_until || !w.chars().any(char::is_alphanumeric) {
                        continue;
                    }
                    let lower = w.to_lowercase().replace('’', "'");
                    let after_article = german && text::follows_german_article(&previous);
                    previous = [previous[1].clone(), lower.clone()];
                    // A link must be one the sources give (its words are not names).
                    if t[pos..].starts_with("http") || t[pos..].starts_with("www.") {
                        skip_until =
                            pos + t[pos..].find(char::is_whitespace).unwrap_or(t.len() - pos);
                        let url =
                            t[pos..skip_until].trim_end_matches(['.', ',', ';', ':', ')', '>']);
                        if !ev.links.iter().any(|l| l.contains(&link_key(url))) {
                            push(
                                Violation::UnsupportedLink {
                                    section: si,
                                    url: url.to_string(),
                                },
                                &mut violations,
                            );
                        }
                        continue;
                    }
                    if w.chars().any(|c| c.is_ascii_digit()) {
                        if !in_date(pos) && !ev.supports(&lower) {
                            push(
                                Violation::UnsupportedNumber {
                                    section: si,
                                    number: w.to_string(),
                                },
                                &mut violations,
                            );
                        }
                        continue;
                    }
                    let capitalised = w.chars().next().is_some_and(char::is_uppercase);
                    // "Fong's" is Fong, named in the sources.
                    let base = lower.strip_suffix("'s").unwrap_or(&lower);
                    // "Release-Termin": the capitalised tail of a German compound is a noun.
                    let compound_tail = german && t[..pos].ends_with('-');
                    if !capitalised
                        || after_article
                        || compound_tail
                        || starts.contains(&pos)
                        || in_date(pos)
                        || ev.supports(&lower)
                        || text::is_stop_word(&lower)
                        || text::is_calendar_word(&lower)
                        || w.chars().count() < 2
                        || reader_names
                            .iter()
                            .any(|n| n.eq_ignore_ascii_case(w) || n.eq_ignore_ascii_case(base))
                    {
                        continue;
                    }
                    push(
                        Violation::InventedName {
                            section: si,
                            name: w.to_string(),
                        },
                        &mut violations,
                    );
                }
            }
            // What the lexical checks already named is not said twice.
            let named_already = |d: &support::Drift| {
                violations.iter().any(|v| match (v, d) {
                    (
                        Violation::InventedName { name, section },
                        support::Drift::Person { name: word },
                    )
                    | (
                        Violation::InventedName { name, section },
                        support::Drift::Actor { name: word, .. },
                    ) => *section == si && crate::model::proposition::same_person(name, word),
                    (
                        Violation::InventedName { name, section },
                        support::Drift::Entity { word },
                    )
                    | (
                        Violation::UnsupportedNumber {
                            number: name,
                            section,
                        },
                        support::Drift::Entity { word },
                    ) => *section == si && name.eq_ignore_ascii_case(word),
                    (Violation::UnsupportedDate { section, .. }, support::Drift::Date { .. }) => {
                        *section == si
                    }
                    _ => false,
                })
            };
            let found: Vec<Violation> = semantic
                .into_iter()
                .filter_map(|(sentence, drifts)| {
                    let problems: Vec<String> = drifts
                        .iter()
                        .filter(|d| !named_already(d))
                        .map(support::Drift::describe)
                        .collect();
                    (!problems.is_empty()).then(|| Violation::Unfaithful {
                        section: si,
                        sentence: sentence.to_string(),
                        problem: problems.join("; "),
                    })
                })
                .collect();
            for v in found {
                push(v, &mut violations);
            }
        }
        let blocks =
            input.limits.fixed_blocks + input.sections.len() * input.limits.blocks_per_section;
        if blocks > input.limits.max_blocks {
            push(
                Violation::TooManyBlocks {
                    blocks,
                    limit: input.limits.max_blocks,
                },
                &mut violations,
            );
        }
        let critique = if violations.is_empty() {
            String::new()
        } else {
            let mut c = String::from("Rewrite the text and fix these problems:\n");
            for (i, v) in violations.iter().enumerate() {
                c.push_str(&format!("{}. {}\n", i + 1, v.describe()));
            }
            c
        };
        GuardrailReport {
            passed: violations.is_empty(),
            violations,
            critique,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::tasks::types::{CitedSentence, testkit};

    /// Wednesday 1 May 2024, 10:00 UTC.
    const WED: i64 = 1_714_557_600;

    fn msg(i: i64, author: &str, text: &str) -> ChatMessage {
        ChatMessage {
            id: MessageRef {
                channel_id: "C1".into(),
                ts: format!("{}.000100", WED + i),
            },
            author: author.into(),
            author_id: None,
            text: text.into(),
            posted_at: WED + i,
        }
    }

    fn sources() -> Vec<ChatMessage> {
        vec![
            msg(
                0,
                "Ann",
                "The Kafka upgrade is blocked until tomorrow, 3 brokers still on v2.8",
            ),
            msg(
                60,
                "Ben",
                "@Zoe can you approve the Kafka maintenance window?",
            ),
        ]
    }

    fn input(sentences: Vec<CitedSentence>) -> GuardrailInput {
        let sources = sources();
        GuardrailInput {
            sections: vec![TextSection {
                title: "Kafka upgrade".into(),
                sentences,
            }],
            allowed_sources: sources.iter().map(|m| m.id.clone()).collect(),
            sources,
            reader: Reader {
                id: "U-ZOE".into(),
                name: "Zoe".into(),
                aliases: vec!["Zoe Quinn".into()],
                language: "en".into(),
            },
            known_people: vec!["Ann".into(), "Ben".into(), "Zoe".into(), "Priya".into()],
            channels: vec![ChannelInfo {
                id: "C1".into(),
                name: "infra".into(),
            }],
            limits: SlackLimits::default(),
            utc_offset_secs: 0,
            propositions: vec![],
        }
    }

    fn cite(text: &str, which: &[usize]) -> CitedSentence {
        let s = sources();
        CitedSentence::new(text, which.iter().map(|&i| s[i].id.clone()).collect())
    }

    fn kinds(report: &GuardrailReport) -> Vec<String> {
        report
            .violations
            .iter()
            .map(|v| {
                serde_json::to_value(v).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn a_faithful_second_person_text_passes() {
        let report = Guardrail.check(&input(vec![
            cite("Kafka upgrade came up in #infra, with Ann and Ben.", &[0, 1]),
            cite("Ann says the Kafka upgrade is blocked until Thursday 2 May, with 3 brokers on v2.8.", &[0]),
            cite("Ben asks you to approve the Kafka maintenance window.", &[1]),
            cite("This is for you because you were mentioned and it is urgent.", &[1]),
        ]));
        assert!(report.passed, "{:#?}", report.violations);
        assert!(report.critique.is_empty());
    }

    #[test]
    fn an_invented_name_is_caught_even_mid_sentence() {
        let report = Guardrail.check(&input(vec![cite(
            "Ben and Marcus want you to approve the window.",
            &[1],
        )]));
        assert_eq!(
            report.violations,
            [Violation::InventedName {
                section: 0,
                name: "Marcus".into()
            }]
        );
        assert!(report.critique.contains("\"Marcus\" is not in the sources"));
        // A known person who is not in the sources, even at the start of a sentence.
        let report = Guardrail.check(&input(vec![cite("Priya approved the window.", &[1])]));
        assert_eq!(kinds(&report), ["invented_name"]);
        // Weekdays, months and common words are not names.
        let report = Guardrail.check(&input(vec![cite(
            "On Thursday the Kafka upgrade resumes, Ann says. Meanwhile Ben waits.",
            &[0, 1],
        )]));
        assert!(report.passed, "{:#?}", report.violations);
        // A possessive is the name it is made of.
        let report = Guardrail.check(&input(vec![cite("The change moves Ben's window.", &[1])]));
        assert!(report.passed, "{:#?}", report.violations);
        let report = Guardrail.check(&input(vec![cite(
            "The change moves Marcus's window.",
            &[1],
        )]));
        assert_eq!(kinds(&report), ["invented_name"]);
    }

    #[test]
    fn the_reader_named_in_the_third_person_is_caught() {
        let report = Guardrail.check(&input(vec![cite(
            "Ben asks Zoe to approve the window.",
            &[1],
        )]));
        assert_eq!(
            report.violations,
            [Violation::ReaderInThirdPerson {
                section: 0,
                name: "Zoe".into()
            }]
        );
    }

    #[test]
    fn numbers_and_dates_must_come_from_the_sources() {
        let report = Guardrail.check(&input(vec![cite(
            "Ann says 5 brokers are blocked until Friday 3 May.",
            &[0],
        )]));
        assert_eq!(kinds(&report), ["unsupported_date", "unsupported_number"]);
    }

    #[test]
    fn citations_sources_and_size_are_checked() {
        let report = Guardrail.check(&input(vec![CitedSentence::new("Ann is blocked.", vec![])]));
        assert_eq!(kinds(&report), ["missing_citation"]);

        let mut i = input(vec![
            cite("Ann is blocked.", &[0]),
            cite("Ben asks you to approve it.", &[1]),
        ]);
        i.allowed_sources.pop();
        let report = Guardrail.check(&i);
        assert_eq!(kinds(&report), ["forbidden_source"]);

        let long = format!("Ann is blocked. {}", "Kafka ".repeat(600));
        let report = Guardrail.check(&input(vec![cite(&long, &[0])]));
        assert_eq!(kinds(&report), ["section_too_long"]);

        let mut many = input(vec![cite("Ann is blocked.", &[0])]);
        many.sections = vec![many.sections[0].clone(); 17];
        let report = Guardrail.check(&many);
        assert_eq!(kinds(&report), ["too_many_blocks"]);
    }

    /// The rules the writer is given are the rules checked: a paraphrase of the sources passes,
    /// in any equivalent form; a fact they do not give fails.
    #[test]
    fn paraphrases_pass_and_inventions_fail() {
        let mut i = input(vec![]);
        i.sources = vec![
            msg(
                0,
                "Ann",
                "We could try 3-dimensional printing for the prototype, see https://www.reddit.com/r/3Dprinting/comments/abc",
            ),
            msg(
                60,
                "Ben",
                "three brokers are down and 10,000 users are waiting",
            ),
        ];
        i.allowed_sources = i.sources.iter().map(|m| m.id.clone()).collect();
        let all: Vec<MessageRef> = i.allowed_sources.clone();
        let check = |text: &str| {
            let mut i = i.clone();
            i.sections[0].sentences = vec![CitedSentence::new(text, all.clone())];
            Guardrail.check(&i)
        };
        for good in [
            "Ann suggests 3D printing for the prototype, from a thread on Reddit.",
            "Ann points to the Reddit thread www.reddit.com/r/3Dprinting/comments/abc.",
            "Ben says 3 brokers are down and 10000 users wait.",
            "Ben says 10,000 users wait on the Brokers.",
        ] {
            let report = check(good);
            assert!(report.passed, "{good}: {:#?}", report.violations);
        }
        for (bad, kind) in [
            (
                "Ann wants the prototype printed by Friday 3 May.",
                "unsupported_date",
            ),
            ("Ann and Marcus suggest 3D printing.", "invented_name"),
            ("Ben says 4 brokers are down.", "unsupported_number"),
            ("Ann suggests 4D printing.", "unsupported_number"),
            (
                "Ann links https://example.com/printing for it.",
                "unsupported_link",
            ),
        ] {
            assert_eq!(kinds(&check(bad)), [kind], "{bad}");
        }
    }

    /// German capitalises its nouns: "den Termin" is a noun after its article; a person the
    /// sources never name is still invented.
    #[test]
    fn german_nouns_are_not_names_but_invented_people_are() {
        let mut i = input(vec![]);
        i.sources = vec![msg(
            0,
            "Katrin",
            "Das Release 5.4 verschieben wir auf Montag, der Lasttest hat ein Speicherleck gefunden.",
        )];
        i.allowed_sources = i.sources.iter().map(|m| m.id.clone()).collect();
        let all = i.allowed_sources.clone();
        let check = |text: &str| {
            let mut i = i.clone();
            i.sections[0].sentences = vec![CitedSentence::new(text, all.clone())];
            Guardrail.check(&i)
        };
        let good = "Katrin verschiebt das Release auf Montag, seit dem Vortag ist der Termin unklar. \
             Neuer Release-Termin ist Montag.";
        assert!(check(good).passed, "{:#?}", check(good).violations);
        let bad = "Katrin verschiebt das Release mit Gertrude auf Montag.";
        assert_eq!(kinds(&check(bad)), ["invented_name"], "{bad}");
    }

    #[test]
    fn the_prompt_keeps_content_in_the_data() {
        let i = input(vec![cite("Ben asks you to approve the window.", &[1])]);
        let prompt = Guardrail.prompt(&i);
        testkit::assert_clean_prompt(&prompt, &i, &["Kafka", "U-ZOE", "Priya"]);
    }
}
