//! Sizing model inputs: an approximate token count and splitting lists into batches by count or by
//! token budget. Used by callers that run a task once per batch through the gateway and merge the
//! results, so that a long input is chunked, never silently truncated.

/// Approximate model tokens of a text: about four characters per token for Latin-script text,
/// rounded up, plus one for separators. Cheap and tokenizer-independent; budgets keep a margin.
pub fn approx_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4) + 1
}

/// Splits `items` into consecutive batches of at most `size` (a size of 0 counts as 1).
pub fn batch_by_count<T>(items: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let size = size.max(1);
    let mut batches = Vec::new();
    let mut current = Vec::with_capacity(size.min(items.len()));
    for item in items {
        current.push(item);
        if current.len() == size {
            batches.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// Splits `items` into consecutive chunks whose summed `measure` stays within `limit`. Order is
/// kept and nothing is dropped: an item larger than the limit on its own becomes a chunk of one
/// (the caller decides how to shorten it, visibly).
pub fn chunk_by_tokens<T>(
    items: Vec<T>,
    limit: usize,
    measure: impl Fn(&T) -> usize,
) -> Vec<Vec<T>> {
    let mut chunks = Vec::new();
    let mut current = Vec::new();
    let mut used = 0usize;
    for item in items {
        let size = measure(&item);
        if !current.is_empty() && used + size > limit {
            chunks.push(std::mem::take(&mut current));
            used = 0;
        }
        used += size;
        current.push(item);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_by_count_keep_order_and_everything() {
        let b = batch_by_count((1..=7).collect(), 3);
        assert_eq!(b, vec![vec![1, 2, 3], vec![4, 5, 6], vec![7]]);
        assert_eq!(batch_by_count(vec![1, 2], 0), vec![vec![1], vec![2]]);
        assert!(batch_by_count(Vec::<u8>::new(), 3).is_empty());
    }

    #[test]
    fn chunks_respect_the_budget_and_never_drop_an_oversized_item() {
        let words = vec!["aaaa", "bb", "cccccccccccc", "d", "e"];
        let chunks = chunk_by_tokens(words, 6, |w| w.len());
        assert_eq!(
            chunks,
            vec![vec!["aaaa", "bb"], vec!["cccccccccccc"], vec!["d", "e"]]
        );
    }

    #[test]
    fn token_estimate_grows_with_text() {
        assert_eq!(approx_tokens(""), 1);
        assert_eq!(approx_tokens("abcd"), 2);
        assert!(approx_tokens(&"x".repeat(4_000)) > 1_000);
    }
}
