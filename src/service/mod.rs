//! [`TwoFactor`]: the one place that does I/O. Every call works out its slow
//! inputs once, loads the record, asks the core, saves with the version it
//! loaded (compare-and-swap), and only then delivers effects; a save that
//! lost a race is decided again on the fresh record.

mod builder;
mod counters;
mod effects;
mod engine;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use secrecy::SecretString;

pub use builder::TwoFactorBuilder;
use engine::{draw, Typed};

use crate::core::inputs::Inputs;
use crate::core::stepup::{Presented, Rule};
use crate::core::{self, Ctx, Decision};
use crate::crypto::keys::Keys;
use crate::error::{Error, Result};
use crate::model::account::Account;
use crate::model::import::{ExportedApp, ImportedApp};
use crate::model::key::{KeyRequest, Response};
use crate::model::message::Purpose;
use crate::model::phone::PhoneNumber;
use crate::model::reauth::{Given, Reauth};
use crate::model::requirement::Requirement;
use crate::model::setup::{
    Changed, Enabled, Keep, NewAuthenticator, NewMethod, Regenerated, Setup,
};
use crate::model::source::Source;
use crate::model::status::{AccountSummary, AdminAction, AuthenticatorInfo, Method, Page, Status};
use crate::model::time::Timestamp;
use crate::model::verdict::{DeviceInfo, Grant, LoginStep, Sent, SignInCheck, Verdict, Verified};
use crate::policy::{FactorChange, Policy};
use crate::ports::Clock;
use crate::ports::{
    AdminPolicy, EmailSender, EventSink, LimitStore, Offload, PasswordCheck, RequirementPolicy,
    SmsSender, Stored, UserStore,
};
use crate::record::{Goal, Record};

/// What [`TwoFactor::rotate_keys`] did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rotation {
    /// Accounts looked at.
    pub done: u64,
    /// Accounts stored when the run began.
    pub total: u64,
    /// Records sealed again under the current key.
    pub resealed: u64,
    /// Records that could not be read, left as they were.
    pub unreadable: u64,
}

/// Two-factor authentication for a web application. Cheap to clone; clones
/// share everything. Build one with [`TwoFactor::builder`].
///
/// Calls that take a code or a password are also limited per request
/// source, across accounts, when the host says where the request comes
/// from: `tf.with_source(client_ip).verify_login(…)`.
#[derive(Clone)]
pub struct TwoFactor {
    inner: Arc<Inner>,
    source: Option<Source>,
    /// What the host requires of the account of the call under way, when
    /// the call asked (see `required`).
    requirement: Requirement,
}

struct Inner {
    issuer: String,
    keys: Keys,
    policy: Policy,
    store: Arc<dyn UserStore>,
    limits: Arc<dyn LimitStore>,
    passwords: Arc<dyn PasswordCheck>,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
    email: Option<Arc<dyn EmailSender>>,
    sms: Option<Arc<dyn SmsSender>>,
    #[cfg(feature = "webauthn")]
    security_keys: Option<crate::provided::security_keys::SecurityKeys>,
    admins: Arc<dyn AdminPolicy>,
    requirements: Arc<dyn RequirementPolicy>,
    /// Where slow work runs.
    offload: Arc<dyn Offload>,
    /// Sources this instance saw throttled, and until when.
    throttled: Mutex<HashMap<String, Timestamp>>,
    /// Requests of this instance on one counter take turns (a lock per
    /// stripe of keys), so that a hot counter is contended by one request
    /// per instance at most, not by every request at once.
    counter_turns: Vec<futures_util::lock::Mutex<()>>,
    /// When this instance last purged expired limit counters.
    last_purge: Mutex<Option<Timestamp>>,
}

impl fmt::Debug for TwoFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwoFactor")
            .field("issuer", &self.inner.issuer)
            .field("key", &"[REDACTED]")
            .field("policy", &self.inner.policy)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Stripes of counter keys that take turns within an instance.
const COUNTER_STRIPES: usize = 256;

impl TwoFactor {
    /// Starts a [`TwoFactorBuilder`].
    pub fn builder() -> TwoFactorBuilder {
        TwoFactorBuilder::default()
    }

    /// The rules in force.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// The time by the service's clock.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// Whether `method` can be set up with this service: an app always;
    /// email, SMS and security keys when their sender or
    /// security keys (`TwoFactorBuilder::security_keys`, feature `webauthn`) were
    /// configured. For a page that offers only what will work.
    pub fn offers(&self, method: Method) -> bool {
        match method {
            Method::App => true,
            Method::Email => self.inner.email.is_some(),
            Method::Sms => self.inner.sms.is_some(),
            #[cfg(feature = "webauthn")]
            Method::Key => self.inner.security_keys.is_some(),
            #[cfg(not(feature = "webauthn"))]
            Method::Key => false,
        }
    }

    /// The same service for one request from `source` (the client's IP
    /// address, say): failed attempts and codes sent are then also limited
    /// per source, across accounts ([`LimitPolicy`](crate::LimitPolicy)).
    /// Cheap: a clone sharing everything.
    ///
    /// ```
    /// # fn f(tf: &twofactor::TwoFactor, peer: std::net::SocketAddr) {
    /// let tf = tf.with_source(peer); // per request, from the connection or a trusted proxy header
    /// # }
    /// ```
    pub fn with_source(&self, source: impl Into<Source>) -> TwoFactor {
        TwoFactor {
            inner: self.inner.clone(),
            source: Some(source.into()),
            requirement: self.requirement,
        }
    }

    /// Whether, and how, the account is protected.
    pub async fn status(&self, account: &Account) -> Result<Status> {
        let (record, _) = self.load(account).await?;
        core::view::status(&record, &self.ctx(account))
    }

    /// The account's security stamp: a value that changes with every change
    /// of its factors (turned on or off, switched, a method added or
    /// removed, a new number, new recovery codes, a reset). Keep it in each
    /// session and end sessions whose stamp is no longer current. `None`
    /// until two-factor authentication was first turned on. The user's own
    /// changes answer with the new stamp ([`Enabled::stamp`],
    /// [`Changed::stamp`], [`Regenerated::stamp`]), so the session making
    /// the change can keep it without asking again.
    pub async fn security_stamp(&self, account: &Account) -> Result<Option<String>> {
        let (record, _) = self.load(account).await?;
        Ok(record.stamp)
    }

    /// Runs the host's own sign-in password check (`check`, which answers
    /// whether the password was right) under the same per-source failure
    /// limit as codes ([`LimitPolicy::source_failures_per_hour`](crate::LimitPolicy),
    /// 50 an hour by default): a failure is counted against the request's
    /// source (see [`with_source`](Self::with_source)) before the check
    /// runs, so parallel guesses are held exactly like serial ones, and
    /// given back when the password was right. A throttled source's
    /// password is not checked at all. Wrong passwords do not lock the
    /// account (that would let anyone lock anyone out); they count against
    /// the source only. For a user name that does not exist, call it all
    /// the same with an account of that name and a check that answers
    /// `false`, so that guessing names is throttled too. Without a source,
    /// it runs the check and counts nothing.
    pub async fn check_sign_in<F>(&self, account: &Account, check: F) -> Result<SignInCheck>
    where
        F: std::future::Future<Output = bool> + Send,
    {
        let attempt = async {
            let right = check.await;
            let verdict = if right {
                Verdict::Accepted(())
            } else {
                Verdict::Rejected {
                    attempts_left: 0,
                    reason: crate::model::verdict::Rejection::WrongPassword,
                }
            };
            Ok((verdict, !right))
        };
        Ok(match self.guarded(account, attempt).await? {
            Verdict::Accepted(()) => SignInCheck::Right,
            Verdict::Throttled { until } | Verdict::LockedOut { until } => {
                SignInCheck::Throttled { until }
            }
            Verdict::Rejected { .. } => SignInCheck::Wrong,
        })
    }

    /// Begins setting up `method`.
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
    /// Turning two-factor authentication on for the first time needs the
    /// password ([`Reauth::password`], or a `&SecretString`). While it is on
    /// this **switches** method (the new method replaces the primary one
    /// when confirmed; the old one protects every login until then), and
    /// while suspended it starts over: both are factor changes, which need
    /// the password and a current second factor, or a step-up grant
    /// ([`Reauth::with_code`], [`Reauth::grant`]).
    ///
    /// A wrong password or code is a [`Verdict::Rejected`] and counts
    /// towards the lockout. Errors: [`Error::StepUpRequired`],
    /// [`Error::InvalidAccount`], [`Error::RateLimited`], [`Error::Delivery`],
    /// [`Error::Config`] when no sender is configured for the method.
    pub async fn begin_setup<'a>(
        &self,
        account: &Account,
        method: impl Into<NewAuthenticator>,
        reauth: impl Into<Reauth<'a>>,
    ) -> Result<Verdict<Setup>> {
        self.begin_goal(account, method.into(), Goal::TurnOn, reauth.into())
            .await
    }

    /// Begins adding an authenticator while two-factor authentication is
    /// on, under the step-up rule; the same ceremony as
    /// [`begin_setup`](Self::begin_setup), confirmed with
    /// [`confirm_setup`](Self::confirm_setup). The authenticators already
    /// set up keep working meanwhile, and the primary method stays.
    ///
    /// A user may hold several authenticator apps (a second phone, a
    /// tablet), up to [`AuthenticatorPolicy::max_apps`](crate::AuthenticatorPolicy::max_apps),
    /// each named: `NewMethod::App.labelled("Pixel 8")`; email and SMS
    /// once each. Errors: [`Error::NotEnabled`],
    /// [`Error::MethodAlreadySetUp`] (email or SMS),
    /// [`Error::TooManyAuthenticators`], [`Error::InvalidLabel`], and those
    /// of `begin_setup`.
    pub async fn add_fallback<'a>(
        &self,
        account: &Account,
        method: impl Into<NewAuthenticator>,
        reauth: impl Into<Reauth<'a>>,
    ) -> Result<Verdict<Setup>> {
        self.begin_goal(account, method.into(), Goal::AddFallback, reauth.into())
            .await
    }

    /// Begins replacing the SMS number, under the step-up rule: a code goes
    /// to `number`, and only when it is confirmed with
    /// [`confirm_setup`](Self::confirm_setup) does the new number replace
    /// the old, which works until then. The old number is then told by
    /// text, and remembered devices ask for a code again. Errors:
    /// [`Error::MethodNotSetUp`] when SMS is not set up, and those of
    /// `begin_setup`.
    pub async fn change_phone<'a>(
        &self,
        account: &Account,
        number: PhoneNumber,
        reauth: impl Into<Reauth<'a>>,
    ) -> Result<Verdict<Setup>> {
        let new = NewAuthenticator::from(NewMethod::Sms(number));
        self.begin_goal(account, new, Goal::ReplaceNumber, reauth.into())
            .await
    }

    async fn begin_goal(
        &self,
        account: &Account,
        new: NewAuthenticator,
        goal: Goal,
        reauth: Reauth<'_>,
    ) -> Result<Verdict<Setup>> {
        self.gated(
            account,
            reauth,
            |r| Rule::Change(core::ceremony::change_of(core::ceremony::resolve(r, goal))),
            |r, c| core::ceremony::check_begin(r, c, &new, goal),
            |record, ctx, presented, _| core::ceremony::begin(record, ctx, &new, goal, presented),
        )
        .await
    }

    /// Shows the pending setup again, as [`begin_setup`](Self::begin_setup)
    /// answered it, for a page that was reloaded: an app's **same** secret,
    /// key URI and QR code (nothing new to scan), or where an email or SMS
    /// setup's code went (its `expires` in the past when it lapsed: send
    /// another with [`resend_setup_code`](Self::resend_setup_code)). The
    /// setup's own expiry is unchanged. A security key's registration is
    /// not shown again ([`Error::WrongMethod`]): begin it again.
    ///
    /// It shows a secret, so it asks what beginning asked: the password
    /// before two-factor authentication is first on; while a factor is set
    /// up (a switch or a new method pending), the step-up rule
    /// ([`FactorChange::ShowPendingSetup`](crate::FactorChange::ShowPendingSetup)),
    /// which the grant that began the setup meets while it lives. Errors:
    /// [`Error::NoPendingSetup`] (none, or it lapsed),
    /// [`Error::StepUpRequired`].
    pub async fn pending_setup<'a>(
        &self,
        account: &Account,
        reauth: impl Into<Reauth<'a>>,
    ) -> Result<Verdict<Setup>> {
        self.gated(
            account,
            reauth.into(),
            |_| Rule::Change(FactorChange::ShowPendingSetup),
            core::ceremony::check_show,
            |record, ctx, presented, _| core::ceremony::show(record, ctx, presented),
        )
        .await
    }

    /// Sends a new code for the pending email or SMS setup; the previous
    /// one stops working. At most one code every 30 s and five an hour
    /// ([`Error::RateLimited`]); asking never resets a failure count.
    /// Errors: [`Error::NoPendingSetup`], [`Error::WrongMethod`] for an app
    /// or a security-key setup, [`Error::RateLimited`] (also while locked out), [`Error::Delivery`].
    pub async fn resend_setup_code(&self, account: &Account) -> Result<Sent> {
        let entropy = draw()?;
        self.transact(account, Some(&entropy), core::ceremony::resend)
            .await
            .map(|(sent, _)| sent)
    }

    /// Drops the pending setup (or switch, or new number): everything stays
    /// as it was before it began. While a factor is on, under the step-up
    /// rule, so that a stolen session cannot stop a user's change; before,
    /// with the password. Errors: [`Error::NoPendingSetup`],
    /// [`Error::StepUpRequired`].
    pub async fn cancel_setup<'a>(
        &self,
        account: &Account,
        reauth: impl Into<Reauth<'a>>,
    ) -> Result<Verdict<()>> {
        self.gated(
            account,
            reauth.into(),
            |_| Rule::Change(FactorChange::CancelSetup),
            |r, _| core::ceremony::check_cancel(r),
            |record, ctx, presented, _| core::ceremony::cancel(record, ctx, presented),
        )
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
    pub async fn confirm_setup<'a>(
        &self,
        account: &Account,
        code: impl Into<Response<'a>>,
    ) -> Result<Verdict<Enabled>> {
        let response = code.into();
        let code = response.as_str();
        let entropy = draw()?;
        let run = self.run(
            account,
            Some(&entropy),
            Typed::code(code),
            core::ceremony::prepare_confirm,
            |record, ctx, inputs| core::ceremony::confirm(record, ctx, code, inputs),
        );
        self.guarded(account, run).await
    }

    /// What to ask for after the password was right at login.
    ///
    /// `device` is the token from a "remember this device" cookie, if the
    /// browser sent one: a live one skips the code
    /// ([`LoginStep::Trusted`]). When the primary method is email or SMS, a
    /// code is sent, unless one sent earlier still works; the answer says
    /// where, or (`retry_after`) that a send limit holds it back for now.
    /// After an administrator's reset (by policy) it answers
    /// [`LoginStep::SetupRequired`]. Errors: [`Error::Delivery`].
    pub async fn begin_login(&self, account: &Account, device: Option<&str>) -> Result<LoginStep> {
        let entropy = draw()?;
        self.required(account)
            .await
            .transact(account, Some(&entropy), |record, ctx| {
                core::login::begin(record, ctx, device)
            })
            .await
            .map(|(step, _)| step)
    }

    /// Sends a login code by `method`, an email or SMS method set up: the
    /// "Send SMS code instead" link, and the "send again" one. The previous
    /// code stops working. Under the send limits of the account, the
    /// destination and the source. Errors: [`Error::NotEnabled`] (also
    /// while suspended: the password alone logs in then),
    /// [`Error::MethodNotSetUp`], [`Error::WrongMethod`] for the app,
    /// [`Error::RateLimited`] (also while locked out, until the lockout ends), [`Error::Delivery`].
    pub async fn send_code(&self, account: &Account, method: Method) -> Result<Sent> {
        self.send(account, method, Purpose::Login).await
    }

    /// Sends a code by `method` for a step-up: the "text me a code" link
    /// beside a form that asks for the password and a current second
    /// factor (a switch, disabling, [`step_up`](Self::step_up),
    /// [`reenable`](Self::reenable)). Its message says it is for a change
    /// of security settings; it is no good for logging in, nor a login
    /// code for this. Also while suspended. Errors as
    /// [`send_code`](Self::send_code).
    pub async fn send_step_up_code(&self, account: &Account, method: Method) -> Result<Sent> {
        self.send(account, method, Purpose::StepUp).await
    }

    async fn send(&self, account: &Account, method: Method, purpose: Purpose) -> Result<Sent> {
        let entropy = draw()?;
        self.transact(account, Some(&entropy), |record, ctx| {
            core::login::send(record, ctx, method, purpose)
        })
        .await
        .map(|(sent, _)| sent)
    }

    /// Checks the second factor at login: a code from the authenticator
    /// app, the emailed or texted login code last sent, or a recovery code
    /// (`7ABC-DEFG-HJKM`; case, spaces and dashes do not matter), whichever
    /// the user typed.
    ///
    /// A one-time code must be exactly the policy's number of ASCII digits;
    /// anything else is a rejection ([`Rejection::Malformed`](crate::Rejection::Malformed)),
    /// counted like a wrong code. A code is accepted at most once, however
    /// many requests race; a sent code is void after five wrong tries; a
    /// recovery code costs one argon2id computation to check. While locked
    /// out nothing is evaluated; from a throttled source neither
    /// ([`Verdict::Throttled`]). A step-up grant is never accepted here.
    ///
    /// With `remember` (a label for the device, e.g. "Firefox on Linux"),
    /// an acceptance also remembers the device: put
    /// [`Verified::device`]'s token in a cookie. Errors: [`Error::NotEnabled`].
    pub async fn verify_login<'a>(
        &self,
        account: &Account,
        code: impl Into<Response<'a>>,
        remember: Option<&str>,
    ) -> Result<Verdict<Verified>> {
        let response = code.into();
        let code = response.as_str();
        // Randomness only for a device to remember.
        let entropy = remember.map(|_| draw()).transpose()?;
        let this = self.required(account).await;
        let run = this.run(
            account,
            entropy.as_ref(),
            Typed::code(code),
            |record, ctx| core::login::prepare_verify(record, ctx, code),
            |record, ctx, inputs| {
                core::login::verify(record, ctx, code, inputs.recovery.as_ref(), remember)
            },
        );
        this.guarded(account, run).await
    }

    /// A step-up ("sudo mode"): the account password and a current second
    /// factor (a code from the app, a code from
    /// [`send_step_up_code`](Self::send_step_up_code), or a recovery code)
    /// give a [`Grant`] that stands in for both on every factor change the
    /// user makes within [`StepUpPolicy::grant_ttl`](crate::StepUpPolicy::grant_ttl)
    /// (10 minutes by default), as GitHub's sudo mode does: one grant may
    /// authorise several changes in its window.
    ///
    /// A grant ends at its expiry, at [`revoke_step_up`](Self::revoke_step_up)
    /// (sign-out), and when the factors change by any other grant or path;
    /// it is good for this account only and never for logging in. Only a
    /// keyed hash of it is stored. Failures count towards the lockout and
    /// the source's limit, as at login. Errors: [`Error::NotEnabled`] when
    /// there is no second factor to step up with.
    pub async fn step_up<'a>(
        &self,
        account: &Account,
        password: &SecretString,
        code: impl Into<Response<'a>>,
    ) -> Result<Verdict<Grant>> {
        let response = code.into();
        let code = response.as_str();
        self.gated(
            account,
            Reauth::with_code(password, code),
            |_| Rule::Factor,
            |r, _| core::stepup::check(r),
            |record, ctx, presented, _| core::stepup::step_up(record, ctx, presented),
        )
        .await
    }

    /// A single-use challenge for the account's security keys, to step up
    /// with one: hand [`KeyRequest::options`](crate::KeyRequest) to the
    /// browser's `navigator.credentials.get`, then its answer to
    /// [`step_up`](Self::step_up) or [`Reauth::with_code`] with the
    /// password (as the `PublicKeyCredential` or its JSON). It replaces any
    /// challenge handed out before (a login's too). Errors:
    /// [`Error::NotEnabled`], [`Error::MethodNotSetUp`] when the account
    /// has no key, [`Error::Config`] when keys are not configured.
    pub async fn begin_key_step_up(&self, account: &Account) -> Result<KeyRequest> {
        self.transact(account, None, core::key::begin_step_up)
            .await
            .map(|(request, _)| request)
    }

    /// Revokes a step-up grant: call it at sign-out with the token kept in
    /// the session. Whether there was such a live grant.
    pub async fn revoke_step_up(&self, account: &Account, token: &SecretString) -> Result<bool> {
        self.transact(account, None, |record, ctx| {
            Ok(core::stepup::revoke(record, ctx, token))
        })
        .await
        .map(|(found, _)| found)
    }

    /// A new set of ten recovery codes, to show once, under the step-up
    /// rule; the old codes stop working. The answer holds the account's new
    /// security stamp. Errors: [`Error::NotEnabled`],
    /// [`Error::StepUpRequired`].
    pub async fn regenerate_recovery_codes<'a>(
        &self,
        account: &Account,
        reauth: impl Into<Reauth<'a>>,
    ) -> Result<Verdict<Regenerated>> {
        self.gated(
            account,
            reauth.into(),
            |_| Rule::Change(FactorChange::RegenerateRecoveryCodes),
            |r, _| core::recovery::check_regenerate(r),
            core::recovery::regenerate,
        )
        .await
    }

    /// The devices remembered now, for an account page.
    pub async fn devices(&self, account: &Account) -> Result<Vec<DeviceInfo>> {
        let (record, _) = self.load(account).await?;
        Ok(core::device::list(&record, self.inner.clock.now()))
    }

    /// Forgets the remembered device `id`: it will be asked for a code
    /// again. Needs no re-authentication: it only takes trust away.
    /// Errors: [`Error::NoSuchDevice`].
    pub async fn revoke_device(&self, account: &Account, id: &str) -> Result<()> {
        self.transact(account, None, |record, _| {
            core::device::revoke(record, Some(id))
        })
        .await
        .map(|_| ())
    }

    /// Forgets every remembered device; how many there were.
    pub async fn revoke_all_devices(&self, account: &Account) -> Result<usize> {
        self.transact(account, None, |record, _| {
            core::device::revoke(record, None)
        })
        .await
        .map(|(gone, _)| gone)
    }

    /// Removes the fallback `method` (every authenticator of that kind),
    /// under the step-up rule; [`remove_authenticator`](Self::remove_authenticator)
    /// removes one. A number that no longer receives codes is told by
    /// text. Errors:
    /// [`Error::NotEnabled`], [`Error::MethodNotSetUp`],
    /// [`Error::WrongMethod`] for the primary method,
    /// [`Error::StepUpRequired`].
    pub async fn remove_fallback<'a>(
        &self,
        account: &Account,
        method: Method,
        reauth: impl Into<Reauth<'a>>,
    ) -> Result<Verdict<Changed>> {
        self.required(account)
            .await
            .gated(
                account,
                reauth.into(),
                |_| Rule::Change(FactorChange::RemoveMethod),
                |r, c| core::fallback::check_remove(r, c, method),
                |record, ctx, presented, _| core::fallback::remove(record, ctx, method, presented),
            )
            .await
    }

    /// Every authenticator of the account (kept ones too, while
    /// suspended), in the order added: kind, the user's name for it, when
    /// added and last used. Empty when two-factor authentication is off.
    pub async fn authenticators(&self, account: &Account) -> Result<Vec<AuthenticatorInfo>> {
        let (record, _) = self.load(account).await?;
        Ok(record
            .factors
            .as_ref()
            .map_or(Vec::new(), core::authenticators::list))
    }

    /// Removes one authenticator by its id (from
    /// [`authenticators`](Self::authenticators)), under the step-up rule.
    /// Removing the last of the primary kind makes the next kind set up
    /// the primary (remembered devices ask again); removing the last of
    /// all turns two-factor authentication off with nothing kept, as
    /// [`disable`](Self::disable) with [`Keep::Nothing`] (and under its
    /// rule, [`FactorChange::Disable`](crate::FactorChange::Disable)). The
    /// user is told by email; a number that no longer receives codes is
    /// told by text. Errors: [`Error::NotEnabled`],
    /// [`Error::NoSuchAuthenticator`], [`Error::Required`],
    /// [`Error::StepUpRequired`].
    pub async fn remove_authenticator<'a>(
        &self,
        account: &Account,
        id: &str,
        reauth: impl Into<Reauth<'a>>,
    ) -> Result<Verdict<Changed>> {
        self.required(account)
            .await
            .gated(
                account,
                reauth.into(),
                |r| Rule::Change(core::authenticators::change_of(r, id)),
                |r, c| core::authenticators::check_remove(r, c, id).map(|_| ()),
                |record, ctx, presented, _| {
                    core::authenticators::remove(record, ctx, id, presented)
                },
            )
            .await
    }

    /// Makes the fallback `method` the one asked for first at
    /// login, under the step-up rule. Remembered devices ask again. Errors
    /// as [`remove_fallback`](Self::remove_fallback).
    pub async fn set_primary<'a>(
        &self,
        account: &Account,
        method: Method,
        reauth: impl Into<Reauth<'a>>,
    ) -> Result<Verdict<Changed>> {
        self.gated(
            account,
            reauth.into(),
            |_| Rule::Change(FactorChange::SetPrimary),
            |r, _| core::fallback::check_fallback(r, method),
            |record, ctx, presented, _| core::fallback::set_primary(record, ctx, method, presented),
        )
        .await
    }

    /// Turns two-factor authentication off, under the step-up rule (the
    /// password alone never does it: a stolen session plus a known password
    /// must not switch it off). When an email sender is set, the user is
    /// told; a number that no longer receives codes is told by text.
    ///
    /// - [`Keep::Settings`]: suspended. The password alone logs in;
    ///   [`reenable`](Self::reenable) brings the same secret or number back
    ///   without a new scan.
    /// - [`Keep::Nothing`]: off, with every method, secret, number, recovery
    ///   code, grant and pending code forgotten (also settings kept
    ///   earlier).
    ///
    /// Either way remembered devices are forgotten; failure counters, any
    /// lockout and the send limits stay. Errors: [`Error::NotEnabled`],
    /// [`Error::StepUpRequired`].
    pub async fn disable<'a>(
        &self,
        account: &Account,
        reauth: impl Into<Reauth<'a>>,
        keep: Keep,
    ) -> Result<Verdict<Changed>> {
        self.required(account)
            .await
            .gated(
                account,
                reauth.into(),
                |_| Rule::Change(FactorChange::Disable),
                |r, c| core::disable::check(r, c, keep),
                |record, ctx, presented, _| core::disable::disable(record, ctx, keep, presented),
            )
            .await
    }

    /// Turns two-factor authentication back on with the settings kept by
    /// [`disable`](Self::disable), under the step-up rule: the password and
    /// a current code of a kept method (for email or SMS, ask for one with
    /// [`send_step_up_code`](Self::send_step_up_code) first), a recovery
    /// code, or a grant. The code proves the user still has the method.
    /// Errors: [`Error::NotEnabled`] (nothing kept),
    /// [`Error::AlreadyEnabled`], [`Error::StepUpRequired`].
    pub async fn reenable<'a>(
        &self,
        account: &Account,
        reauth: impl Into<Reauth<'a>>,
    ) -> Result<Verdict<Changed>> {
        self.gated(
            account,
            reauth.into(),
            |_| Rule::Change(FactorChange::Reenable),
            |r, _| core::disable::check_reenable(r),
            |record, ctx, presented, _| core::disable::reenable(record, ctx, presented),
        )
        .await
    }

    /// A page of accounts with their state and methods, for an
    /// administration page: up to `limit`, in ascending order of id, after
    /// `after`. Reveals no secret, address or number; an unreadable record
    /// is listed as [`State::Unreadable`](crate::State::Unreadable). The
    /// limits' counters are kept apart and never listed.
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
            .map(|l| core::view::summary(l.user, Record::decode(&l.stored.document), now))
            .collect();
        Ok(Page { accounts, next })
    }

    /// The state and methods of each of `users`, in the order given, for a
    /// team or administration page: one store query for all of them on the
    /// SQL stores. An account without a record is
    /// [`State::Off`](crate::State::Off); an unreadable one
    /// [`State::Unreadable`](crate::State::Unreadable). Reveals no secret,
    /// address or number, and needs no authority of its own: call it only
    /// for accounts the viewer may see. Errors: [`Error::InvalidAccount`]
    /// for an id that cannot key a record.
    pub async fn summaries(&self, users: &[&str]) -> Result<Vec<AccountSummary>> {
        for user in users {
            crate::model::account::validate_id(user)?;
        }
        let ids: Vec<String> = users.iter().map(|u| (*u).to_owned()).collect();
        let found = self
            .inner
            .store
            .load_many(&ids)
            .await
            .map_err(Error::Store)?;
        let by_user: std::collections::HashMap<String, Stored> = found
            .into_iter()
            .map(|listed| (listed.user, listed.stored))
            .collect();
        let now = self.inner.clock.now();
        Ok(ids
            .into_iter()
            .map(|user| {
                let record = match by_user.get(&user) {
                    Some(stored) => Record::decode(&stored.document),
                    None => Ok(Record::default()),
                };
                core::view::summary(user, record, now)
            })
            .collect())
    }

    /// An administrator deletes `account`'s setup, for a user who lost the
    /// phone. What it leaves is
    /// [`Policy::after_admin_reset`](crate::Policy::after_admin_reset): off
    /// (the password alone logs in until the user sets it up again), or set
    /// up again at the next login.
    ///
    /// `admin` is the administrator's own account, which must have
    /// two-factor authentication on; `proof` is their own step-up (a grant
    /// of theirs, or their password and a current code: never the password
    /// alone). The [`AdminPolicy`](crate::AdminPolicy) given to the builder
    /// decides who may act on whom (by default nobody), and nobody acts on
    /// their own account this way. `reason` is required (1 to 500
    /// characters). Audited with the administrator and the reason; the user
    /// is emailed (and a number that no longer receives codes is texted).
    ///
    /// A wrong proof is the administrator's [`Verdict::Rejected`], counted
    /// on the administrator's account. Errors: [`Error::NotPermitted`],
    /// [`Error::InvalidReason`], [`Error::StepUpRequired`],
    /// [`Error::NotEnabled`] when the account has nothing to delete.
    pub async fn admin_reset<'a>(
        &self,
        admin: &Account,
        proof: impl Into<Reauth<'a>>,
        account: &Account,
        reason: &str,
    ) -> Result<Verdict<()>> {
        self.admin_act(admin, proof.into(), account, reason, AdminAction::Reset)
            .await
    }

    /// An administrator lifts a lockout on `account` without deleting
    /// anything: for a user locked out by someone else's guesses. The day's
    /// failure count stays. Under the same authority as
    /// [`admin_reset`](Self::admin_reset); audited, and the user is emailed.
    pub async fn admin_unlock<'a>(
        &self,
        admin: &Account,
        proof: impl Into<Reauth<'a>>,
        account: &Account,
        reason: &str,
    ) -> Result<Verdict<()>> {
        self.admin_act(admin, proof.into(), account, reason, AdminAction::Unlock)
            .await
    }

    /// Turns two-factor authentication on for `account` with an
    /// authenticator app the user already has, from the system the host is
    /// moving away from: the secret is sealed, the app is set up as if its
    /// setup had been confirmed here (no code: **the host vouches** for the
    /// secret), and an [`EventKind::AppImported`](crate::EventKind::AppImported)
    /// event is reported. Call it from trusted code only (a migration
    /// script, an administrator's tool), never with input from the user
    /// whose account it is.
    ///
    /// Secrets of 80 bits (10 bytes, common in older apps) to 512 bits are
    /// taken, with 6 to 8 digits and a period the policy allows (15 to 60
    /// s); SHA-1, SHA-256 or SHA-512. With
    /// [`ImportedApp::last_used_step`](crate::ImportedApp::last_used_step),
    /// the code used last before the move is refused as a replay. No notice
    /// is sent (for the user nothing changed) and no recovery codes are
    /// made: offer [`regenerate_recovery_codes`](Self::regenerate_recovery_codes)
    /// at the user's next visit.
    ///
    /// Errors: [`Error::AlreadyEnabled`] when the account has factors (on,
    /// or suspended with settings kept: import never overwrites one),
    /// [`Error::InvalidImport`], [`Error::InvalidAccount`].
    pub async fn import_app(&self, account: &Account, app: &ImportedApp) -> Result<Changed> {
        let entropy = draw()?;
        self.transact(account, Some(&entropy), |record, ctx| {
            core::import::import(record, ctx, app)
        })
        .await
        .map(|(changed, _)| changed)
    }

    /// An administrator reads `account`'s authenticator-app secrets, each
    /// as an `otpauth://totp/` key URI with the app's id and label, for the
    /// host's own backup or a move to another system. **It hands out
    /// secrets**: whoever holds a URI can make the user's codes. So it needs what
    /// [`admin_reset`](Self::admin_reset) needs (the administrator's own
    /// step-up and reason, never the password alone) and an
    /// [`AdminPolicy`](crate::AdminPolicy) that allows
    /// [`AdminAction::Export`](crate::AdminAction::Export) (the provided
    /// [`Admins`](crate::Admins) does only with
    /// [`allow_export`](crate::Admins::allow_export)); it is audited as
    /// [`EventKind::AdminExport`](crate::EventKind::AdminExport) with who and
    /// why. Keep the URIs only as long as the move takes, encrypted.
    ///
    /// Errors: as `admin_reset`, and [`Error::NotEnabled`] or
    /// [`Error::MethodNotSetUp`] when there is no app.
    pub async fn admin_export_apps<'a>(
        &self,
        admin: &Account,
        proof: impl Into<Reauth<'a>>,
        account: &Account,
        reason: &str,
    ) -> Result<Verdict<Vec<ExportedApp>>> {
        self.admin_do(
            admin,
            proof.into(),
            account,
            reason,
            AdminAction::Export,
            |record, ctx, reason| core::import::export(record, ctx, admin.id(), reason),
        )
        .await
    }

    /// This service, for a call on `account` that must know what the host
    /// requires of it.
    async fn required(&self, account: &Account) -> TwoFactor {
        TwoFactor {
            inner: self.inner.clone(),
            source: self.source.clone(),
            requirement: self.inner.requirements.requirement(account).await,
        }
    }

    async fn admin_act(
        &self,
        admin: &Account,
        proof: Reauth<'_>,
        account: &Account,
        reason: &str,
        action: AdminAction,
    ) -> Result<Verdict<()>> {
        self.admin_do(
            admin,
            proof,
            account,
            reason,
            action,
            |record, ctx, reason| core::admin::act(record, ctx, action, admin.id(), reason),
        )
        .await
    }

    /// An administrator's act: the reason, the host's permission, whether
    /// it applies to the account, the administrator's own step-up, then
    /// `act` on the account's record.
    async fn admin_do<T>(
        &self,
        admin: &Account,
        proof: Reauth<'_>,
        account: &Account,
        reason: &str,
        action: AdminAction,
        act: impl Fn(Record, &Ctx<'_>, &str) -> Result<Decision<T>>,
    ) -> Result<Verdict<T>> {
        let reason = core::admin::reason(reason)?;
        let allowed = self.inner.admins.may_act(admin, account, action).await;
        core::admin::permit(admin, account, allowed)?;
        core::admin::check(&self.load(account).await?.0, action)?;
        let proved = self
            .gated(
                admin,
                proof,
                |_| Rule::Factor,
                |r, _| core::admin::check_admin(r),
                |record, ctx, presented, _| core::admin::prove(record, ctx, presented),
            )
            .await?;
        if let Some(refused) = proved.refused() {
            return Ok(refused);
        }
        let entropy = draw()?;
        self.transact(account, Some(&entropy), |record, ctx| {
            act(record, ctx, &reason)
        })
        .await
        .map(|(done, _)| Verdict::Accepted(done))
    }

    /// Seals every stored record's secrets again under the current master
    /// key, for a key rotation: pages through every account as
    /// [`admin_list`](Self::admin_list) does, and saves each record that
    /// holds a secret sealed under a previous key, with the usual
    /// compare-and-swap. Safe while the application serves traffic, and to
    /// run twice (the second run reseals nothing).
    ///
    /// `progress` is told the counts after each page, for a command-line
    /// tool's progress bar. A record that cannot be read (corrupt, or sealed
    /// under a key that is not configured) is counted in
    /// [`Rotation::unreadable`] and left as it is.
    ///
    /// To rotate: configure the new key with [`key`](TwoFactorBuilder::key)
    /// and the old one with [`previous_keys`](TwoFactorBuilder::previous_keys)
    /// on every instance; run this once; keep the old key until what was
    /// hashed under it has expired (remembered devices: 30 days), then
    /// drop it.
    pub async fn rotate_keys(&self, mut progress: impl FnMut(&Rotation)) -> Result<Rotation> {
        const PAGE: usize = 500;
        let mut counts = Rotation::default();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .inner
                .store
                .list(after.as_deref(), PAGE)
                .await
                .map_err(Error::Store)?;
            counts.total = counts.total.saturating_add(page.len() as u64);
            after = page.last().map(|l| l.user.clone());
            if page.len() < PAGE {
                break;
            }
        }
        progress(&counts);
        let mut after: Option<String> = None;
        loop {
            let page = self
                .inner
                .store
                .list(after.as_deref(), PAGE)
                .await
                .map_err(Error::Store)?;
            for listed in &page {
                let account = Account::new(listed.user.clone(), "");
                let stale = self
                    .transact(&account, None, |record, ctx| {
                        Ok(core::rotation::reseal_if_stale(record, ctx))
                    })
                    .await;
                match stale {
                    Ok((true, _)) => counts.resealed = counts.resealed.saturating_add(1),
                    Ok((false, _)) => {}
                    Err(Error::CorruptRecord(_) | Error::UnsupportedSchema(_))
                    | Err(Error::Unseal | Error::UnknownKey) => {
                        counts.unreadable = counts.unreadable.saturating_add(1)
                    }
                    Err(e) => return Err(e),
                }
                counts.done = counts.done.saturating_add(1);
            }
            progress(&counts);
            after = page.last().map(|l| l.user.clone());
            if page.len() < PAGE {
                return Ok(counts);
            }
        }
    }

    /// Deletes the limits' counters no longer needed; how many. Each
    /// instance also does this by itself at most once an hour, so calling
    /// it is never required.
    pub async fn purge_limits(&self) -> Result<u64> {
        self.inner
            .limits
            .purge_limits(self.inner.clock.now())
            .await
            .map_err(Error::Store)
    }

    /// A call under the step-up rule: the core's first look (`state`'s
    /// errors, the step-up rule's refusal of the password alone, a
    /// lockout), then the password and a recovery code worked out once, then
    /// the decision. What a person typed is counted against the source; a
    /// grant is not typed, and a grant that is not live is an error, not a
    /// guess.
    async fn gated<'a, T>(
        &self,
        account: &Account,
        reauth: Reauth<'a>,
        rule: impl Fn(&Record) -> Rule,
        state: impl Fn(&Record, &Ctx<'_>) -> Result<()>,
        mut decide: impl FnMut(
            Record,
            &Ctx<'_>,
            &Presented<'_>,
            &Inputs,
        ) -> Result<Decision<Verdict<T>>>,
    ) -> Result<Verdict<T>> {
        let entropy = draw()?;
        let given = reauth.0;
        let run = self.run(
            account,
            Some(&entropy),
            Typed::from(given),
            |record, ctx| {
                core::stepup::prepare(record, ctx, rule(record), &given, state(record, ctx))
            },
            |record, ctx, inputs| {
                decide(
                    record,
                    ctx,
                    &core::stepup::presented(&given, inputs),
                    inputs,
                )
            },
        );
        match given {
            Given::Grant(_) => run.await.map(|(verdict, _)| verdict),
            _ => self.guarded(account, run).await,
        }
    }
}
