//! From chat lines to short third-person statements, by rules: split sentences into clauses,
//! resolve "I"/"my" to the author and "you" to the addressee, classify each clause's modality
//! (request, decision, blocker, plan, question, statement) from its wording, and resolve relative
//! dates against the posting time. English rules; other languages get the modality from
//! punctuation and keep their wording, attributed to the author.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;

use super::dates::{self, DateMention};
use super::lang::Lang;
use super::text::{self, is_stop_word};

pub use crate::model::proposition::Modality;

/// Who said it and when, for resolving pronouns and dates.
#[derive(Clone, Debug)]
pub struct Speaker<'a> {
    pub author: &'a str,
    pub posted_at: i64,
    pub utc_offset_secs: i32,
    /// The project the channel is about (`project-lavender` → `Lavender`), for "the project".
    pub project: Option<&'a str>,
    pub lang: Lang,
    /// Known names (possibly with spaces) for reading leading `@Full Name` addressees.
    pub known_people: &'a [String],
    /// Whom the message speaks to when it names no one itself: chat continues an exchange, so
    /// "would be cool to see a link" right after "@Neeraj: announced the meetup" is asked of
    /// Neeraj (see `discussion::claims_of`).
    pub addressee: Option<&'a str>,
}

/// One AMR-like statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub subject: String,
    pub predicate: String,
    pub object: String,
    pub time: Option<NaiveDate>,
    pub modality: Modality,
    /// The statement as a sentence ("Bob asks to move the project Lavender meeting").
    pub text: String,
    /// Who the clause addresses (`@carol could you …`), when named.
    pub addressee: Option<String>,
}

static ONE_MENTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"@([\p{L}\p{N}._\-]+)").expect("static regex"));
static DECISION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(decided|decide to|agreed (?:on|to|that)|we agreed|(?:we'll|we will|let's|we're|we are) go(?:ing)? with|settled on|final decision|the decision is|approved|signed off)\b").expect("static regex")
});
static REQUEST_WE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:so |and |but |also )?(?:can|could|would|shall|should|may) (?:we|i) (.+)$")
        .expect("static regex")
});
static REQUEST_YOU: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:so |and |but |also )?(?:can|could|would|will) (?:you|u)(?: please| pls)? (.+)$",
    )
    .expect("static regex")
});
static REQUEST_ANYONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:so |and |but |also )?(?:can|could|would|will) (?:someone|anyone|somebody|anybody)(?: please| pls)? (.+)$").expect("static regex")
});
static REQUEST_PLEASE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^(?:please|pls|plz|kindly) (.+)$").expect("static regex"));
static REQUEST_SUGGEST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:it )?(?:would|'d|it'd) be (?:great|nice|cool|good|helpful|awesome|useful) (to|if) (.+)$").expect("static regex")
});
static BLOCKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(\b(blocked|blocking|blocker|waiting on|waiting for|stuck|cannot|can not|unable|broken|failing|fails|failed|outage)\b|\b(can't|cant|can’t|won't be able|couldn't|is down|are down)\b)").expect("static regex")
});
static PLAN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(\b(will|going to|gonna|plan to|planning|plan is|intend to|let's|lets|tomorrow|next week|shall)\b|'ll\b|’ll\b)").expect("static regex")
});
static REQUEST_FEEL_FREE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:just |also |please )*(?:feel free|don't hesitate|remember|make sure) to (.+)$",
    )
    .expect("static regex")
});
static REQUEST_IMPERATIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:just |also |please |pls |kindly )*((?:reach out|send|add|post|check|review|take|look|share|ask|email|call|contact|update|fix|mention|create|write|read|try|give|bring|book|schedule|move|put|ping|follow up|submit|merge|approve|test|run|deploy|prepare|finish|upload|forward|invite|sign|join|confirm|tell|let me know|shoot|draft|publish|announce|remind|order|buy|pick up|grab|set up|sort out|reply|respond|answer)\b.*)$")
        .expect("static regex")
});
static QUESTION_ANYONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:does |has |is )?(?:anyone|anybody|someone) (.+)$").expect("static regex")
});

/// Modal verbs and their negations: auxiliaries (see [`is_aux`]) that also take no third-person
/// `-s` (see [`takes_no_s`]); one list so the two rules cannot drift apart.
const MODAL_VERBS: &[&str] = &[
    "can",
    "can't",
    "cant",
    "cannot",
    "could",
    "couldn't",
    "will",
    "won't",
    "would",
    "wouldn't",
    "should",
    "shouldn't",
    "shall",
    "must",
    "might",
    "may",
];
/// Auxiliaries and adverbs that may stand between a subject and its verb, besides the modals.
const OTHER_AUX: &[&str] = &[
    "am",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "need",
    "needs",
    "have",
    "has",
    "had",
    "haven't",
    "hasn't",
    "do",
    "don't",
    "does",
    "doesn't",
    "did",
    "didn't",
    "not",
    "also",
    "just",
    "really",
    "still",
    "already",
    "never",
    "probably",
    "actually",
    "definitely",
    "then",
    "gonna",
    "wanna",
];
/// Verbs with no third-person `-s`, besides the modals.
const OTHER_NO_S: &[&str] = &[
    "is", "was", "be", "been", "has", "had", "does", "did", "didn't", "not", "gonna", "wanna",
];

/// Whether a lower-case word is an auxiliary (or an adverb in the verb group): what may precede
/// the main verb.
fn is_aux(word: &str) -> bool {
    MODAL_VERBS.contains(&word) || OTHER_AUX.contains(&word)
}

/// Whether a lower-case verb is left as it is in the third person (no `-s` added).
fn takes_no_s(verb: &str) -> bool {
    MODAL_VERBS.contains(&verb) || OTHER_NO_S.contains(&verb)
}

const OPENERS: &[&str] = &[
    "i", "i'm", "i'll", "i've", "i'd", "we", "we're", "we'll", "we've", "we'd", "you", "you're",
    "you'll", "he", "she", "they", "it", "it's", "that's", "there's", "let's", "please", "pls",
    "can", "can't", "could", "couldn't", "will", "won't", "would", "should", "shall", "must",
    "might", "need", "am", "cannot", "have", "has", "don't", "didn't", "doesn't", "does", "did",
];
const ADVERBS: &[&str] = &[
    "just",
    "really",
    "also",
    "still",
    "already",
    "never",
    "probably",
    "actually",
    "definitely",
    "usually",
    "now",
    "finally",
    "totally",
    "only",
    "always",
    "even",
    "then",
    "currently",
];
const IRREGULAR_PAST: &[&str] = &[
    "went",
    "did",
    "made",
    "got",
    "saw",
    "said",
    "took",
    "came",
    "ran",
    "wrote",
    "sent",
    "found",
    "thought",
    "knew",
    "left",
    "told",
    "had",
    "was",
    "were",
    "put",
    "set",
    "built",
    "broke",
    "met",
    "gave",
    "began",
    "brought",
    "bought",
    "felt",
    "kept",
    "lost",
    "meant",
    "paid",
    "read",
    "spent",
    "stood",
    "understood",
    "won",
    "forgot",
    "chose",
    "drove",
    "fell",
    "heard",
    "held",
    "led",
    "let",
    "shut",
    "sat",
    "spoke",
    "taught",
    "threw",
    "woke",
    "tried",
    "saw",
];
const SUBJECT_PRONOUNS: &[&str] = &[
    "he", "she", "they", "it", "it's", "this", "that", "that's", "there", "there's", "these",
    "those", "he's", "she's", "they're", "they'll", "it'll",
];

/// `go` → `goes`, `try` → `tries`, `need` → `needs` (third person singular, present).
pub fn third_singular(verb: &str) -> String {
    match verb {
        "am" | "are" | "'m" | "'re" => return "is".into(),
        "have" | "'ve" => return "has".into(),
        "do" => return "does".into(),
        "don't" => return "doesn't".into(),
        "aren't" => return "isn't".into(),
        "haven't" => return "hasn't".into(),
        "'ll" => return "will".into(),
        "'d" => return "would".into(),
        "were" => return "was".into(),
        "weren't" => return "wasn't".into(),
        _ => {}
    }
    let is_word = verb.chars().all(|c| c.is_lowercase() || c == '-');
    if !is_word
        || takes_no_s(verb)
        || IRREGULAR_PAST.contains(&verb)
        || (verb.ends_with("ed") && !verb.ends_with("eed"))
        || verb.ends_with("n't")
        || verb.len() < 2
    {
        return verb.to_string();
    }
    if let Some(stem) = verb.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        return format!("{stem}ies");
    }
    if verb.ends_with("sh")
        || verb.ends_with("ch")
        || verb.ends_with('x')
        || verb.ends_with('z')
        || verb.ends_with("ss")
        || verb.ends_with('o')
    {
        return format!("{verb}es");
    }
    format!("{verb}s")
}

/// Conjugates the first verb of `rest` (after skipping adverbs) to the third person singular.
fn conjugate_rest(rest: &[String]) -> Vec<String> {
    let mut out = rest.to_vec();
    for w in out.iter_mut() {
        let lower = w.to_lowercase();
        if ADVERBS.contains(&lower.as_str()) {
            continue;
        }
        *w = third_singular(&lower);
        break;
    }
    out
}

/// Replaces "you", "your" and "yourself" by the person spoken to, when known: "packages you will
/// discuss", asked of Neeraj, are the packages Neeraj will discuss. Unknown, they stay.
fn resolve_second_person(text: &str, addressee: Option<&str>) -> String {
    let Some(to) = addressee else {
        return text.to_string();
    };
    let words: Vec<String> = text
        .split_whitespace()
        .filter_map(|w| {
            let (core, tail) = split_trailing_punct(w);
            let replaced = match core.to_lowercase().as_str() {
                "you" | "u" => to.to_string(),
                "your" | "yours" => format!("{to}'s"),
                // "add it directly yourself": the request already names who.
                "yourself" => return (!tail.is_empty()).then(|| tail.to_string()),
                _ => core.to_string(),
            };
            Some(format!("{replaced}{tail}"))
        })
        .collect();
    words.join(" ").replace(" ,", ",").replace(" .", ".")
}

/// Replaces first-person object and possessive pronouns by the author.
fn resolve_first_person(words: &[String], author: &str) -> Vec<String> {
    words
        .iter()
        .map(|w| {
            let (core, tail) = split_trailing_punct(w);
            // Case matters: "US" is a country, "ME" a state.
            let replaced = match core {
                "my" | "My" | "mine" => format!("{author}'s"),
                "me" | "myself" => author.to_string(),
                "I" | "i" => author.to_string(),
                "I'm" | "i'm" => format!("{author} is"),
                "I'll" | "i'll" => format!("{author} will"),
                "I've" | "i've" => format!("{author} has"),
                "our" | "Our" | "ours" => "the team's".to_string(),
                "us" => "the team".to_string(),
                _ => core.to_string(),
            };
            format!("{replaced}{tail}")
        })
        .collect()
}

fn split_trailing_punct(word: &str) -> (&str, &str) {
    let end = word
        .char_indices()
        .rev()
        .take_while(|(_, c)| ",.;:!?)".contains(*c))
        .last()
        .map_or(word.len(), |(i, _)| i);
    word.split_at(end)
}

fn lower_words(clause: &str) -> Vec<String> {
    clause
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| ",.;:!?\"“”()".contains(c))
                .to_lowercase()
        })
        .collect()
}

/// Splits a sentence into clauses at commas, semicolons and "and/but/so" when what follows can
/// start a clause of its own (a pronoun, an auxiliary, "please"): "I am sick and can't come
/// tomorrow, can we move it?" → three clauses; "Alice, Bob and Carol agreed" stays one.
pub fn clauses(sentence: &str) -> Vec<String> {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    let mut out: Vec<String> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        let lower = word.to_lowercase();
        let is_conj = matches!(lower.as_str(), "and" | "but" | "so" | "then" | "because");
        let prev_ends_clause = current
            .last()
            .is_some_and(|p| p.ends_with(',') || p.ends_with(';'));
        let next_opens = |j: usize| {
            words.get(j).is_some_and(|n| {
                let n = n
                    .trim_matches(|c: char| ",.;:!?".contains(c))
                    .to_lowercase();
                OPENERS.contains(&n.as_str())
            })
        };
        if current.len() >= 2 && is_conj && next_opens(i + 1) {
            out.push(current.join(" "));
            current.clear();
            i += 1; // drop the conjunction
            continue;
        }
        if current.len() >= 2 && prev_ends_clause && !is_conj && next_opens(i) {
            out.push(current.join(" "));
            current.clear();
        }
        current.push(word);
        i += 1;
    }
    if !current.is_empty() {
        out.push(current.join(" "));
    }
    out.into_iter()
        .map(|c| {
            c.trim_matches(|ch: char| ",;".contains(ch) || ch.is_whitespace())
                .to_string()
        })
        .filter(|c| !c.is_empty())
        .collect()
}

/// Whether a clause is only social noise ("thanks!", "hey Giovanni", "lol").
fn is_chatter(words: &[String]) -> bool {
    let content = words
        .iter()
        .filter(|w| !w.is_empty() && !is_stop_word(w) && w.chars().any(char::is_alphabetic))
        .count();
    let social = words.first().is_some_and(|w| {
        matches!(
            w.as_str(),
            "thanks"
                | "thank"
                | "thx"
                | "hey"
                | "hi"
                | "hello"
                | "lol"
                | "haha"
                | "welcome"
                | "congrats"
                | "cheers"
                | "nice"
                | "cool"
                | "great"
                | "awesome"
                | "yea"
                | "yeah"
                | "yes"
                | "ok"
                | "okay"
        )
    });
    (content == 0 && words.len() < 3) || (social && words.len() <= 4)
}

fn capitalise_first(s: &str) -> String {
    if s.starts_with("http") || s.starts_with("www.") {
        return s.to_string();
    }
    text::capitalise(s)
}

fn strip_end(s: &str) -> String {
    s.trim()
        .trim_end_matches(|c: char| "?!.,;:".contains(c) || c.is_whitespace())
        .trim_end_matches(" please")
        .trim_end_matches(" pls")
        .trim_end_matches(|c: char| "?!.,;:".contains(c) || c.is_whitespace())
        .to_string()
}

/// Rewrites relative dates in a rendered clause as calendar dates ("tomorrow" → "on Friday 3
/// May") and returns the first date found.
/// What a request asks, as the statement says it: the author in place of "I", "me", "my", the
/// channel's project named, and its date resolved. Every request form reads its clause this way.
fn resolve_request(clause: &str, author: &str, speaker: &Speaker) -> (String, Option<NaiveDate>) {
    let words: Vec<String> = clause.split_whitespace().map(str::to_string).collect();
    let clause = resolve_first_person(&words, author).join(" ");
    resolve_dates(&with_project(&clause, speaker.project), speaker)
}

/// Words after which a resolved date needs no preposition of its own ("move it to Thursday").
const DATE_PREPOSITIONS: &[&str] = &[
    "on", "by", "until", "till", "before", "after", "from", "for", "since", "to", "at",
];

fn resolve_dates(text: &str, speaker: &Speaker) -> (String, Option<NaiveDate>) {
    let mentions: Vec<DateMention> =
        dates::find_dates(text, speaker.posted_at, speaker.utc_offset_secs);
    let first = mentions.first().map(|m| m.date);
    let mut out = String::new();
    let mut last = 0;
    for m in mentions.iter().filter(|m| m.relative) {
        out.push_str(&text[last..m.start]);
        let lower = m.phrase.to_lowercase();
        let formatted = dates::format_date(m.date, Lang::En);
        let preposition = ["on ", "by ", "until ", "till ", "this ", "next "]
            .iter()
            .find(|p| lower.starts_with(**p))
            .map(|p| p.trim());
        let previous_word = text[..m.start]
            .split_whitespace()
            .last()
            .map(str::to_lowercase)
            .unwrap_or_default();
        // "move it to next Thursday": the preposition before the date stays the only one.
        let after_preposition = DATE_PREPOSITIONS.contains(&previous_word.as_str());
        let replacement = match preposition {
            Some("on") | Some("this") | Some("next") if lower.contains("week") => {
                format!("the week of {formatted}")
            }
            Some("by") => format!("by {formatted}"),
            Some("until") | Some("till") => format!("until {formatted}"),
            Some(_) if after_preposition => formatted,
            Some(_) => format!("on {formatted}"),
            None if lower.contains("week") => format!("the week of {formatted}"),
            None if after_preposition => formatted,
            None if lower.contains("eod") || lower.contains("end of") => {
                format!("by the end of {formatted}")
            }
            None => format!("on {formatted}"),
        };
        out.push_str(&replacement);
        last = m.end;
    }
    out.push_str(&text[last..]);
    (out, first)
}

/// The text without its date phrases (they go in the `time` field).
fn remove_dates(text: &str, speaker: &Speaker) -> String {
    let mut out = String::new();
    let mut last = 0;
    for m in dates::find_dates(text, speaker.posted_at, speaker.utc_offset_secs) {
        out.push_str(&text[last..m.start]);
        last = m.end;
    }
    out.push_str(&text[last..]);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn with_project(text: &str, project: Option<&str>) -> String {
    let Some(project) = project else {
        return text.to_string();
    };
    if text.to_lowercase().contains(&project.to_lowercase()) {
        return text.to_string();
    }
    text.replacen("the project ", &format!("the project {project} "), 1)
        .replacen("The project ", &format!("The project {project} "), 1)
}

/// Splits rendered words after the subject into predicate (auxiliaries, adverbs and the main verb,
/// plus a following "to <verb>") and object.
fn predicate_object(rest: &str) -> (String, String) {
    let words: Vec<&str> = rest.split_whitespace().collect();
    let mut i = 0;
    while i < words.len() && is_aux(&words[i].to_lowercase()) {
        i += 1;
    }
    let copula = i > 0
        && matches!(
            words[i - 1].to_lowercase().as_str(),
            "is" | "am" | "are" | "was" | "were" | "be" | "been"
        )
        && words
            .get(i)
            .is_some_and(|w| !w.ends_with("ing") && !w.ends_with("ed"));
    if copula {
        return (words[..i].join(" "), words[i..].join(" "));
    }
    let mut end = (i + 1).min(words.len());
    if words.get(end).is_some_and(|w| *w == "to") && end + 1 < words.len() {
        end += 2;
    }
    (words[..end].join(" "), words[end..].join(" "))
}

/// "Ann would like to share Ann's setup" → "Ann would like to share their setup": once the
/// author is the subject, their possessive is "their".
fn their(text: &str, author: &str) -> String {
    let possessive = format!("{author}'s");
    match text.strip_prefix(author) {
        Some(rest) if !rest.starts_with("'s") && rest.contains(&possessive) => {
            format!("{author}{}", rest.replace(&possessive, "their"))
        }
        _ => text.to_string(),
    }
}

/// Code is not prose: fenced blocks are dropped and punctuation inside inline `code` is hidden
/// from the sentence splitter (restored by [`unmask_code`]).
fn mask_code(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split("```").enumerate() {
        if i % 2 == 0 {
            out.push_str(part);
        } else {
            out.push_str(" (code) ");
        }
    }
    let mut masked = String::with_capacity(out.len());
    let mut inside = false;
    for c in out.chars() {
        if c == '`' {
            inside = !inside;
        }
        masked.push(match (inside, c) {
            (true, '.') => '\u{E000}',
            (true, '?') => '\u{E001}',
            (true, '!') => '\u{E002}',
            (true, ' ') => '\u{E003}',
            (true, ',') => '\u{E004}',
            _ => c,
        });
    }
    masked
}

fn unmask_code(text: &str) -> String {
    text.replace('\u{E000}', ".")
        .replace('\u{E001}', "?")
        .replace('\u{E002}', "!")
        .replace('\u{E003}', " ")
        .replace('\u{E004}', ",")
}

/// The one person a message opens by addressing (`@Ann: …`), if any.
pub fn addressee_of(message: &str, known: &[String]) -> Option<String> {
    let (addressees, _) = leading_addressees(&text::clean(message), known);
    (addressees.len() == 1).then(|| addressees[0].clone())
}

/// Splits `@Ann, @Bob Smith: text` into the addressees and the text.
fn leading_addressees(text: &str, known: &[String]) -> (Vec<String>, String) {
    let mut known: Vec<&String> = known.iter().collect();
    known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    let mut rest = text.trim_start();
    let mut addressees = Vec::new();
    while let Some(after_at) = rest.strip_prefix('@') {
        let full = known.iter().find(|k| {
            after_at.len() >= k.len()
                && after_at.is_char_boundary(k.len())
                && after_at[..k.len()].eq_ignore_ascii_case(k)
                && !after_at[k.len()..].starts_with(|c: char| c.is_alphanumeric())
        });
        let name_len = match full
            .map(|k| k.len())
            .or(vocative_name(after_at).map(str::len))
        {
            Some(n) => n,
            None => match ONE_MENTION.captures(rest) {
                Some(c) if c.get(0).is_some_and(|m| m.start() == 0) => c[1].len(),
                _ => break,
            },
        };
        addressees.push(after_at[..name_len].to_string());
        rest = after_at[name_len..].trim_start_matches([',', ':', ' ', '\t']);
    }
    if addressees.is_empty() {
        return (addressees, text.to_string());
    }
    (addressees, rest.to_string())
}

/// A full name set off by a colon or comma after `@` ("@Neeraj Tandon: fantastic"): up to
/// three capitalised words. Slack renders mentions as display names with spaces, and the
/// discussion may not know the person (they did not write in it); taking only the first word
/// would leave "Tandon: fantastic" as the text.
fn vocative_name(after_at: &str) -> Option<&str> {
    let end = after_at.find([':', ','])?;
    let name = &after_at[..end];
    let words: Vec<&str> = name.split(' ').collect();
    let capitalised = |w: &&str| {
        w.chars().next().is_some_and(char::is_uppercase)
            && w.chars().all(|c| c.is_alphanumeric() || "'.-".contains(c))
    };
    (words.len() >= 2 && words.len() <= 3 && words.iter().all(capitalised)).then_some(name)
}

/// Drops leading interjections ("ok", "so", "yeah,") that hide the clause's subject.
fn strip_interjections(clause: &str) -> &str {
    let mut rest = clause;
    loop {
        let word_end = rest.find(' ').unwrap_or(rest.len());
        let raw = &rest[..word_end];
        let word = raw.trim_end_matches([',', '!', '.', ':']).to_lowercase();
        let punctuated = raw.len() != word.len();
        let next = rest[word_end..].trim_start();
        let filler = matches!(
            word.as_str(),
            "ok" | "okay"
                | "so"
                | "well"
                | "yeah"
                | "yes"
                | "yea"
                | "oh"
                | "ah"
                | "hmm"
                | "anyway"
                | "also"
                | "btw"
                | "fyi"
                | "and"
                | "but"
                | "or"
                | "haha"
                | "lol"
                | "sure"
                | "alright"
                | "right"
                | "-"
                | "—"
                | "–"
        );
        // Praise opens a reply ("fantastic - would be good to …") only when set off.
        let praise = matches!(
            word.as_str(),
            "fantastic"
                | "great"
                | "perfect"
                | "nice"
                | "cool"
                | "awesome"
                | "thanks"
                | "excellent"
                | "sweet"
                | "agreed"
        ) && (punctuated || next.starts_with(['-', '—', '–']));
        if (filler || praise) && word_end < rest.len() {
            rest = next;
        } else {
            return rest;
        }
    }
}

/// The statements of one message.
pub fn statements(message: &str, speaker: &Speaker) -> Vec<Statement> {
    let cleaned = text::clean(message);
    let masked = mask_code(&cleaned);
    let (addressees, body) = leading_addressees(&masked, speaker.known_people);
    let addressee = if addressees.is_empty() {
        speaker.addressee.map(str::to_string)
    } else {
        (addressees.len() == 1).then(|| addressees[0].clone())
    };
    let mut out = Vec::new();
    for sentence in text::sentences(&body) {
        // "Sure. @Carol could you …": a sentence may address someone of its own.
        let (own, sentence) = leading_addressees(&sentence, speaker.known_people);
        let addressee = if own.len() == 1 {
            Some(own[0].clone())
        } else {
            addressee.clone()
        };
        let is_question = sentence.trim_end().ends_with('?');
        let parts = clauses(&sentence);
        let count = parts.len();
        let mut subject: Option<String> = None;
        for (index, clause) in parts.into_iter().enumerate() {
            let last = index + 1 == count;
            let clause = strip_interjections(&clause).to_string();
            let words = lower_words(&clause);
            if words.len() < 2 || is_chatter(&words) {
                continue;
            }
            let statement = if speaker.lang == Lang::En {
                english(
                    &clause,
                    &words,
                    is_question && last,
                    speaker,
                    addressee.as_deref(),
                    &mut subject,
                )
            } else {
                foreign(&clause, is_question && last, speaker)
            };
            if let Some(mut s) = statement {
                s.addressee = addressee.clone();
                s.text = their(&unmask_code(&s.text), speaker.author);
                s.object = unmask_code(&s.object);
                out.push(s);
            }
        }
    }
    out
}

fn foreign(clause: &str, question: bool, speaker: &Speaker) -> Option<Statement> {
    let body = strip_end(clause);
    let modality = if question {
        Modality::Question
    } else {
        Modality::Statement
    };
    let (_, time) = resolve_dates(&body, speaker);
    Some(Statement {
        subject: speaker.author.to_string(),
        predicate: ":".into(),
        object: body.clone(),
        time,
        modality,
        text: format!(
            "{}: {}{}",
            speaker.author,
            body,
            if question { "?" } else { "" }
        ),
        addressee: None,
    })
}

fn classify(lower: &str, question: bool) -> Modality {
    if DECISION.is_match(lower) {
        Modality::Decision
    } else if REQUEST_WE.is_match(lower)
        || REQUEST_YOU.is_match(lower)
        || REQUEST_ANYONE.is_match(lower)
        || REQUEST_PLEASE.is_match(lower)
        || REQUEST_SUGGEST.is_match(lower)
        || REQUEST_FEEL_FREE.is_match(lower)
        || lower.contains(" please ")
    {
        Modality::Request
    } else if BLOCKER.is_match(lower) {
        Modality::Blocker
    } else if PLAN.is_match(lower) {
        Modality::Plan
    } else if question {
        Modality::Question
    } else {
        Modality::Statement
    }
}

fn english(
    clause: &str,
    words: &[String],
    question: bool,
    speaker: &Speaker,
    addressee: Option<&str>,
    subject_memory: &mut Option<String>,
) -> Option<Statement> {
    let author = speaker.author;
    let body = strip_end(clause);
    let lower = body.to_lowercase();
    let modality = classify(&lower, question);
    let raw: Vec<String> = body.split_whitespace().map(str::to_string).collect();

    // Requests: "can we X" → "A asks to X"; "could you X" → "A asks B to X".
    let request = |target: Option<&str>, rest: &str| {
        let (rest, time) = resolve_request(rest, author, speaker);
        let rest = resolve_second_person(&rest, addressee);
        let predicate = match target {
            Some(t) => format!("asks {t} to"),
            None => "asks to".to_string(),
        };
        let (verb, object) = rest.split_once(' ').unwrap_or((rest.as_str(), ""));
        Statement {
            subject: author.to_string(),
            predicate: format!("{predicate} {verb}"),
            object: object.to_string(),
            time,
            modality: Modality::Request,
            text: format!("{author} {predicate} {rest}"),
            addressee: None,
        }
    };
    // "@Ann: just reach out to Continuum": an order to someone named is a request.
    let imperative = addressee.is_some() && !question && REQUEST_IMPERATIVE.is_match(&body);
    if modality == Modality::Request || imperative {
        *subject_memory = Some(author.to_string());
        if let Some(c) = REQUEST_WE.captures(&body) {
            return Some(request(None, &c[1]));
        }
        if let Some(c) = REQUEST_YOU.captures(&body) {
            return Some(request(Some(addressee.unwrap_or("someone")), &c[1]));
        }
        if let Some(c) = REQUEST_ANYONE.captures(&body) {
            return Some(request(Some("someone"), &c[1]));
        }
        if let Some(c) = REQUEST_PLEASE.captures(&body) {
            return Some(request(Some(addressee.unwrap_or("someone")), &c[1]));
        }
        if let Some(c) = REQUEST_SUGGEST.captures(&body) {
            let (rest, time) = resolve_request(&c[2], author, speaker);
            let rest = resolve_second_person(&rest, addressee);
            // "would be cool to see a link" asked of someone is asking them for the link.
            let wanted = rest
                .strip_prefix("see ")
                .or_else(|| rest.strip_prefix("have "))
                .or_else(|| rest.strip_prefix("get "));
            let (predicate, text) = if let (true, Some(to), Some(what)) =
                (c[1].eq_ignore_ascii_case("to"), addressee, wanted)
            {
                ("asks for", format!("{author} asks {to} for {what}"))
            } else if let (true, Some(to)) = (c[1].eq_ignore_ascii_case("to"), addressee) {
                ("asks to", format!("{author} asks {to} to {rest}"))
            } else if c[1].eq_ignore_ascii_case("to") {
                ("would like to", format!("{author} would like to {rest}"))
            } else {
                ("suggests that", format!("{author} suggests that {rest}"))
            };
            return Some(Statement {
                subject: author.to_string(),
                predicate: predicate.into(),
                object: rest,
                time,
                modality,
                text,
                addressee: None,
            });
        }
        if let Some(c) = REQUEST_FEEL_FREE.captures(&body) {
            return Some(request(Some(addressee.unwrap_or("someone")), &c[1]));
        }
        if let Some(c) = REQUEST_IMPERATIVE.captures(&body) {
            return Some(request(Some(addressee.unwrap_or("someone")), &c[1]));
        }
    }

    let first = words.first().map(String::as_str).unwrap_or_default();
    let (subject, rest): (Option<String>, Vec<String>) = match first {
        "i" | "i'm" | "im" | "i'll" | "i've" | "i'd" => {
            let mut rest: Vec<String> = raw[1..].to_vec();
            match first {
                "i'm" | "im" => rest.insert(0, "is".into()),
                "i'll" => rest.insert(0, "will".into()),
                "i've" => rest.insert(0, "has".into()),
                "i'd" => rest.insert(0, "would".into()),
                _ => rest = conjugate_rest(&rest),
            }
            (
                Some(author.to_string()),
                resolve_first_person(&rest, author),
            )
        }
        "we" | "we're" | "we'll" | "we've" | "we'd" => {
            let mut rest: Vec<String> = raw[1..].to_vec();
            match first {
                "we're" => rest.insert(0, "is".into()),
                "we'll" => rest.insert(0, "will".into()),
                "we've" => rest.insert(0, "has".into()),
                "we'd" => rest.insert(0, "would".into()),
                _ => rest = conjugate_rest(&rest),
            }
            (
                Some(format!("{author}'s team")),
                resolve_first_person(&rest, author),
            )
        }
        "let's" | "lets" => {
            let rest = resolve_first_person(&raw[1..], author);
            let mut with_verb = vec!["proposes".to_string(), "to".to_string()];
            with_verb.extend(rest);
            (Some(author.to_string()), with_verb)
        }
        "you" | "you're" | "you'll" | "you've" if addressee.is_some() => {
            let mut rest: Vec<String> = raw[1..].to_vec();
            match first {
                "you're" => rest.insert(0, "is".into()),
                "you'll" => rest.insert(0, "will".into()),
                "you've" => rest.insert(0, "has".into()),
                _ => rest = conjugate_rest(&rest),
            }
            (
                addressee.map(str::to_string),
                resolve_first_person(&rest, author),
            )
        }
        w if (is_aux(w)
            || IRREGULAR_PAST.contains(&w)
            || (w.ends_with("ed") && w.len() > 4 && !w.ends_with("eed")))
            && !question =>
        {
            let inherited = subject_memory.clone().unwrap_or_else(|| author.to_string());
            (Some(inherited), resolve_first_person(&raw, author))
        }
        _ => (None, Vec::new()),
    };

    if let Some(subject) = subject {
        *subject_memory = Some(subject.clone());
        let rest = with_project(&rest.join(" "), speaker.project);
        let rest = if subject.as_str() == addressee.unwrap_or_default() {
            rest
        } else {
            resolve_second_person(&rest, addressee)
        };
        let (predicate, object) = predicate_object(&remove_dates(&rest, speaker));
        let (rendered, time) = resolve_dates(&rest, speaker);
        let text = format!("{subject} {rendered}");
        return Some(Statement {
            subject,
            predicate,
            object,
            time,
            modality: if modality == Modality::Question {
                Modality::Question
            } else {
                modality
            },
            text: if modality == Modality::Question {
                format!("{author} asks: {}?", body)
            } else {
                text
            },
            addressee: None,
        });
    }

    // Questions that are not requests keep their wording, attributed to the asker.
    if modality == Modality::Question {
        *subject_memory = Some(author.to_string());
        let (_, time) = resolve_dates(&body, speaker);
        if let Some(c) = QUESTION_ANYONE.captures(&body) {
            let words: Vec<String> = c[1].split_whitespace().map(str::to_string).collect();
            let rest = resolve_first_person(&conjugate_rest(&words), author).join(" ");
            return Some(Statement {
                subject: author.to_string(),
                predicate: "asks whether anyone".into(),
                object: rest.clone(),
                time,
                modality,
                text: format!("{author} asks whether anyone {rest}"),
                addressee: None,
            });
        }
        return Some(Statement {
            subject: author.to_string(),
            predicate: "asks".into(),
            object: body.clone(),
            time,
            modality,
            text: format!("{author} asks: {body}?"),
            addressee: None,
        });
    }

    // A noun-phrase subject ("The deploy failed", "Postgres is down") is kept as written; a
    // pronoun subject ("it's broken") cannot be resolved, so the clause is attributed.
    let starts_with_pronoun = SUBJECT_PRONOUNS.contains(&first);
    let (rendered, time) = resolve_dates(&with_project(&body, speaker.project), speaker);
    let plain_subject = |words: &[String]| {
        words.iter().all(|w| {
            w.chars()
                .all(|c| c.is_alphanumeric() || c == '\'' || c == '.')
        })
    };
    if !starts_with_pronoun && raw.len() >= 3 {
        let split = raw
            .iter()
            .position(|w| {
                let w = w.to_lowercase();
                is_aux(&w) || w.ends_with("ed") || IRREGULAR_PAST.contains(&w.as_str())
            })
            .filter(|&p| p > 0 && p <= 4 && plain_subject(&raw[..p]));
        if let Some(p) = split {
            let subject = raw[..p].join(" ");
            let rest = raw[p..].join(" ");
            let (predicate, object) = predicate_object(&rest);
            *subject_memory = Some(subject.clone());
            return Some(Statement {
                subject: capitalise_first(&subject),
                predicate,
                object,
                time,
                modality,
                text: capitalise_first(&rendered),
                addressee: None,
            });
        }
    }
    let text = match addressee {
        Some(to) => format!("{author} told {to}: {rendered}"),
        None => format!("{author} said: {rendered}"),
    };
    Some(Statement {
        subject: author.to_string(),
        predicate: if addressee.is_some() { "told" } else { "said" }.into(),
        object: rendered.clone(),
        time,
        modality,
        text,
        addressee: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wednesday 1 May 2024, 10:00 UTC.
    const WED: i64 = 1_714_557_600;

    fn bob<'a>(project: Option<&'a str>) -> Speaker<'a> {
        Speaker {
            author: "Bob",
            posted_at: WED,
            utc_offset_secs: 0,
            project,
            lang: Lang::En,
            known_people: &[],
            addressee: None,
        }
    }

    fn texts(message: &str) -> Vec<(String, Modality)> {
        statements(message, &bob(None))
            .into_iter()
            .map(|s| (s.text, s.modality))
            .collect()
    }

    #[test]
    fn the_readme_example() {
        let s = statements(
            "I am sick and can't come tomorrow, can we move the project meeting?",
            &bob(Some("Lavender")),
        );
        let got: Vec<(&str, Modality)> = s.iter().map(|s| (s.text.as_str(), s.modality)).collect();
        assert_eq!(
            got,
            [
                ("Bob is sick", Modality::Statement),
                ("Bob can't come on Thursday 2 May", Modality::Blocker),
                (
                    "Bob asks to move the project Lavender meeting",
                    Modality::Request
                ),
            ]
        );
        assert_eq!(s[0].subject, "Bob");
        assert_eq!(s[0].predicate, "is");
        assert_eq!(s[0].object, "sick");
        assert_eq!(
            s[1].time.map(|d| d.to_string()).as_deref(),
            Some("2024-05-02")
        );
        assert_eq!(s[2].predicate, "asks to move");
        assert_eq!(s[2].object, "the project Lavender meeting");
    }

    #[test]
    fn modality_follows_the_wording() {
        assert_eq!(
            texts("We decided to go with Postgres for the billing service."),
            [(
                "Bob's team decided to go with Postgres for the billing service".into(),
                Modality::Decision
            )]
        );
        assert_eq!(
            texts("I'm blocked on the API keys from ops"),
            [(
                "Bob is blocked on the API keys from ops".into(),
                Modality::Blocker
            )]
        );
        assert_eq!(
            texts("I'll send the slides by Friday"),
            [(
                "Bob will send the slides by Friday 3 May".into(),
                Modality::Plan
            )]
        );
        assert_eq!(
            texts("Does anyone know where the staging logs are?"),
            [(
                "Bob asks whether anyone knows where the staging logs are".into(),
                Modality::Question
            )]
        );
        assert_eq!(
            texts("@carol could you review my PR please?"),
            [(
                "Bob asks carol to review their PR".into(),
                Modality::Request
            )]
        );
        assert_eq!(
            texts("The nightly build failed again"),
            [("The nightly build failed again".into(), Modality::Blocker)]
        );
    }

    #[test]
    fn a_request_to_someone_named_says_who_asked_whom() {
        // houston #general, 9 June 2015: a mention rendered "@Neeraj Tandon:" by Slack.
        assert_eq!(
            texts("@Neeraj Tandon: fantastic - would be good to mention packages you will discuss - Blaze, Bokeh"),
            [(
                "Bob asks Neeraj Tandon to mention packages Neeraj Tandon will discuss - Blaze, Bokeh"
                    .into(),
                Modality::Request
            )]
        );
        assert_eq!(
            texts("@Neeraj Tandon: just reach out to the nice people at Continuum in Austin"),
            [(
                "Bob asks Neeraj Tandon to reach out to the nice people at Continuum in Austin"
                    .into(),
                Modality::Request
            )]
        );
        // The addressee of the exchange carries to a line that names no one.
        let speaker = Speaker {
            addressee: Some("Neeraj Tandon"),
            ..bob(None)
        };
        let s = statements(
            "would be cool to see a link to Jupyter and an example project",
            &speaker,
        );
        assert_eq!(
            s[0].text,
            "Bob asks Neeraj Tandon for a link to Jupyter and an example project"
        );
    }

    #[test]
    fn a_date_after_a_preposition_takes_no_second_one() {
        assert_eq!(
            texts("Let's move the design review to thursday 2pm"),
            [(
                "Bob proposes to move the design review to Thursday 2 May 2pm".into(),
                Modality::Plan
            )]
        );
    }

    #[test]
    fn chatter_makes_no_statement() {
        assert!(texts("thanks!").is_empty());
        assert!(texts("Hey, Giovanni").is_empty());
        assert!(texts("lol ok").is_empty());
    }

    #[test]
    fn verbs_take_the_third_person() {
        assert_eq!(third_singular("need"), "needs");
        assert_eq!(third_singular("try"), "tries");
        assert_eq!(third_singular("push"), "pushes");
        assert_eq!(third_singular("pushed"), "pushed");
        assert_eq!(third_singular("am"), "is");
        assert_eq!(
            texts("I think the chart works"),
            [("Bob thinks the chart works".into(), Modality::Statement)]
        );
    }
}
