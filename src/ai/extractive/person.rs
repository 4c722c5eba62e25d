//! Speaking to the reader: rewrites third-person mentions of the reader ("Bob asks", "Bob's PR",
//! "asks Bob to") into the second person ("you ask", "your PR", "asks you to"). English gets verb
//! agreement; other languages get the pronoun only (their content sentences are quotes of the
//! source language, which the engine does not conjugate).

use super::entities::find_word;
use super::lang::Lang;

fn subject_pronoun(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "you",
        Lang::Fr => "vous",
        Lang::De => "du",
        Lang::Es => "tú",
    }
}

/// "asks" → "ask", "is" → "are", "has" → "have"; anything that is not a third-person verb form
/// is returned unchanged.
pub fn second_person_verb(word: &str) -> String {
    match word {
        "is" => return "are".into(),
        "was" => return "were".into(),
        "has" => return "have".into(),
        "does" => return "do".into(),
        "doesn't" => return "don't".into(),
        "isn't" => return "aren't".into(),
        "wasn't" => return "weren't".into(),
        "hasn't" => return "haven't".into(),
        "goes" => return "go".into(),
        _ => {}
    }
    const NOT_VERBS: &[&str] = &[
        "yes",
        "this",
        "his",
        "its",
        "thus",
        "plus",
        "news",
        "always",
        "perhaps",
        "across",
        "towards",
        "afterwards",
        "sometimes",
        "less",
        "unless",
        "whereas",
        "series",
        "status",
    ];
    let lower_word = word.chars().all(|c| c.is_lowercase());
    if !lower_word
        || NOT_VERBS.contains(&word)
        || word.len() < 3
        || word.ends_with("ss")
        || word.ends_with("us")
        || word.ends_with("is")
    {
        return word.to_string();
    }
    if let Some(stem) = word.strip_suffix("ies") {
        return format!("{stem}y");
    }
    for suffix in ["sses", "shes", "ches", "xes", "zes", "oes"] {
        if word.ends_with(suffix) {
            return word[..word.len() - 2].to_string();
        }
    }
    match word.strip_suffix('s') {
        Some(stem) => stem.to_string(),
        None => word.to_string(),
    }
}

fn at_sentence_start(text: &str, pos: usize) -> bool {
    let before = text[..pos].trim_end();
    before.is_empty() || before.ends_with(['.', '!', '?', ':', '\n'])
}

/// Rewrites every whole-word mention of any of `names` (also `@name`) into the second person of
/// `lang`. Longer names are replaced first so "Bob Smith" wins over "Bob".
/// Whether byte `at` lies inside a link (`https://benknoble.github.io/…`, `www.…`): a handle in
/// a URL is part of an address, and rewriting it invents another one.
fn in_link(text: &str, at: usize) -> bool {
    let token_start = text[..at]
        .rfind(|c: char| c.is_whitespace() || c == '<' || c == '(')
        .map_or(0, |i| i + 1);
    let token = &text[token_start..];
    token.starts_with("http://") || token.starts_with("https://") || token.starts_with("www.")
}

pub fn to_second_person(text: &str, names: &[String], lang: Lang) -> String {
    let names_all = names;
    let mut names: Vec<&String> = names.iter().filter(|n| !n.trim().is_empty()).collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
    let mut out = text.to_string();
    for name in names {
        let needle = name.to_lowercase();
        let mut from = 0;
        loop {
            let lower = out.to_lowercase();
            // Lower-casing may change byte lengths for some scripts; only search when aligned.
            if lower.len() != out.len() {
                break;
            }
            let Some(rel) = find_word(&lower[from..], &needle) else {
                break;
            };
            let mut start = from + rel;
            let mut end = start + needle.len();
            if someone_else_at(&out, &lower, start, end, names_all) || in_link(&out, start) {
                from = end;
                continue;
            }
            if out[..start].ends_with('@') {
                start -= 1;
            }
            let capital = at_sentence_start(&out, start);
            let rest = &out[end..];
            let (replacement, consumed) = if lang == Lang::En {
                if rest.starts_with("'s") || rest.starts_with("’s") {
                    (
                        if capital { "Your" } else { "your" }.to_string(),
                        rest.find('s').map_or(0, |i| i + 1),
                    )
                } else {
                    let pronoun = if capital { "You" } else { "you" };
                    let next: String = rest
                        .trim_start()
                        .chars()
                        .take_while(|c| c.is_alphabetic() || *c == '\'')
                        .collect();
                    let gap = rest.len() - rest.trim_start().len();
                    let verb = second_person_verb(&next);
                    if gap > 0 && !next.is_empty() && verb != next {
                        (format!("{pronoun} {verb}"), gap + next.len())
                    } else {
                        (pronoun.to_string(), 0)
                    }
                }
            } else {
                let p = subject_pronoun(lang);
                let p = if capital {
                    let mut c = p.chars();
                    c.next()
                        .map(|f| f.to_uppercase().chain(c).collect())
                        .unwrap_or_default()
                } else {
                    p.to_string()
                };
                (p, 0)
            };
            end += consumed;
            out.replace_range(start..end, &replacement);
            from = start + replacement.len();
        }
    }
    out
}

/// Whether a text names the reader in the third person (any of their names, whole word). A
/// one-word name followed by a surname none of the reader's names carry is someone else who
/// shares it ("… with Marco Vogel and you" when the reader is Marco Rossi).
pub fn names_reader(text: &str, names: &[String]) -> Option<String> {
    let lower = text.to_lowercase();
    names
        .iter()
        .filter(|n| !n.trim().is_empty())
        .find(|n| {
            let needle = n.to_lowercase();
            let mut from = 0;
            while let Some(rel) = find_word(&lower[from..], &needle) {
                let (start, end) = (from + rel, from + rel + needle.len());
                let in_a_link = lower.len() == text.len() && in_link(text, start);
                if !someone_else_at(text, &lower, start, end, names) && !in_a_link {
                    return true;
                }
                from = end;
            }
            false
        })
        .cloned()
}

/// Whether the one-word name at `start..end` of `text` is another person's first name: followed
/// by a capitalised word (not a common or calendar word) that makes a name none of the reader's
/// names begins with. Only the reader's full name, or their first name standing alone, is them.
fn someone_else_at(text: &str, lower: &str, start: usize, end: usize, names: &[String]) -> bool {
    // Lower-casing may change byte lengths for some scripts: then positions do not carry over.
    if lower.len() != text.len() || lower[start..end].contains(char::is_whitespace) {
        return false;
    }
    let rest = &text[end..];
    let after = rest.trim_start_matches(' ');
    if after.len() == rest.len() || rest.len() - after.len() > 1 {
        return false;
    }
    let next: String = after
        .chars()
        .take_while(|c| c.is_alphabetic() || *c == '-' || *c == '\'')
        .collect();
    let capitalised = next.chars().next().is_some_and(char::is_uppercase);
    let lower_next = next.to_lowercase();
    if !capitalised
        || next.chars().count() < 2
        || super::text::is_stop_word(&lower_next)
        || super::text::is_calendar_word(&lower_next)
    {
        return false;
    }
    let full = format!("{} {lower_next}", &lower[start..end]);
    !names.iter().any(|n| {
        let n = n.to_lowercase();
        n == full || n.starts_with(&format!("{full} "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["Bob".into(), "Bob Smith".into()]
    }

    #[test]
    fn the_reader_becomes_you_with_agreement() {
        let t = |s: &str| to_second_person(s, &names(), Lang::En);
        assert_eq!(
            t("Bob asks to move the meeting"),
            "You ask to move the meeting"
        );
        assert_eq!(t("Bob Smith is sick"), "You are sick");
        assert_eq!(
            t("Carol asks Bob to review Bob's PR"),
            "Carol asks you to review your PR"
        );
        assert_eq!(
            t("Alice and @bob discussed it. Bob has the slides"),
            "Alice and you discussed it. You have the slides"
        );
        assert_eq!(t("Bobby tables"), "Bobby tables");
        assert_eq!(t("Bob said: ship it"), "You said: ship it");
        assert_eq!(
            t("Bob Jones and Bob met"),
            "Bob Jones and you met",
            "another Bob is not the reader"
        );
    }

    #[test]
    fn other_languages_get_the_pronoun() {
        assert_eq!(
            to_second_person("Bob: je suis là", &names(), Lang::Fr),
            "Vous: je suis là"
        );
    }

    #[test]
    fn third_person_mentions_are_detected() {
        assert_eq!(
            names_reader("then bob merged it", &names()),
            Some("Bob".into())
        );
        assert_eq!(names_reader("you merged it", &names()), None);
    }

    /// At 2,000 people most first names are shared: another Marco is not the reader.
    #[test]
    fn another_person_with_the_readers_first_name_is_not_the_reader() {
        let marco = vec![
            "Marco Rossi".to_string(),
            "marco.rossi".to_string(),
            "Marco".to_string(),
        ];
        let text = "Ana met with Joao Patel, Marco Vogel, Priya Moretti and you.";
        assert_eq!(names_reader(text, &marco), None);
        // The reader's full name, or the first name alone, is the reader.
        assert_eq!(
            names_reader("Ana asked Marco Rossi for the slides.", &marco),
            Some("Marco Rossi".into())
        );
        assert_eq!(
            names_reader("Ana asked Marco for the slides.", &marco),
            Some("Marco".into())
        );
        assert_eq!(
            names_reader("Marco Vogel thanked Marco.", &marco),
            Some("Marco".into())
        );
        // A capitalised common or calendar word after the name is no surname.
        assert_eq!(
            names_reader("Thanks Marco. The deploy is done", &marco),
            Some("Marco".into())
        );
        assert_eq!(
            names_reader("Ping Marco Monday", &marco),
            Some("Marco".into())
        );
    }

    #[test]
    fn a_name_inside_a_link_stays_as_it_is() {
        let names = vec!["benknoble".to_string()];
        assert_eq!(
            to_second_person(
                "benknoble shared https://benknoble.github.io/blog/ for feedback.",
                &names,
                Lang::En
            ),
            "You shared https://benknoble.github.io/blog/ for feedback."
        );
        assert_eq!(
            names_reader("See https://benknoble.github.io/blog/", &names),
            None
        );
    }
}
