//! `chief bench org`: how well the Org Chart Keeper recovers a known org chart, and how fast its
//! log replays.
//!
//! 1. **Recovery.** A synthetic workspace with true teams and leads (`Workspace::with_teams`: team
//!    channels where leads assign work and members ask for approval, on top of the cross-team
//!    topic channels) is stored, one `history_loaded` event per channel is published, and the org
//!    agent builds the log and the projection exactly as in `chief serve`. Scored: the adjusted
//!    Rand index of the inferred teams against the true ones (everyone counted; a person placed
//!    in no team is a team of one), and lead precision (inferred leads that are true leads) and
//!    recall.
//! 2. **Replay.** `--replay` synthetic interactions (default 1,000,000: 10,000 people in 200
//!    teams, 80% of interactions within a team) are appended to a log; timed: the full replay
//!    (read + fold), the projection, a refresh from the snapshot plus a 1% tail — and checked
//!    that both give the same projection.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::workspace::{Spec, TeamSpec, Workspace};
use crate::features::org::{self, Replay};
use crate::model::events::DomainEvent;
use crate::model::org::{Interaction, InteractionKind, OrgModel, adjusted_rand_index};
use crate::platform::bus::{self, Subscription};
use crate::platform::db::{Db, org as store};
use crate::testkit::scratch::ScratchDb;

#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// People in the workspace.
    #[arg(long, default_value_t = 1_000)]
    pub users: usize,
    /// Topic channels (cross-team; team channels come on top).
    #[arg(long, default_value_t = 60)]
    pub channels: usize,
    /// Messages in the topic channels.
    #[arg(long, default_value_t = 10_000)]
    pub messages: usize,
    /// True teams.
    #[arg(long, default_value_t = 25)]
    pub teams: usize,
    /// Messages in the team channels.
    #[arg(long, default_value_t = 20_000)]
    pub team_messages: usize,
    /// Share of a team discussion's participants from outside the team.
    #[arg(long, default_value_t = 0.1)]
    pub outsiders: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Interactions of the replay benchmark (0: skip it).
    #[arg(long, default_value_t = 1_000_000)]
    pub replay: usize,
    /// Skip PostgreSQL.
    #[arg(long)]
    pub no_postgres: bool,
    /// PostgreSQL server to benchmark on (a scratch database is created there).
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres: String,
    #[arg(long, default_value = "bench-out/org.json")]
    pub out: PathBuf,
}

/// Team recovery on one backend.
#[derive(Clone, Debug, Serialize)]
pub struct Recovery {
    pub backend: String,
    pub people: usize,
    pub messages: usize,
    pub interactions: i64,
    pub true_teams: usize,
    pub inferred_teams: usize,
    pub adjusted_rand_index: f64,
    pub lead_precision: f64,
    pub lead_recall: f64,
    /// The agent: history events → log → projection.
    pub agent_secs: f64,
}

/// Replay timings on one backend.
#[derive(Clone, Debug, Serialize)]
pub struct ReplayTimes {
    pub backend: String,
    pub interactions: usize,
    pub people: usize,
    pub append_secs: f64,
    /// Reading and folding the whole log.
    pub full_replay_secs: f64,
    /// Teams, leads and collaborators from the folded state.
    pub project_secs: f64,
    /// Newest snapshot + the tail, folded and projected.
    pub snapshot_tail_secs: f64,
    pub tail: usize,
    pub snapshot_bytes: usize,
    /// The full replay and snapshot + tail gave byte-identical projections.
    pub identical: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub recovery: Vec<Recovery>,
    pub replay: Vec<ReplayTimes>,
}

/// The org workspace of the benchmark (and the tests).
pub fn workspace(a: &Args) -> Workspace {
    let start = Spec::last_day_before(crate::platform::db::now());
    let mut spec = Spec::new(a.users, a.channels, a.messages, a.seed, start);
    spec.team_id = "TORG".into();
    Workspace::generate(&spec).with_teams(&TeamSpec {
        teams: a.teams,
        messages: a.team_messages,
        outsiders: a.outsiders,
    })
}

/// Stores `ws`, publishes its history and runs the org agent until it has read everything.
/// Returns the projection and the agent's time.
pub async fn build_org(db: &Db, ws: &Workspace) -> anyhow::Result<(OrgModel, Duration)> {
    ws.store(db).await?;
    let team = ws.spec.team_id.as_str();
    for (c, ch) in ws.channels.iter().enumerate() {
        let msgs = ws.channel_messages(c);
        if msgs.is_empty() {
            continue;
        }
        bus::publish(
            db.pool(),
            team,
            &DomainEvent::HistoryLoaded {
                channel_id: ch.id.clone(),
                oldest: ws.spec.day_start(),
                latest: ws.spec.day_start() + 86_400,
                messages: msgs.len() as i64,
            },
        )
        .await?;
    }
    let sub = Subscription::new(org::SUBSCRIBER, &org::KINDS, "bench", db.backend())
        .with_commit_grace(Duration::ZERO);
    let started = Instant::now();
    while org::run_once(db, &sub).await? > 0 {}
    let elapsed = started.elapsed();
    let (state, _, _) = org::fold(db, team, Replay::FromSnapshot).await?;
    Ok((org::project(db, team, &state).await?, elapsed))
}

/// (ARI, lead precision, lead recall) of `model` against the workspace's truth.
pub fn score(model: &OrgModel, ws: &Workspace) -> (f64, f64, f64) {
    let Some(truth) = &ws.truth else {
        return (0.0, 0.0, 0.0);
    };
    let names: Vec<&str> = model.teams.iter().map(|t| t.name.as_str()).collect();
    let mut predicted = Vec::with_capacity(ws.users.len());
    for (i, u) in ws.users.iter().enumerate() {
        let team = model
            .people
            .get(&u.id)
            .and_then(|p| p.team.as_deref())
            .and_then(|t| names.iter().position(|n| *n == t));
        predicted.push(team.unwrap_or(names.len() + i));
    }
    let ari = adjusted_rand_index(&truth.team_of, &predicted);
    let true_leads: std::collections::HashSet<&str> = truth
        .leads
        .iter()
        .flatten()
        .map(|u| ws.users[*u].id.as_str())
        .collect();
    let found: Vec<&str> = model
        .teams
        .iter()
        .flat_map(|t| t.leads.iter().map(String::as_str))
        .collect();
    let hits = found.iter().filter(|l| true_leads.contains(*l)).count();
    let precision = if found.is_empty() {
        0.0
    } else {
        hits as f64 / found.len() as f64
    };
    let recall = hits as f64 / true_leads.len().max(1) as f64;
    (ari, precision, recall)
}

async fn recovery(backend: &str, db: &Db, ws: &Workspace) -> anyhow::Result<Recovery> {
    let (model, took) = build_org(db, ws).await?;
    let (ari, precision, recall) = score(&model, ws);
    Ok(Recovery {
        backend: backend.into(),
        people: ws.users.len(),
        messages: ws.messages.len(),
        interactions: store::count(db, &ws.spec.team_id).await?,
        true_teams: ws.truth.as_ref().map_or(0, |t| t.names.len()),
        inferred_teams: model.teams.len(),
        adjusted_rand_index: ari,
        lead_precision: precision,
        lead_recall: recall,
        agent_secs: took.as_secs_f64(),
    })
}

/// `n` synthetic interactions among `people` people in teams of 50, seeded.
pub fn synthetic_log(n: usize, people: usize, seed: u64) -> Vec<Interaction> {
    let mut rng = StdRng::seed_from_u64(seed);
    let team_size = 50;
    let teams = people.div_ceil(team_size).max(1);
    let kinds = [
        (InteractionKind::MessageInChannel, 30),
        (InteractionKind::Reply, 20),
        (InteractionKind::Mention, 15),
        (InteractionKind::Reaction, 20),
        (InteractionKind::ThreadParticipation, 10),
        (InteractionKind::Request, 3),
        (InteractionKind::Assignment, 1),
        (InteractionKind::Approval, 1),
    ];
    let total: u32 = kinds.iter().map(|(_, w)| w).sum();
    (0..n)
        .map(|i| {
            let actor = rng.random_range(0..people);
            let team = actor / team_size;
            let target = if rng.random_bool(0.8) {
                (team * team_size + rng.random_range(0..team_size)).min(people - 1)
            } else {
                rng.random_range(0..people)
            };
            let mut roll = rng.random_range(0..total);
            let kind = kinds
                .iter()
                .find(|(_, w)| {
                    if roll < *w {
                        true
                    } else {
                        roll -= w;
                        false
                    }
                })
                .map_or(InteractionKind::Mention, |(k, _)| *k);
            let channel = if rng.random_bool(0.7) {
                team
            } else {
                rng.random_range(0..teams)
            };
            Interaction {
                kind,
                actor: format!("U{actor:07}"),
                target: if kind == InteractionKind::MessageInChannel {
                    String::new()
                } else {
                    format!("U{target:07}")
                },
                channel_id: Some(format!("C{channel:05}")),
                message_ts: Some(format!("{}.{:06}", 1_700_000_000 + i / 10, i % 1_000_000)),
                at: 1_700_000_000 + (i / 10) as i64,
                weight: kind.weight(),
            }
        })
        .collect()
}

async fn replay(backend: &str, db: &Db, n: usize) -> anyhow::Result<ReplayTimes> {
    let people = 10_000;
    let log = synthetic_log(n, people, 7);
    let team = "TREPLAY";
    let tail = n / 100;
    let started = Instant::now();
    for chunk in log[..n - tail].chunks(20_000) {
        store::append(db, team, chunk).await?;
    }
    let append_secs = started.elapsed().as_secs_f64();

    let t = Instant::now();
    let (state, seq, _) = org::fold(db, team, Replay::Full).await?;
    let full_replay_secs = t.elapsed().as_secs_f64();
    let snapshot = state.to_json();
    store::save_snapshot(db, team, seq, state.applied(), &snapshot).await?;
    drop(state);
    for chunk in log[n - tail..].chunks(20_000) {
        store::append(db, team, chunk).await?;
    }

    let t = Instant::now();
    let (resumed, _, _) = org::fold(db, team, Replay::FromSnapshot).await?;
    let from_snapshot = org::project(db, team, &resumed).await?;
    let snapshot_tail_secs = t.elapsed().as_secs_f64();
    drop(resumed);

    let (full, _, _) = org::fold(db, team, Replay::Full).await?;
    let t = Instant::now();
    let projected = org::project(db, team, &full).await?;
    let project_secs = t.elapsed().as_secs_f64();
    let identical = serde_json::to_string(&projected)? == serde_json::to_string(&from_snapshot)?;
    Ok(ReplayTimes {
        backend: backend.into(),
        interactions: n,
        people,
        append_secs,
        full_replay_secs,
        project_secs,
        snapshot_tail_secs,
        tail,
        snapshot_bytes: snapshot.len(),
        identical,
    })
}

pub async fn run(a: Args) -> anyhow::Result<Report> {
    let t = Instant::now();
    let ws = workspace(&a);
    println!(
        "workspace: {} people, {} channels, {} messages, {} true teams (generated in {:.1}s)",
        ws.users.len(),
        ws.channels.len(),
        ws.messages.len(),
        ws.truth.as_ref().map_or(0, |t| t.names.len()),
        t.elapsed().as_secs_f64()
    );
    let mut backends: Vec<(&str, ScratchDb)> = vec![("sqlite", ScratchDb::sqlite().await?)];
    if !a.no_postgres {
        backends.push(("postgres", ScratchDb::postgres(&a.postgres).await?));
    }
    let mut report = Report {
        recovery: Vec::new(),
        replay: Vec::new(),
    };
    for (name, scratch) in &backends {
        let r = recovery(name, &scratch.db, &ws).await?;
        println!(
            "{name}: ARI {:.3}, lead precision {:.2}, recall {:.2}, {} inferred teams, agent {:.1}s",
            r.adjusted_rand_index, r.lead_precision, r.lead_recall, r.inferred_teams, r.agent_secs
        );
        report.recovery.push(r);
        if a.replay > 0 {
            let r = replay(name, &scratch.db, a.replay).await?;
            println!(
                "{name}: replay of {} interactions {:.2}s, projection {:.2}s, snapshot + {} tail {:.2}s, identical {}",
                r.interactions,
                r.full_replay_secs,
                r.project_secs,
                r.tail,
                r.snapshot_tail_secs,
                r.identical
            );
            report.replay.push(r);
        }
    }
    super::report::print_table(
        &[
            "backend",
            "people",
            "interactions",
            "teams true/found",
            "ARI",
            "lead precision",
            "lead recall",
            "agent s",
        ],
        &report
            .recovery
            .iter()
            .map(|r| {
                vec![
                    r.backend.clone(),
                    r.people.to_string(),
                    r.interactions.to_string(),
                    format!("{}/{}", r.true_teams, r.inferred_teams),
                    format!("{:.3}", r.adjusted_rand_index),
                    format!("{:.2}", r.lead_precision),
                    format!("{:.2}", r.lead_recall),
                    format!("{:.1}", r.agent_secs),
                ]
            })
            .collect::<Vec<_>>(),
    );
    if !report.replay.is_empty() {
        println!();
        super::report::print_table(
            &[
                "backend",
                "interactions",
                "append s",
                "full replay s",
                "projection s",
                "snapshot+tail s",
                "snapshot MB",
                "identical",
            ],
            &report
                .replay
                .iter()
                .map(|r| {
                    vec![
                        r.backend.clone(),
                        r.interactions.to_string(),
                        format!("{:.1}", r.append_secs),
                        format!("{:.2}", r.full_replay_secs),
                        format!("{:.2}", r.project_secs),
                        format!("{:.2}", r.snapshot_tail_secs),
                        format!("{:.1}", r.snapshot_bytes as f64 / 1e6),
                        r.identical.to_string(),
                    ]
                })
                .collect::<Vec<_>>(),
        );
    }
    super::report::save(Some(&a.out), &report)?;
    Ok(report)
}
