//! Dates in chat: relative expressions ("tomorrow", "on Friday", "next week", "in 3 days",
//! "demain", "morgen", "mañana") resolved against the message's posting time, and explicit ones
//! ("3 May", "May 3rd", "2024-05-03"). Resolution uses the workspace's UTC offset so that
//! "tomorrow" said at 23:30 local time is the right day.

use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Weekday};
use regex::Regex;

use super::lang::Lang;

/// A date found in a text, with its byte span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateMention {
    pub start: usize,
    pub end: usize,
    pub phrase: String,
    pub date: NaiveDate,
    /// Whether the text named the date relatively ("tomorrow") rather than by its calendar name.
    pub relative: bool,
}

/// Month names and abbreviations the date finder reads, with their numbers.
pub(super) const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("february", 2),
    ("march", 3),
    ("april", 4),
    ("may", 5),
    ("june", 6),
    ("july", 7),
    ("august", 8),
    ("september", 9),
    ("october", 10),
    ("november", 11),
    ("december", 12),
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("jun", 6),
    ("jul", 7),
    ("aug", 8),
    ("sept", 9),
    ("sep", 9),
    ("oct", 10),
    ("nov", 11),
    ("dec", 12),
];

const MONTH_ALT: &str = "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec";

static RELATIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:(day after tomorrow)|(tomorrow|tmrw|tmr|demain|morgen|mañana)|(today|tonight|this evening|eod|end of (?:the )?day|aujourd'hui|ce soir|heute|hoy|esta noche)|(yesterday|hier|gestern|ayer)|(next week|la semaine prochaine|nächste woche|la próxima semana)|in (\d{1,2}) days?|(?:(next|this|on|by|until|till) )?(monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b",
    )
    .expect("static regex")
});

static EXPLICIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(?:(\d{{4}})-(\d{{2}})-(\d{{2}})|(\d{{1,2}})(?:st|nd|rd|th)?(?: of)? ({MONTH_ALT})\b\.?|({MONTH_ALT})\.? (\d{{1,2}})(?:st|nd|rd|th)?\b)"
    ))
    .expect("static regex")
});

/// The local calendar day of an epoch time.
pub fn local_date(epoch: i64, utc_offset_secs: i32) -> NaiveDate {
    DateTime::from_timestamp(epoch + i64::from(utc_offset_secs), 0)
        .map(|d| d.date_naive())
        .unwrap_or_default()
}

fn month_number(name: &str) -> Option<u32> {
    let lower = name.to_lowercase();
    MONTHS.iter().find(|(m, _)| *m == lower).map(|(_, n)| *n)
}

fn weekday(name: &str) -> Option<Weekday> {
    name.to_lowercase().parse::<Weekday>().ok()
}

/// Explicit calendar dates ("3 May", "May 3rd", "2024-05-03"); a date without a year takes the
/// reference day's year.
pub fn explicit_dates(text: &str, reference: NaiveDate) -> Vec<DateMention> {
    EXPLICIT
        .captures_iter(text)
        .filter_map(|c| {
            let whole = c.get(0)?;
            let date = if let (Some(y), Some(m), Some(d)) = (c.get(1), c.get(2), c.get(3)) {
                NaiveDate::from_ymd_opt(
                    y.as_str().parse().ok()?,
                    m.as_str().parse().ok()?,
                    d.as_str().parse().ok()?,
                )?
            } else if let (Some(d), Some(m)) = (c.get(4), c.get(5)) {
                NaiveDate::from_ymd_opt(
                    reference.year(),
                    month_number(m.as_str())?,
                    d.as_str().parse().ok()?,
                )?
            } else {
                let m = c.get(6)?;
                let d = c.get(7)?;
                NaiveDate::from_ymd_opt(
                    reference.year(),
                    month_number(m.as_str())?,
                    d.as_str().parse().ok()?,
                )?
            };
            Some(DateMention {
                start: whole.start(),
                end: whole.end(),
                phrase: whole.as_str().to_string(),
                date,
                relative: false,
            })
        })
        .collect()
}

/// Relative dates resolved against the day the message was posted.
pub fn relative_dates(text: &str, posted_at: i64, utc_offset_secs: i32) -> Vec<DateMention> {
    let today = local_date(posted_at, utc_offset_secs);
    RELATIVE
        .captures_iter(text)
        .filter_map(|c| {
            let whole = c.get(0)?;
            let date = if c.get(1).is_some() {
                today + Duration::days(2)
            } else if c.get(2).is_some() {
                today + Duration::days(1)
            } else if c.get(3).is_some() {
                today
            } else if c.get(4).is_some() {
                today - Duration::days(1)
            } else if c.get(5).is_some() {
                let days_to_monday = 7 - i64::from(today.weekday().num_days_from_monday());
                today + Duration::days(days_to_monday)
            } else if let Some(n) = c.get(6) {
                today + Duration::days(n.as_str().parse().ok()?)
            } else {
                let day = weekday(c.get(8)?.as_str())?;
                let prefix = c.get(7).map(|p| p.as_str().to_lowercase());
                let ahead = (i64::from(day.num_days_from_monday())
                    - i64::from(today.weekday().num_days_from_monday()))
                .rem_euclid(7);
                let ahead = match (ahead, prefix.as_deref()) {
                    (0, Some("this")) => 0,
                    (0, _) => 7,
                    (n, Some("next")) if n < 2 => n + 7,
                    (n, _) => n,
                };
                // A bare weekday ("Friday") in the past tense would be last Friday; chat about
                // work mostly speaks of the coming one, so only "last" (not matched) looks back.
                today + Duration::days(ahead)
            };
            Some(DateMention {
                start: whole.start(),
                end: whole.end(),
                phrase: whole.as_str().to_string(),
                date,
                relative: true,
            })
        })
        .collect()
}

/// Every date a message mentions, relative or explicit, in text order.
pub fn find_dates(text: &str, posted_at: i64, utc_offset_secs: i32) -> Vec<DateMention> {
    let today = local_date(posted_at, utc_offset_secs);
    let mut all = explicit_dates(text, today);
    for r in relative_dates(text, posted_at, utc_offset_secs) {
        let overlaps = all.iter().any(|e| e.start < r.end && r.start < e.end);
        // "Thursday 10 December": the weekday belongs to the calendar date that follows it,
        // which already says the day (resolving both wrote "Thursday 10 December 10 December").
        let names_the_next_date = all.iter().any(|e| {
            e.start >= r.end
                && text
                    .get(r.end..e.start)
                    .is_some_and(|gap| gap.chars().all(|c| c == ' ' || c == ','))
        });
        if !overlaps && !names_the_next_date {
            all.push(r);
        }
    }
    all.sort_by_key(|d| d.start);
    all
}

/// "Friday 3 May" in the given language: a weekday helps the reader, the day-month form is what
/// the guardrail can check against the sources.
pub fn format_date(date: NaiveDate, lang: Lang) -> String {
    let wd = date.weekday().num_days_from_monday() as usize;
    let m = date.month0() as usize;
    let (weekdays, months) = calendar_names(lang);
    match lang {
        Lang::De => format!("{} {}. {}", weekdays[wd], date.day(), months[m]),
        Lang::Es => format!("{} {} de {}", weekdays[wd], date.day(), months[m]),
        _ => format!("{} {} {}", weekdays[wd], date.day(), months[m]),
    }
}

/// The weekday names (Monday first) and month names (January first) of a language as a reader
/// writes them: what [`format_date`] shows, and, lower-cased, what `text::is_calendar_word`
/// recognises, so a name added here is known to both.
pub(super) fn calendar_names(
    lang: Lang,
) -> (&'static [&'static str; 7], &'static [&'static str; 12]) {
    match lang {
        Lang::En => (
            &[
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            ],
            &[
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ],
        ),
        Lang::Fr => (
            &[
                "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
            ],
            &[
                "janvier",
                "février",
                "mars",
                "avril",
                "mai",
                "juin",
                "juillet",
                "août",
                "septembre",
                "octobre",
                "novembre",
                "décembre",
            ],
        ),
        Lang::De => (
            &[
                "Montag",
                "Dienstag",
                "Mittwoch",
                "Donnerstag",
                "Freitag",
                "Samstag",
                "Sonntag",
            ],
            &[
                "Januar",
                "Februar",
                "März",
                "April",
                "Mai",
                "Juni",
                "Juli",
                "August",
                "September",
                "Oktober",
                "November",
                "Dezember",
            ],
        ),
        Lang::Es => (
            &[
                "lunes",
                "martes",
                "miércoles",
                "jueves",
                "viernes",
                "sábado",
                "domingo",
            ],
            &[
                "enero",
                "febrero",
                "marzo",
                "abril",
                "mayo",
                "junio",
                "julio",
                "agosto",
                "septiembre",
                "octubre",
                "noviembre",
                "diciembre",
            ],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wednesday 1 May 2024, 10:00 UTC.
    const WED: i64 = 1_714_557_600;

    fn resolved(text: &str) -> Vec<String> {
        find_dates(text, WED, 0)
            .into_iter()
            .map(|d| d.date.to_string())
            .collect()
    }

    #[test]
    fn relative_days_resolve_against_the_posting_day() {
        assert_eq!(resolved("can't come tomorrow"), ["2024-05-02"]);
        assert_eq!(resolved("done by EOD"), ["2024-05-01"]);
        assert_eq!(resolved("see you on Friday"), ["2024-05-03"]);
        assert_eq!(resolved("next Wednesday then"), ["2024-05-08"]);
        assert_eq!(resolved("ship it next week"), ["2024-05-06"]);
        assert_eq!(resolved("in 10 days"), ["2024-05-11"]);
        assert_eq!(resolved("je ne peux pas venir demain"), ["2024-05-02"]);
    }

    #[test]
    fn explicit_dates_take_the_posting_year() {
        assert_eq!(resolved("release on May 17th"), ["2024-05-17"]);
        assert_eq!(resolved("frozen from 3 June"), ["2024-06-03"]);
        assert_eq!(resolved("cutoff 2024-12-01"), ["2024-12-01"]);
    }

    #[test]
    fn the_utc_offset_moves_the_day() {
        // 23:30 in UTC-5 on 30 April is 04:30 UTC on 1 May.
        let late = 1_714_537_800;
        assert_eq!(local_date(late, -5 * 3600).to_string(), "2024-04-30");
        assert_eq!(
            find_dates("tomorrow", late, -5 * 3600)[0].date.to_string(),
            "2024-05-01"
        );
    }

    #[test]
    fn dates_are_formatted_per_language() {
        let d = NaiveDate::from_ymd_opt(2024, 5, 3).unwrap();
        assert_eq!(format_date(d, Lang::En), "Friday 3 May");
        assert_eq!(format_date(d, Lang::Fr), "vendredi 3 mai");
        assert_eq!(format_date(d, Lang::De), "Freitag 3. Mai");
        assert_eq!(format_date(d, Lang::Es), "viernes 3 de mayo");
    }

    #[test]
    fn a_weekday_before_its_calendar_date_is_one_date() {
        // Posted on Monday 7 December 2026.
        let posted = 1_796_634_600;
        let found = find_dates("move it to Thursday 10 December at 2pm", posted, 0);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].phrase, "10 December");
    }
}
