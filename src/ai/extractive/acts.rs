//! What a statement does in the work (its [`Kind`]) and whether it affirms or denies (its
//! [`Polarity`]), read from wording: the typed half of a proposition, and the same reading the
//! faithfulness check applies to a generated sentence so the two can be compared.
//!
//! English carries most cues; French, German, Spanish and Portuguese have the common ones
//! (negation, asking, deciding, promising), which is what the eval's non-English channels need.

use std::sync::LazyLock;

use regex::Regex;

use super::statements::{Modality, Statement};
pub use crate::model::proposition::{Kind, Polarity};

static NEGATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        \b(not|never|no|nobody|nothing|none|neither|nor|no\ longer|without|cannot|
           isn't|aren't|wasn't|weren't|won't|wouldn't|don't|doesn't|didn't|can't|couldn't|
           shouldn't|haven't|hasn't|hadn't|mustn't|
           # fr
           ne|n'|pas|jamais|aucun|aucune|personne|rien|sans|
           # de
           nicht|kein|keine|keinen|keinem|keiner|nie|niemals|nichts|ohne|
           # es / pt
           nunca|nada|ningún|ninguna|ninguno|sin|não|nem|nenhum|nenhuma|sem)\b
        |n't\b|n’t\b",
    )
    .expect("static regex")
});

/// Words that reverse a state without a negation ("unblocked", "reverted"): counted as a flip
/// of their base word by [`opposites`].
const OPPOSITES: &[(&str, &str)] = &[
    ("approve", "reject"),
    ("approve", "decline"),
    ("accept", "reject"),
    ("accept", "decline"),
    ("block", "unblock"),
    ("fix", "break"),
    ("fix", "broke"),
    ("pass", "fail"),
    ("succeed", "fail"),
    ("open", "close"),
    ("start", "stop"),
    ("enable", "disable"),
    ("add", "remove"),
    ("merge", "revert"),
    ("ship", "revert"),
    ("ship", "roll back"),
    ("deploy", "roll back"),
    ("up", "down"),
    ("resolve", "reopen"),
    ("confirm", "cancel"),
    ("keep", "drop"),
    ("agree", "disagree"),
    ("increase", "decrease"),
    ("before", "after"),
    ("win", "lose"),
    ("include", "exclude"),
    ("online", "offline"),
];

/// The negation cues of a text (lower-cased), "no" and "not" alike.
pub fn negations(text: &str) -> usize {
    NEGATION.find_iter(text).count()
}

static FRENCH_NE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bn(?:e\b|')").expect("static regex"));

/// How many times a lower-cased text negates: its negation cues, with French "ne … pas/jamais/
/// rien" — one negation written twice — counted once.
pub fn negation_count(lower: &str) -> usize {
    let n = negations(lower);
    n - FRENCH_NE.find_iter(lower).count().min(n / 2)
}

/// Whether the text denies what it says: an odd number of negations ("won't", "not yet",
/// "ne … pas" counts once).
pub fn polarity(text: &str) -> Polarity {
    if negation_count(&text.to_lowercase()) % 2 == 1 {
        Polarity::Negative
    } else {
        Polarity::Positive
    }
}

/// The state words of a text that have an opposite (`("approve", true)` for "approved",
/// `("approve", false)` for "rejected"), by word start, so inflections match.
pub fn opposites(text: &str) -> Vec<(&'static str, bool)> {
    let words: Vec<String> = super::text::words(text)
        .into_iter()
        .map(str::to_lowercase)
        .collect();
    let joined = format!(" {} ", words.join(" "));
    // Word starts ("approve" finds "approved"; "block" does not find "unblocked"); short words
    // ("up", "add") only whole, so "update" is not "up".
    let has = |w: &str| {
        if w.chars().count() >= 4 {
            joined.contains(&format!(" {w}"))
        } else {
            joined.contains(&format!(" {w} "))
        }
    };
    let mut out = Vec::new();
    for (a, b) in OPPOSITES {
        let found = match (has(a), has(b)) {
            (true, false) => (*a, true),
            (false, true) => (*a, false),
            _ => continue,
        };
        if !out.contains(&found) {
            out.push(found);
        }
    }
    out
}

static STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(done|fixed|shipped|merged|deployed|released|resolved|finished|completed|landed|rolled (?:back|out)|reverted|is (?:up|live|back|ready|green)|are (?:up|live|back|ready|green)|in progress|working on|looking into|on it|up and running|closed|terminé|corrigé|déployé|erledigt|behoben|fertig|listo|resuelto|desplegado|pronto|resolvido)\b",
    )
    .expect("static regex")
});

static COMMIT_FIRST_PERSON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(\b(i|we)(?:'ll|’ll| will| shall| am going to| are going to| can| 'm going to)\b|\b(i'll|i’ll|we'll|we’ll|let me|i promise|will do|on it|je vais|je m'en occupe|ich werde|ich kümmere|ich mache|lo hago|me encargo|voy a|vou)\b)",
    )
    .expect("static regex")
});

static TICKET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b([A-Z][A-Z0-9]{1,9}-\d{1,6})\b|(?i:\b(?:PR|pull request|issue|ticket|bug)\s*#?\s*(\d{1,7})\b)|(?:^|\s)#(\d{2,7})\b")
        .expect("static regex")
});

/// Tickets, issues and pull requests a text names (`PAY-142`, `#1234` for "PR #1234").
pub fn tickets(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in TICKET.captures_iter(text) {
        let t = if let Some(k) = c.get(1) {
            k.as_str().to_string()
        } else if let Some(n) = c.get(2).or(c.get(3)) {
            format!("#{}", n.as_str())
        } else {
            continue;
        };
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// The kind of an extracted statement: its modality says how it was put; who said it and what
/// came before decide whether a plan is a promise and a statement an answer.
///
/// - a request stays a request, a decision a decision, a blocker a blocker;
/// - a plan is a commitment when its subject is the author ("I'll send it") — a plan about
///   someone else is news about them (fyi or status);
/// - a statement answering an open question of another person is an answer;
/// - a statement of progress ("fixed", "deployed", "in progress") is a status.
pub fn kind_of(statement: &Statement, author: &str, answers_question: bool, source: &str) -> Kind {
    match statement.modality {
        Modality::Request => Kind::Request,
        Modality::Decision => Kind::Decision,
        Modality::Blocker => Kind::Blocker,
        Modality::Question => Kind::Question,
        Modality::Plan
            if statement.subject.eq_ignore_ascii_case(author)
                && COMMIT_FIRST_PERSON.is_match(source) =>
        {
            Kind::Commitment
        }
        _ if STATUS.is_match(&statement.text) => Kind::Status,
        _ if answers_question => Kind::Answer,
        Modality::Plan if statement.subject.eq_ignore_ascii_case(author) => Kind::Commitment,
        _ => Kind::Fyi,
    }
}

static SAYS_REQUEST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(ask(?:s|ed|ing)? (?:you|\p{Lu}\w*|\w+) (?:to|for)|ask(?:s|ed|ing)? for|request(?:s|ed|ing)?|want(?:s|ed)? (?:you|\p{Lu}\w*) to|need(?:s|ed)? (?:you|\p{Lu}\w*) to|would like (?:you|\p{Lu}\w*) to|invit(?:es|ed) (?:you|\p{Lu}\w*) to|please|can you|could you|demande|bitte|bittet|gebeten|pide|pidió|pediu|pede|solicita)\b",
    )
    .expect("static regex")
});
static SAYS_DECISION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(decided|decides|decision|agreed|agree|settled|approved|approves|signed off|chose|chosen|went with|go(?:es|ing)? with|confirmed|final|décid\w*|validé|entschieden|beschlossen|freigegeben|decidi\w*|aprob\w*|aprovad\w*)\b",
    )
    .expect("static regex")
});
static SAYS_COMMITMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(\b(promised|promises|committed|commits|offered|offers|will|'ll|’ll|plans? to|planning to|is going to|are going to|going to|agreed to|said (?:he|she|they|you|I)'d|volunteered|took|takes on|taking|va |vais|vont|wird|werde|werden|übernimmt|va a|vas a|vai|vou)\b)",
    )
    .expect("static regex")
});
static SAYS_BLOCKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(block\w*|stuck|waiting (?:on|for)|can't|cannot|unable|broken|down|outage|failing|fails|bloqu\w*|blockiert|wartet|atascad\w*|bloquead\w*)\b",
    )
    .expect("static regex")
});
static SAYS_QUESTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(\?|\b(asked whether|asks whether|asked if|asks if|wonder\w*|wants to know|question|asked how|asks how|asked what|asks what|asked when|asks when|asked why|asks why|se demande|demande si|fragt|frage|pregunta|pergunta)\b)",
    )
    .expect("static regex")
});

/// The acts a generated sentence says happened — "Priya asked you to…" says a request,
/// "the team agreed…" a decision. A sentence may say several; none for a plain report.
pub fn acts_said(sentence: &str) -> Vec<Kind> {
    let mut out = Vec::new();
    if SAYS_REQUEST.is_match(sentence) {
        out.push(Kind::Request);
    }
    if SAYS_DECISION.is_match(sentence) {
        out.push(Kind::Decision);
    }
    if SAYS_COMMITMENT.is_match(sentence) {
        out.push(Kind::Commitment);
    }
    if SAYS_BLOCKER.is_match(sentence) {
        out.push(Kind::Blocker);
    }
    if SAYS_QUESTION.is_match(sentence) {
        out.push(Kind::Question);
    }
    if STATUS.is_match(sentence) {
        out.push(Kind::Status);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negation_flips_polarity_once() {
        assert_eq!(polarity("Dana will join"), Polarity::Positive);
        assert_eq!(polarity("Dana won't join"), Polarity::Negative);
        assert_eq!(polarity("It is not fixed yet"), Polarity::Negative);
        assert_eq!(polarity("Je ne viendrai pas"), Polarity::Negative);
        assert_eq!(polarity("Das ist nicht fertig"), Polarity::Negative);
        assert_eq!(polarity("No vamos a lanzar"), Polarity::Negative);
    }

    #[test]
    fn opposite_states_are_found_by_their_base_word() {
        assert!(opposites("Priya approved the plan").contains(&("approve", true)));
        assert!(opposites("Priya rejected the plan").contains(&("approve", false)));
        assert!(opposites("the deploy is unblocked").contains(&("block", false)));
        assert!(opposites("the deploy is blocked").contains(&("block", true)));
    }

    #[test]
    fn tickets_are_keys_and_numbers() {
        assert_eq!(tickets("see PAY-142 and PR #981"), ["PAY-142", "#981"]);
        assert!(tickets("at 10:30 on day 3").is_empty());
    }

    #[test]
    fn a_sentence_says_its_acts() {
        assert!(acts_said("Priya asked you to review the plan").contains(&Kind::Request));
        assert!(acts_said("The team agreed to ship on Friday").contains(&Kind::Decision));
        assert!(acts_said("You promised to send the slides").contains(&Kind::Commitment));
        assert!(acts_said("The release is blocked on QA").contains(&Kind::Blocker));
        assert!(acts_said("Marco fixed the login bug").contains(&Kind::Status));
    }
}
