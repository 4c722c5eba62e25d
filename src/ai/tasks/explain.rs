//! ExplainContext: one clicked message with its thread and neighbouring messages + the reader →
//! an explainer: what it is about (who asks or says what), what the thread's replies decided or
//! answered, who wants what from whom, decisions, open questions, the related messages of the
//! same channel and hour, what it means for the reader (what is asked of them, their own part as
//! "you", their interests), and the key messages, with framing in the reader's language.
//!
//! The extractive explainer quotes the replies and related messages it reports (their own words,
//! in their own language; the reader's name in a quote becomes "[you]") rather than re-telling
//! them: a quote cannot misstate the new day and time, and the framing around it is translated.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::{
    ChannelInfo, ChatMessage, CitedSentence, MessageRef, Proposition, Reader, TextSection,
    check_cited, json_prompt, sorted_unique,
};
use super::{Prompt, Task};
use crate::ai::extractive::discussion::{self, Analysis, Settings, Utterance};
use crate::ai::extractive::tfidf::TfIdf;
use crate::ai::extractive::{Lang, Modality, lang, person, templates, text};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExplainInput {
    pub reader: Reader,
    pub channel: ChannelInfo,
    /// The message the reader asked about.
    pub clicked: ChatMessage,
    /// The clicked message's thread (parent and replies), if any.
    #[serde(default)]
    pub thread: Vec<ChatMessage>,
    /// Messages just before and after it in the channel.
    #[serde(default)]
    pub neighbours: Vec<ChatMessage>,
    /// Topics and entities the reader follows.
    #[serde(default)]
    pub interests: Vec<String>,
    #[serde(default)]
    pub utc_offset_secs: i32,
    /// The propositions of the messages above: who asked, decided, promised or is blocked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub propositions: Vec<Proposition>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Explainer {
    // ISO 639-1 code of the framing language.
    pub language: String,
    // What the discussion is about: who asked or said what, in one sentence.
    pub about: CitedSentence,
    // What the thread's replies decided or answered (the outcome), citing the replies.
    #[serde(default)]
    pub outcome: Vec<CitedSentence>,
    // Who wants what from whom.
    pub asks: Vec<CitedSentence>,
    pub decisions: Vec<CitedSentence>,
    pub open_questions: Vec<CitedSentence>,
    // Related messages of the same channel around it (same topic or people), each cited.
    #[serde(default)]
    pub related: Vec<CitedSentence>,
    // What it means for the reader.
    pub for_you: Vec<CitedSentence>,
    // The messages worth opening, the clicked one first.
    pub key_messages: Vec<MessageRef>,
}

impl Explainer {
    /// The explainer as one section per part, for the guardrail and the renderer.
    pub fn sections(&self) -> Vec<TextSection> {
        let mut out = vec![TextSection {
            title: String::new(),
            sentences: vec![self.about.clone()],
        }];
        for (title, list) in [
            ("outcome", &self.outcome),
            ("asks", &self.asks),
            ("decisions", &self.decisions),
            ("open_questions", &self.open_questions),
            ("related", &self.related),
            ("for_you", &self.for_you),
        ] {
            if !list.is_empty() {
                out.push(TextSection {
                    title: title.to_string(),
                    sentences: list.clone(),
                });
            }
        }
        out
    }

    fn sentences(&self) -> impl Iterator<Item = &CitedSentence> {
        std::iter::once(&self.about)
            .chain(&self.outcome)
            .chain(&self.asks)
            .chain(&self.decisions)
            .chain(&self.open_questions)
            .chain(&self.related)
            .chain(&self.for_you)
    }
}

/// Clicked message + context + reader → explainer.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExplainContext;

const INSTRUCTIONS: &str = "You explain one chat discussion to `reader`, who clicked on the \
message `clicked`; `thread` holds its thread (the parent first, then the replies) and \
`neighbours` the other messages of the same channel within an hour of it. Write, in the \
reader's language (`reader.language`, ISO 639-1; quoted message text stays as written): \
`about` (one sentence saying who asks or says what in the discussion, not a list of keywords), \
`outcome` (when the thread has replies: what they decided or answered, with the specifics such \
as the new day and time, each sentence citing the replies it rests on), `asks` (who wants what \
from whom), `decisions`, `open_questions`, `related` (messages in `neighbours` on the same topic \
or between the same people, each said in a sentence that cites it; leave out unrelated chatter), \
and `for_you` (what it means for the reader: what is asked of them by mention, by name or in a \
thread they are in, their own part, and links to `interests`; say that nothing is asked of them \
only when that is true). Do not repeat a sentence in two parts. Speak to the reader as \"you\", \
never by their name. Every sentence cites in `sources` the message ids it rests on. \
`key_messages` lists the most useful message ids, the clicked one first. Use only facts from \
the messages.";

impl Task for ExplainContext {
    type Input = ExplainInput;
    type Output = Explainer;

    fn name(&self) -> &'static str {
        "explain_context"
    }

    fn prompt(&self, input: &Self::Input) -> Prompt {
        json_prompt(INSTRUCTIONS, input)
    }

    fn extractive(&self, input: &Self::Input) -> Self::Output {
        let _span = tracing::debug_span!("extractive", task = self.name()).entered();
        explain(input)
    }

    fn validate(&self, input: &Self::Input, output: &Self::Output) -> Result<(), String> {
        let allowed: BTreeSet<&MessageRef> = std::iter::once(&input.clicked.id)
            .chain(input.thread.iter().map(|m| &m.id))
            .chain(input.neighbours.iter().map(|m| &m.id))
            .collect();
        let names = input.reader.names();
        for s in output.sentences() {
            if s.sources.is_empty() {
                return Err(format!("sentence {:?} cites no source", s.text));
            }
            check_cited(&s.sources, &allowed)?;
            if let Some(n) = person::names_reader(&s.text, &names) {
                return Err(format!(
                    "sentence {:?} names the reader ({n}); write \"you\"",
                    s.text
                ));
            }
        }
        // A thread with replies has an outcome, and saying it is the point of the explanation.
        let replies: BTreeSet<&MessageRef> = thread_replies(input).map(|m| &m.id).collect();
        if !replies.is_empty()
            && !output
                .outcome
                .iter()
                .any(|s| s.sources.iter().any(|r| replies.contains(r)))
        {
            return Err(
                "the thread has replies: say in `outcome` what they decided or answered, citing \
                 them"
                    .to_string(),
            );
        }
        check_cited(&output.key_messages, &allowed)
    }
}

/// The thread's replies other than the clicked message, oldest first (the parent excluded).
fn thread_replies(input: &ExplainInput) -> impl Iterator<Item = &ChatMessage> {
    let parent = input.thread.iter().min_by_key(|m| (m.posted_at, &m.id));
    input.thread.iter().filter(move |m| {
        Some(&m.id) != parent.map(|p| &p.id) && m.id != input.clicked.id && !is_blank(&m.text)
    })
}

/// The clicked message's surroundings, sorted into what the explanation says about them.
struct Context {
    /// Clicked, thread and chosen neighbours, oldest first: what is analysed.
    messages: Vec<ChatMessage>,
    /// Neighbours on the same topic or between the same people, most similar first.
    related: Vec<MessageRef>,
    /// With no thread: the messages right after the click that answer it.
    answers: Vec<MessageRef>,
}

/// Neighbours closer than this (cosine of stemmed terms) to the clicked message and its thread
/// are on the same topic.
const RELATED_SIMILARITY: f64 = 0.1;
/// Most related messages said.
const MAX_RELATED: usize = 3;
/// With no thread, messages this close after the click are its conversation.
const ADJACENT_SECS: i64 = 600;

/// The messages to explain: the clicked one and its thread, plus neighbours that share its
/// vocabulary or its people (a busy channel's unrelated chatter stays out).
fn context_messages(input: &ExplainInput) -> Context {
    let mut core: Vec<ChatMessage> = vec![input.clicked.clone()];
    core.extend(input.thread.iter().cloned());
    let lang = lang::detect_many(core.iter().map(|m| m.text.as_str()));
    let core_terms: Vec<String> = core
        .iter()
        .flat_map(|m| text::terms(&m.text, lang))
        .collect();
    let mut docs = vec![core_terms];
    docs.extend(input.neighbours.iter().map(|m| text::terms(&m.text, lang)));
    let (_, vectors) = TfIdf::vectors(&docs);
    // The people of the conversation: a neighbour naming one of them (or the reader) and sharing
    // a word with it is about the same thing even when the vocabulary overlap is small.
    let people: Vec<String> = core
        .iter()
        .map(|m| m.author.clone())
        .chain(std::iter::once(input.reader.name.clone()))
        .filter(|n| !n.trim().is_empty())
        .collect();
    let clicked_at = input.clicked.posted_at;
    let clicked_is_ask = input.clicked.text.contains('?')
        || statements_modality(&input.clicked.text, lang) == Some(Modality::Request);
    let mut related: Vec<(f64, MessageRef)> = Vec::new();
    let mut answers: Vec<MessageRef> = Vec::new();
    let mut chosen: Vec<ChatMessage> = Vec::new();
    // The first message after the click: in an unthreaded channel, usually its answer.
    let next = input
        .neighbours
        .iter()
        .filter(|m| m.posted_at > clicked_at && !is_blank(&m.text))
        .min_by_key(|m| (m.posted_at, &m.id))
        .map(|m| m.id.clone());
    for (i, m) in input.neighbours.iter().enumerate() {
        if is_blank(&m.text) {
            continue;
        }
        let similarity = vectors[0].cosine(&vectors[i + 1]);
        let names_someone = person::names_reader(&m.text, &people).is_some();
        let is_related = similarity >= RELATED_SIMILARITY || (names_someone && similarity > 0.0);
        // With no thread, the few messages right around the click are its conversation.
        let adjacent = input.thread.is_empty() && (m.posted_at - clicked_at).abs() <= ADJACENT_SECS;
        let answer = adjacent
            && clicked_is_ask
            && m.posted_at > clicked_at
            && m.author != input.clicked.author
            && (similarity > 0.0 || next.as_ref() == Some(&m.id))
            && answers.len() < 2;
        if answer {
            answers.push(m.id.clone());
        } else if is_related {
            related.push((similarity, m.id.clone()));
        }
        if is_related || adjacent {
            chosen.push(m.clone());
        }
    }
    related.sort_by(|a, b| b.0.total_cmp(&a.0));
    related.truncate(MAX_RELATED);
    let kept: BTreeSet<MessageRef> = related.iter().map(|(_, r)| r.clone()).collect();
    // Neighbours beyond the few related ones said are still analysed when adjacent.
    core.extend(chosen.into_iter().filter(|m| {
        kept.contains(&m.id)
            || answers.contains(&m.id)
            || (input.thread.is_empty() && (m.posted_at - clicked_at).abs() <= ADJACENT_SECS)
    }));
    let mut seen = BTreeSet::new();
    core.retain(|m| seen.insert(m.id.clone()));
    core.sort_by(|a, b| a.posted_at.cmp(&b.posted_at).then_with(|| a.id.cmp(&b.id)));
    Context {
        messages: core,
        related: related.into_iter().map(|(_, r)| r).collect(),
        answers,
    }
}

/// The strongest modality the clause rules read in a message (for "is the click an ask?").
fn statements_modality(message: &str, lang: Lang) -> Option<Modality> {
    let speaker = crate::ai::extractive::statements::Speaker {
        author: "someone",
        posted_at: 0,
        utc_offset_secs: 0,
        project: None,
        lang,
        known_people: &[],
        addressee: None,
    };
    let found = crate::ai::extractive::statements::statements(message, &speaker);
    [Modality::Request, Modality::Question]
        .into_iter()
        .find(|m| found.iter().any(|s| s.modality == *m))
}

fn sentence_text(statement: &str) -> String {
    let mut text = statement.trim().to_string();
    if !text.ends_with(['.', '!', '?', '"', '”']) {
        text.push('.');
    }
    text
}

fn cite(messages: &[ChatMessage], a: &Analysis, claim: usize, reader: &Reader) -> CitedSentence {
    let c = &a.claims[claim];
    let text = sentence_text(&c.statement.text);
    let content_lang = lang::detect(&text).unwrap_or(Lang::En);
    CitedSentence::new(
        person::to_second_person(&text, &reader.names(), content_lang),
        c.utterances
            .iter()
            .map(|&u| messages[u].id.clone())
            .collect(),
    )
}

/// Longest quote of a message, in characters.
const QUOTE_CHARS: usize = 220;

/// The message's words, as written, for quoting: whole sentences up to [`QUOTE_CHARS`], the
/// sentences carrying a date, a time or a number first when the message is long.
fn excerpt(message: &str) -> String {
    let cleaned = text::clean(message).replace('\n', " ");
    if cleaned.chars().count() <= QUOTE_CHARS {
        return cleaned.trim().to_string();
    }
    let sentences = text::sentences(&cleaned);
    let mut out = String::new();
    for s in &sentences {
        if out.chars().count() + s.chars().count() + 1 > QUOTE_CHARS {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(s);
    }
    if out.is_empty() {
        out = cleaned.chars().take(QUOTE_CHARS).collect();
    }
    out.push('…');
    out
}

static SETTLES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(decided|agreed|agree|let's|lets|we'll|we will|go with|going with|works for me|work for me|sounds good|confirmed|confirm|done|fixed|resolved|merged|approved|booked|scheduled|moved|rescheduled|will do|on it|yes|no|sure|ok|okay|d'accord|entendu|oui|non|einverstanden|passt|ja|nein|vale|sí|de acuerdo|listo)\b",
    )
    .expect("static regex")
});
/// Words that settle a question for everyone, above a single person's "works for me".
static DECIDES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(decided|agreed|we go with|go with|settled|final|approved|confirmed|let's do|lets do|i've moved|i moved|moved the invite|booked)\b",
    )
    .expect("static regex")
});
/// A refusal reads like agreement to [`SETTLES`] ("doesn't work for me"): it settles nothing.
static REFUSES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(doesn't|does not|don't|do not|can't|cannot|won't|isn't|not)\s+(work|works|fine|possible|an option)\b",
    )
    .expect("static regex")
});
static CLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b\d{1,2}(?::\d{2})?\s?(?:am|pm|h\d{0,2}|uhr)\b|\b\d{1,2}:\d{2}\b")
        .expect("static regex")
});

/// Replies quoted besides the one that settles the thread and the last word.
const MORE_REPLIES: usize = 3;

/// How much a reply looks like the thread's outcome: a decision or agreement, a date or a time,
/// some substance.
fn settles_score(m: &ChatMessage, utc_offset_secs: i32, lang: Lang) -> f64 {
    let cleaned = text::clean(&m.text);
    let mut score = 0.0;
    if SETTLES.is_match(&cleaned) && !REFUSES.is_match(&cleaned) {
        score += 2.0;
    }
    if DECIDES.is_match(&cleaned) {
        score += 1.0;
    }
    if CLOCK.is_match(&cleaned)
        || !crate::ai::extractive::dates::find_dates(&cleaned, m.posted_at, utc_offset_secs)
            .is_empty()
    {
        score += 2.0;
    }
    let terms = text::terms(&cleaned, lang).len();
    if terms >= 3 {
        score += 1.0;
    }
    if terms == 0 {
        score -= 3.0;
    }
    score
}

/// A message's words to quote, with every name of the reader replaced by the bracketed pronoun
/// (the reader is "you", never named); and its claims marked as said.
fn quote_of(
    messages: &[ChatMessage],
    a: &Analysis,
    index: usize,
    reader: &Reader,
    lang: Lang,
    used: &mut BTreeSet<usize>,
) -> Option<String> {
    used.extend((0..a.claims.len()).filter(|&c| a.claims[c].utterances.contains(&index)));
    let mut quote = excerpt(&messages[index].text);
    let mut names = reader.names();
    names.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
    for name in names {
        let pattern = format!(r"(?i)@?\b{}\b", regex::escape(name.trim()));
        if let Ok(re) = Regex::new(&pattern) {
            quote = re
                .replace_all(&quote, templates::you_in_quote(lang))
                .into_owned();
        }
    }
    (!quote.trim().is_empty()).then_some(quote)
}

fn explain(input: &ExplainInput) -> Explainer {
    let lang = input.reader.lang();
    let channel = input.channel.name.as_str();
    let Context {
        messages,
        related,
        answers,
    } = context_messages(input);
    let utterances: Vec<Utterance> = messages
        .iter()
        .map(|m| Utterance {
            author: &m.author,
            text: &m.text,
            posted_at: m.posted_at,
        })
        .collect();
    let reader_names = input.reader.names();
    let settings = Settings {
        channel_name: Some(channel),
        utc_offset_secs: input.utc_offset_secs,
        known_people: &reader_names,
        topics: 3,
    };
    let a = discussion::analyse(&utterances, &settings, None);
    let index_of = |r: &MessageRef| messages.iter().position(|m| &m.id == r);
    let clicked_index = index_of(&input.clicked.id).unwrap_or(0);
    // The message that opened the conversation: the thread's parent, else the clicked one.
    let root_index = input
        .thread
        .iter()
        .min_by_key(|m| (m.posted_at, &m.id))
        .and_then(|p| index_of(&p.id))
        .unwrap_or(clicked_index);
    let root = &messages[root_index];
    let mut used: BTreeSet<usize> = BTreeSet::new();

    // About: who asks or says what in the opening message — its strongest claim.
    let root_claims: Vec<usize> = (0..a.claims.len())
        .filter(|&c| a.claims[c].utterances.contains(&root_index))
        .collect();
    let strongest = [
        Modality::Request,
        Modality::Decision,
        Modality::Blocker,
        Modality::Question,
        Modality::Plan,
        Modality::Statement,
    ]
    .into_iter()
    .find_map(|m| {
        root_claims
            .iter()
            .copied()
            .find(|&c| a.claims[c].statement.modality == m)
    });
    // A claim that leans on its context ("asks to move it") says less than the message itself:
    // then the message is quoted.
    let leans = |c: usize| {
        let t = a.claims[c].statement.text.trim_end_matches(['.', '?', '!']);
        let last = t.rsplit(' ').next().unwrap_or_default().to_lowercase();
        t.split_whitespace().count() < 6
            || matches!(
                last.as_str(),
                "it" | "this" | "that" | "them" | "ça" | "es" | "eso"
            )
    };
    let root_quote = match strongest {
        Some(c) if leans(c) => quote_of(&messages, &a, root_index, &input.reader, lang, &mut used)
            .filter(|q| q.chars().count() <= 240),
        _ => None,
    };
    let about = match (strongest, root_quote) {
        (_, Some(q)) => CitedSentence::new(
            templates::about_quote(channel, &root.author, &q, lang),
            vec![root.id.clone()],
        ),
        (Some(c), None) => {
            used.insert(c);
            let said = cite(&messages, &a, c, &input.reader).text;
            let by_person = messages.iter().any(|m| said.starts_with(m.author.as_str()));
            // "In #design, you ask …": the reader's pronoun is not a name, it takes no capital.
            let (said, by_person) = match said.strip_prefix("You ") {
                Some(rest) if lang == Lang::En => (format!("you {rest}"), true),
                _ => (said, by_person),
            };
            CitedSentence::new(
                templates::about_statement(channel, &said, by_person, lang),
                vec![root.id.clone()],
            )
        }
        (None, None) => {
            let topics: Vec<String> = a.topics.iter().take(2).map(|t| t.phrase.clone()).collect();
            let text = match excerpt(&root.text) {
                q if !q.is_empty()
                    && person::names_reader(&q, &reader_names).is_none()
                    && q.chars().count() <= 160 =>
                {
                    templates::about_quote(channel, &root.author, &q, lang)
                }
                _ => templates::about(&topics, channel, lang),
            };
            CitedSentence::new(text, vec![root.id.clone()])
        }
    };

    // Outcome: what the replies decided or answered, quoted from the reply that settles it,
    // then the last word when it came later.
    let mut outcome: Vec<CitedSentence> = Vec::new();
    let mut said_messages: BTreeSet<usize> = BTreeSet::from([root_index]);
    let replies: Vec<usize> = if input.thread.is_empty() {
        answers.iter().filter_map(index_of).collect()
    } else {
        thread_replies(input)
            .filter_map(|m| index_of(&m.id))
            .collect()
    };
    let best = replies
        .iter()
        .copied()
        .map(|i| {
            let m = &messages[i];
            // An answer comes from someone else than the asker.
            let other = if m.author != root.author { 1.5 } else { 0.0 };
            (settles_score(m, input.utc_offset_secs, a.lang) + other, i)
        })
        .filter(|(score, _)| *score > 0.0)
        // On a tie the earlier reply: the proposal that the later ones agree with.
        .max_by(|x, y| x.0.total_cmp(&y.0).then(y.1.cmp(&x.1)));
    let mut chosen_replies: Vec<usize> = Vec::new();
    if let Some((_, best)) = best {
        chosen_replies.push(best);
        // In a thread, other replies that carry a decision, a date or a time say how it went on
        // (a rollback, its root cause, who writes the postmortem): up to three more.
        if !input.thread.is_empty() {
            let more = replies
                .iter()
                .copied()
                .filter(|&i| i != best && Some(&i) != replies.last())
                .filter(|&i| settles_score(&messages[i], input.utc_offset_secs, a.lang) >= 3.0)
                .take(MORE_REPLIES);
            chosen_replies.extend(more);
        }
        if let Some(&last) = replies.last()
            && last > best
            && !input.thread.is_empty()
            && settles_score(&messages[last], input.utc_offset_secs, a.lang) > 0.0
            // A question at the end is still open, not the last word.
            && !messages[last].text.trim_end().ends_with('?')
        {
            chosen_replies.push(last);
        }
    }
    // Told in the order it happened: the first reply opens the outcome, the rest follow it.
    chosen_replies.sort_unstable();
    chosen_replies.dedup();
    let first_kind = if input.thread.is_empty() {
        templates::ReplyKind::RightAfter
    } else {
        templates::ReplyKind::Outcome
    };
    for (j, i) in chosen_replies.into_iter().enumerate() {
        let kind = if j == 0 {
            first_kind
        } else {
            templates::ReplyKind::Then
        };
        let m = &messages[i];
        let Some(q) = quote_of(&messages, &a, i, &input.reader, lang, &mut used) else {
            continue;
        };
        let text = if is_reader(m, &input.reader) {
            templates::reply_by_you(kind, &q, lang)
        } else {
            templates::reply(kind, &m.author, &q, lang)
        };
        said_messages.insert(i);
        outcome.push(CitedSentence::new(text, vec![m.id.clone()]));
    }

    // Related messages of the channel, in the order they were posted.
    let mut related_indices: Vec<usize> = related
        .iter()
        .filter_map(index_of)
        .filter(|i| !said_messages.contains(i))
        .collect();
    related_indices.sort_unstable();
    let mut related_out: Vec<CitedSentence> = Vec::new();
    for i in related_indices {
        let m = &messages[i];
        let later = m.posted_at >= root.posted_at;
        let Some(q) = quote_of(&messages, &a, i, &input.reader, lang, &mut used) else {
            continue;
        };
        said_messages.insert(i);
        let text = if is_reader(m, &input.reader) {
            templates::related_by_you(channel, later, &q, lang)
        } else {
            templates::related_quote(channel, later, &m.author, &q, lang)
        };
        related_out.push(CitedSentence::new(text, vec![m.id.clone()]));
    }

    // For the reader: what names them or is addressed to them, their part in the thread, their
    // interests — and "nothing is asked of you" only when none of that holds.
    let mut for_you: Vec<CitedSentence> = Vec::new();
    let mut asked_of_you = false;
    for (i, claim) in a.claims.iter().enumerate() {
        let names_them = person::names_reader(&claim.statement.text, &reader_names).is_some()
            || claim
                .statement
                .addressee
                .as_deref()
                .is_some_and(|x| input.reader.is(x));
        let by_reader = claim
            .utterances
            .iter()
            .any(|&u| is_reader(&messages[u], &input.reader));
        // The reader's own words already said above (the message they started with, their
        // reply) are not repeated; what others ask of them always is.
        let quoted_above = claim.utterances.iter().any(|u| said_messages.contains(u));
        // What others ask of the reader always; a passing mention ("thanks Ann") or the
        // reader's own words only when nothing above quotes them, and of their own only what
        // they committed to or decided.
        let worth = if by_reader {
            !quoted_above
                && !used.contains(&i)
                && matches!(
                    claim.statement.modality,
                    Modality::Plan | Modality::Decision
                )
        } else {
            !quoted_above
                || !matches!(claim.statement.modality, Modality::Statement)
                || claim
                    .statement
                    .addressee
                    .as_deref()
                    .is_some_and(|x| input.reader.is(x))
        };
        if names_them && strongest == Some(i) {
            // `about` already says it to the reader ("… asks you to …"): not twice.
            asked_of_you |= !by_reader;
        } else if names_them && worth && for_you.len() < 4 {
            for_you.push(cite(&messages, &a, i, &input.reader));
            used.insert(i);
            asked_of_you |= !by_reader;
        }
    }
    // Messages that name the reader without a statement saying so.
    for (i, m) in messages.iter().enumerate() {
        let covered = for_you.iter().any(|s| s.sources.contains(&m.id));
        if !covered
            && !said_messages.contains(&i)
            && !is_reader(m, &input.reader)
            && person::names_reader(&m.text, &reader_names).is_some()
            && for_you.len() < 4
        {
            for_you.push(CitedSentence::new(
                templates::mentions_you(&m.author, lang),
                vec![m.id.clone()],
            ));
            said_messages.insert(i);
            asked_of_you = true;
        }
    }
    if !input.thread.is_empty() {
        if is_reader(root, &input.reader) && !replies.is_empty() {
            let sources: Vec<MessageRef> = std::iter::once(root.id.clone())
                .chain(replies.iter().map(|&i| messages[i].id.clone()))
                .collect();
            for_you.push(CitedSentence::new(
                templates::you_started_thread(lang),
                sources,
            ));
            asked_of_you = true;
        } else if let Some(own) = input.thread.iter().find(|m| is_reader(m, &input.reader)) {
            for_you.push(CitedSentence::new(
                templates::you_took_part(lang),
                vec![own.id.clone()],
            ));
        }
    }
    let context_terms: BTreeSet<String> = messages
        .iter()
        .flat_map(|m| text::terms(&m.text, a.lang))
        .collect();
    let touched: Vec<String> = input
        .interests
        .iter()
        .filter(|i| {
            let t = text::terms(i, a.lang);
            !t.is_empty() && t.iter().all(|x| context_terms.contains(x))
        })
        .cloned()
        .collect();
    if !touched.is_empty() {
        let sources: Vec<MessageRef> = messages
            .iter()
            .filter(|m| {
                let terms = text::terms(&m.text, a.lang);
                touched
                    .iter()
                    .any(|i| text::terms(i, a.lang).iter().all(|x| terms.contains(x)))
            })
            .take(3)
            .map(|m| m.id.clone())
            .collect();
        for_you.push(CitedSentence::new(
            templates::touches_interests(&touched, lang),
            sources,
        ));
    }
    if !asked_of_you {
        for_you.push(CitedSentence::new(
            templates::nothing_asked(lang),
            vec![input.clicked.id.clone()],
        ));
    }

    // Asks, decisions and open questions not said above.
    let unsaid = |indices: Vec<usize>, used: &BTreeSet<usize>| -> Vec<CitedSentence> {
        indices
            .into_iter()
            .filter(|i| !used.contains(i))
            .map(|i| cite(&messages, &a, i, &input.reader))
            .collect()
    };
    let asks = unsaid(a.with_modality(Modality::Request), &used);
    let decisions = unsaid(a.with_modality(Modality::Decision), &used);
    let open_questions = unsaid(a.open_questions.clone(), &used);

    // Key messages: the clicked one, the outcome, the related ones, then the most central claims'.
    let mut key_messages = vec![input.clicked.id.clone()];
    key_messages.extend(outcome.iter().flat_map(|s| s.sources.iter().cloned()));
    key_messages.extend(related_out.iter().flat_map(|s| s.sources.iter().cloned()));
    for i in a.central(3) {
        for &u in &a.claims[i].utterances {
            if u != clicked_index {
                key_messages.push(messages[u].id.clone());
            }
        }
    }
    let first = key_messages.remove(0);
    let mut rest = sorted_unique(key_messages);
    rest.retain(|r| *r != first);
    rest.insert(0, first);

    Explainer {
        language: lang.code().to_string(),
        about,
        outcome,
        asks,
        decisions,
        open_questions,
        related: related_out,
        for_you,
        key_messages: rest,
    }
}

/// A message with no words (an emoji, a lone link marker): nothing to say about it.
fn is_blank(message: &str) -> bool {
    !message.chars().any(char::is_alphanumeric)
}

/// Whether the reader wrote the message.
fn is_reader(m: &ChatMessage, reader: &Reader) -> bool {
    match &m.author_id {
        Some(id) => *id == reader.id,
        None => reader.is(&m.author),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::tasks::guardrail::{Guardrail, GuardrailInput, SlackLimits};
    use crate::ai::tasks::types::testkit;

    const T: i64 = 1_714_557_600;

    fn msg(i: i64, author: &str, text: &str) -> ChatMessage {
        ChatMessage {
            id: MessageRef {
                channel_id: "C1".into(),
                ts: format!("{}.000100", T + i * 60),
            },
            author: author.into(),
            author_id: None,
            text: text.into(),
            posted_at: T + i * 60,
        }
    }

    fn input(language: &str) -> ExplainInput {
        let thread = vec![
            msg(
                0,
                "Ann",
                "The Kafka upgrade is blocked, 3 brokers are still on the old version",
            ),
            msg(
                1,
                "Ben",
                "@Zoe can you approve the Kafka maintenance window for Friday?",
            ),
            msg(2, "Zoe", "I'll check the maintenance calendar first"),
            msg(3, "Ann", "We decided to upgrade the brokers one at a time"),
            msg(4, "Ben", "Who tells the data team about the downtime?"),
        ];
        ExplainInput {
            reader: Reader {
                id: "U-ZOE".into(),
                name: "Zoe".into(),
                aliases: vec![],
                language: language.into(),
            },
            channel: ChannelInfo {
                id: "C1".into(),
                name: "infra".into(),
            },
            clicked: thread[1].clone(),
            thread,
            neighbours: vec![
                msg(-30, "Cleo", "lunch at the taco place anyone?"),
                msg(90, "Dan", "the Kafka dashboards moved to the new grafana"),
            ],
            interests: vec!["kafka".into(), "billing".into()],
            utc_offset_secs: 0,
            propositions: vec![],
        }
    }

    #[test]
    fn the_explainer_says_who_wants_what_and_what_it_means_for_you() {
        let i = input("en");
        let e = ExplainContext.extractive(&i);
        // What it is about: who said what in the thread's opening message, not keywords.
        assert_eq!(
            e.about.text,
            "In #infra: The Kafka upgrade is blocked, 3 brokers are still on the old version.",
        );
        // The thread's outcome, quoted from the reply that settles it and cited to it.
        assert_eq!(e.outcome.len(), 1, "{:#?}", e.outcome);
        assert_eq!(
            e.outcome[0].text,
            "In the thread, Ann replied: \u{201c}We decided to upgrade the brokers one at a time\u{201d}"
        );
        assert_eq!(e.outcome[0].sources, vec![i.thread[3].id.clone()]);
        // Not repeated as a decision; the ask of the reader is said once, for them.
        assert!(e.decisions.is_empty(), "{:#?}", e.decisions);
        assert!(e.asks.is_empty(), "{:#?}", e.asks);
        assert_eq!(e.open_questions.len(), 1, "{:?}", e.open_questions);
        assert!(e.open_questions[0].text.contains("data team"));
        // The related message of the channel is said and cited; the lunch chatter is not.
        assert_eq!(e.related.len(), 1, "{:#?}", e.related);
        assert!(e.related[0].text.starts_with("Later in #infra, Dan wrote:"));
        assert_eq!(e.related[0].sources, vec![i.neighbours[1].id.clone()]);
        let for_you: Vec<&str> = e.for_you.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            for_you,
            [
                "Ben asks you to approve the Kafka maintenance window for Friday 3 May.",
                "You will check the maintenance calendar first.",
                "You took part in this thread.",
                "It touches kafka, which you follow.",
            ]
        );
        assert_eq!(e.key_messages[0], i.clicked.id);
        // The unrelated neighbour is left out, the related one kept.
        assert!(
            !e.key_messages
                .iter()
                .any(|r| r.ts.starts_with(&(T - 1800).to_string()))
        );
        assert_eq!(ExplainContext.validate(&i, &e), Ok(()));
        passes_the_guardrail(&i, &e);
    }

    #[test]
    fn framing_is_in_the_readers_language() {
        let e = ExplainContext.extractive(&input("de"));
        assert_eq!(e.language, "de");
        assert!(e.about.text.starts_with("In #infra: "), "{:?}", e.about);
        assert!(
            e.outcome[0]
                .text
                .starts_with("Im Thread antwortete Ann: \u{201e}We decided"),
            "{:?}",
            e.outcome
        );
        let e = ExplainContext.extractive(&input("fr"));
        assert!(
            e.related[0]
                .text
                .starts_with("Plus tard dans #infra, Dan a écrit : «"),
            "{:?}",
            e.related
        );
        let e = ExplainContext.extractive(&input("es"));
        assert!(
            e.for_you
                .iter()
                .any(|s| s.text == "Toca kafka, que sigues.")
        );
    }

    #[test]
    fn a_real_message_is_explained() {
        let (channel, messages) = testkit::houston_day("general", "2015-06-09");
        let clicked = messages
            .iter()
            .find(|m| m.text.contains("would be good to mention packages"))
            .unwrap()
            .clone();
        let i = ExplainInput {
            reader: Reader {
                id: "U061A5N1G".into(),
                name: "Neeraj Tandon".into(),
                aliases: vec![],
                language: "en".into(),
            },
            channel,
            clicked,
            thread: vec![],
            neighbours: messages,
            interests: vec!["python".into()],
            utc_offset_secs: -5 * 3600,
            propositions: vec![],
        };
        let e = ExplainContext.extractive(&i);
        println!("{e:#?}");
        // The clicked message is Micah's request to the reader: said once, to "you".
        assert_eq!(
            e.about.text,
            "In #general, Micah Stubbs asks you to mention packages you will discuss - Blaze, Bokeh."
        );
        assert!(e.for_you.iter().all(|s| !s.text.contains("Neeraj")));
        assert!(
            e.for_you
                .iter()
                .all(|s| !s.text.contains("mention packages")),
            "{:#?}",
            e.for_you
        );
        assert!(
            e.for_you.iter().all(|s| !s.text.starts_with("Nothing")),
            "{:#?}",
            e.for_you
        );
        assert_eq!(ExplainContext.validate(&i, &e), Ok(()));
    }

    /// Issue 14's case: a message asking to reschedule a meeting, whose thread reply fixes the
    /// new day and time, with a related message in the channel half an hour later.
    fn reschedule(reader: (&str, &str), language: &str) -> ExplainInput {
        let at = |minutes: i64, author: &str, text: &str| ChatMessage {
            id: MessageRef {
                channel_id: "C1".into(),
                ts: format!("{}.000100", T + minutes * 60),
            },
            author: author.into(),
            author_id: Some(format!("U-{}", author.to_uppercase())),
            text: text.into(),
            posted_at: T + minutes * 60,
        };
        let thread = vec![
            at(
                0,
                "Priya",
                "I'm not feeling well and won't be in the office tomorrow. Can we move the design review?",
            ),
            at(
                10,
                "Lena",
                "Sure, let's move the design review to Thursday 10 December at 2pm.",
            ),
            at(15, "Priya", "Thursday at 2pm works for me, thanks Lena!"),
        ];
        ExplainInput {
            reader: Reader {
                id: reader.0.into(),
                name: reader.1.into(),
                aliases: vec![],
                language: language.into(),
            },
            channel: ChannelInfo {
                id: "C1".into(),
                name: "design".into(),
            },
            clicked: thread[0].clone(),
            thread,
            neighbours: vec![
                at(
                    -20,
                    "Tom",
                    "Morning all, the coffee machine on the third floor is fixed.",
                ),
                at(
                    30,
                    "Lena",
                    "Reminder: I booked Kestrel for the design review on Thursday. @Marco can you bring the new checkout mockups?",
                ),
                at(
                    40,
                    "Tom",
                    "Has anyone seen my blue umbrella? I left it near the lifts.",
                ),
            ],
            interests: vec![],
            utc_offset_secs: 0,
            propositions: vec![],
        }
    }

    fn passes_the_guardrail(i: &ExplainInput, e: &Explainer) {
        let mut sources = i.thread.clone();
        sources.extend(i.neighbours.clone());
        let report = Guardrail.check(&GuardrailInput {
            sections: e.sections(),
            allowed_sources: sources.iter().map(|m| m.id.clone()).collect(),
            sources,
            reader: i.reader.clone(),
            known_people: vec![],
            channels: vec![i.channel.clone()],
            limits: SlackLimits::default(),
            utc_offset_secs: 0,
            propositions: vec![],
        });
        assert!(report.passed, "{:#?}\n{e:#?}", report.violations);
    }

    #[test]
    fn a_rescheduled_meeting_says_what_the_thread_decided_and_what_followed() {
        let i = reschedule(("U-MARCO", "Marco"), "en");
        let e = ExplainContext.extractive(&i);
        assert_eq!(
            e.about.text,
            "In #design, Priya asks to move the design review."
        );
        let outcome: Vec<&str> = e.outcome.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            outcome,
            [
                "In the thread, Lena replied: \u{201c}Sure, let's move the design review to Thursday 10 December at 2pm.\u{201d}",
                "Then Priya replied: \u{201c}Thursday at 2pm works for me, thanks Lena!\u{201d}",
            ]
        );
        assert_eq!(e.outcome[0].sources, vec![i.thread[1].id.clone()]);
        assert_eq!(e.related.len(), 1, "{:#?}", e.related);
        assert_eq!(
            e.related[0].text,
            "Later in #design, Lena wrote: \u{201c}Reminder: I booked Kestrel for the design review on Thursday. [you] can you bring the new checkout mockups?\u{201d}"
        );
        assert_eq!(e.related[0].sources, vec![i.neighbours[1].id.clone()]);
        let for_you: Vec<&str> = e.for_you.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            for_you,
            ["Lena asks you to bring the new checkout mockups."]
        );
        assert!(e.asks.is_empty(), "said once, in `about`: {:#?}", e.asks);
        assert!(!e.key_messages.contains(&i.neighbours[0].id));
        assert!(!e.key_messages.contains(&i.neighbours[2].id));
        assert_eq!(ExplainContext.validate(&i, &e), Ok(()));
        passes_the_guardrail(&i, &e);

        // Someone nothing is asked of is told so; in their language, the messages as written.
        for (code, nothing, reply) in [
            (
                "en",
                "Nothing here is asked of you directly.",
                "In the thread, Lena replied:",
            ),
            (
                "fr",
                "Rien ne vous est demandé directement ici.",
                "Dans le fil, Lena a répondu :",
            ),
            (
                "de",
                "Hier wird nichts direkt von dir verlangt.",
                "Im Thread antwortete Lena:",
            ),
            (
                "es",
                "Aquí no se te pide nada directamente.",
                "En el hilo, Lena respondió:",
            ),
        ] {
            let i = reschedule(("U-CLAIRE", "Claire"), code);
            let e = ExplainContext.extractive(&i);
            assert_eq!(e.language, code);
            assert_eq!(e.for_you.last().map(|s| s.text.as_str()), Some(nothing));
            assert!(e.outcome[0].text.starts_with(reply), "{:?}", e.outcome);
            assert!(e.outcome[0].text.contains("Thursday 10 December at 2pm"));
            assert_eq!(ExplainContext.validate(&i, &e), Ok(()));
            passes_the_guardrail(&i, &e);
        }

        // The one who asked: their own message is "you", and the replies answer them.
        let i = reschedule(("U-PRIYA", "Priya"), "en");
        let e = ExplainContext.extractive(&i);
        assert_eq!(
            e.about.text,
            "In #design, you ask to move the design review."
        );
        assert!(e.outcome[1].text.starts_with("Then you replied:"));
        assert_eq!(
            e.for_you.last().map(|s| s.text.as_str()),
            Some("You started this thread, so its replies answer you.")
        );
        assert_eq!(ExplainContext.validate(&i, &e), Ok(()));
    }

    #[test]
    fn a_model_answer_without_the_threads_outcome_is_rejected() {
        let i = input("en");
        let mut e = ExplainContext.extractive(&i);
        assert_eq!(ExplainContext.validate(&i, &e), Ok(()));
        // Citing only the parent is not stating what the replies decided.
        e.outcome = vec![CitedSentence::new(
            "The upgrade is blocked.",
            vec![i.thread[0].id.clone()],
        )];
        let err = ExplainContext.validate(&i, &e).unwrap_err();
        assert!(err.contains("outcome"), "{err}");
        e.outcome.clear();
        assert!(ExplainContext.validate(&i, &e).is_err());
        // With no replies there is no outcome to require.
        let mut alone = i.clone();
        alone.neighbours.extend(std::mem::take(&mut alone.thread));
        assert_eq!(ExplainContext.validate(&alone, &e), Ok(()));
        // The prompt asks for it, and for related messages.
        let prompt = ExplainContext.prompt(&i);
        assert!(prompt.instructions.contains("`outcome`"));
        assert!(prompt.instructions.contains("`related`"));
    }

    #[test]
    fn the_prompt_keeps_content_in_the_data() {
        let i = input("fr");
        let prompt = ExplainContext.prompt(&i);
        testkit::assert_clean_prompt(&prompt, &i, &["Kafka", "U-ZOE", "taco"]);
    }
}
