//! One pass over a discussion that every discussion-shaped task builds on: its statements (by the
//! clause rules, or given), how central each is, its topics, entities, open questions and urgency.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use super::dates;
use super::entities::{self, Found};
use super::lang::{self, Lang};
use super::rank::{self, Keyphrase};
use super::statements::{self, Modality, Speaker, Statement};
use super::text;
use super::tfidf::{SparseVec, TfIdf};

/// A message as the engine needs it.
#[derive(Clone, Copy, Debug)]
pub struct Utterance<'a> {
    pub author: &'a str,
    pub text: &'a str,
    pub posted_at: i64,
}

/// A statement and the utterances (indices) it comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    pub utterances: Vec<usize>,
    pub statement: Statement,
}

#[derive(Clone, Debug, Default)]
pub struct Settings<'a> {
    pub channel_name: Option<&'a str>,
    pub utc_offset_secs: i32,
    /// People beyond the authors whose names may appear (directory names).
    pub known_people: &'a [String],
    /// How many topics to find.
    pub topics: usize,
}

/// What the engine understood of a discussion.
#[derive(Clone, Debug)]
pub struct Analysis {
    pub lang: Lang,
    pub claims: Vec<Claim>,
    /// Per claim: centrality × modality and length weights.
    pub scores: Vec<f64>,
    pub vectors: Vec<SparseVec>,
    /// Topics with the utterances using them.
    pub topics: Vec<Keyphrase>,
    /// Claims that are questions nobody answered.
    pub open_questions: Vec<usize>,
    pub entities: Found,
    /// Authors in order of first message.
    pub participants: Vec<String>,
    pub urgency: f64,
}

static URGENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(urgent|urgently|asap|critical|outage|incident|emergency|immediately|sev ?[01]|p0|hotfix|production is down|prod is down|on fire)\b").expect("static regex")
});
static DEADLINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(deadline|due|eod|end of (?:the )?day|by (?:today|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday|tonight|noon)|before (?:the )?release)\b").expect("static regex")
});

fn modality_weight(m: Modality) -> f64 {
    match m {
        Modality::Decision => 1.6,
        Modality::Request | Modality::Blocker => 1.35,
        Modality::Plan => 1.15,
        Modality::Question => 1.0,
        Modality::Statement => 1.0,
    }
}

/// The statements of each utterance by the clause rules.
pub fn claims_of(utterances: &[Utterance], settings: &Settings, lang: Lang) -> Vec<Claim> {
    let project = settings.channel_name.and_then(entities::project_of_channel);
    let mut known: Vec<String> = utterances.iter().map(|u| u.author.to_string()).collect();
    known.extend(settings.known_people.iter().cloned());
    known.sort();
    known.dedup();
    let addressees = addressees(utterances, &known);
    let mut claims = Vec::new();
    for (i, u) in utterances.iter().enumerate() {
        let speaker = Speaker {
            addressee: addressees[i].as_deref(),
            author: u.author,
            posted_at: u.posted_at,
            utc_offset_secs: settings.utc_offset_secs,
            project: project.as_deref(),
            lang: lang::detect(u.text).unwrap_or(lang),
            known_people: &known,
        };
        for statement in statements::statements(u.text, &speaker) {
            claims.push(Claim {
                utterances: vec![i],
                statement,
            });
        }
    }
    claims
}

/// Whom each utterance speaks to. A message that opens with `@Name` speaks to Name; chat
/// continues an exchange, so the same author's next lines (within five minutes) speak to the
/// same person, and an answer to a line addressed to its author (within fifteen minutes) speaks
/// back to who wrote that line. Anything else speaks to no one in particular.
pub fn addressees(utterances: &[Utterance], known: &[String]) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> = Vec::with_capacity(utterances.len());
    for (i, u) in utterances.iter().enumerate() {
        let explicit = statements::addressee_of(u.text, known);
        let inherited = || {
            let previous = i.checked_sub(1)?;
            let p = &utterances[previous];
            let to = out[previous].as_deref()?;
            let gap = u.posted_at - p.posted_at;
            if p.author == u.author && gap <= 300 {
                Some(to.to_string())
            } else if p.author != u.author && gap <= 900 && to.eq_ignore_ascii_case(u.author) {
                Some(p.author.to_string())
            } else {
                None
            }
        };
        let to = explicit.or_else(inherited);
        out.push(to.filter(|t| !t.eq_ignore_ascii_case(u.author)));
    }
    out
}

/// Analyses a discussion; `given` claims (e.g. propositions a model extracted) replace the rules.
pub fn analyse(
    utterances: &[Utterance],
    settings: &Settings,
    given: Option<Vec<Claim>>,
) -> Analysis {
    let lang = lang::detect_many(utterances.iter().map(|u| u.text));
    let mut participants: Vec<String> = Vec::new();
    for u in utterances {
        if !participants.iter().any(|p| p == u.author) {
            participants.push(u.author.to_string());
        }
    }
    let mut known: Vec<String> = participants.clone();
    known.extend(settings.known_people.iter().cloned());

    let claims = given.unwrap_or_else(|| claims_of(utterances, settings, lang));
    // Names are in every attributed statement ("Ann said: …"): they say who, not what.
    let name_terms: BTreeSet<String> = known.iter().flat_map(|k| text::terms(k, lang)).collect();
    let docs: Vec<Vec<String>> = claims
        .iter()
        .map(|c| {
            text::terms(&c.statement.text, lang)
                .into_iter()
                .filter(|t| !name_terms.contains(t))
                .collect()
        })
        .collect();
    let (_, vectors) = TfIdf::vectors(&docs);
    let centrality = rank::centrality(&vectors);

    let texts: Vec<&str> = utterances.iter().map(|u| u.text).collect();
    let mut exclude = known.clone();
    if let Some(c) = settings.channel_name {
        exclude.push(c.to_string());
    }
    let topics = rank::keyphrases(&texts, lang, &exclude, settings.topics.max(1));
    let topic_stems: Vec<Vec<String>> = topics
        .iter()
        .take(3)
        .map(|t| t.key.split(' ').map(str::to_string).collect())
        .collect();

    let scores: Vec<f64> = claims
        .iter()
        .zip(&docs)
        .zip(&centrality)
        .map(|((claim, terms), c)| {
            let length = match terms.len() {
                0 => 0.2,
                1 => 0.6,
                2 => 0.8,
                3..=16 => 1.0,
                17..=24 => 0.8,
                _ => 0.6,
            };
            // The opening message usually states what the discussion is about.
            let opening = if claim.utterances.first() == Some(&0) {
                1.8
            } else {
                1.0
            };
            let topical = topic_stems
                .iter()
                .filter(|stems| stems.iter().all(|s| terms.contains(s)))
                .count() as f64;
            (c + 0.01)
                * modality_weight(claim.statement.modality)
                * length
                * opening
                * (1.0 + 0.05 * terms.len().min(10) as f64)
                * (1.0 + 0.2 * topical)
        })
        .collect();

    let open_questions = open_questions(utterances, &claims, lang);

    let mut entities = entities::extract(&texts, &known, settings.channel_name);
    let mut people = participants.clone();
    for p in std::mem::take(&mut entities.people) {
        if !people.iter().any(|x| x.eq_ignore_ascii_case(&p)) {
            people.push(p);
        }
    }
    entities.people = people;
    if let Some(c) = settings.channel_name
        && !entities.channels.iter().any(|x| x == c)
    {
        entities.channels.insert(0, c.to_string());
    }

    let urgency = urgency(
        utterances,
        &claims,
        open_questions.len(),
        settings.utc_offset_secs,
    );
    Analysis {
        lang,
        claims,
        scores,
        vectors,
        topics,
        open_questions,
        entities,
        participants,
        urgency,
    }
}

impl Analysis {
    /// Up to `k` central, mutually different claims, in the order they were said.
    pub fn central(&self, k: usize) -> Vec<usize> {
        // Reactions ("that's so cool") carry no content: prefer claims with two or more terms.
        let informative: Vec<f64> = self
            .scores
            .iter()
            .zip(&self.vectors)
            .map(|(s, v)| if v.len() >= 2 { *s + 1.0 } else { *s })
            .collect();
        let mut chosen = rank::select_diverse(&informative, &self.vectors, k, 0.5);
        chosen.sort_by_key(|&i| (self.claims[i].utterances.first().copied(), i));
        chosen
    }

    /// Whether a claim says something: a request, decision, blocker, plan or question does; a
    /// statement does when it has a subject and verb of its own, or is a quote ("Ann said: …")
    /// with at least four content words beside its links. "Ann said: on election vis" and a bare
    /// link do not.
    pub fn has_content(&self, claim: usize) -> bool {
        let s = &self.claims[claim].statement;
        let terms = self.vectors[claim].len();
        let quoted = matches!(s.predicate.as_str(), "said" | "told" | ":");
        let words_beside_links = text::words(&text::strip_urls(&s.object))
            .into_iter()
            .filter(|w| !text::is_stop_word(&w.to_lowercase()))
            .count();
        match s.modality {
            Modality::Statement if quoted => words_beside_links >= 4 && terms >= 3,
            Modality::Statement => terms >= 3,
            _ => terms >= 2,
        }
    }

    /// How much a claim's kind says about what happened: a request of someone named first, then
    /// decisions, other requests, blockers, plans (commitments), and plain statements last.
    pub fn weight_of_kind(&self, claim: usize) -> f64 {
        let s = &self.claims[claim].statement;
        let asks_someone = s.predicate.starts_with("asks ")
            && !s.predicate.starts_with("asks to")
            && !s.predicate.starts_with("asks whether")
            && !s.text.contains("asks someone");
        match s.modality {
            Modality::Request if asks_someone => 3.0,
            Modality::Decision => 2.5,
            Modality::Request => 2.0,
            Modality::Blocker => 1.8,
            Modality::Plan => 1.6,
            Modality::Question => 1.1,
            Modality::Statement => 1.0,
        }
    }

    /// Up to `k` claims that say what happened, most telling first: content only (see
    /// [`Analysis::has_content`]), scored by centrality × kind, mutually different.
    pub fn lead(&self, k: usize) -> Vec<usize> {
        let max = self.scores.iter().copied().fold(0.0, f64::max).max(1e-9);
        let scores: Vec<f64> = (0..self.claims.len())
            .map(|i| {
                if self.has_content(i) {
                    // Normalised so the kind weighs as much as the centrality.
                    (0.5 + self.scores[i] / max) * self.weight_of_kind(i)
                } else {
                    -1.0
                }
            })
            .collect();
        let mut chosen = rank::select_diverse(&scores, &self.vectors, k, 0.5);
        chosen.retain(|&i| scores[i] > 0.0);
        chosen.sort_by(|&x, &y| scores[y].total_cmp(&scores[x]).then(x.cmp(&y)));
        chosen
    }

    /// Claims of a modality, in order.
    pub fn with_modality(&self, m: Modality) -> Vec<usize> {
        (0..self.claims.len())
            .filter(|&i| self.claims[i].statement.modality == m)
            .collect()
    }
}

/// A question is answered when someone else replies soon after (next three messages, within an
/// hour) or later reuses its words; otherwise it is open.
fn open_questions(utterances: &[Utterance], claims: &[Claim], lang: Lang) -> Vec<usize> {
    let mut open = Vec::new();
    for (ci, claim) in claims.iter().enumerate() {
        if claim.statement.modality != Modality::Question {
            continue;
        }
        let Some(&u) = claim.utterances.last() else {
            continue;
        };
        let asker = utterances[u].author;
        let asked_at = utterances[u].posted_at;
        let question_terms: BTreeSet<String> = text::terms(&claim.statement.object, lang)
            .into_iter()
            .collect();
        let answered = utterances.iter().enumerate().skip(u + 1).any(|(j, reply)| {
            if reply.author == asker {
                return false;
            }
            let soon = j <= u + 3 && reply.posted_at - asked_at <= 3_600;
            let shares = text::terms(reply.text, lang)
                .iter()
                .any(|t| question_terms.contains(t));
            soon || shares
        });
        if !answered {
            open.push(ci);
        }
    }
    open
}

/// 0..1 from blockers, requests, urgent words, deadlines, dates within two days, mentions and open
/// questions, combined as independent signals (1 − Π(1 − wᵢ)).
pub fn urgency(
    utterances: &[Utterance],
    claims: &[Claim],
    open_questions: usize,
    utc_offset_secs: i32,
) -> f64 {
    let mut signals: Vec<f64> = Vec::new();
    let count = |m: Modality| claims.iter().filter(|c| c.statement.modality == m).count();
    signals.extend(std::iter::repeat_n(0.25, count(Modality::Blocker).min(4)));
    signals.extend(std::iter::repeat_n(0.1, count(Modality::Request).min(4)));
    signals.extend(std::iter::repeat_n(0.05, open_questions.min(3)));
    let last = utterances.iter().map(|u| u.posted_at).max().unwrap_or(0);
    let last_day = dates::local_date(last, utc_offset_secs);
    let mut urgent = 0;
    let mut deadlines = 0;
    let mut soon = 0;
    let mut mentions = 0;
    for u in utterances {
        urgent += URGENT.find_iter(u.text).count();
        deadlines += DEADLINE.find_iter(u.text).count();
        mentions += entities::mentions(&text::clean(u.text)).len();
        soon += dates::find_dates(u.text, u.posted_at, utc_offset_secs)
            .iter()
            .filter(|d| (d.date - last_day).num_days() >= 0 && (d.date - last_day).num_days() <= 2)
            .count();
    }
    signals.extend(std::iter::repeat_n(0.35, urgent.min(3)));
    signals.extend(std::iter::repeat_n(0.2, deadlines.min(3)));
    signals.extend(std::iter::repeat_n(0.15, soon.min(3)));
    signals.extend(std::iter::repeat_n(0.04, mentions.min(4)));
    let calm: f64 = signals.iter().map(|w| 1.0 - w).product();
    ((1.0 - calm) * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u<'a>(author: &'a str, text: &'a str, at: i64) -> Utterance<'a> {
        Utterance {
            author,
            text,
            posted_at: at,
        }
    }

    #[test]
    fn unanswered_questions_stay_open_and_urgency_follows_blockers() {
        let t = 1_714_557_600;
        let calm = [
            u("Ann", "Who has the venue contract for the meetup?", t),
            u("Ben", "I have it, will share the venue contract", t + 60),
            u("Ann", "Do we know the sponsor budget for pizza?", t + 7_200),
            u("Ann", "The agenda is on the wiki", t + 9_000),
        ];
        let a = analyse(
            &calm,
            &Settings {
                topics: 5,
                ..Settings::default()
            },
            None,
        );
        let open: Vec<&str> = a
            .open_questions
            .iter()
            .map(|&i| a.claims[i].statement.text.as_str())
            .collect();
        assert_eq!(open, ["Ann asks: Do we know the sponsor budget for pizza?"]);
        assert!(a.urgency < 0.3, "{}", a.urgency);

        let hot = [
            u(
                "Ann",
                "Production is down, checkout is failing for everyone",
                t,
            ),
            u(
                "Ben",
                "I'm blocked on the DB credentials, can you send them asap?",
                t + 60,
            ),
            u("Ann", "We need a hotfix by EOD", t + 120),
        ];
        let h = analyse(
            &hot,
            &Settings {
                topics: 5,
                ..Settings::default()
            },
            None,
        );
        assert!(h.urgency > 0.8, "{}", h.urgency);
        assert_eq!(h.participants, ["Ann", "Ben"]);
    }
}
