//! What a saved decision says to do: audit events, security notices, codes
//! to deliver.

use super::TwoFactor;
use crate::core::Effect;
use crate::error::{Error, Result};
use crate::model::account::Account;
use crate::model::event::{Event, EventKind};
use crate::model::message::{Message, Notice};
use crate::model::status::Method;
use crate::model::time::Timestamp;

impl TwoFactor {
    /// Reports an audit event that no decision saved (a refused source).
    pub(super) async fn report(&self, account: &Account, now: Timestamp, kind: EventKind) {
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
                        method,
                        ..event(account, kind, now)
                    };
                    self.inner.events.record(&event).await;
                }
                Effect::Named(kind, method, named) => {
                    let event = Event {
                        method: Some(method),
                        authenticator: Some(named),
                        ..event(account, kind, now)
                    };
                    self.inner.events.record(&event).await;
                }
                Effect::AdminEvent {
                    kind,
                    admin,
                    reason,
                } => {
                    let event = Event {
                        actor: Some(admin),
                        reason: Some(reason),
                        ..event(account, kind, now)
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

/// An audit event of `kind` on `account` at `now`, naming nothing else.
fn event(account: &Account, kind: EventKind, now: Timestamp) -> Event {
    Event {
        account: account.id().to_owned(),
        kind,
        method: None,
        authenticator: None,
        at: now,
        actor: None,
        reason: None,
    }
}
