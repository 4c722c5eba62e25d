//! Rate limits per deployment (RPM, TPM) and daily token budgets per team and overall.
//!
//! # Policy
//!
//! * **Quota.** Each deployment has a requests-per-minute and a tokens-per-minute limiter
//!   (`governor`, GCRA). A share of each (`interactive_reserve`, default 20 %) is kept for
//!   interactive calls: background calls must also pass a second pair of limiters sized to the
//!   rest, so a backlog of background work can never take the last of a minute's quota from a user
//!   who is waiting. When no deployment has quota, a call waits (back-pressure) for the earliest
//!   one to free up — at most `interactive_wait_secs` (10 s) or `background_wait_secs` (60 s) and
//!   never past the call's deadline — and then gives up with [`GatewayError::Overloaded`].
//! * **Budget.** Tokens spent per UTC day are summed from the accounting table (so replicas share
//!   one budget), plus the estimates of calls in flight in this process. A background call is
//!   refused once spending would pass `(1 − interactive_reserve)` of a budget; an interactive call
//!   may use the whole budget. A refused call does not wait — a daily budget only refills at
//!   midnight UTC — and the extractive engine answers it instead (or the caller gets
//!   [`GatewayError::BudgetExhausted`]).
//!
//! [`GatewayError::Overloaded`]: super::GatewayError::Overloaded
//! [`GatewayError::BudgetExhausted`]: super::GatewayError::BudgetExhausted

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter};

use super::Priority;

type Limiter = RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    DefaultClock,
    governor::middleware::NoOpMiddleware<<DefaultClock as Clock>::Instant>,
>;

/// Why quota was not granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// Try again after this long.
    Wait(Duration),
    /// The request is larger than the deployment's whole per-minute token quota: it never fits.
    TooLarge,
}

/// RPM and TPM limiters of one deployment, full size for interactive calls and reduced for
/// background ones.
pub struct Quotas {
    clock: DefaultClock,
    rpm: Limiter,
    tpm: Limiter,
    rpm_background: Limiter,
    tpm_background: Limiter,
}

/// `limit` cells per `period`, all of them available at once (a burst of a full period's quota).
fn limiter(limit: u32, period: Duration, clock: &DefaultClock) -> Limiter {
    let n = NonZeroU32::new(limit.max(1)).unwrap_or(NonZeroU32::MIN);
    let quota = Quota::with_period(period / n.get())
        .unwrap_or_else(|| Quota::per_minute(n))
        .allow_burst(n);
    RateLimiter::direct_with_clock(quota, clock.clone())
}

/// The share of a limit background work may use: at least 1 so it is never locked out entirely.
fn background_share(limit: u32, reserve: f64) -> u32 {
    ((f64::from(limit) * (1.0 - reserve.clamp(0.0, 1.0))).floor() as u32).max(1)
}

impl Quotas {
    /// `rpm` requests and `tpm` tokens per `period` (a minute, except in tests).
    pub fn new(rpm: u32, tpm: u32, interactive_reserve: f64, period: Duration) -> Self {
        let clock = DefaultClock::default();
        let share = |limit| background_share(limit, interactive_reserve);
        Quotas {
            rpm: limiter(rpm, period, &clock),
            tpm: limiter(tpm, period, &clock),
            rpm_background: limiter(share(rpm), period, &clock),
            tpm_background: limiter(share(tpm), period, &clock),
            clock,
        }
    }

    /// Takes one request and `tokens` tokens of quota, or says how long to wait. (A check that
    /// passes one limiter and fails the next still spends the first: the waste is at most one
    /// request's worth and keeps the limiters lock-free.)
    pub fn try_acquire(&self, priority: Priority, tokens: u64) -> Result<(), Denied> {
        let tokens =
            NonZeroU32::new(tokens.clamp(1, u64::from(u32::MAX)) as u32).unwrap_or(NonZeroU32::MIN);
        let mut pairs: Vec<(&Limiter, &Limiter)> = Vec::with_capacity(2);
        if priority == Priority::Background {
            pairs.push((&self.rpm_background, &self.tpm_background));
        }
        pairs.push((&self.rpm, &self.tpm));
        for (rpm, tpm) in pairs {
            if let Err(not_until) = rpm.check() {
                return Err(Denied::Wait(not_until.wait_time_from(self.clock.now())));
            }
            match tpm.check_n(tokens) {
                Ok(Ok(())) => {}
                Ok(Err(not_until)) => {
                    return Err(Denied::Wait(not_until.wait_time_from(self.clock.now())));
                }
                Err(_) => return Err(Denied::TooLarge),
            }
        }
        Ok(())
    }
}

/// Which budget refused a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BudgetScope {
    Team(String),
    Global,
}

impl std::fmt::Display for BudgetScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BudgetScope::Team(team) => write!(f, "team {team}"),
            BudgetScope::Global => f.write_str("global"),
        }
    }
}

/// The limit a priority may spend up to.
pub fn budget_limit(limit: u64, priority: Priority, interactive_reserve: f64) -> u64 {
    match priority {
        Priority::Interactive => limit,
        Priority::Background => {
            (limit as f64 * (1.0 - interactive_reserve.clamp(0.0, 1.0))).floor() as u64
        }
    }
}

/// Token estimates of calls in flight in this process, so a burst of concurrent calls cannot all
/// pass a budget check made before any of them is recorded.
#[derive(Default)]
pub struct InFlight {
    inner: Mutex<InFlightInner>,
}

#[derive(Default)]
struct InFlightInner {
    total: u64,
    by_team: HashMap<String, u64>,
}

impl InFlight {
    /// (team's in-flight tokens, everyone's in-flight tokens)
    pub fn get(&self, team: Option<&str>) -> (u64, u64) {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let team = team
            .and_then(|t| inner.by_team.get(t).copied())
            .unwrap_or(0);
        (team, inner.total)
    }

    pub fn add(&self, team: Option<&str>, tokens: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.total += tokens;
        if let Some(team) = team {
            *inner.by_team.entry(team.to_string()).or_default() += tokens;
        }
    }

    pub fn remove(&self, team: Option<&str>, tokens: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.total = inner.total.saturating_sub(tokens);
        if let Some(team) = team
            && let Some(v) = inner.by_team.get_mut(team)
        {
            *v = v.saturating_sub(tokens);
            if *v == 0 {
                inner.by_team.remove(team);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn background_work_leaves_a_reserve_for_interactive_calls() {
        let q = Quotas::new(5, 1_000_000, 0.2, MINUTE);
        for _ in 0..4 {
            assert_eq!(q.try_acquire(Priority::Background, 10), Ok(()));
        }
        assert!(matches!(
            q.try_acquire(Priority::Background, 10),
            Err(Denied::Wait(_))
        ));
        assert_eq!(q.try_acquire(Priority::Interactive, 10), Ok(()));
        assert!(matches!(
            q.try_acquire(Priority::Interactive, 10),
            Err(Denied::Wait(_))
        ));
    }

    #[test]
    fn a_request_larger_than_the_token_quota_never_fits() {
        let q = Quotas::new(100, 1000, 0.0, MINUTE);
        assert_eq!(
            q.try_acquire(Priority::Interactive, 5000),
            Err(Denied::TooLarge)
        );
    }

    #[test]
    fn budgets_reserve_a_share_for_interactive_calls() {
        assert_eq!(budget_limit(1000, Priority::Interactive, 0.2), 1000);
        assert_eq!(budget_limit(1000, Priority::Background, 0.2), 800);
    }

    #[test]
    fn in_flight_tokens_are_counted_per_team_and_overall() {
        let f = InFlight::default();
        f.add(Some("T1"), 10);
        f.add(None, 5);
        assert_eq!(f.get(Some("T1")), (10, 15));
        f.remove(Some("T1"), 10);
        assert_eq!(f.get(Some("T1")), (0, 5));
    }
}
