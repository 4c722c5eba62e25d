//! The org chart, event-sourced: who works with whom, in which team, and who leads it — inferred
//! from an append-only log of interactions and nothing else.
//!
//! - An [`Interaction`] is one fact about two people (a reply, a mention, a reaction, a request…)
//!   or one person and a channel (a message posted there, membership), or a correction a person
//!   made (`/chief team set`). [`derive_from_message`] turns a message into its interactions.
//! - [`OrgState`] folds interactions in log order ([`OrgState::apply`]): sums of integer weights,
//!   the latest membership and correction. Sums of integers do not depend on how the log is cut,
//!   so a snapshot plus the tail gives exactly the state of a full replay; removals (a deleted
//!   message) are handled by replaying again, never by subtracting.
//! - [`OrgState::project`] is the read model ([`OrgModel`]): teams by community detection
//!   (Louvain modularity over the collaboration graph, people visited in id order), named after the
//!   channel the team writes in most; leads — who assigns work in the team and is asked for
//!   approval; each person's closest collaborators; the evidence for each. Deterministic: the same
//!   log gives a byte-identical projection.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::events::PostedMessage;

/// What one interaction says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    /// `actor` posted in `channel` (target empty).
    MessageInChannel,
    /// `actor` replied in a thread started by `target`.
    Reply,
    /// `actor` @-mentioned `target`.
    Mention,
    /// `actor` reacted to a message by `target`.
    Reaction,
    /// `actor` replied in a thread `target` had already written in.
    ThreadParticipation,
    /// `actor` asked `target` for something.
    Request,
    /// `actor` gave `target` work ("@x can you take …").
    Assignment,
    /// `actor` asked `target` to approve or sign off.
    Approval,
    /// `actor` is (weight 1) or is no longer (weight 0) a member of `channel`.
    Membership,
    /// `actor` says they are on team `target` ("" withdraws the correction).
    Correction,
}

impl InteractionKind {
    pub const ALL: [InteractionKind; 10] = [
        InteractionKind::MessageInChannel,
        InteractionKind::Reply,
        InteractionKind::Mention,
        InteractionKind::Reaction,
        InteractionKind::ThreadParticipation,
        InteractionKind::Request,
        InteractionKind::Assignment,
        InteractionKind::Approval,
        InteractionKind::Membership,
        InteractionKind::Correction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InteractionKind::MessageInChannel => "message_in_channel",
            InteractionKind::Reply => "reply",
            InteractionKind::Mention => "mention",
            InteractionKind::Reaction => "reaction",
            InteractionKind::ThreadParticipation => "thread_participation",
            InteractionKind::Request => "request",
            InteractionKind::Assignment => "assignment",
            InteractionKind::Approval => "approval",
            InteractionKind::Membership => "membership",
            InteractionKind::Correction => "correction",
        }
    }

    pub fn parse(s: &str) -> Option<InteractionKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether it links two people (an edge of the collaboration graph).
    pub fn is_pairwise(self) -> bool {
        matches!(
            self,
            InteractionKind::Reply
                | InteractionKind::Mention
                | InteractionKind::Reaction
                | InteractionKind::ThreadParticipation
                | InteractionKind::Request
                | InteractionKind::Assignment
                | InteractionKind::Approval
        )
    }

    /// The default weight: direct asks count most, a reaction least.
    pub fn weight(self) -> i64 {
        match self {
            InteractionKind::Reply | InteractionKind::Request => 3,
            InteractionKind::Assignment | InteractionKind::Approval => 4,
            InteractionKind::Mention => 2,
            _ => 1,
        }
    }
}

/// One entry of the interaction log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    pub kind: InteractionKind,
    pub actor: String,
    /// The other person; the team name of a correction; empty for channel-only kinds.
    pub target: String,
    pub channel_id: Option<String>,
    /// The message it was derived from (it goes when the message does).
    pub message_ts: Option<String>,
    /// Epoch seconds.
    pub at: i64,
    pub weight: i64,
}

impl Interaction {
    fn of(kind: InteractionKind, actor: &str, target: &str, m: &PostedMessage) -> Interaction {
        Interaction {
            kind,
            actor: actor.to_string(),
            target: target.to_string(),
            channel_id: Some(m.channel_id.clone()),
            message_ts: Some(m.ts.clone()),
            at: m.posted_at,
            weight: kind.weight(),
        }
    }

    /// `user` joined (or left) `channel`.
    pub fn membership(channel_id: &str, user_id: &str, member: bool, at: i64) -> Interaction {
        Interaction {
            kind: InteractionKind::Membership,
            actor: user_id.to_string(),
            target: String::new(),
            channel_id: Some(channel_id.to_string()),
            message_ts: None,
            at,
            weight: i64::from(member),
        }
    }

    /// `user` says they are on `team` (empty: back to what chief infers).
    pub fn correction(user_id: &str, team: &str, at: i64) -> Interaction {
        Interaction {
            kind: InteractionKind::Correction,
            actor: user_id.to_string(),
            target: team.trim().to_string(),
            channel_id: None,
            message_ts: None,
            at,
            weight: 1,
        }
    }

    /// `user` reacted to a message by `author`.
    pub fn reaction(m: &PostedMessage, user_id: &str, author: &str, at: i64) -> Interaction {
        Interaction {
            at,
            ..Interaction::of(InteractionKind::Reaction, user_id, author, m)
        }
    }
}

/// What kind of ask a request is, from its words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    Request,
    Assignment,
    Approval,
}

/// Classifies a message already known to ask something: approval (approve, sign off, review…),
/// assignment (take, own, pick up…), else a plain request.
pub fn classify_ask(text: &str) -> Ask {
    let lower = text.to_lowercase();
    const APPROVAL: &[&str] = &[
        "approve",
        "approval",
        "sign off",
        "sign-off",
        "signoff",
        "green light",
        "greenlight",
        "ok to ship",
        "okay to ship",
        "go/no-go",
    ];
    const ASSIGNMENT: &[&str] = &[
        "take ",
        "take over",
        "own ",
        "pick up",
        "pick this up",
        "handle",
        "assign",
        "work on",
        "look into",
        "drive ",
        "follow up on",
        "investigate",
    ];
    if APPROVAL.iter().any(|w| lower.contains(w)) {
        Ask::Approval
    } else if ASSIGNMENT.iter().any(|w| lower.contains(w)) {
        Ask::Assignment
    } else {
        Ask::Request
    }
}

/// Whether a message reads as a request to someone, by its cues ("can you", "please"…): the
/// fallback when no better detector (the extractive statements engine) says so.
pub fn asks_by_cue(text: &str) -> bool {
    let lower = text.to_lowercase();
    const CUES: &[&str] = &[
        "can you",
        "could you",
        "would you",
        "can u",
        "please",
        "pls",
        "mind taking",
        "i need you to",
        "assigning",
    ];
    CUES.iter().any(|c| lower.contains(c))
}

/// Where a message sits, as far as the log needs to know.
#[derive(Clone, Debug, Default)]
pub struct MessageContext<'a> {
    /// The thread parent's author, for a reply.
    pub parent_author: Option<&'a str>,
    /// Others who wrote in the thread before this reply (distinct, parent's author excluded).
    pub earlier_participants: &'a [String],
    /// The message asks something of its addressees (see [`asks_by_cue`]).
    pub asks: bool,
}

/// Most thread participants one reply links to (a huge thread is not a team).
pub const MAX_THREAD_LINKS: usize = 20;

/// The interactions one message makes, reactions carried by the message included, in a fixed
/// order. Messages without an author make none.
pub fn derive_from_message(m: &PostedMessage, cx: &MessageContext<'_>) -> Vec<Interaction> {
    let Some(author) = m.user_id.as_deref().filter(|a| !a.is_empty()) else {
        return Vec::new();
    };
    let mut out = vec![Interaction::of(
        InteractionKind::MessageInChannel,
        author,
        "",
        m,
    )];
    let parent = cx.parent_author.filter(|p| m.is_reply() && *p != author);
    if let Some(p) = parent {
        out.push(Interaction::of(InteractionKind::Reply, author, p, m));
    }
    let mut linked: BTreeSet<&str> = parent.into_iter().collect();
    for other in cx.earlier_participants.iter().take(MAX_THREAD_LINKS) {
        if other != author && linked.insert(other.as_str()) {
            out.push(Interaction::of(
                InteractionKind::ThreadParticipation,
                author,
                other,
                m,
            ));
        }
    }
    let mut mentioned: Vec<&str> = Vec::new();
    for target in &m.mentions {
        if target != author && !mentioned.contains(&target.as_str()) {
            mentioned.push(target);
            out.push(Interaction::of(InteractionKind::Mention, author, target, m));
        }
    }
    if cx.asks {
        let addressees: Vec<&str> = if mentioned.is_empty() {
            parent.into_iter().collect()
        } else {
            mentioned
        };
        let kind = match classify_ask(&m.text) {
            Ask::Request => InteractionKind::Request,
            Ask::Assignment => InteractionKind::Assignment,
            Ask::Approval => InteractionKind::Approval,
        };
        for target in addressees {
            out.push(Interaction::of(kind, author, target, m));
        }
    }
    for (_, users) in &m.reactions {
        for user in users {
            if user != author {
                out.push(Interaction::reaction(m, user, author, m.posted_at));
            }
        }
    }
    out
}

/// The folded log: everything the projection needs, as sums and latest values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrgState {
    /// Collaboration weight of each pair of people (ids ordered).
    pairs: BTreeMap<(String, String), i64>,
    /// Directed asks: (kind, from, to) → weight.
    asks: BTreeMap<(InteractionKind, String, String), i64>,
    /// Messages posted: (channel, person) → count.
    posts: BTreeMap<(String, String), i64>,
    /// Current members of each channel.
    members: BTreeMap<String, BTreeSet<String>>,
    /// Each person's latest correction.
    corrections: BTreeMap<String, String>,
    /// Interactions applied.
    applied: i64,
}

/// [`OrgState`] as stored in a snapshot (maps with compound keys as rows).
#[derive(Serialize, Deserialize)]
struct StateRows {
    pairs: Vec<(String, String, i64)>,
    asks: Vec<(InteractionKind, String, String, i64)>,
    posts: Vec<(String, String, i64)>,
    members: Vec<(String, Vec<String>)>,
    corrections: Vec<(String, String)>,
    applied: i64,
}

impl OrgState {
    /// Folds one interaction in.
    pub fn apply(&mut self, i: &Interaction) {
        self.applied += 1;
        if i.actor.is_empty() {
            return;
        }
        match i.kind {
            InteractionKind::MessageInChannel => {
                if let Some(c) = &i.channel_id {
                    *self.posts.entry((c.clone(), i.actor.clone())).or_default() += i.weight;
                }
            }
            InteractionKind::Membership => {
                if let Some(c) = &i.channel_id {
                    let members = self.members.entry(c.clone()).or_default();
                    if i.weight > 0 {
                        members.insert(i.actor.clone());
                    } else {
                        members.remove(&i.actor);
                    }
                }
            }
            InteractionKind::Correction => {
                if i.target.is_empty() {
                    self.corrections.remove(&i.actor);
                } else {
                    self.corrections.insert(i.actor.clone(), i.target.clone());
                }
            }
            kind => {
                if i.target.is_empty() || i.target == i.actor {
                    return;
                }
                let key = if i.actor < i.target {
                    (i.actor.clone(), i.target.clone())
                } else {
                    (i.target.clone(), i.actor.clone())
                };
                *self.pairs.entry(key).or_default() += i.weight;
                if matches!(
                    kind,
                    InteractionKind::Request
                        | InteractionKind::Assignment
                        | InteractionKind::Approval
                ) {
                    *self
                        .asks
                        .entry((kind, i.actor.clone(), i.target.clone()))
                        .or_default() += i.weight;
                }
            }
        }
    }

    /// Interactions folded in so far.
    pub fn applied(&self) -> i64 {
        self.applied
    }

    /// Channels people posted in (to name teams after).
    pub fn channels(&self) -> Vec<String> {
        let set: BTreeSet<&String> = self.posts.keys().map(|(c, _)| c).collect();
        set.into_iter().cloned().collect()
    }

    /// The snapshot form (JSON).
    pub fn to_json(&self) -> String {
        let rows = StateRows {
            pairs: self
                .pairs
                .iter()
                .map(|((a, b), w)| (a.clone(), b.clone(), *w))
                .collect(),
            asks: self
                .asks
                .iter()
                .map(|((k, a, b), w)| (*k, a.clone(), b.clone(), *w))
                .collect(),
            posts: self
                .posts
                .iter()
                .map(|((c, u), n)| (c.clone(), u.clone(), *n))
                .collect(),
            members: self
                .members
                .iter()
                .map(|(c, m)| (c.clone(), m.iter().cloned().collect()))
                .collect(),
            corrections: self
                .corrections
                .iter()
                .map(|(u, t)| (u.clone(), t.clone()))
                .collect(),
            applied: self.applied,
        };
        serde_json::to_string(&rows).unwrap_or_default()
    }

    pub fn from_json(json: &str) -> Result<OrgState, serde_json::Error> {
        let rows: StateRows = serde_json::from_str(json)?;
        Ok(OrgState {
            pairs: rows
                .pairs
                .into_iter()
                .map(|(a, b, w)| ((a, b), w))
                .collect(),
            asks: rows
                .asks
                .into_iter()
                .map(|(k, a, b, w)| ((k, a, b), w))
                .collect(),
            posts: rows
                .posts
                .into_iter()
                .map(|(c, u, n)| ((c, u), n))
                .collect(),
            members: rows
                .members
                .into_iter()
                .map(|(c, m)| (c, m.into_iter().collect()))
                .collect(),
            corrections: rows.corrections.into_iter().collect(),
            applied: rows.applied,
        })
    }

    /// The read model. `channel_names` names channels (id → name) for team names and evidence.
    pub fn project(&self, channel_names: &BTreeMap<String, String>) -> OrgModel {
        project(self, channel_names)
    }
}

/// Channels larger than this say nothing about teams through membership alone.
const MAX_TEAM_CHANNEL: usize = 60;
/// Most collaborators kept per person.
const TOP_COLLABORATORS: usize = 5;
/// Most leads per team.
const MAX_LEADS: usize = 2;
/// Least lead score to be called a lead.
const MIN_LEAD_SCORE: i64 = 8;

/// A team as inferred (or corrected).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub name: String,
    /// The channel it is named after, if any.
    pub channel_id: Option<String>,
    /// Sorted ids.
    pub members: Vec<String>,
    /// Strongest first.
    pub leads: Vec<String>,
}

/// What chief holds about one person, with the evidence.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonView {
    pub team: Option<String>,
    pub is_lead: bool,
    /// The person set their team themselves.
    pub corrected: bool,
    /// (person, weight), closest first.
    pub collaborators: Vec<(String, i64)>,
    /// Weight of their interactions with their own team.
    pub team_weight: i64,
    /// Work they gave to others (assignments and requests), and approvals they were asked for.
    pub assigned: i64,
    pub approvals_asked: i64,
    /// Their team's leads.
    pub leads: Vec<String>,
}

/// The projection: teams and people.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgModel {
    /// Sorted by name; only teams of two or more people (or corrected ones).
    pub teams: Vec<Team>,
    pub people: BTreeMap<String, PersonView>,
}

impl OrgModel {
    /// The team `user` is on.
    pub fn team_of(&self, user_id: &str) -> Option<&Team> {
        let name = self.people.get(user_id)?.team.as_deref()?;
        self.teams.iter().find(|t| t.name == name)
    }
}

fn project(state: &OrgState, channel_names: &BTreeMap<String, String>) -> OrgModel {
    // People: everyone with an edge or a correction, in id order.
    let mut ids: BTreeSet<&str> = BTreeSet::new();
    for (a, b) in state.pairs.keys() {
        ids.insert(a);
        ids.insert(b);
    }
    for u in state.corrections.keys() {
        ids.insert(u);
    }
    let ids: Vec<&str> = ids.into_iter().collect();
    let index: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, u)| (*u, i)).collect();

    // The collaboration graph: interactions, plus co-membership of small channels.
    let mut weights: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    for ((a, b), w) in &state.pairs {
        if let (Some(&i), Some(&j)) = (index.get(a.as_str()), index.get(b.as_str())) {
            *weights.entry((i.min(j), i.max(j))).or_default() += *w as f64;
        }
    }
    for members in state.members.values() {
        let known: Vec<usize> = members
            .iter()
            .filter_map(|m| index.get(m.as_str()).copied())
            .collect();
        if known.len() < 2 || members.len() > MAX_TEAM_CHANNEL {
            continue;
        }
        let w = 2.0 / (members.len() - 1) as f64;
        for (x, &i) in known.iter().enumerate() {
            for &j in &known[x + 1..] {
                *weights.entry((i.min(j), i.max(j))).or_default() += w;
            }
        }
    }
    let edges: Vec<(usize, usize, f64)> = weights.iter().map(|(&(i, j), &w)| (i, j, w)).collect();
    let community = louvain(ids.len(), &edges);

    // Groups, in order of their smallest member id.
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, c) in community.iter().enumerate() {
        groups.entry(*c).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = groups.into_values().collect();
    groups.sort_by_key(|g| g[0]);

    // Names: the channel the group writes in most, weighted by how much of it is theirs.
    let mut posts_by_channel: BTreeMap<&str, Vec<(&str, i64)>> = BTreeMap::new();
    for ((c, u), n) in &state.posts {
        posts_by_channel.entry(c).or_default().push((u, *n));
    }
    let mut teams: Vec<(String, Option<String>, Vec<String>)> = Vec::new();
    let mut taken: BTreeSet<String> = BTreeSet::new();
    // Bigger groups choose first.
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|a, b| groups[*b].len().cmp(&groups[*a].len()).then(a.cmp(b)));
    let mut named: Vec<Option<(String, Option<String>)>> = vec![None; groups.len()];
    for g in order {
        let members: BTreeSet<&str> = groups[g].iter().map(|i| ids[*i]).collect();
        if members.len() < 2 {
            continue;
        }
        let mut best: Option<(f64, &str)> = None;
        for (c, posters) in &posts_by_channel {
            let total: i64 = posters.iter().map(|(_, n)| n).sum();
            let ours: i64 = posters
                .iter()
                .filter(|(u, _)| members.contains(u))
                .map(|(_, n)| n)
                .sum();
            if ours == 0 || total == 0 {
                continue;
            }
            let score = ours as f64 * ours as f64 / total as f64;
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, c));
            }
        }
        let (base, channel) = match best {
            Some((_, c)) => {
                let name = channel_names.get(c).map_or(c, String::as_str);
                (team_name_of_channel(name), Some(c.to_string()))
            }
            None => (format!("team-{}", ids[groups[g][0]].to_lowercase()), None),
        };
        let mut name = base.clone();
        let mut k = 2;
        while !taken.insert(name.clone()) {
            name = format!("{base}-{k}");
            k += 1;
        }
        named[g] = Some((name, channel));
    }
    let mut team_of: BTreeMap<String, String> = BTreeMap::new();
    for (g, group) in groups.iter().enumerate() {
        if let Some((name, channel)) = &named[g] {
            let members: Vec<String> = group.iter().map(|i| ids[*i].to_string()).collect();
            for m in &members {
                team_of.insert(m.clone(), name.clone());
            }
            teams.push((name.clone(), channel.clone(), members));
        }
    }
    // Corrections win over inference.
    for (user, name) in &state.corrections {
        for t in teams.iter_mut() {
            t.2.retain(|m| m != user);
        }
        match teams.iter_mut().find(|t| t.0 == *name) {
            Some(t) => t.2.push(user.clone()),
            None => teams.push((name.clone(), None, vec![user.clone()])),
        }
        team_of.insert(user.clone(), name.clone());
    }
    teams.retain(|t| !t.2.is_empty());

    // Asks given and received, per person.
    let mut given: BTreeMap<&str, BTreeMap<&str, i64>> = BTreeMap::new();
    let mut approvals: BTreeMap<&str, BTreeMap<&str, i64>> = BTreeMap::new();
    for ((kind, from, to), w) in &state.asks {
        match kind {
            InteractionKind::Approval => {
                *approvals
                    .entry(to.as_str())
                    .or_default()
                    .entry(from.as_str())
                    .or_default() += w;
            }
            _ => {
                let factor = if *kind == InteractionKind::Assignment {
                    2
                } else {
                    1
                };
                *given
                    .entry(from.as_str())
                    .or_default()
                    .entry(to.as_str())
                    .or_default() += w * factor;
            }
        }
    }

    let mut model = OrgModel::default();
    for (name, channel, mut members) in teams {
        members.sort();
        let set: BTreeSet<&str> = members.iter().map(String::as_str).collect();
        let within = |m: &BTreeMap<&str, i64>| -> i64 {
            m.iter()
                .filter(|(u, _)| set.contains(*u))
                .map(|(_, w)| *w)
                .sum()
        };
        let mut scored: Vec<(i64, &String)> = members
            .iter()
            .map(|m| {
                let g = given.get(m.as_str()).map_or(0, within);
                let a = approvals.get(m.as_str()).map_or(0, within);
                (g + 2 * a, m)
            })
            .filter(|(s, _)| *s >= MIN_LEAD_SCORE)
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        let top = scored.first().map_or(0, |s| s.0);
        let leads: Vec<String> = scored
            .iter()
            .filter(|(s, _)| *s * 2 >= top)
            .take(MAX_LEADS)
            .map(|(_, m)| (*m).clone())
            .collect();
        model.teams.push(Team {
            name,
            channel_id: channel,
            members,
            leads,
        });
    }
    model.teams.sort_by(|a, b| a.name.cmp(&b.name));

    // People: collaborators and evidence.
    let mut neighbours: BTreeMap<&str, Vec<(&str, i64)>> = BTreeMap::new();
    for ((a, b), w) in &state.pairs {
        neighbours.entry(a).or_default().push((b, *w));
        neighbours.entry(b).or_default().push((a, *w));
    }
    for id in &ids {
        let team = model
            .teams
            .iter()
            .find(|t| team_of.get(*id).is_some_and(|n| *n == t.name));
        let mut near = neighbours.get(id).cloned().unwrap_or_default();
        near.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
        let team_weight = team.map_or(0, |t| {
            near.iter()
                .filter(|(u, _)| t.members.binary_search(&u.to_string()).is_ok())
                .map(|(_, w)| w)
                .sum()
        });
        let view = PersonView {
            team: team.map(|t| t.name.clone()),
            is_lead: team.is_some_and(|t| t.leads.iter().any(|l| l == id)),
            corrected: state.corrections.contains_key(*id),
            collaborators: near
                .iter()
                .take(TOP_COLLABORATORS)
                .map(|(u, w)| (u.to_string(), *w))
                .collect(),
            team_weight,
            assigned: given.get(id).map_or(0, |m| m.values().sum()),
            approvals_asked: approvals.get(id).map_or(0, |m| m.values().sum()),
            leads: team.map(|t| t.leads.clone()).unwrap_or_default(),
        };
        model.people.insert(id.to_string(), view);
    }
    model
}

/// `team-payments` → `payments`; other names stay.
fn team_name_of_channel(name: &str) -> String {
    let trimmed = name.trim_start_matches('#');
    trimmed
        .strip_prefix("team-")
        .filter(|s| !s.is_empty())
        .unwrap_or(trimmed)
        .to_string()
}

/// Louvain community detection (modularity, resolution 1) on an undirected weighted graph of `n`
/// nodes: returns each node's community (numbered from 0 in order of first node). Nodes are
/// visited in index order and ties go to the lowest community, so it is deterministic.
pub fn louvain(n: usize, edges: &[(usize, usize, f64)]) -> Vec<usize> {
    let mut assignment: Vec<usize> = (0..n).collect();
    let mut graph = Graph::new(n, edges, vec![0.0; n]);
    for _level in 0..20 {
        let (partition, moved) = graph.one_level();
        if !moved {
            break;
        }
        for a in assignment.iter_mut() {
            *a = partition[*a];
        }
        graph = graph.aggregate(&partition);
    }
    assignment
}

struct Graph {
    adj: Vec<Vec<(usize, f64)>>,
    /// Weight of edges inside each node (after aggregation).
    loops: Vec<f64>,
    degree: Vec<f64>,
    total: f64,
}

impl Graph {
    fn new(n: usize, edges: &[(usize, usize, f64)], loops: Vec<f64>) -> Graph {
        let mut adj = vec![Vec::new(); n];
        for &(i, j, w) in edges {
            if i == j || w <= 0.0 {
                continue;
            }
            adj[i].push((j, w));
            adj[j].push((i, w));
        }
        for a in adj.iter_mut() {
            a.sort_by_key(|x| x.0);
        }
        let degree: Vec<f64> = (0..n)
            .map(|i| adj[i].iter().map(|(_, w)| w).sum::<f64>() + 2.0 * loops[i])
            .collect();
        let total = degree.iter().sum();
        Graph {
            adj,
            loops,
            degree,
            total,
        }
    }

    /// Moves nodes to the neighbouring community with the best modularity gain until none moves;
    /// returns the compact partition and whether anything moved.
    fn one_level(&self) -> (Vec<usize>, bool) {
        let n = self.adj.len();
        let mut comm: Vec<usize> = (0..n).collect();
        let mut tot: Vec<f64> = self.degree.clone();
        let mut moved_any = false;
        if self.total <= 0.0 {
            return (comm, false);
        }
        let mut links: HashMap<usize, f64> = HashMap::new();
        for _pass in 0..50 {
            let mut moved = 0;
            for i in 0..n {
                let ki = self.degree[i];
                if ki <= 0.0 {
                    continue;
                }
                let own = comm[i];
                links.clear();
                for &(j, w) in &self.adj[i] {
                    *links.entry(comm[j]).or_default() += w;
                }
                tot[own] -= ki;
                let gain = |c: usize, links: &HashMap<usize, f64>| {
                    links.get(&c).copied().unwrap_or(0.0) - tot[c] * ki / self.total
                };
                let mut best = own;
                let mut best_gain = gain(own, &links);
                let mut candidates: Vec<usize> = links.keys().copied().collect();
                candidates.sort_unstable();
                for c in candidates {
                    let g = gain(c, &links);
                    if g > best_gain + 1e-12 {
                        best = c;
                        best_gain = g;
                    }
                }
                tot[best] += ki;
                if best != own {
                    comm[i] = best;
                    moved += 1;
                    moved_any = true;
                }
            }
            if moved == 0 {
                break;
            }
        }
        // Renumber in order of first node.
        let mut renumber: HashMap<usize, usize> = HashMap::new();
        let compact = comm
            .iter()
            .map(|c| {
                let next = renumber.len();
                *renumber.entry(*c).or_insert(next)
            })
            .collect();
        (compact, moved_any)
    }

    fn aggregate(&self, partition: &[usize]) -> Graph {
        let k = partition.iter().max().map_or(0, |m| m + 1);
        let mut loops = vec![0.0; k];
        let mut between: BTreeMap<(usize, usize), f64> = BTreeMap::new();
        for (i, neighbours) in self.adj.iter().enumerate() {
            loops[partition[i]] += self.loops[i];
            for &(j, w) in neighbours {
                if j <= i {
                    continue;
                }
                let (a, b) = (partition[i], partition[j]);
                if a == b {
                    loops[a] += w;
                } else {
                    *between.entry((a.min(b), a.max(b))).or_default() += w;
                }
            }
        }
        let edges: Vec<(usize, usize, f64)> =
            between.into_iter().map(|((a, b), w)| (a, b, w)).collect();
        Graph::new(k, &edges, loops)
    }
}

/// The adjusted Rand index of two labelings of the same items (1: identical partitions, about 0:
/// chance). Used to score recovered teams against the truth.
pub fn adjusted_rand_index(truth: &[usize], predicted: &[usize]) -> f64 {
    assert_eq!(truth.len(), predicted.len());
    let n = truth.len() as f64;
    if truth.len() < 2 {
        return 1.0;
    }
    let comb2 = |x: f64| x * (x - 1.0) / 2.0;
    let mut table: HashMap<(usize, usize), f64> = HashMap::new();
    let mut a: HashMap<usize, f64> = HashMap::new();
    let mut b: HashMap<usize, f64> = HashMap::new();
    for (t, p) in truth.iter().zip(predicted) {
        *table.entry((*t, *p)).or_default() += 1.0;
        *a.entry(*t).or_default() += 1.0;
        *b.entry(*p).or_default() += 1.0;
    }
    let index: f64 = table.values().map(|v| comb2(*v)).sum();
    let sum_a: f64 = a.values().map(|v| comb2(*v)).sum();
    let sum_b: f64 = b.values().map(|v| comb2(*v)).sum();
    let expected = sum_a * sum_b / comb2(n);
    let max = (sum_a + sum_b) / 2.0;
    if (max - expected).abs() < f64::EPSILON {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(channel: &str, ts: &str, user: &str, text: &str, mentions: &[&str]) -> PostedMessage {
        PostedMessage {
            channel_id: channel.into(),
            ts: ts.into(),
            thread_ts: None,
            user_id: Some(user.into()),
            bot_id: None,
            subtype: None,
            text: text.into(),
            mentions: mentions.iter().map(|m| m.to_string()).collect(),
            posted_at: 1_700_000_000,
            edited_at: None,
            reply_count: None,
            channel_private: None,
            reactions: vec![],
        }
    }

    /// Two teams of four, each with a channel and a lead who assigns work.
    fn two_teams() -> Vec<Interaction> {
        let mut log = Vec::new();
        for (channel, people) in [
            ("CPAY", ["UA1", "UA2", "UA3", "UA4"]),
            ("CMOB", ["UB1", "UB2", "UB3", "UB4"]),
        ] {
            for p in people {
                log.push(Interaction::membership(channel, p, true, 1));
            }
            for round in 0..4 {
                for (k, p) in people.iter().enumerate().skip(1) {
                    let ts = format!("17000000{round}{k}.0001");
                    let m = msg(
                        channel,
                        &ts,
                        people[0],
                        "can you take the refund bug?",
                        &[p],
                    );
                    log.extend(derive_from_message(
                        &m,
                        &MessageContext {
                            asks: true,
                            ..Default::default()
                        },
                    ));
                    let mut reply = msg(channel, &format!("{ts}1"), p, "on it", &[]);
                    reply.thread_ts = Some(ts.clone());
                    log.extend(derive_from_message(
                        &reply,
                        &MessageContext {
                            parent_author: Some(people[0]),
                            ..Default::default()
                        },
                    ));
                }
            }
        }
        // One cross-team hello.
        log.extend(derive_from_message(
            &msg("CGEN", "1.1", "UA2", "hi", &["UB3"]),
            &MessageContext::default(),
        ));
        log
    }

    fn names() -> BTreeMap<String, String> {
        [("CPAY", "team-payments"), ("CMOB", "mobile")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn replay(log: &[Interaction]) -> OrgState {
        let mut s = OrgState::default();
        for i in log {
            s.apply(i);
        }
        s
    }

    #[test]
    fn teams_and_leads_are_recovered_and_named_after_their_channel() {
        let model = replay(&two_teams()).project(&names());
        assert_eq!(model.teams.len(), 2, "{model:#?}");
        let pay = model.team_of("UA3").unwrap();
        assert_eq!(pay.name, "payments");
        assert_eq!(pay.members, ["UA1", "UA2", "UA3", "UA4"]);
        assert_eq!(pay.leads, ["UA1"]);
        assert_eq!(model.team_of("UB2").unwrap().name, "mobile");
        assert_eq!(model.team_of("UB2").unwrap().leads, ["UB1"]);
        assert_eq!(model.people["UA2"].collaborators[0].0, "UA1");
    }

    #[test]
    fn a_snapshot_and_the_tail_give_the_full_replay() {
        let log = two_teams();
        let full = replay(&log);
        for cut in [0, 1, log.len() / 3, log.len() - 1, log.len()] {
            let head = replay(&log[..cut]);
            let mut resumed = OrgState::from_json(&head.to_json()).unwrap();
            for i in &log[cut..] {
                resumed.apply(i);
            }
            assert_eq!(resumed, full, "cut at {cut}");
            assert_eq!(
                serde_json::to_string(&resumed.project(&names())).unwrap(),
                serde_json::to_string(&full.project(&names())).unwrap()
            );
        }
    }

    #[test]
    fn a_correction_moves_the_person_and_can_be_withdrawn() {
        let mut log = two_teams();
        log.push(Interaction::correction("UA4", "mobile", 2));
        let model = replay(&log).project(&names());
        assert_eq!(model.team_of("UA4").unwrap().name, "mobile");
        assert!(model.people["UA4"].corrected);
        log.push(Interaction::correction("UA4", "", 3));
        assert_eq!(
            replay(&log).project(&names()).team_of("UA4").unwrap().name,
            "payments"
        );
    }

    #[test]
    fn messages_become_interactions() {
        let mut m = msg("C1", "2.0", "U1", "@b can you approve the plan?", &["U2"]);
        m.reactions = vec![("tada".into(), vec!["U3".into(), "U1".into()])];
        let kinds: Vec<(InteractionKind, String)> = derive_from_message(
            &m,
            &MessageContext {
                asks: true,
                ..Default::default()
            },
        )
        .into_iter()
        .map(|i| (i.kind, i.target))
        .collect();
        assert_eq!(
            kinds,
            [
                (InteractionKind::MessageInChannel, String::new()),
                (InteractionKind::Mention, "U2".into()),
                (InteractionKind::Approval, "U2".into()),
                (InteractionKind::Reaction, "U1".into()),
            ]
        );
        assert_eq!(
            classify_ask("can you take the billing bug"),
            Ask::Assignment
        );
        assert!(asks_by_cue("Could you look?"));
        assert!(!asks_by_cue("we shipped it"));
    }

    #[test]
    fn ari_scores_partitions() {
        assert!((adjusted_rand_index(&[0, 0, 1, 1], &[5, 5, 7, 7]) - 1.0).abs() < 1e-9);
        assert!(adjusted_rand_index(&[0, 0, 1, 1], &[0, 1, 0, 1]) < 0.0);
    }
}
