//! What each user cares about: a decayed score per topic and entity, and per person they deal
//! with ("close" people), learned from what they do and from their feedback. Pure: the
//! repository (`crate::platform::db::profile`) loads a profile, applies a [`Signal`] and stores it back.
//!
//! Scores decay exponentially: a score `s` stored at `updated_at` is worth
//! `s · 0.5^((now − updated_at) / half_life)` at `now`. Only `(score, updated_at)` is stored and
//! the decay is applied lazily whenever a score is read or updated, so no batch job ever
//! rewrites the table. Interest fades unless it is renewed, which is what "interest" means for a
//! busy person: last month's incident should not outrank this week's launch.
//!
//! ## Signal weights
//!
//! | signal | topics and entities | people | why |
//! |---|---|---|---|
//! | [`SignalKind::Wrote`] | +1.0 | +1.0 | they started a discussion about it |
//! | [`SignalKind::Replied`] | +1.5 | +1.5 | they chose to engage with someone else's discussion |
//! | [`SignalKind::Mentioned`] | +0.8 | +1.0 | someone pulled them in: relevant, not necessarily chosen |
//! | [`SignalKind::Reacted`] | +0.3 | +0.5 | cheap, but still a sign they read it |
//! | [`SignalKind::MoreLikeThis`] | +3.0 | 0 | explicit feedback on a briefing story |
//! | [`SignalKind::LessLikeThis`] | −4.0 | 0 | explicit, and a wrong story costs more than a missed one |
//! | [`SignalKind::ManualAdd`] | +5.0, pinned | 0 | `/chief interests add` |
//! | [`SignalKind::ManualRemove`] | suppressed | 0 | `/chief interests remove` |
//!
//! Scores are clamped to ±[`MAX_SCORE`], so a flood of messages cannot build a score that
//! feedback can no longer move. Negative scores (after "less like this") decay back towards zero
//! like positive ones: the topic recovers only if the user engages with it again. A *pinned*
//! interest (manually added) never decays below [`PINNED_FLOOR`]; a *suppressed* one (manually
//! removed) reads as −[`MAX_SCORE`] whatever happens until it is added again, so a removed topic
//! stays down. Feedback never touches people: "less like this" is about the story, not about who
//! was in it.
//!
//! Applying the same signals in any order gives the same scores (a late signal is decayed to the
//! stored time before it is added), so out-of-order delivery by the event bus is harmless;
//! duplicates are the repository's job (it records each applied signal id).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Seven days: a topic nobody touches for a week is worth half as much.
pub const DEFAULT_HALF_LIFE_SECS: i64 = 7 * 86_400;
/// Scores are clamped to `[-MAX_SCORE, MAX_SCORE]`.
pub const MAX_SCORE: f64 = 25.0;
/// A manually added interest never reads lower than this.
pub const PINNED_FLOOR: f64 = 3.0;
/// Keys longer than this are cut (a "topic" that long is a sentence, not a topic).
const MAX_KEY_CHARS: usize = 100;

/// How fast interest fades.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HalfLife {
    secs: i64,
}

impl HalfLife {
    /// At least one second, so the decay formula never divides by zero.
    pub fn from_secs(secs: i64) -> Self {
        HalfLife { secs: secs.max(1) }
    }

    pub fn days(days: i64) -> Self {
        Self::from_secs(days.saturating_mul(86_400))
    }

    pub fn secs(self) -> i64 {
        self.secs
    }

    /// The factor a score shrinks by over `elapsed` seconds (1 for no or negative time).
    pub fn factor(self, elapsed: i64) -> f64 {
        if elapsed <= 0 {
            1.0
        } else {
            0.5f64.powf(elapsed as f64 / self.secs as f64)
        }
    }
}

impl Default for HalfLife {
    fn default() -> Self {
        Self::from_secs(DEFAULT_HALF_LIFE_SECS)
    }
}

/// What the user did that says something about their interests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// They wrote a message about it.
    Wrote,
    /// They were mentioned in a discussion about it.
    Mentioned,
    /// They replied in a thread about it.
    Replied,
    /// They reacted to a message about it.
    Reacted,
    /// "More like this" on a briefing story.
    MoreLikeThis,
    /// "Less like this" on a briefing story.
    LessLikeThis,
    /// `/chief interests add …`
    ManualAdd,
    /// `/chief interests remove …`
    ManualRemove,
}

impl SignalKind {
    /// The score a topic or entity gains (or loses) from one such signal. See the module docs.
    pub fn topic_weight(self) -> f64 {
        match self {
            SignalKind::Wrote => 1.0,
            SignalKind::Replied => 1.5,
            SignalKind::Mentioned => 0.8,
            SignalKind::Reacted => 0.3,
            SignalKind::MoreLikeThis => 3.0,
            SignalKind::LessLikeThis => -4.0,
            SignalKind::ManualAdd => 5.0,
            SignalKind::ManualRemove => 0.0,
        }
    }

    /// The closeness a person in the signal gains. Feedback and manual edits are about topics.
    pub fn person_weight(self) -> f64 {
        match self {
            SignalKind::Wrote | SignalKind::Mentioned => 1.0,
            SignalKind::Replied => 1.5,
            SignalKind::Reacted => 0.5,
            SignalKind::MoreLikeThis
            | SignalKind::LessLikeThis
            | SignalKind::ManualAdd
            | SignalKind::ManualRemove => 0.0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::Wrote => "wrote",
            SignalKind::Mentioned => "mentioned",
            SignalKind::Replied => "replied",
            SignalKind::Reacted => "reacted",
            SignalKind::MoreLikeThis => "more_like_this",
            SignalKind::LessLikeThis => "less_like_this",
            SignalKind::ManualAdd => "manual_add",
            SignalKind::ManualRemove => "manual_remove",
        }
    }
}

/// One observation about one user. Built by whoever sees the event (ingestion, feedback
/// buttons, `/chief interests`); `id` is unique per logical event so a redelivered signal is
/// applied once.
///
/// Closeness goes both ways: when B replies to, mentions or reacts to A's message, emit a signal
/// for B (`people: [A]`, with the discussion's topics) *and* one for A (`people: [B]`, no
/// topics: being answered says nothing about A's interests), each with its own `id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub id: String,
    pub user_id: String,
    pub kind: SignalKind,
    /// Topics as extracted (any case; normalised here).
    pub topics: Vec<String>,
    /// Named things: services, projects, customers…
    pub entities: Vec<String>,
    /// User ids of the other people involved (the author replied to, whoever mentioned them…).
    pub people: Vec<String>,
    /// When it happened, epoch seconds.
    pub at: i64,
}

/// Which map an interest lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InterestKind {
    Topic,
    Entity,
    Person,
}

impl InterestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InterestKind::Topic => "topic",
            InterestKind::Entity => "entity",
            InterestKind::Person => "person",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "topic" => Some(InterestKind::Topic),
            "entity" => Some(InterestKind::Entity),
            "person" => Some(InterestKind::Person),
            _ => None,
        }
    }
}

/// One stored score.
#[derive(Clone, Debug, PartialEq)]
pub struct Interest {
    pub kind: InterestKind,
    /// Normalised: lower case, single spaces, no surrounding punctuation (people: the user id).
    pub key: String,
    /// How to show it: the first form seen, or the form the user typed when adding it.
    pub display: String,
    /// The score as of `updated_at`, before decay.
    pub score: f64,
    pub updated_at: i64,
    /// Manually added: never decays below [`PINNED_FLOOR`].
    pub pinned: bool,
    /// Manually removed: reads as −[`MAX_SCORE`] until added again.
    pub suppressed: bool,
}

impl Interest {
    fn new(kind: InterestKind, key: String, display: String, at: i64) -> Self {
        Interest {
            kind,
            key,
            display,
            score: 0.0,
            updated_at: at,
            pinned: false,
            suppressed: false,
        }
    }

    /// The effective score at `now`.
    pub fn score_at(&self, now: i64, half_life: HalfLife) -> f64 {
        if self.suppressed {
            return -MAX_SCORE;
        }
        let decayed = self.score * half_life.factor(now - self.updated_at);
        if self.pinned {
            decayed.max(PINNED_FLOOR)
        } else {
            decayed
        }
    }

    /// Adds `weight` as of `at`, decaying whichever of the two is older to the newer time.
    fn add(&mut self, weight: f64, at: i64, half_life: HalfLife) {
        let score = if at >= self.updated_at {
            let s = self.score * half_life.factor(at - self.updated_at) + weight;
            self.updated_at = at;
            s
        } else {
            self.score + weight * half_life.factor(self.updated_at - at)
        };
        self.score = score.clamp(-MAX_SCORE, MAX_SCORE);
    }
}

/// Normalises a topic or entity as typed or extracted: `"  #Payments   Migration. "` →
/// `"payments migration"`. `None` when nothing is left.
pub fn normalize_key(raw: &str) -> Option<String> {
    let display = display_form(raw);
    (!display.is_empty()).then(|| display.to_lowercase())
}

/// The form shown to users: single spaces, no leading `#`/`@`, no surrounding punctuation or
/// quotes (but `C++` and `C#` keep theirs), at most [`MAX_KEY_CHARS`] characters.
fn display_form(raw: &str) -> String {
    let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let surrounding =
        |c: char| c.is_ascii_punctuation() && c != '+' && c != '#' || matches!(c, '“' | '”');
    collapsed
        .trim_start_matches(['#', '@'])
        .trim_matches(surrounding)
        .trim()
        .chars()
        .take(MAX_KEY_CHARS)
        .collect()
}

/// One user's interests and close people.
#[derive(Clone, Debug, PartialEq)]
pub struct InterestProfile {
    pub user_id: String,
    half_life: HalfLife,
    entries: BTreeMap<(InterestKind, String), Interest>,
}

impl InterestProfile {
    pub fn new(user_id: impl Into<String>, half_life: HalfLife) -> Self {
        InterestProfile {
            user_id: user_id.into(),
            half_life,
            entries: BTreeMap::new(),
        }
    }

    /// A profile from stored rows.
    pub fn from_entries(
        user_id: impl Into<String>,
        half_life: HalfLife,
        entries: impl IntoIterator<Item = Interest>,
    ) -> Self {
        let mut p = Self::new(user_id, half_life);
        for e in entries {
            p.entries.insert((e.kind, e.key.clone()), e);
        }
        p
    }

    pub fn half_life(&self) -> HalfLife {
        self.half_life
    }

    pub fn entries(&self) -> impl Iterator<Item = &Interest> {
        self.entries.values()
    }

    pub fn get(&self, kind: InterestKind, key: &str) -> Option<&Interest> {
        self.entries.get(&(kind, key.to_string()))
    }

    /// Applies one signal; returns the entries it changed (what the repository writes back).
    /// Signals for another user are ignored.
    pub fn apply(&mut self, signal: &Signal) -> Vec<&Interest> {
        if signal.user_id != self.user_id {
            return Vec::new();
        }
        let mut touched: BTreeSet<(InterestKind, String)> = BTreeSet::new();
        let things = signal
            .topics
            .iter()
            .map(|t| (InterestKind::Topic, t))
            .chain(signal.entities.iter().map(|e| (InterestKind::Entity, e)));
        for (kind, raw) in things {
            let Some(key) = normalize_key(raw) else {
                continue;
            };
            if touched.contains(&(kind, key.clone())) {
                continue; // "Rust" and "rust" in one signal count once
            }
            if self.apply_to_thing(kind, &key, raw, signal) {
                touched.insert((kind, key));
            }
        }
        let weight = signal.kind.person_weight();
        if weight != 0.0 {
            for raw in &signal.people {
                let id = raw.trim();
                if id.is_empty() || id == self.user_id {
                    continue;
                }
                let k = (InterestKind::Person, id.to_string());
                if !touched.insert(k.clone()) {
                    continue;
                }
                let half_life = self.half_life;
                self.entries
                    .entry(k)
                    .or_insert_with(|| {
                        Interest::new(InterestKind::Person, id.into(), id.into(), signal.at)
                    })
                    .add(weight, signal.at, half_life);
            }
        }
        touched.iter().filter_map(|k| self.entries.get(k)).collect()
    }

    /// Returns whether the entry changed.
    fn apply_to_thing(
        &mut self,
        kind: InterestKind,
        key: &str,
        raw: &str,
        signal: &Signal,
    ) -> bool {
        let half_life = self.half_life;
        let at = signal.at;
        let exists = self.entries.contains_key(&(kind, key.to_string()));
        let suppressed = self
            .entries
            .get(&(kind, key.to_string()))
            .is_some_and(|e| e.suppressed);
        match signal.kind {
            // A removed topic stays down: implicit signals and feedback do not revive it.
            k if suppressed && k != SignalKind::ManualAdd && k != SignalKind::ManualRemove => false,
            SignalKind::ManualRemove => {
                if !exists {
                    self.entries.insert(
                        (kind, key.to_string()),
                        Interest::new(kind, key.into(), display_form(raw), at),
                    );
                }
                if let Some(e) = self.entries.get_mut(&(kind, key.to_string())) {
                    e.display = display_form(raw);
                    e.suppressed = true;
                    e.pinned = false;
                    e.score = -MAX_SCORE;
                    e.updated_at = e.updated_at.max(at);
                }
                true
            }
            k => {
                let e = self
                    .entries
                    .entry((kind, key.to_string()))
                    .or_insert_with(|| Interest::new(kind, key.into(), display_form(raw), at));
                match k {
                    SignalKind::ManualAdd => {
                        if e.suppressed {
                            e.suppressed = false;
                            e.score = 0.0;
                        }
                        e.pinned = true;
                        e.display = display_form(raw);
                    }
                    SignalKind::LessLikeThis => e.pinned = false,
                    _ => {}
                }
                e.add(k.topic_weight(), at, half_life);
                true
            }
        }
    }

    /// How much the user cares about `key` (a topic or an entity, any case) at `now`: the
    /// higher of its topic and entity scores, −[`MAX_SCORE`] when removed under either, 0 when
    /// unknown.
    pub fn score_of(&self, key: &str, now: i64) -> f64 {
        let Some(key) = normalize_key(key) else {
            return 0.0;
        };
        let found: Vec<&Interest> = [InterestKind::Topic, InterestKind::Entity]
            .into_iter()
            .filter_map(|k| self.entries.get(&(k, key.clone())))
            .collect();
        if found.iter().any(|e| e.suppressed) {
            return -MAX_SCORE;
        }
        found
            .iter()
            .map(|e| e.score_at(now, self.half_life))
            .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))))
            .unwrap_or(0.0)
    }

    /// The `n` topics and entities with the highest positive score at `now`, as
    /// `(display, score)`, best first (ties by key, so the order is stable).
    pub fn top(&self, n: usize, now: i64) -> Vec<(String, f64)> {
        let mut best: BTreeMap<&str, (&str, f64, bool)> = BTreeMap::new();
        for e in self.entries.values() {
            if e.kind == InterestKind::Person {
                continue;
            }
            let s = e.score_at(now, self.half_life);
            let slot = best
                .entry(e.key.as_str())
                .or_insert((e.display.as_str(), s, false));
            if s > slot.1 {
                *slot = (e.display.as_str(), s, slot.2);
            }
            slot.2 |= e.suppressed;
        }
        let mut ranked: Vec<(&str, &str, f64)> = best
            .into_iter()
            .filter(|(_, (_, s, suppressed))| !suppressed && *s > 0.0)
            .map(|(k, (d, s, _))| (k, d, s))
            .collect();
        ranked.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(b.0)));
        ranked
            .into_iter()
            .take(n)
            .map(|(_, d, s)| (d.to_string(), s))
            .collect()
    }

    /// The `n` people the user deals with most at `now`, as `(user id, score)`, closest first.
    pub fn close_people(&self, n: usize, now: i64) -> Vec<(String, f64)> {
        let mut people: Vec<(String, f64)> = self
            .entries
            .values()
            .filter(|e| e.kind == InterestKind::Person)
            .map(|e| (e.display.clone(), e.score_at(now, self.half_life)))
            .filter(|(_, s)| *s > 0.0)
            .collect();
        people.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        people.truncate(n);
        people
    }

    /// What the user removed (display forms, sorted): shown by `/chief interests`.
    pub fn suppressed(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .entries
            .values()
            .filter(|e| e.suppressed)
            .map(|e| e.display.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// What the user added by hand (display forms, sorted).
    pub fn pinned(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .entries
            .values()
            .filter(|e| e.pinned)
            .map(|e| e.display.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const T0: i64 = 1_700_000_000;

    fn signal(id: &str, kind: SignalKind, topics: &[&str], at: i64) -> Signal {
        Signal {
            id: id.into(),
            user_id: "U1".into(),
            kind,
            topics: topics.iter().map(|s| s.to_string()).collect(),
            entities: vec![],
            people: vec![],
            at,
        }
    }

    fn profile() -> InterestProfile {
        InterestProfile::new("U1", HalfLife::default())
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_score_halves_after_one_half_life_and_quarters_after_two() {
        let mut p = profile();
        p.apply(&signal("s1", SignalKind::MoreLikeThis, &["Payments"], T0));
        assert!(close(p.score_of("payments", T0), 3.0));
        assert!(close(p.score_of("payments", T0 + 7 * DAY), 1.5));
        assert!(close(p.score_of("payments", T0 + 14 * DAY), 0.75));
        let fast = InterestProfile::from_entries("U1", HalfLife::days(1), p.entries().cloned());
        assert!(close(fast.score_of("payments", T0 + DAY), 1.5));
    }

    #[test]
    fn each_signal_kind_adds_its_documented_weight() {
        for (kind, want) in [
            (SignalKind::Wrote, 1.0),
            (SignalKind::Replied, 1.5),
            (SignalKind::Mentioned, 0.8),
            (SignalKind::Reacted, 0.3),
            (SignalKind::MoreLikeThis, 3.0),
            (SignalKind::LessLikeThis, -4.0),
            (SignalKind::ManualAdd, 5.0),
        ] {
            let mut p = profile();
            p.apply(&signal("s", kind, &["x"], T0));
            assert!(close(p.score_of("x", T0), want), "{kind:?}");
        }
    }

    #[test]
    fn renewed_interest_adds_to_the_decayed_score() {
        let mut p = profile();
        p.apply(&signal("a", SignalKind::Wrote, &["rust"], T0));
        p.apply(&signal("b", SignalKind::Wrote, &["rust"], T0 + 7 * DAY));
        assert!(close(p.score_of("rust", T0 + 7 * DAY), 1.5));
    }

    #[test]
    fn feedback_flips_the_ranking() {
        let mut p = profile();
        let now = T0 + DAY;
        for (i, at) in [T0, T0 + 10, T0 + 20].into_iter().enumerate() {
            p.apply(&signal(
                &format!("w{i}"),
                SignalKind::Wrote,
                &["Incident review"],
                at,
            ));
        }
        p.apply(&signal("w9", SignalKind::Wrote, &["Hiring"], T0));
        assert_eq!(p.top(2, now)[0].0, "Incident review");

        p.apply(&signal(
            "f1",
            SignalKind::LessLikeThis,
            &["incident review"],
            now,
        ));
        p.apply(&signal("f2", SignalKind::MoreLikeThis, &["hiring"], now));
        let top = p.top(2, now);
        assert_eq!(top.len(), 1, "a negative score is not an interest: {top:?}");
        assert_eq!(top[0].0, "Hiring");
        assert!(p.score_of("incident review", now) < 0.0);
        assert!(
            p.score_of("incident review", now + 60 * DAY) > -0.01,
            "negatives fade too"
        );
    }

    #[test]
    fn a_removed_topic_stays_down_until_added_again() {
        let mut p = profile();
        p.apply(&signal("w", SignalKind::Wrote, &["kubernetes"], T0));
        p.apply(&signal("a", SignalKind::ManualRemove, &["#Kubernetes"], T0));
        for i in 0..50 {
            p.apply(&signal(
                &format!("w{i}"),
                SignalKind::Replied,
                &["kubernetes"],
                T0 + i,
            ));
        }
        p.apply(&signal(
            "m",
            SignalKind::MoreLikeThis,
            &["Kubernetes"],
            T0 + 100,
        ));
        for later in [T0 + 100, T0 + 365 * DAY] {
            assert_eq!(p.score_of("kubernetes", later), -MAX_SCORE);
        }
        assert!(p.top(10, T0 + 100).is_empty());
        assert_eq!(p.suppressed(), vec!["Kubernetes".to_string()]);

        p.apply(&signal(
            "b",
            SignalKind::ManualAdd,
            &["k8s", "Kubernetes"],
            T0 + 200,
        ));
        assert!(close(p.score_of("kubernetes", T0 + 200), 5.0));
        assert!(p.suppressed().is_empty());
    }

    #[test]
    fn removal_under_one_kind_hides_the_key_under_the_other() {
        let mut p = profile();
        let mut s = signal("e", SignalKind::Wrote, &[], T0);
        s.entities = vec!["Stripe".into()];
        p.apply(&s);
        assert!(p.score_of("stripe", T0) > 0.0);
        p.apply(&signal("r", SignalKind::ManualRemove, &["stripe"], T0));
        assert_eq!(p.score_of("Stripe", T0), -MAX_SCORE);
        assert!(p.top(5, T0).is_empty());
    }

    #[test]
    fn a_manually_added_interest_never_fades_below_the_floor() {
        let mut p = profile();
        p.apply(&signal(
            "a",
            SignalKind::ManualAdd,
            &["Payments migration"],
            T0,
        ));
        assert!(close(
            p.score_of("payments migration", T0 + 365 * DAY),
            PINNED_FLOOR
        ));
        assert_eq!(p.pinned(), vec!["Payments migration".to_string()]);
        p.apply(&signal(
            "l",
            SignalKind::LessLikeThis,
            &["payments migration"],
            T0 + 365 * DAY,
        ));
        assert!(
            p.score_of("payments migration", T0 + 365 * DAY) < 0.0,
            "feedback unpins"
        );
    }

    #[test]
    fn scores_are_clamped_so_feedback_can_still_move_them() {
        let mut p = profile();
        for i in 0..100 {
            p.apply(&signal(
                &format!("s{i}"),
                SignalKind::MoreLikeThis,
                &["x"],
                T0,
            ));
        }
        assert!(close(p.score_of("x", T0), MAX_SCORE));
        for i in 0..100 {
            p.apply(&signal(
                &format!("l{i}"),
                SignalKind::LessLikeThis,
                &["x"],
                T0,
            ));
        }
        assert!(close(p.score_of("x", T0), -MAX_SCORE));
    }

    #[test]
    fn the_order_signals_arrive_in_does_not_matter() {
        let signals = [
            signal("a", SignalKind::Wrote, &["rust"], T0),
            signal("b", SignalKind::Replied, &["rust"], T0 + 3 * DAY),
            signal("c", SignalKind::Reacted, &["rust"], T0 + 9 * DAY),
            signal("d", SignalKind::LessLikeThis, &["rust"], T0 + DAY),
        ];
        let mut forward = profile();
        signals.iter().for_each(|s| {
            forward.apply(s);
        });
        let mut backward = profile();
        signals.iter().rev().for_each(|s| {
            backward.apply(s);
        });
        let now = T0 + 10 * DAY;
        assert!(close(
            forward.score_of("rust", now),
            backward.score_of("rust", now)
        ));
    }

    #[test]
    fn keys_are_normalised_and_the_first_display_form_is_kept() {
        assert_eq!(
            normalize_key("  #Payments   Migration. "),
            Some("payments migration".into())
        );
        assert_eq!(normalize_key("C++"), Some("c++".into()));
        assert_eq!(normalize_key("C#"), Some("c#".into()));
        assert_eq!(normalize_key(" ... "), None);
        let mut p = profile();
        p.apply(&signal(
            "a",
            SignalKind::Wrote,
            &["Payments API", "payments api", ""],
            T0,
        ));
        assert!(
            close(p.score_of("PAYMENTS API", T0), 1.0),
            "one signal counts once per key"
        );
        p.apply(&signal("b", SignalKind::Wrote, &["PAYMENTS API"], T0));
        assert_eq!(p.top(1, T0)[0].0, "Payments API");
        p.apply(&signal("c", SignalKind::ManualAdd, &["payments API"], T0));
        assert_eq!(
            p.top(1, T0)[0].0,
            "payments API",
            "what the user typed wins"
        );
    }

    #[test]
    fn close_people_come_from_interactions_not_feedback_and_exclude_oneself() {
        let mut p = profile();
        let mut s = signal("r1", SignalKind::Replied, &["x"], T0);
        s.people = vec!["U2".into(), "U1".into(), "U2".into()];
        p.apply(&s);
        let mut s = signal("m1", SignalKind::Mentioned, &[], T0);
        s.people = vec!["U3".into()];
        p.apply(&s);
        let mut s = signal("l1", SignalKind::LessLikeThis, &["x"], T0);
        s.people = vec!["U3".into()];
        p.apply(&s);
        assert_eq!(
            p.close_people(5, T0),
            vec![("U2".to_string(), 1.5), ("U3".to_string(), 1.0)]
        );
        assert!(close(p.close_people(1, T0 + 7 * DAY)[0].1, 0.75));
        assert_eq!(p.score_of("U2", T0), 0.0, "people are not topics");
    }

    #[test]
    fn apply_reports_what_changed_and_ignores_other_users() {
        let mut p = profile();
        let mut s = signal("a", SignalKind::Wrote, &["a", "b"], T0);
        s.people = vec!["U9".into()];
        assert_eq!(p.apply(&s).len(), 3);
        p.apply(&signal("r", SignalKind::ManualRemove, &["a"], T0));
        assert_eq!(
            p.apply(&signal("w", SignalKind::Wrote, &["a"], T0)).len(),
            0
        );
        let mut other = signal("o", SignalKind::Wrote, &["z"], T0);
        other.user_id = "U2".into();
        assert!(p.apply(&other).is_empty());
        assert_eq!(p.score_of("z", T0), 0.0);
    }
}
