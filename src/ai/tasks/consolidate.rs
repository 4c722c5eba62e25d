//! ConsolidateTopics: summaries from many channels → stories. The same topic discussed in several
//! channels becomes one story citing all of them.
//!
//! Grouping is deterministic first: summaries are linked when their TF-IDF similarity, shared
//! projects/systems and shared topics are high enough ([`ConsolidateTopics::candidate_groups`]).
//! A model, when used, only confirms and merges those candidate groups (they are part of its
//! data); it does not search for groups itself.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::{
    ChannelInfo, CitedSentence, DiscussionSummary, Entities, MessageRef, Proposition, Story,
    check_cited, json_prompt, sorted_unique,
};
use super::{Prompt, Task};
use crate::ai::extractive::tfidf::TfIdf;
use crate::ai::extractive::{lang, rank, text};

/// One channel's discussion summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChannelSummary {
    pub channel: ChannelInfo,
    pub summary: DiscussionSummary,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConsolidateInput {
    pub summaries: Vec<ChannelSummary>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConsolidateOutput {
    /// Most urgent first.
    pub stories: Vec<Story>,
}

/// Summaries → stories.
#[derive(Clone, Copy, Debug)]
pub struct ConsolidateTopics {
    /// Combined similarity at or above which two summaries are one story.
    pub threshold: f64,
}

impl Default for ConsolidateTopics {
    fn default() -> Self {
        ConsolidateTopics { threshold: 0.3 }
    }
}

const INSTRUCTIONS: &str = "You group chat discussion summaries from several channels into \
stories. `input.summaries` are the summaries; `candidate_groups` lists groups of summary indices \
that an algorithm found to be about the same topic. Confirm each candidate group, split a group \
whose members are clearly about different things, and merge groups that are clearly the same \
topic; every summary belongs to exactly one story. For each story write `id` (any unique string), \
`title`, `summary` (two or three sentences in the summaries' language, each citing its message \
ids), `channels` (all channels of its summaries), `topics`, `entities`, `participants`, `urgency` \
(0 to 1, at least the highest of its summaries), `decisions`, `open_questions` and `sources` (all \
sources of its summaries). Order stories by urgency, highest first. Answer as {\"stories\": [...]}.";

#[derive(Serialize)]
struct PromptData<'a> {
    input: &'a ConsolidateInput,
    candidate_groups: Vec<Vec<usize>>,
}

impl Task for ConsolidateTopics {
    type Input = ConsolidateInput;
    type Output = ConsolidateOutput;

    fn name(&self) -> &'static str {
        "consolidate_topics"
    }

    fn prompt(&self, input: &Self::Input) -> Prompt {
        json_prompt(
            INSTRUCTIONS,
            &PromptData {
                input,
                candidate_groups: self.candidate_groups(input),
            },
        )
    }

    fn extractive(&self, input: &Self::Input) -> Self::Output {
        let _span = tracing::debug_span!(
            "extractive",
            task = self.name(),
            summaries = input.summaries.len()
        )
        .entered();
        // A group none of whose discussions says anything (see `summarize`) is no story.
        let mut stories: Vec<Story> = self
            .candidate_groups(input)
            .into_iter()
            .map(|group| story_of(input, &group))
            .filter(|story| !story.summary.is_empty())
            .collect();
        stories.sort_by(|a, b| {
            b.urgency
                .total_cmp(&a.urgency)
                .then_with(|| b.last_activity().cmp(&a.last_activity()))
                .then_with(|| a.id.cmp(&b.id))
        });
        ConsolidateOutput { stories }
    }

    fn validate(&self, input: &Self::Input, output: &Self::Output) -> Result<(), String> {
        let allowed: BTreeSet<&MessageRef> = input
            .summaries
            .iter()
            .flat_map(|s| {
                s.summary
                    .sources
                    .iter()
                    .chain(s.summary.summary.iter().flat_map(|x| &x.sources))
            })
            .collect();
        let mut cited: BTreeSet<&MessageRef> = BTreeSet::new();
        for story in &output.stories {
            if story.sources.is_empty() {
                return Err(format!("story {:?} cites no source", story.title));
            }
            check_cited(&story.sources, &allowed)?;
            for s in story.sentences() {
                check_cited(&s.sources, &allowed)?;
            }
            cited.extend(story.sources.iter());
        }
        for (i, s) in input.summaries.iter().enumerate() {
            if !s.summary.sources.is_empty() && !s.summary.sources.iter().any(|r| cited.contains(r))
            {
                return Err(format!(
                    "summary {i} ({:?}) is in no story",
                    s.summary.title
                ));
            }
        }
        Ok(())
    }
}

// One story as the model groups it: which summaries (indices into `input.summaries`) and a
// title saying what happened. Plain comments: they would become the schema's descriptions, shown to the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Group {
    pub summaries: Vec<usize>,
    #[serde(default)]
    pub title: String,
}

// The grouping the model returns; the stories are built from it in code
// ([`ConsolidateTopics::from_groups`]): ids derived from the sources, every sentence, source and
// channel copied exactly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "Grouping")]
pub struct Grouping {
    pub groups: Vec<Group>,
}

/// Summaries → which of them are one story, with a title per story. The model path of
/// consolidation: asking the model to copy every story back (sentences, sources, entities) cost
/// about 1.5k completion tokens per reader and let it choose story ids ("story-1", which "More
/// like this" then found on another day); a grouping is a few dozen tokens, and the stories are
/// built in code exactly as the extractive engine builds them.
#[derive(Clone, Copy, Debug, Default)]
pub struct GroupTopics {
    pub consolidate: ConsolidateTopics,
}

/// A group title, at most (characters).
const MAX_GROUP_TITLE: usize = 90;

const GROUP_INSTRUCTIONS: &str = "You group chat discussion summaries from several channels into \
stories. `input.summaries` are the summaries (index = position, from 0); `candidate_groups` lists \
groups of summary indices that an algorithm found to be about the same topic. Confirm each \
candidate group, split a group whose members are clearly about different things, and merge \
groups that are clearly the same topic; every summary index belongs to exactly one group. For \
each group write a short `title` (at most 90 characters) in the summaries' language that says what happened (who asked \
whom to do what, what was decided, by when), using only names and facts from its summaries. \
Answer as {\"groups\": [{\"summaries\": [indices], \"title\"}]}.";

impl Task for GroupTopics {
    type Input = ConsolidateInput;
    type Output = Grouping;

    fn name(&self) -> &'static str {
        "group_topics"
    }

    fn prompt(&self, input: &Self::Input) -> Prompt {
        json_prompt(
            GROUP_INSTRUCTIONS,
            &PromptData {
                input,
                candidate_groups: self.consolidate.candidate_groups(input),
            },
        )
    }

    /// The candidate groups, untitled (the stories keep the titles the engine gives them).
    fn extractive(&self, input: &Self::Input) -> Self::Output {
        Grouping {
            groups: self
                .consolidate
                .candidate_groups(input)
                .into_iter()
                .map(|summaries| Group {
                    summaries,
                    title: String::new(),
                })
                .collect(),
        }
    }

    fn validate(&self, input: &Self::Input, output: &Self::Output) -> Result<(), String> {
        let n = input.summaries.len();
        let mut seen = vec![false; n];
        for g in &output.groups {
            if g.summaries.is_empty() {
                return Err("a group has no summaries".into());
            }
            for &i in &g.summaries {
                match seen.get_mut(i) {
                    None => return Err(format!("summary index {i} is not in the input (0..{n})")),
                    Some(true) => return Err(format!("summary {i} is in two groups")),
                    Some(s) => *s = true,
                }
            }
        }
        if let Some(i) = seen.iter().position(|s| !s) {
            return Err(format!("summary {i} is in no group"));
        }
        Ok(())
    }
}

impl ConsolidateTopics {
    /// The stories of a grouping, built as the extractive engine builds its own (ids from the
    /// sources, sentences and sources copied), most urgent first; a group's non-empty title
    /// replaces the built one.
    pub fn from_groups(&self, input: &ConsolidateInput, grouping: &Grouping) -> ConsolidateOutput {
        let mut stories: Vec<Story> = grouping
            .groups
            .iter()
            .filter(|g| g.summaries.iter().all(|&i| i < input.summaries.len()))
            .map(|g| {
                let mut story = story_of(input, &g.summaries);
                // An over-long title is the model's only fault in an otherwise good grouping:
                // the story keeps its built title rather than the grouping being thrown away.
                let title = g.title.trim();
                if !title.is_empty() && title.chars().count() <= MAX_GROUP_TITLE {
                    story.title = title.to_string();
                }
                story
            })
            .collect();
        stories.sort_by(|a, b| {
            b.urgency
                .total_cmp(&a.urgency)
                .then_with(|| b.last_activity().cmp(&a.last_activity()))
                .then_with(|| a.id.cmp(&b.id))
        });
        ConsolidateOutput { stories }
    }

    /// Groups of summary indices about the same topic (every summary in exactly one group, groups
    /// in input order): union of all pairs whose similarity reaches the threshold.
    pub fn candidate_groups(&self, input: &ConsolidateInput) -> Vec<Vec<usize>> {
        let n = input.summaries.len();
        let lang = lang::detect_many(
            input
                .summaries
                .iter()
                .flat_map(|s| s.summary.summary.iter().map(|x| x.text.as_str())),
        );
        let docs: Vec<Vec<String>> = input
            .summaries
            .iter()
            .map(|cs| {
                let s = &cs.summary;
                let mut terms = text::terms(&s.title, lang);
                for t in &s.topics {
                    // Topics weigh double: they are what the summary is about.
                    let t = text::terms(t, lang);
                    terms.extend(t.iter().cloned());
                    terms.extend(t);
                }
                for sentence in s.summary.iter().chain(&s.decisions) {
                    terms.extend(text::terms(&sentence.text, lang));
                }
                terms
            })
            .collect();
        let (_, vectors) = TfIdf::vectors(&docs);
        let keys: Vec<BTreeSet<String>> = input
            .summaries
            .iter()
            .map(|cs| {
                let s = &cs.summary;
                s.entities
                    .projects
                    .iter()
                    .chain(&s.entities.systems)
                    .map(|e| e.to_lowercase())
                    .chain(s.topics.iter().map(|t| text::terms(t, lang).join(" ")))
                    .filter(|k| !k.is_empty())
                    .collect()
            })
            .collect();

        // Who asked whom, per summary: one person's asks of another in one channel on one day
        // are one story, however long the gap between them ("fantastic - would be good to
        // mention Blaze, Bokeh", hours after the request it adds to).
        let asks: Vec<BTreeSet<(String, String)>> = input
            .summaries
            .iter()
            .map(|cs| {
                cs.summary
                    .summary
                    .iter()
                    .filter_map(|s| asker_and_asked(&s.text))
                    .map(|(a, b)| (format!("{}:{a}", cs.channel.id), b))
                    .collect()
            })
            .collect();
        let mut parent: Vec<usize> = (0..n).collect();
        fn find(parent: &mut [usize], i: usize) -> usize {
            let mut r = i;
            while parent[r] != r {
                r = parent[r];
            }
            let mut i = i;
            while parent[i] != r {
                let next = parent[i];
                parent[i] = r;
                i = next;
            }
            r
        }
        for i in 0..n {
            for j in (i + 1)..n {
                let cosine = vectors[i].cosine(&vectors[j]);
                let shared = keys[i].intersection(&keys[j]).count() as f64;
                let union = keys[i].union(&keys[j]).count().max(1) as f64;
                let overlap = shared / union;
                let similarity = 0.6 * cosine + 0.4 * overlap;
                // Two shared named things (a project and a system, or two topics) are strong
                // evidence even when the wording differs.
                let same_ask = asks[i].intersection(&asks[j]).next().is_some();
                if similarity >= self.threshold || (shared >= 2.0 && cosine >= 0.1) || same_ask {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    if a != b {
                        parent[b.max(a)] = a.min(b);
                    }
                }
            }
        }
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut root_index: Vec<Option<usize>> = vec![None; n];
        for i in 0..n {
            let r = find(&mut parent, i);
            match root_index[r] {
                Some(g) => groups[g].push(i),
                None => {
                    root_index[r] = Some(groups.len());
                    groups.push(vec![i]);
                }
            }
        }
        groups
    }
}

/// "Micah Stubbs asks Neeraj Tandon to …" → (Micah Stubbs, Neeraj Tandon); asks of no one in
/// particular ("asks to", "asks someone", "asks whether", "asks:") give nothing.
fn asker_and_asked(sentence: &str) -> Option<(String, String)> {
    let (asker, rest) = sentence.split_once(" asks ")?;
    let end = [" to ", " for "]
        .iter()
        .filter_map(|w| rest.find(w))
        .min()?;
    let asked = &rest[..end];
    let named = !asked.is_empty()
        && asked.split(' ').count() <= 3
        && asked.chars().next().is_some_and(char::is_uppercase)
        && !matches!(asked, "someone" | "whether");
    named.then(|| (asker.to_string(), asked.to_string()))
}

/// Builds one story from a group of summaries.
fn story_of(input: &ConsolidateInput, group: &[usize]) -> Story {
    let members: Vec<&ChannelSummary> = group.iter().map(|&i| &input.summaries[i]).collect();
    let lang = lang::detect_many(
        members
            .iter()
            .flat_map(|m| m.summary.summary.iter().map(|s| s.text.as_str())),
    );
    let mut channels: Vec<ChannelInfo> = Vec::new();
    let mut entities = Entities::default();
    let mut participants: Vec<String> = Vec::new();
    let mut decisions: Vec<CitedSentence> = Vec::new();
    let mut open_questions: Vec<CitedSentence> = Vec::new();
    let mut sources: Vec<MessageRef> = Vec::new();
    let mut propositions: Vec<Proposition> = Vec::new();
    for m in &members {
        if !channels.contains(&m.channel) {
            channels.push(m.channel.clone());
        }
        for p in &m.summary.propositions {
            if !propositions.contains(p) {
                propositions.push(p.clone());
            }
        }
        entities.merge(&m.summary.entities);
        for p in &m.summary.participants {
            if !participants.contains(p) {
                participants.push(p.clone());
            }
        }
        decisions.extend(m.summary.decisions.iter().cloned());
        open_questions.extend(m.summary.open_questions.iter().cloned());
        sources.extend(m.summary.sources.iter().cloned());
        for s in &m.summary.summary {
            sources.extend(s.sources.iter().cloned());
        }
    }
    for c in &channels {
        if !entities.channels.contains(&c.name) {
            entities.channels.push(c.name.clone());
        }
    }

    // Topics: round-robin across members, deduplicated by stems; shared topics first.
    let mut topics: Vec<String> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let key = |t: &str| {
        let k = text::terms(t, lang).join(" ");
        if k.is_empty() { t.to_lowercase() } else { k }
    };
    let shared: Vec<String> = members
        .first()
        .map(|first| {
            first
                .summary
                .topics
                .iter()
                .filter(|t| {
                    members[1..]
                        .iter()
                        .any(|m| m.summary.topics.iter().any(|o| key(o) == key(t)))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    for t in &shared {
        if seen.insert(key(t)) {
            topics.push(t.clone());
        }
    }
    let longest = members
        .iter()
        .map(|m| m.summary.topics.len())
        .max()
        .unwrap_or(0);
    for r in 0..longest {
        for m in &members {
            if let Some(t) = m.summary.topics.get(r)
                && seen.insert(key(t))
            {
                topics.push(t.clone());
            }
        }
    }

    // Summary: the most central member sentences, at least one per channel up to three.
    let candidates: Vec<(usize, &CitedSentence)> = members
        .iter()
        .enumerate()
        .flat_map(|(mi, m)| m.summary.summary.iter().map(move |s| (mi, s)))
        .collect();
    let docs: Vec<Vec<String>> = candidates
        .iter()
        .map(|(_, s)| text::terms(&s.text, lang))
        .collect();
    let (_, vectors) = TfIdf::vectors(&docs);
    let scores = rank::centrality(&vectors);
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    // The sentence behind the best member's title comes first: it is what happened.
    let mut picked: Vec<usize> = Vec::new();
    let best = members
        .iter()
        .filter(|m| !m.summary.summary.is_empty())
        .max_by(|a, b| {
            a.summary
                .urgency
                .total_cmp(&b.summary.urgency)
                .then_with(|| b.summary.sources.first().cmp(&a.summary.sources.first()))
        });
    if let Some(best) = best {
        let headline = best.summary.title.trim_end_matches('…');
        if let Some(i) = candidates
            .iter()
            .position(|(_, s)| !headline.is_empty() && s.text.starts_with(headline))
        {
            picked.push(i);
        }
    }
    for &i in &order {
        if picked.len() >= 3 {
            break;
        }
        let new_member = !picked.iter().any(|&p| candidates[p].0 == candidates[i].0);
        let redundant = picked
            .iter()
            .any(|&p| p == i || vectors[p].cosine(&vectors[i]) > 0.5);
        if new_member && !redundant {
            picked.push(i);
        }
    }
    for &i in &order {
        if picked.len() >= 3 {
            break;
        }
        let redundant = picked.iter().any(|&p| vectors[p].cosine(&vectors[i]) > 0.5);
        if !picked.contains(&i) && !redundant {
            picked.push(i);
        }
    }
    picked.sort_unstable();
    let summary: Vec<CitedSentence> = picked
        .into_iter()
        .map(|i| candidates[i].1.clone())
        .collect();

    // Title: what happened in the most urgent member that has something to say (a title says
    // what happened, never a pair of keywords).
    let title = members
        .iter()
        .filter(|m| !m.summary.summary.is_empty())
        .max_by(|a, b| {
            a.summary
                .urgency
                .total_cmp(&b.summary.urgency)
                .then_with(|| b.summary.sources.first().cmp(&a.summary.sources.first()))
        })
        .map(|m| m.summary.title.clone())
        .unwrap_or_default();
    let max_urgency = members
        .iter()
        .map(|m| m.summary.urgency)
        .fold(0.0, f64::max);
    // A topic several channels talk about matters more than one channel's chatter.
    let urgency =
        ((max_urgency + 0.05 * (channels.len() as f64 - 1.0)).min(1.0) * 100.0).round() / 100.0;
    let sources = sorted_unique(sources);
    Story {
        id: Story::id_for(&sources),
        title,
        summary,
        channels,
        topics,
        entities,
        participants,
        urgency,
        decisions,
        open_questions,
        sources,
        propositions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::tasks::Task;
    use crate::ai::tasks::summarize::{Discussion, SummarizeDiscussion};
    use crate::ai::tasks::types::{ChatMessage, testkit};

    #[test]
    fn one_persons_asks_of_another_in_a_channel_are_one_story() {
        assert_eq!(
            asker_and_asked("Micah Stubbs asks Neeraj Tandon for a link to Jupyter."),
            Some(("Micah Stubbs".into(), "Neeraj Tandon".into()))
        );
        assert_eq!(asker_and_asked("Bob asks to move the meeting."), None);
        assert_eq!(asker_and_asked("Bob asks someone to review it."), None);
        // houston #general, 9 June 2015: the request at 16:34 and its follow-up at 22:09, split
        // apart by the time between them, are one story, not two of the three slots.
        let (channel, messages) = testkit::houston_day("general", "2015-06-09");
        let part = |from: &str, to: &str| {
            let msgs: Vec<ChatMessage> = messages
                .iter()
                .filter(|m| m.id.ts.as_str() >= from && m.id.ts.as_str() <= to)
                .cloned()
                .collect();
            ChannelSummary {
                channel: channel.clone(),
                summary: SummarizeDiscussion::default().extractive(&Discussion {
                    channel: channel.clone(),
                    messages: msgs,
                    propositions: vec![],
                    utc_offset_secs: -5 * 3600,
                }),
            }
        };
        let input = ConsolidateInput {
            summaries: vec![
                part("1433867647", "1433868099"),
                part("1433887765", "1433887792"),
            ],
        };
        let out = ConsolidateTopics::default().extractive(&input);
        assert_eq!(out.stories.len(), 1, "{:#?}", out.stories);
    }

    fn message(channel: &str, i: usize, author: &str, text: &str) -> ChatMessage {
        let at = 1_714_557_600 + i as i64 * 60;
        ChatMessage {
            id: MessageRef {
                channel_id: channel.into(),
                ts: format!("{at}.{i:06}"),
            },
            author: author.into(),
            author_id: None,
            text: text.into(),
            posted_at: at,
        }
    }

    fn summarize(id: &str, name: &str, lines: &[(&str, &str)]) -> ChannelSummary {
        let channel = ChannelInfo {
            id: id.into(),
            name: name.into(),
        };
        let messages = lines
            .iter()
            .enumerate()
            .map(|(i, (a, t))| message(id, i, a, t))
            .collect();
        let summary = SummarizeDiscussion::default().extractive(&Discussion {
            channel: channel.clone(),
            messages,
            propositions: vec![],
            utc_offset_secs: 0,
        });
        ChannelSummary { channel, summary }
    }

    fn input() -> ConsolidateInput {
        ConsolidateInput {
            summaries: vec![
                summarize(
                    "C1",
                    "backend",
                    &[
                        (
                            "Ann",
                            "The Postgres migration for billing is failing on the invoices table",
                        ),
                        (
                            "Ben",
                            "I'm looking at the Postgres migration lock timeout now",
                        ),
                        ("Ann", "We decided to retry the Postgres migration tonight"),
                    ],
                ),
                summarize(
                    "C2",
                    "support",
                    &[
                        (
                            "Cleo",
                            "Customers report billing invoices missing since the Postgres migration",
                        ),
                        (
                            "Dan",
                            "Is the Postgres migration going to be fixed today? Billing tickets are piling up",
                        ),
                    ],
                ),
                summarize(
                    "C3",
                    "random",
                    &[
                        (
                            "Eve",
                            "Who is joining the team lunch on Friday at the taco place?",
                        ),
                        ("Fay", "Count me in for the taco lunch"),
                    ],
                ),
            ],
        }
    }

    #[test]
    fn one_topic_in_two_channels_is_one_story() {
        let input = input();
        let task = ConsolidateTopics::default();
        assert_eq!(task.candidate_groups(&input), vec![vec![0, 1], vec![2]]);
        let out = task.extractive(&input);
        assert_eq!(out.stories.len(), 2);
        let migration = &out.stories[0];
        let names: Vec<&str> = migration.channels.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["backend", "support"]);
        assert!(migration.sources.iter().any(|s| s.channel_id == "C1"));
        assert!(migration.sources.iter().any(|s| s.channel_id == "C2"));
        assert!(
            migration
                .summary
                .iter()
                .any(|s| s.sources.iter().any(|r| r.channel_id == "C1"))
        );
        assert!(
            migration
                .summary
                .iter()
                .any(|s| s.sources.iter().any(|r| r.channel_id == "C2"))
        );
        // The title says what happened, not a pair of keywords.
        assert!(
            migration
                .title
                .contains("Postgres migration for billing is failing"),
            "{}",
            migration.title
        );
        assert!(migration.urgency >= input.summaries[0].summary.urgency);
        assert_eq!(migration.decisions.len(), 1);
        assert_eq!(out.stories[1].channels[0].name, "random");
        assert_eq!(task.validate(&input, &out), Ok(()));
        // Ids are stable.
        assert_eq!(task.extractive(&input).stories[0].id, migration.id);
    }

    #[test]
    fn a_lost_summary_fails_validation() {
        let input = input();
        let task = ConsolidateTopics::default();
        let mut out = task.extractive(&input);
        out.stories.pop();
        assert!(
            task.validate(&input, &out)
                .unwrap_err()
                .contains("in no story")
        );
    }

    #[test]
    fn real_channels_about_different_things_stay_apart() {
        let summaries = [("datajam", "2015-06-19"), ("general", "2015-06-09")]
            .iter()
            .map(|(c, d)| {
                let (channel, messages) = testkit::houston_day(c, d);
                let summary = SummarizeDiscussion::default().extractive(&Discussion {
                    channel: channel.clone(),
                    messages,
                    propositions: vec![],
                    utc_offset_secs: -5 * 3600,
                });
                ChannelSummary { channel, summary }
            })
            .collect();
        let input = ConsolidateInput { summaries };
        let out = ConsolidateTopics::default().extractive(&input);
        assert_eq!(out.stories.len(), 2);
    }

    /// The model returns only the grouping; the stories are the extractive engine's, with the
    /// model's titles, and their ids come from their sources (never from the model).
    #[test]
    fn a_grouping_becomes_the_extractive_stories_with_stable_ids() {
        let input = input();
        let task = ConsolidateTopics::default();
        let extractive = task.extractive(&input);
        let grouping = GroupTopics::default().extractive(&input);
        assert_eq!(GroupTopics::default().validate(&input, &grouping), Ok(()));
        assert_eq!(task.from_groups(&input, &grouping), extractive);
        let mut titled = grouping.clone();
        titled.groups[0].title = "Ana asks for the migration runbook".into();
        let stories = task.from_groups(&input, &titled).stories;
        let story = stories
            .iter()
            .find(|s| s.title == "Ana asks for the migration runbook")
            .unwrap();
        assert_eq!(story.id, Story::id_for(&story.sources));
        // A title too long to show keeps the grouping, not the title.
        let mut wordy = grouping.clone();
        wordy.groups[0].title = "Ana asks for the migration runbook ".repeat(4);
        assert_eq!(GroupTopics::default().validate(&input, &wordy), Ok(()));
        assert_eq!(task.from_groups(&input, &wordy), extractive);
        // Every summary in exactly one group, indices in range.
        let mut bad = grouping.clone();
        bad.groups.push(Group {
            summaries: vec![0],
            title: String::new(),
        });
        assert!(GroupTopics::default().validate(&input, &bad).is_err());
        let mut bad = grouping.clone();
        bad.groups.pop();
        assert!(GroupTopics::default().validate(&input, &bad).is_err());
        let mut bad = grouping;
        bad.groups[0].summaries.push(99);
        assert!(GroupTopics::default().validate(&input, &bad).is_err());
    }

    #[test]
    fn the_prompt_carries_input_and_candidate_groups() {
        let input = input();
        let prompt = ConsolidateTopics::default().prompt(&input);
        testkit::assert_clean_prompt(&prompt, &input, &["Postgres", "backend", "taco"]);
        let data: serde_json::Value = serde_json::from_str(&prompt.data).unwrap();
        assert_eq!(data["candidate_groups"], serde_json::json!([[0, 1], [2]]));
    }
}
