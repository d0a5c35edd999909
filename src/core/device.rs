//! Remembered devices.

use secrecy::SecretString;

use super::{Ctx, Decision, Effect};
use crate::crypto::token::{find, token, token_mac, TokenKind};
use crate::error::{Error, Result};
use crate::model::event::EventKind;
use crate::model::time::Timestamp;
use crate::model::verdict::{DeviceInfo, RememberedDevice};
use crate::record::{Device, Record};

/// The longest token looked at: real ones have 43 characters.
const LONGEST_TOKEN: usize = 64;
/// The longest label kept.
const LONGEST_LABEL: usize = 100;

/// The position of the live device whose token is `token`.
pub(crate) fn trusted(record: &Record, ctx: &Ctx<'_>, token: &str) -> Option<usize> {
    if token.is_empty() || token.len() > LONGEST_TOKEN {
        return None;
    }
    let token = SecretString::from(token);
    let keyed = record.devices.iter().map(|d| (d.key, d.mac.as_slice()));
    let i = find(ctx.keys, keyed, TokenKind::Device, ctx.account.id(), &token)?;
    record
        .devices
        .get(i)
        .filter(|d| d.expires > ctx.now)
        .map(|_| i)
}

/// Text fit for a list and a log: control characters out, at most 100
/// characters.
pub(crate) fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(LONGEST_LABEL)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Remembers a device labelled `label`: its token to hand out.
pub(crate) fn remember(
    record: &mut Record,
    ctx: &Ctx<'_>,
    label: &str,
) -> Result<RememberedDevice> {
    let token = token(&ctx.entropy()?.device);
    let keys = ctx.keys.current();
    let mac = token_mac(keys.code(), TokenKind::Device, ctx.account.id(), &token);
    let id = data_encoding::HEXLOWER.encode(mac.get(..6).unwrap_or_default());
    let expires = ctx.now.saturating_add(ctx.policy.devices.ttl);
    record.devices.retain(|d| d.expires > ctx.now);
    while record.devices.len() >= ctx.policy.devices.max {
        // the oldest goes first
        record.devices.remove(0);
    }
    record.devices.push(Device {
        id: id.clone(),
        key: keys.id,
        mac: mac.to_vec(),
        label: clean(label),
        created: ctx.now,
        expires,
        last_used: None,
    });
    Ok(RememberedDevice { token, id, expires })
}

/// The devices remembered now.
pub(crate) fn list(record: &Record, now: Timestamp) -> Vec<DeviceInfo> {
    record
        .devices
        .iter()
        .filter(|d| d.expires > now)
        .map(|d| DeviceInfo {
            id: d.id.clone(),
            label: d.label.clone(),
            created: d.created,
            expires: d.expires,
            last_used: d.last_used,
        })
        .collect()
}

/// Forgets the device `id` (all when `None`); how many were forgotten.
pub(crate) fn revoke(mut record: Record, id: Option<&str>) -> Result<Decision<usize>> {
    let before = record.devices.len();
    record.devices.retain(|d| id.is_some_and(|id| d.id != id));
    let gone = before - record.devices.len();
    if id.is_some() && gone == 0 {
        return Err(Error::NoSuchDevice);
    }
    Ok(Decision {
        save: (gone > 0).then_some(record),
        effects: (gone > 0)
            .then(|| Effect::Event(EventKind::DevicesRevoked, None))
            .into_iter()
            .collect(),
        reply: Ok(gone),
        failed: false,
        wants_codes: false,
    })
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::super::testing::Fixture;
    use super::*;

    const T0: u64 = 1_700_000_000;

    #[test]
    fn remembered_until_expiry_and_only_for_this_account() {
        let mut f = Fixture::new();
        let mut r = Record::default();
        let dev = remember(&mut r, &f.ctx(T0), "Firefox\non Linux").unwrap();
        assert_eq!(r.devices[0].label, "Firefox on Linux");
        let t = dev.token.expose_secret().to_owned();
        assert_eq!(trusted(&r, &f.ctx(T0 + 1), &t), Some(0));
        assert_eq!(trusted(&r, &f.ctx(T0 + 30 * 86_400), &t), None, "expired");
        assert_eq!(trusted(&r, &f.ctx(T0 + 1), "x"), None);
        assert_eq!(trusted(&r, &f.ctx(T0 + 1), &"x".repeat(10_000)), None);
        f.account = crate::Account::new("user-2", "b@example.com");
        assert_eq!(trusted(&r, &f.ctx(T0 + 1), &t), None, "another account");
        let doc = r.encode().unwrap();
        assert!(
            !crate::__internal::holds(&doc, t.as_bytes()),
            "only a hash is stored"
        );
        let raw = data_encoding::BASE64URL_NOPAD.decode(t.as_bytes()).unwrap();
        assert!(!crate::__internal::holds(&doc, &raw[..8]));
    }

    #[test]
    fn no_drawn_randomness_is_an_error_never_zeros() {
        let f = Fixture::new();
        let mut ctx = f.ctx(T0);
        ctx.entropy = None;
        let mut r = Record::default();
        assert!(matches!(remember(&mut r, &ctx, "x"), Err(Error::Random)));
        assert!(r.devices.is_empty());
    }

    #[test]
    fn at_most_max_the_oldest_forgotten() {
        let mut f = Fixture::new();
        f.policy.devices.max = 3;
        let mut r = Record::default();
        for i in 0..5u8 {
            let _ = remember(
                &mut r,
                &f.ctx_seeded(T0 + u64::from(i), i),
                &format!("d{i}"),
            );
        }
        let labels: Vec<_> = r.devices.iter().map(|d| d.label.as_str()).collect();
        assert_eq!(labels, ["d2", "d3", "d4"]);
    }

    #[test]
    fn revoke_one_or_all() {
        let f = Fixture::new();
        let mut r = Record::default();
        let a = remember(&mut r, &f.ctx_seeded(T0, 1), "a").unwrap();
        let _ = remember(&mut r, &f.ctx_seeded(T0, 2), "b");
        assert!(matches!(
            revoke(r.clone(), Some("nope")),
            Err(Error::NoSuchDevice)
        ));
        let d = revoke(r.clone(), Some(&a.id)).unwrap();
        assert_eq!(d.reply.unwrap(), 1);
        assert_eq!(d.save.unwrap().devices.len(), 1);
        let d = revoke(r, None).unwrap();
        assert_eq!(d.reply.unwrap(), 2);
        let r = d.save.unwrap();
        assert!(r.devices.is_empty());
        // nothing to forget: nothing written, nothing reported
        let d = revoke(r, None).unwrap();
        assert_eq!(d.reply.unwrap(), 0);
        assert!(d.save.is_none() && d.effects.is_empty());
    }

    /// A device is void from its expiry on: trusted up to the second
    /// before, and dropped from the record by the next one remembered at
    /// that very second.
    #[test]
    fn expired_at_its_expiry_and_then_dropped() {
        let f = Fixture::new();
        let mut r = Record::default();
        let old = remember(&mut r, &f.ctx_seeded(T0, 1), "old").unwrap();
        let t = old.token.expose_secret().to_owned();
        let end = old.expires.unix_seconds();
        assert_eq!(trusted(&r, &f.ctx(end - 1), &t), Some(0));
        assert_eq!(trusted(&r, &f.ctx(end), &t), None);
        let _ = remember(&mut r, &f.ctx_seeded(end, 2), "new").unwrap();
        let labels: Vec<_> = r.devices.iter().map(|d| d.label.as_str()).collect();
        assert_eq!(labels, ["new"]);
    }
}
