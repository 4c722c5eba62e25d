//! ExtractPropositions: a batch of messages → short AMR-like statements (who did or said what,
//! about what, when, with which modality), each citing its messages.
//!
//! The caller batches: [`batches_by_count`] and [`batches_by_tokens`] split a channel's messages
//! so each batch fits a model's context; the results of all batches are simply concatenated.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::{
    ChannelInfo, ChatMessage, Entities, MessageRef, Proposition, check_cited, json_prompt,
};
use super::{Prompt, Task};
use crate::ai::extractive::discussion::{self, Settings, Utterance};
use crate::ai::extractive::{
    acts, approx_tokens, batch_by_count, chunk_by_tokens, entities, lang, text,
};
use crate::model::proposition::Kind;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PropositionsInput {
    pub channel: ChannelInfo,
    pub messages: Vec<ChatMessage>,
    /// Names from the directory that may appear in messages (authors are always known).
    #[serde(default)]
    pub known_people: Vec<String>,
    /// The workspace's UTC offset, for resolving "tomorrow".
    #[serde(default)]
    pub utc_offset_secs: i32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PropositionsOutput {
    pub propositions: Vec<Proposition>,
}

/// Messages → propositions.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExtractPropositions;

/// Splits an input into inputs of at most `size` messages each.
pub fn batches_by_count(input: &PropositionsInput, size: usize) -> Vec<PropositionsInput> {
    batch_by_count(input.messages.clone(), size)
        .into_iter()
        .map(|messages| PropositionsInput {
            messages,
            ..input.clone()
        })
        .collect()
}

/// Splits an input into inputs of at most about `limit` tokens of messages each; each keeps only
/// the known people its messages name ([`known_in`]).
pub fn batches_by_tokens(input: &PropositionsInput, limit: usize) -> Vec<PropositionsInput> {
    chunk_by_tokens(input.messages.clone(), limit, message_tokens)
        .into_iter()
        .map(|messages| PropositionsInput {
            known_people: known_in(&input.known_people, &messages),
            messages,
            ..input.clone()
        })
        .collect()
}

/// The known people a batch's messages name (full name or first name, case-insensitive) or who
/// wrote them, in the given order. Every name of the workspace in every prompt cost 190k prompt
/// tokens per 1,000 messages on a 200-person export, and would not fit a prompt at 10,000 people.
pub fn known_in(known: &[String], messages: &[ChatMessage]) -> Vec<String> {
    let texts: Vec<String> = messages.iter().map(|m| m.text.to_lowercase()).collect();
    known
        .iter()
        .filter(|name| {
            let lower = name.to_lowercase();
            let first = lower.split_whitespace().next().unwrap_or_default();
            messages.iter().any(|m| m.author == **name)
                || texts.iter().any(|t| {
                    t.contains(&lower) || (first.chars().count() >= 3 && t.contains(first))
                })
        })
        .cloned()
        .collect()
}

/// Whether a message can state anything: joins, emoji-only and link-only lines cannot, and
/// extracting them would cost a model call for nothing.
pub fn worth_extracting(text: &str) -> bool {
    let clean = text::strip_urls(&text::clean(text));
    // `:emoji:` codes and punctuation say nothing.
    let words = clean
        .split_whitespace()
        .filter(|w| !(w.starts_with(':') && w.ends_with(':') && w.len() > 2))
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count();
    words >= 2
}

/// Approximate prompt tokens of one message (text, author and the JSON around them).
pub fn message_tokens(m: &ChatMessage) -> usize {
    approx_tokens(&m.text) + approx_tokens(&m.author) + 16
}

const INSTRUCTIONS: &str = "You extract propositions from chat messages. A proposition is one \
short third-person statement of who did, said, asks, plans or decided what, about what, and when: \
for example \"Dana is sick\", \"Dana will not be in the office on Friday 3 May\", \"Dana asks to \
reschedule the launch review\". Replace first-person words by the author's name and \"you\" by \
the addressee when one is named. Resolve relative dates (today, tomorrow, Friday) against the \
message's posted_at (epoch seconds, shifted by utc_offset_secs) and give the day as YYYY-MM-DD in \
`time`. `subject` is who acts (who asks, promises, decides, is blocked). Set `modality` to one of \
statement, request, plan, blocker, decision, question (how it is put) and `kind` to what it does: \
request (someone asks someone — `addressee` — to do something), commitment (the subject \
promises or plans to do something), decision, blocker, question, answer (replies to an earlier \
question), status (progress: done, fixed, in progress) or fyi. Set `polarity` to negative when \
the statement denies (\"will not\", \"is not fixed\"), and `due` (YYYY-MM-DD) when a request or \
commitment has a deadline. List in `entities` the people (authors and mentioned people only), \
projects, systems, #channels, tickets (PAY-142, #1234) and resolved dates the statement names. Every proposition cites in `sources` the message ids it comes from. Skip \
greetings, thanks and small talk. Answer as {\"propositions\": [...]}.";

impl Task for ExtractPropositions {
    type Input = PropositionsInput;
    type Output = PropositionsOutput;

    fn name(&self) -> &'static str {
        "extract_propositions"
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
            known_people: &input.known_people,
            topics: 1,
        };
        let lang = lang::detect_many(input.messages.iter().map(|m| m.text.as_str()));
        let mut known: Vec<String> = input.messages.iter().map(|m| m.author.clone()).collect();
        known.extend(input.known_people.iter().cloned());
        known.sort();
        known.dedup();
        // The open question a later statement by someone else answers: (author, utterance).
        let mut open_question: Option<(&str, usize)> = None;
        let propositions = discussion::claims_of(&utterances, &settings, lang)
            .into_iter()
            .map(|claim| {
                let sources: Vec<MessageRef> = claim
                    .utterances
                    .iter()
                    .map(|&i| input.messages[i].id.clone())
                    .collect();
                let first = claim.utterances.first().copied().unwrap_or(0);
                let author = input.messages[first].author.as_str();
                let s = claim.statement;
                let answers = open_question.is_some_and(|(a, at)| a != author && at < first);
                let kind = acts::kind_of(&s, author, answers, &input.messages[first].text);
                match kind {
                    Kind::Question => open_question = Some((author, first)),
                    Kind::Answer => open_question = None,
                    _ => {}
                }
                let message_texts: Vec<&str> = claim
                    .utterances
                    .iter()
                    .map(|&i| input.messages[i].text.as_str())
                    .collect();
                let found = entities::extract(&message_texts, &known, Some(&input.channel.name));
                let mut people = entities::people_in(&s.text, &known);
                if let Some(a) = &s.addressee
                    && !people.iter().any(|p| p.eq_ignore_ascii_case(a))
                {
                    people.push(a.clone());
                }
                let mentioned_channels: Vec<String> = message_texts
                    .iter()
                    .flat_map(|t| entities::channels(&text::clean(t)))
                    .collect();
                let time = s.time.map(|d| d.to_string());
                let due = matches!(kind, Kind::Request | Kind::Commitment)
                    .then(|| time.clone())
                    .flatten();
                Proposition {
                    polarity: acts::polarity(&s.text),
                    addressee: s.addressee.clone(),
                    due,
                    kind,
                    entities: Entities {
                        people,
                        projects: found.projects,
                        systems: found.systems,
                        channels: mentioned_channels,
                        tickets: message_texts
                            .iter()
                            .flat_map(|t| acts::tickets(t))
                            .collect(),
                        dates: time.iter().cloned().collect(),
                    },
                    statement: s.text,
                    subject: s.subject,
                    predicate: s.predicate,
                    object: s.object,
                    time,
                    modality: s.modality,
                    sources,
                }
            })
            .collect();
        PropositionsOutput { propositions }
    }

    fn validate(&self, input: &Self::Input, output: &Self::Output) -> Result<(), String> {
        let allowed: BTreeSet<&MessageRef> = input.messages.iter().map(|m| &m.id).collect();
        for p in &output.propositions {
            if p.sources.is_empty() {
                return Err(format!("proposition {:?} cites no source", p.statement));
            }
            check_cited(&p.sources, &allowed)?;
            for (field, day) in [("time", &p.time), ("due", &p.due)] {
                if let Some(t) = day
                    && chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").is_err()
                {
                    return Err(format!("{field} {t:?} is not YYYY-MM-DD"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::extractive::Modality;
    use crate::ai::tasks::types::testkit;

    /// Wednesday 1 May 2024, 10:00 UTC.
    const WED: i64 = 1_714_557_600;

    fn bob_message() -> PropositionsInput {
        PropositionsInput {
            channel: ChannelInfo {
                id: "C1".into(),
                name: "project-lavender".into(),
            },
            messages: vec![ChatMessage {
                id: MessageRef {
                    channel_id: "C1".into(),
                    ts: format!("{WED}.000100"),
                },
                author: "Bob".into(),
                author_id: Some("U1".into()),
                text: "I am sick and can't come tomorrow, can we move the project meeting?".into(),
                posted_at: WED,
            }],
            known_people: vec![],
            utc_offset_secs: 0,
        }
    }

    #[test]
    fn the_readme_example_becomes_three_statements() {
        let input = bob_message();
        let out = ExtractPropositions.extractive(&input);
        let got: Vec<(&str, Modality, Option<&str>)> = out
            .propositions
            .iter()
            .map(|p| (p.statement.as_str(), p.modality, p.time.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("Bob is sick", Modality::Statement, None),
                (
                    "Bob can't come on Thursday 2 May",
                    Modality::Blocker,
                    Some("2024-05-02")
                ),
                (
                    "Bob asks to move the project Lavender meeting",
                    Modality::Request,
                    None
                ),
            ]
        );
        let request = &out.propositions[2];
        assert_eq!(request.entities.people, ["Bob"]);
        assert_eq!(request.entities.projects, ["Lavender"]);
        assert!(
            out.propositions
                .iter()
                .all(|p| p.sources == [input.messages[0].id.clone()])
        );
        assert_eq!(ExtractPropositions.validate(&input, &out), Ok(()));
    }

    #[test]
    fn a_foreign_source_fails_validation() {
        let input = bob_message();
        let mut out = ExtractPropositions.extractive(&input);
        out.propositions[0].sources[0].ts = "1.1".into();
        assert!(ExtractPropositions.validate(&input, &out).is_err());
    }

    #[test]
    fn the_prompt_keeps_content_in_the_data() {
        let input = bob_message();
        let prompt = ExtractPropositions.prompt(&input);
        testkit::assert_clean_prompt(
            &prompt,
            &input,
            &["project meeting", "Bob", "project-lavender"],
        );
    }

    #[test]
    fn batches_cover_every_message_in_order() {
        let (channel, messages) = testkit::houston_day("general", "2015-06-09");
        let input = PropositionsInput {
            channel,
            messages,
            known_people: vec![],
            utc_offset_secs: -5 * 3600,
        };
        let by_count = batches_by_count(&input, 7);
        assert!(by_count.iter().all(|b| b.messages.len() <= 7));
        let by_tokens = batches_by_tokens(&input, 120);
        for batches in [by_count, by_tokens] {
            let rejoined: Vec<ChatMessage> = batches.into_iter().flat_map(|b| b.messages).collect();
            assert_eq!(rejoined, input.messages);
        }
    }

    #[test]
    fn real_chat_gives_attributed_statements() {
        let (channel, messages) = testkit::houston_day("general", "2015-06-09");
        let input = PropositionsInput {
            channel,
            messages,
            known_people: vec![],
            utc_offset_secs: -5 * 3600,
        };
        let out = ExtractPropositions.extractive(&input);
        let statements: Vec<&str> = out
            .propositions
            .iter()
            .map(|p| p.statement.as_str())
            .collect();
        // "Ok I'll add the content later today. An outline, links, and an image"
        assert!(
            statements
                .iter()
                .any(|s| s.starts_with("Neeraj") && s.contains("will add the content")),
            "{statements:#?}"
        );
        // Greetings make no statement.
        assert!(statements.iter().all(|s| !s.contains("Hey, Giovanni")));
        assert_eq!(ExtractPropositions.validate(&input, &out), Ok(()));
    }
}
