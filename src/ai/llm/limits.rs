//! Rate limits per deployment (RPM, TPM) and daily token budgets per team and overall.
//!
//! # Policy
//!
//! * **Quota.** Each deployment has a requests-per-minute limiter (`governor`, GCRA) and a
//!   tokens-per-minute window (a log of what was sent, counted with the model's tokenizer — see
//!   [`super::tokens`] — and settled with the provider's `usage`), so the tokens of any rolling
//!   minute never pass the limit. A share of each (`interactive_reserve`, default 20 %) is kept for
//!   interactive calls: background calls must also fit under the rest, so a backlog of background
//!   work can never take the last of a minute's quota from a user who is waiting. When no deployment has quota, a call waits (back-pressure) for the earliest
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
use std::time::{Duration, Instant};

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

/// RPM limiters (GCRA, full size for interactive calls and reduced for background ones) and the
/// TPM window of one deployment.
pub struct Quotas {
    clock: DefaultClock,
    rpm: Limiter,
    rpm_background: Limiter,
    tpm: TokenWindow,
    /// The share of the TPM limit background calls may fill.
    tpm_background: u64,
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
        Quotas {
            rpm: limiter(rpm, period, &clock),
            rpm_background: limiter(background_share(rpm, interactive_reserve), period, &clock),
            tpm: TokenWindow::new(u64::from(tpm.max(1)), period),
            tpm_background: u64::from(background_share(tpm, interactive_reserve)),
            clock,
        }
    }

    /// Takes one request and `tokens` tokens of quota, or says how long to wait. The tokens are
    /// held by the returned [`Reservation`] until it is settled with what the request really cost
    /// (or dropped). (A check that passes the RPM limiter and then fails the TPM window still
    /// spends the request: the waste is at most one request's worth.)
    pub fn try_acquire(&self, priority: Priority, tokens: u64) -> Result<Reservation<'_>, Denied> {
        let tokens = tokens.max(1);
        if tokens > self.tpm.limit {
            return Err(Denied::TooLarge);
        }
        let token_limit = match priority {
            Priority::Background => self.tpm_background.max(1),
            Priority::Interactive => self.tpm.limit,
        };
        // Ask the window first: a request it refuses must not spend an RPM cell.
        self.tpm.available(tokens, token_limit)?;
        let mut rpm: Vec<&Limiter> = Vec::with_capacity(2);
        if priority == Priority::Background {
            rpm.push(&self.rpm_background);
        }
        rpm.push(&self.rpm);
        for limiter in rpm {
            if let Err(not_until) = limiter.check() {
                return Err(Denied::Wait(not_until.wait_time_from(self.clock.now())));
            }
        }
        self.tpm.take(tokens, token_limit)
    }
}

/// Tokens sent in the last `period`, as a log: unlike a token bucket (which lets a full burst
/// through at the end of one minute and another at the start of the next), a log keeps the sum
/// over *any* window of `period` at or under the limit — which is what a provider counting a
/// rolling minute enforces. Entries of requests still in flight never expire; a settled entry
/// carries the provider's count and the time the answer came back, which is never earlier than
/// the provider's own count of it.
struct TokenWindow {
    limit: u64,
    period: Duration,
    inner: Mutex<WindowInner>,
}

#[derive(Default)]
struct WindowInner {
    next_id: u64,
    entries: std::collections::VecDeque<Entry>,
}

struct Entry {
    id: u64,
    /// `None` while the request is in flight.
    settled_at: Option<Instant>,
    tokens: u64,
}

impl TokenWindow {
    fn new(limit: u64, period: Duration) -> Self {
        TokenWindow {
            limit,
            period,
            inner: Mutex::new(WindowInner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WindowInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets settled entries older than the period; the tokens still counted.
    fn used(&self, inner: &mut WindowInner, now: Instant) -> u64 {
        inner.entries.retain(|e| {
            e.settled_at
                .is_none_or(|at| now.saturating_duration_since(at) < self.period)
        });
        inner.entries.iter().map(|e| e.tokens).sum()
    }

    /// How long until `tokens` more fit under `limit`, if they do not now.
    fn wait(
        &self,
        inner: &WindowInner,
        used: u64,
        tokens: u64,
        limit: u64,
        now: Instant,
    ) -> Denied {
        // The oldest settled entries expire first; in-flight ones only when they settle.
        let mut expiring: Vec<(Instant, u64)> = inner
            .entries
            .iter()
            .filter_map(|e| e.settled_at.map(|at| (at + self.period, e.tokens)))
            .collect();
        expiring.sort_unstable();
        let mut left = used;
        for (at, n) in expiring {
            left -= n;
            if left + tokens <= limit {
                return Denied::Wait(at.saturating_duration_since(now));
            }
        }
        // Only requests in flight hold the quota: look again soon.
        Denied::Wait((self.period / 20).max(Duration::from_millis(5)))
    }

    fn available(&self, tokens: u64, limit: u64) -> Result<(), Denied> {
        let now = Instant::now();
        let mut inner = self.lock();
        let used = self.used(&mut inner, now);
        if used + tokens <= limit {
            Ok(())
        } else {
            Err(self.wait(&inner, used, tokens, limit, now))
        }
    }

    fn take(&self, tokens: u64, limit: u64) -> Result<Reservation<'_>, Denied> {
        let now = Instant::now();
        let mut inner = self.lock();
        let used = self.used(&mut inner, now);
        if used + tokens > limit {
            return Err(self.wait(&inner, used, tokens, limit, now));
        }
        let id = inner.next_id;
        inner.next_id += 1;
        inner.entries.push_back(Entry {
            id,
            settled_at: None,
            tokens,
        });
        Ok(Reservation {
            window: self,
            id,
            tokens,
            settled: false,
        })
    }

    fn settle(&self, id: u64, tokens: u64) {
        let now = Instant::now();
        let mut inner = self.lock();
        if let Some(e) = inner.entries.iter_mut().find(|e| e.id == id) {
            e.tokens = tokens;
            e.settled_at = Some(now);
        }
    }
}

/// Tokens held in a deployment's TPM window for one request.
pub struct Reservation<'a> {
    window: &'a TokenWindow,
    id: u64,
    tokens: u64,
    settled: bool,
}

impl Reservation<'_> {
    /// The tokens reserved (prompt as counted, plus the completion cap).
    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    /// The request is over and cost `tokens` (the provider's `usage`, or the reservation when it
    /// gave none): the window counts that from now on.
    pub fn settle(mut self, tokens: u64) {
        self.window.settle(self.id, tokens);
        self.settled = true;
    }
}

impl Drop for Reservation<'_> {
    /// A request abandoned or failed without a count keeps what it reserved: the provider may
    /// have counted it.
    fn drop(&mut self) {
        if !self.settled {
            self.window.settle(self.id, self.tokens);
        }
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
            assert!(q.try_acquire(Priority::Background, 10).is_ok());
        }
        assert!(matches!(
            q.try_acquire(Priority::Background, 10),
            Err(Denied::Wait(_))
        ));
        assert!(q.try_acquire(Priority::Interactive, 10).is_ok());
        assert!(matches!(
            q.try_acquire(Priority::Interactive, 10),
            Err(Denied::Wait(_))
        ));
    }

    #[test]
    fn a_request_larger_than_the_token_quota_never_fits() {
        let q = Quotas::new(100, 1000, 0.0, MINUTE);
        assert!(matches!(
            q.try_acquire(Priority::Interactive, 5000),
            Err(Denied::TooLarge)
        ));
    }

    #[test]
    fn the_token_window_holds_over_any_rolling_period() {
        let period = Duration::from_millis(300);
        let q = Quotas::new(1000, 100, 0.0, period);
        let first = q
            .try_acquire(Priority::Interactive, 60)
            .map_err(|_| ())
            .unwrap();
        // In flight: its 60 tokens count however long it takes.
        assert!(matches!(
            q.try_acquire(Priority::Interactive, 60),
            Err(Denied::Wait(_))
        ));
        std::thread::sleep(period + Duration::from_millis(50));
        assert!(
            q.try_acquire(Priority::Interactive, 60).is_err(),
            "still in flight"
        );
        // Settled with what it really cost: 30 tokens, counted from now for a period.
        first.settle(30);
        let second = q
            .try_acquire(Priority::Interactive, 60)
            .map_err(|_| ())
            .unwrap();
        second.settle(60);
        match q.try_acquire(Priority::Interactive, 60) {
            Err(Denied::Wait(wait)) => assert!(wait <= period, "{wait:?}"),
            _ => panic!("a full window must wait"),
        }
        std::thread::sleep(period + Duration::from_millis(20));
        assert!(q.try_acquire(Priority::Interactive, 100).is_ok());
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
