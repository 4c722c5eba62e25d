//! Shared channel digests: the core cost lesson. A channel's window is segmented into discussions
//! and each discussion summarised **once**, whoever reads the channel; only ranking and text are
//! made per reader.
//!
//! A digest is keyed by (team, channel, window, content hash). The hash covers exactly the
//! messages summarised — ids, authors, text, thread — so a reader reuses a digest only when the
//! messages *they* may see (read through `visible_to`) are exactly those: membership decides what
//! is read, never the digest. A message that arrives late or is edited changes the hash and
//! makes a new digest; a deleted or expired message deletes every digest made from it.
//!
//! Readers preparing the same channel window at the same moment in one process wait for the first
//! one's digest instead of summarising it again (at 10,000 readers, a few hundred start together).
//! Across replicas two may both summarise it (the second insert keeps the first row); with a model
//! configured, the gateway's response cache then answers the second from the first's answers.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, LazyLock, PoisonError, Weak};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tracing::debug;

use super::BriefingError;
use crate::ai::extractive::{lang, templates, text};
use crate::ai::guarded::step_meta;
use crate::ai::llm::{CallOptions, Priority};
use crate::ai::segment;
use crate::ai::tasks::{
    ChannelInfo, ChatMessage, Discussion, DiscussionSummary, SummarizeDiscussion,
};
use crate::features::context::Context;
use crate::model::domain::{Message, MessageRef};
use crate::platform::db::briefings;
use crate::platform::runs::{StepMeta, StepSource};

/// Discussions summarised per channel window, at most (the biggest; a busy channel's long tail
/// of one-liners is not briefing material).
pub const MAX_DISCUSSIONS: usize = 25;
/// A discussion with fewer content words than this is chatter ("thanks!", "+1").
const MIN_WORDS: usize = 4;

/// What identifies a digest: the run step's input (so a changed channel re-runs its step).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestKey {
    pub channel: ChannelInfo,
    pub window: (i64, i64),
    /// The reader's UTC offset at the window's end, used to resolve "tomorrow" and "tonight" to
    /// dates (part of the hash): a digest's dates are right for every reader who shares it.
    pub utc_offset_secs: i32,
    pub content_hash: String,
    pub messages: usize,
}

impl DigestKey {
    pub fn new(
        channel: ChannelInfo,
        window: (i64, i64),
        utc_offset_secs: i32,
        msgs: &[Message],
    ) -> Self {
        DigestKey {
            content_hash: content_hash(&channel, window, utc_offset_secs, msgs),
            channel,
            window,
            utc_offset_secs,
            messages: msgs.len(),
        }
    }
}

/// A channel window's discussion summaries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelDigest {
    pub digest_id: i64,
    pub summaries: Vec<DiscussionSummary>,
}

/// What a briefing run's `digest:*` step records: which shared digest it used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestUsed {
    pub digest_id: i64,
    /// Defaulted: runs recorded before this shape stored the whole digest here.
    #[serde(default)]
    pub discussions: usize,
}

/// SHA-256 over everything that shapes a summary of these messages.
pub fn content_hash(
    channel: &ChannelInfo,
    window: (i64, i64),
    utc_offset_secs: i32,
    msgs: &[Message],
) -> String {
    let mut h = Sha256::new();
    h.update(channel.id.as_bytes());
    h.update(b"\x1f");
    h.update(channel.name.as_bytes());
    h.update(format!("\x1f{}\x1f{}\x1f{}", window.0, window.1, utc_offset_secs).as_bytes());
    for m in msgs {
        for part in [
            m.ts.as_str(),
            m.thread_ts.as_deref().unwrap_or(""),
            m.user_id.as_deref().unwrap_or(""),
            m.user_name.as_deref().unwrap_or(""),
            m.text.as_str(),
        ] {
            h.update(b"\x1e");
            h.update(part.as_bytes());
        }
    }
    hex::encode(h.finalize())
}

/// The channel's discussions in the window, ready to summarise: segmented, chatter dropped, the
/// biggest [`MAX_DISCUSSIONS`] kept in time order.
pub fn discussions(
    channel: &ChannelInfo,
    msgs: &[Message],
    utc_offset_secs: i32,
) -> Vec<Discussion> {
    let seg: Vec<segment::ChatMessage> = msgs.iter().map(segment::ChatMessage::from).collect();
    let by_ts: HashMap<&str, &Message> = msgs.iter().map(|m| (m.ts.as_str(), m)).collect();
    let mut found: Vec<Discussion> = segment::segment(&seg)
        .into_iter()
        .map(|d| Discussion {
            channel: channel.clone(),
            messages: d
                .message_ids
                .iter()
                .filter_map(|id| by_ts.get(id.as_str()))
                .map(|m| ChatMessage::from(*m))
                .collect(),
            propositions: vec![],
            utc_offset_secs,
        })
        .filter(|d| {
            d.messages
                .iter()
                .map(|m| {
                    text::words(&m.text)
                        .iter()
                        .filter(|w| !text::is_stop_word(&w.to_lowercase()))
                        .count()
                })
                .sum::<usize>()
                >= MIN_WORDS
        })
        .collect();
    if found.len() > MAX_DISCUSSIONS {
        let mut by_size: Vec<usize> = (0..found.len()).collect();
        by_size.sort_by_key(|&i| std::cmp::Reverse(found[i].messages.len()));
        let keep: std::collections::BTreeSet<usize> =
            by_size.into_iter().take(MAX_DISCUSSIONS).collect();
        let mut i = 0;
        found.retain(|_| {
            let k = keep.contains(&i);
            i += 1;
            k
        });
    }
    found
}

/// The lower-case words of people's names (at least three letters, not stop words).
pub fn name_words(names: &[String]) -> BTreeSet<String> {
    names
        .iter()
        .flat_map(|n| {
            text::words(n)
                .into_iter()
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
        })
        .filter(|w| w.chars().count() >= 3 && !text::is_stop_word(w))
        .collect()
}

/// Takes people's names out of a summary's topics ("Neeraj and Tandon" is a person, not a
/// topic: the summariser knows the discussion's authors but not everyone they name), and
/// rebuilds a title that was made of them.
pub fn without_name_topics(
    mut summary: DiscussionSummary,
    channel: &ChannelInfo,
    names: &BTreeSet<String>,
) -> DiscussionSummary {
    let is_name = |topic: &str| {
        let words: Vec<String> = text::words(topic)
            .into_iter()
            .map(str::to_lowercase)
            .collect();
        !words.is_empty() && words.iter().all(|w| names.contains(w))
    };
    let removed: Vec<String> = summary
        .topics
        .iter()
        .filter(|t| is_name(t))
        .cloned()
        .collect();
    if removed.is_empty() {
        return summary;
    }
    summary.topics.retain(|t| !is_name(t));
    // Only a title made of topics is rebuilt; a title that says what happened ("Micah asks
    // Neeraj Tandon for …") names people on purpose.
    let title = summary.title.to_lowercase();
    let made_of_topics = summary.summary.is_empty() || !title.contains(' ') || title.len() < 40;
    if made_of_topics && removed.iter().any(|r| title.contains(&r.to_lowercase())) {
        let lang = lang::detect_many(summary.summary.iter().map(|s| s.text.as_str()));
        let rebuilt = match &summary.topics[..] {
            // No topic left: the channel, as the summariser itself titles a topicless talk.
            [] => format!("#{}", channel.name),
            [one] => one.clone(),
            [a, b, ..] => templates::join_list(&[a.clone(), b.clone()], lang),
        };
        let mut c = rebuilt.chars();
        if let Some(first) = c.next() {
            summary.title = first.to_uppercase().chain(c).collect();
        }
    }
    summary
}

/// Digests being made in this process, by team, channel, window and content hash.
type InFlight = std::sync::Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>;
static IN_FLIGHT: LazyLock<InFlight> = LazyLock::new(Default::default);

/// The lock of one digest: whoever holds it makes the digest; the others wait, then find it stored.
fn in_flight(team_id: &str, key: &DigestKey) -> Arc<tokio::sync::Mutex<()>> {
    let name = format!(
        "{team_id}/{}/{}-{}/{}",
        key.channel.id, key.window.0, key.window.1, key.content_hash
    );
    let mut map = IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner);
    // Only digests being made are kept (a few hundred at most).
    map.retain(|_, lock| lock.strong_count() > 0);
    if let Some(lock) = map.get(&name).and_then(Weak::upgrade) {
        return lock;
    }
    let lock = Arc::new(tokio::sync::Mutex::new(()));
    map.insert(name, Arc::downgrade(&lock));
    lock
}

/// The digest of `msgs` (a channel's messages in the window, as the reader may see them): the
/// stored one when these exact messages were summarised before, else made now and stored.
pub async fn channel_digest(
    ctx: &Context,
    team_id: &str,
    key: &DigestKey,
    msgs: &[Message],
    priority: Priority,
) -> Result<(ChannelDigest, StepMeta), BriefingError> {
    if let Some(found) = stored_digest(ctx, team_id, key).await? {
        return Ok(found);
    }
    let lock = in_flight(team_id, key);
    let _making = lock.lock().await;
    // Made by the reader we waited for?
    if let Some(found) = stored_digest(ctx, team_id, key).await? {
        return Ok(found);
    }
    make_digest(ctx, team_id, key, msgs, priority).await
}

async fn stored_digest(
    ctx: &Context,
    team_id: &str,
    key: &DigestKey,
) -> Result<Option<(ChannelDigest, StepMeta)>, BriefingError> {
    let Some(row) = briefings::find_digest(
        &ctx.db,
        team_id,
        &key.channel.id,
        key.window,
        &key.content_hash,
    )
    .await?
    else {
        return Ok(None);
    };
    let summaries = serde_json::from_str(&row.summaries)
        .map_err(|e| BriefingError::Permanent(format!("stored digest unreadable: {e}")))?;
    metrics::counter!("chief_briefing_digests_total", "outcome" => "reused").increment(1);
    debug!(channel = %key.channel.id, digest = row.id, "shared digest reused");
    Ok(Some((
        ChannelDigest {
            digest_id: row.id,
            summaries,
        },
        StepMeta::default().source(StepSource::Cache),
    )))
}

async fn make_digest(
    ctx: &Context,
    team_id: &str,
    key: &DigestKey,
    msgs: &[Message],
    priority: Priority,
) -> Result<(ChannelDigest, StepMeta), BriefingError> {
    // Shared work: paid by the team, for no one user.
    let options = CallOptions {
        team_id: Some(team_id.to_string()),
        priority,
        ..CallOptions::default()
    };
    let task = SummarizeDiscussion::default();
    let names = name_words(&ctx.people.get(&ctx.db, team_id).await?);
    // The window's propositions first (extracting what never was): every summary reads them.
    let (propositions, mut meta) = crate::features::propositions::for_window(
        ctx,
        team_id,
        &key.channel,
        msgs,
        key.utc_offset_secs,
        priority,
    )
    .await?;
    if meta.source == Some(StepSource::Cache) {
        meta.source = Some(StepSource::Extractive);
    }
    let mut summaries = Vec::new();
    for mut discussion in discussions(&key.channel, msgs, key.utc_offset_secs) {
        let ids: BTreeSet<&MessageRef> = discussion.messages.iter().map(|m| &m.id).collect();
        discussion.propositions = propositions
            .iter()
            .filter(|p| p.sources.first().is_some_and(|s| ids.contains(s)))
            .cloned()
            .collect();
        let chunks = task.chunks(&discussion);
        let mut parts = Vec::new();
        for chunk in &chunks {
            let answer = ctx.llm.run_or_extractive(&task, chunk, &options).await;
            let m = step_meta(&answer);
            meta.prompt_tokens += m.prompt_tokens;
            meta.completion_tokens += m.completion_tokens;
            if m.source != Some(StepSource::Extractive) {
                meta.source = m.source;
            }
            parts.push(answer.output);
        }
        let mut summary = if parts.len() == 1 {
            parts.remove(0)
        } else {
            task.merge(&discussion, parts)
        };
        // Whatever answered, the summary carries its discussion's propositions on.
        summary.propositions = discussion.propositions;
        summaries.push(without_name_topics(summary, &key.channel, &names));
    }
    let json = serde_json::to_string(&summaries)
        .map_err(|e| BriefingError::Permanent(format!("digest does not serialize: {e}")))?;
    let ts: Vec<String> = msgs.iter().map(|m| m.ts.clone()).collect();
    let row = briefings::insert_digest(
        &ctx.db,
        team_id,
        &key.channel.id,
        key.window,
        &key.content_hash,
        &ts,
        &json,
    )
    .await?;
    metrics::counter!("chief_briefing_digests_total", "outcome" => "made").increment(1);
    debug!(channel = %key.channel.id, digest = row.id, discussions = summaries.len(), "digest made");
    Ok((
        ChannelDigest {
            digest_id: row.id,
            summaries,
        },
        meta,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::tasks::{CitedSentence, Entities};

    #[test]
    fn names_are_not_topics() {
        let names = name_words(&["Neeraj Tandon".to_string(), "ana".to_string()]);
        let summary = DiscussionSummary {
            title: "Neeraj and Tandon".into(),
            summary: vec![CitedSentence::new("The meetup talk covers Bokeh.", vec![])],
            topics: vec![
                "Neeraj".into(),
                "Tandon".into(),
                "meetup talk".into(),
                "Bokeh".into(),
            ],
            entities: Entities::default(),
            participants: vec![],
            urgency: 0.1,
            decisions: vec![],
            open_questions: vec![],
            sources: vec![],
            propositions: vec![],
        };
        let meetup = ChannelInfo {
            id: "C1".into(),
            name: "meetup".into(),
        };
        let clean = without_name_topics(summary, &meetup, &names);
        assert_eq!(
            clean.topics,
            vec!["meetup talk".to_string(), "Bokeh".to_string()]
        );
        assert_eq!(clean.title, "Meetup talk and Bokeh");
        let only_names = DiscussionSummary {
            title: "Neeraj and Tandon".into(),
            topics: vec!["Neeraj".into(), "Tandon".into()],
            summary: vec![
                CitedSentence::new("This came up in #meetup.", vec![]),
                CitedSentence::new(
                    "Micah asks for the list of packages the talk will cover before the meetup.",
                    vec![],
                ),
            ],
            ..clean
        };
        let clean = without_name_topics(only_names, &meetup, &names);
        assert!(clean.topics.is_empty());
        assert_eq!(clean.title, "#meetup");
    }
}
