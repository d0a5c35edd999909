//! [`TwoFactorBuilder`]: what a [`TwoFactor`] is made of.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use super::{Inner, TwoFactor};
use crate::crypto::keys::{Keys, MasterKey};
use crate::error::{Error, Result};
use crate::model::requirement::Requirement;
use crate::policy::Policy;
use crate::ports::{
    AdminPolicy, EmailSender, EventSink, LimitStore, PasswordCheck, RequirementPolicy, SmsSender,
    UserStore,
};
use crate::ports::{Clock, Offload};
use crate::provided::admins::NoAdmins;
use crate::provided::offload::default_offload;
use crate::provided::system_clock::SystemClock;
use crate::provided::tracing_events::TracingEvents;

/// Configures a [`TwoFactor`]. `issuer`, `key`, `store` and `passwords` are
/// required; the clock defaults to [`SystemClock`], events to
/// [`TracingEvents`], administrators to [`NoAdmins`] (nobody), the policy to
/// [`Policy::default`]. Without `email`, no security notices are sent and
/// the email method cannot be set up; without `sms`, the SMS method cannot.
#[derive(Default)]
pub struct TwoFactorBuilder {
    issuer: Option<String>,
    key: Option<MasterKey>,
    previous_keys: Vec<MasterKey>,
    store: Option<Arc<dyn UserStore>>,
    limits: Option<Arc<dyn LimitStore>>,
    passwords: Option<Arc<dyn PasswordCheck>>,
    clock: Option<Arc<dyn Clock>>,
    events: Option<Arc<dyn EventSink>>,
    email: Option<Arc<dyn EmailSender>>,
    sms: Option<Arc<dyn SmsSender>>,
    admins: Option<Arc<dyn AdminPolicy>>,
    requirements: Option<Arc<dyn RequirementPolicy>>,
    offload: Option<Arc<dyn Offload>>,
    #[cfg(feature = "webauthn")]
    security_keys: Option<crate::provided::security_keys::SecurityKeys>,
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

    /// The current master key: every secret is sealed, and every keyed
    /// hash made, under it.
    pub fn key(mut self, key: MasterKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Earlier master keys, for rotation: values made under them still open
    /// and verify, and a record is sealed again under the current key when
    /// it is next saved (or by [`TwoFactor::rotate_keys`], all at once).
    /// Drop a previous key once `rotate_keys` has run with every instance
    /// on the current key, and the remembered devices, codes and grants made
    /// under it have expired (or accept that those ask again).
    pub fn previous_keys(mut self, keys: impl IntoIterator<Item = MasterKey>) -> Self {
        self.previous_keys = keys.into_iter().collect();
        self
    }

    /// Where records are kept, and the counters of the limits that hold
    /// across accounts (a table of their own beside the records): every
    /// store shipped implements both [`UserStore`] and [`LimitStore`].
    pub fn store<S: UserStore + LimitStore + 'static>(mut self, store: S) -> Self {
        let store = Arc::new(store);
        self.store = Some(store.clone());
        self.limits = Some(store);
        self
    }

    /// Where records are kept, for a store that does not keep the limits'
    /// counters too: give those with [`limit_store`](Self::limit_store).
    pub fn records(mut self, store: impl UserStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Keeps the limits' counters in `limits` instead of the store's own.
    /// Every app instance must share it, or the limits hold per instance.
    pub fn limit_store(mut self, limits: impl LimitStore + 'static) -> Self {
        self.limits = Some(Arc::new(limits));
        self
    }

    /// How account passwords are checked before security changes.
    pub fn passwords(mut self, passwords: impl PasswordCheck + 'static) -> Self {
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

    /// Security keys and passkeys as a second factor, for this relying
    /// party (the `webauthn` feature). Without it, [`NewMethod::Key`](crate::NewMethod::Key)
    /// is [`Error::Config`](crate::Error::Config).
    #[cfg(feature = "webauthn")]
    pub fn security_keys(mut self, keys: crate::provided::security_keys::SecurityKeys) -> Self {
        self.security_keys = Some(keys);
        self
    }

    /// How codes (and notices to a number that no longer gets codes) are
    /// texted.
    pub fn sms(mut self, sms: impl SmsSender + 'static) -> Self {
        self.sms = Some(Arc::new(sms));
        self
    }

    /// Who may act as an administrator on whom (default: nobody).
    pub fn admins(mut self, admins: impl AdminPolicy + 'static) -> Self {
        self.admins = Some(Arc::new(admins));
        self
    }

    /// Who must use two-factor authentication, from when, and with what
    /// (default: nobody; see [`Requirement`]). Asked at login and before a
    /// user's change that would leave them without an adequate method.
    pub fn requirements(mut self, requirements: impl RequirementPolicy + 'static) -> Self {
        self.requirements = Some(Arc::new(requirements));
        self
    }

    /// Where the slow work runs (an argon2id computation to check a
    /// recovery code, ten to make new ones), and how much of it may run at
    /// once. By default ([`Offload`]'s default, with the `tokio` feature)
    /// tokio's blocking pool, at most as many at once as the machine has
    /// cores (up to 16): `TokioBlocking::new(n)`
    /// sets another bound; each computation takes the policy's
    /// [`RecoveryPolicy::memory_kib`](crate::RecoveryPolicy::memory_kib)
    /// (19 MiB by default) while it runs. Under another async runtime, or
    /// without the `tokio` feature, [`Inline`](crate::Inline) runs it where
    /// it is called. The password check runs where the
    /// [`PasswordCheck`] runs it ([`Argon2Passwords`](crate::Argon2Passwords)
    /// takes an offload of its own, by default the same shared pool).
    pub fn offload(mut self, offload: impl Offload + 'static) -> Self {
        self.offload = Some(Arc::new(offload));
        self
    }

    /// The rules, instead of the defaults.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The configured [`TwoFactor`], or [`Error::Config`] saying what is
    /// missing or wrong: a policy value outside its safe bound (see
    /// [`Policy`]) is refused here.
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
                keys: Keys::derive(&key, &self.previous_keys)?,
                policy: self.policy,
                store: self.store.ok_or(Error::Config("a store is required"))?,
                limits: self.limits.ok_or(Error::Config(
                    "a limit store is required: .store() gives both, or add .limit_store()",
                ))?,
                passwords: self
                    .passwords
                    .ok_or(Error::Config("a password check is required"))?,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                events: self.events.unwrap_or_else(|| Arc::new(TracingEvents)),
                email: self.email,
                sms: self.sms,
                #[cfg(feature = "webauthn")]
                security_keys: self.security_keys,
                admins: self.admins.unwrap_or_else(|| Arc::new(NoAdmins)),
                requirements: self
                    .requirements
                    .unwrap_or_else(|| Arc::new(Requirement::optional())),
                offload: self.offload.unwrap_or_else(default_offload),
                throttled: Mutex::new(HashMap::new()),
                counter_turns: (0..super::COUNTER_STRIPES)
                    .map(|_| futures_util::lock::Mutex::new(()))
                    .collect(),
                last_purge: Mutex::new(None),
            }),
            source: None,
            requirement: Requirement::optional(),
        })
    }
}
