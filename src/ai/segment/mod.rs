//! SegmentDiscussions: group a channel's messages in a time window into discussions.
//!
//! Summaries, stories and click-to-context all work on *discussions*, not on single messages, and
//! most channel traffic is not threaded: several conversations interleave in the same stream. This
//! task untangles them before any model sees the text, so it must be cheap, deterministic and
//! explainable. It is a pure function of its input and knows nothing of Slack: callers convert
//! their messages to [`ChatMessage`] (see the `From<&domain::Message>` impl).
//!
//! # How it works
//! Messages are taken in time order. A thread reply joins its thread (a thread is one discussion,
//! whatever else it says). Every other message is scored against each earlier message in a bounded
//! look-back window (at most [`SegmentParams::max_lookback`] messages and
//! [`SegmentParams::max_gap_secs`] seconds) with a linear combination of the cues people use to
//! follow chat:
//!
//! * addressee cues — the message opens with `name:` / `@name` or names an author, or mentions them
//!   explicitly: it answers that author, most likely their latest message;
//! * the earlier message addressed this message's author (this is the answer);
//! * the author continuing their own recent discussion;
//! * shared content words, weighted by rarity in the window (TF-IDF cosine);
//! * question → answer adjacency;
//! * penalties for the time gap and for the number of messages in between.
//!
//! The best-scoring earlier message wins unless a "starts a new discussion" score beats it. Each
//! message links to at most one antecedent, so discussions are the trees those links form.
//! Cost is O(n·k) for n messages and a look-back of k; weights were tuned on the development split
//! of the Kummerfeld et al. (2019) IRC disentanglement data only (see `docs/segmentation.md`).

mod text;

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::model::domain::Message;

/// One message as the segmenter sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Unique within the input; discussions list these.
    pub id: String,
    /// Stable identity of the author (a user id or a nickname); explicit mentions use the same space.
    pub author: String,
    /// How the author is named in text, when that differs from `author` (a display name).
    pub author_name: Option<String>,
    pub text: String,
    /// Seconds (any epoch; only differences matter).
    pub time: i64,
    /// The id of the thread's first message when this message is a reply in a thread.
    pub thread_parent: Option<String>,
    /// Authors this message explicitly mentions (same space as `author`).
    pub mentions: Vec<String>,
}

impl ChatMessage {
    /// A plain message with no thread and no explicit mentions.
    pub fn new(
        id: impl Into<String>,
        author: impl Into<String>,
        time: i64,
        text: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            author: author.into(),
            author_name: None,
            text: text.into(),
            time,
            thread_parent: None,
            mentions: Vec::new(),
        }
    }
}

impl From<&Message> for ChatMessage {
    fn from(message: &Message) -> Self {
        Self {
            id: message.ts.clone(),
            author: message
                .user_id
                .clone()
                .or_else(|| message.user_name.clone())
                .unwrap_or_default(),
            author_name: message.user_name.clone(),
            text: message.text.clone(),
            time: message.posted_at,
            // A thread's parent carries its own ts as thread_ts: it is a channel message.
            thread_parent: message
                .thread_ts
                .clone()
                .filter(|parent| *parent != message.ts),
            mentions: Vec::new(),
        }
    }
}

/// A group of messages about one thing, with its time span.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discussion {
    /// Message ids in time order.
    pub message_ids: Vec<String>,
    /// Time of the first message.
    pub start: i64,
    /// Time of the last message.
    pub end: i64,
}

/// Weights and bounds of the linking score. Defaults were tuned on the IRC development split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentParams {
    /// How many earlier messages a message may link to.
    pub max_lookback: usize,
    /// How far back in time a message may link.
    pub max_gap_secs: i64,
    /// The message addresses the candidate's author (`name:`, `@name`, an explicit mention).
    pub addressed_author: f64,
    /// Extra when the candidate is that author's latest message.
    pub addressed_latest: f64,
    /// The message names the candidate's author somewhere in its text.
    pub named_author: f64,
    /// The candidate addressed or named this message's author.
    pub addressed_back: f64,
    /// Extra when no later message addressed this message's author.
    pub addressed_back_latest: f64,
    /// Same author as the candidate.
    pub same_author: f64,
    /// Same author, but this message addresses someone: the author moved to another conversation.
    pub same_author_addressing: f64,
    /// The message addresses someone other than the candidate's author.
    pub addressed_other: f64,
    /// This message's author already takes part in the candidate's discussion.
    pub author_in_discussion: f64,
    /// Someone this message addresses takes part in the candidate's discussion.
    pub addressee_in_discussion: f64,
    /// The candidate is the message just before.
    pub adjacent: f64,
    /// Multiplies the TF-IDF cosine of the two messages.
    pub lexical: f64,
    /// The candidate asks a question and this message is by someone else.
    pub answers_question: f64,
    /// Multiplies ln(1 + minutes between the two).
    pub gap_penalty: f64,
    /// Multiplies ln(1 + messages in between).
    pub distance_penalty: f64,
    /// Multiplies (messages in between) / 10.
    pub distance_linear: f64,
    /// Score to beat to join an earlier discussion rather than start a new one.
    pub new_bias: f64,
    /// Added to `new_bias` when the message addresses nobody (openers rarely do).
    pub new_unaddressed: f64,
    /// Added to `new_bias` when the message asks a question.
    pub new_question: f64,
    /// Added to `new_bias` when the message is a greeting (`hi all`): greetings stand alone.
    pub new_greeting: f64,
    /// Added to `new_bias` when an unaddressed message calls on the room (`anyone know …`).
    pub new_opener: f64,
    /// Multiplies ln(1 + content words) of an unaddressed message, added to `new_bias`: long
    /// unaddressed messages tend to open a topic.
    pub new_length: f64,
    /// The candidate is a greeting.
    pub to_greeting: f64,
}

impl Default for SegmentParams {
    /// Tuned on the IRC development split with `chief bench segmentation --tune` (coordinate
    /// ascent on the mean of scaled VI, one-to-one and exact-match F1, from hand-set weights).
    /// Cues at 0.0 did not help on IRC; they stay available for tuning on other data.
    fn default() -> Self {
        Self {
            max_lookback: 100,
            max_gap_secs: 3 * 3600,
            addressed_author: 3.0,
            addressed_latest: 1.0,
            named_author: 2.75,
            addressed_back: 2.25,
            addressed_back_latest: 0.0,
            same_author: 2.0,
            same_author_addressing: -1.0,
            addressed_other: -1.5,
            author_in_discussion: 0.0,
            addressee_in_discussion: 0.0,
            adjacent: -0.25,
            lexical: 3.25,
            answers_question: 0.25,
            gap_penalty: 0.5,
            distance_penalty: 0.3,
            distance_linear: 0.0,
            new_bias: 0.0,
            new_unaddressed: 0.5,
            new_question: 0.5,
            new_greeting: 0.5,
            new_opener: -0.25,
            new_length: 0.0,
            to_greeting: -1.5,
        }
    }
}

/// The segmentation task.
#[derive(Clone, Debug, Default)]
pub struct Segmenter {
    pub params: SegmentParams,
}

/// Groups messages into discussions with the default parameters.
pub fn segment(messages: &[ChatMessage]) -> Vec<Discussion> {
    Segmenter::default().segment(messages)
}

impl Segmenter {
    pub fn new(params: SegmentParams) -> Self {
        Self { params }
    }

    /// Discussions in order of their first message; every input message is in exactly one.
    pub fn segment(&self, messages: &[ChatMessage]) -> Vec<Discussion> {
        let _span =
            tracing::debug_span!("segment_discussions", messages = messages.len()).entered();
        let labels = self.assign(messages);
        discussions_from_labels(messages, &labels)
    }

    /// The discussion number of each input message (in input order; numbers follow first use in
    /// time order).
    pub fn assign(&self, messages: &[ChatMessage]) -> Vec<usize> {
        self.run(messages).1
    }

    /// For each input message, the input index of the earlier message it continues, or `None` when
    /// it starts a discussion.
    pub fn links(&self, messages: &[ChatMessage]) -> Vec<Option<usize>> {
        self.run(messages).0
    }

    /// Links and discussion labels, computed together: discussion-level cues (who takes part)
    /// need the labels of earlier messages.
    fn run(&self, messages: &[ChatMessage]) -> (Vec<Option<usize>>, Vec<usize>) {
        let prepared = Prepared::new(messages);
        let order = &prepared.order;
        let p = &self.params;
        let mut links = vec![None; messages.len()];
        let mut label = vec![usize::MAX; messages.len()];
        // Who has spoken in each discussion so far: (discussion, author).
        let mut participants: HashSet<(usize, u32)> = HashSet::new();
        let mut discussions = 0;
        let mut last_by_author: HashMap<u32, usize> = HashMap::new();
        let mut first_reply_of_thread: HashMap<&str, usize> = HashMap::new();
        // `seen_at[author] == pos` once the backwards scan for message `pos` met that author: the
        // first message met is the author's latest (a stamp instead of clearing a set each time).
        let mut seen_at: Vec<usize> = vec![usize::MAX; prepared.authors];

        for (pos, &i) in order.iter().enumerate() {
            let author_i = prepared.author[i];
            let link = if let Some(parent) = prepared.thread_parent[i] {
                match parent {
                    ThreadParent::Present(j) => Some(j),
                    ThreadParent::Absent(key) => {
                        let first = *first_reply_of_thread.entry(key).or_insert(i);
                        (first != i).then_some(first)
                    }
                }
            } else {
                let mut best: Option<(f64, usize)> = None;
                let mut consider = |candidate: Candidate| {
                    let j = candidate.j;
                    let in_discussion = |who: u32| participants.contains(&(label[j], who));
                    let score = self.score(
                        &prepared,
                        i,
                        &candidate,
                        in_discussion(author_i),
                        prepared.addressees[i].iter().any(|&a| in_discussion(a)),
                    );
                    if best.is_none_or(|(b, _)| score > b) {
                        best = Some((score, j));
                    }
                };
                let mut addressed_me_seen = false;
                let lowest = pos.saturating_sub(p.max_lookback);
                for (between, &j) in order[lowest..pos].iter().rev().enumerate() {
                    let gap = messages[i].time - messages[j].time;
                    if gap > p.max_gap_secs {
                        break;
                    }
                    let author_j = prepared.author[j] as usize;
                    let latest_of_author = seen_at[author_j] != pos;
                    seen_at[author_j] = pos;
                    let addressed_me = prepared.addressees[j].contains(&author_i)
                        || prepared.named[j].contains(&author_i);
                    let latest_addressing_me = addressed_me && !addressed_me_seen;
                    addressed_me_seen |= addressed_me;
                    if prepared.thread_parent[j].is_some() {
                        // Thread replies are not part of the channel stream.
                        continue;
                    }
                    consider(Candidate {
                        j,
                        gap,
                        between,
                        latest_of_author,
                        latest_addressing_me,
                    });
                }
                // An author returning to their own question after a long busy stretch.
                if let Some(&own) = last_by_author.get(&author_i)
                    && own < lowest
                {
                    let j = order[own];
                    let gap = messages[i].time - messages[j].time;
                    if gap <= p.max_gap_secs {
                        consider(Candidate {
                            j,
                            gap,
                            between: pos - own - 1,
                            latest_of_author: true,
                            latest_addressing_me: false,
                        });
                    }
                }
                let new_score = self.new_discussion_score(&prepared, i);
                best.filter(|(score, _)| *score > new_score).map(|(_, j)| j)
            };

            links[i] = link;
            label[i] = match link {
                Some(j) if label[j] != usize::MAX => label[j],
                _ => {
                    discussions += 1;
                    discussions - 1
                }
            };
            participants.insert((label[i], author_i));
            if prepared.thread_parent[i].is_none() {
                last_by_author.insert(author_i, pos);
            }
        }
        (links, label)
    }

    /// The score an antecedent must beat: how much the message looks like an opener.
    fn new_discussion_score(&self, m: &Prepared, i: usize) -> f64 {
        let p = &self.params;
        let mut score = p.new_bias;
        if m.addressees[i].is_empty() {
            score += p.new_unaddressed;
            if m.opener[i] {
                score += p.new_opener;
            }
            score += p.new_length * (m.terms[i].len() as f64).ln_1p();
        }
        if m.question[i] {
            score += p.new_question;
        }
        if m.greeting[i] {
            score += p.new_greeting;
        }
        score
    }

    fn score(
        &self,
        m: &Prepared,
        i: usize,
        c: &Candidate,
        author_in_discussion: bool,
        addressee_in_discussion: bool,
    ) -> f64 {
        let p = &self.params;
        let j = c.j;
        let author_i = m.author[i];
        let author_j = m.author[j];
        let mut score = 0.0;
        let addresses_j = m.addressees[i].contains(&author_j);
        if addresses_j {
            score += p.addressed_author;
            if c.latest_of_author {
                score += p.addressed_latest;
            }
        } else if !m.addressees[i].is_empty() && author_j != author_i {
            score += p.addressed_other;
        }
        if m.named[i].contains(&author_j) && !addresses_j {
            score += p.named_author;
        }
        if m.addressees[j].contains(&author_i) || m.named[j].contains(&author_i) {
            score += p.addressed_back;
            if c.latest_addressing_me {
                score += p.addressed_back_latest;
            }
        }
        if author_i == author_j {
            score += p.same_author;
            if !m.addressees[i].is_empty() {
                score += p.same_author_addressing;
            }
        }
        if author_in_discussion {
            score += p.author_in_discussion;
        }
        if addressee_in_discussion {
            score += p.addressee_in_discussion;
        }
        score += p.lexical * cosine(&m.terms[i], &m.terms[j]);
        if m.question[j] && author_i != author_j {
            score += p.answers_question;
        }
        if c.between == 0 {
            score += p.adjacent;
        }
        if m.greeting[j] {
            score += p.to_greeting;
        }
        let minutes = c.gap.max(0) as f64 / 60.0;
        score -= p.gap_penalty * minutes.ln_1p();
        score -= p.distance_penalty * (c.between as f64).ln_1p();
        score -= p.distance_linear * c.between as f64 / 10.0;
        score
    }
}

/// An earlier message considered as the antecedent, with where it sits relative to the new one.
struct Candidate {
    j: usize,
    gap: i64,
    /// Messages between the candidate and the new one.
    between: usize,
    /// No later message (before the new one) by the candidate's author.
    latest_of_author: bool,
    /// The candidate addresses the new message's author and no later message does.
    latest_addressing_me: bool,
}

/// Discussions from per-message labels (as [`Segmenter::assign`] returns them).
pub fn discussions_from_labels(messages: &[ChatMessage], labels: &[usize]) -> Vec<Discussion> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for &i in &time_order(messages) {
        let label = labels[i];
        if label >= groups.len() {
            groups.resize(label + 1, Vec::new());
        }
        groups[label].push(i);
    }
    let mut discussions: Vec<Discussion> = groups
        .into_iter()
        .filter(|g| !g.is_empty())
        .map(|g| Discussion {
            start: g
                .iter()
                .map(|&i| messages[i].time)
                .min()
                .unwrap_or_default(),
            end: g
                .iter()
                .map(|&i| messages[i].time)
                .max()
                .unwrap_or_default(),
            message_ids: g.iter().map(|&i| messages[i].id.clone()).collect(),
        })
        .collect();
    discussions.sort_by_key(|d| d.start);
    discussions
}

/// Input indices sorted by time (stable: equal times keep input order, which is log order).
fn time_order(messages: &[ChatMessage]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_by_key(|&i| messages[i].time);
    order
}

#[derive(Clone, Copy, Debug)]
enum ThreadParent<'a> {
    /// The parent is in the input, at this index.
    Present(usize),
    /// The parent is outside the window; replies still stay together.
    Absent(&'a str),
}

/// Per-message features computed once, so the O(n·k) loop only compares small vectors.
struct Prepared<'a> {
    order: Vec<usize>,
    /// Number of distinct people (authors and mentioned people); ids are below this.
    authors: usize,
    author: Vec<u32>,
    /// Authors the message addresses: leading `name:`/`@name` cues and explicit mentions.
    addressees: Vec<Vec<u32>>,
    /// Authors named elsewhere in the text.
    named: Vec<Vec<u32>>,
    /// Unit-length TF-IDF vector sorted by term id.
    terms: Vec<Vec<(u32, f32)>>,
    question: Vec<bool>,
    greeting: Vec<bool>,
    opener: Vec<bool>,
    thread_parent: Vec<Option<ThreadParent<'a>>>,
}

impl<'a> Prepared<'a> {
    fn new(messages: &'a [ChatMessage]) -> Self {
        let order = time_order(messages);
        let n = messages.len();

        // Authors, addressable by their id key and by their display-name key.
        let mut names: HashMap<String, u32> = HashMap::new();
        let mut author = Vec::with_capacity(n);
        for message in messages {
            let key = text::name_key(&message.author);
            let next = names.len() as u32;
            let id = *names.entry(key).or_insert(next);
            author.push(id);
        }
        for (message, &id) in messages.iter().zip(&author) {
            if let Some(name) = &message.author_name {
                let key = text::name_key(name);
                names.entry(key.clone()).or_insert(id);
                if let Some(first) = key.split_whitespace().next()
                    && first != key
                    && !text::is_ambiguous_name(first)
                {
                    names.entry(first.to_string()).or_insert(id);
                }
            }
        }
        // Explicitly mentioned people may not have spoken in the window: give them ids too.
        for message in messages {
            for mention in &message.mentions {
                let next = names.len() as u32;
                names.entry(text::name_key(mention)).or_insert(next);
            }
        }
        let author_keys: Vec<(&String, u32)> = names.iter().map(|(k, &v)| (k, v)).collect();

        let mut addressees = Vec::with_capacity(n);
        let mut named = Vec::with_capacity(n);
        for (message, &own) in messages.iter().zip(&author) {
            let mut to: Vec<u32> = Vec::new();
            for mention in &message.mentions {
                if let Some(&id) = names.get(&text::name_key(mention))
                    && id != own
                    && !to.contains(&id)
                {
                    to.push(id);
                }
            }
            if let Some(cue) = text::leading_addressee(&message.text) {
                let key = text::name_key(cue);
                let found = names.get(&key).copied().or_else(|| {
                    // Abbreviated nicknames ("naf:" for Nafallo) when the prefix is unambiguous.
                    if key.chars().count() < 3 {
                        return None;
                    }
                    let mut matches = author_keys.iter().filter(|(k, _)| k.starts_with(&key));
                    match (matches.next(), matches.next()) {
                        (Some(&(_, id)), None) => Some(id),
                        _ => None,
                    }
                });
                if let Some(id) = found
                    && id != own
                    && !to.contains(&id)
                {
                    to.push(id);
                }
            }
            let mut mid: Vec<u32> = Vec::new();
            for key in text::name_tokens(&message.text) {
                if text::is_ambiguous_name(&key) {
                    continue;
                }
                if let Some(&id) = names.get(&key)
                    && id != own
                    && !to.contains(&id)
                    && !mid.contains(&id)
                {
                    mid.push(id);
                }
            }
            addressees.push(to);
            named.push(mid);
        }

        // TF-IDF over the window itself: what is rare in this channel's stretch is informative.
        let mut vocabulary: HashMap<String, u32> = HashMap::new();
        let mut raw_terms: Vec<Vec<u32>> = Vec::with_capacity(n);
        for message in messages {
            let mut ids: Vec<u32> = text::content_words(&message.text)
                .into_iter()
                .filter(|w| !names.contains_key(w))
                .map(|w| {
                    let next = vocabulary.len() as u32;
                    *vocabulary.entry(w).or_insert(next)
                })
                .collect();
            ids.sort_unstable();
            raw_terms.push(ids);
        }
        let mut document_frequency = vec![0u32; vocabulary.len()];
        for ids in &raw_terms {
            let mut previous = None;
            for &id in ids {
                if previous != Some(id) {
                    document_frequency[id as usize] += 1;
                }
                previous = Some(id);
            }
        }
        let total = n.max(1) as f32;
        let terms = raw_terms
            .into_iter()
            .map(|ids| {
                let mut vector: Vec<(u32, f32)> = Vec::new();
                for id in ids {
                    let idf = (total / document_frequency[id as usize] as f32).ln() + 1.0;
                    match vector.last_mut() {
                        Some((last, weight)) if *last == id => *weight += idf,
                        _ => vector.push((id, idf)),
                    }
                }
                let norm = vector.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
                if norm > 0.0 {
                    for (_, w) in &mut vector {
                        *w /= norm;
                    }
                }
                vector
            })
            .collect();

        let by_id: HashMap<&str, usize> = messages
            .iter()
            .enumerate()
            .rev()
            .map(|(i, m)| (m.id.as_str(), i))
            .collect();
        let thread_parent = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let parent = m.thread_parent.as_deref().filter(|p| *p != m.id)?;
                Some(match by_id.get(parent) {
                    Some(&j) if j != i && messages[j].time <= m.time => ThreadParent::Present(j),
                    _ => ThreadParent::Absent(parent),
                })
            })
            .collect();

        Self {
            order,
            authors: names.values().map(|&id| id as usize + 1).max().unwrap_or(0),
            author,
            addressees,
            named,
            terms,
            question: messages.iter().map(|m| m.text.contains('?')).collect(),
            greeting: messages
                .iter()
                .map(|m| text::is_greeting(&m.text))
                .collect(),
            opener: messages
                .iter()
                .map(|m| text::calls_on_the_room(&m.text))
                .collect(),
            thread_parent,
        }
    }
}

fn cosine(a: &[(u32, f32)], b: &[(u32, f32)]) -> f64 {
    let (mut x, mut y, mut sum) = (0, 0, 0.0f32);
    while x < a.len() && y < b.len() {
        match a[x].0.cmp(&b[y].0) {
            std::cmp::Ordering::Less => x += 1,
            std::cmp::Ordering::Greater => y += 1,
            std::cmp::Ordering::Equal => {
                sum += a[x].1 * b[y].1;
                x += 1;
                y += 1;
            }
        }
    }
    f64::from(sum)
}

#[cfg(test)]
mod tests;
