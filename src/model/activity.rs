//! When each user starts their day, learned from what they do, and when to prepare and deliver
//! their briefing as a result. Pure: the repository (`crate::platform::db::profile`) stores one
//! [`ActivityDay`] per user and local date and calls [`learn_usual_time`] and [`next_plan`].
//!
//! * The signal is the first thing a user does each local day: a message, a reaction, opening
//!   chief's App Home. Its local wall-clock time (in the user's time zone *at that moment*, so a
//!   DST change or a trip does not shift the habit) is kept per day.
//! * The usual first-active time is a robust average over the last [`ScheduleRules::window_days`]
//!   delivery days with data: the median, then the mean of the samples within
//!   `max(3·1.4826·MAD, 60 min)` of it. One 3 a.m. message (an incident, a flight) does not move
//!   it. Until [`ScheduleRules::min_days`] days are known it is [`ScheduleRules::default_time`]
//!   (09:00 local).
//! * For a date, the briefing is prepared [`ScheduleRules::prepare_lead_secs`] (one hour) before
//!   that time and delivered when the user first shows up, at the latest at that time
//!   (`deliver_at_latest`). A fixed time set by `/chief time 8:30` replaces the learned one.
//! * Days outside the user's delivery days (Mon–Fri by default) are skipped, as is every day once
//!   the user has done nothing for [`ScheduleRules::inactive_after_secs`] (14 days): nobody wants
//!   a pile of briefings after a holiday.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime,
    Offset, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

use crate::model::settings::{DeliveryDays, DeliveryTime, UserSettings};

/// A user's time zone: Slack's IANA name when known, else a fixed offset (Slack's
/// `tz_offset`, or the team's usual zone, or UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserTz {
    Named(Tz),
    Fixed(FixedOffset),
}

impl Default for UserTz {
    fn default() -> Self {
        UserTz::Named(Tz::UTC)
    }
}

impl UserTz {
    /// The best zone for a user: their IANA name if it parses, else their offset in seconds
    /// east of UTC, else `fallback` (the team's usual zone), else UTC.
    pub fn resolve(name: Option<&str>, offset_secs: Option<i64>, fallback: Option<UserTz>) -> Self {
        Self::own(name, offset_secs)
            .or(fallback)
            .unwrap_or_default()
    }

    /// The user's own zone, if what Slack told us is usable: the IANA name, else the offset.
    pub fn own(name: Option<&str>, offset_secs: Option<i64>) -> Option<Self> {
        if let Some(tz) = name.and_then(|n| n.trim().parse::<Tz>().ok()) {
            return Some(UserTz::Named(tz));
        }
        offset_secs
            .and_then(|s| i32::try_from(s).ok())
            .and_then(FixedOffset::east_opt)
            .map(UserTz::Fixed)
    }

    /// The IANA name, or `+05:30` for a fixed offset.
    pub fn name(&self) -> String {
        match self {
            UserTz::Named(tz) => tz.name().to_string(),
            UserTz::Fixed(off) => off.to_string(),
        }
    }

    /// Local date and wall-clock time of an instant (epoch seconds).
    pub fn local(&self, at: i64) -> NaiveDateTime {
        let utc = DateTime::<Utc>::from_timestamp(at, 0).unwrap_or_default();
        match self {
            UserTz::Named(tz) => utc.with_timezone(tz).naive_local(),
            UserTz::Fixed(off) => utc.with_timezone(off).naive_local(),
        }
    }

    /// The instant (epoch seconds) a local wall-clock time happens on `date`. A time skipped by a
    /// DST change (02:30 on a spring-forward night) is moved forward by the gap; a time that
    /// happens twice (fall-back) resolves to the first.
    pub fn instant(&self, date: NaiveDate, time: NaiveTime) -> i64 {
        let naive = date.and_time(time);
        match self {
            UserTz::Fixed(off) => naive.and_utc().timestamp() - i64::from(off.local_minus_utc()),
            UserTz::Named(tz) => match tz.from_local_datetime(&naive) {
                LocalResult::Single(t) => t.timestamp(),
                LocalResult::Ambiguous(a, b) => a.timestamp().min(b.timestamp()),
                LocalResult::None => {
                    // In a gap: use the offset in force just before it, which lands the same
                    // wall-clock distance after the gap's start (02:30 PST → 03:30 PDT).
                    let before = naive - Duration::hours(3);
                    let off = tz
                        .offset_from_local_datetime(&before)
                        .earliest()
                        .map(|o| o.fix().local_minus_utc())
                        .unwrap_or(0);
                    naive.and_utc().timestamp() - i64::from(off)
                }
            },
        }
    }
}

/// What showed the user was around.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActivitySource {
    Message,
    Reaction,
    AppHomeOpened,
    /// A slash command, a button click…
    Other,
}

impl ActivitySource {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivitySource::Message => "message",
            ActivitySource::Reaction => "reaction",
            ActivitySource::AppHomeOpened => "app_home_opened",
            ActivitySource::Other => "other",
        }
    }

    pub fn from_storage(s: &str) -> Self {
        match s {
            "message" => ActivitySource::Message,
            "reaction" => ActivitySource::Reaction,
            "app_home_opened" => ActivitySource::AppHomeOpened,
            _ => ActivitySource::Other,
        }
    }
}

/// The first activity of one local day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActivityDay {
    pub local_date: NaiveDate,
    /// Epoch seconds.
    pub first_active_at: i64,
    /// Minutes after local midnight, in the zone the user was in at the time.
    pub local_minute: u32,
}

impl ActivityDay {
    /// The day and local minute of an activity at `at` for a user in `tz`.
    pub fn of(tz: &UserTz, at: i64) -> Self {
        let local = tz.local(at);
        ActivityDay {
            local_date: local.date(),
            first_active_at: at,
            local_minute: local.hour() * 60 + local.minute(),
        }
    }
}

/// The knobs of learning and scheduling; `Default` holds the documented values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduleRules {
    /// Used until enough days are known. 09:00.
    pub default_time: NaiveTime,
    /// How many recent delivery days with activity are averaged. 15.
    pub window_days: usize,
    /// Days of data needed before the learned time is trusted. 3.
    pub min_days: usize,
    /// Older activity is ignored. 42 days.
    pub lookback_days: i64,
    /// How long before the delivery time the briefing is prepared. 1 hour.
    pub prepare_lead_secs: i64,
    /// No activity for this long and briefings stop until the user is back. 14 days.
    pub inactive_after_secs: i64,
    /// A day's briefing is still worth sending this long after its latest delivery time (after
    /// downtime, say). 2 hours.
    pub late_grace_secs: i64,
}

impl Default for ScheduleRules {
    fn default() -> Self {
        ScheduleRules {
            default_time: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN),
            window_days: 15,
            min_days: 3,
            lookback_days: 42,
            prepare_lead_secs: 3_600,
            inactive_after_secs: 14 * 86_400,
            late_grace_secs: 2 * 3_600,
        }
    }
}

/// The learned first-active time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsualTime {
    /// Local wall-clock time.
    pub time: NaiveTime,
    /// How many days it was learned from (after dropping outliers).
    pub samples: usize,
    /// False while it is still the default.
    pub learned: bool,
}

/// Learns the usual first-active local time from `days` (any order, any dates): the delivery
/// days among the last [`ScheduleRules::lookback_days`] up to `today`, the most recent
/// [`ScheduleRules::window_days`] of them, outliers dropped.
pub fn learn_usual_time(
    days: &[ActivityDay],
    delivery_days: DeliveryDays,
    today: NaiveDate,
    rules: &ScheduleRules,
) -> UsualTime {
    let oldest = today - Duration::days(rules.lookback_days);
    let mut recent: Vec<&ActivityDay> = days
        .iter()
        .filter(|d| d.local_date <= today && d.local_date > oldest)
        .filter(|d| delivery_days.contains(d.local_date.weekday()))
        .collect();
    recent.sort_by_key(|d| std::cmp::Reverse(d.local_date));
    recent.dedup_by_key(|d| d.local_date);
    recent.truncate(rules.window_days);
    let fallback = UsualTime {
        time: rules.default_time,
        samples: recent.len(),
        learned: false,
    };
    if recent.len() < rules.min_days.max(1) {
        return fallback;
    }
    let minutes: Vec<f64> = recent.iter().map(|d| f64::from(d.local_minute)).collect();
    let m = median(&minutes);
    let mad = median(&minutes.iter().map(|x| (x - m).abs()).collect::<Vec<_>>());
    let limit = (3.0 * 1.4826 * mad).max(60.0);
    let kept: Vec<f64> = minutes
        .into_iter()
        .filter(|x| (x - m).abs() <= limit)
        .collect();
    let mean = kept.iter().sum::<f64>() / kept.len() as f64;
    let minute = (mean.round() as u32).min(24 * 60 - 1);
    UsualTime {
        time: NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap_or(rules.default_time),
        samples: kept.len(),
        learned: true,
    }
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// What a planner needs to know about a user.
#[derive(Clone, Debug)]
pub struct PlanInput<'a> {
    pub tz: UserTz,
    pub settings: &'a UserSettings,
    pub usual: UsualTime,
    /// Last activity of any kind, epoch seconds.
    pub last_active_at: Option<i64>,
    /// When chief first saw the user: stands in for activity until there is some.
    pub known_since: i64,
}

/// The schedule of one local day's briefing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayPlan {
    pub local_date: NaiveDate,
    /// The local time the briefing is due (learned or fixed).
    pub deliver_local: NaiveTime,
    /// When to start preparing it, epoch seconds.
    pub prepare_at: i64,
    /// When to deliver if the user has not shown up yet, epoch seconds.
    pub deliver_at_latest: i64,
    /// The date is one of the user's delivery days.
    pub delivery_day: bool,
    /// The user has been away too long (no activity for 14 days before `deliver_at_latest`).
    pub inactive: bool,
    /// The user paused briefings.
    pub paused: bool,
}

impl DayPlan {
    /// Whether a briefing goes out that day at all.
    pub fn delivers(&self) -> bool {
        self.delivery_day && !self.inactive && !self.paused
    }
}

/// The plan for `date`, whatever it says (a weekend plan says `delivery_day: false`).
pub fn plan_day(date: NaiveDate, input: &PlanInput<'_>, rules: &ScheduleRules) -> DayPlan {
    let deliver_local = match input.settings.delivery_time {
        DeliveryTime::Fixed(t) => t,
        DeliveryTime::Auto => input.usual.time,
    };
    let deliver_at_latest = input.tz.instant(date, deliver_local);
    let last_seen = input
        .last_active_at
        .map_or(input.known_since, |a| a.max(input.known_since));
    DayPlan {
        local_date: date,
        deliver_local,
        prepare_at: deliver_at_latest - rules.prepare_lead_secs,
        deliver_at_latest,
        delivery_day: input.settings.delivery_days.contains(date.weekday()),
        inactive: deliver_at_latest - last_seen > rules.inactive_after_secs,
        paused: input.settings.paused,
    }
}

/// The next briefing to prepare after `now`: the first delivery day from the user's local today
/// on, later than `last_briefing_date`, whose delivery time has not passed by more than the
/// grace. `None` when paused or inactive (activity or `/chief resume` plans again).
pub fn next_plan(
    now: i64,
    input: &PlanInput<'_>,
    last_briefing_date: Option<NaiveDate>,
    rules: &ScheduleRules,
) -> Option<DayPlan> {
    if input.settings.paused {
        return None;
    }
    let today = input.tz.local(now).date();
    for offset in 0..=7 {
        let date = today + Duration::days(offset);
        if last_briefing_date.is_some_and(|last| date <= last) {
            continue;
        }
        let plan = plan_day(date, input, rules);
        if !plan.delivery_day {
            continue;
        }
        if now > plan.deliver_at_latest + rules.late_grace_secs {
            continue;
        }
        return (!plan.inactive).then_some(plan);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn la() -> UserTz {
        UserTz::resolve(Some("America/Los_Angeles"), None, None)
    }

    /// Activity at local `h:m` on each of `dates`, for a user in `tz`.
    fn days_at(tz: &UserTz, dates: &[NaiveDate], times: &[(u32, u32)]) -> Vec<ActivityDay> {
        dates
            .iter()
            .zip(times.iter().cycle())
            .map(|(d, (h, m))| ActivityDay::of(tz, tz.instant(*d, hm(*h, *m))))
            .collect()
    }

    /// The weekdays of the two weeks starting Monday 2026-03-02.
    fn two_working_weeks() -> Vec<NaiveDate> {
        (0..14)
            .map(|i| date(2026, 3, 2) + Duration::days(i))
            .filter(|d| d.weekday().num_days_from_monday() < 5)
            .collect()
    }

    #[test]
    fn zones_resolve_from_name_then_offset_then_team_then_utc() {
        assert_eq!(la().name(), "America/Los_Angeles");
        let kolkata_offset = UserTz::resolve(Some("Mars/Olympus"), Some(19_800), None);
        assert_eq!(kolkata_offset.name(), "+05:30");
        let team = UserTz::resolve(Some("Europe/Paris"), None, None);
        assert_eq!(UserTz::resolve(None, None, Some(team)), team);
        assert_eq!(UserTz::resolve(None, None, None).name(), "UTC");
        assert_eq!(UserTz::resolve(None, Some(999_999), None).name(), "UTC");
    }

    #[test]
    fn new_users_get_nine_oclock_until_three_days_are_known() {
        let rules = ScheduleRules::default();
        let tz = la();
        let two = days_at(&tz, &[date(2026, 3, 2), date(2026, 3, 3)], &[(7, 0)]);
        let usual = learn_usual_time(&two, DeliveryDays::default(), date(2026, 3, 4), &rules);
        assert_eq!((usual.time, usual.learned), (hm(9, 0), false));
        let three = days_at(
            &tz,
            &[date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)],
            &[(7, 0)],
        );
        let usual = learn_usual_time(&three, DeliveryDays::default(), date(2026, 3, 4), &rules);
        assert_eq!((usual.time, usual.learned), (hm(7, 0), true));
    }

    #[test]
    fn a_three_am_message_does_not_move_the_usual_time() {
        let tz = la();
        let mut days = days_at(
            &tz,
            &two_working_weeks(),
            &[(8, 30), (8, 40), (8, 50), (8, 40), (8, 35), (8, 45)],
        );
        days[4] = ActivityDay::of(&tz, tz.instant(days[4].local_date, hm(3, 0)));
        let usual = learn_usual_time(
            &days,
            DeliveryDays::default(),
            date(2026, 3, 13),
            &ScheduleRules::default(),
        );
        assert!(usual.learned);
        assert_eq!(usual.samples, 9);
        assert!(
            (hm(8, 35)..=hm(8, 45)).contains(&usual.time),
            "{:?}",
            usual.time
        );
    }

    #[test]
    fn weekends_and_old_days_do_not_count_towards_a_weekday_habit() {
        let tz = la();
        let mut days = days_at(&tz, &two_working_weeks(), &[(8, 0)]);
        days.extend(days_at(
            &tz,
            &[date(2026, 3, 7), date(2026, 3, 8)],
            &[(11, 0)],
        ));
        days.extend(days_at(
            &tz,
            &[date(2025, 12, 1), date(2025, 12, 2)],
            &[(6, 0)],
        ));
        let usual = learn_usual_time(
            &days,
            DeliveryDays::default(),
            date(2026, 3, 13),
            &ScheduleRules::default(),
        );
        assert_eq!(usual.time, hm(8, 0));
        let only_recent = ScheduleRules {
            window_days: 3,
            ..Default::default()
        };
        let mut shifting = days_at(&tz, &two_working_weeks(), &[(8, 0)]);
        shifting.extend(days_at(
            &tz,
            &[date(2026, 3, 16), date(2026, 3, 17), date(2026, 3, 18)],
            &[(10, 0)],
        ));
        let usual = learn_usual_time(
            &shifting,
            DeliveryDays::default(),
            date(2026, 3, 18),
            &only_recent,
        );
        assert_eq!(usual.time, hm(10, 0), "the window follows a changed habit");
    }

    fn input(tz: UserTz, settings: &UserSettings, usual: NaiveTime) -> PlanInput<'_> {
        PlanInput {
            tz,
            settings,
            usual: UsualTime {
                time: usual,
                samples: 10,
                learned: true,
            },
            last_active_at: None,
            known_since: tz.instant(date(2026, 3, 1), hm(0, 0)),
        }
    }

    #[test]
    fn the_learned_local_time_holds_across_a_dst_change() {
        let settings = UserSettings::default();
        let tz = la();
        // Activity recorded before and after the US change of Sunday 2026-03-08, at 08:30 local.
        let days = days_at(&tz, &two_working_weeks(), &[(8, 30)]);
        assert_eq!(
            days[4].first_active_at - days[5].first_active_at + 3 * 86_400,
            3_600,
            "08:30 is an hour earlier in UTC after the change"
        );
        let usual = learn_usual_time(
            &days,
            settings.delivery_days,
            date(2026, 3, 13),
            &ScheduleRules::default(),
        );
        assert_eq!(usual.time, hm(8, 30));

        let mut inp = input(tz, &settings, usual.time);
        inp.last_active_at = Some(days[9].first_active_at);
        let rules = ScheduleRules::default();
        let friday = plan_day(date(2026, 3, 6), &inp, &rules);
        let monday = plan_day(date(2026, 3, 9), &inp, &rules);
        // 08:30 PST = 16:30 UTC; 08:30 PDT = 15:30 UTC.
        assert_eq!(
            friday.deliver_at_latest,
            Utc.with_ymd_and_hms(2026, 3, 6, 16, 30, 0)
                .unwrap()
                .timestamp()
        );
        assert_eq!(
            monday.deliver_at_latest,
            Utc.with_ymd_and_hms(2026, 3, 9, 15, 30, 0)
                .unwrap()
                .timestamp()
        );
        assert_eq!(monday.prepare_at, monday.deliver_at_latest - 3_600);
        assert!(friday.delivers() && monday.delivers());
    }

    #[test]
    fn a_time_inside_the_spring_forward_gap_moves_past_it_and_a_repeated_one_takes_the_first() {
        let tz = la();
        let gap = tz.instant(date(2026, 3, 8), hm(2, 30));
        assert_eq!(
            gap,
            Utc.with_ymd_and_hms(2026, 3, 8, 10, 30, 0)
                .unwrap()
                .timestamp()
        );
        assert_eq!(tz.local(gap).time(), hm(3, 30));
        let twice = tz.instant(date(2026, 11, 1), hm(1, 30));
        assert_eq!(
            twice,
            Utc.with_ymd_and_hms(2026, 11, 1, 8, 30, 0)
                .unwrap()
                .timestamp()
        );
    }

    #[test]
    fn a_user_at_utc_plus_five_thirty_gets_their_local_morning() {
        let settings = UserSettings::default();
        for tz in [
            UserTz::resolve(Some("Asia/Kolkata"), None, None),
            UserTz::resolve(None, Some(19_800), None),
        ] {
            let days = days_at(&tz, &two_working_weeks(), &[(9, 45)]);
            assert_eq!(days[0].local_minute, 9 * 60 + 45);
            let usual = learn_usual_time(
                &days,
                settings.delivery_days,
                date(2026, 3, 13),
                &ScheduleRules::default(),
            );
            assert_eq!(usual.time, hm(9, 45));
            let mut inp = input(tz, &settings, usual.time);
            inp.last_active_at = Some(days[9].first_active_at);
            let plan = plan_day(date(2026, 3, 16), &inp, &ScheduleRules::default());
            // 09:45 IST = 04:15 UTC.
            assert_eq!(
                plan.deliver_at_latest,
                Utc.with_ymd_and_hms(2026, 3, 16, 4, 15, 0)
                    .unwrap()
                    .timestamp()
            );
            assert_eq!(
                plan.prepare_at,
                Utc.with_ymd_and_hms(2026, 3, 16, 3, 15, 0)
                    .unwrap()
                    .timestamp()
            );
        }
    }

    #[test]
    fn activity_just_after_local_midnight_belongs_to_the_local_day() {
        let tz = UserTz::resolve(Some("Asia/Kolkata"), None, None);
        // 2026-03-02 18:35 UTC is 00:05 on the 3rd in Kolkata.
        let at = Utc
            .with_ymd_and_hms(2026, 3, 2, 18, 35, 0)
            .unwrap()
            .timestamp();
        let day = ActivityDay::of(&tz, at);
        assert_eq!((day.local_date, day.local_minute), (date(2026, 3, 3), 5));
    }

    #[test]
    fn weekends_paused_and_inactive_users_get_nothing() {
        let tz = la();
        let mut settings = UserSettings::default();
        let rules = ScheduleRules::default();
        let mut inp = input(tz, &settings, hm(9, 0));
        inp.last_active_at = Some(tz.instant(date(2026, 3, 5), hm(9, 0)));
        let saturday = plan_day(date(2026, 3, 7), &inp, &rules);
        assert!(!saturday.delivery_day && !saturday.delivers());
        assert!(
            plan_day(date(2026, 3, 19), &inp, &rules).delivers(),
            "13 days later"
        );
        let gone = plan_day(date(2026, 3, 20), &inp, &rules);
        assert!(gone.inactive && !gone.delivers(), "15 days later");

        settings.paused = true;
        let inp = input(tz, &settings, hm(9, 0));
        assert!(plan_day(date(2026, 3, 2), &inp, &rules).paused);
        assert_eq!(next_plan(inp.known_since, &inp, None, &rules), None);
    }

    #[test]
    fn custom_days_and_a_fixed_time_replace_the_defaults() {
        let tz = la();
        let settings = UserSettings {
            delivery_days: DeliveryDays::parse("sat,sun").unwrap(),
            delivery_time: DeliveryTime::parse("17:30").unwrap(),
            ..Default::default()
        };
        let inp = input(tz, &settings, hm(8, 0));
        let rules = ScheduleRules::default();
        assert!(!plan_day(date(2026, 3, 2), &inp, &rules).delivery_day);
        let sat = plan_day(date(2026, 3, 7), &inp, &rules);
        assert!(sat.delivers());
        assert_eq!(sat.deliver_local, hm(17, 30));
    }

    #[test]
    fn the_next_plan_is_the_next_undelivered_delivery_day_still_in_time() {
        let tz = la();
        let settings = UserSettings::default();
        let rules = ScheduleRules::default();
        let mut inp = input(tz, &settings, hm(9, 0));
        let friday_7am = tz.instant(date(2026, 3, 6), hm(7, 0));
        inp.last_active_at = Some(friday_7am);
        let plan = next_plan(friday_7am, &inp, None, &rules).unwrap();
        assert_eq!(plan.local_date, date(2026, 3, 6));
        assert!(plan.prepare_at < plan.deliver_at_latest);

        let after = next_plan(friday_7am, &inp, Some(date(2026, 3, 6)), &rules).unwrap();
        assert_eq!(
            after.local_date,
            date(2026, 3, 9),
            "delivered today: next Monday"
        );

        let friday_10am = tz.instant(date(2026, 3, 6), hm(10, 0));
        let late = next_plan(friday_10am, &inp, None, &rules).unwrap();
        assert_eq!(
            late.local_date,
            date(2026, 3, 6),
            "an hour late is still worth it"
        );
        let friday_noon = tz.instant(date(2026, 3, 6), hm(12, 0));
        let missed = next_plan(friday_noon, &inp, None, &rules).unwrap();
        assert_eq!(
            missed.local_date,
            date(2026, 3, 9),
            "too late: the day is skipped"
        );

        inp.last_active_at = Some(tz.instant(date(2026, 2, 1), hm(9, 0)));
        inp.known_since = inp.last_active_at.unwrap();
        assert_eq!(next_plan(friday_7am, &inp, None, &rules), None, "inactive");
    }
}
