//! A user's own settings: when and on which days the briefing arrives, what it ignores, and how
//! it speaks. Pure values and their parsers; the repository is `crate::platform::db::profile`.
//!
//! The parsers accept what people type in `/chief time …` and `/chief days …` ("9am", "17:30",
//! "mon-fri", "every day") and answer a bad value with one friendly sentence, because that
//! sentence is shown to the user as is.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{NaiveTime, Timelike, Weekday};

/// A value typed by a user could not be understood; the message is shown to them verbatim.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SettingsParseError(pub String);

fn bad(msg: impl Into<String>) -> SettingsParseError {
    SettingsParseError(msg.into())
}

/// When the daily briefing is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeliveryTime {
    /// At the user's learned first-active time (see `crate::model::activity`), 09:00 until learned.
    #[default]
    Auto,
    /// At a fixed local wall-clock time, whatever the user's habits.
    Fixed(NaiveTime),
}

impl DeliveryTime {
    /// Parses `auto`, `9`, `9am`, `9:30 am`, `09:30`, `17:30`, `5.30pm`, `0930`, `noon`.
    pub fn parse(text: &str) -> Result<Self, SettingsParseError> {
        let t = text.trim().to_lowercase();
        match t.as_str() {
            "auto" | "automatic" | "learn" | "learned" => Ok(DeliveryTime::Auto),
            _ => parse_clock(&t).map(DeliveryTime::Fixed),
        }
    }

    /// Storage form: `auto` or `HH:MM`.
    pub fn to_storage(self) -> String {
        match self {
            DeliveryTime::Auto => "auto".into(),
            DeliveryTime::Fixed(t) => format!("{:02}:{:02}", t.hour(), t.minute()),
        }
    }
}

impl fmt::Display for DeliveryTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliveryTime::Auto => f.write_str("auto (when you usually start your day)"),
            DeliveryTime::Fixed(t) => write!(f, "{:02}:{:02}", t.hour(), t.minute()),
        }
    }
}

const TIME_HELP: &str = "Try a time like `9am`, `8:30`, `17:30`, or `auto`.";

/// A local wall-clock time as people type it.
fn parse_clock(t: &str) -> Result<NaiveTime, SettingsParseError> {
    let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err(bad(format!("I need a time. {TIME_HELP}")));
    }
    match compact.as_str() {
        "noon" | "midday" => return Ok(NaiveTime::MIN + chrono::Duration::hours(12)),
        "midnight" => return Ok(NaiveTime::MIN),
        _ => {}
    }
    let (body, meridiem) = if let Some(b) = compact
        .strip_suffix("a.m.")
        .or_else(|| compact.strip_suffix("am"))
    {
        (b, Some(false))
    } else if let Some(b) = compact
        .strip_suffix("p.m.")
        .or_else(|| compact.strip_suffix("pm"))
    {
        (b, Some(true))
    } else {
        (compact.as_str(), None)
    };
    let not_a_time = || {
        bad(format!(
            "`{}` is not a time I understand. {TIME_HELP}",
            t.trim()
        ))
    };
    let (h, m) = if let Some((h, m)) = body.split_once([':', '.', 'h']) {
        if m.len() != 2 {
            return Err(not_a_time());
        }
        (h, m)
    } else if (3..=4).contains(&body.len()) && meridiem.is_none() && body.is_ascii() {
        // "930", "0930", "1730": military-style. (ASCII only: the split is by bytes.)
        body.split_at(body.len() - 2)
    } else {
        (body, "0")
    };
    if h.is_empty()
        || !h.bytes().all(|b| b.is_ascii_digit())
        || !m.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(not_a_time());
    }
    let (Ok(mut hour), Ok(minute)) = (h.parse::<u32>(), m.parse::<u32>()) else {
        return Err(not_a_time());
    };
    if minute > 59 {
        return Err(not_a_time());
    }
    match meridiem {
        Some(pm) => {
            if !(1..=12).contains(&hour) {
                return Err(not_a_time());
            }
            hour %= 12;
            if pm {
                hour += 12;
            }
        }
        None if hour > 23 => return Err(not_a_time()),
        None => {}
    }
    NaiveTime::from_hms_opt(hour, minute, 0).ok_or_else(not_a_time)
}

/// The weekdays a briefing may be delivered on: a set of [`Weekday`]s, stored as a bit mask
/// (bit 0 = Monday … bit 6 = Sunday).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeliveryDays(u8);

const ALL_DAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

const DAYS_HELP: &str = "Try `mon-fri`, `mon,wed,fri`, `weekdays` or `every day`.";

impl DeliveryDays {
    pub const WEEKDAYS: DeliveryDays = DeliveryDays(0b001_1111);
    pub const EVERY_DAY: DeliveryDays = DeliveryDays(0b111_1111);
    pub const WEEKENDS: DeliveryDays = DeliveryDays(0b110_0000);

    /// The set of the given days.
    pub fn of(days: &[Weekday]) -> Self {
        DeliveryDays(
            days.iter()
                .fold(0, |m, d| m | 1 << d.num_days_from_monday()),
        )
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn days(self) -> impl Iterator<Item = Weekday> {
        ALL_DAYS.into_iter().filter(move |d| self.contains(*d))
    }

    /// The storage form: the bit mask.
    pub fn mask(self) -> i64 {
        i64::from(self.0)
    }

    /// From the storage form; bits outside the week are ignored, and an empty set (which would
    /// silently stop every briefing) falls back to the default.
    pub fn from_mask(mask: i64) -> Self {
        let m = (mask & 0b111_1111) as u8;
        if m == 0 {
            Self::default()
        } else {
            DeliveryDays(m)
        }
    }

    /// Parses `mon-fri`, `mon,wed,fri`, `mon wed and fri`, `fri-mon` (wraps over the weekend),
    /// `monday to thursday`, `weekdays`, `weekends`, `every day`, `daily`.
    pub fn parse(text: &str) -> Result<Self, SettingsParseError> {
        let t = text.trim().to_lowercase();
        match t.as_str() {
            "" => return Err(bad(format!("Which days? {DAYS_HELP}"))),
            "every day" | "everyday" | "daily" | "all" | "all days" | "all week" | "7 days" => {
                return Ok(Self::EVERY_DAY);
            }
            "weekdays" | "weekday" | "workdays" | "work days" | "working days"
            | "business days" => return Ok(Self::WEEKDAYS),
            "weekends" | "weekend" => return Ok(Self::WEEKENDS),
            _ => {}
        }
        let spaced = t.replace(['–', '—', '-'], " - ").replace(['&', '+'], " ");
        let tokens: Vec<&str> = spaced
            .split(|c: char| c == ',' || c == ';' || c == '/' || c.is_whitespace())
            .filter(|w| !w.is_empty() && *w != "and")
            .collect();
        let mut mask = 0u8;
        let mut i = 0;
        while i < tokens.len() {
            let Some(start) = weekday_named(tokens[i]) else {
                return Err(bad(format!(
                    "`{}` is not a day I know. {DAYS_HELP}",
                    tokens[i]
                )));
            };
            let is_range = tokens
                .get(i + 1)
                .is_some_and(|w| matches!(*w, "-" | "to" | "through" | "thru" | "till" | "until"));
            if is_range {
                let Some(end) = tokens.get(i + 2).and_then(|w| weekday_named(w)) else {
                    return Err(bad(format!("That range has no last day. {DAYS_HELP}")));
                };
                let mut d = start;
                loop {
                    mask |= 1 << d.num_days_from_monday();
                    if d == end {
                        break;
                    }
                    d = d.succ();
                }
                i += 3;
            } else {
                mask |= 1 << start.num_days_from_monday();
                i += 1;
            }
        }
        if mask == 0 {
            return Err(bad(format!("Which days? {DAYS_HELP}")));
        }
        Ok(DeliveryDays(mask))
    }
}

fn weekday_named(word: &str) -> Option<Weekday> {
    let lookup = |w: &str| match w {
        "mon" | "monday" | "mo" => Some(Weekday::Mon),
        "tue" | "tues" | "tuesday" | "tu" => Some(Weekday::Tue),
        "wed" | "weds" | "wednesday" | "we" => Some(Weekday::Wed),
        "thu" | "thur" | "thurs" | "thursday" | "th" => Some(Weekday::Thu),
        "fri" | "friday" | "fr" => Some(Weekday::Fri),
        "sat" | "saturday" | "sa" => Some(Weekday::Sat),
        "sun" | "sunday" | "su" => Some(Weekday::Sun),
        _ => None,
    };
    lookup(word).or_else(|| word.strip_suffix('s').and_then(lookup))
}

impl Default for DeliveryDays {
    /// Monday to Friday.
    fn default() -> Self {
        Self::WEEKDAYS
    }
}

impl fmt::Debug for DeliveryDays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeliveryDays({self})")
    }
}

impl fmt::Display for DeliveryDays {
    /// `every day`, `Mon–Fri`, `Sat–Sun`, `Mon, Wed, Fri`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::EVERY_DAY {
            return f.write_str("every day");
        }
        let days: Vec<Weekday> = self.days().collect();
        let contiguous = days.len() >= 3
            && days
                .windows(2)
                .all(|w| w[0].num_days_from_monday() + 1 == w[1].num_days_from_monday());
        if contiguous {
            return write!(f, "{}–{}", days[0], days[days.len() - 1]);
        }
        let names: Vec<String> = days.iter().map(|d| d.to_string()).collect();
        f.write_str(&names.join(", "))
    }
}

/// What a user gets on a day with nothing worth their attention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum QuietDay {
    /// A one-line "nothing needs you today" DM, so silence is never mistaken for a failure.
    #[default]
    SendNote,
    /// Nothing at all.
    Nothing,
}

impl QuietDay {
    pub fn as_str(self) -> &'static str {
        match self {
            QuietDay::SendNote => "note",
            QuietDay::Nothing => "nothing",
        }
    }

    pub fn from_storage(s: &str) -> Self {
        if s == "nothing" {
            QuietDay::Nothing
        } else {
            QuietDay::SendNote
        }
    }
}

/// The languages briefings and explanations can be written in: the ones the model-free engine has
/// framing sentences for (and language detection knows), as `(ISO 639-1 code, name in itself)`.
/// A model could write others, but the same setting must mean the same thing with and without
/// one.
pub const LANGUAGES: &[(&str, &str)] = &[
    ("en", "English"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("es", "Español"),
];

/// Storage and block value of "follow my Slack locale".
pub const LANGUAGE_AUTO: &str = "auto";

/// Reads `/chief language …`: `auto` (follow the Slack locale) → `None`, else a supported
/// language as its code, given as a code (`fr`, `fr-CA`, `fr_FR`) or a name in English or in
/// itself (`French`, `français`).
pub fn parse_language(text: &str) -> Result<Option<String>, SettingsParseError> {
    let t = text.trim().to_lowercase();
    let t = t.trim_matches(|c: char| matches!(c, '`' | '"' | '\'' | '.'));
    if matches!(t, "auto" | "automatic" | "default" | "locale" | "slack") {
        return Ok(None);
    }
    let primary = t.split(['-', '_']).next().unwrap_or_default();
    let code = match primary {
        "en" | "eng" | "english" | "anglais" | "englisch" | "inglés" | "ingles" => "en",
        "fr" | "fra" | "fre" | "french" | "français" | "francais" | "französisch" | "francés" => {
            "fr"
        }
        "de" | "deu" | "ger" | "german" | "deutsch" | "allemand" | "alemán" | "aleman" => "de",
        "es" | "spa" | "spanish" | "español" | "espanol" | "espagnol" | "spanisch" => "es",
        _ => {
            let list = LANGUAGES
                .iter()
                .map(|(code, name)| format!("`{code}` ({name})"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(bad(if t.is_empty() {
                format!(
                    "Which language? I write in {list}, or `auto` to follow your Slack language."
                )
            } else {
                format!(
                    "I can't write in `{}` yet. I write in {list}, or `auto` to follow your Slack language.",
                    text.trim().chars().take(40).collect::<String>()
                )
            }));
        }
    };
    Ok(Some(code.to_string()))
}

/// The name of a language setting for people: "Français", or "automatic" for none.
pub fn language_name(setting: Option<&str>) -> String {
    let code = setting.map(|c| c.split(['-', '_']).next().unwrap_or(c).to_lowercase());
    match code {
        None => "automatic (your Slack language)".to_string(),
        Some(code) => LANGUAGES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, name)| name.to_string())
            .unwrap_or(code),
    }
}

/// Everything a user can set. `Default` is what a new user gets.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UserSettings {
    /// Default: [`DeliveryTime::Auto`].
    pub delivery_time: DeliveryTime,
    /// Default: Monday to Friday.
    pub delivery_days: DeliveryDays,
    /// Channel ids whose messages never reach this user's briefing. Default: none.
    pub muted_channels: BTreeSet<String>,
    /// No briefings at all while true (`/chief pause`, `/chief resume`). Default: false.
    pub paused: bool,
    /// Default: [`QuietDay::SendNote`].
    pub quiet_day: QuietDay,
    /// A language tag ("fr", "de-CH") to write briefings in instead of the workspace's; default
    /// none (follow the user's Slack locale).
    pub language: Option<String>,
}

impl UserSettings {
    pub fn is_muted(&self, channel_id: &str) -> bool {
        self.muted_channels.contains(channel_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hm(h: u32, m: u32) -> DeliveryTime {
        DeliveryTime::Fixed(NaiveTime::from_hms_opt(h, m, 0).unwrap())
    }

    #[test]
    fn times_are_read_the_way_people_type_them() {
        for (text, want) in [
            ("auto", DeliveryTime::Auto),
            (" AUTO ", DeliveryTime::Auto),
            ("9am", hm(9, 0)),
            ("9 am", hm(9, 0)),
            ("9AM", hm(9, 0)),
            ("9:30am", hm(9, 30)),
            ("9:30 p.m.", hm(21, 30)),
            ("12am", hm(0, 0)),
            ("12pm", hm(12, 0)),
            ("5pm", hm(17, 0)),
            ("5.30pm", hm(17, 30)),
            ("17:30", hm(17, 30)),
            ("09:05", hm(9, 5)),
            ("9", hm(9, 0)),
            ("0930", hm(9, 30)),
            ("930", hm(9, 30)),
            ("1730", hm(17, 30)),
            ("8h15", hm(8, 15)),
            ("noon", hm(12, 0)),
            ("midnight", hm(0, 0)),
            ("0:00", hm(0, 0)),
        ] {
            assert_eq!(DeliveryTime::parse(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn impossible_times_are_refused_with_a_hint() {
        for text in [
            "", "25:00", "9:60", "13pm", "0am", "9:5", "soon", "9:30:00", "-1", "12345", "am", "Ⱥ",
            "9é", "é9",
        ] {
            let err = DeliveryTime::parse(text).unwrap_err();
            assert!(err.0.contains("9am"), "{text:?} → {err}");
        }
    }

    #[test]
    fn delivery_time_round_trips_through_storage() {
        assert_eq!(DeliveryTime::Auto.to_storage(), "auto");
        assert_eq!(hm(7, 5).to_storage(), "07:05");
        assert_eq!(DeliveryTime::parse(&hm(7, 5).to_storage()), Ok(hm(7, 5)));
    }

    #[test]
    fn day_specs_cover_ranges_lists_and_words() {
        use Weekday::*;
        for (text, want) in [
            ("mon-fri", DeliveryDays::WEEKDAYS),
            ("Mon–Fri", DeliveryDays::WEEKDAYS),
            ("monday to friday", DeliveryDays::WEEKDAYS),
            ("weekdays", DeliveryDays::WEEKDAYS),
            ("every day", DeliveryDays::EVERY_DAY),
            ("daily", DeliveryDays::EVERY_DAY),
            ("weekends", DeliveryDays::WEEKENDS),
            ("sat-sun", DeliveryDays::WEEKENDS),
            ("mon,wed,fri", DeliveryDays::of(&[Mon, Wed, Fri])),
            ("mon, wed and fri", DeliveryDays::of(&[Mon, Wed, Fri])),
            ("Mondays Thursdays", DeliveryDays::of(&[Mon, Thu])),
            ("tues", DeliveryDays::of(&[Tue])),
            ("fri-mon", DeliveryDays::of(&[Fri, Sat, Sun, Mon])),
            ("mon-wed,fri", DeliveryDays::of(&[Mon, Tue, Wed, Fri])),
            ("sun-sat", DeliveryDays::EVERY_DAY),
        ] {
            assert_eq!(DeliveryDays::parse(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn bad_day_specs_say_what_went_wrong() {
        for (text, needle) in [
            ("", "Which days"),
            ("mon-", "no last day"),
            ("funday", "`funday`"),
            ("mon-xyz", "no last day"),
            (",", "Which days"),
        ] {
            let err = DeliveryDays::parse(text).unwrap_err();
            assert!(err.0.contains(needle), "{text:?} → {err}");
        }
    }

    #[test]
    fn days_display_compactly_and_store_as_a_mask() {
        use Weekday::*;
        assert_eq!(DeliveryDays::WEEKDAYS.to_string(), "Mon–Fri");
        assert_eq!(DeliveryDays::EVERY_DAY.to_string(), "every day");
        assert_eq!(
            DeliveryDays::of(&[Mon, Wed, Fri]).to_string(),
            "Mon, Wed, Fri"
        );
        assert_eq!(DeliveryDays::WEEKENDS.to_string(), "Sat, Sun");
        let d = DeliveryDays::of(&[Tue, Sun]);
        assert_eq!(DeliveryDays::from_mask(d.mask()), d);
        assert_eq!(DeliveryDays::from_mask(0), DeliveryDays::WEEKDAYS);
        assert!(DeliveryDays::default().contains(Mon));
        assert!(!DeliveryDays::default().contains(Sat));
    }

    #[test]
    fn languages_are_read_as_codes_or_names_and_auto_follows_slack() {
        for (text, want) in [
            ("fr", Some("fr")),
            ("fr-CA", Some("fr")),
            ("de_CH", Some("de")),
            ("French", Some("fr")),
            ("français", Some("fr")),
            ("Deutsch", Some("de")),
            ("español", Some("es")),
            (" EN ", Some("en")),
            ("auto", None),
            ("Automatic", None),
        ] {
            assert_eq!(
                parse_language(text),
                Ok(want.map(str::to_string)),
                "{text:?}"
            );
        }
        for text in ["ja", "klingon", ""] {
            let err = parse_language(text).unwrap_err();
            assert!(err.0.contains("`fr` (Français)"), "{text:?} → {err}");
        }
        assert_eq!(language_name(Some("fr")), "Français");
        assert!(language_name(None).starts_with("automatic"));
    }

    #[test]
    fn new_users_get_the_documented_defaults() {
        let s = UserSettings::default();
        assert_eq!(s.delivery_time, DeliveryTime::Auto);
        assert_eq!(s.delivery_days, DeliveryDays::WEEKDAYS);
        assert!(s.muted_channels.is_empty());
        assert!(!s.paused);
        assert_eq!(s.quiet_day, QuietDay::SendNote);
        assert_eq!(s.language, None);
        assert_eq!(
            QuietDay::from_storage(QuietDay::Nothing.as_str()),
            QuietDay::Nothing
        );
    }
}
