//! Whether a generated sentence says what the messages it cites say: the semantic half of the
//! guardrail (the lexical half — names, numbers, dates, links anywhere in the day — is
//! `ai::tasks::guardrail`).
//!
//! A paraphrase may change every word; it may not change who acted, what kind of act it was,
//! whether it happened or not, what it was about, or when. So a sentence is compared with its
//! cited messages and their propositions on exactly those, and on nothing else:
//!
//! - **people** — everyone it names is an author, a mention or a named person of the cited
//!   messages (or their propositions);
//! - **actor** — when it says someone asked, decided, promised or asked a question, that person
//!   is an author of a cited message or a cited proposition's subject ("You asked Priya" for
//!   "Priya asked you" fails);
//! - **act** — a decision, request, question, promise, blocker or status it states has a cited
//!   proposition of that kind or the wording of one in the messages; a firm decision or promise
//!   made of hedged messages ("might", "should we") fails;
//! - **polarity** — a word it negates is not affirmed in the messages, a word it affirms is not
//!   only negated there, and a state ("approved", "blocked") is not the messages' opposite
//!   ("rejected", "unblocked");
//! - **entities and dates** — capitalised names, numbers, tickets and dates are the cited
//!   messages' (not merely the day's);
//! - **no new claim** — its content words are the messages' words, their stems, or common
//!   paraphrase words; more than a little left over is a claim the messages do not make.
//!
//! Deterministic and model-free: it is what `chief eval`'s drift set measures
//! (`faithfulness_detection`, `faithfulness_false_alarm`).

use std::collections::HashSet;
use std::sync::LazyLock;

use chrono::Datelike;
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::acts::{self, Kind};
use super::dates::{self, local_date};
use super::lang::{self, Lang};
use super::text;
use crate::model::proposition::{Proposition, same_person};

/// A cited message as the check reads it.
#[derive(Clone, Copy, Debug)]
pub struct Cited<'a> {
    pub author: &'a str,
    pub text: &'a str,
    pub posted_at: i64,
}

/// One sentence and what it rests on.
#[derive(Clone, Debug)]
pub struct Claim<'a> {
    pub sentence: &'a str,
    pub cited: Vec<Cited<'a>>,
    /// The propositions of the cited messages.
    pub propositions: Vec<&'a Proposition>,
    /// Every name that means the reader ("you").
    pub reader: &'a [String],
    /// Everyone in the workspace, to find the people a sentence names.
    pub known_people: &'a [String],
    /// Names of the cited messages' channels (`project-lavender` supports "Lavender").
    pub channels: Vec<&'a str>,
    pub utc_offset_secs: i32,
}

/// Why a sentence is not supported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Drift {
    /// Names someone the cited messages do not.
    Person { name: String },
    /// Says someone did what someone else did.
    Actor { name: String, act: Kind },
    /// States an act (a decision, a request…) the cited messages do not make.
    Act { act: Kind },
    /// Makes firm what the cited messages only suggest.
    Hedged { act: Kind },
    /// Says the opposite of the cited messages about a word.
    Polarity { word: String },
    /// Names a thing (capitalised name, number, ticket) the cited messages do not.
    Entity { word: String },
    /// Gives a day the cited messages do not.
    Date { phrase: String },
    /// Adds words the cited messages do not support (`of` content words in all).
    NewClaim { words: Vec<String>, of: usize },
}

impl Drift {
    /// Whether the guardrail rejects a sentence for it. Measured on the drift set
    /// (`chief eval`), people, actors, entities, days and firmed-up suggestions are rarely wrong
    /// about a good paraphrase; an act, a polarity or new words read from wording alone
    /// are wrong about one good paraphrase in six, so they are reported (the run records them)
    /// but do not cost a correction call.
    pub fn rejects(&self) -> bool {
        matches!(
            self,
            Drift::Person { .. }
                | Drift::Actor { .. }
                | Drift::Entity { .. }
                | Drift::Date { .. }
                | Drift::Hedged { .. }
        )
    }

    /// What to tell the writer.
    pub fn describe(&self) -> String {
        match self {
            Drift::Person { name } => format!("it names {name}, whom the cited messages do not"),
            Drift::Actor { name, act } => format!(
                "it says {name} made the {} but the cited messages say someone else did",
                act.as_str()
            ),
            Drift::Act { act } => format!(
                "it states a {} the cited messages do not make",
                act.as_str()
            ),
            Drift::Hedged { act } => format!(
                "it states a firm {} where the cited messages only suggest or ask",
                act.as_str()
            ),
            Drift::Polarity { word } => format!(
                "it says the opposite of the cited messages about \"{word}\" (negation or opposite state)"
            ),
            Drift::Entity { word } => format!("\"{word}\" is not in the cited messages"),
            Drift::Date { phrase } => {
                format!("the day \"{phrase}\" does not follow from the cited messages")
            }
            Drift::NewClaim { words, of } => format!(
                "it adds what the cited messages do not say ({}; {} of {of} content words)",
                words.join(", "),
                words.len()
            ),
        }
    }
}

/// Words of the reader's second person, in every language chief writes.
const YOU: &[&str] = &[
    "you", "your", "yours", "yourself", "vous", "votre", "vos", "tu", "te", "toi", "ton", "ta",
    "tes", "du", "dich", "dir", "dein", "deine", "deinen", "deinem", "deiner", "sie", "ihnen",
    "usted", "ustedes", "tú", "ti", "tu", "tus", "você", "vocês", "seu", "sua",
];

/// The reader's possessives among [`YOU`]: never the one who acts.
const POSSESSIVE_YOU: &[&str] = &[
    "your", "yours", "votre", "vos", "ton", "ta", "tes", "dein", "deine", "deinen", "deinem",
    "deiner", "tus", "seu", "sua",
];

/// Words a faithful paraphrase uses whatever the messages say: reporting verbs, framing,
/// connectives, generic nouns and verbs. They are never a new claim.
static PARAPHRASE: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    [
        // reporting and framing
        "said",
        "say",
        "says",
        "saying",
        "told",
        "tell",
        "tells",
        "asked",
        "ask",
        "asks",
        "asking",
        "wants",
        "want",
        "wanted",
        "needs",
        "need",
        "needed",
        "mentioned",
        "mention",
        "noted",
        "note",
        "notes",
        "shared",
        "share",
        "shares",
        "posted",
        "post",
        "posts",
        "wrote",
        "write",
        "writes",
        "replied",
        "reply",
        "replies",
        "answered",
        "answer",
        "answers",
        "confirmed",
        "confirm",
        "confirms",
        "reported",
        "report",
        "reports",
        "explained",
        "explains",
        "pointed",
        "points",
        "added",
        "adds",
        "raised",
        "raises",
        "flagged",
        "flags",
        "suggested",
        "suggests",
        "suggest",
        "proposed",
        "proposes",
        "propose",
        "offered",
        "offers",
        "promised",
        "promises",
        "promise",
        "agreed",
        "agrees",
        "decided",
        "decides",
        "plans",
        "plan",
        "planned",
        "planning",
        "expects",
        "expected",
        "hopes",
        "hoped",
        "thinks",
        "thought",
        "believes",
        "wonders",
        "wondered",
        "requested",
        "requests",
        "request",
        "invited",
        "invites",
        "reminded",
        "reminds",
        "remind",
        "announced",
        "announces",
        "update",
        "updates",
        "updated",
        "follow",
        "followed",
        "following",
        "followup",
        "questions",
        "question",
        "whether",
        "discussion",
        "discussed",
        "discusses",
        "discuss",
        "conversation",
        "thread",
        "channel",
        "message",
        "messages",
        "team",
        "everyone",
        "someone",
        "anyone",
        "people",
        "folks",
        "others",
        "other",
        "group",
        "still",
        "also",
        "again",
        "already",
        "yet",
        "just",
        "now",
        "soon",
        "later",
        "today",
        "tonight",
        "tomorrow",
        "yesterday",
        "week",
        "day",
        "days",
        "time",
        "next",
        "last",
        "earlier",
        "first",
        "then",
        "before",
        "after",
        "until",
        "once",
        "about",
        "around",
        "regarding",
        "since",
        "because",
        "while",
        "meanwhile",
        "instead",
        "help",
        "helps",
        "helped",
        "look",
        "looks",
        "looked",
        "looking",
        "check",
        "checks",
        "checked",
        "checking",
        "take",
        "takes",
        "took",
        "taking",
        "make",
        "makes",
        "made",
        "making",
        "get",
        "gets",
        "got",
        "getting",
        "give",
        "gives",
        "gave",
        "handle",
        "handles",
        "handled",
        "work",
        "works",
        "worked",
        "working",
        "done",
        "do",
        "does",
        "did",
        "doing",
        "going",
        "goes",
        "went",
        "come",
        "comes",
        "came",
        "coming",
        "keep",
        "keeps",
        "kept",
        "let",
        "lets",
        "know",
        "knows",
        "knew",
        "see",
        "sees",
        "saw",
        "seen",
        "set",
        "sets",
        "put",
        "puts",
        "find",
        "found",
        "try",
        "tries",
        "tried",
        "trying",
        "use",
        "uses",
        "used",
        "using",
        "able",
        "available",
        "ready",
        "new",
        "current",
        "idea",
        "ideas",
        "thing",
        "things",
        "item",
        "items",
        "point",
        "part",
        "issue",
        "issues",
        "problem",
        "problems",
        "topic",
        "topics",
        "details",
        "detail",
        "info",
        "information",
        "news",
        "status",
        "progress",
        "change",
        "changes",
        "changed",
        "moved",
        "move",
        "moves",
        "sure",
        "okay",
        "fine",
        "good",
        "great",
        "well",
        "best",
        "more",
        "most",
        "some",
        "many",
        "much",
        "few",
        "several",
        "each",
        "every",
        "both",
        "whole",
        "own",
        "same",
        "different",
        "another",
        "possible",
        "possibly",
        "probably",
        "maybe",
        "likely",
        "back",
        "out",
        "over",
        "into",
        "onto",
        "with",
        "without",
        "from",
        "via",
        "per",
        "directly",
        "quickly",
        "currently",
        "recently",
        "finally",
        "asap",
        "please",
        "thanks",
        "thank",
        "happy",
        "glad",
        "hi",
        "hello",
        "hey",
        "who",
        "what",
        "when",
        "where",
        "why",
        "how",
        "which",
        "whose",
        "there",
        "here",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "they",
        "them",
        "their",
        "he",
        "she",
        "him",
        "her",
        "his",
        "we",
        "our",
        "us",
        "me",
        "my",
        "mine",
        "himself",
        "herself",
        "themselves",
        "would",
        "could",
        "should",
        "might",
        "may",
        "must",
        "shall",
        "will",
        "can",
        "cannot",
        "won't",
        "can't",
        "don't",
        "doesn't",
        "didn't",
        "isn't",
        "aren't",
        "wasn't",
        "weren't",
        "not",
        "no",
        "never",
        "nothing",
        "none",
        "along",
        "together",
        "separately",
        "original",
        "originally",
        "slot",
        "call",
        "meeting",
        "sync",
        "reach",
        "reaches",
        "reached",
        "contact",
        "contacts",
        "contacted",
        "finish",
        "finished",
        "finishes",
        "complete",
        "completed",
        "start",
        "started",
        "starts",
        "begin",
        "began",
        "wait",
        "waits",
        "waiting",
        "waited",
        "hold",
        "holds",
        "held",
        "respond",
        "responded",
        "response",
        "responses",
        "feedback",
        "input",
        "review",
        "reviews",
        "reviewed",
        "reviewing",
        "approval",
        "sign",
        "signed",
        "decision",
        "decisions",
        "outcome",
        "result",
        "results",
        "resolved",
        "fixed",
        "fix",
        "fixes",
        // French
        "avait",
        "avez",
        "avons",
        "ont",
        "été",
        "était",
        "étaient",
        "sont",
        "sera",
        "seront",
        "va",
        "vont",
        "fait",
        "faire",
        "demandé",
        "demande",
        "demandez",
        "dit",
        "annoncé",
        "annonce",
        "prévenu",
        "indiqué",
        "signalé",
        "accepté",
        "proposé",
        "confirmé",
        "donc",
        "aussi",
        "déjà",
        "encore",
        "après",
        "avant",
        "ayant",
        "comptez",
        "compte",
        "souhaite",
        "veut",
        "voudrait",
        "doit",
        "devez",
        "pouvez",
        "peut",
        "prévu",
        "prévue",
        "sujet",
        "équipe",
        "fil",
        "canal",
        // German
        "hat",
        "haben",
        "hatte",
        "hatten",
        "ist",
        "sind",
        "war",
        "waren",
        "wird",
        "werden",
        "wurde",
        "sagt",
        "sagte",
        "meldet",
        "meldete",
        "bittet",
        "bat",
        "gebeten",
        "schreibt",
        "schrieb",
        "fragt",
        "fragte",
        "zum",
        "zur",
        "ihm",
        "ihr",
        "ihn",
        "jetzt",
        "noch",
        "schon",
        "auch",
        "bis",
        "seit",
        "laut",
        "soll",
        "sollen",
        "muss",
        "müssen",
        "kann",
        "können",
        "möchte",
        "geplant",
        "zugesagt",
        "zusagen",
        "zugestimmt",
        "dafür",
        "damit",
        "dann",
        "danach",
        "deshalb",
        "daher",
        "beim",
        "vom",
        // Spanish
        "tiene",
        "tienen",
        "había",
        "ha",
        "han",
        "has",
        "es",
        "son",
        "está",
        "están",
        "fue",
        "fueron",
        "pidió",
        "pide",
        "pediste",
        "dijo",
        "dice",
        "propone",
        "propuso",
        "avisó",
        "aceptaste",
        "aceptó",
        "acepta",
        "también",
        "ya",
        "todavía",
        "después",
        "antes",
        "quiere",
        "necesita",
        "debe",
        "puede",
        "vas",
        "van",
        "mandarás",
        "enviarás",
        "harás",
        "equipo",
        "tema",
        "hilo",
        // Portuguese
        "foi",
        "foram",
        "era",
        "eram",
        "tinha",
        "tinham",
        "tem",
        "têm",
        "vai",
        "vão",
        "estava",
        "estão",
        "pediu",
        "pede",
        "disse",
        "diz",
        "avisou",
        "segundo",
        "também",
        "já",
        "ainda",
        "depois",
        "pelo",
        "pela",
        "para",
        "sobre",
        "então",
        "você",
        "dele",
        "dela",
        "feira",
        "quer",
        "precisa",
        "deve",
        "pode",
        "prometeu",
        "vou",
        "equipe",
        "tópico",
    ]
    .into_iter()
    .collect()
});

/// Hedges: the messages suggest or ask rather than settle.
static HEDGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(maybe|might|perhaps|possibly|probably|considering|consider|thinking (?:about|of)|propose|proposal|suggest\w*|should we|could we|can we|shall we|what if|how about|idea|tentative\w*|not sure|unsure|option|options|if we|would it|wondering|peut-être|pourrait|on pourrait|vielleicht|könnten|sollten wir|quizás|quizá|tal vez|podríamos|talvez|poderíamos|\?)",
    )
    .expect("static regex")
});

/// Wording in messages that settles something.
static SETTLES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(\b(decided|decide|agreed|agree|approved|approve|lgtm|sounds good|ship it|go ahead|works for me|let's go|lets go|let's do|we'll go|we will go|going with|go with|goes with|settled|final|confirmed|confirm|yes|yep|ok|okay|done deal|signed off|sign off|d'accord|validé|on part sur|einverstanden|passt|machen wir|de acuerdo|vale|aprobado|aprovado|combinado|fechado)\b|:\+1:|👍|✅)",
    )
    .expect("static regex")
});
static ASKS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(\?|\b(please|pls|can you|could you|would you|will you|can someone|could someone|can anyone|need (?:you|someone|somebody|help|a|an|the)|let me know|lmk|would be (?:great|nice|good|helpful)|want you|make sure|don't forget|remember to|s'il te plaît|s'il vous plaît|merci de|peux-tu|pourrais-tu|pouvez-vous|bitte|kannst du|könntest du|por favor|puedes|podrías|pode|poderia)\b)",
    )
    .expect("static regex")
});
static PROMISES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(\b(will|shall|going to|gonna|plan|plans|planning|tomorrow|tonight|later|next|by|until|soon|on it|let me|promise|(?:i'm|i am|we're|we are|he's|she's|they're) \w+ing|taking|i'll|we'll|he'll|she'll|they'll|je vais|on va|nous allons|je m'en occupe|demain|ich werde|wir werden|morgen|mache ich|voy a|vamos a|mañana|me encargo|vou|vamos|amanhã)\b|'ll\b|’ll\b)",
    )
    .expect("static regex")
});
static BLOCKS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(block\w*|stuck|waiting|wait|can't|cannot|can not|unable|broken|broke|down|outage|fail\w*|error\w*|bug|issue|problem|not working|doesn't work|depend\w*|need\w*|bloqu\w*|attend\w*|panne|wartet|warten|kaputt|fehl\w*|esper\w*|caído|falla\w*|aguard\w*)\b",
    )
    .expect("static regex")
});
static STATUS_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(done|fixed|fix|shipped|ship|merged|merge|deployed|deploy|released|release|resolved|resolve|finished|finish|completed|complete|landed|rolled|reverted|revert|up|live|back|ready|green|progress|working|looking|on it|closed|close|in|out|pushed|sent|terminé|corrigé|déployé|erledigt|behoben|fertig|listo|resuelto|desplegado|pronto|resolvido)\b",
    )
    .expect("static regex")
});
static PASSIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:was|were|been|being|is|are|got|get)\s+(?:asked|requested|invited|told|tagged|pinged)\b")
        .expect("static regex")
});

/// A word of a text: as written, lower-cased, and where it starts (byte offset).
#[derive(Clone, Debug)]
struct Word {
    raw: String,
    lower: String,
    start: usize,
}

/// The words of a text, as `text::words` reads them (UAX #29), with their offsets.
fn tokens(text: &str) -> Vec<Word> {
    use unicode_segmentation::UnicodeSegmentation;
    text.unicode_word_indices()
        .map(|(start, w)| Word {
            raw: w.to_string(),
            lower: w.to_lowercase().replace('’', "'"),
            start,
        })
        .collect()
}

fn is_you(lower: &str) -> bool {
    YOU.contains(&lower)
}

/// What the cited messages give, in forms a paraphrase may use.
struct Support<'a> {
    claim: &'a Claim<'a>,
    lang: Lang,
    /// Lower-cased words of the cited texts, of their propositions and of their authors.
    words: HashSet<String>,
    stems: HashSet<String>,
    /// Digit groups of numbers in the cited texts ("10,000" → "10000", "2pm" → "2").
    numbers: HashSet<String>,
    /// (month, day) of the posting days and of every date the messages name.
    days: HashSet<(u32, u32)>,
    /// The cited texts, cleaned, lower-cased.
    texts: Vec<String>,
    /// Authors of the cited messages and propositions' subjects: who acted.
    actors: Vec<String>,
    /// Everyone the cited messages name (authors, mentions, known people, propositions).
    people: Vec<String>,
    kinds: Vec<Kind>,
}

fn digit_groups(word: &str) -> Vec<String> {
    let compact: String = word
        .chars()
        .filter(|c| !matches!(c, ',' | '\'' | '_'))
        .collect();
    compact
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .map(|g| g.trim_start_matches('0').to_string())
        .map(|g| if g.is_empty() { "0".to_string() } else { g })
        .collect()
}

impl<'a> Support<'a> {
    fn new(claim: &'a Claim<'a>) -> Self {
        // The cited texts cleaned once (mentions, links, emoji), then lower-cased.
        let cleaned: Vec<String> = claim.cited.iter().map(|c| text::clean(c.text)).collect();
        let texts: Vec<String> = cleaned
            .iter()
            .map(|t| t.to_lowercase().replace('’', "'"))
            .collect();
        let lang = lang::detect_many(claim.cited.iter().map(|c| c.text));
        let mut words = HashSet::new();
        let mut stems = HashSet::new();
        let mut numbers = HashSet::new();
        let mut add = |t: &str, words: &mut HashSet<String>, stems: &mut HashSet<String>| {
            for w in text::words(t) {
                let lower = w.to_lowercase().replace('’', "'");
                if lower.chars().any(|c| c.is_ascii_digit()) {
                    numbers.extend(digit_groups(&lower));
                }
                for l in [lang, Lang::En] {
                    stems.insert(text::stem(&lower, l));
                }
                words.insert(lower);
            }
        };
        for (c, t) in claim.cited.iter().zip(&texts) {
            add(t, &mut words, &mut stems);
            add(c.author, &mut words, &mut stems);
            // A link's host names its site ("reddit.com" → "reddit").
            for host in t
                .split_whitespace()
                .filter(|w| w.contains('.') && w.contains('/'))
            {
                for label in host.split(['.', '/', ':', '-']) {
                    words.insert(label.to_string());
                    stems.insert(label.to_string());
                }
            }
        }
        for c in &claim.channels {
            add(&c.replace(['-', '_'], " "), &mut words, &mut stems);
        }
        for p in &claim.propositions {
            add(&p.statement, &mut words, &mut stems);
            for e in p.entities.all_lower() {
                add(&e, &mut words, &mut stems);
            }
        }
        let mut days = HashSet::new();
        for (c, clean) in claim.cited.iter().zip(&cleaned) {
            let posted = local_date(c.posted_at, claim.utc_offset_secs);
            days.insert((posted.month(), posted.day()));
            for d in dates::find_dates(clean, c.posted_at, claim.utc_offset_secs) {
                days.insert((d.date.month(), d.date.day()));
            }
        }
        for p in &claim.propositions {
            for t in p.time.iter().chain(&p.due).chain(&p.entities.dates) {
                if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
                    days.insert((d.month(), d.day()));
                }
            }
        }
        let mut actors: Vec<String> = claim.cited.iter().map(|c| c.author.to_string()).collect();
        actors.extend(claim.propositions.iter().map(|p| p.subject.clone()));
        // People only: a proposition's subject may be a thing ("Storage migration dry run").
        let mut people: Vec<String> = claim.cited.iter().map(|c| c.author.to_string()).collect();
        people.extend(
            claim
                .propositions
                .iter()
                .map(|p| p.subject.clone())
                .filter(|s| {
                    claim
                        .known_people
                        .iter()
                        .chain(claim.reader)
                        .any(|k| same_person(k, s))
                }),
        );
        for (clean, t) in cleaned.iter().zip(&texts) {
            people.extend(super::entities::mentions(clean));
            for k in claim.known_people {
                if mentions_person(t, k) {
                    people.push(k.clone());
                }
            }
        }
        for p in &claim.propositions {
            people.extend(p.addressee.iter().cloned());
            people.extend(p.entities.people.iter().cloned());
        }
        let kinds = claim.propositions.iter().map(|p| p.kind).collect();
        Support {
            claim,
            lang,
            words,
            stems,
            numbers,
            days,
            texts,
            actors,
            people,
            kinds,
        }
    }

    fn has_word(&self, lower: &str) -> bool {
        let base = lower.strip_suffix("'s").unwrap_or(lower);
        if self.words.contains(lower) || self.words.contains(base) {
            return true;
        }
        for suffix in ["es", "s", "ed", "d", "ing"] {
            if let Some(stem) = base.strip_suffix(suffix)
                && stem.chars().count() >= 3
                && self.words.contains(stem)
            {
                return true;
            }
        }
        [self.lang, Lang::En]
            .iter()
            .any(|&l| self.stems.contains(&text::stem(base, l)))
    }

    fn is_reader(&self, name: &str) -> bool {
        is_you(&name.to_lowercase()) || self.claim.reader.iter().any(|r| same_person(r, name))
    }

    fn names_person(&self, name: &str) -> bool {
        self.people.iter().any(|p| same_person(p, name))
            || self.texts.iter().any(|t| mentions_person(t, name))
    }

    fn acted(&self, name: &str) -> bool {
        if self.is_reader(name) {
            return self.actors.iter().any(|a| {
                self.claim.reader.iter().any(|r| same_person(r, a)) || is_you(&a.to_lowercase())
            });
        }
        self.actors.iter().any(|a| same_person(a, name))
    }

    fn any_text(&self, re: &Regex) -> bool {
        self.texts.iter().any(|t| re.is_match(t))
            || self
                .claim
                .propositions
                .iter()
                .any(|p| re.is_match(&p.statement))
    }
}

/// Whether a lower-cased text names a person, by full name or first name as a word.
fn mentions_person(lower_text: &str, name: &str) -> bool {
    let name = name.trim().trim_start_matches('@').to_lowercase();
    if name.is_empty() {
        return false;
    }
    let first = name.split_whitespace().next().unwrap_or(&name).to_string();
    [name, first]
        .iter()
        .filter(|n| n.chars().count() >= 2)
        .any(|n| super::entities::contains_word(lower_text, n))
}

/// The people a sentence names: known people by full or first name (capitalised), and "you".
fn people_named(
    sentence: &str,
    words: &[Word],
    claim: &Claim,
    support_people: &[String],
) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if is_you(&w.lower) && (w.lower != "du" || lang::detect(sentence) == Some(Lang::De)) {
            // "sie"/"du" only count in German; "te"/"tu" only in Romance sentences.
            if ["sie", "te", "tu", "ti", "seu", "sua"].contains(&w.lower.as_str())
                && lang::detect(sentence).is_none_or(|l| l == Lang::En)
            {
                continue;
            }
            out.push((i, "you".to_string()));
            continue;
        }
        if !w.raw.chars().next().is_some_and(char::is_uppercase) {
            continue;
        }
        let base = w.lower.strip_suffix("'s").unwrap_or(&w.lower);
        let next = words.get(i + 1).map(|n| n.lower.as_str()).unwrap_or("");
        let everyone = || claim.known_people.iter().chain(claim.reader);
        // A full name ("Marco Vogel") wins; a first name alone means the person of that first
        // name the cited messages know, else anyone of that name.
        let full = everyone().find(|k| {
            let parts: Vec<String> = k
                .to_lowercase()
                .split_whitespace()
                .map(String::from)
                .collect();
            parts.len() >= 2 && parts[0] == base && parts[1] == next
        });
        let first = || {
            let named = |k: &&String| {
                let k = k.to_lowercase();
                k.split_whitespace().next() == Some(base)
                    || k.split_whitespace()
                        .any(|part| part == base && part.chars().count() >= 3)
            };
            support_people
                .iter()
                .find(|k| named(k))
                .or_else(|| everyone().find(named))
        };
        if let Some(k) = full.or_else(first) {
            if claim.reader.iter().any(|r| same_person(r, k)) {
                out.push((i, "you".to_string()));
            } else if !out.iter().any(|(_, n)| n == k) {
                out.push((i, k.clone()));
            }
        }
    }
    out
}

/// Words that deny without a negation word ("miss", "skip", "refuse"): counted with negations
/// when comparing polarity, so "won't make it" and "will miss it" agree.
const DENYING: &[&str] = &[
    "miss", "skip", "lack", "refuse", "decline", "fail", "unable", "absent", "cancel", "drop",
    "reject", "stop", "manqu", "refus", "annul", "verpass", "absag", "ablehn", "fall", "rechaz",
    "perd", "falt",
];

/// Negation cues of a clause, denying verbs included.
fn denials(lower: &str, lang: Lang) -> usize {
    // Denying verbs count as negations: "will miss it" agrees with "won't make it".
    let implicit = tokens(lower)
        .iter()
        .filter(|w| {
            let stem = text::stem(&w.lower, lang);
            DENYING
                .iter()
                .any(|d| stem.starts_with(d) || w.lower.starts_with(d))
        })
        .count();
    acts::negation_count(lower) + implicit
}

/// A text's clauses: split at punctuation and at "and"/"but" in each language.
fn clauses(text: &str) -> Vec<String> {
    static SPLIT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)[,;:()—–]|\b(?:and|but|so|while|because|et|mais|donc|und|aber|weil|y|pero|porque|e|mas|porque)\b")
            .expect("static regex")
    });
    SPLIT
        .split(text)
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

fn content_stems(text: &str, lang: Lang) -> HashSet<String> {
    tokens(text)
        .into_iter()
        .filter(|w| {
            w.lower.chars().count() >= 3
                && w.lower.chars().all(char::is_alphabetic)
                && !text::is_stop_word(&w.lower)
                && acts::negations(&w.lower) == 0
                && !is_you(&w.lower)
        })
        .map(|w| text::stem(&w.lower, lang))
        .collect()
}

/// Whether a clause of the sentence denies what the cited clause it most resembles affirms, or
/// the other way round: `Some(a shared word)` when the two differ in polarity.
fn flipped_clause(clause: &str, support: &Support, lang: Lang) -> Option<String> {
    let mine = content_stems(clause, lang);
    if mine.len() < 2 {
        return None;
    }
    // The most similar cited clause: (shared stems, its text), the first of equals.
    let mut best: Option<(HashSet<String>, String)> = None;
    for t in &support.texts {
        for sentence in text::sentences(t) {
            for c in clauses(&sentence) {
                let theirs = content_stems(&c, support.lang);
                let shared: HashSet<String> = mine.intersection(&theirs).cloned().collect();
                let smaller = mine.len().min(theirs.len());
                let enough = (shared.len() >= 2 || smaller == 1) && shared.len() * 2 >= smaller;
                if enough && best.as_ref().is_none_or(|(n, _)| shared.len() > n.len()) {
                    best = Some((shared, c.clone()));
                }
            }
        }
    }
    let (shared, theirs) = best?;
    let a = denials(&clause.to_lowercase(), lang) % 2;
    let b = denials(&theirs, support.lang) % 2;
    // Named by the clause's first shared word, as written: the critique is stable from run to
    // run (it is part of the correction prompt, and so of its cache key).
    (a != b).then(|| {
        tokens(clause)
            .into_iter()
            .find(|w| shared.contains(&text::stem(&w.lower, lang)))
            .map_or_else(|| clause.to_string(), |w| w.raw)
    })
}

/// Lower-cased words joined by single spaces, for finding a quote in a message.
fn normalised(text: &str) -> String {
    tokens(text)
        .into_iter()
        .map(|w| w.lower)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A sentence that quotes a cited message ("Marco said: “…”", "You said: …"): the quote is the
/// message's own words, so only who is said to have said it can be wrong. `Some(drifts)` when the
/// sentence is such a quote.
fn quoted(claim: &Claim, support: &Support) -> Option<Vec<Drift>> {
    let cited: Vec<String> = claim
        .cited
        .iter()
        .map(|c| normalised(&text::clean(c.text)))
        .collect();
    // Each colon may open the quote ("Dans #x : Julien: La mise…"): the first that does.
    let splits = claim
        .sentence
        .char_indices()
        .filter(|(_, c)| *c == ':')
        .map(|(i, _)| (&claim.sentence[..i], &claim.sentence[i + 1..]))
        .chain(std::iter::once(("", claim.sentence)));
    for (head, quote) in splits {
        let quote = normalised(quote);
        if quote.is_empty() || head.split_whitespace().count() > 12 {
            continue;
        }
        // A short quote counts only as a whole message ("Einverstanden.").
        let quoting: Vec<&Cited> = claim
            .cited
            .iter()
            .zip(&cited)
            .filter(|(_, t)| {
                if quote.split(' ').count() >= 3 {
                    t.contains(&quote)
                } else {
                    **t == quote
                }
            })
            .map(|(c, _)| c)
            .collect();
        if quoting.is_empty() {
            continue;
        }
        // The speaker is the first person the head names ("Priya told you:").
        let words = tokens(head);
        let mut out = Vec::new();
        if let Some((_, name)) = people_named(head, &words, claim, &support.people)
            .into_iter()
            .next()
        {
            let said_it = quoting.iter().any(|c| {
                if name == "you" {
                    claim.reader.iter().any(|r| same_person(r, c.author))
                } else {
                    same_person(c.author, &name)
                }
            });
            if !said_it && (name == "you" || support.names_person(&name)) {
                out.push(Drift::Actor {
                    name,
                    act: Kind::Fyi,
                });
            }
        }
        return Some(out);
    }
    None
}

/// Whether a sentence is chief's framing ("You took part in this thread.", "Nothing here is asked
/// of you directly."): template words, names and channels only.
fn is_framing(words: &[Word], people: &HashSet<usize>) -> bool {
    let vocabulary = super::templates::vocabulary();
    words.iter().enumerate().all(|(i, w)| {
        people.contains(&i)
            || is_you(&w.lower)
            || vocabulary.contains(&w.lower)
            || text::is_stop_word(&w.lower)
    })
}

/// Checks one sentence; empty when it is supported.
pub fn check(claim: &Claim) -> Vec<Drift> {
    let mut out: Vec<Drift> = Vec::new();
    if claim.cited.is_empty() {
        return out;
    }
    let support = Support::new(claim);
    if let Some(drifts) = quoted(claim, &support) {
        return drifts;
    }
    let sentence = claim.sentence;
    // Quoted words are the messages' own: checked as words, not as claims.
    let words = tokens(sentence);
    let lang_s = lang::detect(sentence).unwrap_or(support.lang);
    let people = people_named(sentence, &words, claim, &support.people);
    let person_at: HashSet<usize> = people.iter().map(|(i, _)| *i).collect();
    if is_framing(&words, &person_at) {
        return Vec::new();
    }

    // People.
    for (_, name) in &people {
        if name != "you" && !support.names_person(name) {
            out.push(Drift::Person { name: name.clone() });
        }
    }

    // Acts the sentence states, and who it says made them.
    let said = acts::acts_said(sentence);
    let lower_sentence = sentence.to_lowercase();
    let passive = PASSIVE.is_match(&lower_sentence);
    let first_act = first_act_position(&lower_sentence);
    // A possessive ("your comments", "Priya's plan") names whose thing it is, not who acts.
    let possessive = |i: usize| {
        POSSESSIVE_YOU.contains(&words[i].lower.as_str()) || words[i].lower.ends_with("'s")
    };
    let subject = people
        .iter()
        .find(|(i, _)| !possessive(*i) && first_act.is_none_or(|a| words[*i].start < a))
        .map(|(_, n)| n.clone());
    let act_of_person = said.iter().copied().find(|k| {
        matches!(
            k,
            Kind::Request | Kind::Decision | Kind::Commitment | Kind::Question
        )
    });
    if let (Some(who), Some(act), false) = (&subject, act_of_person, passive)
        && (who == "you" || support.names_person(who))
        && !support.acted(who)
        && !acted_in_text(&support, who)
    {
        out.push(Drift::Actor {
            name: who.clone(),
            act,
        });
    }
    let hedged_sentence = HEDGE.is_match(&lower_sentence);
    for act in &said {
        let supported = support.kinds.contains(act)
            || match act {
                Kind::Decision => support.any_text(&SETTLES),
                Kind::Request => support.any_text(&ASKS) || support.kinds.contains(&Kind::Question),
                Kind::Question => support.any_text(&ASKS) || support.kinds.contains(&Kind::Request),
                Kind::Commitment => {
                    support.any_text(&PROMISES)
                        || support.kinds.contains(&Kind::Request)
                        || support.kinds.contains(&Kind::Decision)
                }
                Kind::Blocker => support.any_text(&BLOCKS),
                Kind::Status => support.any_text(&STATUS_WORDS) || support.any_text(&SETTLES),
                _ => true,
            };
        if !supported {
            out.push(Drift::Act { act: *act });
        }
    }
    // A firm decision made of suggestions only.
    if said.contains(&Kind::Decision)
        && !hedged_sentence
        && !support.kinds.contains(&Kind::Decision)
        && support.any_text(&HEDGE)
        && !support.any_text(&SETTLES)
    {
        out.push(Drift::Hedged {
            act: Kind::Decision,
        });
    }

    // Polarity: each clause against the cited clause it shares most content with.
    for clause in clauses(sentence) {
        if let Some(word) = flipped_clause(&clause, &support, lang_s) {
            out.push(Drift::Polarity { word });
        }
    }
    let cited_states: Vec<(&str, bool)> = support
        .texts
        .iter()
        .flat_map(|t| acts::opposites(t))
        .collect();
    for (base, sense) in acts::opposites(sentence) {
        let same = cited_states.iter().any(|(b, s)| *b == base && *s == sense);
        let opposite = cited_states.iter().any(|(b, s)| *b == base && *s != sense);
        if opposite && !same {
            out.push(Drift::Polarity {
                word: base.to_string(),
            });
        }
    }

    // The days the sentence names, resolved from the latest cited message (read once: the
    // number check skips their digits, the date check compares them).
    let latest = claim.cited.iter().map(|c| c.posted_at).max().unwrap_or(0);
    let sentence_days = dates::find_dates(sentence, latest, claim.utc_offset_secs);
    let in_date = |w: &Word| {
        sentence_days
            .iter()
            .any(|d| d.start <= w.start && w.start < d.end)
    };

    // Entities: numbers, tickets, capitalised names of the cited messages.
    let german = lang_s == Lang::De;
    let starts = sentence_starts(&words, sentence);
    for (i, w) in words.iter().enumerate() {
        if person_at.contains(&i) || is_you(&w.lower) {
            continue;
        }
        if w.lower.chars().any(|c| c.is_ascii_digit()) {
            // A day number beside a month or weekday is the date check's ("jeudi 19 février").
            let near_calendar = words[i.saturating_sub(2)..(i + 3).min(words.len())]
                .iter()
                .any(|n| text::is_calendar_word(&n.lower));
            let is_time = w.lower.ends_with(['h', 'm']) || w.lower.contains(':');
            if in_date(w) || (near_calendar && !is_time) {
                continue;
            }
            let groups = digit_groups(&w.lower);
            if groups.iter().any(|g| !support.numbers.contains(g)) {
                out.push(Drift::Entity {
                    word: w.raw.clone(),
                });
            }
            continue;
        }
        let capitalised = w.raw.chars().next().is_some_and(char::is_uppercase);
        if !capitalised
            || starts.contains(&i)
            || (german && i > 0)
            || text::is_stop_word(&w.lower)
            || text::is_calendar_word(&w.lower)
            || w.raw.chars().count() < 2
            || support.has_word(&w.lower)
            || claim
                .known_people
                .iter()
                .any(|k| mentions_person(&k.to_lowercase(), &w.lower))
        {
            continue;
        }
        out.push(Drift::Entity {
            word: w.raw.clone(),
        });
    }

    // Dates: every day the sentence names is one the cited messages name or imply.
    for d in &sentence_days {
        if !support.days.contains(&(d.date.month(), d.date.day())) {
            // A weekday alone resolves forward from the latest message; one of the messages'
            // days with that weekday is the same day.
            let weekday_only = d.phrase.split_whitespace().count() == 1;
            let same_weekday = weekday_only
                && claim.cited.iter().any(|c| {
                    let day = local_date(c.posted_at, claim.utc_offset_secs);
                    day.weekday() == d.date.weekday()
                });
            if !same_weekday {
                out.push(Drift::Date {
                    phrase: d.phrase.clone(),
                });
            }
        }
    }

    // No new claim: content words left over after the messages' words and paraphrase words.
    let mut content = 0;
    let mut unsupported: Vec<String> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let l = w.lower.as_str();
        if person_at.contains(&i)
            || is_you(l)
            || l.chars().count() < 3
            || !l.chars().all(char::is_alphabetic)
            || text::is_stop_word(l)
            || text::is_calendar_word(l)
            || PARAPHRASE.contains(l)
            || super::templates::vocabulary().contains(l)
            || acts::negations(l) > 0
        {
            continue;
        }
        content += 1;
        if !support.has_word(l) && !synonym_supported(l, &support) {
            unsupported.push(w.raw.clone());
        }
    }
    let limit = if content >= 8 { 2 } else { 1 };
    if unsupported.len() > limit || (content > 0 && unsupported.len() * 2 > content + 1) {
        out.push(Drift::NewClaim {
            words: unsupported,
            of: content,
        });
    }
    out.dedup();
    out
}

/// Groups of words a paraphrase swaps for one another: one in the sentence is supported when
/// another of its group is in the messages.
const SYNONYMS: &[&[&str]] = &[
    &[
        "postpone",
        "delay",
        "push",
        "move",
        "reschedule",
        "shift",
        "slip",
        "defer",
        "later",
    ],
    &["cancel", "drop", "scrap", "call off", "skip"],
    &[
        "release", "ship", "deploy", "launch", "rollout", "roll", "publish", "live", "go",
    ],
    &[
        "bug",
        "issue",
        "problem",
        "error",
        "defect",
        "glitch",
        "regression",
        "failure",
        "crash",
    ],
    &[
        "meeting", "call", "sync", "standup", "review", "session", "meet",
    ],
    &[
        "document", "doc", "docs", "page", "write", "writeup", "notes", "spec",
    ],
    &["slides", "deck", "presentation"],
    &["pr", "pull", "patch", "change", "diff", "commit", "merge"],
    &["customer", "client", "account", "user", "users"],
    &["outage", "incident", "down", "downtime"],
    &["database", "db", "postgres", "postgresql"],
    &["ticket", "issue", "task", "card"],
    &["sick", "ill", "unwell", "flu"],
    &["office", "work"],
    &["weekend", "saturday", "sunday"],
    &["link", "url", "page"],
    &["test", "tests", "testing", "qa", "ci"],
    &["big", "large", "huge", "major"],
    &["small", "minor", "little", "tiny"],
    &["quick", "fast", "soon", "short"],
    &["image", "picture", "chart", "graphic", "screenshot", "png"],
    &["project", "repo", "repository", "code"],
    &["talk", "presentation", "speak", "present", "speaker"],
    &["help", "assist", "support", "hand"],
    &["send", "share", "forward", "post", "email"],
    &["add", "include", "put"],
    &["example", "sample", "demo"],
    &["content", "material", "materials", "stuff"],
];

fn synonym_supported(lower: &str, support: &Support) -> bool {
    SYNONYMS.iter().any(|group| {
        group
            .iter()
            .any(|g| *g == lower || text::stem(g, Lang::En) == text::stem(lower, Lang::En))
            && group.iter().any(|g| support.has_word(g))
    })
}

/// Whether the person appears in a cited text right before an act's wording ("Priya: can you",
/// "@marco will send") — someone acting in another's message.
fn acted_in_text(support: &Support, who: &str) -> bool {
    if support.is_reader(who) {
        return false;
    }
    let name = who.to_lowercase();
    let first = name.split_whitespace().next().unwrap_or(&name).to_string();
    support.texts.iter().any(|t| {
        for n in [&name, &first] {
            let mut from = 0;
            while let Some(at) = t[from..].find(n.as_str()) {
                let after = &t[from + at + n.len()..];
                let window: String = after.chars().take(40).collect();
                if PROMISES.is_match(&window)
                    || SETTLES.is_match(&window)
                    || ASKS.is_match(&window)
                    || window.trim_start().starts_with(['(', ':'])
                {
                    return true;
                }
                from += at + n.len();
            }
        }
        false
    })
}

fn first_act_position(lower: &str) -> Option<usize> {
    static ACT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(ask\w*|request\w*|want\w*|need\w*|decid\w*|agree\w*|approv\w*|promis\w*|will|'ll|plan\w*|offer\w*|commit\w*|propos\w*|suggest\w*|settl\w*|chose|confirm\w*|invit\w*|demand\w*|bitte\w*|gebeten|pide|pidió|pediu|pede|décid\w*|entschied\w*|decidi\w*)\b")
            .expect("static regex")
    });
    ACT.find(lower).map(|m| m.start())
}

/// Words that start a sentence or clause (their capital says nothing).
fn sentence_starts(words: &[Word], sentence: &str) -> HashSet<usize> {
    let mut out = HashSet::new();
    let mut previous_end = 0;
    for (i, w) in words.iter().enumerate() {
        let gap = &sentence[previous_end..w.start];
        if i == 0 || gap.contains(['.', '!', '?', ':', ';', '"', '“', '(', '—', '–', '\n']) {
            out.insert(i);
        }
        previous_end = w.start + w.raw.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::tasks::ExtractPropositions;
    use crate::ai::tasks::Task;
    use crate::ai::tasks::types::{ChannelInfo, ChatMessage, MessageRef};

    /// Tuesday 10 February 2026, 09:00 UTC.
    const TUE: i64 = 1_770_714_000;

    fn verdict(sentence: &str, messages: &[(&str, &str)]) -> Vec<Drift> {
        let chat: Vec<ChatMessage> = messages
            .iter()
            .enumerate()
            .map(|(i, (author, text))| ChatMessage {
                id: MessageRef {
                    channel_id: "C1".into(),
                    ts: format!("{}.0001{i:02}", TUE + 60 * i as i64),
                },
                author: author.to_string(),
                author_id: None,
                text: text.to_string(),
                posted_at: TUE + 60 * i as i64,
            })
            .collect();
        let known: Vec<String> = ["Priya Raman", "Marco Rossi", "Dana Kim", "Lena Vogel"]
            .map(String::from)
            .to_vec();
        let props = ExtractPropositions
            .extractive(&crate::ai::tasks::PropositionsInput {
                channel: ChannelInfo {
                    id: "C1".into(),
                    name: "eng".into(),
                },
                messages: chat.clone(),
                known_people: known.clone(),
                utc_offset_secs: 0,
            })
            .propositions;
        let reader = vec!["Dana Kim".to_string(), "Dana".to_string()];
        let claim = Claim {
            sentence,
            cited: chat
                .iter()
                .map(|m| Cited {
                    author: &m.author,
                    text: &m.text,
                    posted_at: m.posted_at,
                })
                .collect(),
            propositions: props.iter().collect(),
            reader: &reader,
            known_people: &known,
            channels: vec!["eng"],
            utc_offset_secs: 0,
        };
        check(&claim)
    }

    const ASK: &[(&str, &str)] = &[(
        "Priya Raman",
        "@Dana Kim can you review the rollout plan before tomorrow's launch review?",
    )];

    #[test]
    fn a_paraphrase_is_supported() {
        assert_eq!(
            verdict(
                "Priya asked you to look over the rollout plan before the launch review.",
                ASK
            ),
            []
        );
        assert_eq!(
            verdict(
                "Priya wants your review of the rollout plan before Wednesday 11 February.",
                ASK
            ),
            []
        );
    }

    #[test]
    fn drift_is_caught() {
        // Swapped actor.
        assert!(!verdict("You asked Priya to review the rollout plan.", ASK).is_empty());
        // Flipped modality: asked is not approved.
        assert!(!verdict("Priya approved the rollout plan.", ASK).is_empty());
        // Changed entity (a named one: a lowercase noun swapped for another, "pricing plan" for
        // "rollout plan", is one new word — within what a paraphrase adds, so not caught).
        assert!(!verdict("Priya asked you to review the Orion rollout plan.", ASK).is_empty());
        // Wrong date.
        assert!(
            !verdict(
                "Priya asked you to review the rollout plan before Friday 13 February.",
                ASK
            )
            .is_empty()
        );
        // Invented claim.
        assert!(
            !verdict(
                "Priya asked you to review the rollout plan because legal flagged a compliance risk.",
                ASK
            )
            .is_empty()
        );
    }

    #[test]
    fn polarity_flips_are_caught() {
        let msgs = &[("Marco Rossi", "I won't make the standup tomorrow, dentist")];
        assert_eq!(verdict("Marco will miss tomorrow's standup.", msgs), []);
        let fixed = &[("Lena Vogel", "the login bug is fixed and deployed")];
        assert!(!verdict("The login bug is not fixed yet.", fixed).is_empty());
        assert_eq!(verdict("Lena fixed and deployed the login bug.", fixed), []);
    }
}
