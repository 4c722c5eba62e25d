//! TF-IDF vectors and cosine similarity: the engine's measure of "these texts are about the same
//! thing", used for sentence centrality, redundancy removal and cross-channel topic grouping.
//! Small and exact enough to keep here: the documents are a day of chat, not a search index.

use std::collections::{BTreeMap, HashMap};

/// A sparse, L2-normalised term vector.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SparseVec(BTreeMap<String, f64>);

impl SparseVec {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of distinct terms.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Terms by descending weight.
    pub fn top_terms(&self, n: usize) -> Vec<(&str, f64)> {
        let mut terms: Vec<(&str, f64)> = self.0.iter().map(|(t, w)| (t.as_str(), *w)).collect();
        terms.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        terms.truncate(n);
        terms
    }

    /// Cosine similarity in `0..=1` (vectors are normalised, weights non-negative).
    pub fn cosine(&self, other: &SparseVec) -> f64 {
        let (small, large) = if self.0.len() <= other.0.len() {
            (self, other)
        } else {
            (other, self)
        };
        small
            .0
            .iter()
            .filter_map(|(t, w)| large.0.get(t).map(|v| w * v))
            .sum::<f64>()
            .clamp(0.0, 1.0)
    }

    /// The normalised sum of several vectors: a centroid, e.g. of a summary's sentences.
    pub fn centroid<'a>(vectors: impl IntoIterator<Item = &'a SparseVec>) -> SparseVec {
        let mut sum: BTreeMap<String, f64> = BTreeMap::new();
        for v in vectors {
            for (t, w) in &v.0 {
                *sum.entry(t.clone()).or_default() += w;
            }
        }
        normalise(sum)
    }
}

fn normalise(mut weights: BTreeMap<String, f64>) -> SparseVec {
    let norm = weights.values().map(|w| w * w).sum::<f64>().sqrt();
    if norm > 0.0 {
        weights.values_mut().for_each(|w| *w /= norm);
    } else {
        weights.clear();
    }
    SparseVec(weights)
}

/// Inverse document frequencies fitted on a set of documents (each a list of terms).
#[derive(Clone, Debug, Default)]
pub struct TfIdf {
    idf: HashMap<String, f64>,
    docs: usize,
}

impl TfIdf {
    pub fn fit<S: AsRef<str>>(docs: &[Vec<S>]) -> TfIdf {
        let mut df: HashMap<String, usize> = HashMap::new();
        for doc in docs {
            let mut seen: Vec<&str> = doc.iter().map(AsRef::as_ref).collect();
            seen.sort_unstable();
            seen.dedup();
            for term in seen {
                *df.entry(term.to_string()).or_default() += 1;
            }
        }
        let n = docs.len() as f64;
        let idf = df
            .into_iter()
            .map(|(t, d)| (t, ((1.0 + n) / (1.0 + d as f64)).ln() + 1.0))
            .collect();
        TfIdf {
            idf,
            docs: docs.len(),
        }
    }

    pub fn documents(&self) -> usize {
        self.docs
    }

    /// Smoothed IDF; a term never seen counts as rare.
    pub fn idf(&self, term: &str) -> f64 {
        self.idf
            .get(term)
            .copied()
            .unwrap_or_else(|| (1.0 + self.docs as f64).ln() + 1.0)
    }

    /// Sub-linear TF × IDF, normalised.
    pub fn vector<S: AsRef<str>>(&self, terms: &[S]) -> SparseVec {
        let mut tf: BTreeMap<String, f64> = BTreeMap::new();
        for t in terms {
            *tf.entry(t.as_ref().to_string()).or_default() += 1.0;
        }
        let weights = tf
            .into_iter()
            .map(|(t, f)| {
                let w = (1.0 + f.ln()) * self.idf(&t);
                (t, w)
            })
            .collect();
        normalise(weights)
    }

    /// Fits on the documents and vectorises each of them.
    pub fn vectors<S: AsRef<str>>(docs: &[Vec<S>]) -> (TfIdf, Vec<SparseVec>) {
        let model = TfIdf::fit(docs);
        let vectors = docs.iter().map(|d| model.vector(d)).collect();
        (model, vectors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn shared_rare_terms_make_documents_similar() {
        let docs = vec![
            doc("postgres migration failed"),
            doc("postgres migration rollback"),
            doc("lunch menu friday"),
        ];
        let (_, v) = TfIdf::vectors(&docs);
        assert!(v[0].cosine(&v[1]) > 0.3);
        assert_eq!(v[0].cosine(&v[2]), 0.0);
        assert!((v[0].cosine(&v[0]) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn empty_documents_have_empty_vectors() {
        let (_, v) = TfIdf::vectors(&[Vec::<String>::new()]);
        assert!(v[0].is_empty());
        assert_eq!(v[0].cosine(&v[0]), 0.0);
    }
}
