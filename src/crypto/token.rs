//! Bearer tokens: a remembered device's (for a cookie) and a step-up
//! grant's (for a session). 256 random bits each, of which only a keyed
//! hash, bound to the account and to what the token is for, is stored.

use data_encoding::BASE64URL_NOPAD;
use hmac::Mac;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::crypto::code_mac::CodeKey;
use crate::crypto::keys::{KeyId, Keys};

/// The random bytes of a token.
pub(crate) type TokenEntropy = [u8; 32];

/// The token as set in a cookie: unpadded base64url, 43 characters.
pub(crate) fn token(random: &TokenEntropy) -> SecretString {
    SecretString::from(BASE64URL_NOPAD.encode(random))
}

/// What a token is for; part of what its hash is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A remembered device.
    Device,
    /// A step-up grant.
    Grant,
}

/// HMAC-SHA-256 of the token, bound to the account and the kind.
pub(crate) fn token_mac(
    key: &CodeKey,
    kind: TokenKind,
    user: &str,
    token: &SecretString,
) -> [u8; 32] {
    let label: &[u8] = match kind {
        TokenKind::Device => b"twofactor/v1/device",
        TokenKind::Grant => b"twofactor/v1/grant",
    };
    let mut mac = key.clone();
    for field in [label, user.as_bytes(), token.expose_secret().as_bytes()] {
        mac.update(&u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
        mac.update(field);
    }
    mac.finalize().into_bytes().into()
}

/// The position of the stored keyed hash that `token` hashes to, under the
/// key that made each (every key in hand for one made before key ids were
/// kept), comparing every one in constant time.
pub(crate) fn find<'a>(
    keys: &Keys,
    stored: impl Iterator<Item = (KeyId, &'a [u8])>,
    kind: TokenKind,
    user: &str,
    token: &SecretString,
) -> Option<usize> {
    // One hash per key, computed once whatever the number stored (for the
    // first few keys: a host holds one or two), on the stack.
    let mut hashes: [Option<(KeyId, [u8; 32])>; 4] = [None; 4];
    let mut found = None;
    for (i, (id, stored)) in stored.enumerate() {
        let mut hit = false;
        for set in keys.for_id(id) {
            let known = hashes.iter().flatten().find(|(k, _)| *k == set.id);
            let mac = match known {
                Some((_, mac)) => *mac,
                None => {
                    let mac = token_mac(set.code(), kind, user, token);
                    if let Some(free) = hashes.iter_mut().find(|h| h.is_none()) {
                        *free = Some((set.id, mac));
                    }
                    mac
                }
            };
            hit |= bool::from(stored.ct_eq(mac.as_slice()));
        }
        if hit && found.is_none() {
            found = Some(i);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CodeKey {
        <CodeKey as Mac>::new_from_slice(&[5; 32]).unwrap()
    }

    #[test]
    fn tokens_are_url_safe_and_bound() {
        let t = token(&[0xfb; 32]);
        assert_eq!(t.expose_secret().len(), 43);
        assert!(t
            .expose_secret()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let a = token_mac(&key(), TokenKind::Device, "alice", &t);
        assert_ne!(a, token_mac(&key(), TokenKind::Device, "bob", &t));
        assert_ne!(a, token_mac(&key(), TokenKind::Grant, "alice", &t));
        assert_ne!(
            a,
            token_mac(&key(), TokenKind::Device, "alice", &token(&[0xfa; 32]))
        );
        let keys = Keys::derive(&crate::crypto::keys::MasterKey::new([5; 32]), &[]).unwrap();
        let id = keys.current().id;
        let mine = token_mac(keys.current().code(), TokenKind::Device, "alice", &t);
        let stored = [vec![0u8; 32], mine.to_vec()];
        let keyed = || stored.iter().map(|m| (id, m.as_slice()));
        assert_eq!(
            find(&keys, keyed(), TokenKind::Device, "alice", &t),
            Some(1)
        );
        assert_eq!(find(&keys, keyed(), TokenKind::Device, "bob", &t), None);
        let legacy = stored.iter().map(|m| (KeyId::UNKNOWN, m.as_slice()));
        assert_eq!(find(&keys, legacy, TokenKind::Device, "alice", &t), Some(1));
    }

    /// Under a rotated master key, each stored hash is compared with the
    /// hash under the key that made it, whatever the order they come in.
    #[test]
    fn each_hash_is_checked_under_its_own_key() {
        use crate::crypto::keys::MasterKey;
        let (current, previous) = (MasterKey::new([6; 32]), MasterKey::new([7; 32]));
        let keys = Keys::derive(&current, std::slice::from_ref(&previous)).unwrap();
        let old = Keys::derive(&previous, &[]).unwrap();
        let (t, other) = (token(&[1; 32]), token(&[2; 32]));
        let mac = |keys: &Keys, t| token_mac(keys.current().code(), TokenKind::Device, "alice", t);
        let stored = [
            (current.id(), mac(&keys, &other)),
            (previous.id(), mac(&old, &t)),
            (current.id(), mac(&keys, &t)),
        ];
        let find_in = |stored: &[(KeyId, [u8; 32])], t| {
            let entries = stored.iter().map(|(id, m)| (*id, m.as_slice()));
            find(&keys, entries, TokenKind::Device, "alice", t)
        };
        assert_eq!(find_in(&stored, &t), Some(1));
        assert_eq!(find_in(&stored[..1], &t), None);
        assert_eq!(find_in(&stored[2..], &t), Some(0));
        assert_eq!(find_in(&stored, &other), Some(0));
        // a hash marked with the other key's id does not match
        let swapped = [(current.id(), mac(&old, &t))];
        assert_eq!(find_in(&swapped, &t), None);
    }
}
