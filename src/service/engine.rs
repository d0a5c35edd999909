//! How every call runs: load → the core's first look → the slow inputs
//! (once per call) → the core's decision → compare-and-swap save → effects,
//! deciding again on a lost race.

use std::time::Duration;

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::TwoFactor;
use crate::core::inputs::{Inputs, Needs, Prepared, RecoverySlots};
use crate::core::{self, Ctx, Decision, Effect, Entropy};
use crate::crypto::recovery_hash::Cost;
use crate::error::{Error, Result};
use crate::model::account::Account;
use crate::model::reauth::Given;
use crate::model::time::Timestamp;
use crate::ports::SaveOutcome;
use crate::provided::offload;
use crate::record::Record;

/// What a person typed, for the slow checks the core may ask for: the
/// password presented and the code typed.
#[derive(Clone, Copy, Default)]
pub(super) struct Typed<'a> {
    pub(super) password: Option<&'a SecretString>,
    pub(super) code: Option<&'a str>,
}

impl<'a> Typed<'a> {
    /// A code typed.
    pub(super) fn code(code: &'a str) -> Self {
        Self {
            password: None,
            code: Some(code),
        }
    }
}

impl<'a> From<Given<'a>> for Typed<'a> {
    fn from(given: Given<'a>) -> Self {
        match given {
            Given::Password(password) => Self {
                password: Some(password),
                code: None,
            },
            Given::PasswordAndCode(password, code) => Self {
                password: Some(password),
                code: Some(code),
            },
            Given::Grant(_) => Self::default(),
        }
    }
}

/// What one call worked out so far, and for which recovery slots: kept
/// across the attempts of its decision loop, so that nothing slow is
/// computed twice.
#[derive(Default)]
struct Worked {
    inputs: Inputs,
    recovery_for: Option<RecoverySlots>,
}

impl TwoFactor {
    /// What the core may read, now.
    pub(super) fn ctx<'a>(&'a self, account: &'a Account) -> Ctx<'a> {
        self.ctx_at(account, self.inner.clock.now(), None, &[])
    }

    /// What the core may read, at `now`, with `entropy` and the sends the
    /// limits `refused`.
    fn ctx_at<'a>(
        &'a self,
        account: &'a Account,
        now: Timestamp,
        entropy: Option<&'a Entropy>,
        refused: &'a [(String, Duration)],
    ) -> Ctx<'a> {
        Ctx {
            entropy,
            now,
            policy: &self.inner.policy,
            keys: &self.inner.keys,
            account,
            issuer: &self.inner.issuer,
            can_email: self.inner.email.is_some(),
            can_text: self.inner.sms.is_some(),
            refused,
            requirement: self.requirement,
            #[cfg(feature = "webauthn")]
            security_keys: self.inner.security_keys.as_ref(),
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

    /// Works out what `needs` asks for that `worked` does not hold yet:
    /// the password through the host's check, a recovery code's argon2id
    /// check through the offload. (New recovery codes wait until the
    /// decision asks for them.)
    async fn work_out(
        &self,
        account: &Account,
        needs: &Needs,
        typed: Typed<'_>,
        worked: &mut Worked,
    ) -> Result<()> {
        if needs.password && worked.inputs.password.is_none() {
            let ok = match typed.password {
                Some(password) => self
                    .inner
                    .passwords
                    .verify(account, password)
                    .await
                    .map_err(Error::Password)?,
                None => false,
            };
            worked.inputs.password = Some(ok);
        }
        if needs.recovery != worked.recovery_for {
            worked.inputs.recovery = match (&needs.recovery, typed.code) {
                (Some(set), Some(code)) => {
                    let set = set.clone();
                    let user = account.id().to_owned();
                    let code = Zeroizing::new(code.to_owned());
                    self.slow(move || core::recovery::find(&set, &user, &code))
                        .await?
                }
                _ => None,
            };
            worked.recovery_for = needs.recovery.clone();
        }
        Ok(())
    }

    /// Makes a new set of recovery codes at `cost`, once for the call: ten
    /// argon2id computations in one job through the offload. A decision
    /// asks for codes only while it has none (`recovery::issue` takes those
    /// made), and `cost` is the policy's, the same on every attempt: so
    /// codes made on an attempt that lost its race serve the next.
    async fn make_codes(
        &self,
        account: &Account,
        cost: Cost,
        entropy: Option<&Entropy>,
        worked: &mut Worked,
    ) -> Result<()> {
        if worked.inputs.new_codes.is_none() {
            let random = Zeroizing::new(entropy.ok_or(Error::Random)?.recovery);
            let user = account.id().to_owned();
            let made = self
                .slow(move || core::recovery::make_codes(cost, &user, &random))
                .await??;
            worked.inputs.new_codes = Some(made);
        }
        Ok(())
    }

    /// Runs slow work where the offload says, and gives back its answer.
    async fn slow<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        offload::run(self.inner.offload.as_ref(), work)
            .await
            .ok_or(Error::Offload)
    }

    /// Load → decide → compare-and-swap save → effects, deciding again on a
    /// lost race, for a call with nothing to work out before its decision.
    pub(super) async fn transact<R>(
        &self,
        account: &Account,
        entropy: Option<&Entropy>,
        mut decide: impl FnMut(Record, &Ctx<'_>) -> Result<Decision<R>>,
    ) -> Result<(R, bool)> {
        self.run(
            account,
            entropy,
            Typed::default(),
            |_, _| Ok(Prepared::go()),
            |record, ctx, _| decide(record, ctx),
        )
        .await
    }

    /// How every call runs, at most `policy.max_retries` times over on lost
    /// races. Each attempt loads the record once; the core's first look at
    /// it (`prepare`) answers at once or says what to work out; what is
    /// slow is worked out (once for the whole call, off the executor); the
    /// core decides (`decide`); a code the decision sends is counted
    /// against its destination and the source first (when those limits
    /// refuse it, the decision is made again knowing it); the new record is
    /// saved with compare-and-swap; then the effects run. The answer, and
    /// whether a failed attempt was counted.
    pub(super) async fn run<R>(
        &self,
        account: &Account,
        entropy: Option<&Entropy>,
        typed: Typed<'_>,
        prepare: impl Fn(&Record, &Ctx<'_>) -> Result<Prepared<R>>,
        mut decide: impl FnMut(Record, &Ctx<'_>, &Inputs) -> Result<Decision<R>>,
    ) -> Result<(R, bool)> {
        let mut refused: Vec<(String, Duration)> = Vec::new();
        let mut counted: Vec<String> = Vec::new();
        let mut drawn: Option<Entropy> = None;
        let mut worked = Worked::default();
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
            let now = self.inner.clock.now();
            let random = entropy.or(drawn.as_ref());
            let needs = {
                let ctx = self.ctx_at(account, now, random, &refused);
                match prepare(&record, &ctx)? {
                    Prepared::Answer(reply) => return Ok((reply, false)),
                    Prepared::Go(needs) => needs,
                }
            };
            self.work_out(account, &needs, typed, &mut worked).await?;
            // A decision that may want new recovery codes, and so be made
            // again once they are, keeps the record to make it on.
            let again = needs.new_codes.map(|cost| (cost, record.clone()));
            let decision = {
                let ctx = self.ctx_at(account, now, random, &refused);
                let mut decision = decide(record, &ctx, &worked.inputs)?;
                if let (true, Some((cost, record))) = (decision.wants_codes, again) {
                    self.make_codes(account, cost, random, &mut worked).await?;
                    decision = decide(record, &ctx, &worked.inputs)?;
                }
                if let Some(record) = decision.save.as_mut() {
                    core::rotation::reseal(record, &ctx)?;
                }
                decision
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
}

/// Random bytes for one call, in one system call.
pub(super) fn draw() -> Result<Entropy> {
    Entropy::draw(crate::crypto::random::fill)
}
