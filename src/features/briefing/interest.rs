//! The interest agent: reads the event bus and keeps each person's profile current.
//!
//! | event | signals |
//! |---|---|
//! | `message_posted` | the author *wrote* about the message's topics and entities (with the people they mention or answer as close people); each mentioned person was *mentioned* in it; a reply is *replied* on the thread's topics, and the person answered gets the author as a close person |
//! | `reaction_added` | the reactor *reacted* to the message's topics (looked up from the store); author and reactor become closer |
//! | `user_became_active` | `db::profile::record_activity` (learns the usual start); delivers a prepared briefing of today at once |
//! | `user_updated` | the person's time zone, for users chief briefs |
//!
//! Topics and entities come from the extractive engine (keyphrases; projects and systems). Every
//! signal's id derives from the bus event id, so a redelivered event changes nothing (the bus is
//! at-least-once). One agent per user is the user's `user_agents` row; this subscriber is the
//! process that feeds them all.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::BriefingError;
use crate::ai::extractive::{entities, lang, rank, text};
use crate::features::context::Context;
use crate::model::activity::{ActivitySource, ScheduleRules};
use crate::model::events::{DomainEvent, EventKind, PostedMessage};
use crate::model::interest::{HalfLife, Signal, SignalKind, normalize_key};
use crate::platform::bus::{self, BusEvent};
use crate::platform::db::{briefings, directory, messages, now, profile, purge};
use crate::platform::jobs::priority;

/// The subscriber's name on the bus (its cursor).
pub const SUBSCRIBER: &str = "briefing-interest";
/// Keyphrases taken from one message.
const TOPICS_PER_MESSAGE: usize = 4;

pub const KINDS: [EventKind; 4] = [
    EventKind::MessagePosted,
    EventKind::ReactionAdded,
    EventKind::UserBecameActive,
    EventKind::UserUpdated,
];

/// Runs the agent until `shutdown`.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    bus::run_subscriber(
        ctx,
        SUBSCRIBER,
        &KINDS,
        |ctx, event| async move { handle(&ctx, &event).await.map_err(anyhow::Error::from) },
        shutdown,
    )
    .await;
}

/// Topics (keyphrases) and entities (projects, systems) of some texts.
pub fn topics_and_entities(
    texts: &[&str],
    people: &[String],
    channel: Option<&str>,
) -> (Vec<String>, Vec<String>) {
    let language = lang::detect_many(texts.iter().copied());
    let mut exclude: Vec<String> = people.to_vec();
    exclude.extend(channel.map(str::to_string));
    let topics: Vec<String> = rank::keyphrases(texts, language, &exclude, TOPICS_PER_MESSAGE)
        .into_iter()
        .map(|k| k.phrase)
        .collect();
    let found = entities::extract(texts, people, channel);
    let mut named: Vec<String> = found.projects;
    named.extend(found.systems);
    named.retain(|e| normalize_key(e).is_some());
    (topics, named)
}

/// Which origin a signal gives an interest (for "why you see this").
fn origin(kind: SignalKind) -> Option<&'static str> {
    match kind {
        SignalKind::Wrote | SignalKind::Replied => Some("wrote"),
        SignalKind::Reacted => Some("reacted"),
        SignalKind::MoreLikeThis => Some("feedback"),
        SignalKind::ManualAdd | SignalKind::Mentioned => Some("followed"),
        SignalKind::LessLikeThis | SignalKind::ManualRemove => None,
    }
}

/// A message a signal's topics were read from.
#[derive(Clone, Copy, Debug)]
pub struct Learned<'a> {
    pub channel_id: &'a str,
    pub ts: &'a str,
    pub text: &'a str,
}

/// Which of `from` each of the signal's topics and entities came from: the messages whose words
/// hold all of the key's words (all of them when none does, e.g. a phrase the extractor
/// rewrote), so that deleting one message forgets exactly what it taught.
pub fn sources_of(signal: &Signal, from: &[Learned<'_>]) -> Vec<profile::InterestSource> {
    let words_of =
        |t: &str| -> Vec<String> { text::words(t).into_iter().map(str::to_lowercase).collect() };
    let texts: Vec<Vec<String>> = from.iter().map(|m| words_of(m.text)).collect();
    let mut out: Vec<profile::InterestSource> = Vec::new();
    for t in signal.topics.iter().chain(&signal.entities) {
        let Some(key) = normalize_key(t) else {
            continue;
        };
        let key_words = words_of(&key);
        let holding: Vec<&Learned<'_>> = from
            .iter()
            .zip(&texts)
            .filter(|(_, words)| key_words.iter().all(|k| words.contains(k)))
            .map(|(m, _)| m)
            .collect();
        let chosen: Vec<&Learned<'_>> = if holding.is_empty() {
            from.iter().collect()
        } else {
            holding
        };
        for m in chosen {
            let source = profile::InterestSource {
                key: key.clone(),
                display: t.trim().to_string(),
                channel_id: m.channel_id.to_string(),
                message_ts: m.ts.to_string(),
            };
            if !out
                .iter()
                .any(|o| o.key == source.key && o.message_ts == source.message_ts)
            {
                out.push(source);
            }
        }
    }
    out
}

/// Applies one signal (once) and remembers where its topics came from: the messages they were
/// read from (`from`, for message deletion) and the kind of signal (for "why you see this").
pub async fn apply(
    ctx: &Context,
    team_id: &str,
    signal: &Signal,
    from: &[Learned<'_>],
) -> Result<bool, BriefingError> {
    let sources = sources_of(signal, from);
    // Before the signal: a retried signal must never leave a key without its sources.
    profile::record_interest_sources(&ctx.db, team_id, &signal.user_id, &sources, signal.at)
        .await?;
    let fresh = profile::apply_signal(&ctx.db, team_id, signal, HalfLife::default()).await?;
    if fresh && let Some(origin) = origin(signal.kind) {
        for t in signal.topics.iter().chain(&signal.entities) {
            if let Some(key) = normalize_key(t) {
                briefings::set_origin(&ctx.db, team_id, &signal.user_id, &key, origin, signal.at)
                    .await?;
            }
        }
    }
    // A message deleted while its signal was being applied: forget it again now.
    for m in from {
        if messages::get(&ctx.db, team_id, m.channel_id, m.ts)
            .await?
            .is_some_and(|stored| stored.removed.is_some())
        {
            purge::delete_message_derivatives(&ctx.db, team_id, m.channel_id, m.ts).await?;
        }
    }
    Ok(fresh)
}

/// Handles one bus event (idempotently).
pub async fn handle(ctx: &Context, event: &BusEvent) -> Result<(), BriefingError> {
    let team = event.team_id.as_str();
    match &event.event {
        DomainEvent::MessagePosted(m) => on_message(ctx, team, event.id, m).await,
        DomainEvent::ReactionAdded {
            channel_id,
            message_ts,
            user_id,
            at,
            ..
        } => on_reaction(ctx, team, event.id, channel_id, message_ts, user_id, *at).await,
        DomainEvent::UserBecameActive { user_id, at } => on_active(ctx, team, user_id, *at).await,
        DomainEvent::UserUpdated(user) => {
            if let Some(agent) = profile::get_agent(&ctx.db, team, &user.user_id).await?
                && (agent.tz != user.tz || agent.tz_offset_secs != user.tz_offset)
                && (user.tz.is_some() || user.tz_offset.is_some())
            {
                profile::set_timezone(
                    &ctx.db,
                    team,
                    &user.user_id,
                    user.tz.as_deref(),
                    user.tz_offset,
                    now(),
                    &ScheduleRules::default(),
                )
                .await?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

async fn names_of(ctx: &Context, team: &str, ids: &[String]) -> Result<Vec<String>, BriefingError> {
    Ok(directory::user_names(&ctx.db, team, ids)
        .await?
        .into_values()
        .collect())
}

async fn on_message(
    ctx: &Context,
    team: &str,
    event_id: i64,
    m: &PostedMessage,
) -> Result<(), BriefingError> {
    let Some(author) = m.user_id.clone() else {
        return Ok(());
    };
    if m.bot_id.is_some() {
        return Ok(());
    }
    let channel = directory::get_channel(&ctx.db, team, &m.channel_id).await?;
    let channel_name = channel.as_ref().and_then(|c| c.channel.name.clone());
    // People named in the text are not topics.
    let mut people_ids: Vec<String> = m.mentions.clone();
    people_ids.push(author.clone());
    let mut names = names_of(ctx, team, &people_ids).await?;

    // A reply is about its thread; its parent's author is who the author answers.
    let mut answered: Option<String> = None;
    let mut texts: Vec<String> = vec![m.text.clone()];
    let mut thread_ts: Vec<String> = vec![m.ts.clone()];
    if m.is_reply()
        && let Some(parent_ts) = &m.thread_ts
    {
        let thread =
            messages::visible_thread(&ctx.db, team, &author, &m.channel_id, parent_ts).await?;
        for t in thread.iter().filter(|t| t.ts != m.ts) {
            texts.push(t.text.clone());
            thread_ts.push(t.ts.clone());
            if let Some(n) = &t.user_name {
                names.push(n.clone());
            }
        }
        answered = thread
            .iter()
            .find(|t| &t.ts == parent_ts)
            .and_then(|p| p.user_id.clone())
            .filter(|p| *p != author);
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    // The messages the topics are read from: this one, and for a reply its thread.
    let read: Vec<Learned<'_>> = texts
        .iter()
        .zip(&thread_ts)
        .map(|(text, ts)| Learned {
            channel_id: &m.channel_id,
            ts,
            text,
        })
        .collect();
    let own = &read[..1];
    let (topics, named) = topics_and_entities(&refs, &names, channel_name.as_deref());
    let own_topics = if m.is_reply() {
        topics_and_entities(&[m.text.as_str()], &names, channel_name.as_deref())
    } else {
        (topics.clone(), named.clone())
    };

    let mut close: Vec<String> = m
        .mentions
        .iter()
        .filter(|u| **u != author)
        .cloned()
        .collect();
    close.extend(answered.clone());
    close.sort();
    close.dedup();
    let (kind, signal_topics, signal_entities) = if m.is_reply() {
        (SignalKind::Replied, topics.clone(), named.clone())
    } else {
        (
            SignalKind::Wrote,
            own_topics.0.clone(),
            own_topics.1.clone(),
        )
    };
    apply(
        ctx,
        team,
        &Signal {
            id: format!("bus:{event_id}:{}", kind.as_str()),
            user_id: author.clone(),
            kind,
            topics: signal_topics,
            entities: signal_entities,
            people: close,
            at: m.posted_at,
        },
        if m.is_reply() { &read } else { own },
    )
    .await?;
    // Being answered brings the two closer; it says nothing about the parent author's interests.
    if let Some(parent_author) = answered {
        apply(
            ctx,
            team,
            &Signal {
                id: format!("bus:{event_id}:answered"),
                user_id: parent_author,
                kind: SignalKind::Replied,
                topics: vec![],
                entities: vec![],
                people: vec![author.clone()],
                at: m.posted_at,
            },
            &[],
        )
        .await?;
    }
    for mentioned in m.mentions.iter().filter(|u| **u != author) {
        apply(
            ctx,
            team,
            &Signal {
                id: format!("bus:{event_id}:mentioned:{mentioned}"),
                user_id: mentioned.clone(),
                kind: SignalKind::Mentioned,
                topics: own_topics.0.clone(),
                entities: own_topics.1.clone(),
                people: vec![author.clone()],
                at: m.posted_at,
            },
            own,
        )
        .await?;
    }
    debug!(event_id, topics = ?topics, "interest signals applied");
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn on_reaction(
    ctx: &Context,
    team: &str,
    event_id: i64,
    channel_id: &str,
    message_ts: &str,
    reactor: &str,
    at: i64,
) -> Result<(), BriefingError> {
    // Only a message the reactor may see says anything about them.
    let Some(message) =
        messages::visible_message(&ctx.db, team, reactor, channel_id, message_ts).await?
    else {
        return Ok(());
    };
    let channel = directory::get_channel(&ctx.db, team, channel_id).await?;
    let channel_name = channel.as_ref().and_then(|c| c.channel.name.clone());
    let names: Vec<String> = message.user_name.iter().cloned().collect();
    let (topics, named) =
        topics_and_entities(&[message.text.as_str()], &names, channel_name.as_deref());
    let author = message.user_id.clone().filter(|a| a != reactor);
    apply(
        ctx,
        team,
        &Signal {
            id: format!("bus:{event_id}:reacted"),
            user_id: reactor.to_string(),
            kind: SignalKind::Reacted,
            topics,
            entities: named,
            people: author.iter().cloned().collect(),
            at,
        },
        &[Learned {
            channel_id,
            ts: message_ts,
            text: &message.text,
        }],
    )
    .await?;
    if let Some(author) = author {
        apply(
            ctx,
            team,
            &Signal {
                id: format!("bus:{event_id}:reacted-to"),
                user_id: author,
                kind: SignalKind::Reacted,
                topics: vec![],
                entities: vec![],
                people: vec![reactor.to_string()],
                at,
            },
            &[],
        )
        .await?;
    }
    Ok(())
}

/// Records the activity (learning the user's usual start) and, when a briefing of the user's
/// today is prepared and not sent, queues its delivery at once: they just showed up.
async fn on_active(ctx: &Context, team: &str, user_id: &str, at: i64) -> Result<(), BriefingError> {
    let rules = ScheduleRules::default();
    let agent = profile::ensure_agent(&ctx.db, team, user_id).await?;
    if agent.tz.is_none()
        && agent.tz_offset_secs.is_none()
        && let Some(user) = directory::get_user(&ctx.db, team, user_id).await?
        && (user.tz.is_some() || user.tz_offset.is_some())
    {
        profile::set_timezone(
            &ctx.db,
            team,
            user_id,
            user.tz.as_deref(),
            user.tz_offset,
            now(),
            &rules,
        )
        .await?;
    }
    profile::record_activity(
        &ctx.db,
        team,
        user_id,
        at,
        ActivitySource::Other,
        now(),
        &rules,
    )
    .await?;
    let today = super::delivery::local_today(ctx, team, user_id).await?;
    let waiting = match briefings::get(&ctx.db, team, user_id, today, "").await? {
        Some(row) => row.status == briefings::Status::Prepared,
        // Prepared, then deleted because a message it read was deleted: delivering prepares it
        // again.
        None => profile::get_agent(&ctx.db, team, user_id)
            .await?
            .is_some_and(|a| {
                a.last_prepared_date == Some(today) && a.last_briefing_date < Some(today)
            }),
    };
    if waiting {
        super::schedule::enqueue_delivery(ctx, team, user_id, today, priority::ACTIVE_USER).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_yields_topics_and_named_things() {
        let (topics, named) = topics_and_entities(
            &["The Kubernetes upgrade of the billing cluster is blocked on the ingress controller"],
            &["Ana Lima".to_string()],
            Some("infra"),
        );
        assert!(!topics.is_empty(), "{topics:?}");
        assert!(
            topics
                .iter()
                .chain(&named)
                .any(|t| t.to_lowercase().contains("kubernetes")
                    || t.to_lowercase().contains("billing")),
            "{topics:?} {named:?}"
        );
    }

    #[test]
    fn feedback_and_removal_leave_no_origin() {
        assert_eq!(origin(SignalKind::Reacted), Some("reacted"));
        assert_eq!(origin(SignalKind::MoreLikeThis), Some("feedback"));
        assert_eq!(origin(SignalKind::LessLikeThis), None);
    }
}
