//! The counters of the limits across accounts (per source, per
//! destination), each one compare-and-swap on its own key in the
//! [`LimitStore`](crate::LimitStore): a failure reserved before an attempt
//! is evaluated and given back unless it failed, a send counted before a
//! code goes out, a throttled source remembered in memory.

use std::time::Duration;

use super::TwoFactor;
use crate::core::limits::{limits, Counter};
use crate::crypto::limit_key::{counter_key, Counted};
use crate::error::{Error, Result};
use crate::model::account::Account;
use crate::model::event::EventKind;
use crate::model::time::Timestamp;
use crate::model::verdict::Verdict;
use crate::ports::SaveOutcome;

/// The most throttled sources remembered in memory per instance.
const THROTTLED_CACHE: usize = 10_000;
/// How often an instance deletes counters no longer needed.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// A failed attempt counted against the request's source before the
/// attempt was evaluated: given back unless it was a failure.
pub(super) struct Reservation {
    key: String,
    at: Timestamp,
}

impl TwoFactor {
    /// A call that evaluates something a person typed: when a source is set,
    /// a failure is counted against it before anything is evaluated (so
    /// parallel guesses from one source are held back exactly like serial
    /// ones), and given back unless the attempt failed. A throttled source
    /// gets [`Verdict::Throttled`] and nothing is evaluated.
    pub(super) async fn guarded<T, F>(&self, account: &Account, attempt: F) -> Result<Verdict<T>>
    where
        F: std::future::Future<Output = Result<(Verdict<T>, bool)>>,
    {
        let reservation = match self.reserve_failure(account).await? {
            Ok(reservation) => reservation,
            Err(until) => return Ok(Verdict::Throttled { until }),
        };
        let outcome = attempt.await;
        if let Some(r) = reservation {
            if !matches!(outcome, Ok((_, true))) {
                self.give_back(&r).await;
            }
        }
        outcome.map(|(verdict, _)| verdict)
    }

    /// The source's failure counter: counts one failure now (the caller
    /// gives it back unless the attempt fails). `Ok(None)` when no source is
    /// set; `Err(until)` when the source is throttled.
    async fn reserve_failure(
        &self,
        account: &Account,
    ) -> Result<std::result::Result<Option<Reservation>, Timestamp>> {
        let Some(source) = &self.source else {
            return Ok(Ok(None));
        };
        let now = self.inner.clock.now();
        let key = counter_key(
            self.inner.keys.current().code(),
            Counted::SourceFailures,
            source.as_str(),
        );
        if let Some(until) = self.throttled_in_memory(&key, now) {
            self.report(account, now, EventKind::SourceThrottled).await;
            return Ok(Err(until));
        }
        match self.take(&key, Counted::SourceFailures, now).await? {
            Ok(()) => Ok(Ok(Some(Reservation { key, at: now }))),
            Err(until) => {
                self.remember_throttled(key, until, now);
                self.report(account, now, EventKind::SourceThrottled).await;
                Ok(Err(until))
            }
        }
    }

    /// Counts a code sent to the destination `counter` (and, when a source
    /// is set, against the source's sends). `Err(wait)` when either limit
    /// refuses it; a source send counted for a destination then refused is
    /// given back.
    pub(super) async fn reserve_send(
        &self,
        counter: &str,
        now: Timestamp,
    ) -> Result<std::result::Result<(), Duration>> {
        let source = match &self.source {
            Some(source) => {
                let key = counter_key(
                    self.inner.keys.current().code(),
                    Counted::SourceSends,
                    source.as_str(),
                );
                match self.take(&key, Counted::SourceSends, now).await? {
                    Ok(()) => Some(key),
                    Err(until) => return Ok(Err(until.since(now))),
                }
            }
            None => None,
        };
        match self.take(counter, Counted::Destination, now).await? {
            Ok(()) => Ok(Ok(())),
            Err(until) => {
                if let Some(key) = source {
                    self.give_back(&Reservation { key, at: now }).await;
                }
                Ok(Err(until.since(now)))
            }
        }
    }

    /// One event on the counter `key`, under its limits: a compare-and-swap
    /// loop like a record's. `Err(until)` when the limits refuse it (nothing
    /// is written then).
    async fn take(
        &self,
        key: &str,
        counted: Counted,
        now: Timestamp,
    ) -> Result<std::result::Result<(), Timestamp>> {
        self.purge_now_and_then(now).await;
        let limits = limits(counted, &self.inner.policy.limits);
        let _turn = self.turn(key).await;
        for _ in 0..=self.inner.policy.max_retries {
            let (mut counter, version) = self.load_counter(key).await?;
            if let Err(until) = counter.take(now, limits) {
                return Ok(Err(until));
            }
            if self.save_counter(key, &counter, version).await? {
                return Ok(Ok(()));
            }
        }
        Err(Error::Contention)
    }

    /// Gives back a failure counted before an attempt that did not fail.
    /// Best effort: a store failure here leaves one failure too many
    /// counted, which is logged.
    async fn give_back(&self, r: &Reservation) {
        let _turn = self.turn(&r.key).await;
        for _ in 0..=self.inner.policy.max_retries {
            let step = async {
                let (mut counter, version) = self.load_counter(&r.key).await?;
                counter.give_back(r.at);
                self.save_counter(&r.key, &counter, version).await
            };
            match step.await {
                Ok(true) => return,
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(target: "twofactor", transient = e.is_transient(), "a counted attempt could not be given back");
                    return;
                }
            }
        }
        tracing::warn!(target: "twofactor", "a counted attempt could not be given back: contention");
    }

    /// This instance's turn on the counter `key`: held while it is read and
    /// written, so that the instance's requests on one hot counter queue
    /// here instead of racing each other's compare-and-swaps in the store.
    async fn turn(&self, key: &str) -> Option<futures_util::lock::MutexGuard<'_, ()>> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        let stripes = &self.inner.counter_turns;
        let i = usize::try_from(hasher.finish() % stripes.len().max(1) as u64).unwrap_or(0);
        match stripes.get(i) {
            Some(stripe) => Some(stripe.lock().await),
            None => None,
        }
    }

    async fn load_counter(&self, key: &str) -> Result<(Counter, u64)> {
        match self
            .inner
            .limits
            .load_limit(key)
            .await
            .map_err(Error::Store)?
        {
            None => Ok((Counter::default(), 0)),
            Some(stored) => Ok((Counter::decode(&stored.document)?, stored.version)),
        }
    }

    /// Whether the compare-and-swap saved it.
    async fn save_counter(&self, key: &str, counter: &Counter, version: u64) -> Result<bool> {
        let saved = self
            .inner
            .limits
            .save_limit(key, &counter.encode()?, version, counter.expires())
            .await
            .map_err(Error::Store)?;
        Ok(saved != SaveOutcome::Conflict)
    }

    /// Until when this instance already knows the source is throttled: a
    /// source that keeps hammering costs no store round trip.
    fn throttled_in_memory(&self, key: &str, now: Timestamp) -> Option<Timestamp> {
        let cache = self.inner.throttled.lock().ok()?;
        cache.get(key).copied().filter(|until| *until > now)
    }

    fn remember_throttled(&self, key: String, until: Timestamp, now: Timestamp) {
        if let Ok(mut cache) = self.inner.throttled.lock() {
            if cache.len() >= THROTTLED_CACHE {
                cache.retain(|_, u| *u > now);
                if cache.len() >= THROTTLED_CACHE {
                    cache.clear();
                }
            }
            cache.insert(key, until);
        }
    }

    /// Deletes counters no longer needed, at most once an hour per instance.
    async fn purge_now_and_then(&self, now: Timestamp) {
        let due = match self.inner.last_purge.lock() {
            Ok(mut last) => {
                let due = last.is_none_or(|t| now >= t.saturating_add(PURGE_EVERY));
                if due {
                    *last = Some(now);
                }
                due
            }
            Err(_) => false,
        };
        if due {
            if let Err(e) = self.inner.limits.purge_limits(now).await {
                tracing::warn!(target: "twofactor", transient = e.is_transient(), "expired limit counters not purged");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Argon2Passwords, MasterKey, MemoryStore};

    fn service() -> TwoFactor {
        TwoFactor::builder()
            .issuer("Acme")
            .key(MasterKey::new([1; 32]))
            .store(MemoryStore::new())
            .passwords(Argon2Passwords::new().unwrap())
            .build()
            .unwrap()
    }

    fn cached(tf: &TwoFactor) -> usize {
        tf.inner.throttled.lock().map_or(0, |c| c.len())
    }

    /// The throttled sources remembered in memory stay bounded: a full
    /// cache drops what has expired (before or at `now`) and keeps what is
    /// live; one still full of live sources is emptied.
    #[test]
    fn the_throttled_cache_is_bounded_and_keeps_live_sources() {
        let tf = service();
        let now = Timestamp::from_unix_seconds(1_700_000_000);
        let before = Timestamp::from_unix_seconds(1_699_999_999);
        let live = now.saturating_add(Duration::from_secs(60));
        for i in 0..THROTTLED_CACHE {
            let until = match i % 4 {
                0 => before,
                1 => now,
                _ => live,
            };
            tf.remember_throttled(format!("source-{i}"), until, now);
        }
        assert_eq!(cached(&tf), THROTTLED_CACHE);
        tf.remember_throttled("another".to_owned(), live, now);
        assert_eq!(cached(&tf), THROTTLED_CACHE / 2 + 1);
        assert_eq!(tf.throttled_in_memory("source-2", now), Some(live));
        assert_eq!(tf.throttled_in_memory("another", now), Some(live));

        let tf = service();
        for i in 0..THROTTLED_CACHE {
            tf.remember_throttled(format!("source-{i}"), live, now);
        }
        tf.remember_throttled("another".to_owned(), live, now);
        assert_eq!(cached(&tf), 1);
    }
}
