//! [`TwoFactor`]: the one place that does I/O. Every call loads the record,
//! asks the core, saves with the version it loaded (compare-and-swap), and
//! only then delivers effects; a save that lost a race is decided again on
//! the fresh record.

use std::fmt;
use std::sync::Arc;

use secrecy::SecretString;

use crate::account::Account;
use crate::clock::{Clock, SystemClock, Timestamp};
use crate::core::{self, Ctx, Decision, Effect, Entropy, TOTP_SECRET_LEN};
use crate::error::{Error, Result};
use crate::event::{Event, TracingEvents};
use crate::message::{Message, Notice};
use crate::methods::phone::PhoneNumber;
use crate::methods::seal::{Keys, MasterKey, NONCE_LEN};
use crate::policy::Policy;
use crate::ports::{EmailSender, EventSink, PasswordVerifier, SaveOutcome, SmsSender, UserStore};
use crate::record::{Goal, Record};
use crate::setup::{Enabled, NewMethod, Setup};
use crate::status::{Method, Status};
use crate::verdict::{LoginStep, Sent, Verdict, Verified};

/// Two-factor authentication for a web application. Cheap to clone; clones
/// share everything. Build one with [`TwoFactor::builder`].
#[derive(Clone)]
pub struct TwoFactor {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    keys: Keys,
    policy: Policy,
    store: Arc<dyn UserStore>,
    passwords: Arc<dyn PasswordVerifier>,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
    email: Option<Arc<dyn EmailSender>>,
    sms: Option<Arc<dyn SmsSender>>,
}

impl fmt::Debug for TwoFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwoFactor")
            .field("issuer", &self.inner.issuer)
            .field("key", &"[REDACTED]")
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

impl TwoFactor {
    /// Starts a [`TwoFactorBuilder`].
    pub fn builder() -> TwoFactorBuilder {
        TwoFactorBuilder::default()
    }

    /// The rules in force.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// Whether, and how, the account is protected.
    pub async fn status(&self, account: &Account) -> Result<Status> {
        account.validate()?;
        let (record, _) = self.load(account).await?;
        core::status::status(&record, &self.ctx(account))
    }

    /// Begins turning two-factor authentication on with `method`, once
    /// `password` is the account's.
    ///
    /// - [`NewMethod::App`]: the answer holds the secret, the key URI and its
    ///   QR code; show them, then ask for a code from the app.
    /// - [`NewMethod::Email`] / [`NewMethod::Sms`]: a code is sent to the
    ///   account's address or the number; the answer says where (masked).
    ///   [`resend_setup_code`](Self::resend_setup_code) sends another.
    ///
    /// Then call [`confirm_setup`](Self::confirm_setup). A second call
    /// replaces the first setup. Until confirmed, nothing changes at login.
    /// A wrong password is a [`Verdict::Rejected`] and counts towards the
    /// lockout. Errors: [`Error::AlreadyEnabled`], [`Error::InvalidAccount`],
    /// [`Error::RateLimited`], [`Error::Delivery`], [`Error::Config`] when
    /// no sender is configured for the method.
    pub async fn begin_setup(
        &self,
        account: &Account,
        method: NewMethod,
        password: &SecretString,
    ) -> Result<Verdict<Setup>> {
        self.begin_goal(account, method, Goal::TurnOn, password)
            .await
    }

    /// Begins adding `method` as a fallback while two-factor authentication
    /// is on: the password, then the same ceremony as
    /// [`begin_setup`](Self::begin_setup), confirmed with
    /// [`confirm_setup`](Self::confirm_setup). The methods already enrolled
    /// keep working meanwhile. Errors: [`Error::NotEnabled`],
    /// [`Error::MethodAlreadyEnrolled`], and those of `begin_setup`.
    pub async fn add_fallback(
        &self,
        account: &Account,
        method: NewMethod,
        password: &SecretString,
    ) -> Result<Verdict<Setup>> {
        self.begin_goal(account, method, Goal::AddFallback, password)
            .await
    }

    /// Begins replacing the SMS number: a code goes to `number`, and only
    /// when it is confirmed with [`confirm_setup`](Self::confirm_setup) does
    /// the new number replace the old, which works until then. Codes sent to
    /// the old number stop working. Errors: [`Error::MethodNotEnrolled`] when
    /// SMS is not enrolled, and those of `begin_setup`.
    pub async fn change_phone(
        &self,
        account: &Account,
        number: PhoneNumber,
        password: &SecretString,
    ) -> Result<Verdict<Setup>> {
        let new = NewMethod::Sms(number);
        self.begin_goal(account, new, Goal::ReplaceNumber, password)
            .await
    }

    async fn begin_goal(
        &self,
        account: &Account,
        new: NewMethod,
        goal: Goal,
        password: &SecretString,
    ) -> Result<Verdict<Setup>> {
        let entropy = draw_entropy()?;
        self.with_password(
            account,
            password,
            |r, c| core::setup::check_begin(r, c, &new, goal),
            |record, ctx, ok| core::setup::begin(record, ctx, &new, goal, ok, &entropy),
        )
        .await
    }

    /// Sends a new code for the pending email or SMS setup; the previous
    /// one stops working. At most one code every 30 s and five an hour
    /// ([`Error::RateLimited`]); asking never resets a failure count.
    /// Errors: [`Error::NoPendingSetup`], [`Error::WrongMethod`] for an app
    /// setup, [`Error::LockedOut`], [`Error::Delivery`].
    pub async fn resend_setup_code(&self, account: &Account) -> Result<Sent> {
        let entropy = draw_entropy()?;
        self.transact(account, |record, ctx| {
            core::setup::resend(record, ctx, &entropy)
        })
        .await
    }

    /// Confirms the pending setup with a code from the new method. On
    /// acceptance the method is on (or added, or the number replaced) and,
    /// when an email sender is set, the user is told.
    ///
    /// The confirming code cannot be used again at login. Errors:
    /// [`Error::NoPendingSetup`] (none begun, or it expired),
    /// [`Error::AlreadyEnabled`].
    pub async fn confirm_setup(&self, account: &Account, code: &str) -> Result<Verdict<Enabled>> {
        self.transact(account, |record, ctx| {
            core::setup::confirm(record, ctx, code)
        })
        .await
    }

    /// What to ask for after the password was right at login. When the
    /// primary method is email or SMS, a code is sent, unless one sent
    /// earlier still works; the answer says where. Errors:
    /// [`Error::RateLimited`], [`Error::Delivery`].
    pub async fn begin_login(&self, account: &Account) -> Result<LoginStep> {
        let entropy = draw_entropy()?;
        self.transact(account, |record, ctx| {
            core::login::begin(record, ctx, &entropy)
        })
        .await
    }

    /// Sends a login code by `method`, an enrolled email or SMS method: the
    /// "Send SMS code instead" link, and the "send again" one. The previous
    /// code stops working. Under the same limits as
    /// [`resend_setup_code`](Self::resend_setup_code). Errors:
    /// [`Error::NotEnabled`], [`Error::MethodNotEnrolled`],
    /// [`Error::WrongMethod`] for the app, [`Error::LockedOut`],
    /// [`Error::RateLimited`], [`Error::Delivery`].
    pub async fn send_code(&self, account: &Account, method: Method) -> Result<Sent> {
        let entropy = draw_entropy()?;
        self.transact(account, |record, ctx| {
            core::login::send(record, ctx, method, &entropy)
        })
        .await
    }

    /// Checks the second factor at login: a code from the authenticator
    /// app, if one is enrolled, or the emailed or texted login code last
    /// sent, whichever the user typed.
    ///
    /// A code must be exactly the policy's number of ASCII digits; anything
    /// else (spaces, signs, other scripts' digits, any length) is a
    /// rejection, counted like a wrong code. A code is accepted at most once,
    /// however many requests race; a sent code is void after five wrong
    /// tries. While locked out nothing is evaluated.
    /// Errors: [`Error::NotEnabled`].
    pub async fn verify_login(&self, account: &Account, code: &str) -> Result<Verdict<Verified>> {
        self.transact(account, |record, ctx| {
            core::login::verify(record, ctx, code)
        })
        .await
    }

    /// Removes the fallback `method`, once `password` is the account's.
    /// Errors: [`Error::NotEnabled`], [`Error::MethodNotEnrolled`],
    /// [`Error::WrongMethod`] for the primary method.
    pub async fn remove_fallback(
        &self,
        account: &Account,
        method: Method,
        password: &SecretString,
    ) -> Result<Verdict<()>> {
        self.with_password(
            account,
            password,
            |r, _| core::fallback::check_fallback(r, method),
            |record, ctx, ok| core::fallback::remove(record, ctx, method, ok),
        )
        .await
    }

    /// Makes the enrolled fallback `method` the one asked for first at
    /// login, once `password` is the account's. Errors as
    /// [`remove_fallback`](Self::remove_fallback).
    pub async fn set_primary(
        &self,
        account: &Account,
        method: Method,
        password: &SecretString,
    ) -> Result<Verdict<()>> {
        self.with_password(
            account,
            password,
            |r, _| core::fallback::check_fallback(r, method),
            |record, ctx, ok| core::fallback::set_primary(record, ctx, method, ok),
        )
        .await
    }

    /// Turns two-factor authentication off once `password` is the account's,
    /// forgetting every method, secret and number; when an email sender is
    /// set, the user is told. Failure counters, any lockout and the send
    /// limits stay. Errors: [`Error::NotEnabled`].
    pub async fn disable(&self, account: &Account, password: &SecretString) -> Result<Verdict<()>> {
        self.with_password(
            account,
            password,
            |r, _| core::disable::check(r),
            core::disable::disable,
        )
        .await
    }

    fn ctx<'a>(&'a self, account: &'a Account) -> Ctx<'a> {
        Ctx {
            now: self.inner.clock.now(),
            policy: &self.inner.policy,
            keys: &self.inner.keys,
            account,
            issuer: &self.inner.issuer,
            can_email: self.inner.email.is_some(),
            can_text: self.inner.sms.is_some(),
        }
    }

    async fn load(&self, account: &Account) -> Result<(Record, u64)> {
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

    /// A change that needs the password: `precheck` (state errors, before
    /// anything is tried) and the lockout on the current record, then the
    /// password (slow, so checked once, outside the retry loop), then
    /// `decide` with its result. Locked: `LockedOut`, no password tried.
    async fn with_password<T>(
        &self,
        account: &Account,
        password: &SecretString,
        precheck: impl Fn(&Record, &Ctx<'_>) -> Result<()>,
        mut decide: impl FnMut(Record, &Ctx<'_>, bool) -> Result<Decision<Verdict<T>>>,
    ) -> Result<Verdict<T>> {
        account.validate()?;
        let (record, _) = self.load(account).await?;
        let ctx = self.ctx(account);
        precheck(&record, &ctx)?;
        if let Some(until) = record.guard.locked(ctx.now) {
            return Ok(Verdict::LockedOut { until });
        }
        let ok = self
            .inner
            .passwords
            .verify(account, password)
            .await
            .map_err(Error::Password)?;
        self.transact(account, |record, ctx| decide(record, ctx, ok))
            .await
    }

    /// Load → decide → compare-and-swap save → effects, deciding again on a
    /// lost race, at most `policy.max_retries` times.
    async fn transact<R>(
        &self,
        account: &Account,
        mut decide: impl FnMut(Record, &Ctx<'_>) -> Result<Decision<R>>,
    ) -> Result<R> {
        account.validate()?;
        for _ in 0..=self.inner.policy.max_retries {
            let (record, version) = self.load(account).await?;
            let ctx = self.ctx(account);
            let decision = decide(record, &ctx)?;
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
            self.deliver(account, ctx.now, decision.effects).await?;
            return Ok(decision.reply);
        }
        Err(Error::Contention)
    }

    /// Runs a saved decision's effects. The change has happened, so a failed
    /// notice is logged (without the address), not returned; a code that
    /// could not be delivered is [`Error::Delivery`], after the other
    /// effects ran.
    async fn deliver(&self, account: &Account, now: Timestamp, effects: Vec<Effect>) -> Result<()> {
        let mut undelivered = None;
        for effect in effects {
            match effect {
                Effect::Event(kind, method) => {
                    let event = Event {
                        account: account.id().to_owned(),
                        kind,
                        method,
                        at: now,
                    };
                    self.inner.events.record(&event).await;
                }
                Effect::Notice(change) => {
                    let Some(email) = &self.inner.email else {
                        continue;
                    };
                    let message = Message::Notice(Notice {
                        change,
                        at: now,
                        issuer: self.inner.issuer.clone(),
                    });
                    if let Err(e) = email.send_email(account.email(), &message).await {
                        tracing::warn!(
                            target: "twofactor",
                            account = account.id(),
                            transient = e.is_transient(),
                            "security notice not delivered"
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
}

fn draw_entropy() -> Result<Entropy> {
    let mut entropy = Entropy {
        totp_secret: [0; TOTP_SECRET_LEN],
        nonce: [0; NONCE_LEN],
        code: [0; 8],
    };
    getrandom::fill(&mut entropy.totp_secret).map_err(|_| Error::Random)?;
    getrandom::fill(&mut entropy.nonce).map_err(|_| Error::Random)?;
    getrandom::fill(&mut entropy.code).map_err(|_| Error::Random)?;
    Ok(entropy)
}

/// Configures a [`TwoFactor`]. `issuer`, `key`, `store` and `passwords` are
/// required; the clock defaults to [`SystemClock`], events to
/// [`TracingEvents`], the policy to [`Policy::default`]. Without `email`,
/// no security notices are sent and the email method cannot be set up;
/// without `sms`, the SMS method cannot.
#[derive(Default)]
pub struct TwoFactorBuilder {
    issuer: Option<String>,
    key: Option<MasterKey>,
    store: Option<Arc<dyn UserStore>>,
    passwords: Option<Arc<dyn PasswordVerifier>>,
    clock: Option<Arc<dyn Clock>>,
    events: Option<Arc<dyn EventSink>>,
    email: Option<Arc<dyn EmailSender>>,
    sms: Option<Arc<dyn SmsSender>>,
    policy: Policy,
}

impl fmt::Debug for TwoFactorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwoFactorBuilder")
            .field("issuer", &self.issuer)
            .field("key", &self.key)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl TwoFactorBuilder {
    /// The service's name, shown in authenticator apps and notices. No `:`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The master key every stored secret is sealed under.
    pub fn key(mut self, key: MasterKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Where records are kept.
    pub fn store(mut self, store: impl UserStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// How account passwords are checked before security changes.
    pub fn passwords(mut self, passwords: impl PasswordVerifier + 'static) -> Self {
        self.passwords = Some(Arc::new(passwords));
        self
    }

    /// Where the time is read.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Where audit events go.
    pub fn events(mut self, events: impl EventSink + 'static) -> Self {
        self.events = Some(Arc::new(events));
        self
    }

    /// How security notices are emailed.
    pub fn email(mut self, email: impl EmailSender + 'static) -> Self {
        self.email = Some(Arc::new(email));
        self
    }

    /// How codes are texted.
    pub fn sms(mut self, sms: impl SmsSender + 'static) -> Self {
        self.sms = Some(Arc::new(sms));
        self
    }

    /// The rules, instead of the defaults.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The configured [`TwoFactor`], or [`Error::Config`] saying what is
    /// missing or wrong.
    pub fn build(self) -> Result<TwoFactor> {
        let issuer = self.issuer.ok_or(Error::Config("an issuer is required"))?;
        if issuer.is_empty() || issuer.contains(':') || issuer.chars().any(char::is_control) {
            return Err(Error::Config(
                "the issuer must be non-empty, with no ':' or control characters",
            ));
        }
        self.policy.validate().map_err(Error::Config)?;
        let key = self.key.ok_or(Error::Config("a master key is required"))?;
        Ok(TwoFactor {
            inner: Arc::new(Inner {
                issuer,
                keys: Keys::derive(&key)?,
                policy: self.policy,
                store: self.store.ok_or(Error::Config("a store is required"))?,
                passwords: self
                    .passwords
                    .ok_or(Error::Config("a password verifier is required"))?,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                events: self.events.unwrap_or_else(|| Arc::new(TracingEvents)),
                email: self.email,
                sms: self.sms,
            }),
        })
    }
}
