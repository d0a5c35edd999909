//! Authenticators as a list: the names and ids they are known by, the
//! list a page shows, and removing one.

use super::stepup::{authorize, Gate, Presented};
use super::{factors_changed, texted_number, Ctx, Decision};
use crate::error::{Error, Result};
use crate::model::event::EventKind;
use crate::model::message::{Change, Purpose};
use crate::model::setup::Changed;
use crate::model::status::{AuthenticatorInfo, Method};
use crate::model::verdict::Verdict;
use crate::policy::FactorChange;
use crate::record::{Entry, Factor, Factors, Goal, Record};

/// The longest label, in characters.
const LABEL_MAX: usize = 64;

/// A label the user gave, trimmed; [`Error::InvalidLabel`] when it is
/// blank, too long or holds control characters.
pub(crate) fn checked_label(given: &str) -> Result<String> {
    let label = given.trim();
    if label.is_empty() || label.chars().count() > LABEL_MAX || label.chars().any(char::is_control)
    {
        return Err(Error::InvalidLabel);
    }
    Ok(label.to_owned())
}

/// The label of a new authenticator of `method` beside `others`: the one
/// given, or the kind's heading, numbered when another has that name.
pub(crate) fn label_for(others: &[Entry], method: Method, given: Option<&str>) -> Result<String> {
    if let Some(given) = given {
        return checked_label(given);
    }
    let base = method.heading();
    let taken = |label: &str| others.iter().any(|e| e.label == label);
    if !taken(base) {
        return Ok(base.to_owned());
    }
    Ok((2..)
        .map(|n| format!("{base} {n}"))
        .find(|l| !taken(l))
        .unwrap_or_else(|| base.to_owned()))
}

/// The id of a new authenticator of `method` beside `others`: the kind's
/// name for email and SMS (one each at most); for an app or a key, the
/// kind's name (`app-`, `key-`) and eight random characters.
pub(crate) fn id_for(others: &[Entry], method: Method, ctx: &Ctx<'_>) -> Result<String> {
    let id = match method {
        Method::App | Method::Key => {
            let random = data_encoding::BASE32_NOPAD.encode(&ctx.entropy()?.entry_id);
            format!("{}-{}", method.as_str(), random.to_ascii_lowercase())
        }
        Method::Email | Method::Sms => method.as_str().to_owned(),
    };
    match others.iter().any(|e| e.id == id) {
        // 40 random bits clashed (or a kind already there): draw again.
        true => Err(Error::Random),
        false => Ok(id),
    }
}

/// A new authenticator holding `factor`, beside `others`: its id, and its
/// label (the one given, or the kind's), added now and not yet used.
pub(crate) fn new_entry(
    others: &[Entry],
    factor: Factor,
    label: Option<&str>,
    ctx: &Ctx<'_>,
) -> Result<Entry> {
    let method = factor.method();
    Ok(Entry {
        id: id_for(others, method, ctx)?,
        label: label_for(others, method, label)?,
        created: ctx.now,
        last_used: None,
        factor,
    })
}

/// Every authenticator, in the order added.
pub(crate) fn list(e: &Factors) -> Vec<AuthenticatorInfo> {
    e.all.iter().map(|a| a.info(e.primary)).collect()
}

/// Checks a removal before anything is evaluated: the authenticator
/// exists, and removing it would not leave the account short of what the
/// host requires. Answers whether it is the last one (then removing it is
/// turning two-factor authentication off).
pub(crate) fn check_remove(record: &Record, ctx: &Ctx<'_>, id: &str) -> Result<bool> {
    let e = super::ceremony::active(record).ok_or(Error::NotEnabled)?;
    let entry = e.entry(id).ok_or(Error::NoSuchAuthenticator)?;
    let method = entry.factor.method();
    if e.all.len() == 1 {
        super::disable::check(record, ctx, crate::model::setup::Keep::Nothing)?;
        return Ok(true);
    }
    if e.count(method) == 1 {
        super::requirement::check_remove(record, ctx, method)?;
    }
    Ok(false)
}

/// The step-up rule for removing `id`: disabling when it is the last.
pub(crate) fn change_of(record: &Record, id: &str) -> FactorChange {
    match super::ceremony::active(record).map(|e| (e.all.len(), e.entry(id).is_some())) {
        Some((1, true)) => FactorChange::Disable,
        _ => FactorChange::RemoveMethod,
    }
}

/// What goes with the last authenticator of `method`: a code it sent is
/// void, and a new number pending for a method no longer there has nothing
/// to replace.
pub(crate) fn kind_removed(record: &mut Record, method: Method) {
    if record.code.as_ref().is_some_and(|c| c.method == method) {
        record.code = None;
    }
    let replacing = record
        .pending
        .as_ref()
        .is_some_and(|p| p.goal == Goal::ReplaceNumber && method == Method::Sms);
    if replacing {
        record.pending = None;
        super::sending::spend(record, Purpose::Setup);
    }
}

/// Removes the authenticator `id`. When it was the last of the primary
/// kind, the next kind set up becomes the primary (remembered devices ask
/// again); when it was the last of all, two-factor authentication is
/// turned off with nothing kept. A code sent by a kind no longer set up is
/// void; a number that no longer receives codes is told.
pub(crate) fn remove(
    record: Record,
    ctx: &Ctx<'_>,
    id: &str,
    presented: &Presented<'_>,
) -> Result<Decision<Verdict<Changed>>> {
    if check_remove(&record, ctx, id)? {
        return super::disable::disable(record, ctx, crate::model::setup::Keep::Nothing, presented);
    }
    let (mut record, authorised) =
        match authorize(record, ctx, FactorChange::RemoveMethod, presented)? {
            Gate::Pass(record, authorised) => (record, authorised),
            Gate::Stop(decision) => return Ok(decision),
        };
    let old_number = texted_number(&record, ctx)?;
    let e = record.factors.as_mut().ok_or(Error::NotEnabled)?;
    let at = e
        .all
        .iter()
        .position(|a| a.id == id)
        .ok_or(Error::NoSuchAuthenticator)?;
    let gone = e.all.remove(at);
    let method = gone.factor.method();
    let kind_gone = !e.has(method);
    if kind_gone && e.primary == method {
        if let Some(next) = e.all.first().map(|a| a.factor.method()) {
            e.primary = next;
            record.devices.clear();
        }
    }
    if kind_gone {
        kind_removed(&mut record, method);
    }
    factors_changed(
        record,
        ctx,
        authorised,
        (
            EventKind::AuthenticatorRemoved,
            Some(method),
            Change::AuthenticatorRemoved(method),
            Some(gone.named()),
        ),
        old_number,
        |stamp| Changed { stamp },
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{with_app, Fixture};
    use super::*;

    #[test]
    fn default_labels_are_numbered_and_ids_never_clash() {
        let f = Fixture::new();
        let r = with_app(&f, 1_700_000_010, 3);
        let mut others = r.factors.unwrap().all;
        assert_eq!(
            label_for(&others, Method::App, None).unwrap(),
            "Authenticator app 2"
        );
        assert_eq!(
            label_for(&others, Method::Sms, None).unwrap(),
            "Text message"
        );
        let mut second = others[0].clone();
        second.label = "Authenticator app 2".into();
        others.push(second);
        assert_eq!(
            label_for(&others, Method::App, None).unwrap(),
            "Authenticator app 3"
        );
        assert_eq!(
            label_for(&others, Method::App, Some("  Pixel 8 ")).unwrap(),
            "Pixel 8"
        );
        // the fixture's first app got its id from entropy(1); the same draw
        // again would clash, and is refused rather than reused
        let ctx = f.ctx(1_700_000_010);
        let id = id_for(&[], Method::App, &ctx).unwrap();
        assert!(id.starts_with("app-") && id.len() == 12);
        others[0].id = id;
        assert!(matches!(
            id_for(&others, Method::App, &ctx),
            Err(Error::Random)
        ));
        assert_eq!(id_for(&others, Method::Email, &ctx).unwrap(), "email");
    }
}
