//! A sender that keeps what it is given, for tests and demos.
//!
//! ```
//! use twofactor::testing::Recorder;
//! let outbox = Recorder::new();
//! // .email(outbox.clone()).sms(outbox.clone()) on the builder, then:
//! assert!(outbox.last_code().is_none());
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use secrecy::SecretString;

use crate::error::PortError;
use crate::model::message::Message;
use crate::model::status::Method;
use crate::ports::{EmailSender, SmsSender};

/// One message a [`Recorder`] was given.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Recorded {
    /// Email or SMS.
    pub channel: Method,
    /// The address or number.
    pub to: String,
    /// The message.
    pub message: Message,
}

/// An [`EmailSender`] and [`SmsSender`] that keeps every message instead of
/// sending it; clones share the same list. It can be told to fail, to test
/// what a failed delivery does.
#[derive(Clone, Default)]
pub struct Recorder {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    messages: Vec<Recorded>,
    failure: Option<bool>,
}

impl Recorder {
    /// An empty recorder that accepts everything.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> Result<MutexGuard<'_, State>, PortError> {
        self.state
            .lock()
            .map_err(|_| PortError::permanent("the recorder's lock is poisoned"))
    }

    /// Every message so far, oldest first.
    pub fn messages(&self) -> Vec<Recorded> {
        self.state().map(|s| s.messages.clone()).unwrap_or_default()
    }

    /// The code in the last one-time-code message, if any.
    pub fn last_code(&self) -> Option<SecretString> {
        self.messages()
            .into_iter()
            .rev()
            .find_map(|r| match r.message {
                Message::Code(c) => Some(c.code),
                _ => None,
            })
    }

    /// From now on, refuse every message with a transient failure (`Some(true)`),
    /// a permanent one (`Some(false)`), or accept them again (`None`).
    /// Refused messages are not kept.
    pub fn fail(&self, failure: Option<bool>) {
        if let Ok(mut s) = self.state() {
            s.failure = failure;
        }
    }

    fn keep(&self, channel: Method, to: &str, message: &Message) -> Result<(), PortError> {
        let mut s = self.state()?;
        match s.failure {
            Some(true) => Err(PortError::transient("the recorder was told to fail")),
            Some(false) => Err(PortError::permanent("the recorder was told to fail")),
            None => {
                s.messages.push(Recorded {
                    channel,
                    to: to.to_owned(),
                    message: message.clone(),
                });
                Ok(())
            }
        }
    }
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.state().map(|s| s.messages.len()).unwrap_or_default();
        write!(f, "Recorder({n} messages)")
    }
}

#[async_trait]
impl EmailSender for Recorder {
    async fn send_email(&self, to: &str, message: &Message) -> Result<(), PortError> {
        self.keep(Method::Email, to, message)
    }
}

#[async_trait]
impl SmsSender for Recorder {
    async fn send_sms(&self, to: &str, message: &Message) -> Result<(), PortError> {
        self.keep(Method::Sms, to, message)
    }
}
