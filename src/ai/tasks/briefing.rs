//! GenerateBriefing: selected stories + the reader → a personal text. Per story a title and two or
//! three sentences in the second person (the reader's own actions as "you"), in the reader's
//! language, every sentence citing its sources. An optional critique (from a failed guardrail
//! check) asks for a corrected version.
//!
//! The extractive version frames each story with a template in the reader's language, adds the
//! story's most relevant sentences (quoted in their own language, the reader rewritten as "you")
//! and says why the story is there.

use std::collections::{BTreeSet, HashMap};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::{
    ChatMessage, CitedSentence, MessageRef, Reader, Reason, Story, TextSection, json_prompt,
};
use super::{Prompt, Task};
use crate::ai::extractive::tfidf::TfIdf;
use crate::ai::extractive::{Lang, lang, person, templates, text};

/// A story chosen for the reader, with why: the task's view of a story. The briefing as the reader
/// sees it (ids, permalinks, the "why" line) is `model::domain::BriefingStory`, built from this.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChosenStory {
    pub story: Story,
    #[serde(default)]
    pub reasons: Vec<Reason>,
    /// The messages the writer may cite for this story, short, requests and decisions first:
    /// without them the writer could cite only the story's thinned sources and lost the
    /// specifics (a link, "histogram-axes plot") the summary sentences leave out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Quote>,
}

/// A message as the writer sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Quote {
    pub id: MessageRef,
    pub author: String,
    /// The text, cut to [`QUOTE_CHARS`].
    pub text: String,
}

/// Characters of one quoted message, at most.
pub const QUOTE_CHARS: usize = 300;
/// Characters of all the quotes of one story, at most (about 400 tokens).
pub const QUOTES_BUDGET: usize = 1_500;
/// Quotes per story, at most.
pub const MAX_QUOTES: usize = 8;

impl Quote {
    /// `text` cut at a word boundary to [`QUOTE_CHARS`].
    pub fn new(id: MessageRef, author: &str, text: &str) -> Self {
        let text = text.trim();
        let text = if text.chars().count() <= QUOTE_CHARS {
            text.to_string()
        } else {
            let cut: String = text.chars().take(QUOTE_CHARS).collect();
            let cut = cut
                .rsplit_once(char::is_whitespace)
                .map_or(cut.as_str(), |(head, _)| head);
            format!("{cut} …")
        };
        Quote {
            id,
            author: author.to_string(),
            text,
        }
    }
}

/// The quotes a story gives its writer from `messages` (the reader's visible messages): first
/// those its decisions and open questions cite, then those that name the reader (requests to
/// them), then those its summary cites, then its latest sources; at most [`MAX_QUOTES`] and
/// [`QUOTES_BUDGET`] characters, in the order they were posted.
pub fn quotes_for(story: &Story, messages: &[ChatMessage], reader: &Reader) -> Vec<Quote> {
    let by_id: HashMap<MessageRef, &ChatMessage> =
        messages.iter().map(|m| (m.id.clone(), m)).collect();
    let names = reader.names();
    let names_reader = |m: &ChatMessage| {
        let lower = m.text.to_lowercase();
        names.iter().any(|n| lower.contains(&n.to_lowercase())) || m.text.contains(&reader.id)
    };
    let mut order: Vec<MessageRef> = Vec::new();
    let add = |r: &MessageRef, order: &mut Vec<MessageRef>| {
        if by_id.contains_key(r) && !order.contains(r) {
            order.push(r.clone());
        }
    };
    for s in story.decisions.iter().chain(&story.open_questions) {
        for r in &s.sources {
            add(r, &mut order);
        }
    }
    for r in &story.sources {
        if by_id.get(r).is_some_and(|m| names_reader(m)) {
            add(r, &mut order);
        }
    }
    // The reader's own promises around the story ("Ok I'll add the content later today"): a
    // summary written for every reader may leave them out, and they are this reader's to keep.
    let times: Vec<i64> = story
        .sources
        .iter()
        .filter_map(|r| by_id.get(r).map(|m| m.posted_at))
        .collect();
    if let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) {
        let channels: BTreeSet<&str> = story
            .sources
            .iter()
            .map(|r| r.channel_id.as_str())
            .collect();
        for m in messages {
            let around = (first - 3600..=last + 3 * 3600).contains(&m.posted_at);
            let by_reader =
                m.author_id.as_deref() == Some(reader.id.as_str()) || reader.is(&m.author);
            if around
                && by_reader
                && channels.contains(m.id.channel_id.as_str())
                && COMMITS.is_match(&m.text)
            {
                add(&m.id, &mut order);
            }
        }
    }
    for s in &story.summary {
        for r in &s.sources {
            add(r, &mut order);
        }
    }
    let mut latest: Vec<&MessageRef> = story.sources.iter().collect();
    latest.sort_by_key(|r| std::cmp::Reverse(by_id.get(*r).map_or(0, |m| m.posted_at)));
    for r in latest {
        add(r, &mut order);
    }
    let mut quotes: Vec<(i64, Quote)> = Vec::new();
    let mut used = 0;
    for r in order {
        let Some(m) = by_id.get(&r) else { continue };
        let q = Quote::new(m.id.clone(), &m.author, &text::clean(&m.text));
        let len = q.text.chars().count();
        if quotes.len() >= MAX_QUOTES || (used + len > QUOTES_BUDGET && !quotes.is_empty()) {
            break;
        }
        used += len;
        quotes.push((m.posted_at, q));
    }
    quotes.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    quotes.into_iter().map(|(_, q)| q).collect()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BriefingInput {
    pub reader: Reader,
    /// In the order to present them.
    pub stories: Vec<ChosenStory>,
    /// What a guardrail found wrong with a previous attempt.
    #[serde(default)]
    pub critique: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BriefingItem {
    pub story_id: String,
    pub title: String,
    /// Two or three sentences, each citing its messages.
    pub sentences: Vec<CitedSentence>,
}

// The text the writer produced: framing language, intro and one item per story, each sentence
// citing its messages; `features::briefing` turns it into the reader's `model::domain::Briefing`.
// Plain comments, not doc comments: a doc comment would become the schema's description, which
// every model call is shown. The schema keeps the title "Briefing" for the same reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "Briefing")]
pub struct WrittenBriefing {
    /// ISO 639-1 code of the framing language.
    pub language: String,
    // Opening line (no facts). Never shown to the reader, so never asked of a model (not in the
    // schema) nor stored; the extractive engine still fills it.
    #[serde(skip)]
    pub intro: String,
    pub items: Vec<BriefingItem>,
}

impl WrittenBriefing {
    /// The items as sections, for the guardrail and the Slack renderer.
    pub fn sections(&self) -> Vec<TextSection> {
        self.items
            .iter()
            .map(|i| TextSection {
                title: i.title.clone(),
                sentences: i.sentences.clone(),
            })
            .collect()
    }
}

/// Stories + reader → briefing.
#[derive(Clone, Copy, Debug, Default)]
pub struct GenerateBriefing;

const INSTRUCTIONS: &str = "You write a personal daily briefing for `reader`, in the language \
given by `reader.language` (ISO 639-1). For each story in `stories`, in the given order, write \
one item with the story's `id` as `story_id`, a short `title` that says what happened, and two or \
three sentences that tell the reader what happened and what it means for them: who asked whom to \
do what, what was decided, by when, keeping specifics (links, names of things) the messages give. \
Speak to the reader in the second person: when the reader (any of `reader.name` or \
`reader.aliases`) did, said or was asked something, write \"you\", never their name; another \
person who shares the reader's first name is named in full. A story's `messages` are what its \
sentences rest on: a request to the reader or a decision comes first. Use the story's `reasons` \
to choose what to stress, but do not write why the story was chosen: a line saying so is added. \
Every sentence cites in `sources` the ids of the story's messages it rests on (from `messages` \
or the story's sources). When `critique` is present, a previous attempt had these problems: fix \
every one of them. Answer as {\"language\", \"items\": [{\"story_id\", \"title\", \
\"sentences\": [{\"text\", \"sources\"}]}]}.";

impl Task for GenerateBriefing {
    type Input = BriefingInput;
    type Output = WrittenBriefing;

    fn name(&self) -> &'static str {
        "generate_briefing"
    }

    fn prompt(&self, input: &Self::Input) -> Prompt {
        json_prompt(
            &format!("{INSTRUCTIONS}\n\n{}", super::guardrail::FAITHFULNESS),
            input,
        )
    }

    fn extractive(&self, input: &Self::Input) -> Self::Output {
        let _span = tracing::debug_span!(
            "extractive",
            task = self.name(),
            stories = input.stories.len()
        )
        .entered();
        let lang = input.reader.lang();
        let banned = quoted_terms(input.critique.as_deref());
        // A promise is said once, in the first story it belongs to, and never in a story when
        // another one already tells the message.
        let mut promised: BTreeSet<MessageRef> = BTreeSet::new();
        let mut items = Vec::new();
        for (i, story) in input.stories.iter().enumerate() {
            let told_elsewhere: BTreeSet<&MessageRef> = input
                .stories
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .flat_map(|(_, other)| &other.story.sources)
                .collect();
            items.extend(item(
                &input.reader,
                story,
                lang,
                &banned,
                &told_elsewhere,
                &mut promised,
            ));
        }
        WrittenBriefing {
            language: lang.code().to_string(),
            intro: if items.is_empty() {
                templates::nothing_new(lang)
            } else {
                templates::intro(lang)
            },
            items,
        }
    }

    fn validate(&self, input: &Self::Input, output: &Self::Output) -> Result<(), String> {
        let stories: HashMap<&str, BTreeSet<&MessageRef>> = input
            .stories
            .iter()
            .map(|s| {
                (
                    s.story.id.as_str(),
                    s.story
                        .sources
                        .iter()
                        .chain(s.story.sentences().flat_map(|x| &x.sources))
                        .chain(s.messages.iter().map(|q| &q.id))
                        .collect(),
                )
            })
            .collect();
        let names = input.reader.names();
        // A briefing with chosen stories and no item would tell the reader "nothing needs you"
        // while something does (a small local model answers `{"items": []}`).
        if !input.stories.is_empty() && output.items.is_empty() {
            return Err("no item was written: write one item per story in `stories`".into());
        }
        for item in &output.items {
            let Some(allowed) = stories.get(item.story_id.as_str()) else {
                return Err(format!("story id {:?} is not in the input", item.story_id));
            };
            if item.sentences.is_empty() {
                return Err(format!("story {:?} has no sentences", item.story_id));
            }
            for s in &item.sentences {
                if s.sources.is_empty() {
                    return Err(format!("sentence {:?} cites no source", s.text));
                }
                if let Some(r) = s.sources.iter().find(|r| !allowed.contains(r)) {
                    return Err(format!(
                        "sentence {:?} cites {}/{} which is not a source of its story",
                        s.text, r.channel_id, r.ts
                    ));
                }
                if let Some(n) = person::names_reader(&s.text, &names) {
                    return Err(format!(
                        "sentence {:?} names the reader ({n}); write \"you\"",
                        s.text
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Sentences an item keeps or takes from its story when repaired, at most.
const REPAIR_SENTENCES: usize = 3;

impl GenerateBriefing {
    /// The floor under the fallback: `output` with only what fails `check` replaced or left out,
    /// sentence by sentence, never whole stories. A failing title becomes the story's own title,
    /// else its channels; a failing sentence is dropped; an item left with no cited sentence takes
    /// its story's own sentences (the reader as "you") that pass, else a framing sentence (its
    /// channels and people). So every chosen story keeps what about it can be said faithfully, and
    /// a briefing whose inputs had stories never ends empty.
    pub fn repair(
        &self,
        input: &BriefingInput,
        output: WrittenBriefing,
        check: &dyn Fn(&WrittenBriefing) -> super::GuardrailReport,
    ) -> WrittenBriefing {
        let lang = input.reader.lang();
        let alone = |item: BriefingItem| WrittenBriefing {
            language: output.language.clone(),
            intro: String::new(),
            items: vec![item],
        };
        // A title is checked with no sentences: only its missing citation may be reported.
        let title_passes = |story_id: &str, title: &str| {
            check(&alone(BriefingItem {
                story_id: story_id.to_string(),
                title: title.to_string(),
                sentences: vec![],
            }))
            .violations
            .iter()
            .all(|v| matches!(v, super::Violation::MissingCitation { .. }))
        };
        let sentence_passes = |story_id: &str, s: &CitedSentence| {
            !s.sources.is_empty()
                && check(&alone(BriefingItem {
                    story_id: story_id.to_string(),
                    title: String::new(),
                    sentences: vec![s.clone()],
                }))
                .passed
        };
        let mut items: Vec<BriefingItem> = Vec::new();
        for chosen in &input.stories {
            let story = &chosen.story;
            let id = story.id.as_str();
            let written = output.items.iter().find(|i| i.story_id == id);
            let channels: Vec<String> = story.channels.iter().map(|c| c.name.clone()).collect();
            let title = std::iter::empty()
                .chain(written.map(|w| w.title.clone()))
                .chain([second_person(&story.title, &input.reader)])
                .find(|t| !t.trim().is_empty() && title_passes(id, t))
                .unwrap_or_else(|| templates::join_list(&channels_tagged(&channels), lang));
            let mut sentences: Vec<CitedSentence> = written
                .map(|w| w.sentences.clone())
                .unwrap_or_default()
                .into_iter()
                .filter(|s| sentence_passes(id, s))
                .collect();
            if sentences.is_empty() {
                sentences = story
                    .sentences()
                    .map(|s| {
                        CitedSentence::new(second_person(&s.text, &input.reader), s.sources.clone())
                    })
                    .filter(|s| sentence_passes(id, s))
                    .take(REPAIR_SENTENCES)
                    .collect();
            }
            if sentences.is_empty() {
                let others: Vec<String> = story
                    .participants
                    .iter()
                    .filter(|p| !input.reader.is(p))
                    .take(3)
                    .cloned()
                    .collect();
                let took_part = story.participants.iter().any(|p| input.reader.is(p));
                let framing = CitedSentence::new(
                    templates::discussed(&[], &channels, &others, took_part, lang),
                    story.sources.iter().take(3).cloned().collect(),
                );
                sentences.extend(Some(framing).filter(|s| sentence_passes(id, s)));
            }
            let mut item = BriefingItem {
                story_id: id.to_string(),
                title,
                sentences,
            };
            // Too long for one section: the last sentences go first.
            while item.sentences.len() > 1
                && check(&alone(item.clone()))
                    .violations
                    .iter()
                    .any(|v| matches!(v, super::Violation::SectionTooLong { .. }))
            {
                item.sentences.pop();
            }
            if !item.sentences.is_empty() {
                items.push(item);
            }
        }
        WrittenBriefing {
            language: output.language,
            intro: output.intro,
            items,
        }
    }
}

fn channels_tagged(channels: &[String]) -> Vec<String> {
    channels
        .iter()
        .map(|c| format!("#{}", c.trim_start_matches('#')))
        .collect()
}

/// Terms a critique quotes ("the name \"Marcus\" is not in the sources"): sentences containing
/// them are left out of the next attempt.
fn quoted_terms(critique: Option<&str>) -> Vec<String> {
    let Some(c) = critique else {
        return Vec::new();
    };
    c.split('"')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s.chars().count() <= 40)
        .collect()
}

fn second_person(text: &str, reader: &Reader) -> String {
    let content_lang = lang::detect(text).unwrap_or(Lang::En);
    let text = person::to_second_person(text, &reader.names(), content_lang);
    // The reader's own plan is their commitment: "You will add the content" is what they said.
    match text.strip_prefix("You will ") {
        Some(rest) if content_lang == Lang::En => format!("You said you would {rest}"),
        _ => text,
    }
}

/// One story for the reader: its title (what happened) and the sentences that say it — about the
/// reader first (what they were asked, what they promised), then decisions, then the rest — each
/// citing the messages it states, and why it is there. `None` when nothing is left to say (every
/// sentence objected to, or none at all): a story must say what happened.
/// Content sentences an extractive story says at most: the request, what was decided or promised,
/// and by when — two were not enough to carry a request and the reader's answer to it.
const MAX_SENTENCES: usize = 4;

fn item(
    reader: &Reader,
    chosen: &ChosenStory,
    lang: Lang,
    banned: &[String],
    told_elsewhere: &BTreeSet<&MessageRef>,
    promised: &mut BTreeSet<MessageRef>,
) -> Option<BriefingItem> {
    let story = &chosen.story;
    let names = reader.names();

    let mut candidates: Vec<(u8, &CitedSentence)> = Vec::new();
    for s in &story.summary {
        candidates.push((3, s));
    }
    for s in &story.decisions {
        candidates.push((2, s));
    }
    for s in &story.open_questions {
        candidates.push((4, s));
    }
    // The sentence the title says, first: the body states and cites what the title announces.
    let headline = story.title.trim_end_matches('…');
    for c in candidates.iter_mut() {
        if person::names_reader(&c.1.text, &names).is_some() {
            c.0 = 1;
        }
        if !headline.is_empty() && c.1.text.starts_with(headline) {
            c.0 = 0;
        }
    }
    candidates.sort_by_key(|c| c.0);
    let lang_content = lang::detect_many(candidates.iter().map(|c| c.1.text.as_str()));
    let docs: Vec<Vec<String>> = candidates
        .iter()
        .map(|c| text::terms(&c.1.text, lang_content))
        .collect();
    let (_, vectors) = TfIdf::vectors(&docs);
    let mut picked: Vec<usize> = Vec::new();
    for (i, (_, s)) in candidates.iter().enumerate() {
        if picked.len() >= MAX_SENTENCES {
            break;
        }
        let repeats_picked = picked
            .iter()
            .any(|&p| vectors[p].cosine(&vectors[i]) > 0.5 || candidates[p].1.text == s.text);
        let objected = banned.iter().any(|b| s.text.contains(b.as_str()));
        if !repeats_picked && !objected && !s.sources.is_empty() {
            picked.push(i);
        }
    }
    if picked.is_empty() {
        return None;
    }
    // Said in the order it happened.
    picked.sort_by_key(|&i| candidates[i].1.sources.first().cloned());
    let mut sentences: Vec<CitedSentence> = picked
        .into_iter()
        .map(|i| {
            let s = candidates[i].1;
            CitedSentence::new(second_person(&s.text, reader), s.sources.clone())
        })
        .collect();
    // What the reader promised is theirs to keep: said in their words when no sentence has it.
    if let Some(promise) = reader_commitment(chosen, reader)
        && !sentences.iter().any(|s| s.sources.contains(&promise.id))
        && !banned.iter().any(|b| promise.text.contains(b.as_str()))
        && !told_elsewhere.contains(&promise.id)
        && promised.insert(promise.id.clone())
    {
        sentences.push(CitedSentence::new(
            templates::you_said(&promise.text, lang),
            vec![promise.id.clone()],
        ));
    }
    if let Some(because) = templates::because(&chosen.reasons, lang) {
        let sources = sentences
            .iter()
            .find(|s| s.text.to_lowercase().contains("you"))
            .or(sentences.first())
            .map(|s| s.sources.clone())
            .unwrap_or_default();
        sentences.push(CitedSentence::new(because, sources));
    }
    let title = second_person(&story.title, reader);
    Some(BriefingItem {
        story_id: story.id.clone(),
        title: strip_end_punct(&title),
        sentences,
    })
}

/// Words that make a message of the reader's a commitment ("I'll send it by Friday", "on it").
static COMMITS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"(?i)\b(i'll|i’ll|i will|i'm going to|i am going to|i can take|i'll take|i take|on it|will do|let me|i'll have|je vais|je m'en occupe|je m’en occupe|je le fais|ich werde|ich kümmere|mache ich|ich übernehme|voy a|me encargo|lo hago|vou)\b",
    )
    .expect("static regex")
});

/// The latest message of the story's that the reader wrote and that commits them to something.
fn reader_commitment<'a>(chosen: &'a ChosenStory, reader: &Reader) -> Option<&'a Quote> {
    chosen
        .messages
        .iter()
        .rfind(|q| reader.is(&q.author) && COMMITS.is_match(&q.text))
}

fn strip_end_punct(title: &str) -> String {
    title.trim_end_matches(['.', '!']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The output schema is part of every prompt: renaming the Rust type or documenting it must
    /// not change what a model is shown (nor the cost and cache keys that follow from it).
    #[test]
    fn the_schema_a_model_sees_is_titled_briefing_and_undescribed() {
        let schema = serde_json::to_value(schemars::schema_for!(WrittenBriefing)).unwrap();
        assert_eq!(schema["title"], "Briefing");
        assert!(schema.get("description").is_none(), "{schema}");
    }
    use crate::ai::tasks::consolidate::{ChannelSummary, ConsolidateInput, ConsolidateTopics};
    use crate::ai::tasks::guardrail::{Guardrail, GuardrailInput, SlackLimits};
    use crate::ai::tasks::rank::{RankForUser, RankInput, ReaderProfile};
    use crate::ai::tasks::summarize::{Discussion, SummarizeDiscussion};
    use crate::ai::tasks::types::{ChannelInfo, ChatMessage, testkit};

    const WED: i64 = 1_714_557_600;

    fn msg(channel: &str, i: i64, author: &str, text: &str) -> ChatMessage {
        ChatMessage {
            id: MessageRef {
                channel_id: channel.into(),
                ts: format!("{}.000100", WED + i * 60),
            },
            author: author.into(),
            author_id: None,
            text: text.into(),
            posted_at: WED + i * 60,
        }
    }

    fn lavender() -> (Vec<ChatMessage>, Story) {
        let messages = vec![
            msg(
                "C1",
                0,
                "Bob",
                "I am sick and can't come tomorrow, can we move the project meeting?",
            ),
            msg(
                "C1",
                1,
                "Alice",
                "Sure. @Carol could you book a room for Friday instead?",
            ),
            msg(
                "C1",
                2,
                "Carol",
                "We decided to hold the project meeting on Friday in room 4",
            ),
        ];
        let summary = SummarizeDiscussion::default().extractive(&Discussion {
            channel: ChannelInfo {
                id: "C1".into(),
                name: "project-lavender".into(),
            },
            messages: messages.clone(),
            propositions: vec![],
            utc_offset_secs: 0,
        });
        let stories = ConsolidateTopics::default().extractive(&ConsolidateInput {
            summaries: vec![ChannelSummary {
                channel: ChannelInfo {
                    id: "C1".into(),
                    name: "project-lavender".into(),
                },
                summary,
            }],
        });
        (messages, stories.stories[0].clone())
    }

    fn reader(name: &str, language: &str) -> Reader {
        Reader {
            id: format!("U-{name}"),
            name: name.into(),
            aliases: vec![],
            language: language.into(),
        }
    }

    fn guard(
        briefing: &WrittenBriefing,
        sources: &[ChatMessage],
        reader: &Reader,
    ) -> crate::ai::tasks::GuardrailReport {
        Guardrail.check(&GuardrailInput {
            sections: briefing.sections(),
            sources: sources.to_vec(),
            allowed_sources: sources.iter().map(|m| m.id.clone()).collect(),
            reader: reader.clone(),
            known_people: vec![],
            channels: vec![ChannelInfo {
                id: "C1".into(),
                name: "project-lavender".into(),
            }],
            limits: SlackLimits::default(),
            utc_offset_secs: 0,
            propositions: vec![],
        })
    }

    #[test]
    fn the_reader_is_addressed_as_you_and_every_sentence_is_cited() {
        let (messages, story) = lavender();
        let bob = reader("Bob", "en");
        let input = BriefingInput {
            reader: bob.clone(),
            stories: vec![ChosenStory {
                story: story.clone(),
                reasons: vec![Reason::TookPart],
                messages: vec![],
            }],
            critique: None,
        };
        let b = GenerateBriefing.extractive(&input);
        let item = &b.items[0];
        let all: Vec<&str> = item.sentences.iter().map(|s| s.text.as_str()).collect();
        assert!(
            item.sentences.len() >= 2 && item.sentences.len() <= MAX_SENTENCES + 1,
            "{all:#?}"
        );
        assert!(all.iter().all(|s| !s.contains("Bob")), "{all:#?}");
        // No "X came up in #c" framing: the sentences say what happened.
        assert!(all.iter().all(|s| !s.contains("came up in")), "{all:#?}");
        assert!(
            all.contains(&"You ask to move the project Lavender meeting."),
            "{all:#?}"
        );
        assert_eq!(
            all.last().unwrap(),
            &"This is for you because you took part."
        );
        assert!(item.sentences.iter().all(|s| !s.sources.is_empty()));
        assert_eq!(GenerateBriefing.validate(&input, &b), Ok(()));
        let report = guard(&b, &messages, &bob);
        assert!(report.passed, "{:#?}\n{all:#?}", report.violations);
    }

    #[test]
    fn the_readers_own_decision_reads_as_yours() {
        let (messages, story) = lavender();
        let carol = reader("Carol", "en");
        let input = BriefingInput {
            reader: carol.clone(),
            stories: vec![ChosenStory {
                story,
                reasons: vec![],
                messages: vec![],
            }],
            critique: None,
        };
        let b = GenerateBriefing.extractive(&input);
        let text: Vec<&str> = b.items[0]
            .sentences
            .iter()
            .map(|s| s.text.as_str())
            .collect();
        assert!(text.iter().all(|s| !s.contains("Carol")), "{text:#?}");
        assert!(
            text.contains(
                &"Your team decided to hold the project Lavender meeting on Friday 3 May in room 4."
            ),
            "{text:#?}"
        );
        assert!(guard(&b, &messages, &carol).passed);
    }

    /// houston, 9 June 2015, read by Neeraj Tandon: Micah asked him in #general for a link to
    /// Jupyter and an example project for the July meetup page, and in #sponsors to reach out to
    /// Continuum; Neeraj promised an email. #meetup- only swapped links and jokes.
    fn houston_briefing(channels: &[&str]) -> (WrittenBriefing, Vec<ChatMessage>) {
        let mut summaries = Vec::new();
        let mut messages = Vec::new();
        for c in channels {
            let (channel, msgs) = testkit::houston_day(c, "2015-06-09");
            let summary = SummarizeDiscussion::default().extractive(&Discussion {
                channel: channel.clone(),
                messages: msgs.clone(),
                propositions: vec![],
                utc_offset_secs: -5 * 3600,
            });
            messages.extend(msgs);
            summaries.push(ChannelSummary { channel, summary });
        }
        let stories = ConsolidateTopics::default().extractive(&ConsolidateInput { summaries });
        let neeraj = Reader {
            id: "U061A5N1G".into(),
            name: "Neeraj Tandon".into(),
            aliases: vec![],
            language: "en".into(),
        };
        let chosen = stories
            .stories
            .into_iter()
            .map(|story| ChosenStory {
                story,
                reasons: vec![Reason::Mentioned],
                messages: vec![],
            })
            .collect();
        let b = GenerateBriefing.extractive(&BriefingInput {
            reader: neeraj,
            stories: chosen,
            critique: None,
        });
        (b, messages)
    }

    #[test]
    fn a_request_to_the_reader_is_said_as_a_request_and_cites_the_request_message() {
        let (b, messages) = houston_briefing(&["general", "sponsors"]);
        let titles: Vec<&str> = b.items.iter().map(|i| i.title.as_str()).collect();
        assert!(
            titles.contains(&"Micah Stubbs asks you for a link to Jupyter and an example project"),
            "{titles:#?}"
        );
        let link = messages
            .iter()
            .find(|m| m.text.starts_with("would be cool to see a link to Jupyter"))
            .expect("the request message");
        let said: Vec<&CitedSentence> = b.items.iter().flat_map(|i| &i.sentences).collect();
        assert!(
            said.iter().any(|s| s.text
                == "Micah Stubbs asks you for a link to Jupyter and an example project."
                && s.sources == [link.id.clone()]),
            "{said:#?}"
        );
        // #sponsors: the ask, and the reader's own commitment.
        assert!(
            said.iter().any(|s| s
                .text
                .starts_with("Micah Stubbs asks you to reach out to the nice people at Continuum")),
            "{said:#?}"
        );
        assert!(
            said.iter()
                .any(|s| s.text == "You said you would shoot them an email."),
            "{said:#?}"
        );
        // No keyword-pair titles, no "X came up in #c", no surname fragments of a mention.
        for s in &said {
            assert!(!s.text.contains("came up in"), "{s:?}");
            assert!(!s.text.contains("Tandon:"), "{s:?}");
        }
    }

    #[test]
    fn a_discussion_with_nothing_to_say_is_no_story() {
        // #meetup- that day: a comic, "Haha, nice", an xkcd link, "The UNIX one is totally me".
        let (b, _) = houston_briefing(&["meetup-"]);
        assert!(b.items.is_empty(), "{:#?}", b.items);
    }

    #[test]
    fn the_why_line_follows_the_readers_language() {
        let (_, story) = lavender();
        for code in ["fr", "de", "es", "en"] {
            let needle = templates::because(&[Reason::Urgent], reader("Dan", code).lang())
                .expect("a reason has a sentence");
            let b = GenerateBriefing.extractive(&BriefingInput {
                reader: reader("Dan", code),
                stories: vec![ChosenStory {
                    story: story.clone(),
                    reasons: vec![Reason::Urgent],
                    messages: vec![],
                }],
                critique: None,
            });
            assert_eq!(b.language, code);
            let last = b.items[0].sentences.last().expect("sentences");
            assert_eq!(last.text, needle, "{code}");
        }
    }

    #[test]
    fn a_critique_removes_the_objected_sentence() {
        let (_, story) = lavender();
        let base = BriefingInput {
            reader: reader("Dan", "en"),
            stories: vec![ChosenStory {
                story,
                reasons: vec![],
                messages: vec![],
            }],
            critique: None,
        };
        let first = GenerateBriefing.extractive(&base);
        let objected = first.items[0].sentences[1]
            .text
            .split_whitespace()
            .last()
            .unwrap()
            .trim_end_matches('.')
            .to_string();
        let retry = GenerateBriefing.extractive(&BriefingInput {
            critique: Some(format!(
                "1. Section 1: the name \"{objected}\" is not in the sources."
            )),
            ..base
        });
        assert!(
            retry.items[0]
                .sentences
                .iter()
                .all(|s| !s.text.contains(&objected))
        );
    }

    /// The writer sees the messages it may cite, the request to the reader among them, and may
    /// cite one its abridged story no longer lists; it is not asked for an intro nor a "why".
    #[test]
    fn the_writer_gets_the_messages_it_may_cite() {
        let (messages, story) = lavender();
        let carol = reader("Carol", "en");
        let quotes = quotes_for(&story, &messages, &carol);
        assert!(!quotes.is_empty() && quotes.len() <= MAX_QUOTES);
        let request = quotes
            .iter()
            .find(|q| q.text.contains("could you book a room"))
            .expect("the request to the reader is quoted");
        assert_eq!(request.author, "Alice");
        let input = BriefingInput {
            reader: carol.clone(),
            stories: vec![ChosenStory {
                story: story.abridged(1, 0),
                reasons: vec![Reason::Mentioned],
                messages: quotes.clone(),
            }],
            critique: None,
        };
        let answer = WrittenBriefing {
            language: "en".into(),
            intro: String::new(),
            items: vec![BriefingItem {
                story_id: story.id.clone(),
                title: "Alice asks you to book a room for Friday".into(),
                sentences: vec![CitedSentence::new(
                    "Alice asks you to book a room for the project meeting on Friday.",
                    vec![request.id.clone()],
                )],
            }],
        };
        assert_eq!(GenerateBriefing.validate(&input, &answer), Ok(()));
        assert!(guard(&answer, &messages, &carol).passed);
        let prompt = GenerateBriefing.prompt(&input);
        assert!(prompt.data.contains("could you book a room"));
        assert!(
            prompt
                .instructions
                .contains(crate::ai::tasks::guardrail::FAITHFULNESS)
        );
        assert!(!prompt.instructions.contains("intro"));
        let schema = serde_json::to_value(schemars::schema_for!(WrittenBriefing)).unwrap();
        assert!(schema["properties"].get("intro").is_none(), "{schema}");
        // Quotes are bounded: long messages are cut at a word.
        let long = Quote::new(request.id.clone(), "Alice", &"word ".repeat(200));
        assert!(long.text.chars().count() <= QUOTE_CHARS + 2 && long.text.ends_with('…'));
    }

    /// The fallback's floor replaces or drops only what fails: a bad title, one bad sentence.
    #[test]
    fn a_repair_keeps_the_story_and_its_good_sentences() {
        let (messages, story) = lavender();
        let dan = reader("Dan", "en");
        let input = BriefingInput {
            reader: dan.clone(),
            stories: vec![ChosenStory {
                story: story.clone(),
                reasons: vec![],
                messages: vec![],
            }],
            critique: None,
        };
        let sources = story.sources.clone();
        let written = WrittenBriefing {
            language: "en".into(),
            intro: String::new(),
            items: vec![BriefingItem {
                story_id: story.id.clone(),
                title: "The meeting Marcus moves".into(),
                sentences: vec![
                    CitedSentence::new(
                        "Bob is sick and asks to move the project meeting.",
                        sources.clone(),
                    ),
                    CitedSentence::new("Marcus books room 7.", sources.clone()),
                ],
            }],
        };
        let check = |b: &WrittenBriefing| guard(b, &messages, &dan);
        assert!(!check(&written).passed);
        let repaired = GenerateBriefing.repair(&input, written, &check);
        assert!(check(&repaired).passed, "{repaired:#?}");
        let item = &repaired.items[0];
        assert!(!item.title.contains("Marcus"), "{item:#?}");
        let texts: Vec<&str> = item.sentences.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["Bob is sick and asks to move the project meeting."]);

        // Nothing written passes: the story's own sentences stand in; never an empty briefing.
        let nothing = WrittenBriefing {
            language: "en".into(),
            intro: String::new(),
            items: vec![],
        };
        let repaired = GenerateBriefing.repair(&input, nothing, &check);
        assert_eq!(repaired.items.len(), 1);
        assert!(!repaired.items[0].sentences.is_empty());
        assert!(check(&repaired).passed, "{repaired:#?}");
    }

    /// Real channels end to end: summaries → stories → ranking → briefing → guardrail.
    #[test]
    fn a_real_day_becomes_a_briefing_that_passes_the_guardrail() {
        let days = [
            ("datajam", "2015-06-19"),
            ("general", "2015-06-09"),
            ("tools", "2015-06-09"),
        ];
        let mut sources: Vec<ChatMessage> = Vec::new();
        let mut summaries = Vec::new();
        for (c, d) in days {
            let path = testkit::exports_dir()
                .join("houston")
                .join(c)
                .join(format!("{d}.json"));
            if !path.exists() {
                continue;
            }
            let (channel, messages) = testkit::houston_day(c, d);
            sources.extend(messages.iter().cloned());
            let summary = SummarizeDiscussion::default().extractive(&Discussion {
                channel: channel.clone(),
                messages,
                propositions: vec![],
                utc_offset_secs: -5 * 3600,
            });
            summaries.push(ChannelSummary { channel, summary });
        }
        let stories = ConsolidateTopics::default()
            .extractive(&ConsolidateInput { summaries })
            .stories;
        let neeraj = Reader {
            id: "U061A5N1G".into(),
            name: "Neeraj Tandon".into(),
            aliases: vec!["neerajt".into()],
            language: "en".into(),
        };
        let ranked = RankForUser::default().extractive(&RankInput {
            stories: stories.clone(),
            profile: ReaderProfile {
                user_id: neeraj.id.clone(),
                name: neeraj.name.clone(),
                aliases: neeraj.aliases.clone(),
                ..ReaderProfile::default()
            },
            now: sources.iter().map(|m| m.posted_at).max().unwrap(),
            limit: Some(3),
        });
        let chosen: Vec<ChosenStory> = ranked
            .ranked
            .iter()
            .map(|r| ChosenStory {
                story: stories.iter().find(|s| s.id == r.story_id).unwrap().clone(),
                reasons: r.reasons.clone(),
                messages: vec![],
            })
            .collect();
        let input = BriefingInput {
            reader: neeraj.clone(),
            stories: chosen,
            critique: None,
        };
        let b = GenerateBriefing.extractive(&input);
        for i in &b.items {
            println!("*{}*", i.title);
            for s in &i.sentences {
                println!(
                    "  {}  {:?}",
                    s.text,
                    s.sources.iter().map(|r| &r.ts).collect::<Vec<_>>()
                );
            }
        }
        assert!(!b.items.is_empty());
        let text: String = b
            .items
            .iter()
            .flat_map(|i| &i.sentences)
            .map(|s| s.text.clone())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(!text.contains("Neeraj"), "{text}");
        assert!(text.contains("you"), "{text}");
        assert_eq!(GenerateBriefing.validate(&input, &b), Ok(()));
        let report = guard(&b, &sources, &neeraj);
        assert!(report.passed, "{:#?}", report.violations);
    }

    #[test]
    fn the_prompt_keeps_content_in_the_data() {
        let (_, story) = lavender();
        let input = BriefingInput {
            reader: reader("Bob", "fr"),
            stories: vec![ChosenStory {
                story,
                reasons: vec![Reason::Mentioned],
                messages: vec![],
            }],
            critique: Some("the name \"Marcus\" is not in the sources".into()),
        };
        let prompt = GenerateBriefing.prompt(&input);
        testkit::assert_clean_prompt(&prompt, &input, &["Lavender", "Marcus", "U-Bob"]);
    }
}
