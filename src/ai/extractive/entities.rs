//! Entities without a tagger: people are the authors and the @-mentioned or named people present
//! in the input (never guessed from capitalisation: a wrong person in a briefing is worse than a
//! missing one); systems are tech-shaped words (CamelCase, digits, acronyms, a small lexicon);
//! projects are "project X" phrases, `project-x` channels and capitalised phrases that recur;
//! channels are `#names`.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::text::{self, capitalise, is_calendar_word, is_stop_word};

static MENTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"@([\p{L}\p{N}][\p{L}\p{N}._\-]*[\p{L}\p{N}]|[\p{L}\p{N}])").expect("static regex")
});
static CHANNEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^\p{L}\p{N}&/])#([\p{Ll}\p{N}][\p{Ll}\p{N}_\-]*)").expect("static regex")
});
static PROJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bproject ([\p{L}][\p{L}\p{N}\-]+)|\b([\p{Lu}][\p{L}\p{N}\-]+) project\b")
        .expect("static regex")
});

/// Words that name systems even when written in lower case.
const SYSTEM_LEXICON: &[&str] = &[
    "airflow",
    "ansible",
    "aws",
    "azure",
    "bigquery",
    "bokeh",
    "cassandra",
    "circleci",
    "d3",
    "d3.js",
    "datadog",
    "docker",
    "elasticsearch",
    "excel",
    "gcp",
    "github",
    "gitlab",
    "grafana",
    "graphql",
    "hadoop",
    "jenkins",
    "jira",
    "jupyter",
    "kafka",
    "kibana",
    "kubernetes",
    "k8s",
    "linux",
    "matplotlib",
    "mongodb",
    "mysql",
    "nginx",
    "node.js",
    "nodejs",
    "numpy",
    "pandas",
    "postgres",
    "postgresql",
    "prometheus",
    "python",
    "rabbitmq",
    "racket",
    "react",
    "redis",
    "redshift",
    "rust",
    "s3",
    "sentry",
    "snowflake",
    "spark",
    "sqlite",
    "tableau",
    "terraform",
    "typescript",
    "ubuntu",
    "vim",
    "emacs",
    "webpack",
];

/// Upper-case words that are chat abbreviations, not systems.
const NOT_SYSTEMS: &[&str] = &[
    "AFAIK", "AFAICT", "AM", "FWIW", "IIUC", "IOW", "OTOH", "NB", "PS", "RSVP", "TBH", "YMMV",
    "AKA", "ASAP", "BTW", "CEO", "CTO", "DM", "EOD", "ETA", "FAQ", "FYI", "IIRC", "IMO", "IMHO",
    "LGTM", "LOL", "OK", "OMG", "OOO", "PM", "PR", "PTO", "Q&A", "TBD", "TIL", "TL", "DR", "TODO",
    "UK", "US", "USA", "WFH", "WIP",
];

/// Projects, systems and channels found in a set of texts (people are resolved separately, from
/// the known names).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    pub people: Vec<String>,
    pub projects: Vec<String>,
    pub systems: Vec<String>,
    pub channels: Vec<String>,
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    let value = value.trim();
    if !value.is_empty() && !list.iter().any(|v| v.eq_ignore_ascii_case(value)) {
        list.push(value.to_string());
    }
}

/// Names @-mentioned in a text (`@bob`, `@Bob Smith` is read as `Bob` unless the full name is
/// known, see [`people_in`]).
pub fn mentions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for c in MENTION.captures_iter(text) {
        // Skip e-mail addresses: an @ preceded by a word character.
        let start = c.get(0).map(|m| m.start()).unwrap_or(0);
        if text[..start]
            .chars()
            .last()
            .is_some_and(char::is_alphanumeric)
        {
            continue;
        }
        push_unique(&mut out, &c[1]);
    }
    out
}

/// `#channels` named in a text.
pub fn channels(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for c in CHANNEL.captures_iter(text) {
        push_unique(&mut out, &c[1]);
    }
    out
}

/// Known people (e.g. authors and directory names) named in a text, by any of their names, plus
/// anyone @-mentioned. Matching is whole-word and case-insensitive; a known full name ("Bob
/// Smith") is preferred to its parts.
pub fn people_in(text: &str, known: &[String]) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut out = Vec::new();
    for name in known {
        if contains_word(&lower, &name.to_lowercase()) {
            push_unique(&mut out, name);
        }
    }
    for m in mentions(text) {
        let already = out.iter().any(|p: &String| {
            p.eq_ignore_ascii_case(&m)
                || p.to_lowercase()
                    .starts_with(&format!("{} ", m.to_lowercase()))
        });
        if !already {
            push_unique(&mut out, &m);
        }
    }
    out
}

/// Whole-word containment on lower-cased text.
pub fn contains_word(haystack_lower: &str, needle_lower: &str) -> bool {
    find_word(haystack_lower, needle_lower).is_some()
}

/// Byte offset of the first whole-word occurrence.
pub fn find_word(haystack: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    let mut from = 0;
    while let Some(pos) = haystack[from..].find(needle) {
        let start = from + pos;
        let end = start + needle.len();
        let before_ok = !haystack[..start]
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        let after_ok = !haystack[end..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if before_ok && after_ok {
            return Some(start);
        }
        from = start + needle.chars().next().map_or(1, char::len_utf8);
    }
    None
}

fn is_system_shaped(word: &str) -> bool {
    let lower = word.to_lowercase();
    if SYSTEM_LEXICON.contains(&lower.as_str()) {
        return true;
    }
    if NOT_SYSTEMS.contains(&word) {
        return false;
    }
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    let digits = word.chars().filter(|c| c.is_ascii_digit()).count();
    let camel = word
        .chars()
        .zip(word.chars().skip(1))
        .any(|(a, b)| a.is_lowercase() && b.is_uppercase());
    let acronym =
        (2..=6).contains(&letters) && word.chars().all(|c| c.is_uppercase() || c.is_ascii_digit());
    let alnum = letters >= 1 && digits >= 1 && !word.chars().all(|c| c.is_ascii_digit());
    camel || acronym || alnum
}

/// Projects, systems and channels in a set of texts. `known_people` are excluded from projects;
/// `channel_name` lets a `project-lavender` channel name its project.
pub fn extract(texts: &[&str], known_people: &[String], channel_name: Option<&str>) -> Found {
    let mut found = Found::default();
    let people_words: Vec<String> = known_people
        .iter()
        .flat_map(|p| {
            p.split_whitespace()
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
        })
        .collect();
    if let Some(project) = channel_name.and_then(project_of_channel) {
        push_unique(&mut found.projects, &project);
    }
    let mut capitalised: Vec<(String, usize)> = Vec::new();
    for raw in texts {
        let cleaned = text::clean(raw);
        for p in people_in(&cleaned, known_people) {
            push_unique(&mut found.people, &p);
        }
        for c in channels(&cleaned) {
            push_unique(&mut found.channels, &c);
        }
        for c in PROJECT.captures_iter(&cleaned) {
            let name = c
                .get(1)
                .or_else(|| c.get(2))
                .map(|m| m.as_str())
                .unwrap_or_default();
            let lower = name.to_lowercase();
            if !is_stop_word(&lower)
                && !matches!(
                    lower.as_str(),
                    "meeting" | "manager" | "plan" | "management" | "board" | "team"
                )
            {
                push_unique(&mut found.projects, &capitalise(name));
            }
        }
        let no_urls = text::strip_urls(&cleaned);
        for sentence in text::sentences(&no_urls) {
            let mut run: Vec<&str> = Vec::new();
            let words = text::words(&sentence);
            let mentioned: Vec<String> = mentions(&sentence)
                .iter()
                .map(|m| m.to_lowercase())
                .collect();
            for (i, word) in words.iter().enumerate() {
                let lower = word.to_lowercase();
                if is_system_shaped(word)
                    && !people_words.contains(&lower)
                    && !mentioned.contains(&lower)
                {
                    push_unique(&mut found.systems, word);
                    if !run.is_empty() {
                        capitalised.push((run.join(" "), run.len()));
                        run.clear();
                    }
                    continue;
                }
                let is_capital = word.chars().next().is_some_and(char::is_uppercase);
                let eligible = is_capital
                    && i != 0
                    && !is_stop_word(&lower)
                    && !is_calendar_word(&lower)
                    && !people_words.contains(&lower)
                    && !mentioned.contains(&lower)
                    && word.chars().count() > 1;
                if eligible {
                    run.push(word);
                } else if !run.is_empty() {
                    capitalised.push((run.join(" "), run.len()));
                    run.clear();
                }
            }
            if !run.is_empty() {
                capitalised.push((run.join(" "), run.len()));
            }
        }
    }
    // A capitalised phrase is a project when it has several words or recurs.
    for (phrase, len) in &capitalised {
        let count = capitalised.iter().filter(|(p, _)| p == phrase).count();
        let already_system = found.systems.iter().any(|s| s.eq_ignore_ascii_case(phrase));
        if (*len >= 2 || count >= 2) && !already_system {
            push_unique(&mut found.projects, phrase);
        }
    }
    found
}

/// `project-lavender`, `proj_lavender`, `lavender-project` → `Lavender`.
pub fn project_of_channel(channel_name: &str) -> Option<String> {
    let name = channel_name.trim_start_matches('#').to_lowercase();
    let rest = name
        .strip_prefix("project-")
        .or_else(|| name.strip_prefix("project_"))
        .or_else(|| name.strip_prefix("proj-"))
        .or_else(|| name.strip_prefix("proj_"))
        .or_else(|| name.strip_suffix("-project"))?;
    (!rest.is_empty()).then(|| {
        rest.split(['-', '_'])
            .map(capitalise)
            .collect::<Vec<_>>()
            .join(" ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn people_are_known_names_and_mentions_only() {
        let known = s(&["Bob", "Alice Martin"]);
        let people = people_in(
            "Alice Martin and @carol discussed it; Bob agreed. Paris is nice",
            &known,
        );
        assert_eq!(people, s(&["Bob", "Alice Martin", "carol"]));
        assert!(mentions("mail me at bob@example.com").is_empty());
    }

    #[test]
    fn systems_projects_and_channels_are_found() {
        let texts = [
            "We moved the Billing Service to Postgres and k8s, see #infra",
            "The Billing Service still talks to MySQL. PR is up, FYI",
            "Project Lavender kickoff is Monday",
        ];
        let found = extract(&texts, &[], Some("project-lavender"));
        assert_eq!(found.projects, s(&["Lavender", "Billing Service"]));
        assert_eq!(found.systems, s(&["Postgres", "k8s", "MySQL"]));
        assert_eq!(found.channels, s(&["infra"]));
    }

    #[test]
    fn whole_words_only() {
        assert!(contains_word("ask bob now", "bob"));
        assert!(!contains_word("bobby tables", "bob"));
        assert_eq!(find_word("bobby and bob", "bob"), Some(10));
    }
}
