//! Secrets at rest: XChaCha20-Poly1305 under a key derived from the host's
//! master key, bound to the account and the kind of secret.

use std::fmt;

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use data_encoding::BASE64;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::methods::code::CodeKey;

/// Bytes in a sealing nonce.
pub(crate) const NONCE_LEN: usize = 24;

/// The host's 32-byte master key, from its secret configuration. Every key
/// the library uses is derived from it; losing it makes every stored
/// authenticator secret unreadable.
///
/// `Debug` prints `[REDACTED]`; the bytes are zeroed on drop.
pub struct MasterKey(SecretBox<[u8; 32]>);

impl MasterKey {
    /// A master key from its 32 bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// A master key from standard base64 text (44 characters), as kept in a
    /// secret store or an environment variable.
    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = Zeroizing::new(
            BASE64
                .decode(text.trim().as_bytes())
                .map_err(|_| Error::Config("the master key is not base64"))?,
        );
        let array: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| Error::Config("the master key must be 32 bytes"))?;
        Ok(Self::new(array))
    }

    /// A new random master key from the operating system, for demos and
    /// tests; a real deployment loads one it keeps.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| Error::Random)?;
        let key = Self::new(bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        Ok(key)
    }

    /// A key for one use, derived as HMAC-SHA-256(master, label).
    fn derive(&self, label: &[u8]) -> Result<SecretBox<[u8; 32]>> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose_secret())
            .map_err(|_| Error::Config("the master key cannot key HMAC"))?;
        mac.update(label);
        Ok(SecretBox::new(Box::new(mac.finalize().into_bytes().into())))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([REDACTED])")
    }
}

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

/// The keys derived from the master key.
pub(crate) struct Keys {
    seal: XChaCha20Poly1305,
    code: CodeKey,
}

impl Keys {
    pub(crate) fn derive(master: &MasterKey) -> Result<Self> {
        let seal = master.derive(b"twofactor/v1/seal")?;
        let code = master.derive(b"twofactor/v1/code-mac")?;
        Ok(Self {
            seal: XChaCha20Poly1305::new(seal.expose_secret().into()),
            code: <CodeKey as Mac>::new_from_slice(code.expose_secret())
                .map_err(|_| Error::Config("the code key cannot key HMAC"))?,
        })
    }

    /// The key one-time codes are hashed under.
    pub(crate) fn code(&self) -> &CodeKey {
        &self.code
    }

    /// Seals `plaintext` for `user` and `kind` under a fresh random nonce.
    pub(crate) fn seal(
        &self,
        user: &str,
        kind: SecretKind,
        nonce: [u8; NONCE_LEN],
        plaintext: &[u8],
    ) -> Result<Sealed> {
        let aad = associated_data(user, kind);
        let ciphertext = self
            .seal
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| Error::Unseal)?;
        Ok(Sealed {
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// Opens what [`seal`](Self::seal) sealed for the same user and kind.
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
        self.seal
            .decrypt(
                XNonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| Error::Unseal)
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys([REDACTED])")
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

/// A sealed secret as stored: nonce and ciphertext (with its tag).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Sealed {
    #[serde(with = "crate::methods::b64")]
    nonce: Vec<u8>,
    #[serde(with = "crate::methods::b64")]
    ciphertext: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealed([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(byte: u8) -> Keys {
        Keys::derive(&MasterKey::new([byte; 32])).unwrap()
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
            keys(8).open("alice", SecretKind::TotpSecret, &sealed),
            Err(Error::Unseal)
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
            ciphertext: sealed.ciphertext.clone(),
        };
        assert!(matches!(
            k.open("alice", SecretKind::TotpSecret, &short),
            Err(Error::Unseal)
        ));
    }

    #[test]
    fn ciphertext_hides_the_plaintext() {
        let sealed = keys(1)
            .seal("u", SecretKind::TotpSecret, [9; 24], b"AAAAAAAAAAAAAAAA")
            .unwrap();
        let json = serde_json::to_string(&sealed).unwrap();
        assert!(!json.contains("AAAAAAAA"));
        assert!(!json.contains("QUFBQUFB")); // base64 of the plaintext
        assert_eq!(format!("{sealed:?}"), "Sealed([REDACTED])");
    }

    #[test]
    fn master_key_parsing() {
        let text = BASE64.encode(&[3u8; 32]);
        assert!(MasterKey::from_base64(&text).is_ok());
        assert!(MasterKey::from_base64(&BASE64.encode(&[3u8; 31])).is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert_eq!(
            format!("{:?}", MasterKey::new([5; 32])),
            "MasterKey([REDACTED])"
        );
    }
}
