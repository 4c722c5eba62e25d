//! Choosing what matters in a set of texts: sentence centrality (degree centrality over TF-IDF
//! cosine, the LexRank idea without the power iteration, which changes little on chat-sized
//! inputs), redundancy-aware selection, and keyphrases (RAKE-style candidate phrases scored by how
//! many different messages use them).

use std::collections::HashMap;

use super::lang::Lang;
use super::text::{self, is_calendar_word, is_stop_word};
use super::tfidf::SparseVec;

/// Each item's mean similarity to all others: sentences that share vocabulary with many others
/// state what the discussion is about.
pub fn centrality(vectors: &[SparseVec]) -> Vec<f64> {
    let n = vectors.len();
    if n <= 1 {
        return vec![1.0; n];
    }
    let mut scores = vec![0.0; n];
    for i in 0..n {
        for j in (i + 1)..n {
            let s = vectors[i].cosine(&vectors[j]);
            if s >= 0.05 {
                scores[i] += s;
                scores[j] += s;
            }
        }
    }
    scores.iter().map(|s| s / (n - 1) as f64).collect()
}

/// Indices of up to `k` items by descending score, skipping any too similar (`> max_similarity`)
/// to one already chosen, so two phrasings of the same point do not both make the cut.
pub fn select_diverse(
    scores: &[f64],
    vectors: &[SparseVec],
    k: usize,
    max_similarity: f64,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut chosen: Vec<usize> = Vec::new();
    for i in order {
        if chosen.len() >= k {
            break;
        }
        let redundant = chosen
            .iter()
            .any(|&c| vectors[c].cosine(&vectors[i]) > max_similarity);
        if !redundant {
            chosen.push(i);
        }
    }
    chosen
}

const DETERMINERS: &[&str] = &[
    "the", "a", "an", "this", "that", "these", "those", "my", "our", "your", "their", "his", "her",
    "its", "some", "any", "each", "every", "no", "le", "la", "les", "un", "une", "der", "die",
    "das", "ein", "eine", "el", "los", "las", "una",
];

/// A topic phrase found in a set of documents.
#[derive(Clone, Debug, PartialEq)]
pub struct Keyphrase {
    /// The most frequent surface form (`Data Jam`, `choropleth maps`).
    pub phrase: String,
    /// Stemmed, lower-case key used to compare phrases.
    pub key: String,
    pub score: f64,
    /// Indices of the documents using the phrase, ascending.
    pub docs: Vec<usize>,
}

#[derive(Default)]
struct Candidate {
    docs: Vec<usize>,
    surfaces: HashMap<String, usize>,
    capitalised: usize,
    occurrences: usize,
    first: usize,
    words: usize,
}

/// Up to `k` keyphrases of the documents (e.g. the messages of a discussion). `exclude` holds
/// words that must not become topics (people's names, the channel's own name).
pub fn keyphrases(docs: &[&str], lang: Lang, exclude: &[String], k: usize) -> Vec<Keyphrase> {
    let stemmer = lang.stemmer();
    let excluded: Vec<String> = exclude
        .iter()
        .flat_map(|e| e.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut candidates: HashMap<String, Candidate> = HashMap::new();
    let mut noun_evidence: HashMap<String, usize> = HashMap::new();
    let mut order = 0usize;
    for (doc_index, doc) in docs.iter().enumerate() {
        let stripped = text::strip_urls(&text::clean(doc));
        for fragment in stripped.split(|c: char| ",;:()[]{}!?\"“”.\n/|•*_`<>=".contains(c)) {
            let mut run: Vec<&str> = Vec::new();
            let mut runs: Vec<Vec<&str>> = Vec::new();
            let mut previous = String::new();
            for word in text::words(fragment) {
                let word = word
                    .strip_suffix("'s")
                    .or_else(|| word.strip_suffix("’s"))
                    .unwrap_or(word);
                let lower = word.to_lowercase();
                // A determiner before a word is evidence that it is a noun, i.e. a topic.
                if DETERMINERS.contains(&previous.as_str()) {
                    *noun_evidence.entry(lower.clone()).or_default() += 1;
                }
                previous = lower.clone();
                let breaks = lower.chars().count() < 2
                    || is_stop_word(&lower)
                    || is_calendar_word(&lower)
                    || !lower.chars().any(char::is_alphabetic)
                    || excluded.contains(&lower);
                if breaks {
                    if !run.is_empty() {
                        runs.push(std::mem::take(&mut run));
                    }
                } else {
                    run.push(word);
                }
            }
            if !run.is_empty() {
                runs.push(run);
            }
            for run in runs {
                for n in 1..=3.min(run.len()) {
                    for gram in run.windows(n) {
                        let key = gram
                            .iter()
                            .map(|w| stemmer.stem(&w.to_lowercase()).into_owned())
                            .collect::<Vec<_>>()
                            .join(" ");
                        let surface = gram.join(" ");
                        let c = candidates.entry(key).or_insert_with(|| Candidate {
                            first: order,
                            words: n,
                            ..Candidate::default()
                        });
                        order += 1;
                        if c.docs.last() != Some(&doc_index) {
                            c.docs.push(doc_index);
                        }
                        c.occurrences += 1;
                        if gram
                            .iter()
                            .all(|w| w.chars().next().is_some_and(char::is_uppercase))
                        {
                            c.capitalised += 1;
                        }
                        *c.surfaces.entry(surface).or_default() += 1;
                    }
                }
            }
        }
    }
    let mut scored: Vec<(String, Candidate, f64)> = candidates
        .into_iter()
        .filter(|(_, c)| c.words == 1 || c.docs.len() >= 2)
        // A lone lower-case past participle ("attended") is an action, never a topic.
        .filter(|(_, c)| {
            let verb_like = c.words == 1
                && c.capitalised == 0
                && c.surfaces
                    .keys()
                    .all(|s| s.ends_with("ed") && !s.ends_with("eed"))
                && !c
                    .surfaces
                    .keys()
                    .any(|s| noun_evidence.contains_key(&s.to_lowercase()));
            !verb_like
        })
        .map(|(key, c)| {
            let df = c.docs.len() as f64;
            let capital_share = c.capitalised as f64 / c.occurrences.max(1) as f64;
            let short_penalty = if key.chars().count() <= 3 && capital_share < 0.5 {
                0.5
            } else {
                1.0
            };
            // A lone lower-case word never seen after a determiner ("mind", "explore") is
            // rarely a topic; one seen as "the package" usually is.
            let noun_factor = if c.words == 1 && capital_share < 0.5 {
                let seen_as_noun = c
                    .surfaces
                    .keys()
                    .any(|s| noun_evidence.get(&s.to_lowercase()).copied().unwrap_or(0) > 0);
                if seen_as_noun { 1.2 } else { 0.5 }
            } else {
                1.0
            };
            // A lone past-tense verb ("updated") is an action, not a topic.
            let verb_penalty = if c.words == 1
                && capital_share < 0.5
                && c.surfaces
                    .keys()
                    .all(|s| s.ends_with("ed") && !s.ends_with("eed"))
            {
                0.4
            } else {
                1.0
            };
            let score = df
                * (1.0 + 0.6 * (c.words as f64 - 1.0))
                * (1.0 + 0.5 * capital_share)
                * short_penalty
                * verb_penalty
                * noun_factor;
            (key, c, score)
        })
        .collect();
    scored.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.1.first.cmp(&b.1.first)));

    let mut chosen: Vec<Keyphrase> = Vec::new();
    for (key, c, score) in scored {
        if chosen.len() >= k {
            break;
        }
        let words: Vec<&str> = key.split(' ').collect();
        let overlaps = chosen.iter().any(|p| {
            let chosen_words: Vec<&str> = p.key.split(' ').collect();
            words.iter().all(|w| chosen_words.contains(w))
                || chosen_words.iter().all(|w| words.contains(w))
        });
        if overlaps {
            continue;
        }
        let mut surfaces: Vec<(String, usize)> = c.surfaces.into_iter().collect();
        surfaces.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let phrase = surfaces
            .into_iter()
            .next()
            .map(|(s, _)| s)
            .unwrap_or_default();
        chosen.push(Keyphrase {
            phrase,
            key,
            score,
            docs: c.docs,
        });
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::extractive::text::terms;
    use crate::ai::extractive::tfidf::TfIdf;

    #[test]
    fn the_sentence_sharing_most_vocabulary_is_most_central() {
        let sentences = [
            "The postgres migration failed on staging",
            "I will retry the postgres migration tonight",
            "Staging migration logs show a lock timeout",
            "Anyone up for lunch?",
        ];
        let docs: Vec<Vec<String>> = sentences.iter().map(|s| terms(s, Lang::En)).collect();
        let (_, vectors) = TfIdf::vectors(&docs);
        let scores = centrality(&vectors);
        let best = select_diverse(&scores, &vectors, 1, 0.9);
        assert_eq!(best, [0]);
        assert!(scores[3] < scores[1]);
    }

    #[test]
    fn keyphrases_are_recurring_phrases_across_messages() {
        let docs = [
            "Has anyone tried the Data Jam dataset on hospital charges?",
            "The Data Jam starts Saturday, bring the hospital charges notebook",
            "I pushed choropleth code for the Data Jam",
            "nice choropleth!",
        ];
        let phrases = keyphrases(&docs, Lang::En, &[], 3);
        let names: Vec<&str> = phrases.iter().map(|p| p.phrase.as_str()).collect();
        assert_eq!(names[0], "Data Jam");
        assert!(names.contains(&"hospital charges"), "{names:?}");
        assert_eq!(phrases[0].docs, [0, 1, 2]);
    }

    #[test]
    fn excluded_names_are_not_topics() {
        let docs = ["Micah will present", "Micah has slides"];
        let phrases = keyphrases(&docs, Lang::En, &["Micah".to_string()], 5);
        assert!(phrases.iter().all(|p| p.phrase != "Micah"));
    }
}
