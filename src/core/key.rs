//! Security keys and passkeys in the decisions: registering one (the
//! ceremony's state kept in the pending setup), the single-use challenge
//! handed out at login and step-up, and checking the browser's answer.
//! webauthn-rs checks the answer itself; here a challenge is spent by the
//! first answer that reaches the store, whatever its outcome.

#[cfg(feature = "webauthn")]
use std::time::Duration;

use super::factor::Checked;
use super::Ctx;
use crate::error::{Error, Result};
use crate::model::key::KeyRequest;
#[cfg(feature = "webauthn")]
use crate::model::key::KeySetup;
use crate::model::message::Purpose;
use crate::model::setup::Setup;
use crate::model::time::Timestamp;
use crate::model::verdict::Rejection;
use crate::record::{Factor, Factors, KeyStage, Record};

/// How long a challenge handed out holds (webauthn-rs's own timeout).
#[cfg(feature = "webauthn")]
pub(crate) const CHALLENGE_TTL: Duration = Duration::from_secs(300);

/// The registered keys' credentials.
fn credentials(e: &Factors) -> Vec<&str> {
    e.all
        .iter()
        .filter_map(|a| match &a.factor {
            Factor::Key(k) => match &k.stage {
                KeyStage::Registered(c) => Some(c.as_str()),
                KeyStage::Registering(_) => None,
            },
            _ => None,
        })
        .collect()
}

/// The ids of the registered keys' credentials.
#[cfg(feature = "webauthn")]
fn registered_ids(record: &Record) -> Vec<webauthn_rs::prelude::CredentialID> {
    record
        .factors
        .as_ref()
        .map(credentials)
        .unwrap_or_default()
        .into_iter()
        .filter_map(crate::provided::security_keys::credential_id)
        .collect()
}

/// Whether security keys are configured for this service.
pub(crate) fn configured(ctx: &Ctx<'_>) -> bool {
    #[cfg(feature = "webauthn")]
    return ctx.security_keys.is_some();
    #[cfg(not(feature = "webauthn"))]
    {
        let _ = ctx;
        false
    }
}

/// A new challenge for `purpose` over the account's keys, kept in the
/// record (replacing any earlier one); `None` when it has none or keys are
/// not configured.
pub(crate) fn challenge(
    record: &mut Record,
    ctx: &Ctx<'_>,
    purpose: Purpose,
) -> Result<Option<KeyRequest>> {
    #[cfg(feature = "webauthn")]
    {
        let Some(rp) = ctx.security_keys else {
            return Ok(None);
        };
        let creds = record.factors.as_ref().map(credentials).unwrap_or_default();
        if creds.is_empty() {
            return Ok(None);
        }
        let (options, state) = rp.begin_authentication(&creds)?;
        record.key_challenge = Some(crate::record::KeyChallenge {
            purpose,
            kind: rp.kind(),
            state,
            expires: ctx.now.saturating_add(CHALLENGE_TTL),
        });
        Ok(Some(KeyRequest {
            options: Box::new(options),
        }))
    }
    #[cfg(not(feature = "webauthn"))]
    {
        let _ = (record, ctx, purpose, credentials);
        Ok(None)
    }
}

/// A challenge for a step-up with a key.
pub(crate) fn begin_step_up(
    mut record: Record,
    ctx: &Ctx<'_>,
) -> Result<super::Decision<KeyRequest>> {
    if record.factors.is_none() {
        return Err(Error::NotEnabled);
    }
    if !configured(ctx) {
        return Err(Error::Config("no security keys are configured"));
    }
    match challenge(&mut record, ctx, Purpose::StepUp)? {
        Some(request) => Ok(super::Decision::saved(record, Vec::new(), request)),
        None => Err(Error::MethodNotSetUp),
    }
}

/// Begins registering a key: the factor to keep pending, and what the
/// browser needs. Keys already registered are excluded.
pub(crate) fn begin(record: &Record, ctx: &Ctx<'_>, expires: Timestamp) -> Result<(Factor, Setup)> {
    #[cfg(feature = "webauthn")]
    {
        let rp = ctx
            .security_keys
            .ok_or(Error::Config("no security keys are configured"))?;
        let existing = registered_ids(record);
        let (options, state) =
            rp.begin_registration(ctx.account.id(), ctx.account.label(), existing)?;
        let factor = Factor::Key(crate::record::KeyFactor {
            kind: rp.kind(),
            stage: KeyStage::Registering(state),
        });
        let setup = KeySetup {
            options: Box::new(options),
            expires,
        };
        Ok((factor, Setup::Key(setup)))
    }
    #[cfg(not(feature = "webauthn"))]
    {
        let _ = (record, ctx, expires);
        Err(Error::Config("security keys need the webauthn feature"))
    }
}

/// Confirms a pending key with the browser's answer to its registration:
/// the registered factor, or why not. A key already registered to the
/// account is refused.
pub(crate) fn confirm(
    record: &Record,
    ctx: &Ctx<'_>,
    pending: &crate::record::KeyFactor,
    typed: &str,
) -> Result<std::result::Result<Factor, Rejection>> {
    #[cfg(feature = "webauthn")]
    {
        use crate::provided::security_keys::credential_id;
        let rp = ctx
            .security_keys
            .ok_or(Error::Config("no security keys are configured"))?;
        let KeyStage::Registering(state) = &pending.stage else {
            return Err(Error::NoPendingSetup);
        };
        let Ok(answer) = serde_json::from_str(typed) else {
            return Ok(Err(Rejection::Malformed));
        };
        let Some(credential) = rp.finish_registration(pending.kind, state, &answer) else {
            return Ok(Err(Rejection::WrongCode));
        };
        let known = match credential_id(&credential) {
            Some(id) => registered_ids(record).contains(&id),
            None => true,
        };
        if known {
            return Ok(Err(Rejection::WrongCode));
        }
        Ok(Ok(Factor::Key(crate::record::KeyFactor {
            kind: pending.kind,
            stage: KeyStage::Registered(credential),
        })))
    }
    #[cfg(not(feature = "webauthn"))]
    {
        let _ = (record, ctx, pending, typed);
        Ok(Err(Rejection::Malformed))
    }
}

/// Checks a key's answer for `purpose`. The challenge is spent whatever
/// the outcome (the record is saved either way: a success, or a counted
/// failure); on success the key's signature counter and last use are kept.
pub(crate) fn check(
    record: &mut Record,
    ctx: &Ctx<'_>,
    purpose: Purpose,
    typed: &str,
) -> Result<Checked> {
    let challenge = record.key_challenge.take();
    #[cfg(feature = "webauthn")]
    {
        use crate::provided::security_keys::{credential_id, updated};
        let Some(rp) = ctx.security_keys else {
            return Ok(Checked::Miss(Rejection::Malformed));
        };
        let Ok(answer) = serde_json::from_str(typed) else {
            return Ok(Checked::Miss(Rejection::Malformed));
        };
        let Some(challenge) = challenge.filter(|c| c.purpose == purpose) else {
            // Spent already (a replay, a double submission) or never made.
            return Ok(Checked::Miss(Rejection::Replayed));
        };
        if challenge.expires <= ctx.now {
            return Ok(Checked::Miss(Rejection::Expired));
        }
        let Some(result) = rp.finish_authentication(challenge.kind, &challenge.state, &answer)
        else {
            return Ok(Checked::Miss(Rejection::WrongCode));
        };
        let e = record.factors.as_mut().ok_or(Error::NotEnabled)?;
        for entry in &mut e.all {
            let Factor::Key(key) = &mut entry.factor else {
                continue;
            };
            let KeyStage::Registered(credential) = &key.stage else {
                continue;
            };
            if credential_id(credential).as_ref() != Some(result.cred_id()) {
                continue;
            }
            let Some(next) = updated(credential, &result) else {
                continue;
            };
            key.stage = KeyStage::Registered(next);
            entry.last_used = Some(ctx.now);
            return Ok(Checked::Code(
                crate::model::status::Method::Key,
                entry.named(),
            ));
        }
        Ok(Checked::Miss(Rejection::WrongCode))
    }
    #[cfg(not(feature = "webauthn"))]
    {
        let _ = (ctx, purpose, typed, challenge);
        Ok(Checked::Miss(Rejection::Malformed))
    }
}
