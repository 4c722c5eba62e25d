//! Today's Priorities: what a person's agent watches, derived from propositions — requests put to
//! them, commitments they made, blockers and decisions in the channels they follow — and the state
//! each is in after what was said since.
//!
//! Pure: the same propositions (in time order) and the same "now" give the same items. An item
//! moves as new propositions arrive:
//! - a **request** to the person is `open` until they report it done (a `status` of theirs after
//!   it in the same channel), `done` then; a reply promising to do it keeps it open — the promise
//!   becomes an item of its own;
//! - a **commitment** of the person is `open` until a `status` of theirs after it, `done` then;
//! - a **blocker** is `blocked` until a later `status` or `decision` in its channel unblocks it;
//! - a **question** put to the person is `open` until they answer in its channel (`answered`);
//! - open items with no progress for `stall_after_secs` of the person's working hours (09:00–17:00
//!   on weekdays, in their UTC offset) are `stalled`: a request made on Friday evening is not
//!   stalled on Monday at 9.

use serde::{Deserialize, Serialize};

use super::domain::{MessageRef, ts_to_epoch};
use super::proposition::{Kind, Proposition, same_person};

/// Where an item stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    Open,
    Stalled,
    Answered,
    Done,
    Blocked,
    Unblocked,
}

impl ItemState {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Open => "open",
            ItemState::Stalled => "stalled",
            ItemState::Answered => "answered",
            ItemState::Done => "done",
            ItemState::Blocked => "blocked",
            ItemState::Unblocked => "unblocked",
        }
    }

    /// Whether the item still wants something of the person.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            ItemState::Open | ItemState::Stalled | ItemState::Blocked
        )
    }
}

/// One watched item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// `request`, `commitment`, `blocker` or `question`.
    pub kind: Kind,
    /// The proposition's statement ("Micah asks Neeraj to add content to the meetup page").
    pub text: String,
    pub state: ItemState,
    /// By when, when the proposition says (`YYYY-MM-DD`).
    pub due: Option<String>,
    /// The messages it comes from, then the ones that moved it.
    pub sources: Vec<MessageRef>,
    /// Epoch seconds of its last progress (its first message, or the last that moved it).
    pub last_progress: i64,
}

/// Who the items are for, and when "stalled" begins.
#[derive(Clone, Debug)]
pub struct Watch<'a> {
    /// Every name that means the person.
    pub names: &'a [String],
    /// Channels (ids) whose blockers matter to them: the ones they follow.
    pub channels: &'a [String],
    pub now: i64,
    /// No progress for this long (working time) makes an open item stalled.
    pub stall_after_secs: i64,
    /// The person's UTC offset, for their working hours.
    pub utc_offset_secs: i32,
}

/// Working hours: 09:00 to 17:00 local, Monday to Friday.
const WORK_START: i64 = 9 * 3600;
const WORK_END: i64 = 17 * 3600;

/// Seconds of working time between `from` and `to` (epoch seconds) at a UTC offset.
pub fn working_secs(from: i64, to: i64, utc_offset_secs: i32) -> i64 {
    if to <= from {
        return 0;
    }
    let off = i64::from(utc_offset_secs);
    let (from, to) = (from + off, to + off);
    let mut total = 0;
    let mut day = from.div_euclid(86_400);
    while day * 86_400 < to {
        // 1970-01-01 was a Thursday: day 0 → weekday 3 (Monday = 0).
        let weekday = (day + 3).rem_euclid(7);
        if weekday < 5 {
            let start = (day * 86_400 + WORK_START).max(from);
            let end = (day * 86_400 + WORK_END).min(to);
            total += (end - start).max(0);
        }
        day += 1;
    }
    total
}

fn posted(p: &Proposition) -> i64 {
    p.sources
        .iter()
        .filter_map(|s| ts_to_epoch(&s.ts))
        .min()
        .unwrap_or(0)
}

fn channel(p: &Proposition) -> &str {
    p.sources.first().map_or("", |s| s.channel_id.as_str())
}

/// The items `watch` follows among `propositions` (any order), oldest first.
pub fn items(propositions: &[Proposition], watch: &Watch) -> Vec<Item> {
    let mut props: Vec<&Proposition> = propositions.iter().collect();
    props.sort_by_key(|p| posted(p));
    let is_person = |name: &str| watch.names.iter().any(|n| same_person(n, name));
    let mut out: Vec<Item> = Vec::new();
    for (i, p) in props.iter().enumerate() {
        let watched = match p.kind {
            Kind::Request | Kind::Question => {
                p.addressee.as_deref().is_some_and(is_person) && !is_person(&p.subject)
            }
            Kind::Commitment => is_person(&p.subject),
            Kind::Blocker => watch.channels.iter().any(|c| c == channel(p)),
            _ => false,
        };
        if !watched {
            continue;
        }
        let mut item = Item {
            kind: p.kind,
            text: p.statement.clone(),
            state: if p.kind == Kind::Blocker {
                ItemState::Blocked
            } else {
                ItemState::Open
            },
            due: p.due.clone(),
            sources: p.sources.clone(),
            last_progress: posted(p),
        };
        for later in props[i + 1..]
            .iter()
            .filter(|l| channel(l) == channel(p) && posted(l) >= posted(p))
        {
            let by_person = is_person(&later.subject);
            let moved = match (p.kind, later.kind) {
                (Kind::Request | Kind::Commitment, Kind::Status) if by_person => {
                    Some(ItemState::Done)
                }
                (Kind::Request, Kind::Commitment) if by_person => Some(ItemState::Open),
                (Kind::Question, Kind::Answer | Kind::Status | Kind::Fyi) if by_person => {
                    Some(ItemState::Answered)
                }
                (Kind::Blocker, Kind::Status | Kind::Decision) => Some(ItemState::Unblocked),
                _ => None,
            };
            if let Some(state) = moved {
                item.state = state;
                item.last_progress = posted(later);
                for s in &later.sources {
                    if !item.sources.contains(s) {
                        item.sources.push(s.clone());
                    }
                }
                if !state.is_pending() {
                    break;
                }
            }
        }
        if item.state == ItemState::Open
            && working_secs(item.last_progress, watch.now, watch.utc_offset_secs)
                > watch.stall_after_secs
        {
            item.state = ItemState::Stalled;
        }
        // One item per thing: the same statement twice (a batch extracted twice) is one.
        if !out
            .iter()
            .any(|o| o.text == item.text && o.kind == item.kind)
        {
            out.push(item);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::proposition::{Entities, Modality};

    fn prop(kind: Kind, subject: &str, to: Option<&str>, at: i64, text: &str) -> Proposition {
        Proposition {
            statement: text.into(),
            subject: subject.into(),
            predicate: String::new(),
            object: String::new(),
            time: None,
            modality: Modality::Statement,
            kind,
            polarity: Default::default(),
            addressee: to.map(String::from),
            due: None,
            entities: Entities::default(),
            sources: vec![MessageRef {
                channel_id: "C1".into(),
                ts: format!("{at}.000100"),
            }],
        }
    }

    fn watch(now: i64) -> Watch<'static> {
        static NAMES: std::sync::LazyLock<Vec<String>> =
            std::sync::LazyLock::new(|| vec!["Dana Kim".to_string()]);
        static CHANNELS: std::sync::LazyLock<Vec<String>> =
            std::sync::LazyLock::new(|| vec!["C1".to_string()]);
        Watch {
            names: &NAMES,
            channels: &CHANNELS,
            now,
            stall_after_secs: 8 * 3600,
            utc_offset_secs: 0,
        }
    }

    #[test]
    fn a_request_stays_open_through_a_promise_and_closes_when_done() {
        let ask = prop(
            Kind::Request,
            "Priya",
            Some("Dana"),
            1_000,
            "Priya asks Dana to review",
        );
        let promise = prop(
            Kind::Commitment,
            "Dana Kim",
            None,
            2_000,
            "Dana will review today",
        );
        let done = prop(Kind::Status, "Dana Kim", None, 3_000, "Dana reviewed it");
        let open = items(&[ask.clone(), promise.clone()], &watch(2_500));
        assert_eq!(open.len(), 2);
        assert_eq!(open[0].state, ItemState::Open);
        assert_eq!(
            open[0].sources.len(),
            2,
            "the promise is a source of the request"
        );
        assert_eq!(open[1].kind, Kind::Commitment);
        let closed = items(&[ask, promise, done], &watch(3_500));
        assert!(
            closed.iter().all(|i| i.state == ItemState::Done),
            "{closed:#?}"
        );
    }

    /// Monday 2 February 2026, 09:00 UTC.
    const MONDAY_9: i64 = 1_770_022_800;

    #[test]
    fn no_progress_for_the_stall_time_in_working_hours_is_stalled() {
        let ask = prop(
            Kind::Request,
            "Priya",
            Some("Dana"),
            MONDAY_9,
            "Priya asks Dana",
        );
        let at = |secs: i64| items(std::slice::from_ref(&ask), &watch(MONDAY_9 + secs))[0].state;
        assert_eq!(at(3_600), ItemState::Open);
        // Monday 09:00 → Tuesday 10:00 is 9 working hours.
        assert_eq!(at(25 * 3_600), ItemState::Stalled);
        // Monday 09:00 → Monday 23:00 is 8 working hours: not yet.
        assert_eq!(at(14 * 3_600), ItemState::Open);
    }

    #[test]
    fn weekends_and_nights_are_not_working_time() {
        let friday_16 = MONDAY_9 - 3 * 86_400 + 7 * 3_600;
        assert_eq!(working_secs(friday_16, MONDAY_9 + 3_600, 0), 2 * 3_600);
        // The same instants, two hours east: Friday 18:00 → Monday 12:00 local.
        assert_eq!(working_secs(friday_16, MONDAY_9 + 3_600, 7_200), 3 * 3_600);
    }

    #[test]
    fn blockers_in_followed_channels_until_unblocked_and_nothing_else() {
        let blocker = prop(
            Kind::Blocker,
            "Joao",
            None,
            1_000,
            "The dry run is blocked on a cert",
        );
        let fixed = prop(
            Kind::Status,
            "Joao",
            None,
            2_000,
            "The cert arrived, dry run is back",
        );
        let someone_else = prop(
            Kind::Request,
            "Priya",
            Some("Marco"),
            1_500,
            "Priya asks Marco",
        );
        let got = items(&[blocker.clone(), someone_else.clone()], &watch(1_600));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].state, ItemState::Blocked);
        let got = items(&[blocker, fixed, someone_else], &watch(2_100));
        assert_eq!(got[0].state, ItemState::Unblocked);
    }
}
