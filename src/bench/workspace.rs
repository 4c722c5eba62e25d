//! A deterministic synthetic Slack workspace for the benchmarks: people, channels and a day of
//! messages, generated from a seed and written straight into a database through the repository
//! functions (`db::directory`, `db::messages`, `db::profile`).
//!
//! What it models, because each shapes the work chief does:
//! - **Channel sizes are Zipf-like**: `#general` has everyone, a few channels have thousands of
//!   members, most have a few dozen (size ≈ 0.8·N / rank^0.9, at least 4). About a quarter of the
//!   smaller channels are private.
//! - **Topics cross channels**: each topic (a project codename with its system, feature, customer
//!   and metric) has a home channel but is also discussed elsewhere (35% of discussions), so
//!   consolidation has the same story to merge from several channels.
//! - **People have interests**: each person follows 2–4 topics (some topics are far more popular);
//!   channel membership, who writes in a discussion, who reacts and who gets mentioned all prefer
//!   the people interested in its topic. The interest model starts from one recorded signal per
//!   person (last week's activity on those topics).
//! - **A day of messages**: discussions of 1–40 messages (rarely up to 150) at a daytime-weighted
//!   time of day, 55% of them as threads; 15% of discussions open with an @-mention; 30% of messages
//!   get reactions; people are in eight time zones.
//!
//! The same spec and seed give the same workspace on every run of the same build (the RNG is
//! `StdRng`, seeded).

use std::collections::HashSet;
use std::time::Instant;

use chrono::{NaiveDate, Offset, TimeZone};
use futures::{StreamExt, TryStreamExt};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::model::activity::ScheduleRules;
use crate::model::events::{Channel, PostedMessage, User};
use crate::model::interest::{HalfLife, Signal, SignalKind};
use crate::platform::db::{Backend, Db, DbError, directory, messages, profile, teams};

/// What to generate.
#[derive(Clone, Debug, Serialize)]
pub struct Spec {
    pub users: usize,
    pub channels: usize,
    pub messages: usize,
    pub seed: u64,
    pub team_id: String,
    /// Start of the 24 hours the messages are posted in (epoch seconds).
    pub start: i64,
}

impl Spec {
    /// The benchmark's default size: 10,000 people, 500 channels, 50,000 messages.
    pub fn new(users: usize, channels: usize, messages: usize, seed: u64, start: i64) -> Self {
        Spec {
            users: users.max(2),
            channels: channels.max(1),
            messages,
            seed,
            team_id: "TBENCH".into(),
            start,
        }
    }

    /// The 24 hours that end at the last full hour before `now`: the window a daily briefing
    /// prepared now covers (it ends on the hour so readers share digests).
    pub fn last_day_before(now: i64) -> i64 {
        now - now.rem_euclid(3_600) - 86_400
    }

    /// Epoch seconds of the start of the day of messages.
    pub fn day_start(&self) -> i64 {
        self.start
    }

    /// The UTC date the day of messages ends on (the briefings' date).
    pub fn briefing_date(&self) -> NaiveDate {
        chrono::DateTime::from_timestamp(self.start + 86_399, 0)
            .map_or(NaiveDate::MIN, |t| t.date_naive())
    }
}

/// One generated person.
#[derive(Clone, Debug)]
pub struct SynthUser {
    pub id: String,
    pub handle: String,
    pub display_name: String,
    pub tz: String,
    pub tz_offset: i64,
    /// Indexes into [`Workspace::topics`].
    pub interests: Vec<usize>,
}

/// One generated channel.
#[derive(Clone, Debug)]
pub struct SynthChannel {
    pub id: String,
    pub name: String,
    pub private: bool,
    /// Indexes into [`Workspace::users`], sorted.
    pub members: Vec<usize>,
    /// Its home topics (the first is the main one).
    pub topics: Vec<usize>,
    pub social: bool,
}

/// A subject people talk about in several channels.
#[derive(Clone, Debug)]
pub struct Topic {
    pub project: String,
    pub system: String,
    pub feature: String,
    pub customer: String,
    pub metric: String,
    pub keyword: String,
}

/// Counts describing a generated workspace.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Stats {
    pub users: usize,
    pub channels: usize,
    pub private_channels: usize,
    pub memberships: usize,
    pub largest_channel: usize,
    pub median_channel: usize,
    pub topics: usize,
    /// Topics discussed in at least two channels.
    pub cross_channel_topics: usize,
    pub messages: usize,
    pub discussions: usize,
    pub threads: usize,
    pub replies: usize,
    pub reactions: usize,
    pub mentions: usize,
    /// Messages each person can see (their channels' day), on average.
    pub visible_per_user: f64,
}

/// A generated workspace, in memory.
pub struct Workspace {
    pub spec: Spec,
    pub users: Vec<SynthUser>,
    pub channels: Vec<SynthChannel>,
    pub topics: Vec<Topic>,
    /// Every message, grouped by channel (in `channels` order), oldest first within a channel.
    pub messages: Vec<PostedMessage>,
    /// (channel index, range in `messages`).
    pub channel_ranges: Vec<std::ops::Range<usize>>,
    pub stats: Stats,
    /// The true org chart, when generated [`Workspace::with_teams`].
    pub truth: Option<OrgTruth>,
}

/// How to overlay teams on a workspace ([`Workspace::with_teams`]).
#[derive(Clone, Debug, Serialize)]
pub struct TeamSpec {
    pub teams: usize,
    /// Messages added in the teams' own channels (the topic channels keep theirs: cross-team
    /// noise).
    pub messages: usize,
    /// Share of a team discussion's participants drawn from outside the team.
    pub outsiders: f64,
}

/// The org chart the generator followed: what recovered teams and leads are scored against.
#[derive(Clone, Debug, Default, Serialize)]
pub struct OrgTruth {
    /// Each user's team (index into `names`).
    pub team_of: Vec<usize>,
    /// Each team's leads (user indexes).
    pub leads: Vec<Vec<usize>>,
    /// Each team's channel name.
    pub names: Vec<String>,
}

#[rustfmt::skip]
const FIRST: &[&str] = &[
    "Ava", "Ben", "Chloe", "Daniel", "Emma", "Felix", "Grace", "Hugo", "Isla", "Jack", "Kira",
    "Liam", "Maya", "Noah", "Olivia", "Priya", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera",
    "Wes", "Xena", "Yusuf", "Zoe", "Aiko", "Bruno", "Carmen", "Dev", "Elena", "Farah", "Gabe",
    "Hana", "Ivan", "Jonas", "Keiko", "Leon", "Mina", "Nils", "Omar", "Paula", "Rafael", "Sofia",
    "Theo", "Uma", "Victor", "Wanda", "Yara", "Zane", "Amir", "Bea", "Cyril", "Dana", "Eli",
    "Fiona", "Gil", "Heidi", "Ines", "Jules", "Kofi", "Lena", "Marco", "Nadia", "Oscar", "Pia",
    "Ravi", "Selma", "Tomas", "Ulla", "Vik", "Wren", "Ximena", "Yann", "Zara", "Anton", "Bianca",
    "Carlos", "Dora", "Emil", "Freya", "Goran", "Hiro", "Ilse", "Joao", "Kai", "Lucia", "Mateo",
    "Nora", "Otto", "Petra", "Rina", "Sven", "Tess", "Ugo", "Valentina", "Willem", "Yoko", "Zeno",
];

#[rustfmt::skip]
const LAST: &[&str] = &[
    "Patel", "Nguyen", "Smith", "Garcia", "Kim", "Muller", "Rossi", "Silva", "Khan", "Cohen",
    "Novak", "Ivanova", "Okafor", "Tanaka", "Larsen", "Dubois", "Moreau", "Schmidt", "Costa",
    "Haddad", "Jensen", "Kowalski", "Lopez", "Martin", "Nakamura", "Olsen", "Perez", "Quispe",
    "Rahman", "Sato", "Torres", "Urban", "Varga", "Weber", "Xu", "Yilmaz", "Zhang", "Abbott",
    "Brennan", "Chowdhury", "Dalton", "Eriksen", "Fischer", "Gomez", "Hansen", "Ito", "Jovanovic",
    "Keller", "Lindqvist", "Mendes", "Nowak", "Ortiz", "Popescu", "Reyes", "Svensson", "Takahashi",
    "Ueda", "Vogel", "Wagner", "Yamamoto", "Adeyemi", "Bauer", "Castro", "Diaz", "Evans",
    "Ferrari", "Gupta", "Horvat", "Iyer", "Jung", "Kaur", "Lambert", "Meyer", "Nielsen",
    "Oliveira", "Park", "Richter", "Santos", "Thompson", "Usman", "Vasquez", "Walsh", "Young",
    "Zimmermann", "Arora", "Becker", "Carter", "Duarte", "Engel", "Fong", "Greco", "Hoffmann",
    "Ibrahim", "Jakobsen", "Klein", "Leclerc", "Moretti", "Nash", "Osei", "Pham",
];

#[rustfmt::skip]
const PROJECTS: &[&str] = &[
    "Lavender", "Falcon", "Orion", "Nimbus", "Aurora", "Atlas", "Beacon", "Cobalt", "Dynamo",
    "Ember", "Fjord", "Glacier", "Harbor", "Juniper", "Kestrel", "Lumen", "Mosaic", "Nebula",
    "Onyx", "Pioneer", "Quartz", "Raven", "Sierra", "Tundra", "Vertex", "Willow", "Xenon", "Yukon",
    "Zephyr", "Apex", "Basalt", "Cedar", "Delta", "Echo", "Flint", "Granite", "Helix", "Indigo",
    "Meridian", "Polaris",
];

#[rustfmt::skip]
const SYSTEMS: &[&str] = &[
    "billing-service", "auth-service", "PaymentsAPI", "SearchIndex", "the data pipeline", "Kafka",
    "the Postgres cluster", "the Redis cache", "the CDN", "the mobile app", "the iOS build",
    "the Android build", "the GraphQL gateway", "notification-service", "the ranking model",
    "the feature-flag service", "the CI runners", "the k8s cluster", "the Terraform stack",
    "the analytics warehouse",
];

#[rustfmt::skip]
const FEATURES: &[&str] = &[
    "SSO login", "dark mode", "usage-based pricing", "CSV export", "the audit log",
    "rate limiting", "webhooks v2", "the onboarding flow", "2FA", "bulk import",
    "EU data residency", "offline sync", "SAML", "team billing", "search filters",
    "API key rotation",
];

#[rustfmt::skip]
const CUSTOMERS: &[&str] = &[
    "Acme Corp", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises",
    "Soylent", "Tyrell", "Cyberdyne", "Wonka", "Vandelay",
];

#[rustfmt::skip]
const METRICS: &[&str] = &[
    "p99 latency", "error rate", "queue depth", "CPU usage", "memory usage", "churn",
    "sign-up conversion", "build time",
];

#[rustfmt::skip]
const KEYWORDS: &[&str] = &[
    "migration", "rollout", "incident", "launch", "hiring plan", "roadmap", "postmortem",
    "refactor", "pricing change", "security review", "load test", "release", "budget", "on-call",
    "beta",
];

#[rustfmt::skip]
const DAYS: &[&str] = &[
    "today", "tomorrow", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "next week",
];

#[rustfmt::skip]
const EMOJI: &[&str] = &[
    "+1", "eyes", "white_check_mark", "tada", "fire", "pray", "rocket", "heart", "100",
];

/// (zone, weight): where people work.
const ZONES: &[(&str, u32)] = &[
    ("America/Los_Angeles", 20),
    ("America/New_York", 25),
    ("America/Sao_Paulo", 5),
    ("Europe/London", 15),
    ("Europe/Berlin", 15),
    ("Asia/Kolkata", 10),
    ("Asia/Tokyo", 5),
    ("Australia/Sydney", 5),
];

#[rustfmt::skip]
const AREAS: &[&str] = &[
    "platform", "payments", "growth", "mobile", "infra", "data", "security", "frontend", "backend",
    "sre", "design", "support", "sales-eng", "ml", "devex", "qa",
];

#[rustfmt::skip]
const SOCIAL: &[&str] = &[
    "random", "lunch", "pets", "music", "running", "books", "kudos",
];

/// Openers of a work discussion. Slots: {project} {system} {feature} {customer} {metric}
/// {keyword} {day} {hour} {n} {pct} {mention}.
const STARTERS: &[&str] = &[
    "Can we move the {project} review to {day}? The {system} work is not done yet.",
    "Heads up: the {system} deploy for {project} is planned for {day} at {hour}:00 UTC.",
    "I think the {metric} spike on {system} comes from the {feature} change.",
    "{customer} reported {n} failed requests on {system} this morning, looks related to {project}.",
    "Decision: we ship {feature} behind a flag for {customer} first, then everyone on {day}.",
    "We are blocked on {system} access for the {project} {keyword}, waiting on the platform team.",
    "Draft plan for the {project} {keyword} is in the doc, comments welcome before {day}.",
    "Who owns the {system} alerts now? We had {n} pages last night.",
    "Status: {feature} is {pct}% rolled out, no errors on {system} so far.",
    "Reminder: {project} demo {day}, please bring numbers on {metric}.",
    "Should we pause the {keyword} until {customer} signs off on {feature}?",
    "{system} latency is back to normal after the fix, closing the {project} incident.",
    "{mention} could you review the {project} {keyword} plan before {day}?",
    "New estimate for {project}: {feature} lands {day}, the {system} part needs {n} more days.",
    "The {metric} on {system} went from {n} to {pct} after the {feature} change, is that expected?",
    "We agreed with {customer} to delay {feature} to {day}, {project} scope stays the same.",
];

const REPLIES: &[&str] = &[
    "Agreed, let's do that.",
    "I can pick up the {system} part {day}.",
    "What's the rollback plan if {feature} breaks for {customer}?",
    "+1, {mention} can you confirm?",
    "PR for {feature} is up, needs one more review.",
    "Not sure, the {metric} numbers looked fine yesterday.",
    "I'll update the {project} tracker.",
    "Blocked here too, {system} keeps timing out.",
    "Thanks, that helps.",
    "Let's discuss it at the {project} sync on {day}.",
    "We measured {n} ms on {system} after the change.",
    "Can we get {customer} on a call {day}?",
    "I'd rather wait for the {keyword} to finish first.",
    "Done, the {system} config is merged.",
    "Looping in {mention} who knows {system} best.",
    "Numbers from the load test: {pct}% of requests under {n} ms.",
];

/// A lead gives work to someone of the team ({mention}: the assignee).
const ASSIGNMENTS: &[&str] = &[
    "{mention} can you take the {system} part of the {project} {keyword}?",
    "{mention} could you pick up the {feature} bug {customer} reported?",
    "{mention} please own the {project} {keyword} plan, due {day}.",
    "{mention} can you look into the {metric} regression on {system}?",
    "{mention} would you handle the {customer} escalation {day}?",
];

/// Someone asks their lead to approve ({mention}: the lead).
const APPROVALS: &[&str] = &[
    "{mention} can you approve the {project} {keyword} plan?",
    "{mention} could you sign off on the {feature} rollout for {customer}?",
    "{mention} ok to ship {feature} {day}? Need your approval.",
];

const SOCIAL_LINES: &[&str] = &[
    "Anyone up for lunch at {hour}:30?",
    "Happy {day} everyone!",
    "The coffee machine on the third floor works again.",
    "Photos from the offsite are in the shared album.",
    "Who is going to the meetup {day}?",
    "Great job on the launch, team!",
    "Book club picks the next title {day}.",
    "{mention} thanks for the help yesterday!",
];

fn zipf_weights(n: usize, s: f64) -> Vec<f64> {
    (1..=n).map(|r| 1.0 / (r as f64).powf(s)).collect()
}

/// Samples an index from cumulative weights.
fn pick_cumulative(rng: &mut StdRng, cumulative: &[f64]) -> usize {
    let total = cumulative.last().copied().unwrap_or(0.0);
    let x = rng.random::<f64>() * total;
    cumulative
        .partition_point(|c| *c <= x)
        .min(cumulative.len().saturating_sub(1))
}

fn cumulative(weights: &[f64]) -> Vec<f64> {
    let mut sum = 0.0;
    weights
        .iter()
        .map(|w| {
            sum += w;
            sum
        })
        .collect()
}

/// Distinct indexes drawn from `preferred` (with probability `bias`) or from `0..n`, `k` of them.
fn sample_people(
    rng: &mut StdRng,
    k: usize,
    n: usize,
    preferred: &[usize],
    bias: f64,
) -> Vec<usize> {
    let k = k.min(n);
    if k * 2 > n {
        // Dense: shuffle everyone, preferred first.
        let mut chosen: Vec<usize> = preferred.to_vec();
        chosen.shuffle(rng);
        chosen.truncate(((k as f64) * bias).round() as usize);
        let taken: HashSet<usize> = chosen.iter().copied().collect();
        let mut rest: Vec<usize> = (0..n).filter(|i| !taken.contains(i)).collect();
        rest.shuffle(rng);
        chosen.extend(rest.into_iter().take(k - chosen.len().min(k)));
        chosen.truncate(k);
        chosen.sort_unstable();
        return chosen;
    }
    let mut set = HashSet::with_capacity(k);
    let mut guard = 0;
    while set.len() < k && guard < k * 50 {
        guard += 1;
        let i = if !preferred.is_empty() && rng.random_bool(bias) {
            preferred[rng.random_range(0..preferred.len())]
        } else {
            rng.random_range(0..n)
        };
        set.insert(i);
    }
    let mut chosen: Vec<usize> = set.into_iter().collect();
    chosen.sort_unstable();
    chosen
}

impl Workspace {
    /// Generates the workspace described by `spec` (pure: no I/O).
    pub fn generate(spec: &Spec) -> Workspace {
        let mut rng = StdRng::seed_from_u64(spec.seed);
        let n = spec.users;
        let day_start = spec.day_start();

        // Topics: a codename with its system, feature, customer, metric and kind of work.
        let n_topics = (spec.channels / 8).clamp(8, 120);
        let topics: Vec<Topic> = (0..n_topics)
            .map(|t| Topic {
                project: if t < PROJECTS.len() {
                    PROJECTS[t].to_string()
                } else {
                    format!(
                        "{} {}",
                        PROJECTS[t % PROJECTS.len()],
                        t / PROJECTS.len() + 1
                    )
                },
                system: SYSTEMS[(t * 7 + t / SYSTEMS.len()) % SYSTEMS.len()].to_string(),
                feature: FEATURES[(t * 5 + t / FEATURES.len()) % FEATURES.len()].to_string(),
                customer: CUSTOMERS[(t * 3 + t / CUSTOMERS.len()) % CUSTOMERS.len()].to_string(),
                metric: METRICS[t % METRICS.len()].to_string(),
                keyword: KEYWORDS[(t * 11) % KEYWORDS.len()].to_string(),
            })
            .collect();
        let topic_cum = cumulative(&zipf_weights(n_topics, 0.8));

        // People: names, zones, interests.
        let zone_cum = cumulative(&ZONES.iter().map(|(_, w)| f64::from(*w)).collect::<Vec<_>>());
        // Names: every (first, last) pair once before any repeats, in a seeded order.
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        let mut users = Vec::with_capacity(n);
        for (i, &slot) in order.iter().enumerate() {
            let f = slot % FIRST.len();
            let l = (slot / FIRST.len() + f * 37) % LAST.len();
            let (first, last) = (FIRST[f], LAST[l]);
            let round = slot / (FIRST.len() * LAST.len());
            let display_name = if round == 0 {
                format!("{first} {last}")
            } else {
                let initial = char::from(b'A' + ((round - 1) % 26) as u8);
                format!("{first} {initial}. {last}")
            };
            let handle = format!("{}.{}{}", first.to_lowercase(), last.to_lowercase(), i);
            let (tz, _) = ZONES[pick_cumulative(&mut rng, &zone_cum)];
            let tz_offset = tz
                .parse::<chrono_tz::Tz>()
                .ok()
                .map(|zone| {
                    zone.from_utc_datetime(
                        &chrono::DateTime::from_timestamp(day_start + 43_200, 0)
                            .unwrap_or_default()
                            .naive_utc(),
                    )
                    .offset()
                    .fix()
                    .local_minus_utc() as i64
                })
                .unwrap_or(0);
            let k = rng.random_range(2..=4);
            let mut interests = Vec::with_capacity(k);
            while interests.len() < k.min(n_topics) {
                let t = pick_cumulative(&mut rng, &topic_cum);
                if !interests.contains(&t) {
                    interests.push(t);
                }
            }
            users.push(SynthUser {
                id: format!("U{:08}", i + 1),
                handle,
                display_name,
                tz: tz.to_string(),
                tz_offset,
                interests,
            });
        }
        let mut by_topic: Vec<Vec<usize>> = vec![Vec::new(); n_topics];
        for (i, u) in users.iter().enumerate() {
            for &t in &u.interests {
                by_topic[t].push(i);
            }
        }

        // Channels: #general (everyone), #random, then project, team and other channels, with
        // Zipf-like sizes.
        let mut names_taken: HashSet<String> = HashSet::new();
        let mut channels = Vec::with_capacity(spec.channels);
        for c in 0..spec.channels {
            let rank = c + 1;
            let size = if c == 0 {
                n
            } else {
                ((n as f64) * 0.8 / (rank as f64).powf(0.9)).round() as usize
            }
            .clamp(4.min(n), n);
            let main_topic = if c < n_topics + 2 && c >= 2 {
                c - 2
            } else {
                pick_cumulative(&mut rng, &topic_cum)
            };
            let second = pick_cumulative(&mut rng, &topic_cum);
            let social = c == 1 || (c > 2 && rng.random_bool(0.04));
            let base = match c {
                0 => "general".to_string(),
                1 => "random".to_string(),
                _ if social => SOCIAL[rng.random_range(0..SOCIAL.len())].to_string(),
                _ => match rng.random_range(0..5) {
                    0 | 1 => format!("proj-{}", topics[main_topic].project.to_lowercase()),
                    2 => format!("team-{}", AREAS[rng.random_range(0..AREAS.len())]),
                    3 => format!(
                        "{}-{}",
                        AREAS[rng.random_range(0..AREAS.len())],
                        topics[main_topic].keyword.replace(' ', "-")
                    ),
                    _ => format!(
                        "ext-{}",
                        topics[main_topic].customer.to_lowercase().replace(' ', "-")
                    ),
                },
            }
            .replace(' ', "-");
            let mut name = base.clone();
            let mut k = 2;
            while !names_taken.insert(name.clone()) {
                name = format!("{base}-{k}");
                k += 1;
            }
            let private = c > 10 && rng.random_bool(0.25);
            let mut preferred = by_topic[main_topic].clone();
            preferred.extend(&by_topic[second]);
            let members = if size >= n {
                (0..n).collect()
            } else {
                sample_people(&mut rng, size, n, &preferred, 0.6)
            };
            channels.push(SynthChannel {
                id: format!("C{:08}", c + 1),
                name,
                private,
                members,
                topics: vec![main_topic, second],
                social,
            });
        }

        // How many messages each channel gets: by size, with noise; #general is quieter.
        let weights: Vec<f64> = channels
            .iter()
            .enumerate()
            .map(|(c, ch)| {
                let noise = (rng.random::<f64>() * 1.5).exp();
                let w = (ch.members.len() as f64).powf(0.6) * noise;
                if c == 0 { w * 0.3 } else { w }
            })
            .collect();
        let total_w: f64 = weights.iter().sum();
        let mut counts: Vec<usize> = weights
            .iter()
            .map(|w| ((spec.messages as f64) * w / total_w).floor() as usize)
            .collect();
        let short = spec.messages.saturating_sub(counts.iter().sum());
        let mut by_weight: Vec<usize> = (0..channels.len()).collect();
        by_weight.sort_by(|a, b| weights[*b].total_cmp(&weights[*a]));
        for &c in by_weight.iter().cycle().take(short) {
            counts[c] += 1;
        }

        // Messages, discussion by discussion.
        let hour_weights = [
            1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 5.0, 8.0, 9.0, 9.0, 8.0, 7.0, 8.0, 9.0, 9.0, 8.0,
            6.0, 4.0, 3.0, 2.0, 2.0, 1.0, 1.0,
        ];
        let hour_cum = cumulative(&hour_weights);
        let mut stats = Stats::default();
        let mut messages = Vec::with_capacity(spec.messages);
        let mut channel_ranges = Vec::with_capacity(channels.len());
        let mut seq: u64 = 0;
        let mut topic_channels: Vec<HashSet<usize>> = vec![HashSet::new(); n_topics];
        for (c, ch) in channels.iter().enumerate() {
            let start_index = messages.len();
            let mut remaining = counts[c];
            let mut channel_msgs: Vec<PostedMessage> = Vec::with_capacity(remaining);
            while remaining > 0 {
                let len = if rng.random_bool(0.02) {
                    rng.random_range(40..=150)
                } else {
                    (1 + (-(rng.random::<f64>().max(1e-9)).ln() * 4.0) as usize).min(40)
                };
                let len = len.min(remaining);
                remaining -= len;
                stats.discussions += 1;
                let topic = if rng.random_bool(0.65) {
                    ch.topics[0]
                } else if rng.random_bool(0.3) {
                    ch.topics[1]
                } else {
                    pick_cumulative(&mut rng, &topic_cum)
                };
                if !ch.social {
                    topic_channels[topic].insert(c);
                }
                let interested: Vec<usize> = ch
                    .members
                    .iter()
                    .copied()
                    .filter(|u| users[*u].interests.contains(&topic))
                    .take(200)
                    .collect();
                let k = rng.random_range(2..=6usize).min(ch.members.len());
                let mut people: Vec<usize> = Vec::with_capacity(k);
                let mut tries = 0;
                while people.len() < k && tries < 100 {
                    tries += 1;
                    let u = if !interested.is_empty() && rng.random_bool(0.7) {
                        interested[rng.random_range(0..interested.len())]
                    } else {
                        ch.members[rng.random_range(0..ch.members.len())]
                    };
                    if !people.contains(&u) {
                        people.push(u);
                    }
                }
                let hour = pick_cumulative(&mut rng, &hour_cum) as i64;
                let span = (len as i64) * 600;
                let mut at = day_start
                    + (hour * 3600 + rng.random_range(0..3600)).min((86_400 - span).max(0));
                let threaded = len >= 2 && rng.random_bool(0.55);
                let mut parent_ts: Option<String> = None;
                let mut parent_index = 0usize;
                let mut previous_author = usize::MAX;
                for j in 0..len {
                    let author = if j == 0 {
                        people[0]
                    } else {
                        let mut a = people[rng.random_range(0..people.len())];
                        if a == previous_author && people.len() > 1 {
                            a = people[(people.iter().position(|p| *p == a).unwrap_or(0) + 1)
                                % people.len()];
                        }
                        a
                    };
                    previous_author = author;
                    let template = if ch.social {
                        *SOCIAL_LINES.choose(&mut rng).unwrap_or(&SOCIAL_LINES[0])
                    } else if j == 0 {
                        *STARTERS.choose(&mut rng).unwrap_or(&STARTERS[0])
                    } else {
                        *REPLIES.choose(&mut rng).unwrap_or(&REPLIES[0])
                    };
                    let mut mentions = Vec::new();
                    let wants_mention =
                        template.contains("{mention}") || (j == 0 && rng.random_bool(0.15));
                    let mention_name = if wants_mention {
                        let pool: &[usize] = if !interested.is_empty() && rng.random_bool(0.6) {
                            &interested
                        } else {
                            &ch.members
                        };
                        let target = pool[rng.random_range(0..pool.len())];
                        if target != author {
                            mentions.push(users[target].id.clone());
                            Some(format!("@{}", users[target].display_name))
                        } else {
                            None
                        }
                    } else {
                        None
                    };
                    let mut text =
                        fill(template, &topics[topic], &mut rng, mention_name.as_deref());
                    if !template.contains("{mention}")
                        && let Some(name) = &mention_name
                    {
                        text = format!("{name} {text}");
                    }
                    stats.mentions += mentions.len();
                    seq += 1;
                    let ts = format!("{at}.{:06}", seq % 1_000_000);
                    let mut reactions = Vec::new();
                    if rng.random_bool(0.3) {
                        let kinds = rng.random_range(1..=2usize);
                        for _ in 0..kinds {
                            let emoji = EMOJI[rng.random_range(0..EMOJI.len())].to_string();
                            let howmany = rng.random_range(1..=4usize).min(ch.members.len());
                            let reactors =
                                sample_people(&mut rng, howmany, ch.members.len(), &[], 0.0)
                                    .into_iter()
                                    .map(|i| {
                                        let u = if !interested.is_empty() && rng.random_bool(0.5) {
                                            interested[rng.random_range(0..interested.len())]
                                        } else {
                                            ch.members[i]
                                        };
                                        users[u].id.clone()
                                    })
                                    .collect::<HashSet<_>>();
                            let mut reactors: Vec<String> = reactors.into_iter().collect();
                            reactors.sort();
                            if !reactions
                                .iter()
                                .any(|(e, _): &(String, Vec<String>)| *e == emoji)
                            {
                                stats.reactions += reactors.len();
                                reactions.push((emoji, reactors));
                            }
                        }
                    }
                    let thread_ts = if threaded {
                        match &parent_ts {
                            None => {
                                parent_ts = Some(ts.clone());
                                parent_index = channel_msgs.len();
                                Some(ts.clone())
                            }
                            Some(p) => {
                                stats.replies += 1;
                                Some(p.clone())
                            }
                        }
                    } else {
                        None
                    };
                    channel_msgs.push(PostedMessage {
                        channel_id: ch.id.clone(),
                        ts,
                        thread_ts,
                        user_id: Some(users[author].id.clone()),
                        bot_id: None,
                        subtype: None,
                        text,
                        mentions,
                        posted_at: at,
                        edited_at: None,
                        reply_count: None,
                        channel_private: Some(ch.private),
                        reactions,
                    });
                    at = (at + rng.random_range(30..=600)).min(day_start + 86_399);
                }
                if threaded {
                    stats.threads += 1;
                    channel_msgs[parent_index].reply_count = Some(len as i64 - 1);
                }
            }
            channel_msgs
                .sort_by(|a, b| a.posted_at.cmp(&b.posted_at).then_with(|| a.ts.cmp(&b.ts)));
            messages.extend(channel_msgs);
            channel_ranges.push(start_index..messages.len());
        }

        let mut sizes: Vec<usize> = channels.iter().map(|c| c.members.len()).collect();
        sizes.sort_unstable();
        stats.users = n;
        stats.channels = channels.len();
        stats.private_channels = channels.iter().filter(|c| c.private).count();
        stats.memberships = sizes.iter().sum();
        stats.largest_channel = sizes.last().copied().unwrap_or(0);
        stats.median_channel = sizes.get(sizes.len() / 2).copied().unwrap_or(0);
        stats.topics = n_topics;
        stats.cross_channel_topics = topic_channels.iter().filter(|s| s.len() >= 2).count();
        stats.messages = messages.len();
        let visible: usize = channels
            .iter()
            .zip(&channel_ranges)
            .map(|(ch, r)| ch.members.len() * r.len())
            .sum();
        stats.visible_per_user = visible as f64 / n as f64;
        Workspace {
            spec: spec.clone(),
            users,
            channels,
            topics,
            messages,
            channel_ranges,
            stats,
            truth: None,
        }
    }

    /// Adds an org chart: every person gets a true team (sizes 4 to ~3× the mean) and one lead
    /// (two in teams of 20 or more); each team gets a channel (`team-<area>`) with its members
    /// and a few outsiders, where leads assign work ("@x can you take …"), members ask the lead
    /// for approval, and everyone discusses, replies, mentions and reacts mostly within the team.
    /// The topic channels and their messages stay as they were (people meet across teams there).
    pub fn with_teams(mut self, spec: &TeamSpec) -> Workspace {
        let mut rng = StdRng::seed_from_u64(self.spec.seed ^ 0x0726_6f72_6763_6861);
        let n = self.users.len();
        let k = spec.teams.clamp(1, n.max(1));
        // Sizes: a random share of the people each, at least 4.
        let shares: Vec<f64> = (0..k).map(|_| 0.4 + rng.random::<f64>() * 1.6).collect();
        let total: f64 = shares.iter().sum();
        let mut sizes: Vec<usize> = shares
            .iter()
            .map(|s| ((n as f64) * s / total).floor().max(4.0) as usize)
            .collect();
        while sizes.iter().sum::<usize>() > n {
            if let Some(max) = sizes.iter_mut().max() {
                *max -= 1;
            }
        }
        let mut short = n - sizes.iter().sum::<usize>();
        let mut i = 0;
        while short > 0 {
            sizes[i % k] += 1;
            short -= 1;
            i += 1;
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        let mut team_of = vec![0; n];
        let mut members: Vec<Vec<usize>> = Vec::with_capacity(k);
        let mut at = 0;
        for (t, size) in sizes.iter().enumerate() {
            let block: Vec<usize> = order[at..at + size].to_vec();
            at += size;
            for &u in &block {
                team_of[u] = t;
            }
            members.push(block);
        }
        let leads: Vec<Vec<usize>> = members
            .iter()
            .map(|m| {
                m.iter()
                    .take(if m.len() >= 20 { 2 } else { 1 })
                    .copied()
                    .collect()
            })
            .collect();
        let mut names = Vec::with_capacity(k);
        let taken: HashSet<String> = self.channels.iter().map(|c| c.name.clone()).collect();
        for t in 0..k {
            let base = format!("team-{}", AREAS[t % AREAS.len()]);
            let mut name = if t < AREAS.len() {
                base.clone()
            } else {
                format!("{base}-{}", t / AREAS.len() + 1)
            };
            while taken.contains(&name) {
                name.push('x');
            }
            names.push(name);
        }

        // Messages per team, by size.
        let per_team: Vec<usize> = sizes.iter().map(|s| spec.messages * s / n.max(1)).collect();
        let day_start = self.spec.day_start();
        let mut seq: u64 = 500_000;
        for t in 0..k {
            let team = &members[t];
            let mut channel_members: Vec<usize> = team.clone();
            for _ in 0..rng.random_range(0..=2) {
                channel_members.push(rng.random_range(0..n));
            }
            channel_members.sort_unstable();
            channel_members.dedup();
            let c = self.channels.len();
            let id = format!("C9{:07}", t + 1);
            let topic = self.users[team[0]].interests[0];
            let start_index = self.messages.len();
            let mut msgs: Vec<PostedMessage> = Vec::new();
            let mut remaining = per_team[t];
            let pick = |rng: &mut StdRng, team: &[usize]| -> usize {
                if rng.random_bool(spec.outsiders) {
                    rng.random_range(0..n)
                } else {
                    team[rng.random_range(0..team.len())]
                }
            };
            while remaining > 0 {
                let len = (1 + (-(rng.random::<f64>().max(1e-9)).ln() * 3.0) as usize)
                    .min(12)
                    .min(remaining);
                remaining -= len;
                let lead = leads[t][rng.random_range(0..leads[t].len())];
                let roll = rng.random::<f64>();
                let member = team[rng.random_range(0..team.len())];
                let (opener, text, addressee) = if roll < 0.3 && member != lead {
                    let text = fill(
                        ASSIGNMENTS[rng.random_range(0..ASSIGNMENTS.len())],
                        &self.topics[topic],
                        &mut rng,
                        Some(&format!("@{}", self.users[member].display_name)),
                    );
                    (lead, text, Some(member))
                } else if roll < 0.45 && member != lead {
                    let text = fill(
                        APPROVALS[rng.random_range(0..APPROVALS.len())],
                        &self.topics[topic],
                        &mut rng,
                        Some(&format!("@{}", self.users[lead].display_name)),
                    );
                    (member, text, Some(lead))
                } else {
                    let author = pick(&mut rng, team);
                    let template = STARTERS[rng.random_range(0..STARTERS.len())];
                    let text = fill(
                        template,
                        &self.topics[topic],
                        &mut rng,
                        Some(&format!("@{}", self.users[member].display_name)),
                    );
                    let to = template.contains("{mention}") && member != author;
                    (author, text, to.then_some(member))
                };
                let hour = 8 + rng.random_range(0..10i64);
                let mut when = day_start + hour * 3600 + rng.random_range(0..3600);
                let threaded = len >= 2 && rng.random_bool(0.6);
                let mut parent: Option<String> = None;
                let mut parent_index = 0;
                for j in 0..len {
                    let (author, text, mentions) = if j == 0 {
                        let mentions = addressee
                            .filter(|_| text.contains('@'))
                            .map(|a| vec![self.users[a].id.clone()])
                            .unwrap_or_default();
                        (opener, text.clone(), mentions)
                    } else {
                        let author = if j == 1
                            && let Some(a) = addressee
                        {
                            a
                        } else {
                            pick(&mut rng, team)
                        };
                        let text = fill(
                            REPLIES[rng.random_range(0..REPLIES.len())],
                            &self.topics[topic],
                            &mut rng,
                            Some(&format!("@{}", self.users[opener].display_name)),
                        );
                        let mentions = if text.contains('@') && author != opener {
                            vec![self.users[opener].id.clone()]
                        } else {
                            Vec::new()
                        };
                        (author, text, mentions)
                    };
                    seq += 1;
                    let ts = format!("{when}.{:06}", seq % 1_000_000);
                    let mut reactions = Vec::new();
                    if rng.random_bool(0.3) {
                        let mut who: Vec<String> = (0..rng.random_range(1..=3))
                            .map(|_| self.users[pick(&mut rng, team)].id.clone())
                            .collect();
                        who.sort();
                        who.dedup();
                        reactions.push((EMOJI[rng.random_range(0..EMOJI.len())].to_string(), who));
                    }
                    let thread_ts = if threaded {
                        match &parent {
                            None => {
                                parent = Some(ts.clone());
                                parent_index = msgs.len();
                                Some(ts.clone())
                            }
                            Some(p) => Some(p.clone()),
                        }
                    } else {
                        None
                    };
                    self.stats.mentions += mentions.len();
                    msgs.push(PostedMessage {
                        channel_id: id.clone(),
                        ts,
                        thread_ts,
                        user_id: Some(self.users[author].id.clone()),
                        bot_id: None,
                        subtype: None,
                        text,
                        mentions,
                        posted_at: when,
                        edited_at: None,
                        reply_count: None,
                        channel_private: Some(false),
                        reactions,
                    });
                    when = (when + rng.random_range(30..=600)).min(day_start + 86_399);
                }
                if threaded {
                    msgs[parent_index].reply_count = Some(len as i64 - 1);
                }
            }
            msgs.sort_by(|a, b| a.posted_at.cmp(&b.posted_at).then_with(|| a.ts.cmp(&b.ts)));
            self.stats.messages += msgs.len();
            self.messages.extend(msgs);
            self.channel_ranges.push(start_index..self.messages.len());
            self.channels.push(SynthChannel {
                id,
                name: names[t].clone(),
                private: false,
                members: channel_members,
                topics: vec![topic],
                social: false,
            });
            debug_assert_eq!(self.channels.len(), c + 1);
        }
        self.stats.channels = self.channels.len();
        self.truth = Some(OrgTruth {
            team_of,
            leads,
            names,
        });
        self
    }

    /// The messages of channel `c` (index into `channels`).
    pub fn channel_messages(&self, c: usize) -> &[PostedMessage] {
        &self.messages[self.channel_ranges[c].clone()]
    }

    /// Indexes of the channels each user is in.
    pub fn channels_of_users(&self) -> Vec<Vec<usize>> {
        let mut of = vec![Vec::new(); self.users.len()];
        for (c, ch) in self.channels.iter().enumerate() {
            for &u in &ch.members {
                of[u].push(c);
            }
        }
        of
    }

    /// Writes the workspace into `db`: the team, people, channels and members, messages with
    /// reactions, each person's agent row with their zone, and one interest signal per person.
    /// Batched in transactions; on PostgreSQL several batches run at once.
    pub async fn store(&self, db: &Db) -> Result<StoreTimings, DbError> {
        let team = self.spec.team_id.as_str();
        let source_at = self.spec.day_start() + 86_400;
        let parallel = match db.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => 6,
        };
        let mut timings = StoreTimings::default();
        let started = Instant::now();

        teams::upsert(
            db,
            &teams::Team {
                team_id: team.to_string(),
                name: Some("Benchmark Inc".into()),
                bot_user_id: Some("UCHIEFBOT".into()),
                bot_id: Some("BCHIEFBOT".into()),
                bot_token_enc: None,
                status: teams::TeamStatus::Active,
            },
        )
        .await?;

        // People.
        futures::stream::iter(self.users.chunks(2_000))
            .map(|chunk| async move {
                let mut tx = db.begin_write().await?;
                for u in chunk {
                    let (first, last) = u
                        .display_name
                        .split_once(' ')
                        .unwrap_or((&u.display_name, ""));
                    let user = User {
                        user_id: u.id.clone(),
                        name: Some(u.handle.clone()),
                        display_name: Some(u.display_name.clone()),
                        real_name: Some(format!("{first} {last}").trim().to_string()),
                        tz: Some(u.tz.clone()),
                        tz_offset: Some(u.tz_offset),
                        locale: Some("en-US".into()),
                        is_bot: false,
                        deleted: false,
                    };
                    directory::upsert_user(&mut *tx, team, &user, source_at).await?;
                }
                tx.commit().await?;
                Ok::<_, DbError>(())
            })
            .buffer_unordered(parallel)
            .try_collect::<Vec<_>>()
            .await?;
        timings.users_secs = started.elapsed().as_secs_f64();

        // Channels and members.
        let t = Instant::now();
        futures::stream::iter(self.channels.chunks(25))
            .map(|chunk| async move {
                let mut tx = db.begin_write().await?;
                for ch in chunk {
                    let channel = Channel {
                        channel_id: ch.id.clone(),
                        name: Some(ch.name.clone()),
                        is_private: ch.private,
                        is_im: false,
                        is_mpim: false,
                        is_archived: false,
                    };
                    directory::upsert_channel(&mut *tx, team, &channel, source_at).await?;
                    directory::set_bot_member(&mut *tx, team, &ch.id, true).await?;
                    let ids: Vec<String> = ch
                        .members
                        .iter()
                        .map(|u| self.users[*u].id.clone())
                        .collect();
                    directory::replace_members(&mut tx, team, &ch.id, &ids, source_at).await?;
                }
                tx.commit().await?;
                Ok::<_, DbError>(())
            })
            .buffer_unordered(parallel)
            .try_collect::<Vec<_>>()
            .await?;
        timings.channels_secs = t.elapsed().as_secs_f64();

        // Messages (a channel's messages stay in one batch's order: parents before replies).
        let t = Instant::now();
        futures::stream::iter(self.messages.chunks(2_000))
            .map(|chunk| async move {
                let mut tx = db.begin_write().await?;
                for m in chunk {
                    messages::upsert(&mut tx, team, m, messages::Source::Import).await?;
                }
                tx.commit().await?;
                Ok::<_, DbError>(())
            })
            .buffer_unordered(parallel)
            .try_collect::<Vec<_>>()
            .await?;
        timings.messages_secs = t.elapsed().as_secs_f64();

        // Agents (zone, schedule) and a week-old interest signal per person.
        let t = Instant::now();
        let rules = ScheduleRules::default();
        let half_life = HalfLife::default();
        let week_ago = self.spec.day_start() - 6 * 86_400;
        futures::stream::iter(self.users.iter())
            .map(|u| async move {
                profile::set_timezone(
                    db,
                    team,
                    &u.id,
                    Some(&u.tz),
                    Some(u.tz_offset),
                    crate::platform::db::now(),
                    &rules,
                )
                .await?;
                let signal = Signal {
                    id: format!("bench-history-{}", u.id),
                    user_id: u.id.clone(),
                    kind: SignalKind::Wrote,
                    topics: u
                        .interests
                        .iter()
                        .flat_map(|t| {
                            [
                                self.topics[*t].keyword.clone(),
                                self.topics[*t].feature.clone(),
                            ]
                        })
                        .collect(),
                    entities: u
                        .interests
                        .iter()
                        .flat_map(|t| {
                            [
                                self.topics[*t].project.clone(),
                                self.topics[*t].system.clone(),
                            ]
                        })
                        .collect(),
                    people: Vec::new(),
                    at: week_ago,
                };
                profile::apply_signal(db, team, &signal, half_life).await?;
                Ok::<_, DbError>(())
            })
            .buffer_unordered(parallel * 2)
            .try_collect::<Vec<_>>()
            .await?;
        timings.profiles_secs = t.elapsed().as_secs_f64();
        // As the hourly retention pass would have by the morning (see `Db::optimize`).
        db.optimize().await?;
        timings.total_secs = started.elapsed().as_secs_f64();
        Ok(timings)
    }
}

/// How long each part of [`Workspace::store`] took.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StoreTimings {
    pub users_secs: f64,
    pub channels_secs: f64,
    pub messages_secs: f64,
    pub profiles_secs: f64,
    pub total_secs: f64,
}

fn fill(template: &str, topic: &Topic, rng: &mut StdRng, mention: Option<&str>) -> String {
    let mut out = String::with_capacity(template.len() + 40);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let slot = &rest[open + 1..open + close];
        match slot {
            "project" => out.push_str(&topic.project),
            "system" => out.push_str(&topic.system),
            "feature" => out.push_str(&topic.feature),
            "customer" => out.push_str(&topic.customer),
            "metric" => out.push_str(&topic.metric),
            "keyword" => out.push_str(&topic.keyword),
            "day" => out.push_str(DAYS[rng.random_range(0..DAYS.len())]),
            "hour" => out.push_str(&rng.random_range(8..18).to_string()),
            "n" => out.push_str(&rng.random_range(2..500).to_string()),
            "pct" => out.push_str(&(rng.random_range(1..20) * 5).to_string()),
            "mention" => out.push_str(mention.unwrap_or("someone")),
            other => {
                out.push('{');
                out.push_str(other);
                out.push('}');
            }
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn spec() -> Spec {
        Spec::new(
            300,
            30,
            2_000,
            7,
            1_777_939_200, // 2026-05-05T00:00:00Z
        )
    }

    #[test]
    fn the_same_seed_gives_the_same_workspace() {
        let a = Workspace::generate(&spec());
        let b = Workspace::generate(&spec());
        assert_eq!(a.stats, b.stats);
        assert_eq!(a.messages, b.messages);
        let mut other = spec();
        other.seed = 8;
        assert_ne!(Workspace::generate(&other).messages, a.messages);
    }

    #[test]
    fn the_workspace_has_the_requested_size_and_shape() {
        let w = Workspace::generate(&spec());
        assert_eq!(w.users.len(), 300);
        assert_eq!(w.channels.len(), 30);
        assert_eq!(w.messages.len(), 2_000);
        assert_eq!(w.channels[0].members.len(), 300, "#general has everyone");
        assert!(w.channels.iter().all(|c| c.members.len() >= 4));
        assert!(
            w.stats.median_channel < 100,
            "most channels are small: {:?}",
            w.stats
        );
        assert!(w.stats.threads > 0 && w.stats.replies > 0 && w.stats.reactions > 0);
        assert!(w.stats.mentions > 0);
        assert!(w.stats.cross_channel_topics >= 4, "{:?}", w.stats);
        // Every message is by a member of its channel, and ts are unique per channel.
        for (c, ch) in w.channels.iter().enumerate() {
            let members: HashSet<&str> =
                ch.members.iter().map(|u| w.users[*u].id.as_str()).collect();
            let mut ts = HashSet::new();
            for m in w.channel_messages(c) {
                assert!(members.contains(m.user_id.as_deref().unwrap_or("")));
                assert!(ts.insert(m.ts.clone()), "duplicate ts {}", m.ts);
                assert!(m.posted_at >= w.spec.day_start());
                assert!(m.posted_at < w.spec.day_start() + 86_400);
            }
        }
        // Replies point at a parent in the same channel that counts them.
        let parents: HashMap<(&str, &str), i64> = w
            .messages
            .iter()
            .filter(|m| m.reply_count.is_some())
            .map(|m| {
                (
                    (m.channel_id.as_str(), m.ts.as_str()),
                    m.reply_count.unwrap_or(0),
                )
            })
            .collect();
        let mut replies: HashMap<(&str, &str), i64> = HashMap::new();
        for m in w.messages.iter().filter(|m| m.is_reply()) {
            let key = (m.channel_id.as_str(), m.thread_ts.as_deref().unwrap_or(""));
            *replies.entry(key).or_default() += 1;
        }
        assert_eq!(parents, replies);
    }

    #[test]
    fn slots_are_filled() {
        let w = Workspace::generate(&spec());
        assert!(w.messages.iter().all(|m| !m.text.contains('{')));
    }
}
