//! Bringing an authenticator app's secret over from another system, and
//! taking it out again: the host vouches for the first, an administrator
//! (under their own step-up) answers for the second.

use super::device::clean;
use super::{restamp, Ctx, Decision, Effect};
use crate::crypto::seal::SecretKind;
use crate::crypto::totp::Totp;
use crate::error::{Error, Result};
use crate::model::event::EventKind;
use crate::model::import::{ExportedApp, ImportedApp};
use crate::model::setup::Changed;
use crate::model::status::Method;
use crate::record::{AppFactor, Factor, Factors, Record};

/// The shortest secret taken: 80 bits, what many authenticator apps were
/// given for years (RFC 4226 asks for 128 and recommends 160; new secrets
/// here have 160).
pub(crate) const SHORTEST_SECRET: usize = 10;
/// The longest secret taken: 512 bits, a SHA-512 block's worth of key.
pub(crate) const LONGEST_SECRET: usize = 64;

/// Whether `app` may be imported into this record; checked before anything
/// is sealed. An account with factors (on, or suspended with settings kept)
/// is not overwritten: import only turns two-factor authentication on.
pub(crate) fn check(record: &Record, ctx: &Ctx<'_>, app: &ImportedApp) -> Result<()> {
    if record.factors.is_some() {
        return Err(Error::AlreadyEnabled);
    }
    if !(SHORTEST_SECRET..=LONGEST_SECRET).contains(&app.secret.len()) {
        return Err(Error::InvalidImport(
            "the secret must have 80 to 512 bits (10 to 64 bytes)",
        ));
    }
    if !(6..=8).contains(&app.digits) {
        return Err(Error::InvalidImport("digits must be 6, 7 or 8"));
    }
    if !ctx.policy.allows_totp_period(app.period) {
        return Err(Error::InvalidImport(
            "the period is outside what the policy allows (15 to 60 s)",
        ));
    }
    let totp = Totp::new(app.algorithm, app.digits, app.period);
    let now = totp.step_at(ctx.now.unix_seconds());
    if app
        .last_step
        .is_some_and(|step| step > now.saturating_add(1))
    {
        return Err(Error::InvalidImport("the last used step is in the future"));
    }
    Ok(())
}

/// Turns two-factor authentication on with the imported app, as if it had
/// been set up here: sealed, its replay state carried over, audited. No
/// notice goes to the user (for them nothing changed), and no recovery
/// codes are made (nobody would see them: the user makes a set with a
/// step-up).
pub(crate) fn import(
    mut record: Record,
    ctx: &Ctx<'_>,
    app: &ImportedApp,
) -> Result<Decision<Changed>> {
    check(&record, ctx, app)?;
    let sealed = ctx.keys.seal(
        ctx.account.id(),
        SecretKind::TotpSecret,
        ctx.entropy()?.nonce,
        &app.secret,
    )?;
    let factor = Factor::App(AppFactor {
        secret: sealed,
        algorithm: app.algorithm,
        digits: app.digits,
        period: app.period,
        last_step: app.last_step,
    });
    let entry = super::authenticators::new_entry(&[], factor, None, ctx)?;
    let named = entry.named();
    record.factors = Some(Factors {
        primary: Method::App,
        since: ctx.now,
        all: vec![entry],
        suspended: None,
    });
    record.pending = None;
    record.code = None;
    record.devices.clear();
    record.setup_required = None;
    let stamp = restamp(&mut record, ctx)?;
    Ok(Decision::saved(
        record,
        vec![Effect::Named(EventKind::AppImported, Method::App, named)],
        Changed { stamp },
    ))
}

/// Whether the account has an authenticator app to export; checked before
/// the administrator's proof is evaluated.
pub(crate) fn check_export(record: &Record) -> Result<()> {
    match &record.factors {
        Some(f) if f.has(Method::App) => Ok(()),
        Some(_) => Err(Error::MethodNotSetUp),
        None => Err(Error::NotEnabled),
    }
}

/// The account's authenticator apps as key URIs, for an administrator:
/// audited with who and why. Nothing is saved.
pub(crate) fn export(
    record: Record,
    ctx: &Ctx<'_>,
    admin: &str,
    reason: &str,
) -> Result<Decision<Vec<ExportedApp>>> {
    check_export(&record)?;
    let e = record.factors.as_ref().ok_or(Error::NotEnabled)?;
    let mut apps = Vec::new();
    for (_, entry, app) in e.app_entries() {
        let secret = ctx
            .keys
            .open(ctx.account.id(), SecretKind::TotpSecret, &app.secret)?;
        apps.push(ExportedApp {
            id: entry.id.clone(),
            label: entry.label.clone(),
            uri: super::ceremony::account_key_uri(ctx, &secret, &app.totp())?,
        });
    }
    Ok(Decision::report(
        vec![Effect::AdminEvent {
            kind: EventKind::AdminExport,
            admin: clean(admin),
            reason: reason.to_owned(),
        }],
        Ok(apps),
    ))
}
