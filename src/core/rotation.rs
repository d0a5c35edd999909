//! Master-key rotation, as the core sees it: a record's sealed secrets are
//! sealed again under the current key whenever the record is saved.
//! Keyed hashes (sent codes, device tokens, grants) cannot be made again
//! without what they hash; they keep the id of the key that made them,
//! verify under it while it is in hand, and end with their own expiry.

use super::{Ctx, Decision};
use crate::crypto::keys::Keys;
use crate::crypto::seal::{Sealed, SecretKind};
use crate::error::Result;
use crate::record::{Factor, Record};

/// The most sealed values a record holds: the secrets of as many apps as
/// the policy can allow (10), a number, and a pending setup's secret or
/// number.
pub(crate) const RESEALS: usize = 12;

/// The sealed value a factor holds, with what it is.
fn sealed_of(factor: &Factor) -> Option<(SecretKind, &Sealed)> {
    match factor {
        Factor::App(app) => Some((SecretKind::TotpSecret, &app.secret)),
        Factor::Sms(sms) => Some((SecretKind::PhoneNumber, &sms.number)),
        Factor::Email(_) | Factor::Key(_) => None,
    }
}

/// Every sealed value of `record`, with what it is, to change.
fn sealed_mut(record: &mut Record) -> impl Iterator<Item = (SecretKind, &mut Sealed)> {
    let set_up = record
        .factors
        .iter_mut()
        .flat_map(|e| e.all.iter_mut().map(|e| &mut e.factor));
    let pending = record.pending.iter_mut().map(|p| &mut p.factor);
    set_up.chain(pending).filter_map(|factor| match factor {
        Factor::App(app) => Some((SecretKind::TotpSecret, &mut app.secret)),
        Factor::Sms(sms) => Some((SecretKind::PhoneNumber, &mut sms.number)),
        Factor::Email(_) | Factor::Key(_) => None,
    })
}

/// Whether a sealed value of `record` is under a key other than the current
/// one.
pub(crate) fn stale(record: &Record, keys: &Keys) -> bool {
    let current = keys.current().id;
    let set_up = record
        .factors
        .iter()
        .flat_map(|e| e.all.iter().map(|e| &e.factor));
    let pending = record.pending.iter().map(|p| &p.factor);
    set_up
        .chain(pending)
        .filter_map(sealed_of)
        .any(|(_, sealed)| sealed.key != current)
}

/// A rotation's decision for one record: to save it when a value is under
/// a previous key (the save seals it again under the current one), and
/// whether so.
pub(crate) fn reseal_if_stale(record: Record, ctx: &Ctx<'_>) -> Decision<bool> {
    match stale(&record, ctx.keys) {
        true => Decision::saved(record, Vec::new(), true),
        false => Decision::unchanged(false),
    }
}

/// Seals every value of `record` not under the current key again under it,
/// each with a fresh nonce; how many.
pub(crate) fn reseal(record: &mut Record, ctx: &Ctx<'_>) -> Result<usize> {
    let user = ctx.account.id();
    let mut done = 0;
    let mut nonces = match ctx.entropy {
        Some(e) => e.reseal.iter(),
        None => [].iter(),
    };
    for (kind, sealed) in sealed_mut(record) {
        if sealed.key == ctx.keys.current().id {
            continue;
        }
        let Some(nonce) = nonces.next() else {
            // No randomness drawn for this decision: left for the next save.
            break;
        };
        if let Some(again) = ctx.keys.reseal(user, kind, sealed, *nonce)? {
            *sealed = again;
            done += 1;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{app_code, with_app, Fixture};
    use super::*;
    use crate::crypto::keys::MasterKey;

    #[test]
    fn a_record_of_an_old_key_is_sealed_again_under_the_new_one() {
        let old = Fixture::new();
        let t0 = 1_700_000_100;
        let mut r = with_app(&old, t0, 3);
        let mut new = Fixture::new();
        new.keys = Keys::derive(&MasterKey::new([43; 32]), &[MasterKey::new([42; 32])]).unwrap();
        assert!(stale(&r, &new.keys));
        assert!(!stale(&r, &old.keys));
        assert_eq!(reseal(&mut r, &new.ctx(t0)).unwrap(), 1);
        assert!(!stale(&r, &new.keys));
        assert_eq!(reseal(&mut r, &new.ctx(t0)).unwrap(), 0);
        // the new key alone now opens it
        let mut only_new = Fixture::new();
        only_new.keys = Keys::derive(&MasterKey::new([43; 32]), &[]).unwrap();
        let code = app_code(3, t0 + 30);
        let d = super::super::login::verify(r, &only_new.ctx(t0 + 30), &code, None, None).unwrap();
        assert!(d.ok().is_accepted());
    }
}
