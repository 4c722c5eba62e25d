//! Per-deployment concurrency: at most `max_concurrency` requests in flight, the rest wait here in
//! a fair queue.
//!
//! Why: a model on a laptop (llama.cpp, Ollama, LM Studio) serves one request at a time. Sending it
//! ten at once does not make it faster: nine wait inside the server, out of chief's sight, and
//! their timeouts run out there — while the server keeps working for callers who already left.
//! Waiting in chief instead keeps the order under chief's control and the timeout honest (it
//! counts from when a request is sent).
//!
//! * **Order.** Interactive calls before background ones; within each, text a reader will see
//!   (a briefing's personal text, an explanation) before shared work (summaries, grouping,
//!   ranking); then first come, first served.
//! * **Bound.** A caller waits at most until the instant it gives; then it gets
//!   [`QueueTimeout`] (the gateway answers extractively, or a job is retried later).
//! * **Estimate.** The queue knows how long a request takes here (a moving average of service
//!   times), so a caller can see before joining that it would not be served in time
//!   ([`Slots::estimated_wait`]) and not join at all.
//! * **Metrics.** `chief_llm_queue_depth{deployment}` and `chief_llm_in_flight{deployment}`
//!   (gauges), `chief_llm_queue_wait_seconds{deployment}` (histogram).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

/// A caller's place in the queue: lower goes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rank(u8);

impl Rank {
    /// Interactive before background; reader-facing text before shared work.
    pub fn new(interactive: bool, reader_facing: bool) -> Self {
        Rank(u8::from(!interactive) * 2 + u8::from(!reader_facing))
    }
}

/// The wait for a slot passed the caller's bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueTimeout {
    pub waited: Duration,
}

/// The concurrency slots of one deployment.
pub struct Slots {
    deployment: String,
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    busy: usize,
    next_seq: u64,
    waiting: BTreeMap<(Rank, u64), oneshot::Sender<()>>,
    /// Moving average of how long a request takes once sent.
    service: Option<Duration>,
}

impl Slots {
    pub fn new(deployment: &str, capacity: u32) -> Self {
        Slots {
            deployment: deployment.to_string(),
            capacity: capacity.max(1) as usize,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Requests waiting for a slot.
    pub fn depth(&self) -> usize {
        self.lock().waiting.len()
    }

    /// The moving average of a request's service time here, once one was measured.
    pub fn service_time(&self) -> Option<Duration> {
        self.lock().service
    }

    /// Records how long a request took once sent (for [`Self::estimated_wait`]).
    pub fn observe(&self, took: Duration) {
        let mut state = self.lock();
        state.service = Some(match state.service {
            // Weighted 0.3 on the newest: a server that slows down is noticed within a few calls.
            Some(avg) => avg.mul_f64(0.7) + took.mul_f64(0.3),
            None => took,
        });
    }

    /// How long a caller of `rank` joining now would wait for a slot: the requests ahead of it
    /// (in flight and queued at the same or a better rank) shared over the slots, times the
    /// service time. Zero when a slot is free or nothing was measured yet.
    pub fn estimated_wait(&self, rank: Rank) -> Duration {
        let state = self.lock();
        let ahead = state.waiting.keys().filter(|(r, _)| *r <= rank).count();
        if state.busy + ahead < self.capacity {
            return Duration::ZERO;
        }
        let Some(service) = state.service else {
            return Duration::ZERO;
        };
        // Rounds of service before this caller's turn (the slots in flight finish, on average,
        // half-way through theirs).
        let rounds = (state.busy + ahead + 1 - self.capacity) as f64 / self.capacity as f64;
        service.mul_f64(rounds.max(0.5))
    }

    /// A slot, waiting in the queue at `rank` until `give_up` at the latest.
    pub async fn acquire(&self, rank: Rank, give_up: Instant) -> Result<Slot<'_>, QueueTimeout> {
        let started = Instant::now();
        let rx = {
            let mut state = self.lock();
            if state.busy < self.capacity && state.waiting.is_empty() {
                state.busy += 1;
                self.gauges(&state);
                drop(state);
                self.waited(Duration::ZERO);
                return Ok(Slot { slots: self });
            }
            let seq = state.next_seq;
            state.next_seq += 1;
            let (tx, rx) = oneshot::channel();
            state.waiting.insert((rank, seq), tx);
            self.gauges(&state);
            Waiter {
                slots: self,
                key: (rank, seq),
                rx: Some(rx),
            }
        };
        let mut waiter = rx;
        let granted = match waiter.rx.as_mut() {
            Some(rx) => tokio::time::timeout_at(give_up, rx).await,
            None => {
                return Err(QueueTimeout {
                    waited: Duration::ZERO,
                });
            }
        };
        match granted {
            Ok(Ok(())) => {
                // The slot was handed over: the waiter must not hand it on when dropped.
                waiter.rx = None;
                self.waited(started.elapsed());
                Ok(Slot { slots: self })
            }
            // Timed out (or the queue was dropped): the waiter's drop leaves the queue, and
            // passes the slot on if it was granted in the meantime.
            _ => Err(QueueTimeout {
                waited: started.elapsed(),
            }),
        }
    }

    /// Frees a slot: hands it to the first live waiter, or marks it free.
    fn release(&self) {
        let mut state = self.lock();
        self.hand_on(&mut state);
        self.gauges(&state);
    }

    fn hand_on(&self, state: &mut State) {
        while let Some((_, tx)) = state.waiting.pop_first() {
            if tx.send(()).is_ok() {
                return; // still busy: the slot changed hands
            }
        }
        state.busy = state.busy.saturating_sub(1);
    }

    fn gauges(&self, state: &State) {
        metrics::gauge!("chief_llm_queue_depth", "deployment" => self.deployment.clone())
            .set(state.waiting.len() as f64);
        metrics::gauge!("chief_llm_in_flight", "deployment" => self.deployment.clone())
            .set(state.busy as f64);
    }

    fn waited(&self, waited: Duration) {
        metrics::histogram!("chief_llm_queue_wait_seconds", "deployment" => self.deployment.clone())
            .record(waited.as_secs_f64());
    }
}

/// A slot held; dropping it frees it for the next in the queue.
pub struct Slot<'a> {
    slots: &'a Slots,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.slots.release();
    }
}

/// A place in the queue. Dropped without being served (timeout, or the caller's future dropped),
/// it leaves the queue; if the slot was handed to it in the meantime, it passes it on.
struct Waiter<'a> {
    slots: &'a Slots,
    key: (Rank, u64),
    /// `None` once the slot was taken.
    rx: Option<oneshot::Receiver<()>>,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        let Some(mut rx) = self.rx.take() else {
            return;
        };
        let mut state = self.slots.lock();
        if state.waiting.remove(&self.key).is_none() && rx.try_recv().is_ok() {
            // Handed over (under the lock, before we got it): pass it on.
            self.slots.hand_on(&mut state);
        }
        self.slots.gauges(&state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn soon(ms: u64) -> Instant {
        Instant::now() + Duration::from_millis(ms)
    }

    #[tokio::test]
    async fn interactive_reader_facing_work_is_served_first() {
        let slots = Arc::new(Slots::new("d", 1));
        let held = slots
            .acquire(Rank::new(false, false), soon(100))
            .await
            .unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, rank) in [
            ("background shared", Rank::new(false, false)),
            ("background reader", Rank::new(false, true)),
            ("interactive shared", Rank::new(true, false)),
            ("interactive reader", Rank::new(true, true)),
        ] {
            let (slots, order) = (slots.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _slot = slots.acquire(rank, soon(2000)).await.unwrap();
                order.lock().unwrap().push(name);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(slots.depth(), 4);
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            [
                "interactive reader",
                "interactive shared",
                "background reader",
                "background shared"
            ]
        );
        assert_eq!(slots.depth(), 0);
    }

    #[tokio::test]
    async fn a_bounded_wait_gives_up_and_leaves_the_queue() {
        let slots = Slots::new("d", 1);
        let held = slots
            .acquire(Rank::new(true, true), soon(100))
            .await
            .unwrap();
        let err = slots
            .acquire(Rank::new(true, true), soon(50))
            .await
            .err()
            .unwrap();
        assert!(err.waited >= Duration::from_millis(40), "{err:?}");
        assert_eq!(slots.depth(), 0);
        drop(held);
        // The slot is free again, not lost to the caller who left.
        assert!(
            slots
                .acquire(Rank::new(false, false), soon(10))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn the_wait_is_estimated_from_service_times() {
        let slots = Slots::new("d", 1);
        assert_eq!(
            slots.estimated_wait(Rank::new(false, false)),
            Duration::ZERO
        );
        slots.observe(Duration::from_secs(2));
        let _held = slots
            .acquire(Rank::new(true, true), soon(10))
            .await
            .unwrap();
        assert!(slots.estimated_wait(Rank::new(false, false)) >= Duration::from_secs(1));
    }
}
