//! Text basics: cleaning chat markup, Unicode word and sentence segmentation (UAX #29 through
//! `unicode-segmentation`, which handles apostrophes, non-Latin scripts and abbreviations better
//! than splitting on spaces and dots), stop words and stemmed terms.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use unicode_segmentation::UnicodeSegmentation;

use super::dates::{self, calendar_names};
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
        .replace(['’', '‘'], "'")
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

/// Articles and article-contractions after which a capitalised German word is a noun.
const GERMAN_DETERMINERS: &[&str] = &[
    "der", "die", "das", "dem", "den", "des", "ein", "eine", "einem", "einen", "einer", "eines",
    "kein", "keine", "am", "im", "vom", "zum", "zur", "beim", "ins", "ans", "dein", "deine",
    "deinen", "deinem", "ihr", "ihre", "ihren", "sein", "seine", "seinen", "unser", "unsere",
    "diese", "dieser", "diesen", "diesem",
];

/// Whether one of the words just before (lower-cased) is a German article: German capitalises
/// every noun, so a capital after "den", "dem", "am"… is a noun ("den Termin"), not a name.
pub fn follows_german_article(previous: &[String]) -> bool {
    previous
        .iter()
        .any(|p| GERMAN_DETERMINERS.contains(&p.as_str()))
}

/// The word with its first letter upper-cased (Unicode-aware: `élan` → `Élan`), the rest as is.
pub fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Whether a word is a weekday or month name (in a supported language), which look like proper
/// nouns but are dates.
pub fn is_calendar_word(lower: &str) -> bool {
    CALENDAR_WORDS.contains(lower)
}

/// Every calendar word, lower-cased: the full names [`format_date`](super::dates::format_date)
/// writes in each language (one list for writing dates and for recognising them), the month
/// forms the date finder reads, and the short forms and day words chat uses besides.
static CALENDAR_WORDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let names = Lang::ALL.into_iter().flat_map(|lang| {
        let (weekdays, months) = calendar_names(lang);
        weekdays.iter().chain(months.iter())
    });
    let month_forms = dates::MONTHS.iter().map(|(form, _)| form);
    names
        .chain(month_forms)
        .chain(OTHER_CALENDAR_WORDS)
        .map(|w| w.to_lowercase())
        .collect()
});

/// Weekday abbreviations and the days named by their distance from today.
const OTHER_CALENDAR_WORDS: &[&str] = &[
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thurs",
    "fri",
    "sat",
    "sun",
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
    "add",
    "added",
    "afaict",
    "afaik",
    "after",
    "again",
    "against",
    "ago",
    "agree",
    "ah",
    "aha",
    "aka",
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
    "answer",
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
    "bunch",
    "but",
    "by",
    "c",
    "call",
    "can",
    "can't",
    "cannot",
    "cant",
    "ce",
    "cela",
    "ces",
    "cette",
    "change",
    "changed",
    "check",
    "come",
    "cool",
    "could",
    "couldn't",
    "course",
    "create",
    "created",
    "d",
    "da",
    "dans",
    "das",
    "dass",
    "day",
    "de",
    "define",
    "definitely",
    "dein",
    "del",
    "dem",
    "den",
    "der",
    "des",
    "did",
    "didn't",
    "didnt",
    "die",
    "difference",
    "different",
    "do",
    "doch",
    "does",
    "doesn't",
    "doesnt",
    "doing",
    "don't",
    "done",
    "dont",
    "down",
    "dr",
    "du",
    "during",
    "e",
    "each",
    "easy",
    "eg",
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
    "enter",
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
    "example",
    "examples",
    "explore",
    "false",
    "far",
    "feel",
    "few",
    "find",
    "fine",
    "first",
    "folks",
    "follow",
    "for",
    "found",
    "from",
    "fwiw",
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
    "guess",
    "guys",
    "ha",
    "had",
    "haha",
    "happen",
    "happened",
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
    "help",
    "her",
    "here",
    "hers",
    "herself",
    "hey",
    "hi",
    "him",
    "himself",
    "his",
    "hm",
    "hmm",
    "hope",
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
    "iirc",
    "iiuc",
    "il",
    "ils",
    "im",
    "imho",
    "imo",
    "in",
    "include",
    "includes",
    "indeed",
    "instead",
    "into",
    "iow",
    "is",
    "isn't",
    "isnt",
    "ist",
    "it",
    "it's",
    "its",
    "itself",
    "ive",
    "ja",
    "je",
    "just",
    "keep",
    "kind",
    "know",
    "la",
    "las",
    "last",
    "le",
    "learn",
    "least",
    "les",
    "less",
    "let",
    "let's",
    "like",
    "list",
    "little",
    "lo",
    "lol",
    "look",
    "looking",
    "looks",
    "los",
    "lot",
    "lots",
    "love",
    "made",
    "make",
    "makes",
    "many",
    "may",
    "maybe",
    "me",
    "mean",
    "might",
    "mind",
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
    "nah",
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
    "oops",
    "open",
    "or",
    "other",
    "others",
    "otoh",
    "ou",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "par",
    "para",
    "part",
    "pas",
    "people",
    "per",
    "perhaps",
    "person",
    "play",
    "playing",
    "please",
    "pls",
    "plus",
    "point",
    "por",
    "post",
    "posted",
    "pour",
    "pretty",
    "pro",
    "probably",
    "put",
    "que",
    "question",
    "questions",
    "qui",
    "quite",
    "rather",
    "re",
    "read",
    "really",
    "right",
    "run",
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
    "send",
    "sense",
    "set",
    "share",
    "shared",
    "she",
    "she'd",
    "she'll",
    "she's",
    "should",
    "shouldn't",
    "show",
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
    "sort",
    "sound",
    "sounds",
    "start",
    "started",
    "still",
    "stuff",
    "su",
    "such",
    "sun",
    "sur",
    "sure",
    "t",
    "take",
    "talk",
    "talking",
    "tbh",
    "te",
    "tell",
    "than",
    "thank",
    "thanks",
    "that",
    "that's",
    "thats",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "there's",
    "theres",
    "these",
    "they",
    "they'd",
    "they'll",
    "they're",
    "they've",
    "thing",
    "things",
    "think",
    "thinking",
    "this",
    "tho",
    "those",
    "though",
    "thought",
    "through",
    "thru",
    "thx",
    "till",
    "time",
    "times",
    "tl",
    "tldr",
    "to",
    "today",
    "tomorrow",
    "tonight",
    "too",
    "top",
    "totally",
    "towards",
    "tried",
    "true",
    "try",
    "trying",
    "tu",
    "two",
    "u",
    "ugh",
    "um",
    "un",
    "una",
    "und",
    "understand",
    "une",
    "uno",
    "unos",
    "until",
    "up",
    "upon",
    "ur",
    "us",
    "use",
    "used",
    "using",
    "very",
    "via",
    "vous",
    "wait",
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
    "welcome",
    "well",
    "went",
    "were",
    "weren't",
    "what",
    "what's",
    "whats",
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
    "wont",
    "work",
    "worked",
    "working",
    "works",
    "would",
    "wouldn't",
    "wow",
    "write",
    "wrote",
    "y",
    "ya",
    "yeah",
    "year",
    "yep",
    "yes",
    "yesterday",
    "yet",
    "ymmv",
    "yo",
    "you",
    "you'd",
    "you'll",
    "you're",
    "you've",
    "your",
    "youre",
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
    fn calendar_words_cover_every_language_and_short_form() {
        for word in [
            "friday",
            "vendredi",
            "märz",
            "sábado",
            "diciembre",
            "sept",
            "tues",
            "tonight",
        ] {
            assert!(is_calendar_word(word), "{word}");
        }
        assert!(!is_calendar_word("payments"));
        assert!(!is_calendar_word("Friday"), "the caller lower-cases");
    }

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
