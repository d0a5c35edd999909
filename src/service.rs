//! [`TwoFactor`]: the one place that does I/O. Every call loads the record,
//! asks the core, saves with the version it loaded (compare-and-swap), and
//! only then delivers effects; a save that lost a race is decided again on
//! the fresh record.

use std::fmt;
use std::sync::Arc;

use secrecy::SecretString;

use crate::account::Account;
use crate::clock::{Clock, SystemClock, Timestamp};
use crate::core::{self, Ctx, Decision, Effect, Entropy, Proofs};
use crate::error::{Error, Result};
use crate::event::{Event, TracingEvents};
use crate::message::{Message, Notice};
use crate::methods::phone::PhoneNumber;
use crate::methods::recovery as recovery_codes;
use crate::methods::seal::{Keys, MasterKey};
use crate::policy::Policy;
use crate::ports::{EmailSender, EventSink, PasswordVerifier, SaveOutcome, SmsSender, UserStore};
use crate::record::{Goal, Record};
use crate::setup::{Enabled, Keep, NewMethod, Reauth, RecoveryCodes, Setup};
use crate::status::{Admin, Method, Page, Status};
use crate::verdict::{DeviceInfo, LoginStep, Sent, Verdict, Verified};

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
        let (record, _) = self.load(account).await?;
        core::status::status(&record, &self.ctx(account, None))
    }

    /// The account's security stamp: a value that changes with every change
    /// of its factors (turned on or off, switched, a method added or
    /// removed, a new number, new recovery codes, a reset). Keep it in each
    /// session and end sessions whose stamp is no longer current. `None`
    /// until two-factor authentication was first turned on.
    pub async fn security_stamp(&self, account: &Account) -> Result<Option<String>> {
        let (record, _) = self.load(account).await?;
        Ok(record.stamp)
    }

    /// Begins setting up `method`, once the password is the account's.
    ///
    /// - [`NewMethod::App`]: the answer holds the secret, the key URI and its
    ///   QR code; show them, then ask for a code from the app.
    /// - [`NewMethod::Email`] / [`NewMethod::Sms`]: a code is sent to the
    ///   account's address or the number; the answer says where (masked).
    ///   [`resend_setup_code`](Self::resend_setup_code) sends another.
    ///
    /// Then call [`confirm_setup`](Self::confirm_setup). A second call
    /// replaces the first setup; [`cancel_setup`](Self::cancel_setup) drops
    /// it. Until confirmed, nothing changes at login.
    ///
    /// While two-factor authentication is on, this **switches** method: the
    /// new method replaces the primary one when confirmed, and the old one
    /// protects every login until then. With
    /// [`Policy::switch_needs_code`](crate::Policy::switch_needs_code) (the
    /// default) a switch needs a current code of the method in force too:
    /// pass [`Reauth::with_code`]. While suspended, it starts over.
    ///
    /// A wrong password or code is a [`Verdict::Rejected`] and counts
    /// towards the lockout. Errors: [`Error::CodeRequired`],
    /// [`Error::InvalidAccount`], [`Error::RateLimited`], [`Error::Delivery`],
    /// [`Error::Config`] when no sender is configured for the method.
    pub async fn begin_setup<'a>(
        &self,
        account: &Account,
        method: NewMethod,
        reauth: impl Into<Reauth<'a>>,
    ) -> Result<Verdict<Setup>> {
        self.begin_goal(account, method, Goal::TurnOn, reauth.into())
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
        self.begin_goal(account, method, Goal::AddFallback, password.into())
            .await
    }

    /// Begins replacing the SMS number: a code goes to `number`, and only
    /// when it is confirmed with [`confirm_setup`](Self::confirm_setup) does
    /// the new number replace the old, which works until then. Errors:
    /// [`Error::MethodNotEnrolled`] when SMS is not enrolled, and those of
    /// `begin_setup`.
    pub async fn change_phone(
        &self,
        account: &Account,
        number: PhoneNumber,
        password: &SecretString,
    ) -> Result<Verdict<Setup>> {
        let new = NewMethod::Sms(number);
        self.begin_goal(account, new, Goal::ReplaceNumber, password.into())
            .await
    }

    async fn begin_goal(
        &self,
        account: &Account,
        new: NewMethod,
        goal: Goal,
        reauth: Reauth<'_>,
    ) -> Result<Verdict<Setup>> {
        let code_given = reauth.code.is_some();
        self.with_password(
            account,
            reauth,
            |r, c| core::setup::check_begin(r, c, &new, goal, code_given),
            |record, ctx, proofs| core::setup::begin(record, ctx, &new, goal, proofs),
        )
        .await
    }

    /// Sends a new code for the pending email or SMS setup; the previous
    /// one stops working. At most one code every 30 s and five an hour
    /// ([`Error::RateLimited`]); asking never resets a failure count.
    /// Errors: [`Error::NoPendingSetup`], [`Error::WrongMethod`] for an app
    /// setup, [`Error::LockedOut`], [`Error::Delivery`].
    pub async fn resend_setup_code(&self, account: &Account) -> Result<Sent> {
        self.transact(account, core::setup::resend).await
    }

    /// Drops the pending setup (or switch, or new number): everything stays
    /// as it was before it began. Errors: [`Error::NoPendingSetup`].
    pub async fn cancel_setup(&self, account: &Account) -> Result<()> {
        self.transact_with(account, None, |record, _| core::setup::cancel(record))
            .await
    }

    /// Confirms the pending setup with a code from the new method. On
    /// acceptance the method is on (or switched to, added, or the number
    /// replaced) and, when an email sender is set, the user is told. When
    /// two-factor authentication was turned on just now, the answer holds
    /// the recovery codes, to show once.
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

    /// What to ask for after the password was right at login.
    ///
    /// `device` is the token from a "remember this device" cookie, if the
    /// browser sent one: a live one skips the code
    /// ([`LoginStep::Trusted`]). When the primary method is email or SMS, a
    /// code is sent, unless one sent earlier still works; the answer says
    /// where. Errors: [`Error::RateLimited`], [`Error::Delivery`].
    pub async fn begin_login(&self, account: &Account, device: Option<&str>) -> Result<LoginStep> {
        self.transact(account, |record, ctx| {
            core::login::begin(record, ctx, device)
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
        self.transact(account, |record, ctx| {
            core::login::send(record, ctx, method)
        })
        .await
    }

    /// Checks the second factor at login: a code from the authenticator
    /// app, the emailed or texted login code last sent, or a recovery code
    /// (`7ABC-DEFG-HJKM`; case, spaces and dashes do not matter), whichever
    /// the user typed.
    ///
    /// A one-time code must be exactly the policy's number of ASCII digits;
    /// anything else is a rejection, counted like a wrong code. A code is
    /// accepted at most once, however many requests race; a sent code is
    /// void after five wrong tries; a recovery code costs one argon2id
    /// computation to check. While locked out nothing is evaluated.
    ///
    /// With `remember` (a label for the device, e.g. "Firefox on Linux"),
    /// an acceptance also remembers the device: put
    /// [`Verified::device`]'s token in a cookie. Errors: [`Error::NotEnabled`].
    pub async fn verify_login(
        &self,
        account: &Account,
        code: &str,
        remember: Option<&str>,
    ) -> Result<Verdict<Verified>> {
        let hit = match recovery_codes::parse(code) {
            Some(_) => match self.check_recovery(account, code).await? {
                Ok(hit) => hit,
                Err(until) => return Ok(Verdict::LockedOut { until }),
            },
            None => None,
        };
        // Randomness only for a device to remember.
        let entropy = remember.map(|_| draw()).transpose()?;
        self.transact_with(account, entropy.as_ref(), |record, ctx| {
            core::login::verify(record, ctx, code, hit.as_ref(), remember)
        })
        .await
    }

    /// The argon2id check of a recovery code, outside the decision loop:
    /// one computation, on the current record, unless locked.
    async fn check_recovery(
        &self,
        account: &Account,
        code: &str,
    ) -> Result<Result<Option<core::recovery::RecoveryHit>, Timestamp>> {
        let (record, _) = self.load(account).await?;
        if let Some(until) = record.guard.locked(self.inner.clock.now()) {
            return Ok(Err(until));
        }
        let (cost, slots) = match record.recovery {
            Some(set) => (set.cost, set.slots),
            None => (
                recovery_codes::Cost::from(&self.inner.policy.recovery),
                Vec::new(),
            ),
        };
        let index = recovery_codes::check(&slots, cost, account.id(), code);
        Ok(Ok(index.and_then(|index| {
            let slot = slots.get(index).cloned().flatten()?;
            Some(core::recovery::RecoveryHit { index, slot })
        })))
    }

    /// A new set of ten recovery codes, to show once, once `password` is the
    /// account's; the old codes stop working. Errors: [`Error::NotEnabled`].
    pub async fn regenerate_recovery_codes(
        &self,
        account: &Account,
        password: &SecretString,
    ) -> Result<Verdict<RecoveryCodes>> {
        self.with_password(
            account,
            password.into(),
            |r, _| match core::setup::active(r) {
                Some(_) => Ok(()),
                None => Err(Error::NotEnabled),
            },
            |record, ctx, proofs| core::recovery::regenerate(record, ctx, proofs.password_ok),
        )
        .await
    }

    /// The devices remembered now, for an account page.
    pub async fn devices(&self, account: &Account) -> Result<Vec<DeviceInfo>> {
        let (record, _) = self.load(account).await?;
        Ok(core::device::list(&record, self.inner.clock.now()))
    }

    /// Forgets the remembered device `id`: it will be asked for a code
    /// again. Errors: [`Error::NoSuchDevice`].
    pub async fn revoke_device(&self, account: &Account, id: &str) -> Result<()> {
        self.transact_with(account, None, |record, _| {
            core::device::revoke(record, Some(id))
        })
        .await
        .map(|_| ())
    }

    /// Forgets every remembered device; how many there were.
    pub async fn revoke_all_devices(&self, account: &Account) -> Result<usize> {
        self.transact_with(account, None, |record, _| {
            core::device::revoke(record, None)
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
            password.into(),
            |r, _| core::fallback::check_fallback(r, method),
            |record, ctx, proofs| core::fallback::remove(record, ctx, method, proofs.password_ok),
        )
        .await
    }

    /// Makes the enrolled fallback `method` the one asked for first at
    /// login, once `password` is the account's. Remembered devices ask
    /// again. Errors as [`remove_fallback`](Self::remove_fallback).
    pub async fn set_primary(
        &self,
        account: &Account,
        method: Method,
        password: &SecretString,
    ) -> Result<Verdict<()>> {
        self.with_password(
            account,
            password.into(),
            |r, _| core::fallback::check_fallback(r, method),
            |record, ctx, proofs| {
                core::fallback::set_primary(record, ctx, method, proofs.password_ok)
            },
        )
        .await
    }

    /// Turns two-factor authentication off once `password` is the account's;
    /// when an email sender is set, the user is told.
    ///
    /// - [`Keep::Settings`]: suspended. The password alone logs in;
    ///   [`reenable`](Self::reenable) with a current code brings the same
    ///   secret or number back without a new scan.
    /// - [`Keep::Nothing`]: off, with every method, secret, number, recovery
    ///   code and pending code forgotten (also settings kept earlier).
    ///
    /// Either way remembered devices are forgotten; failure counters, any
    /// lockout and the send limits stay. Errors: [`Error::NotEnabled`].
    pub async fn disable(
        &self,
        account: &Account,
        password: &SecretString,
        keep: Keep,
    ) -> Result<Verdict<()>> {
        self.with_password(
            account,
            password.into(),
            |r, _| core::disable::check(r, keep),
            |record, ctx, proofs| core::disable::disable(record, ctx, keep, proofs.password_ok),
        )
        .await
    }

    /// Turns two-factor authentication back on with the settings kept by
    /// [`disable`](Self::disable), once `password` is the account's and
    /// `code` is a current code of a kept method (for email or SMS, ask for
    /// one with [`send_code`](Self::send_code) first): the code proves the
    /// user still has it. Errors: [`Error::NotEnabled`] (nothing kept),
    /// [`Error::AlreadyEnabled`].
    pub async fn reenable(
        &self,
        account: &Account,
        password: &SecretString,
        code: &str,
    ) -> Result<Verdict<()>> {
        self.with_password(
            account,
            Reauth::with_code(password, code),
            |r, _| core::disable::check_reenable(r),
            core::disable::reenable,
        )
        .await
    }

    /// A page of accounts with their state and methods, for an
    /// administration page: up to `limit`, in ascending order of id, after
    /// `after`. Reveals no secret, address or number; an unreadable record
    /// is listed as [`State::Unreadable`](crate::State::Unreadable).
    pub async fn admin_list(&self, after: Option<&str>, limit: usize) -> Result<Page> {
        let listed = self
            .inner
            .store
            .list(after, limit)
            .await
            .map_err(Error::Store)?;
        let next = (listed.len() == limit && limit > 0)
            .then(|| listed.last().map(|l| l.user.clone()))
            .flatten();
        let now = self.inner.clock.now();
        let accounts = listed
            .into_iter()
            .map(|l| core::admin::summary(l.user, Record::decode(&l.stored.document), now))
            .collect();
        Ok(Page { accounts, next })
    }

    /// Deletes the account's setup for a user who lost the phone, as the
    /// user's own delete does: the password alone logs in until it is set
    /// up again. Reported as an audit event naming `admin` and `reason`,
    /// and the user is emailed. Errors: [`Error::NotEnabled`].
    pub async fn admin_reset(&self, admin: &Admin, account: &Account, reason: &str) -> Result<()> {
        self.transact(account, |record, ctx| {
            core::admin::reset(record, ctx, admin, reason)
        })
        .await
    }

    fn ctx<'a>(&'a self, account: &'a Account, entropy: Option<&'a Entropy>) -> Ctx<'a> {
        Ctx {
            entropy,
            now: self.inner.clock.now(),
            policy: &self.inner.policy,
            keys: &self.inner.keys,
            account,
            issuer: &self.inner.issuer,
            can_email: self.inner.email.is_some(),
            can_text: self.inner.sms.is_some(),
        }
    }

    /// The account's record and its version; the one place an account id
    /// is checked before it reaches the store.
    async fn load(&self, account: &Account) -> Result<(Record, u64)> {
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

    /// A change that needs the password: `precheck` (state errors, before
    /// anything is tried) and the lockout on the current record, then the
    /// password (slow, so checked once, outside the retry loop), then
    /// `decide` with its result. Locked: `LockedOut`, no password tried.
    async fn with_password<T>(
        &self,
        account: &Account,
        reauth: Reauth<'_>,
        precheck: impl Fn(&Record, &Ctx<'_>) -> Result<()>,
        mut decide: impl FnMut(Record, &Ctx<'_>, Proofs<'_>) -> Result<Decision<Verdict<T>>>,
    ) -> Result<Verdict<T>> {
        let entropy = draw()?;
        let (record, _) = self.load(account).await?;
        let ctx = self.ctx(account, Some(&entropy));
        precheck(&record, &ctx)?;
        if let Some(until) = record.guard.locked(ctx.now) {
            return Ok(Verdict::LockedOut { until });
        }
        let password_ok = self
            .inner
            .passwords
            .verify(account, reauth.password)
            .await
            .map_err(Error::Password)?;
        let proofs = Proofs {
            password_ok,
            code: reauth.code,
        };
        self.transact_with(account, Some(&entropy), |record, ctx| {
            decide(record, ctx, proofs)
        })
        .await
    }

    /// Load → decide → compare-and-swap save → effects, deciding again on a
    /// lost race, at most `policy.max_retries` times.
    async fn transact<R>(
        &self,
        account: &Account,
        decide: impl FnMut(Record, &Ctx<'_>) -> Result<Decision<R>>,
    ) -> Result<R> {
        let entropy = draw()?;
        self.transact_with(account, Some(&entropy), decide).await
    }

    /// [`transact`](Self::transact) with entropy already drawn, or none for
    /// a decision that needs none. One draw serves every retry: a lost
    /// attempt's output was never stored.
    async fn transact_with<R>(
        &self,
        account: &Account,
        entropy: Option<&Entropy>,
        mut decide: impl FnMut(Record, &Ctx<'_>) -> Result<Decision<R>>,
    ) -> Result<R> {
        for _ in 0..=self.inner.policy.max_retries {
            let (record, version) = self.load(account).await?;
            let ctx = self.ctx(account, entropy);
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

/// Random bytes for one call, in one system call.
fn draw() -> Result<Entropy> {
    Entropy::draw(getrandom::fill).map_err(|_| Error::Random)
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
