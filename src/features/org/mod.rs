//! The Org Chart Keeper: who works with whom, in which team, led by whom — kept by event sourcing.
//!
//! - **Write side.** The agent subscribes to the bus (messages posted, edited and deleted,
//!   reactions, channel membership, bulk history loads) and appends what each event says about
//!   people to the interaction log (`db::org`, kinds in `model::org::InteractionKind`). Events are
//!   delivered at least once, so every write is idempotent: a message's interactions are
//!   *replaced* (nothing written when unchanged), a reaction or membership is recorded once.
//! - **Read side.** After each batch the touched teams are [`refresh`]ed: the newest snapshot plus
//!   the tail of the log is folded (`OrgState::apply`), projected (`OrgState::project`) and
//!   written as one row per person (`org_projection`), read by `/chief team` and the App Home. A
//!   snapshot is stored every [`SNAPSHOT_EVERY`] interactions, so a refresh replays a short tail.
//! - **Rebuild.** `chief org rebuild` ([`rebuild`]) replays the whole log and rewrites the
//!   projection; the same log always gives the same projection (tests check incremental = full =
//!   snapshot + tail on both backends).
//! - **Deletion.** A deleted message takes its interactions with it (`db::purge`, which also drops
//!   the snapshots that counted them); the `message_deleted` event then refreshes the projection.
//!   An uninstall purges the log, snapshots and projection with the rest of the team.
//! - **Corrections.** `/chief team set NAME` appends a correction ([`set_team`]): an event like
//!   any other, replayed with the rest.

pub mod cli;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span, warn};

use crate::features::context::Context;
use crate::model::events::{DomainEvent, EventKind, PostedMessage};
use crate::model::org::{
    Interaction, InteractionKind, MessageContext, OrgModel, OrgState, PersonView, asks_by_cue,
    derive_from_message,
};
use crate::platform::bus::{self, Subscription};
use crate::platform::db::org::{self as store, ProjectionRow};
use crate::platform::db::{Db, DbError, directory, messages};

/// The subscriber's name on the bus.
pub const SUBSCRIBER: &str = "org";
/// A snapshot is stored once a refresh has replayed this many interactions past the last one.
pub const SNAPSHOT_EVERY: i64 = 5_000;
const POLL_LIMIT: i64 = 500;
/// Rows read from the log at a time while replaying.
const PAGE: i64 = 50_000;

/// The events the agent reads.
pub const KINDS: [EventKind; 9] = [
    EventKind::MessagePosted,
    EventKind::MessageEdited,
    EventKind::MessageDeleted,
    EventKind::ReactionAdded,
    EventKind::ReactionRemoved,
    EventKind::MemberJoinedChannel,
    EventKind::MemberLeftChannel,
    EventKind::HistoryLoaded,
    EventKind::ChannelDeleted,
];

#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("unreadable org snapshot: {0}")]
    Snapshot(#[from] serde_json::Error),
}

/// How often `chief serve` refreshes a team's projection at most while events keep coming (a
/// projection of a large workspace takes about a second; see BENCHMARKS.md). Deletions refresh at
/// once.
pub const REFRESH_EVERY: Duration = Duration::from_secs(10);

/// Runs until `shutdown`.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    let sub = Subscription::new(SUBSCRIBER, &KINDS, &ctx.instance_id, ctx.db.backend());
    let pacer = Pacer::every(REFRESH_EVERY);
    loop {
        let pause = match run_once_paced(&ctx.db, &sub, &pacer).await {
            Ok(0) => Duration::from_millis(500),
            Ok(_) => Duration::ZERO,
            Err(e) => {
                warn!(error = %e, "org agent failed; will retry");
                Duration::from_secs(5)
            }
        };
        for team in pacer.due() {
            if let Err(e) = refresh(&ctx.db, &team).await {
                warn!(team_id = %team, error = %e, "org refresh failed; will retry");
            } else {
                pacer.refreshed(&team);
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// Which teams' projections are behind their log, and when each was last refreshed: so that a
/// busy workspace is re-projected every so often rather than after every batch.
#[derive(Debug)]
pub struct Pacer {
    every: Duration,
    teams: std::sync::Mutex<std::collections::HashMap<String, (Option<Instant>, bool)>>,
}

impl Pacer {
    /// Refresh after every batch.
    pub fn immediate() -> Pacer {
        Pacer::every(Duration::ZERO)
    }

    pub fn every(every: Duration) -> Pacer {
        Pacer {
            every,
            teams: Default::default(),
        }
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, (Option<Instant>, bool)>> {
        self.teams.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The team's log changed.
    fn touched(&self, team: &str) {
        self.lock()
            .entry(team.to_string())
            .or_insert((None, false))
            .1 = true;
    }

    /// Teams behind their log whose last refresh is at least `every` ago.
    pub fn due(&self) -> Vec<String> {
        let now = Instant::now();
        let mut due: Vec<String> = self
            .lock()
            .iter()
            .filter(|(_, (last, dirty))| {
                *dirty && last.is_none_or(|l| now.duration_since(l) >= self.every)
            })
            .map(|(team, _)| team.clone())
            .collect();
        due.sort();
        due
    }

    fn refreshed(&self, team: &str) {
        self.lock()
            .insert(team.to_string(), (Some(Instant::now()), false));
    }
}

/// Polls one batch, records its interactions, refreshes the touched teams' projections, acks.
/// Returns the number of events handled.
pub async fn run_once(db: &Db, sub: &Subscription) -> Result<usize, OrgError> {
    run_once_paced(db, sub, &Pacer::immediate()).await
}

/// [`run_once`], refreshing a touched team only when `pacer` says it is due, or at once when
/// something was removed (a deleted message, channel or reaction: the projection must not keep
/// what they gave).
pub async fn run_once_paced(db: &Db, sub: &Subscription, pacer: &Pacer) -> Result<usize, OrgError> {
    let polled = bus::poll(db, sub, POLL_LIMIT).await?;
    if polled.events.is_empty() {
        if polled.up_to > 0 {
            bus::ack(db, sub, polled.up_to).await?;
        }
        return Ok(0);
    }
    let mut urgent: BTreeSet<String> = BTreeSet::new();
    let handled = polled.events.len();
    for event in polled.events {
        let span =
            info_span!("org_record", team_id = %event.team_id, kind = event.event.kind().as_str());
        record(db, &event.team_id, &event.event)
            .instrument(span)
            .await?;
        pacer.touched(&event.team_id);
        if matches!(
            event.event,
            DomainEvent::MessageDeleted { .. }
                | DomainEvent::ChannelDeleted { .. }
                | DomainEvent::ReactionRemoved { .. }
        ) {
            urgent.insert(event.team_id);
        }
    }
    let mut teams: BTreeSet<String> = pacer.due().into_iter().collect();
    teams.extend(urgent);
    for team in teams {
        refresh(db, &team)
            .instrument(info_span!("org_refresh", team_id = %team))
            .await?;
        pacer.refreshed(&team);
    }
    bus::ack(db, sub, polled.up_to).await?;
    Ok(handled)
}

/// Whether a message counts: a person's, in a channel (not a direct message), with an author.
fn counts(m: &PostedMessage) -> bool {
    m.bot_id.is_none() && m.user_id.is_some() && !m.channel_id.starts_with('D')
}

/// Whether a message asks something of someone: its cues, or the extractive statements engine
/// reading a request in it. (The hook where request propositions will plug in.)
pub fn asks(m: &PostedMessage) -> bool {
    if asks_by_cue(&m.text) {
        return true;
    }
    let lang = crate::ai::extractive::lang::detect(&m.text)
        .unwrap_or(crate::ai::extractive::lang::Lang::En);
    let speaker = crate::ai::extractive::statements::Speaker {
        author: "someone",
        posted_at: m.posted_at,
        utc_offset_secs: 0,
        project: None,
        lang,
        known_people: &[],
        addressee: None,
    };
    crate::ai::extractive::statements::statements(&m.text, &speaker)
        .iter()
        .any(|s| s.modality == crate::model::proposition::Modality::Request)
}

/// The interactions of one message, its thread read from the store.
async fn interactions_of(
    db: &Db,
    team_id: &str,
    m: &PostedMessage,
) -> Result<Vec<Interaction>, OrgError> {
    let (parent, earlier) = match m.thread_ts.as_deref().filter(|_| m.is_reply()) {
        Some(thread) => store::thread_authors(db, team_id, &m.channel_id, thread, &m.ts).await?,
        None => (None, Vec::new()),
    };
    let asks = !m.mentions.is_empty() || parent.is_some();
    Ok(derive_from_message(
        m,
        &MessageContext {
            parent_author: parent.as_deref(),
            earlier_participants: &earlier,
            asks: asks && self::asks(m),
        },
    ))
}

/// Appends what one event says to the log (idempotent).
pub async fn record(db: &Db, team_id: &str, event: &DomainEvent) -> Result<(), OrgError> {
    match event {
        DomainEvent::MessagePosted(m) | DomainEvent::MessageEdited(m) if counts(m) => {
            let items = interactions_of(db, team_id, m).await?;
            store::replace_for_message(db, team_id, &m.channel_id, &m.ts, &items).await?;
        }
        DomainEvent::HistoryLoaded {
            channel_id,
            oldest,
            latest,
            ..
        } => {
            sync_members(db, team_id, channel_id).await?;
            for m in store::channel_messages(db, team_id, channel_id, *oldest, *latest).await? {
                if counts(&m) {
                    let items = interactions_of(db, team_id, &m).await?;
                    store::replace_for_message(db, team_id, channel_id, &m.ts, &items).await?;
                }
            }
        }
        DomainEvent::ReactionAdded {
            channel_id,
            message_ts,
            user_id,
            at,
            ..
        } => {
            let Some(message) = messages::get(db, team_id, channel_id, message_ts).await? else {
                return Ok(());
            };
            if message.removed.is_some() || channel_id.starts_with('D') {
                return Ok(());
            }
            let Some(author) = message.user_id.filter(|a| a != user_id) else {
                return Ok(());
            };
            let reaction = Interaction {
                kind: InteractionKind::Reaction,
                actor: user_id.clone(),
                target: author,
                channel_id: Some(channel_id.clone()),
                message_ts: Some(message_ts.clone()),
                at: *at,
                weight: InteractionKind::Reaction.weight(),
            };
            store::add_reaction(db, team_id, &reaction).await?;
        }
        DomainEvent::ReactionRemoved {
            channel_id,
            message_ts,
            user_id,
            ..
        } => {
            // A person with another emoji left on the message still reacted to it.
            let still = store::has_reaction(db, team_id, channel_id, message_ts, user_id).await?;
            if !still {
                store::remove_reaction(db, team_id, channel_id, message_ts, user_id).await?;
            }
        }
        DomainEvent::MemberJoinedChannel {
            channel_id,
            user_id,
        }
        | DomainEvent::MemberLeftChannel {
            channel_id,
            user_id,
        } => {
            let joined = matches!(event, DomainEvent::MemberJoinedChannel { .. });
            let logged = store::logged_members(db, team_id, channel_id).await?;
            if logged.get(user_id).copied().unwrap_or(false) != joined
                && !channel_id.starts_with('D')
            {
                store::append(
                    db,
                    team_id,
                    &[Interaction::membership(
                        channel_id,
                        user_id,
                        joined,
                        crate::platform::db::now(),
                    )],
                )
                .await?;
            }
        }
        // The purge already removed the rows; the refresh that follows recomputes.
        DomainEvent::MessageDeleted { .. } | DomainEvent::ChannelDeleted { .. } => {}
        _ => {}
    }
    Ok(())
}

/// Makes the log's membership of a channel match the directory's (after a bulk load).
async fn sync_members(db: &Db, team_id: &str, channel_id: &str) -> Result<(), OrgError> {
    if let Some(row) = directory::get_channel(db, team_id, channel_id).await?
        && (row.channel.is_im || row.channel.is_mpim)
    {
        return Ok(());
    }
    let now = crate::platform::db::now();
    let current: BTreeSet<String> = directory::members(db, team_id, channel_id)
        .await?
        .into_iter()
        .collect();
    let logged = store::logged_members(db, team_id, channel_id).await?;
    let mut changes: Vec<Interaction> = current
        .iter()
        .filter(|u| !logged.get(*u).copied().unwrap_or(false))
        .map(|u| Interaction::membership(channel_id, u, true, now))
        .collect();
    changes.extend(
        logged
            .iter()
            .filter(|(u, member)| **member && !current.contains(*u))
            .map(|(u, _)| Interaction::membership(channel_id, u, false, now)),
    );
    store::append(db, team_id, &changes).await?;
    Ok(())
}

/// Where a replay starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replay {
    /// From the newest snapshot, then the tail.
    FromSnapshot,
    /// From the first interaction of the log.
    Full,
}

/// The state folded from the log, and the last seq folded.
pub async fn fold(db: &Db, team_id: &str, from: Replay) -> Result<(OrgState, i64, i64), OrgError> {
    let (mut state, mut seq) = match from {
        Replay::FromSnapshot => match store::latest_snapshot(db, team_id).await? {
            Some((seq, json)) => (OrgState::from_json(&json)?, seq),
            None => (OrgState::default(), 0),
        },
        Replay::Full => (OrgState::default(), 0),
    };
    let mut replayed = 0;
    loop {
        let page = store::load_after(db, team_id, seq, PAGE).await?;
        for (s, i) in &page {
            state.apply(i);
            seq = *s;
        }
        replayed += page.len() as i64;
        if (page.len() as i64) < PAGE {
            break;
        }
    }
    Ok((state, seq, replayed))
}

/// The projection of a folded state (channel names from the directory).
pub async fn project(db: &Db, team_id: &str, state: &OrgState) -> Result<OrgModel, OrgError> {
    let names: BTreeMap<String, String> = directory::channel_names(db, team_id, &state.channels())
        .await?
        .into_iter()
        .collect();
    Ok(state.project(&names))
}

/// The projection's rows.
pub fn rows(model: &OrgModel, up_to_seq: i64) -> Vec<ProjectionRow> {
    model
        .people
        .iter()
        .map(|(user, view)| ProjectionRow {
            user_id: user.clone(),
            team_name: view.team.clone().unwrap_or_default(),
            is_lead: view.is_lead,
            evidence: serde_json::to_string(view).unwrap_or_default(),
            up_to_seq,
        })
        .collect()
}

/// Brings the team's projection up to date: newest snapshot + tail, projected and written; a new
/// snapshot when the tail was long.
pub async fn refresh(db: &Db, team_id: &str) -> Result<OrgModel, OrgError> {
    let (state, seq, replayed) = fold(db, team_id, Replay::FromSnapshot).await?;
    if replayed >= SNAPSHOT_EVERY {
        store::save_snapshot(db, team_id, seq, state.applied(), &state.to_json()).await?;
    }
    let model = project(db, team_id, &state).await?;
    store::write_projection(db, team_id, &rows(&model, seq)).await?;
    Ok(model)
}

/// Replays the whole log of the team, stores a snapshot at its end and rewrites the projection.
pub async fn rebuild(db: &Db, team_id: &str) -> Result<(OrgModel, i64), OrgError> {
    let (state, seq, replayed) = fold(db, team_id, Replay::Full).await?;
    if replayed > 0 {
        store::save_snapshot(db, team_id, seq, state.applied(), &state.to_json()).await?;
    }
    let model = project(db, team_id, &state).await?;
    store::write_projection(db, team_id, &rows(&model, seq)).await?;
    Ok((model, replayed))
}

/// The person says which team they are on (`""`: back to what chief infers). An event in the
/// log like any other; the projection is refreshed at once.
pub async fn set_team(
    db: &Db,
    team_id: &str,
    user_id: &str,
    team: &str,
) -> Result<OrgModel, OrgError> {
    store::append(
        db,
        team_id,
        &[Interaction::correction(
            user_id,
            team,
            crate::platform::db::now(),
        )],
    )
    .await?;
    refresh(db, team_id).await
}

/// What `/chief team` and the App Home show about a person: their row and their team's.
#[derive(Clone, Debug)]
pub struct TeamView {
    pub user: PersonView,
    pub team_name: Option<String>,
    pub members: Vec<String>,
    pub leads: Vec<String>,
}

/// The stored projection for `user_id` (None: chief has no interactions of theirs yet).
pub async fn team_view(
    db: &Db,
    team_id: &str,
    user_id: &str,
) -> Result<Option<TeamView>, OrgError> {
    let Some((own, mates)) = store::team_rows_of(db, team_id, user_id).await? else {
        return Ok(None);
    };
    let user: PersonView = serde_json::from_str(&own.evidence)?;
    Ok(Some(TeamView {
        team_name: user.team.clone(),
        members: mates.iter().map(|r| r.user_id.clone()).collect(),
        leads: mates
            .iter()
            .filter(|r| r.is_lead)
            .map(|r| r.user_id.clone())
            .collect(),
        user,
    }))
}

/// The team view as text with names (mrkdwn-free, one line per fact): for `/chief team` and the
/// App Home. `names` maps user ids to names.
pub fn describe(view: &TeamView, names: &BTreeMap<String, String>) -> Vec<String> {
    let name = |u: &String| names.get(u).cloned().unwrap_or_else(|| u.clone());
    let mut lines = Vec::new();
    match &view.team_name {
        Some(team) => {
            let how = if view.user.corrected {
                "you said so"
            } else {
                "inferred from who you work with"
            };
            lines.push(format!("Your team: {team} ({how})."));
            let others: Vec<String> = view.members.iter().map(name).collect();
            lines.push(format!("Members: {}.", others.join(", ")));
            if !view.leads.is_empty() {
                let leads: Vec<String> = view.leads.iter().map(name).collect();
                lines.push(format!(
                    "Likely lead: {} (assigns work in the team and is asked for approvals).",
                    leads.join(", ")
                ));
            }
        }
        None => lines.push("chief has not placed you in a team yet.".into()),
    }
    if !view.user.collaborators.is_empty() {
        let near: Vec<String> = view
            .user
            .collaborators
            .iter()
            .map(|(u, w)| format!("{} ({w})", name(u)))
            .collect();
        lines.push(format!(
            "Closest collaborators (interaction weight): {}.",
            near.join(", ")
        ));
    }
    lines
}

/// [`describe`] for one person, names from the directory. `None`: nothing known about them yet.
pub async fn team_lines(
    db: &Db,
    team_id: &str,
    user_id: &str,
) -> Result<Option<Vec<String>>, OrgError> {
    let Some(view) = team_view(db, team_id, user_id).await? else {
        return Ok(None);
    };
    let mut ids: Vec<String> = view.members.clone();
    ids.extend(view.user.collaborators.iter().map(|(u, _)| u.clone()));
    ids.sort();
    ids.dedup();
    let names: BTreeMap<String, String> = directory::user_names(db, team_id, &ids)
        .await?
        .into_iter()
        .collect();
    Ok(Some(describe(&view, &names)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_team_is_refreshed_every_so_often() {
        let pacer = Pacer::every(Duration::from_secs(3_600));
        assert!(pacer.due().is_empty(), "nothing changed");
        pacer.touched("T1");
        assert_eq!(pacer.due(), ["T1"], "the first change refreshes at once");
        pacer.refreshed("T1");
        pacer.touched("T1");
        assert!(pacer.due().is_empty(), "the next waits for the interval");

        let immediate = Pacer::immediate();
        immediate.touched("T1");
        immediate.refreshed("T1");
        assert!(immediate.due().is_empty(), "up to date");
        immediate.touched("T1");
        assert_eq!(immediate.due(), ["T1"]);
    }
}
