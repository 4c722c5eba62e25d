//! Scoring what chief wrote against the gold: term matching, and the checks that need no gold
//! (content, duplicates, invented facts, the reader as "you", citations).
//!
//! Everything here is deliberately simple and literal — folded words, prefixes, sets — so that a
//! score can be explained by pointing at the words that made it, and a metric moves only when what
//! chief writes does.

use std::collections::{BTreeSet, HashSet};

use unicode_normalization::UnicodeNormalization;

use super::scenario::Item;
use crate::ai::extractive::text::{follows_german_article, is_calendar_word, is_stop_word};

/// One unit of writing: a briefing story, or a whole explanation.
#[derive(Clone, Debug, Default)]
pub struct Unit {
    pub title: String,
    pub text: String,
    /// Cited messages as `(channel, ts)`.
    pub sources: Vec<(String, String)>,
}

impl Unit {
    fn words(&self) -> Vec<String> {
        words(&format!("{}\n{}", self.title, self.text))
    }

    fn cites_any(&self, wanted: &[(&str, &str)]) -> bool {
        wanted.is_empty()
            || self
                .sources
                .iter()
                .any(|(c, t)| wanted.iter().any(|(wc, wt)| wc == c && wt == t))
    }
}

/// Lower-cased, accents folded (`é` → `e`), split on anything that is not a letter or a digit.
pub fn words(text: &str) -> Vec<String> {
    let folded: String = text
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// A gold word matches a written word: exactly when short (so "pr" is not "prod"), by prefix from
/// four letters on (so "meetup" matches "meetups", "contact" matches "contacted").
fn word_matches(gold: &str, written: &str) -> bool {
    if gold.chars().count() >= 4 {
        written.starts_with(gold)
    } else {
        written == gold
    }
}

/// Whether the term (one or more words) occurs in `text` as consecutive words.
fn has_term(text: &[String], term: &str) -> bool {
    let term = words(term);
    if term.is_empty() {
        return true;
    }
    text.windows(term.len())
        .any(|w| w.iter().zip(&term).all(|(t, g)| word_matches(g, t)))
}

/// Whether all terms of one alternative occur in `text`.
fn matches_alternative(text: &[String], alternative: &[String]) -> bool {
    alternative.iter().all(|t| has_term(text, t))
}

/// The unit (index) that carries a gold item, if any: one alternative matched in full, and one of
/// the item's messages cited when it names any.
pub fn carried_by(units: &[Unit], item: &Item) -> Option<usize> {
    let wanted = item.cited();
    units.iter().position(|u| {
        let text = u.words();
        item.any.iter().any(|alt| matches_alternative(&text, alt)) && u.cites_any(&wanted)
    })
}

/// Whether a `must_not` item is broken: its terms appear in some unit, or a unit cites one of its
/// channels.
pub fn breaks(units: &[Unit], item: &Item) -> bool {
    units.iter().any(|u| {
        let text = u.words();
        item.any.iter().any(|alt| matches_alternative(&text, alt))
            || u.sources.iter().any(|(c, _)| item.channels.contains(c))
    })
}

/// Words that frame a story without telling anything ("came up", "told you", "in #general").
const FRAMING: &[&str] = &[
    "came",
    "comes",
    "told",
    "tells",
    "said",
    "says",
    "asked",
    "asks",
    "discussed",
    "discusses",
    "mentioned",
    "mentions",
    "talked",
    "shared",
    "shares",
    "wrote",
    "writes",
    "posted",
    "replied",
    "replies",
    "channel",
    "channels",
    "thread",
    "conversation",
    "discussion",
    "people",
    "message",
    "messages",
    "also",
    "about",
    "today",
    "yesterday",
    "here",
    "there",
    "something",
    "things",
    "update",
    "updates",
    "topic",
    "topics",
    "team",
    "everyone",
    "others",
    "someone",
];

/// The words of a text that carry content: not stop words, not framing, not a name of a person
/// or a channel, at least three letters.
pub fn content_words(text: &str, names: &HashSet<String>) -> BTreeSet<String> {
    words(text)
        .into_iter()
        .filter(|w| w.chars().count() >= 3)
        .filter(|w| !is_stop_word(w) && !FRAMING.contains(&w.as_str()))
        .filter(|w| !names.contains(w))
        .collect()
}

/// A story that says nothing beyond who and where: fewer than three content words in its text.
pub fn is_contentless(unit: &Unit, names: &HashSet<String>) -> bool {
    content_words(&unit.text, names).len() < 3
}

/// How many units repeat an earlier one: they cite a message in common, or half their content
/// words are shared.
pub fn duplicates(units: &[Unit], names: &HashSet<String>) -> usize {
    let words: Vec<BTreeSet<String>> = units
        .iter()
        .map(|u| content_words(&format!("{} {}", u.title, u.text), names))
        .collect();
    (1..units.len())
        .filter(|&j| {
            (0..j).any(|i| {
                let shared_source = units[j]
                    .sources
                    .iter()
                    .any(|s| units[i].sources.contains(s));
                let common = words[i].intersection(&words[j]).count();
                let union = words[i].union(&words[j]).count();
                shared_source || (union > 0 && common * 2 >= union)
            })
        })
        .count()
}

/// Every word chief's own framing sentences can contain, in every language (German capitalises
/// its nouns: "Diskussion" is framing, not a name).
static FRAMING_VOCABULARY: std::sync::LazyLock<HashSet<String>> = std::sync::LazyLock::new(|| {
    crate::ai::tasks::guardrail::template_vocabulary()
        .iter()
        .flat_map(|w| words(w))
        .collect()
});

/// What a unit may state: every word and number of the messages the reader could see, the names
/// of people and channels, and the day numbers around the briefing day (a "Thursday" in the
/// sources may be written "Thursday 10 December").
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    words: HashSet<String>,
    numbers: HashSet<String>,
}

impl Evidence {
    pub fn new<'a>(texts: impl IntoIterator<Item = &'a str>, extra_numbers: &[u32]) -> Self {
        let mut evidence = Evidence::default();
        for text in texts {
            for w in words(text) {
                for run in digit_runs(&w) {
                    // "02" and "2" are one number; "2pm" and "14:00" one hour.
                    if let Ok(n) = run.parse::<u64>() {
                        evidence.numbers.insert(n.to_string());
                        if (13..=23).contains(&n) {
                            evidence.numbers.insert((n - 12).to_string());
                        }
                    }
                    evidence.numbers.insert(run);
                }
                evidence.words.insert(w);
            }
        }
        evidence
            .numbers
            .extend(extra_numbers.iter().map(u32::to_string));
        evidence
    }

    fn knows_word(&self, w: &str) -> bool {
        if self.words.contains(w) {
            return true;
        }
        // Morphology: "deploying" is supported by "deploy", "Continuum's" by "continuum".
        let n = w.chars().count();
        let head: String = w.chars().take(5.min(n)).collect();
        n >= 4
            && self
                .words
                .iter()
                .any(|e| e.starts_with(&head) || (e.chars().count() >= 4 && w.starts_with(e)))
    }

    fn knows_number(&self, run: &str) -> bool {
        self.numbers.contains(run)
            || run
                .parse::<u64>()
                .is_ok_and(|n| self.numbers.contains(&n.to_string()))
    }

    /// The numbers and capitalised words of a unit that nothing supports. Titles are checked for
    /// numbers only (Title Case makes every word look like a name).
    pub fn invented(&self, unit: &Unit) -> Vec<String> {
        let mut found = BTreeSet::new();
        for text in [&unit.title, &unit.text] {
            for w in words(text) {
                for run in digit_runs(&w) {
                    if !self.knows_number(&run) {
                        found.insert(run);
                    }
                }
            }
        }
        for word in capitalised_mid_sentence(&unit.text) {
            // "C'est", "L'équipe": the elided article is not the word; "Ted's" is Ted.
            let parts = words(&word);
            let folded = match parts.as_slice() {
                [head, rest @ ..] if head.chars().count() <= 2 && !rest.is_empty() => rest.join(""),
                [head, s] if s == "s" => head.clone(),
                _ => parts.join(""),
            };
            // "Mac-using", "CSV-Export": a compound is supported when each of its parts is.
            let compound = parts.len() > 1
                && parts.iter().all(|p| {
                    is_stop_word(p) || self.knows_word(p) || FRAMING_VOCABULARY.contains(p)
                });
            if folded.is_empty()
                || compound
                || is_calendar_word(&folded)
                || is_stop_word(&folded)
                || FRAMING_VOCABULARY.contains(&folded)
                || self.knows_word(&folded)
            {
                continue;
            }
            found.insert(word);
        }
        found.into_iter().collect()
    }
}

fn digit_runs(word: &str) -> Vec<String> {
    word.split(|c: char| !c.is_ascii_digit())
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect()
}

/// Words that start with a capital letter and do not start a sentence (nor a line, nor follow a
/// `#`, `@` or a link's punctuation): the proper nouns a writer could invent.
fn capitalised_mid_sentence(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    // A bold line is a heading chief wrote ("*Dazu im Kanal*"), not a claim.
    let german = crate::ai::extractive::lang::detect(text) == Some(crate::ai::extractive::Lang::De);
    for line in text.lines().filter(|l| !l.trim_start().starts_with('*')) {
        let mut sentence_start = true;
        let mut previous: [String; 2] = Default::default();
        for raw in line.split_whitespace() {
            // German capitalises nouns: after an article ("seit dem Vortag") a capital is a noun.
            let after_article = german && follows_german_article(&previous);
            previous = [previous[1].clone(), words(raw).join("")];
            let word = raw.trim_matches(|c: char| !c.is_alphanumeric());
            let opens = raw
                .chars()
                .next()
                .is_some_and(|c| matches!(c, '#' | '@' | '<' | '(' | '"' | '“' | '*' | '_' | '`'));
            if !word.is_empty()
                && !sentence_start
                && !after_article
                && !opens
                && !raw.contains("://")
                && word.chars().next().is_some_and(char::is_uppercase)
            {
                out.push(word.to_string());
            }
            if !word.is_empty() {
                sentence_start = raw.ends_with(['.', '!', '?', ':', '—', '–', ';']);
            }
        }
    }
    out
}

/// The reader named in the third person: their full name, a display name that is a name, or their
/// first name on its own — not when it begins another person's name ("Marco Vogel" is not the
/// reader Marco Rossi).
pub fn names_reader(text: &str, real_name: Option<&str>, display_name: Option<&str>) -> bool {
    let written = words(text);
    let full: Vec<&str> = [real_name, display_name]
        .into_iter()
        .flatten()
        .filter(|n| n.chars().any(char::is_uppercase) && n.chars().count() >= 3)
        .collect();
    if full
        .iter()
        .filter(|n| n.split_whitespace().count() > 1)
        .any(|n| has_exact(&written, &words(n)))
    {
        return true;
    }
    let Some(first) = real_name
        .and_then(|n| n.split_whitespace().next())
        .filter(|f| f.chars().count() >= 3)
    else {
        return false;
    };
    // The first name alone: followed by a capitalised word means someone else's full name.
    let tokens: Vec<&str> = text.split_whitespace().collect();
    tokens.iter().enumerate().any(|(i, raw)| {
        let word = raw.trim_matches(|c: char| !c.is_alphanumeric());
        if words(word) != words(first) {
            return false;
        }
        let ends_phrase = raw.ends_with(|c: char| !c.is_alphanumeric());
        let next_is_name = tokens
            .get(i + 1)
            .map(|n| n.trim_start_matches(|c: char| !c.is_alphanumeric()))
            .and_then(|n| n.chars().next())
            .is_some_and(char::is_uppercase);
        ends_phrase || !next_is_name
    })
}

fn has_exact(text: &[String], term: &[String]) -> bool {
    !term.is_empty() && text.windows(term.len()).any(|w| w == term)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(title: &str, text: &str, sources: &[(&str, &str)]) -> Unit {
        Unit {
            title: title.into(),
            text: text.into(),
            sources: sources
                .iter()
                .map(|(c, t)| (c.to_string(), t.to_string()))
                .collect(),
        }
    }

    fn item(any: &[&[&str]], cites: &[&str]) -> Item {
        Item {
            any: any
                .iter()
                .map(|a| a.iter().map(|t| t.to_string()).collect())
                .collect(),
            cites: cites.iter().map(|c| c.to_string()).collect(),
            ..Item::default()
        }
    }

    #[test]
    fn a_fact_is_carried_by_one_story_with_its_words_and_its_source() {
        let units = vec![
            unit("Launch", "The launch slipped.", &[("C1", "1.0")]),
            unit(
                "Meetup page",
                "Micah asked you for the Meetups page content.",
                &[("C2", "2.0")],
            ),
        ];
        assert_eq!(
            carried_by(&units, &item(&[&["meetup", "page"]], &[])),
            Some(1)
        );
        assert_eq!(
            carried_by(&units, &item(&[&["meetup", "page"]], &["C2/2.0"])),
            Some(1)
        );
        // Cited elsewhere: not carried.
        assert_eq!(
            carried_by(&units, &item(&[&["meetup", "page"]], &["C1/1.0"])),
            None
        );
        // Terms split across two stories: not carried.
        assert_eq!(
            carried_by(&units, &item(&[&["launch", "meetup"]], &[])),
            None
        );
        // Short words match exactly: "pr" is not "page".
        assert_eq!(carried_by(&units, &item(&[&["pa"]], &[])), None);
        // Accents and case fold: "Équipe" matches "equipe".
        let fr = vec![unit("", "L'Équipe a décidé.", &[])];
        assert_eq!(
            carried_by(&fr, &item(&[&["equipe", "decide"]], &[])),
            Some(0)
        );
    }

    #[test]
    fn a_story_of_names_and_framing_alone_is_contentless() {
        let names: HashSet<String> = ["micah", "stubbs", "meetup"].map(String::from).into();
        let empty = unit(
            "#meetup-",
            "This came up in #meetup-, with Micah Stubbs.",
            &[],
        );
        assert!(is_contentless(&empty, &names));
        let real = unit(
            "Meetup page",
            "Micah Stubbs asked you for a Jupyter link and a chart image.",
            &[],
        );
        assert!(!is_contentless(&real, &names));
    }

    #[test]
    fn invented_numbers_and_names_are_found_and_paraphrases_are_not() {
        let evidence = Evidence::new(
            [
                "A 3-dimensional plot, see https://www.reddit.com/r/dataisbeautiful",
                "deploying at 14:00 with Priya",
            ],
            &[10],
        );
        let fine = unit(
            "3D plot",
            "Priya shares a 3D plot from Reddit. The deploy is at 2pm on Thursday 10 December.",
            &[],
        );
        assert!(
            evidence.invented(&fine).is_empty(),
            "{:?}",
            evidence.invented(&fine)
        );
        let made_up = unit("", "The deploy moved to 4pm, says Gertrude.", &[]);
        assert_eq!(evidence.invented(&made_up), vec!["4", "Gertrude"]);
    }

    #[test]
    fn the_reader_is_named_by_full_name_or_a_lone_first_name_but_not_by_a_namesake() {
        let (real, display) = (Some("Marco Rossi"), Some("marco"));
        assert!(names_reader("Marco Rossi asked for it.", real, display));
        assert!(names_reader("Priya told Marco to wait.", real, display));
        assert!(!names_reader(
            "You met Joao Patel, Marco Vogel and Priya.",
            real,
            display
        ));
        assert!(!names_reader("You asked for it.", real, display));
    }

    #[test]
    fn shared_sources_or_shared_words_make_a_duplicate() {
        let names = HashSet::new();
        let units = vec![
            unit(
                "Deploy freeze",
                "The deploy freeze starts Friday evening.",
                &[("C1", "1")],
            ),
            unit(
                "Freeze",
                "The deploy freeze starts Friday evening for all.",
                &[("C2", "2")],
            ),
            unit(
                "Hiring",
                "Two offers went out to backend candidates.",
                &[("C1", "3")],
            ),
        ];
        assert_eq!(duplicates(&units, &names), 1);
    }
}
