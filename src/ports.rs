//! The traits a host plugs its own infrastructure in through. Each has one
//! job; each works as `dyn` (they use `async-trait`).

use async_trait::async_trait;
use secrecy::SecretString;

use crate::error::PortError;
use crate::model::account::Account;
use crate::model::event::Event;
use crate::model::message::Message;
use crate::model::requirement::Requirement;
use crate::model::status::AdminAction;
use crate::model::time::Timestamp;

/// Where slow, CPU-bound work runs: each argon2id computation (a recovery
/// code's check, new recovery codes, a password) takes about 20 ms and 19
/// MiB, which on an async executor's thread would hold up every other
/// request on it. The default with the `tokio` feature is
/// [`TokioBlocking`], tokio's blocking pool with a
/// bound on how many run at once; [`Inline`](crate::Inline) runs the work
/// where it is called, for other runtimes (or a host that already runs the
/// calls on threads of its own).
///
#[cfg_attr(feature = "tokio", doc = "[`TokioBlocking`]: crate::TokioBlocking")]
#[cfg_attr(
    not(feature = "tokio"),
    doc = "[`TokioBlocking`]: https://docs.rs/twofactor/latest/twofactor/struct.TokioBlocking.html"
)]
#[async_trait]
pub trait Offload: Send + Sync {
    /// Runs `job` to completion, off the executor's threads if it can.
    async fn run(&self, job: Box<dyn FnOnce() + Send + 'static>);
}

#[async_trait]
impl<T: Offload + ?Sized> Offload for std::sync::Arc<T> {
    async fn run(&self, job: Box<dyn FnOnce() + Send + 'static>) {
        (**self).run(job).await;
    }
}

/// Where the library reads the current time: [`SystemClock`](crate::SystemClock)
/// by default, [`ManualClock`](crate::testing::ManualClock) in tests.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
}

impl<T: Clock + ?Sized> Clock for std::sync::Arc<T> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

/// A stored document and the version it was saved at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Starts at 1 with the first save and goes up by one with each.
    pub version: u64,
    /// The account's record, encoded by the crate; opaque to the store.
    pub document: Vec<u8>,
}

/// What became of a compare-and-swap [`UserStore::save`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum SaveOutcome {
    /// Saved; the document now has this version.
    Saved {
        /// The new version.
        version: u64,
    },
    /// The stored version was not the expected one: another request saved
    /// first. Nothing was written.
    Conflict,
}

/// One user's document in a [`UserStore::list`] page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The account id.
    pub user: String,
    /// The document.
    pub stored: Stored,
}

/// Where records live: one document per user id, with a version.
///
/// [`save`](Self::save) is a compare-and-swap, and everything the library
/// guarantees across many app instances (a code accepted once, every failure
/// counted, no half-done change) rests on it being atomic.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// The user's document, or `None` when none was ever saved.
    async fn load(&self, user: &str) -> Result<Option<Stored>, PortError>;

    /// Writes `document` if and only if the stored version is still
    /// `expected` (0: no document stored yet), as version `expected + 1`.
    async fn save(
        &self,
        user: &str,
        document: &[u8],
        expected: u64,
    ) -> Result<SaveOutcome, PortError>;

    /// Forgets the user; `true` when there was a document.
    async fn delete(&self, user: &str) -> Result<bool, PortError>;

    /// Up to `limit` documents in ascending order of user id, starting after
    /// `after` (from the start when `None`).
    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Listed>, PortError>;

    /// The documents of those of `users` that have one, in any order (a
    /// user without one is left out). The default loads them one by one;
    /// a database answers them in one query.
    async fn load_many(&self, users: &[String]) -> Result<Vec<Listed>, PortError> {
        let mut found = Vec::with_capacity(users.len());
        for user in users {
            if let Some(stored) = self.load(user).await? {
                found.push(Listed {
                    user: user.clone(),
                    stored,
                });
            }
        }
        Ok(found)
    }
}

/// Where the counters of the limits that hold across accounts live (per
/// destination, per request source): small versioned documents under their
/// own keys, beside the account records and apart from them. They never
/// show up in [`UserStore::list`].
///
/// The stores shipped here implement it on the same database as their
/// records (a table of its own), so a host with PostgreSQL gets the limits
/// across every instance with nothing new to run. [`save_limit`](Self::save_limit)
/// is a compare-and-swap exactly like [`UserStore::save`], and the
/// conformance suite checks it the same way.
#[async_trait]
pub trait LimitStore: Send + Sync {
    /// The counter document under `key`, or `None`.
    async fn load_limit(&self, key: &str) -> Result<Option<Stored>, PortError>;

    /// Writes `document` under `key` if and only if the stored version is
    /// still `expected` (0: none stored yet), as version `expected + 1`. It
    /// is no longer needed after `expires`.
    async fn save_limit(
        &self,
        key: &str,
        document: &[u8],
        expected: u64,
        expires: Timestamp,
    ) -> Result<SaveOutcome, PortError>;

    /// Deletes the documents no longer needed at `now`; how many.
    async fn purge_limits(&self, now: Timestamp) -> Result<u64, PortError>;
}

/// Who may act on whose account as an administrator. The default,
/// [`NoAdmins`](crate::NoAdmins), allows nobody: a host opts in.
///
/// Even when the policy allows it, the administrator proves it is them with
/// their own step-up (a grant, or their password and a current second
/// factor), gives a reason, and is audited; and nobody acts as an
/// administrator on their own account.
#[async_trait]
pub trait AdminPolicy: Send + Sync {
    /// Whether `admin` may do `action` to `target`.
    async fn may_act(&self, admin: &Account, target: &Account, action: AdminAction) -> bool;
}

/// Whether an account must use two-factor authentication, and from when:
/// the host decides, e.g. from its roles (administrators now, everyone from
/// a date). Asked at login, and before a change that would leave the
/// account without an adequate method. A [`Requirement`] is one itself
/// (the same for everyone); [`Requirements`](crate::Requirements) is a
/// fixed list. By default nobody is required.
///
/// Answer the stricter requirement when the host cannot tell (its roles
/// store is down): a user wrongly asked to set a method up is an
/// annoyance, one wrongly let through is not.
#[async_trait]
pub trait RequirementPolicy: Send + Sync {
    /// What `account` must use.
    async fn requirement(&self, account: &Account) -> Requirement;
}

#[async_trait]
impl<T: RequirementPolicy + ?Sized> RequirementPolicy for std::sync::Arc<T> {
    async fn requirement(&self, account: &Account) -> Requirement {
        (**self).requirement(account).await
    }
}

/// Checks an account's password for re-authentication: before the first
/// setup, and as half of a step-up. Implement it over the host's own users
/// table (around [`verify_phc`](crate::verify_phc) when it holds argon2 PHC
/// strings), or use [`Argon2Passwords`](crate::Argon2Passwords).
#[async_trait]
pub trait PasswordCheck: Send + Sync {
    /// Whether `password` is the account's password. An unknown account is
    /// `Ok(false)`; `Err` is for a failure to check.
    async fn verify(&self, account: &Account, password: &SecretString) -> Result<bool, PortError>;
}

/// Receives an audit [`Event`] for every change and every failed attempt.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// Records `event`. A sink deals with its own failures: the change it
    /// reports has already happened.
    async fn record(&self, event: &Event);
}

/// Delivers email.
#[async_trait]
pub trait EmailSender: Send + Sync {
    /// Sends `message` to the address `to`.
    async fn send_email(&self, to: &str, message: &Message) -> Result<(), PortError>;
}

/// Delivers text messages.
#[async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends `message` to the E.164 number `to`.
    async fn send_sms(&self, to: &str, message: &Message) -> Result<(), PortError>;
}

#[async_trait]
impl<T: UserStore + ?Sized> UserStore for std::sync::Arc<T> {
    async fn load(&self, user: &str) -> Result<Option<Stored>, PortError> {
        (**self).load(user).await
    }
    async fn save(
        &self,
        user: &str,
        document: &[u8],
        expected: u64,
    ) -> Result<SaveOutcome, PortError> {
        (**self).save(user, document, expected).await
    }
    async fn delete(&self, user: &str) -> Result<bool, PortError> {
        (**self).delete(user).await
    }
    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Listed>, PortError> {
        (**self).list(after, limit).await
    }
    async fn load_many(&self, users: &[String]) -> Result<Vec<Listed>, PortError> {
        (**self).load_many(users).await
    }
}

#[async_trait]
impl<T: EventSink + ?Sized> EventSink for std::sync::Arc<T> {
    async fn record(&self, event: &Event) {
        (**self).record(event).await;
    }
}

#[async_trait]
impl<T: EmailSender + ?Sized> EmailSender for std::sync::Arc<T> {
    async fn send_email(&self, to: &str, message: &Message) -> Result<(), PortError> {
        (**self).send_email(to, message).await
    }
}

#[async_trait]
impl<T: SmsSender + ?Sized> SmsSender for std::sync::Arc<T> {
    async fn send_sms(&self, to: &str, message: &Message) -> Result<(), PortError> {
        (**self).send_sms(to, message).await
    }
}

#[async_trait]
impl<T: PasswordCheck + ?Sized> PasswordCheck for std::sync::Arc<T> {
    async fn verify(&self, account: &Account, password: &SecretString) -> Result<bool, PortError> {
        (**self).verify(account, password).await
    }
}

#[async_trait]
impl<T: LimitStore + ?Sized> LimitStore for std::sync::Arc<T> {
    async fn load_limit(&self, key: &str) -> Result<Option<Stored>, PortError> {
        (**self).load_limit(key).await
    }
    async fn save_limit(
        &self,
        key: &str,
        document: &[u8],
        expected: u64,
        expires: Timestamp,
    ) -> Result<SaveOutcome, PortError> {
        (**self).save_limit(key, document, expected, expires).await
    }
    async fn purge_limits(&self, now: Timestamp) -> Result<u64, PortError> {
        (**self).purge_limits(now).await
    }
}

#[async_trait]
impl<T: AdminPolicy + ?Sized> AdminPolicy for std::sync::Arc<T> {
    async fn may_act(&self, admin: &Account, target: &Account, action: AdminAction) -> bool {
        (**self).may_act(admin, target, action).await
    }
}
