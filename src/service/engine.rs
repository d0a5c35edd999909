//! How every call runs: the slow inputs once, then load → decide →
//! compare-and-swap save → effects, deciding again on a lost race; the
//! counters of the limits across accounts, each one compare-and-swap on its
//! own key; and the delivery of what a saved decision says to do.

use std::time::Duration;

use secrecy::SecretString;

use super::TwoFactor;
use crate::core::limits::{limits, Counter};
use crate::core::recovery::RecoveryHit;
use crate::core::stepup::Presented;
use crate::core::{self, Ctx, Decision, Effect, Entropy};
use crate::crypto::limit_key::{counter_key, Counted};
use crate::crypto::recovery_hash as recovery_codes;
use crate::error::{Error, Result};
use crate::model::account::Account;
use crate::model::event::{Event, EventKind};
use crate::model::message::{Message, Notice};
use crate::model::reauth::{Given, Reauth};
use crate::model::status::Method;
use crate::model::time::Timestamp;
use crate::model::verdict::Verdict;
use crate::ports::SaveOutcome;
use crate::record::Record;

/// The most throttled sources remembered in memory per instance.
const THROTTLED_CACHE: usize = 10_000;
/// How often an instance deletes counters no longer needed.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// What a caller presented to re-authenticate, with the slow parts worked
/// out once, before the decision loop.
pub(super) enum Presentation<'a> {
    Password {
        ok: bool,
    },
    PasswordAndCode {
        ok: bool,
        code: &'a str,
        recovery: Option<RecoveryHit>,
    },
    Grant {
        token: &'a SecretString,
    },
}

impl Presentation<'_> {
    /// As the core takes it.
    pub(super) fn presented(&self) -> Presented<'_> {
        match self {
            Presentation::Password { ok } => Presented::Password { ok: *ok },
            Presentation::PasswordAndCode { ok, code, recovery } => Presented::PasswordAndCode {
                ok: *ok,
                code,
                recovery: recovery.as_ref(),
            },
            Presentation::Grant { token } => Presented::Grant { token },
        }
    }
}

/// A failed attempt counted against the request's source before the
/// attempt was evaluated: given back unless it was a failure.
pub(super) struct Reservation {
    key: String,
    at: Timestamp,
}

impl TwoFactor {
    pub(super) fn ctx<'a>(
        &'a self,
        account: &'a Account,
        entropy: Option<&'a Entropy>,
        refused: &'a [(String, Duration)],
    ) -> Ctx<'a> {
        Ctx {
            entropy,
            now: self.inner.clock.now(),
            policy: &self.inner.policy,
            keys: &self.inner.keys,
            account,
            issuer: &self.inner.issuer,
            can_email: self.inner.email.is_some(),
            can_text: self.inner.sms.is_some(),
            refused,
        }
    }

    /// The account's record and its version; the one place an account id
    /// is checked before it reaches the store.
    pub(super) async fn load(&self, account: &Account) -> Result<(Record, u64)> {
        account.validate()?;
        match self
            .inner
            .store
            .load(account.id())
            .await
            .map_err(Error::Store)?
        {
            None => Ok((Record::default(), 0)),
            Some(stored) => Ok((Record::decode(&stored.document)?, stored.version)),
        }
    }

    /// Works out what `reauth` presents: the password checked (argon2), a
    /// recovery code checked against the record's set (argon2, one
    /// computation), a grant's token hashed.
    pub(super) async fn present<'a>(
        &self,
        account: &Account,
        record: &Record,
        reauth: Reauth<'a>,
    ) -> Result<Presentation<'a>> {
        Ok(match reauth.0 {
            Given::Grant(token) => Presentation::Grant { token },
            Given::Password(password) => Presentation::Password {
                ok: self.password_ok(account, password).await?,
            },
            Given::PasswordAndCode(password, code) => Presentation::PasswordAndCode {
                ok: self.password_ok(account, password).await?,
                code,
                recovery: self.recovery_hit(account, record, code),
            },
        })
    }

    async fn password_ok(&self, account: &Account, password: &SecretString) -> Result<bool> {
        self.inner
            .passwords
            .verify(account, password)
            .await
            .map_err(Error::Password)
    }

    /// The argon2id check of a recovery code against `record`'s set: one
    /// computation, done before the decision loop since it is too slow to
    /// repeat on a lost race. `None` unless `code` has a recovery code's
    /// form and matches.
    pub(super) fn recovery_hit(
        &self,
        account: &Account,
        record: &Record,
        code: &str,
    ) -> Option<RecoveryHit> {
        recovery_codes::parse(code)?;
        let (cost, slots) = match &record.recovery {
            Some(set) => (set.cost, set.slots.as_slice()),
            None => (
                recovery_codes::Cost::from(&self.inner.policy.recovery),
                [].as_slice(),
            ),
        };
        let index = recovery_codes::check(slots, cost, account.id(), code)?;
        let slot = slots.get(index).cloned().flatten()?;
        Some(RecoveryHit { index, slot })
    }

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

    /// Load → decide → compare-and-swap save → effects, deciding again on a
    /// lost race, at most `policy.max_retries` times. A code the decision
    /// sends is first counted against its destination and the source; when
    /// those limits refuse it, the decision is made again knowing it. The
    /// answer, and whether a failed attempt was counted.
    pub(super) async fn transact<R>(
        &self,
        account: &Account,
        entropy: Option<&Entropy>,
        mut decide: impl FnMut(Record, &Ctx<'_>) -> Result<Decision<R>>,
    ) -> Result<(R, bool)> {
        let mut refused: Vec<(String, Duration)> = Vec::new();
        let mut counted: Vec<String> = Vec::new();
        let mut drawn: Option<Entropy> = None;
        let mut attempts = 0u32;
        while attempts <= self.inner.policy.max_retries {
            attempts = attempts.saturating_add(1);
            let (record, version) = self.load(account).await?;
            // A record sealed under a previous key is sealed again when it
            // is saved, which takes fresh nonces.
            if entropy.is_none()
                && drawn.is_none()
                && core::rotation::stale(&record, &self.inner.keys)
            {
                drawn = Some(draw()?);
            }
            let (decision, now) = {
                let ctx = self.ctx(account, entropy.or(drawn.as_ref()), &refused);
                let mut decision = decide(record, &ctx)?;
                if let Some(record) = decision.save.as_mut() {
                    core::rotation::reseal(record, &ctx)?;
                }
                (decision, ctx.now)
            };
            let mut newly_refused = Vec::new();
            for effect in &decision.effects {
                let Effect::SendCode(d) = effect else {
                    continue;
                };
                if counted.contains(&d.counter) {
                    continue;
                }
                match self.reserve_send(&d.counter, now).await? {
                    Ok(()) => counted.push(d.counter.clone()),
                    Err(wait) => newly_refused.push((d.counter.clone(), wait)),
                }
            }
            if !newly_refused.is_empty() {
                refused.extend(newly_refused);
                continue;
            }
            if let Some(record) = &decision.save {
                let saved = self
                    .inner
                    .store
                    .save(account.id(), &record.encode()?, version)
                    .await
                    .map_err(Error::Store)?;
                if saved == SaveOutcome::Conflict {
                    continue;
                }
            }
            let delivered = self.deliver(account, now, decision.effects).await;
            let reply = decision.reply?;
            delivered?;
            return Ok((reply, decision.failed));
        }
        Err(Error::Contention)
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
    async fn reserve_send(
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

    /// Reports an audit event that no decision saved (a refused source).
    async fn report(&self, account: &Account, now: Timestamp, kind: EventKind) {
        self.deliver(account, now, vec![Effect::Event(kind, None)])
            .await
            .ok();
    }

    /// Runs a saved decision's effects. The change has happened, so a failed
    /// notice is logged (without the address), not returned; a code that
    /// could not be delivered is [`Error::Delivery`], after the other
    /// effects ran.
    pub(super) async fn deliver(
        &self,
        account: &Account,
        now: Timestamp,
        effects: Vec<Effect>,
    ) -> Result<()> {
        let mut undelivered = None;
        for effect in effects {
            match effect {
                Effect::Event(kind, method) => {
                    let event = Event {
                        account: account.id().to_owned(),
                        kind,
                        method,
                        at: now,
                        actor: None,
                        reason: None,
                    };
                    self.inner.events.record(&event).await;
                }
                Effect::AdminEvent {
                    kind,
                    admin,
                    reason,
                } => {
                    let event = Event {
                        account: account.id().to_owned(),
                        kind,
                        method: None,
                        at: now,
                        actor: Some(admin),
                        reason: Some(reason),
                    };
                    self.inner.events.record(&event).await;
                }
                Effect::Notice(change) => {
                    let Some(email) = &self.inner.email else {
                        continue;
                    };
                    let message = self.notice(change, now, Method::Email);
                    if let Err(e) = email.send_email(account.email(), &message).await {
                        tracing::warn!(
                            target: "twofactor",
                            account = account.id(),
                            transient = e.is_transient(),
                            "security notice not delivered"
                        );
                    }
                }
                Effect::NumberNotice { to, change } => {
                    let Some(sms) = &self.inner.sms else {
                        continue;
                    };
                    let message = self.notice(change, now, Method::Sms);
                    if let Err(e) = sms.send_sms(&to, &message).await {
                        tracing::warn!(
                            target: "twofactor",
                            account = account.id(),
                            transient = e.is_transient(),
                            "security notice to a former number not delivered"
                        );
                    }
                }
                Effect::SendCode(d) => {
                    let sent = match d.method {
                        Method::Sms => match &self.inner.sms {
                            Some(sms) => sms.send_sms(&d.to, &d.message).await,
                            None => continue,
                        },
                        _ => match &self.inner.email {
                            Some(email) => email.send_email(&d.to, &d.message).await,
                            None => continue,
                        },
                    };
                    if let Err(e) = sent {
                        tracing::warn!(
                            target: "twofactor",
                            account = account.id(),
                            method = d.method.display_name(),
                            transient = e.is_transient(),
                            "one-time code not delivered"
                        );
                        undelivered = Some(Error::Delivery(e));
                    }
                }
            }
        }
        undelivered.map_or(Ok(()), Err)
    }

    fn notice(&self, change: crate::model::message::Change, at: Timestamp, via: Method) -> Message {
        Message::Notice(Notice {
            change,
            at,
            issuer: self.inner.issuer.clone(),
            via,
        })
    }
}

/// Random bytes for one call, in one system call.
pub(super) fn draw() -> Result<Entropy> {
    Entropy::draw(crate::crypto::random::fill)
}
