//! Text features for segmentation: content words, name keys and addressee cues.
//!
//! Deliberately simple and language-light: chat is short, misspelt and full of paths, package names
//! and nicknames, so a tokenizer that keeps `power.sh` and `8.04` whole, plus a stop list, carries
//! most of the lexical signal the segmenter needs.

use std::collections::HashSet;
use std::sync::LazyLock;

/// Words too common in chat to say what a message is about.
const STOP_WORDS: &str = "\
    a about above after again all also am an and any anybody anyone anything are aren't as at \
    be because been before being but by can can't cannot could couldn't did didn't do does \
    doesn't doing don't dont done each else even ever for from get gets getting got had has \
    hasn't have haven't having he her here hers him his how i i'd i'll i'm i've if im in into \
    is isn't it it's its just know let like lol make me might more most much must my need no \
    nope not now of off oh ok okay on one only or other our out over own please pls really \
    right said same say see she should so some someone something still such sure than thank \
    thanks thanx that that's thats thx the their them then there these they thing think this \
    those though to too try u um up us use using very want was wasn't way we well were what \
    what's whats when where which while who why will with won't work would yeah yes yep you \
    you're your yours ya hi hello hey there's gonna wanna anyway maybe things go going wants \
    tried trying first new good great cool nice sorry np ty k kk hmm heh hehe haha ah er uh";

fn is_stop_word(word: &str) -> bool {
    static SET: LazyLock<HashSet<&'static str>> =
        LazyLock::new(|| STOP_WORDS.split_whitespace().collect());
    SET.contains(word)
}

/// Characters that may sit inside a content token (`power.sh`, `/etc/fstab`, `8.04`, `apt-get`).
fn is_token_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '\'' | '+' | '#')
}

/// Lowercased content words of a message: stop words, very short tokens, bare numbers and
/// punctuation dropped. Order is kept; duplicates are not removed (the caller weights them).
pub fn content_words(text: &str) -> Vec<String> {
    text.split(|c: char| !is_token_char(c))
        .map(|raw| {
            raw.trim_matches(|c: char| matches!(c, '.' | '-' | '\'' | '/' | '_' | '+'))
                .to_lowercase()
        })
        .filter(|w| w.chars().count() >= 2)
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .filter(|w| !is_stop_word(w))
        .map(|w| light_stem(&w))
        .filter(|w| !is_stop_word(w))
        .collect()
}

/// A very light English suffix stripper so `drivers`/`driver` and `installing`/`installed` meet.
/// Tokens that look technical (contain digits, dots or slashes) are left alone.
fn light_stem(word: &str) -> String {
    if word.chars().any(|c| !c.is_alphabetic()) || word.len() <= 4 {
        return word.to_string();
    }
    for suffix in ["ing", "ed", "es", "s"] {
        if let Some(stem) = word.strip_suffix(suffix)
            && stem.len() >= 3
            && !stem.ends_with('s')
        {
            return stem.to_string();
        }
    }
    word.to_string()
}

/// The key a name is matched by: lowercased, with the decorations IRC and chat users add to a
/// nickname when they reconnect or go away (`tim241_`, `Ben64|away`, `@alice`) removed.
pub fn name_key(name: &str) -> String {
    let lower = name.trim().trim_start_matches('@').to_lowercase();
    let base = lower.split('|').next().unwrap_or(&lower);
    base.trim_end_matches(['_', '`', '^', '-']).to_string()
}

/// The name a message opens by addressing (`alice: …`, `alice, …`, `@alice …`), as typed.
pub fn leading_addressee(text: &str) -> Option<&str> {
    let text = text.trim_start();
    let (first, rest) = match text.find(char::is_whitespace) {
        Some(at) => (&text[..at], &text[at..]),
        None => (text, ""),
    };
    if let Some(name) = first.strip_prefix('@') {
        let name = name.trim_end_matches([':', ',', '.', '!', '?', ';']);
        return (!name.is_empty()).then_some(name);
    }
    // "alice:" / "alice," / "alice :" (a space before the colon is common on IRC clients).
    for separator in [':', ','] {
        if let Some(name) = first.strip_suffix(separator)
            && !name.is_empty()
            && !name.contains("://")
        {
            return Some(name);
        }
    }
    let rest = rest.trim_start();
    if (rest.starts_with(':') || rest.starts_with(',')) && !first.is_empty() {
        return Some(first);
    }
    None
}

/// Candidate name tokens anywhere in a message (for "mentions a recent author's name").
pub fn name_tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | ';' | '!' | '?' | '(' | ')'))
        .map(|t| t.trim_matches(|c: char| matches!(c, '.' | '"' | '\'' | '<' | '>')))
        .filter(|t| t.chars().count() >= 2)
        .map(name_key)
}

fn lower_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// A short hello (`hi all`, `good morning everyone`): people greet the room, not a discussion.
pub fn is_greeting(text: &str) -> bool {
    const GREETINGS: &[&str] = &[
        "hi",
        "hello",
        "hey",
        "hiya",
        "heya",
        "howdy",
        "yo",
        "morning",
        "evening",
        "greetings",
        "sup",
        "hola",
        "hallo",
        "g'day",
        "afternoon",
    ];
    let words: Vec<String> = lower_words(text).take(7).collect();
    words.len() <= 5
        && words
            .iter()
            .take(2)
            .any(|w| GREETINGS.contains(&w.as_str()))
}

/// The message calls on the room for help (`anyone know …`, `can somebody …`).
pub fn calls_on_the_room(text: &str) -> bool {
    const CALLS: &[&str] = &[
        "anyone", "anybody", "someone", "somebody", "everyone", "folks",
    ];
    lower_words(text).any(|w| CALLS.contains(&w.as_str()))
}

/// Whether a name is too common a word to be trusted when it appears mid-sentence.
pub fn is_ambiguous_name(key: &str) -> bool {
    key.chars().count() < 3 || is_stop_word(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_words_keep_technical_tokens_and_drop_chatter() {
        let words = content_words("hi, is /etc/acpi/power.sh setting hdparm -S 1 on Ubuntu 8.04?");
        assert!(
            words.contains(&"/etc/acpi/power.sh".to_string())
                || words.contains(&"etc/acpi/power.sh".to_string())
        );
        assert!(words.contains(&"hdparm".to_string()));
        assert!(words.contains(&"ubuntu".to_string()));
        assert!(!words.contains(&"hi".to_string()));
        assert!(!words.contains(&"8.04".to_string()));
        assert_eq!(content_words("drivers driver"), vec!["driver", "driver"]);
    }

    #[test]
    fn addressee_cues_at_the_start_of_a_message() {
        assert_eq!(leading_addressee("blocke: 5 seconds"), Some("blocke"));
        assert_eq!(
            leading_addressee("Hikaru79, why not WinRAR?"),
            Some("Hikaru79")
        );
        assert_eq!(leading_addressee("@alice can you look"), Some("alice"));
        assert_eq!(leading_addressee("bob : yes"), Some("bob"));
        assert_eq!(leading_addressee("see http://x.org/ for it"), None);
        assert_eq!(leading_addressee("just download it"), None);
    }

    #[test]
    fn greetings_and_calls_on_the_room() {
        assert!(is_greeting("hi all"));
        assert!(is_greeting("Good morning everyone!"));
        assert!(!is_greeting(
            "hi, my wifi drops every few minutes since the upgrade"
        ));
        assert!(calls_on_the_room("does anyone know how to reset grub?"));
        assert!(!calls_on_the_room("grub is reset"));
    }

    #[test]
    fn name_keys_ignore_reconnect_decorations() {
        assert_eq!(name_key("tim241_"), "tim241");
        assert_eq!(name_key("Ben64|away"), "ben64");
        assert_eq!(name_key("@Alice"), "alice");
    }
}
