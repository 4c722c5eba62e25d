//! Conversation metrics of Kummerfeld et al. (ACL 2019), as their `conversation-eval.py` computes
//! them: scaled variation of information, one-to-one overlap and exact-match precision/recall/F1.
//!
//! Scores are pooled over samples, as the corpus's script does when given a whole split: every
//! sample's conversations go in one contingency table (conversations of different samples never
//! overlap). All values are fractions in [0, 1]; tables print them as percentages.

use std::collections::HashMap;

use pathfinding::kuhn_munkres::kuhn_munkres;
use pathfinding::matrix::Matrix;
use serde::{Deserialize, Serialize};

/// One sample's gold and predicted conversations over the same messages (any item numbering).
#[derive(Clone, Debug, Default)]
pub struct SampleClusters {
    pub gold: Vec<Vec<usize>>,
    pub predicted: Vec<Vec<usize>>,
}

/// Conversation-level scores of a clustering against gold.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConversationScores {
    /// 1 − VI / log n (1 = identical clusterings).
    pub scaled_vi: f64,
    /// Share of messages kept when conversations are optimally paired one to one.
    pub one_to_one: f64,
    /// Exact-match precision over predicted conversations of two or more messages.
    pub precision: f64,
    /// Exact-match recall over gold conversations of two or more messages.
    pub recall: f64,
    pub f1: f64,
    /// Messages scored.
    pub messages: usize,
    pub gold_conversations: usize,
    pub predicted_conversations: usize,
}

/// Scores predicted conversations against gold, pooled over samples.
///
/// Gold defines the items: predicted items absent from gold are ignored, and gold items missing
/// from the prediction count as predicted singletons.
pub fn score(samples: &[SampleClusters]) -> ConversationScores {
    let mut cells: Vec<f64> = Vec::new();
    let mut gold_sizes: Vec<f64> = Vec::new();
    let mut predicted_sizes: Vec<f64> = Vec::new();
    let mut matched_overlap = 0i64;
    let (mut exact, mut gold_multi, mut predicted_multi) = (0usize, 0usize, 0usize);
    let mut total = 0usize;
    let mut gold_count = 0;
    let mut predicted_count = 0;

    for sample in samples {
        let predicted = restrict_to_gold(sample);
        let gold = &sample.gold;
        gold_count += gold.len();
        predicted_count += predicted.len();
        let mut gold_of: HashMap<usize, usize> = HashMap::new();
        for (g, cluster) in gold.iter().enumerate() {
            for &item in cluster {
                gold_of.insert(item, g);
            }
            gold_sizes.push(cluster.len() as f64);
            total += cluster.len();
        }
        // Contingency table rows: predicted conversations; columns: gold conversations.
        let mut table: Vec<HashMap<usize, i64>> = Vec::with_capacity(predicted.len());
        for cluster in &predicted {
            predicted_sizes.push(cluster.len() as f64);
            let mut row: HashMap<usize, i64> = HashMap::new();
            for item in cluster {
                if let Some(&g) = gold_of.get(item) {
                    *row.entry(g).or_default() += 1;
                }
            }
            cells.extend(row.values().map(|&v| v as f64));
            table.push(row);
        }
        matched_overlap += one_to_one_overlap(&table, gold.len());

        let predicted_sets: std::collections::HashSet<Vec<usize>> =
            predicted.iter().map(|c| sorted(c)).collect();
        for cluster in gold.iter().filter(|c| c.len() > 1) {
            gold_multi += 1;
            if predicted_sets.contains(&sorted(cluster)) {
                exact += 1;
            }
        }
        predicted_multi += predicted.iter().filter(|c| c.len() > 1).count();
    }

    let n = total as f64;
    let entropy = |counts: &[f64]| -> f64 {
        counts
            .iter()
            .filter(|&&c| c > 0.0)
            .map(|&c| -(c / n) * (c / n).ln())
            .sum()
    };
    let scaled_vi = if total > 1 {
        let vi = 2.0 * entropy(&cells) - entropy(&gold_sizes) - entropy(&predicted_sizes);
        1.0 - vi.max(0.0) / n.ln()
    } else {
        1.0
    };
    let precision = ratio(exact, predicted_multi);
    let recall = ratio(exact, gold_multi);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    ConversationScores {
        scaled_vi,
        one_to_one: if total > 0 {
            matched_overlap as f64 / n
        } else {
            1.0
        },
        precision,
        recall,
        f1,
        messages: total,
        gold_conversations: gold_count,
        predicted_conversations: predicted_count,
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn sorted(cluster: &[usize]) -> Vec<usize> {
    let mut c = cluster.to_vec();
    c.sort_unstable();
    c
}

/// Predicted conversations over exactly the gold items (missing gold items become singletons).
fn restrict_to_gold(sample: &SampleClusters) -> Vec<Vec<usize>> {
    let gold_items: std::collections::HashSet<usize> =
        sample.gold.iter().flatten().copied().collect();
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<Vec<usize>> = sample
        .predicted
        .iter()
        .map(|c| {
            c.iter()
                .copied()
                .filter(|i| gold_items.contains(i) && seen.insert(*i))
                .collect::<Vec<_>>()
        })
        .filter(|c| !c.is_empty())
        .collect();
    let mut missing: Vec<usize> = gold_items.difference(&seen).copied().collect();
    missing.sort_unstable();
    out.extend(missing.into_iter().map(|i| vec![i]));
    out
}

/// Largest total overlap of a one-to-one pairing of predicted (rows) and gold (columns)
/// conversations: the assignment problem, solved with the Hungarian algorithm.
fn one_to_one_overlap(table: &[HashMap<usize, i64>], gold_len: usize) -> i64 {
    let rows = table.len();
    if rows == 0 || gold_len == 0 {
        return 0;
    }
    // kuhn_munkres needs rows ≤ columns: transpose when there are more predicted conversations.
    let transpose = rows > gold_len;
    let (r, c) = if transpose {
        (gold_len, rows)
    } else {
        (rows, gold_len)
    };
    let mut weights = Matrix::new(r, c, 0i64);
    for (p, row) in table.iter().enumerate() {
        for (&g, &count) in row {
            if transpose {
                weights[(g, p)] = count;
            } else {
                weights[(p, g)] = count;
            }
        }
    }
    kuhn_munkres(&weights).0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(gold: Vec<Vec<usize>>, predicted: Vec<Vec<usize>>) -> ConversationScores {
        score(&[SampleClusters { gold, predicted }])
    }

    #[test]
    fn identical_clusterings_score_perfectly() {
        let c = vec![vec![1, 2, 3], vec![4, 5], vec![6]];
        let s = one(c.clone(), c);
        assert!((s.scaled_vi - 1.0).abs() < 1e-12);
        assert!((s.one_to_one - 1.0).abs() < 1e-12);
        assert_eq!((s.precision, s.recall, s.f1), (1.0, 1.0, 1.0));
        assert_eq!(s.messages, 6);
    }

    #[test]
    fn everything_in_one_conversation_against_all_singletons() {
        // Gold: four singletons. Predicted: one conversation. VI = log 4, so scaled VI = 0.
        let s = one(
            vec![vec![1], vec![2], vec![3], vec![4]],
            vec![vec![1, 2, 3, 4]],
        );
        assert!(s.scaled_vi.abs() < 1e-12);
        assert!((s.one_to_one - 0.25).abs() < 1e-12);
        // Singleton gold conversations are not counted; the one predicted conversation is wrong.
        assert_eq!((s.precision, s.recall, s.f1), (0.0, 0.0, 0.0));
    }

    #[test]
    fn a_known_small_example() {
        // Gold {1,2,3},{4,5,6}; predicted {1,2},{3,4,5,6}.
        let s = one(
            vec![vec![1, 2, 3], vec![4, 5, 6]],
            vec![vec![1, 2], vec![3, 4, 5, 6]],
        );
        // Best pairing: {1,2}↔{1,2,3} (2) and {3,4,5,6}↔{4,5,6} (3) → 5/6.
        assert!((s.one_to_one - 5.0 / 6.0).abs() < 1e-12);
        // H(U|V)+H(V|U) computed by hand: cells 2,1,3 of 6.
        let h = |p: f64| -p * p.ln();
        let joint = h(2.0 / 6.0) + h(1.0 / 6.0) + h(3.0 / 6.0);
        let gold = 2.0 * h(0.5);
        let pred = h(2.0 / 6.0) + h(4.0 / 6.0);
        let vi = 2.0 * joint - gold - pred;
        assert!((s.scaled_vi - (1.0 - vi / 6f64.ln())).abs() < 1e-12);
        assert_eq!((s.precision, s.recall), (0.0, 0.0));
    }

    #[test]
    fn exact_matches_count_only_conversations_of_two_or_more() {
        let s = one(
            vec![vec![1, 2], vec![3, 4], vec![5]],
            vec![vec![1, 2], vec![3], vec![4], vec![5]],
        );
        assert_eq!(s.precision, 1.0);
        assert_eq!(s.recall, 0.5);
        assert!((s.f1 - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn more_predicted_than_gold_conversations_and_missing_items() {
        // Item 3 is missing from the prediction (a singleton), item 9 is not in gold (ignored).
        let s = one(vec![vec![1, 2, 3]], vec![vec![1], vec![2, 9]]);
        assert_eq!(s.messages, 3);
        assert!((s.one_to_one - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.predicted_conversations, 3);
    }

    #[test]
    fn samples_are_pooled() {
        let a = SampleClusters {
            gold: vec![vec![1, 2]],
            predicted: vec![vec![1, 2]],
        };
        let b = SampleClusters {
            gold: vec![vec![1], vec![2]],
            predicted: vec![vec![1, 2]],
        };
        let s = score(&[a, b]);
        assert_eq!(s.messages, 4);
        assert!((s.one_to_one - 0.75).abs() < 1e-12);
        assert_eq!((s.precision, s.recall), (0.5, 1.0));
    }
}
