//! Text basics: cleaning chat markup, Unicode word and sentence segmentation (UAX #29 through
//! `unicode-segmentation`, which handles apostrophes, non-Latin scripts and abbreviations better
//! than splitting on spaces and dots), stop words and stemmed terms.

use std::sync::LazyLock;

use regex::Regex;
use unicode_segmentation::UnicodeSegmentation;

use super::lang::Lang;

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<?(?:https?://|www\.)[^\s>|]+(?:\|([^>]*))?>?").expect("static regex")
});
static SLACK_MENTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<@[A-Z0-9]+\|([^>]+)>").expect("static regex"));
static SLACK_CHANNEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<#[A-Z0-9]+\|([^>]+)>").expect("static regex"));
static EMOJI: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r":[a-z0-9_+\-]+:").expect("static regex"));
static SPACES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[ \t]+").expect("static regex"));

/// Makes a chat line readable as prose: emoji shortcodes dropped, any leftover Slack markup
/// (`<@U1|bob>`, `<#C1|general>`, `<url|label>`) turned into `@bob`, `#general` and the label or
/// URL, runs of spaces collapsed. Text chief stores is already flattened; this keeps the engine
/// safe on raw exports too.
pub fn clean(text: &str) -> String {
    let text = SLACK_MENTION.replace_all(text, "@$1");
    let text = SLACK_CHANNEL.replace_all(&text, "#$1");
    let text = URL.replace_all(&text, |caps: &regex::Captures| match caps.get(1) {
        Some(label) if !label.as_str().trim().is_empty() => label.as_str().to_string(),
        _ => caps[0]
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string(),
    });
    let text = EMOJI.replace_all(&text, "");
    let text = text
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    SPACES
        .replace_all(&text, " ")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text without URLs, for analysis (keyphrases, similarity): links are not topics.
pub fn strip_urls(text: &str) -> String {
    URL.replace_all(text, " ").into_owned()
}

/// Words in reading order (UAX #29), keeping their case; `can't` stays one word.
pub fn words(text: &str) -> Vec<&str> {
    text.unicode_words().collect()
}

/// Sentences (UAX #29), also split at line breaks, trimmed, empty ones dropped. Chat often has no
/// final punctuation: each line then counts as a sentence.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut current = String::new();
        for piece in line.unicode_sentences() {
            current.push_str(piece);
            // A boundary not followed by a space fell inside a token (`…/#!topic/…`): keep going.
            if piece.ends_with(char::is_whitespace) {
                out.push(std::mem::take(&mut current));
            }
        }
        out.push(current);
    }
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| s.chars().any(char::is_alphanumeric))
        .collect()
}

/// Lower-cased, stemmed content words of a text, stop words and URLs removed: the unit of
/// comparison for TF-IDF, keyphrases and overlap checks.
pub fn terms(text: &str, lang: Lang) -> Vec<String> {
    let stemmer = lang.stemmer();
    let stripped = strip_urls(text);
    words(&stripped)
        .into_iter()
        .filter_map(|w| {
            let lower = w.to_lowercase();
            let keep = lower.chars().count() > 1
                && !is_stop_word(&lower)
                && lower.chars().any(char::is_alphabetic);
            keep.then(|| stem_with(&stemmer, &lower))
        })
        .collect()
}

/// The stem of one lower-case word.
pub fn stem(word: &str, lang: Lang) -> String {
    stem_with(&lang.stemmer(), &word.to_lowercase())
}

fn stem_with(stemmer: &rust_stemmers::Stemmer, lower: &str) -> String {
    let apostrophe_free = lower.replace(['\'', '’'], "");
    stemmer.stem(&apostrophe_free).into_owned()
}

/// Whether a lower-case word carries no topic in any supported language. One union list: chat
/// mixes languages and a word that is filler in one is rarely a topic in another. Hand-written
/// rather than a crate's: chat needs fillers ("lol", "thx", "yeah") and generic verbs ("think",
/// "look") that general-purpose lists lack, and the lists stay small and reviewable.
pub fn is_stop_word(lower: &str) -> bool {
    let normalised = lower.replace('’', "'");
    STOP_WORDS.binary_search(&normalised.as_str()).is_ok()
}

/// Whether a word is a weekday or month name (in a supported language), which look like proper
/// nouns but are dates.
pub fn is_calendar_word(lower: &str) -> bool {
    CALENDAR_WORDS.contains(&lower)
}

pub const CALENDAR_WORDS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thurs",
    "fri",
    "sat",
    "sun",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
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
    "montag",
    "dienstag",
    "mittwoch",
    "donnerstag",
    "freitag",
    "samstag",
    "sonntag",
    "januar",
    "februar",
    "märz",
    "juni",
    "juli",
    "oktober",
    "dezember",
    "lunes",
    "martes",
    "miércoles",
    "jueves",
    "viernes",
    "sábado",
    "domingo",
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
    "today",
    "tomorrow",
    "yesterday",
    "tonight",
];

/// Sorted (checked by a test) for binary search.
const STOP_WORDS: &[&str] = &[
    "'d",
    "'ll",
    "'m",
    "'re",
    "'s",
    "'ve",
    "a",
    "able",
    "about",
    "above",
    "actually",
    "after",
    "again",
    "against",
    "ago",
    "agree",
    "ah",
    "aha",
    "al",
    "all",
    "almost",
    "already",
    "also",
    "although",
    "always",
    "am",
    "among",
    "an",
    "and",
    "another",
    "any",
    "anybody",
    "anyone",
    "anything",
    "anyway",
    "anyways",
    "are",
    "aren't",
    "around",
    "as",
    "ask",
    "asked",
    "at",
    "auch",
    "auf",
    "aus",
    "avec",
    "awesome",
    "b",
    "back",
    "bad",
    "be",
    "became",
    "because",
    "become",
    "been",
    "before",
    "being",
    "below",
    "best",
    "better",
    "between",
    "bien",
    "big",
    "bit",
    "both",
    "btw",
    "but",
    "by",
    "c",
    "can",
    "can't",
    "cannot",
    "ce",
    "cela",
    "ces",
    "cette",
    "come",
    "cool",
    "could",
    "couldn't",
    "d",
    "da",
    "dans",
    "das",
    "dass",
    "day",
    "de",
    "dein",
    "del",
    "dem",
    "den",
    "der",
    "des",
    "did",
    "didn't",
    "die",
    "do",
    "doch",
    "does",
    "doesn't",
    "doing",
    "don't",
    "done",
    "down",
    "du",
    "during",
    "e",
    "each",
    "easy",
    "eh",
    "ein",
    "eine",
    "einen",
    "einer",
    "el",
    "ella",
    "ellos",
    "else",
    "en",
    "entre",
    "er",
    "es",
    "esa",
    "ese",
    "eso",
    "esta",
    "este",
    "esto",
    "et",
    "etc",
    "even",
    "ever",
    "every",
    "everybody",
    "everyone",
    "everything",
    "exactly",
    "far",
    "few",
    "fine",
    "first",
    "folks",
    "for",
    "from",
    "fyi",
    "get",
    "gets",
    "getting",
    "give",
    "go",
    "goes",
    "going",
    "gonna",
    "good",
    "got",
    "gotta",
    "great",
    "guys",
    "ha",
    "had",
    "haha",
    "has",
    "hasn't",
    "hat",
    "have",
    "haven't",
    "having",
    "he",
    "he'd",
    "he'll",
    "he's",
    "hello",
    "her",
    "here",
    "hers",
    "herself",
    "hey",
    "hi",
    "him",
    "himself",
    "his",
    "hmm",
    "hour",
    "how",
    "however",
    "i",
    "i'd",
    "i'll",
    "i'm",
    "i've",
    "ich",
    "idea",
    "ie",
    "if",
    "il",
    "ils",
    "im",
    "in",
    "indeed",
    "into",
    "is",
    "isn't",
    "ist",
    "it",
    "it's",
    "its",
    "itself",
    "ja",
    "je",
    "just",
    "kind",
    "know",
    "la",
    "las",
    "last",
    "le",
    "least",
    "les",
    "less",
    "let",
    "let's",
    "like",
    "little",
    "lo",
    "lol",
    "look",
    "looking",
    "looks",
    "los",
    "lot",
    "lots",
    "made",
    "make",
    "makes",
    "many",
    "may",
    "maybe",
    "me",
    "mean",
    "might",
    "minute",
    "mit",
    "more",
    "most",
    "mostly",
    "much",
    "must",
    "my",
    "myself",
    "na",
    "need",
    "needs",
    "new",
    "next",
    "nice",
    "nicht",
    "no",
    "nope",
    "nor",
    "not",
    "nothing",
    "nous",
    "now",
    "o",
    "of",
    "off",
    "often",
    "oh",
    "ok",
    "okay",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "others",
    "ou",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "par",
    "para",
    "pas",
    "per",
    "perhaps",
    "please",
    "pls",
    "plus",
    "por",
    "pour",
    "pretty",
    "pro",
    "probably",
    "put",
    "que",
    "qui",
    "quite",
    "rather",
    "re",
    "really",
    "right",
    "s",
    "said",
    "same",
    "say",
    "says",
    "se",
    "see",
    "seem",
    "seemed",
    "seems",
    "sein",
    "she",
    "she'd",
    "she'll",
    "she's",
    "should",
    "shouldn't",
    "sich",
    "sie",
    "since",
    "sind",
    "so",
    "some",
    "someone",
    "something",
    "sometimes",
    "soon",
    "sorry",
    "still",
    "su",
    "such",
    "sun",
    "sur",
    "sure",
    "t",
    "take",
    "te",
    "tell",
    "than",
    "thank",
    "thanks",
    "that",
    "that's",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "there's",
    "these",
    "they",
    "they'd",
    "they'll",
    "they're",
    "they've",
    "thing",
    "things",
    "think",
    "this",
    "tho",
    "those",
    "though",
    "through",
    "thru",
    "thx",
    "till",
    "time",
    "to",
    "today",
    "tomorrow",
    "tonight",
    "too",
    "top",
    "towards",
    "try",
    "trying",
    "tu",
    "two",
    "u",
    "um",
    "un",
    "una",
    "und",
    "une",
    "uno",
    "unos",
    "until",
    "up",
    "upon",
    "us",
    "use",
    "used",
    "using",
    "very",
    "via",
    "vous",
    "wanna",
    "want",
    "wanted",
    "wants",
    "was",
    "wasn't",
    "way",
    "we",
    "we'd",
    "we'll",
    "we're",
    "we've",
    "week",
    "well",
    "went",
    "were",
    "weren't",
    "what",
    "what's",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "whole",
    "whom",
    "whose",
    "why",
    "wie",
    "will",
    "wir",
    "with",
    "within",
    "without",
    "won't",
    "work",
    "would",
    "wouldn't",
    "wow",
    "y",
    "yeah",
    "year",
    "yep",
    "yes",
    "yesterday",
    "yet",
    "yo",
    "you",
    "you'd",
    "you'll",
    "you're",
    "you've",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "yup",
    "zu",
    "él",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        let mut sorted = STOP_WORDS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, STOP_WORDS);
    }

    #[test]
    fn raw_slack_markup_becomes_prose() {
        let raw = "<@U061A5N1G|neerajt>: see <http://meetup.com|meetup.com> and <https://x.org/a> :simple_smile: in <#C1|general>";
        assert_eq!(
            clean(raw),
            "@neerajt: see meetup.com and https://x.org/a in #general"
        );
    }

    #[test]
    fn sentences_split_at_punctuation_and_line_breaks() {
        let s = sentences("Deploy is done. Can someone check staging?\nthanks all");
        assert_eq!(
            s,
            [
                "Deploy is done.",
                "Can someone check staging?",
                "thanks all"
            ]
        );
    }

    #[test]
    fn terms_are_stemmed_content_words_without_links() {
        assert_eq!(
            terms(
                "The meetings were moved to https://example.com/x, thanks!",
                Lang::En
            ),
            ["meet", "move"]
        );
    }
}
