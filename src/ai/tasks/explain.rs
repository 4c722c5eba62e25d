//! ExplainContext: one clicked message with its thread and neighbouring messages + the reader →
//! an explainer: what it is about, who wants what from whom, decisions, open questions, what it
//! means for the reader (their interests, their own part as "you"), and the key messages, with
//! framing in the reader's language.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::{
    ChannelInfo, ChatMessage, CitedSentence, MessageRef, Reader, TextSection, check_cited,
    json_prompt, sorted_unique,
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
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Explainer {
    /// ISO 639-1 code of the framing language.
    pub language: String,
    /// What the discussion is about.
    pub about: CitedSentence,
    /// Who wants what from whom.
    pub asks: Vec<CitedSentence>,
    pub decisions: Vec<CitedSentence>,
    pub open_questions: Vec<CitedSentence>,
    /// What it means for the reader.
    pub for_you: Vec<CitedSentence>,
    /// The messages worth opening, the clicked one first.
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
            ("asks", &self.asks),
            ("decisions", &self.decisions),
            ("open_questions", &self.open_questions),
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
}

/// Clicked message + context + reader → explainer.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExplainContext;

const INSTRUCTIONS: &str = "You explain one chat discussion to `reader`, who clicked on the \
message `clicked`; `thread` holds its thread and `neighbours` the messages around it. Write, in \
the reader's language (`reader.language`, ISO 639-1): `about` (one sentence on what the \
discussion is about), `asks` (who wants what from whom), `decisions`, `open_questions`, and \
`for_you` (what it means for the reader: requests to them, their own part, and links to \
`interests`). Speak to the reader as \"you\", never by their name. Every sentence cites in \
`sources` the message ids it rests on. `key_messages` lists the most useful message ids, the \
clicked one first. Use only facts from the messages.";

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
        for s in std::iter::once(&output.about)
            .chain(&output.asks)
            .chain(&output.decisions)
            .chain(&output.open_questions)
            .chain(&output.for_you)
        {
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
        check_cited(&output.key_messages, &allowed)
    }
}

/// The messages to explain: the clicked one and its thread, plus neighbours that share its
/// vocabulary (a busy channel's unrelated chatter stays out).
fn context_messages(input: &ExplainInput) -> Vec<ChatMessage> {
    let mut core: Vec<ChatMessage> = vec![input.clicked.clone()];
    core.extend(input.thread.iter().cloned());
    let lang = lang::detect_many(core.iter().map(|m| m.text.as_str()));
    let core_terms: Vec<String> = core
        .iter()
        .flat_map(|m| text::terms(&m.text, lang))
        .collect();
    let neighbour_terms: Vec<Vec<String>> = input
        .neighbours
        .iter()
        .map(|m| text::terms(&m.text, lang))
        .collect();
    let mut docs = vec![core_terms];
    docs.extend(neighbour_terms);
    let (_, vectors) = TfIdf::vectors(&docs);
    let clicked_at = input.clicked.posted_at;
    for (i, m) in input.neighbours.iter().enumerate() {
        let related = vectors[0].cosine(&vectors[i + 1]) >= 0.1;
        // With no thread, the few messages right around the click are its conversation.
        let adjacent = input.thread.is_empty() && (m.posted_at - clicked_at).abs() <= 600;
        if related || adjacent {
            core.push(m.clone());
        }
    }
    let mut seen = BTreeSet::new();
    core.retain(|m| seen.insert(m.id.clone()));
    core.sort_by(|a, b| a.posted_at.cmp(&b.posted_at).then_with(|| a.id.cmp(&b.id)));
    core
}

fn cite(messages: &[ChatMessage], a: &Analysis, claim: usize, reader: &Reader) -> CitedSentence {
    let c = &a.claims[claim];
    let mut text = c.statement.text.trim().to_string();
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    let content_lang = lang::detect(&text).unwrap_or(Lang::En);
    CitedSentence::new(
        person::to_second_person(&text, &reader.names(), content_lang),
        c.utterances
            .iter()
            .map(|&u| messages[u].id.clone())
            .collect(),
    )
}

fn explain(input: &ExplainInput) -> Explainer {
    let lang = input.reader.lang();
    let messages = context_messages(input);
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
        channel_name: Some(&input.channel.name),
        utc_offset_secs: input.utc_offset_secs,
        known_people: &reader_names,
        topics: 3,
    };
    let a = discussion::analyse(&utterances, &settings, None);
    let clicked_index = messages
        .iter()
        .position(|m| m.id == input.clicked.id)
        .unwrap_or(0);

    let topics: Vec<String> = a.topics.iter().map(|t| t.phrase.clone()).collect();
    let mut about_sources = vec![input.clicked.id.clone()];
    for t in a.topics.iter().take(2) {
        if let Some(&d) = t.docs.first() {
            about_sources.push(messages[d].id.clone());
        }
    }
    let about = CitedSentence::new(
        templates::about(&topics, &input.channel.name, lang),
        about_sources,
    );

    let asks: Vec<CitedSentence> = a
        .with_modality(Modality::Request)
        .into_iter()
        .map(|i| cite(&messages, &a, i, &input.reader))
        .collect();
    let decisions: Vec<CitedSentence> = a
        .with_modality(Modality::Decision)
        .into_iter()
        .map(|i| cite(&messages, &a, i, &input.reader))
        .collect();
    let open_questions: Vec<CitedSentence> = a
        .open_questions
        .iter()
        .map(|&i| cite(&messages, &a, i, &input.reader))
        .collect();

    // For the reader: what names them (asks of them, their own statements), then interests.
    let mut for_you: Vec<CitedSentence> = Vec::new();
    for (i, claim) in a.claims.iter().enumerate() {
        let names_them = person::names_reader(&claim.statement.text, &reader_names).is_some()
            || claim
                .statement
                .addressee
                .as_deref()
                .is_some_and(|x| input.reader.is(x));
        if names_them && for_you.len() < 4 {
            for_you.push(cite(&messages, &a, i, &input.reader));
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
    if for_you.is_empty() {
        for_you.push(CitedSentence::new(
            templates::nothing_asked(lang),
            vec![input.clicked.id.clone()],
        ));
    }

    // Key messages: the clicked one, then the most central claims' messages.
    let mut key_messages = vec![input.clicked.id.clone()];
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
        asks,
        decisions,
        open_questions,
        for_you,
        key_messages: rest,
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
        }
    }

    #[test]
    fn the_explainer_says_who_wants_what_and_what_it_means_for_you() {
        let i = input("en");
        let e = ExplainContext.extractive(&i);
        assert!(
            e.about
                .text
                .starts_with("This discussion in #infra is about Kafka"),
            "{:?}",
            e.about
        );
        assert_eq!(e.asks.len(), 1);
        assert_eq!(
            e.asks[0].text,
            "Ben asks you to approve the Kafka maintenance window for Friday 3 May."
        );
        assert_eq!(e.decisions.len(), 1);
        assert!(
            e.decisions[0]
                .text
                .contains("upgrade the brokers one at a time")
        );
        assert_eq!(e.open_questions.len(), 1, "{:?}", e.open_questions);
        let for_you: Vec<&str> = e.for_you.iter().map(|s| s.text.as_str()).collect();
        assert!(
            for_you.contains(
                &"Ben asks you to approve the Kafka maintenance window for Friday 3 May."
            ),
            "{for_you:#?}"
        );
        assert!(
            for_you.contains(&"You will check the maintenance calendar first."),
            "{for_you:#?}"
        );
        assert!(
            for_you.contains(&"It touches kafka, which you follow."),
            "{for_you:#?}"
        );
        assert_eq!(e.key_messages[0], i.clicked.id);
        // The unrelated neighbour is left out, the related one kept.
        assert!(
            !e.key_messages
                .iter()
                .any(|r| r.ts.starts_with(&(T - 1800).to_string()))
        );
        assert_eq!(ExplainContext.validate(&i, &e), Ok(()));

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
        });
        assert!(report.passed, "{:#?}", report.violations);
    }

    #[test]
    fn framing_is_in_the_readers_language() {
        let e = ExplainContext.extractive(&input("de"));
        assert_eq!(e.language, "de");
        assert!(
            e.about
                .text
                .starts_with("In dieser Diskussion in #infra geht es um"),
            "{:?}",
            e.about
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
        };
        let e = ExplainContext.extractive(&i);
        println!("{e:#?}");
        assert!(e.about.text.contains("#general"));
        assert!(e.for_you.iter().all(|s| !s.text.contains("Neeraj")));
        assert!(
            e.for_you
                .iter()
                .any(|s| s.text.contains("You ") || s.text.contains(" you")),
            "{:#?}",
            e.for_you
        );
        assert_eq!(ExplainContext.validate(&i, &e), Ok(()));
    }

    #[test]
    fn the_prompt_keeps_content_in_the_data() {
        let i = input("fr");
        let prompt = ExplainContext.prompt(&i);
        testkit::assert_clean_prompt(&prompt, &i, &["Kafka", "U-ZOE", "taco"]);
    }
}
