//! SummarizeDiscussion: one discussion (a channel's messages, optionally with propositions already
//! extracted) → title, two or three cited sentences, topics, entities, urgency, decisions and open
//! questions.
//!
//! Long inputs are never truncated: [`SummarizeDiscussion::chunks`] splits a discussion larger
//! than the token limit into consecutive chunks, each is summarized (through the gateway, or by
//! the extractive engine), and [`SummarizeDiscussion::merge`] combines the chunk summaries so that
//! every chunk keeps its topics and sources in the result. `extractive` does this by itself.

use std::collections::{BTreeSet, HashMap};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::{
    ChannelInfo, ChatMessage, CitedSentence, DiscussionSummary, Entities, MessageRef, Proposition,
    check_cited, json_prompt, sorted_unique,
};
use super::{Prompt, Task};
use crate::ai::extractive::discussion::{self, Analysis, Claim, Settings, Utterance};
use crate::ai::extractive::rank;
use crate::ai::extractive::statements::Statement;
use crate::ai::extractive::templates::join_list;
use crate::ai::extractive::tfidf::TfIdf;
use crate::ai::extractive::{Lang, Modality, approx_tokens, chunk_by_tokens, lang, text};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Discussion {
    pub channel: ChannelInfo,
    pub messages: Vec<ChatMessage>,
    /// Propositions already extracted from these messages, if any: used as the statements.
    #[serde(default)]
    pub propositions: Vec<Proposition>,
    #[serde(default)]
    pub utc_offset_secs: i32,
}

/// Summarizes a discussion; inputs above `token_limit` are chunked and merged.
#[derive(Clone, Copy, Debug)]
pub struct SummarizeDiscussion {
    /// Approximate prompt tokens of messages per model call.
    pub token_limit: usize,
}

impl Default for SummarizeDiscussion {
    fn default() -> Self {
        SummarizeDiscussion { token_limit: 6_000 }
    }
}

const TOPICS: usize = 5;

const INSTRUCTIONS: &str = "You summarize one chat discussion for busy engineering leaders. \
Write `title` (at most eight words), `summary` (two or three short sentences in the discussion's \
language, third person, saying who wants or decided what), `topics` (up to five keyphrases, most \
important first), `entities` (people: only authors and mentioned people; projects; systems; \
channels), `participants` (the authors), `urgency` (0 to 1: deadlines, blockers, requests, \
mentions and dates in the next days raise it), `decisions` and `open_questions` (questions nobody \
answered). Every sentence cites in `sources` the message ids it rests on, and `sources` lists all \
cited ids. Propositions in the data, when present, are statements already extracted from the \
messages: prefer them.";

impl Task for SummarizeDiscussion {
    type Input = Discussion;
    type Output = DiscussionSummary;

    /// A discussion's summary is a few sentences and their citations.
    fn max_output_tokens(&self) -> u32 {
        400
    }

    fn name(&self) -> &'static str {
        "summarize_discussion"
    }

    fn prompt(&self, input: &Self::Input) -> Prompt {
        json_prompt(INSTRUCTIONS, input)
    }

    fn extractive(&self, input: &Self::Input) -> Self::Output {
        let _span = tracing::debug_span!(
            "extractive",
            task = self.name(),
            messages = input.messages.len()
        )
        .entered();
        let chunks = self.chunks(input);
        if chunks.len() <= 1 {
            return summarize_one(input);
        }
        let parts: Vec<DiscussionSummary> = chunks.iter().map(summarize_one).collect();
        self.merge(input, parts)
    }

    fn validate(&self, input: &Self::Input, output: &Self::Output) -> Result<(), String> {
        let allowed: BTreeSet<&MessageRef> = input.messages.iter().map(|m| &m.id).collect();
        // An empty summary is an answer: a discussion of greetings or a lone link has nothing
        // to say (the extractive engine says so too), and it then makes no story.
        if !(0.0..=1.0).contains(&output.urgency) {
            return Err(format!("urgency {} is outside 0..1", output.urgency));
        }
        for s in output
            .summary
            .iter()
            .chain(&output.decisions)
            .chain(&output.open_questions)
        {
            if s.sources.is_empty() {
                return Err(format!("sentence {:?} cites no source", s.text));
            }
            check_cited(&s.sources, &allowed)?;
        }
        check_cited(&output.sources, &allowed)
    }
}

/// Approximate prompt tokens of one message.
fn message_tokens(m: &ChatMessage) -> usize {
    approx_tokens(&m.text) + approx_tokens(&m.author) + 16
}

impl SummarizeDiscussion {
    /// The discussion split into consecutive parts of at most `token_limit` tokens of messages
    /// (one part when it fits). Propositions go with the part holding their first source.
    pub fn chunks(&self, input: &Discussion) -> Vec<Discussion> {
        let chunks = chunk_by_tokens(
            input.messages.clone(),
            self.token_limit.max(64),
            message_tokens,
        );
        if chunks.len() <= 1 {
            return vec![input.clone()];
        }
        chunks
            .into_iter()
            .map(|messages| {
                let ids: BTreeSet<&MessageRef> = messages.iter().map(|m| &m.id).collect();
                let propositions = input
                    .propositions
                    .iter()
                    .filter(|p| p.sources.first().is_some_and(|s| ids.contains(s)))
                    .cloned()
                    .collect();
                Discussion {
                    channel: input.channel.clone(),
                    messages,
                    propositions,
                    utc_offset_secs: input.utc_offset_secs,
                }
            })
            .collect()
    }

    /// Merges chunk summaries (in chunk order) into one: topics interleaved so every chunk keeps
    /// its leading topics, an overview sentence over the merged topics, the most central chunk
    /// sentences, all decisions and open questions, every source.
    pub fn merge(&self, input: &Discussion, parts: Vec<DiscussionSummary>) -> DiscussionSummary {
        merge_summaries(&input.channel, parts)
    }
}

/// Merges summaries of consecutive parts of one discussion (or of related discussions).
pub fn merge_summaries(channel: &ChannelInfo, parts: Vec<DiscussionSummary>) -> DiscussionSummary {
    if parts.len() == 1 {
        return parts.into_iter().next().unwrap_or_else(|| empty(channel));
    }
    if parts.is_empty() {
        return empty(channel);
    }
    let all_text: Vec<&str> = parts
        .iter()
        .flat_map(|p| p.summary.iter().map(|s| s.text.as_str()))
        .collect();
    let lang = lang::detect_many(all_text.iter().copied());

    // Topics: round-robin over the parts, deduplicated, so each part contributes.
    // At most three per part: a part's minor topics are summary detail, its sources stay.
    let cap = TOPICS.max(3 * parts.len());
    let mut topics: Vec<String> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let longest = parts.iter().map(|p| p.topics.len()).max().unwrap_or(0);
    for rank in 0..longest {
        for p in &parts {
            if let Some(t) = p.topics.get(rank) {
                let key = text::terms(t, lang).join(" ");
                let key = if key.is_empty() {
                    t.to_lowercase()
                } else {
                    key
                };
                if topics.len() < cap && seen.insert(key) {
                    topics.push(t.clone());
                }
            }
        }
    }

    let mut entities = Entities::default();
    let mut participants: Vec<String> = Vec::new();
    let mut decisions: Vec<CitedSentence> = Vec::new();
    let mut open_questions: Vec<CitedSentence> = Vec::new();
    let mut sources: Vec<MessageRef> = Vec::new();
    let mut parts_propositions: Vec<Proposition> = Vec::new();
    for p in &parts {
        for q in &p.propositions {
            if !parts_propositions.contains(q) {
                parts_propositions.push(q.clone());
            }
        }
        entities.merge(&p.entities);
        for a in &p.participants {
            if !participants.contains(a) {
                participants.push(a.clone());
            }
        }
        for d in &p.decisions {
            if !decisions.iter().any(|x| x.text == d.text) {
                decisions.push(d.clone());
            }
        }
        for q in &p.open_questions {
            if !open_questions.iter().any(|x| x.text == q.text) {
                open_questions.push(q.clone());
            }
        }
        sources.extend(p.sources.iter().cloned());
    }
    let urgency = parts.iter().map(|p| p.urgency).fold(0.0, f64::max);

    // The most central sentences across the parts (each part's are already what happened in it).
    let candidates: Vec<&CitedSentence> = parts.iter().flat_map(|p| p.summary.iter()).collect();
    let docs: Vec<Vec<String>> = candidates
        .iter()
        .map(|s| text::terms(&s.text, lang))
        .collect();
    let (_, vectors) = TfIdf::vectors(&docs);
    let scores = rank::centrality(&vectors);
    let mut picked = rank::select_diverse(&scores, &vectors, 3, 0.5);
    picked.sort_unstable();
    let summary: Vec<CitedSentence> = picked.into_iter().map(|i| candidates[i].clone()).collect();
    for s in &summary {
        sources.extend(s.sources.iter().cloned());
    }
    // The title of the most urgent part that has something to say.
    let title = parts
        .iter()
        .filter(|p| !p.summary.is_empty())
        .max_by(|a, b| a.urgency.total_cmp(&b.urgency))
        .map(|p| p.title.clone())
        .unwrap_or_else(|| title_of(&topics, lang, None));

    DiscussionSummary {
        title,
        summary,
        topics,
        entities,
        participants,
        urgency,
        decisions,
        open_questions,
        sources: sorted_unique(sources),
        propositions: parts_propositions,
    }
}

fn empty(channel: &ChannelInfo) -> DiscussionSummary {
    DiscussionSummary {
        title: format!("#{}", channel.name),
        summary: Vec::new(),
        topics: Vec::new(),
        entities: Entities::default(),
        participants: Vec::new(),
        urgency: 0.0,
        decisions: Vec::new(),
        open_questions: Vec::new(),
        sources: Vec::new(),
        propositions: Vec::new(),
    }
}

/// A title from the lead statement: what happened, in at most fourteen words, cut at a clause
/// boundary when it is longer ("Micah Stubbs asks Neeraj Tandon to reach out to the nice people
/// at Continuum in Austin").
pub(crate) fn headline(statement: &str) -> String {
    const MAX_WORDS: usize = 14;
    let text = statement.trim().trim_end_matches(['.', '!']);
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() <= MAX_WORDS {
        return text::capitalise(text);
    }
    let mut end = MAX_WORDS;
    let mut at_clause = false;
    for (i, w) in words.iter().enumerate().take(MAX_WORDS).skip(5) {
        if w.ends_with([',', ';', ':']) || matches!(words.get(i + 1), Some(&"-") | Some(&"—")) {
            end = i + 1;
            at_clause = true;
            break;
        }
    }
    // A cut never ends inside a date ("on Thursday 3…" reads as the number 3) nor on a small word.
    while end > 5 {
        let last = words[end - 1].to_lowercase();
        let dangling = last.chars().any(|c| c.is_ascii_digit())
            || text::is_stop_word(&last)
            || !crate::ai::extractive::dates::find_dates(words[end - 1], 0, 0).is_empty();
        if !dangling {
            break;
        }
        end -= 1;
    }
    let cut = words[..end]
        .join(" ")
        .trim_end_matches([',', ';', ':'])
        .to_string();
    let cut = if !at_clause { format!("{cut}…") } else { cut };
    text::capitalise(&cut)
}

fn title_of(topics: &[String], lang: Lang, fallback: Option<&str>) -> String {
    let title = match topics {
        [] => fallback
            .map(|f| f.chars().take(60).collect::<String>())
            .unwrap_or_default(),
        [one] => one.clone(),
        [a, b, ..] => join_list(&[a.clone(), b.clone()], lang),
    };
    let mut c = title.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => title,
    }
}

fn claims_from_propositions(input: &Discussion) -> Option<Vec<Claim>> {
    if input.propositions.is_empty() {
        return None;
    }
    let index: HashMap<&MessageRef, usize> = input
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| (&m.id, i))
        .collect();
    let claims = input
        .propositions
        .iter()
        .filter_map(|p| {
            let utterances: Vec<usize> = p
                .sources
                .iter()
                .filter_map(|s| index.get(s).copied())
                .collect();
            (!utterances.is_empty()).then(|| Claim {
                utterances,
                statement: Statement {
                    subject: p.subject.clone(),
                    predicate: p.predicate.clone(),
                    object: p.object.clone(),
                    time: p
                        .time
                        .as_deref()
                        .and_then(|t| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()),
                    modality: p.modality,
                    text: p.statement.clone(),
                    addressee: p.addressee.clone(),
                },
            })
        })
        .collect();
    Some(claims)
}

/// The analysis of a discussion that fits one call.
pub(crate) fn analyse(input: &Discussion, topics: usize) -> Analysis {
    let utterances: Vec<Utterance> = input
        .messages
        .iter()
        .map(|m| Utterance {
            author: &m.author,
            text: &m.text,
            posted_at: m.posted_at,
        })
        .collect();
    let settings = Settings {
        channel_name: Some(&input.channel.name),
        utc_offset_secs: input.utc_offset_secs,
        known_people: &[],
        topics,
    };
    discussion::analyse(&utterances, &settings, claims_from_propositions(input))
}

fn cite(input: &Discussion, a: &Analysis, claim: usize) -> CitedSentence {
    let c = &a.claims[claim];
    let sources = c
        .utterances
        .iter()
        .map(|&u| input.messages[u].id.clone())
        .collect();
    let mut text = c.statement.text.trim().to_string();
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    CitedSentence::new(text, sources)
}

fn summarize_one(input: &Discussion) -> DiscussionSummary {
    if input.messages.is_empty() {
        return empty(&input.channel);
    }
    let a = analyse(input, TOPICS);
    let topics: Vec<String> = a.topics.iter().map(|t| t.phrase.clone()).collect();

    // What happened, most telling first: who asked whom for what, what was decided, who will do
    // what. A discussion with nothing to say (links, jokes, greetings) has no summary and no
    // sources: it is not a story, and a better one takes its place.
    let lead = a.lead(3);
    if lead.is_empty() {
        return DiscussionSummary {
            topics,
            participants: a.participants.clone(),
            propositions: input.propositions.clone(),
            ..empty(&input.channel)
        };
    }
    let title = headline(&a.claims[lead[0]].statement.text);
    let mut in_order = lead.clone();
    in_order.sort_by_key(|&i| (a.claims[i].utterances.first().copied(), i));
    let summary: Vec<CitedSentence> = in_order.iter().map(|&i| cite(input, &a, i)).collect();

    let decisions: Vec<CitedSentence> = a
        .with_modality(Modality::Decision)
        .into_iter()
        .map(|i| cite(input, &a, i))
        .collect();
    // The five most central open questions, in order: a monologue of rhetorical questions
    // should not drown the summary.
    let mut open: Vec<usize> = a.open_questions.clone();
    open.sort_by(|&x, &y| a.scores[y].total_cmp(&a.scores[x]).then(x.cmp(&y)));
    open.truncate(5);
    open.sort_unstable();
    let open_questions: Vec<CitedSentence> = open.iter().map(|&i| cite(input, &a, i)).collect();

    let mut sources: Vec<MessageRef> = Vec::new();
    for s in summary.iter().chain(&decisions).chain(&open_questions) {
        sources.extend(s.sources.iter().cloned());
    }
    DiscussionSummary {
        title,
        summary,
        topics,
        entities: a.entities.clone().into(),
        participants: a.participants.clone(),
        urgency: a.urgency,
        decisions,
        open_questions,
        sources: sorted_unique(sources),
        propositions: input.propositions.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::tasks::types::testkit;

    fn message(i: usize, author: &str, text: &str) -> ChatMessage {
        let at = 1_714_557_600 + i as i64 * 30;
        ChatMessage {
            id: MessageRef {
                channel_id: "C9".into(),
                ts: format!("{at}.{i:06}"),
            },
            author: author.into(),
            author_id: None,
            text: text.into(),
            posted_at: at,
        }
    }

    fn houston(channel: &str, date: &str) -> Discussion {
        let (channel, messages) = testkit::houston_day(channel, date);
        Discussion {
            channel,
            messages,
            propositions: vec![],
            utc_offset_secs: -5 * 3600,
        }
    }

    #[test]
    fn a_real_channel_day_reads_as_its_gist() {
        // #datajam, 19 June 2015: R code updated for US counties, choropleths, DRG codes.
        let input = houston("datajam", "2015-06-19");
        let s = SummarizeDiscussion::default().extractive(&input);
        let all = s
            .summary
            .iter()
            .map(|x| x.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        println!("{}\n{all}\n{:?}", s.title, s.topics);
        assert!(s.summary.len() >= 2 && s.summary.len() <= 3, "{all}");
        assert!(
            s.topics.iter().any(|t| t.to_lowercase().contains("code")),
            "{:?}",
            s.topics
        );
        // The title is what happened (a statement), not a keyword list.
        assert!(s.title.split_whitespace().count() >= 4, "{}", s.title);
        assert!(!all.contains("came up in"), "{all}");
        assert!(
            all.contains("US counties") || all.contains("choropleths"),
            "{all}"
        );
        assert_eq!(SummarizeDiscussion::default().validate(&input, &s), Ok(()));
    }

    #[test]
    fn decisions_questions_and_urgency_are_found() {
        let input = Discussion {
            channel: ChannelInfo {
                id: "C9".into(),
                name: "infra".into(),
            },
            messages: vec![
                message(0, "Ann", "The Postgres migration failed on staging again"),
                message(
                    1,
                    "Ben",
                    "I'm blocked on it, the billing deploy can't go out",
                ),
                message(
                    2,
                    "Ann",
                    "We decided to roll back the Postgres migration tonight",
                ),
                message(3, "Ben", "@Carl can you review the rollback script by EOD?"),
                message(4, "Ann", "Who owns the staging database credentials now?"),
            ],
            propositions: vec![],
            utc_offset_secs: 0,
        };
        let s = SummarizeDiscussion::default().extractive(&input);
        assert_eq!(s.decisions.len(), 1);
        assert!(
            s.decisions[0]
                .text
                .contains("roll back the Postgres migration")
        );
        assert_eq!(s.decisions[0].sources, [input.messages[2].id.clone()]);
        assert_eq!(s.open_questions.len(), 1, "{:?}", s.open_questions);
        assert!(s.urgency > 0.6, "{}", s.urgency);
        assert!(s.entities.systems.contains(&"Postgres".to_string()));
        assert!(s.entities.people.contains(&"Carl".to_string()));
        assert_eq!(s.topics[0], "Postgres migration");
        assert_eq!(SummarizeDiscussion::default().validate(&input, &s), Ok(()));
    }

    /// A 2,000-message thread is chunked, every chunk summarized and merged; every part of the
    /// thread keeps its topic and at least one source in the result.
    #[test]
    fn a_two_thousand_message_thread_is_chunked_not_truncated() {
        let subjects = [
            "kafka consumer lag",
            "billing invoices",
            "login outage",
            "mobile release",
            "hiring plan",
            "design review",
            "security audit",
            "terraform modules",
            "search relevance",
            "data warehouse",
            "oncall rotation",
            "api gateway",
            "feature flags",
            "android crash",
            "payment retries",
            "customer onboarding",
            "latency budget",
            "cache eviction",
            "quarterly roadmap",
            "office move",
        ];
        let people = ["Ann", "Ben", "Chen", "Dora", "Eli"];
        let templates = [
            "the {s} needs another look before friday",
            "I checked the {s} dashboard this morning",
            "can we pair on the {s} after lunch?",
            "notes on the {s} are in the doc",
            "still thinking about the {s} numbers",
        ];
        let messages: Vec<ChatMessage> = (0..2_000)
            .map(|i| {
                let subject = subjects[i / 100];
                let text = templates[i % templates.len()].replace("{s}", subject);
                message(i, people[i % people.len()], &text)
            })
            .collect();
        let input = Discussion {
            channel: ChannelInfo {
                id: "C9".into(),
                name: "eng".into(),
            },
            messages,
            propositions: vec![],
            utc_offset_secs: 0,
        };
        let task = SummarizeDiscussion { token_limit: 4_000 };
        let chunks = task.chunks(&input);
        assert!(chunks.len() >= 5, "{} chunks", chunks.len());
        let rejoined: Vec<&ChatMessage> = chunks.iter().flat_map(|c| &c.messages).collect();
        assert_eq!(rejoined.len(), 2_000);

        let merged = task.extractive(&input);
        for (part, subject) in subjects.iter().enumerate() {
            let in_topics = merged.topics.iter().any(|t| t.to_lowercase() == *subject);
            assert!(in_topics, "{subject} missing from {:?}", merged.topics);
            let part_ids: BTreeSet<&MessageRef> = input.messages[part * 100..(part + 1) * 100]
                .iter()
                .map(|m| &m.id)
                .collect();
            assert!(
                merged.sources.iter().any(|s| part_ids.contains(s)),
                "part {part} ({subject}) has no source"
            );
        }
        assert!(merged.summary.len() >= 2 && merged.summary.len() <= 3);
        assert_eq!(merged.participants.len(), 5);
        assert_eq!(task.validate(&input, &merged), Ok(()));
    }

    #[test]
    fn the_prompt_keeps_content_in_the_data() {
        let input = houston("datajam", "2015-06-19");
        let prompt = SummarizeDiscussion::default().prompt(&input);
        testkit::assert_clean_prompt(&prompt, &input, &["choropleths", "datajam"]);
    }

    #[test]
    fn a_french_discussion_is_summarized_in_french() {
        let input = Discussion {
            channel: ChannelInfo {
                id: "C9".into(),
                name: "equipe".into(),
            },
            messages: vec![
                message(
                    0,
                    "Amélie",
                    "La migration de la base de données est bloquée depuis ce matin",
                ),
                message(
                    1,
                    "Bruno",
                    "Je regarde la migration de la base de données cet après-midi",
                ),
                message(2, "Amélie", "Merci, la livraison dépend de cette migration"),
            ],
            propositions: vec![],
            utc_offset_secs: 0,
        };
        let s = SummarizeDiscussion::default().extractive(&input);
        assert!(
            s.summary[0].text.starts_with("Amélie: La migration"),
            "{:?}",
            s.summary
        );
        assert!(
            s.topics.iter().any(|t| t.contains("migration")),
            "{:?}",
            s.topics
        );
        assert!(
            s.summary.iter().all(|x| x.text.contains(':')),
            "{:?}",
            s.summary
        );
    }

    #[test]
    fn a_summary_citing_unknown_messages_is_sent_back() {
        let input = houston("datajam", "2015-06-19");
        let mut s = SummarizeDiscussion::default().extractive(&input);
        s.summary[1].sources = vec![MessageRef {
            channel_id: "C0".into(),
            ts: "1.0".into(),
        }];
        let err = SummarizeDiscussion::default()
            .validate(&input, &s)
            .unwrap_err();
        assert!(err.contains("not in the input"), "{err}");
    }

    #[test]
    fn given_propositions_are_the_statements() {
        let mut input = Discussion {
            channel: ChannelInfo {
                id: "C9".into(),
                name: "infra".into(),
            },
            messages: vec![message(0, "Ann", "pg is sad again, rolling back")],
            propositions: vec![],
            utc_offset_secs: 0,
        };
        input.propositions.push(Proposition {
            statement: "Ann rolls back the Postgres upgrade".into(),
            subject: "Ann".into(),
            predicate: "rolls back".into(),
            object: "the Postgres upgrade".into(),
            time: None,
            modality: Modality::Plan,
            kind: crate::model::proposition::Kind::Status,
            polarity: Default::default(),
            addressee: None,
            due: None,
            entities: Entities::default(),
            sources: vec![input.messages[0].id.clone()],
        });
        let s = SummarizeDiscussion::default().extractive(&input);
        assert!(
            s.summary
                .iter()
                .any(|x| x.text == "Ann rolls back the Postgres upgrade.")
        );
    }
}
