//! Secrets at rest: XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`
//! through its `Aead` API) under the current master key's sealing key, with
//! the account and the kind of secret as associated data.

use std::fmt;

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::XNonce;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::keys::{KeyId, Keys};
use crate::error::{Error, Result};

/// Bytes in a sealing nonce.
pub(crate) const NONCE_LEN: usize = 24;

/// What a sealed secret is for; part of what binds it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SecretKind {
    /// An authenticator app's TOTP secret.
    TotpSecret,
    /// A phone number codes are texted to.
    PhoneNumber,
}

impl SecretKind {
    fn label(self) -> &'static [u8] {
        match self {
            SecretKind::TotpSecret => b"totp-secret",
            SecretKind::PhoneNumber => b"phone-number",
        }
    }
}

impl Keys {
    /// Seals `plaintext` for `user` and `kind` under the current key and a
    /// fresh random nonce.
    pub(crate) fn seal(
        &self,
        user: &str,
        kind: SecretKind,
        nonce: [u8; NONCE_LEN],
        plaintext: &[u8],
    ) -> Result<Sealed> {
        let aad = associated_data(user, kind);
        let ciphertext = self
            .current()
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| Error::Unseal)?;
        Ok(Sealed {
            key: self.current().id,
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// What [`seal`](Self::seal) sealed for `user` and `kind`:
    /// [`Error::UnknownKey`] when sealed under a master key not in hand,
    /// [`Error::Unseal`] when a byte was changed or it was sealed for
    /// another account or kind.
    pub(crate) fn open(
        &self,
        user: &str,
        kind: SecretKind,
        sealed: &Sealed,
    ) -> Result<Zeroizing<Vec<u8>>> {
        if sealed.nonce.len() != NONCE_LEN {
            return Err(Error::Unseal);
        }
        let aad = associated_data(user, kind);
        let mut tried = false;
        for set in self.for_id(sealed.key) {
            tried = true;
            let opened = set.cipher().decrypt(
                XNonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: &aad,
                },
            );
            if let Ok(plaintext) = opened {
                return Ok(Zeroizing::new(plaintext));
            }
        }
        Err(if tried {
            Error::Unseal
        } else {
            Error::UnknownKey
        })
    }

    /// `sealed` sealed again under the current key with `nonce`, when
    /// another key sealed it; `None` when it is the current key's already.
    pub(crate) fn reseal(
        &self,
        user: &str,
        kind: SecretKind,
        sealed: &Sealed,
        nonce: [u8; NONCE_LEN],
    ) -> Result<Option<Sealed>> {
        if sealed.key == self.current().id {
            return Ok(None);
        }
        let plaintext = self.open(user, kind, sealed)?;
        self.seal(user, kind, nonce, &plaintext).map(Some)
    }
}

/// `twofactor/v1/<kind>` NUL `<user id>`; ids hold no control characters.
fn associated_data(user: &str, kind: SecretKind) -> Vec<u8> {
    let mut aad = b"twofactor/v1/".to_vec();
    aad.extend_from_slice(kind.label());
    aad.push(0);
    aad.extend_from_slice(user.as_bytes());
    aad
}

/// A sealed secret as stored: which key, the nonce, and the ciphertext with
/// its tag.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Sealed {
    pub(crate) key: KeyId,
    #[serde(with = "serde_bytes")]
    pub(crate) nonce: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub(crate) ciphertext: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealed([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::MasterKey;

    fn keys(byte: u8) -> Keys {
        Keys::derive(&MasterKey::new([byte; 32]), &[]).unwrap()
    }

    #[test]
    fn round_trip_and_bindings() {
        let k = keys(7);
        let sealed = k
            .seal("alice", SecretKind::TotpSecret, [1; 24], b"secret!")
            .unwrap();
        assert_eq!(
            k.open("alice", SecretKind::TotpSecret, &sealed)
                .unwrap()
                .as_slice(),
            b"secret!"
        );
        assert!(matches!(
            k.open("bob", SecretKind::TotpSecret, &sealed),
            Err(Error::Unseal)
        ));
        assert!(matches!(
            k.open("alice", SecretKind::PhoneNumber, &sealed),
            Err(Error::Unseal)
        ));
        assert!(matches!(
            keys(8).open("alice", SecretKind::TotpSecret, &sealed),
            Err(Error::UnknownKey)
        ));
        let mut tampered = sealed.clone();
        if let Some(b) = tampered.ciphertext.first_mut() {
            *b ^= 1;
        }
        assert!(matches!(
            k.open("alice", SecretKind::TotpSecret, &tampered),
            Err(Error::Unseal)
        ));
        let short = Sealed {
            nonce: vec![0; 3],
            ..sealed.clone()
        };
        assert!(matches!(
            k.open("alice", SecretKind::TotpSecret, &short),
            Err(Error::Unseal)
        ));
        // a value from before key ids were kept opens under the key in hand
        let legacy = Sealed {
            key: KeyId::UNKNOWN,
            ..sealed
        };
        assert_eq!(
            k.open("alice", SecretKind::TotpSecret, &legacy)
                .unwrap()
                .as_slice(),
            b"secret!"
        );
    }

    #[test]
    fn previous_keys_open_and_reseal_under_the_current_one() {
        let old = keys(1);
        let sealed = old
            .seal("u", SecretKind::PhoneNumber, [3; 24], b"+60123451688")
            .unwrap();
        let both = Keys::derive(&MasterKey::new([2; 32]), &[MasterKey::new([1; 32])]).unwrap();
        assert_eq!(
            both.open("u", SecretKind::PhoneNumber, &sealed)
                .unwrap()
                .as_slice(),
            b"+60123451688"
        );
        let again = both
            .reseal("u", SecretKind::PhoneNumber, &sealed, [4; 24])
            .unwrap()
            .unwrap();
        assert_eq!(again.key, both.current().id);
        assert_ne!(again.key, sealed.key);
        assert!(both
            .reseal("u", SecretKind::PhoneNumber, &again, [5; 24])
            .unwrap()
            .is_none());
        let new_only = keys(2);
        assert_eq!(
            new_only
                .open("u", SecretKind::PhoneNumber, &again)
                .unwrap()
                .as_slice(),
            b"+60123451688"
        );
        assert!(Keys::derive(&MasterKey::new([2; 32]), &[MasterKey::new([2; 32])]).is_err());
    }

    #[test]
    fn ciphertext_hides_the_plaintext() {
        let sealed = keys(1)
            .seal("u", SecretKind::TotpSecret, [9; 24], b"AAAAAAAAAAAAAAAA")
            .unwrap();
        let stored = postcard::to_allocvec(&sealed).unwrap();
        assert!(!crate::__internal::holds(&stored, b"AAAA"));
        assert_eq!(format!("{sealed:?}"), "Sealed([REDACTED])");
    }
}
