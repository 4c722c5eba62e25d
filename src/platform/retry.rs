//! Retry policy shared by everything that tries work again — the job queue, durable runs, the
//! model gateway: how long to wait before the next try, and how a failure says whether a next try
//! can help.

use std::time::Duration;

use rand::Rng;

/// Delay before retry number `attempt` (1 = after the first failure): exponential from `base`,
/// capped at `cap`, with "equal jitter" — a uniform pick in `[d/2, d]` — so that work failing
/// together (a model outage) does not all come back at the same second.
pub fn backoff(attempt: i32, base: Duration, cap: Duration) -> Duration {
    let exp = attempt.clamp(1, 30) as u32 - 1;
    let full = base.saturating_mul(2u32.saturating_pow(exp)).min(cap);
    let half = full / 2;
    let jitter_ns = rand::rng().random_range(0..=half.as_nanos().min(u64::MAX as u128) as u64);
    half + Duration::from_nanos(jitter_ns)
}

/// The message a caught panic carried, for the failure it is recorded as.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// A failure that knows whether trying again can help. Each feature's error type implements it;
/// the inbox and the job queue read it to retry with back-off or to park the work for inspection.
pub trait Retryable: std::error::Error + Send + Sync + 'static {
    /// Whether a later try can succeed (a database, Slack or model outage), as opposed to a
    /// failure that will repeat (bad input, a bug caught as an error).
    fn is_transient(&self) -> bool;
    /// How long to wait before the next try, when the failure says (a 429's `Retry-After`).
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

/// An error and its sources, outermost first, joined by `: ` — how a failure is logged and
/// recorded (an inbox item's or a job's last error), so the cause at the bottom of the chain (the
/// refused connection, the Slack error code) is never cut off by a wrapper's one-line summary.
/// Wrappers therefore name their step (`views.publish`) and leave the cause to `#[source]`.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[derive(Debug, thiserror::Error)]
    #[error("views.publish")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_chain_reads_from_the_step_down_to_the_cause() {
        let e = Outer(std::io::Error::other("connection refused"));
        assert_eq!(Chain(&e).to_string(), "views.publish: connection refused");
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let base = Duration::from_secs(10);
        let cap = Duration::from_secs(3600);
        for _ in 0..200 {
            let first = backoff(1, base, cap);
            assert!(
                first >= Duration::from_secs(5) && first <= base,
                "{first:?}"
            );
            let third = backoff(3, base, cap);
            assert!(third >= Duration::from_secs(20) && third <= Duration::from_secs(40));
            let late = backoff(30, base, cap);
            assert!(late >= cap / 2 && late <= cap);
        }
        let picks: HashSet<_> = (0..50).map(|_| backoff(4, base, cap)).collect();
        assert!(picks.len() > 1, "back-off is jittered");
    }
}
