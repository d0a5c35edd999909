//! The traits a host plugs its own infrastructure in through. Each has one
//! job; each works as `dyn` (they use `async-trait`).

use async_trait::async_trait;
use secrecy::SecretString;

use crate::account::Account;
use crate::error::PortError;
use crate::event::Event;
use crate::message::Message;

/// A stored document and the version it was saved at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Starts at 1 with the first save and goes up by one with each.
    pub version: u64,
    /// The [`Record`](crate::Record), encoded; opaque to the store.
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
}

/// Checks an account's password before a security change (re-authentication).
#[async_trait]
pub trait PasswordVerifier: Send + Sync {
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
