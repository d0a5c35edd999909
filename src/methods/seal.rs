//! Secrets at rest: XChaCha20-Poly1305 under a key derived from the host's
//! master key, bound to the account and the kind of secret.
//!
//! XChaCha20-Poly1305 as draft-irtf-cfrg-xchacha defines it: HChaCha20
//! (RustCrypto `chacha20`) turns the key and the first 16 nonce bytes into a
//! subkey for RFC 8439 ChaCha20-Poly1305 (`ring`), whose nonce is four zero
//! bytes and the last 8. `ring`'s AEAD costs a fifth of the pure-Rust
//! crate's on a 20-byte secret, and a login opens one.

use std::fmt;

use chacha20::cipher::consts::U10;
use data_encoding::BASE64;
use hmac::{Hmac, Mac};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
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
    seal: SecretBox<[u8; 32]>,
    code: CodeKey,
}

impl Keys {
    pub(crate) fn derive(master: &MasterKey) -> Result<Self> {
        let seal = master.derive(b"twofactor/v1/seal")?;
        let code = master.derive(b"twofactor/v1/code-mac")?;
        Ok(Self {
            seal,
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
        let (key, inner) = self.subkey(&nonce)?;
        let mut ciphertext = plaintext.to_vec();
        key.seal_in_place_append_tag(
            inner,
            Aad::from(associated_data(user, kind)),
            &mut ciphertext,
        )
        .map_err(|_| Error::Unseal)?;
        Ok(Sealed {
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// What [`seal`](Self::seal) sealed for `user` and `kind`;
    /// [`Error::Unseal`] when a byte was changed or it was sealed for another
    /// account, kind or master key.
    pub(crate) fn open(
        &self,
        user: &str,
        kind: SecretKind,
        sealed: &Sealed,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let nonce: &[u8; NONCE_LEN] = sealed
            .nonce
            .as_slice()
            .try_into()
            .map_err(|_| Error::Unseal)?;
        let (key, inner) = self.subkey(nonce)?;
        let mut buffer = Zeroizing::new(sealed.ciphertext.clone());
        let len = key
            .open_in_place(inner, Aad::from(associated_data(user, kind)), &mut buffer)
            .map_err(|_| Error::Unseal)?
            .len();
        buffer.truncate(len);
        Ok(buffer)
    }

    /// The ChaCha20-Poly1305 key and nonce that XChaCha20-Poly1305 with
    /// this nonce comes down to.
    fn subkey(&self, nonce: &[u8; NONCE_LEN]) -> Result<(LessSafeKey, Nonce)> {
        let (head, tail) = nonce.split_first_chunk::<16>().ok_or(Error::Unseal)?;
        let subkey = Zeroizing::new(<[u8; 32]>::from(chacha20::hchacha::<U10>(
            self.seal.expose_secret().into(),
            head.into(),
        )));
        let key =
            UnboundKey::new(&CHACHA20_POLY1305, subkey.as_slice()).map_err(|_| Error::Unseal)?;
        let mut inner = [0u8; 12];
        for (to, from) in inner.iter_mut().skip(4).zip(tail) {
            *to = *from;
        }
        Ok((LessSafeKey::new(key), Nonce::assume_unique_for_key(inner)))
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
    #[serde(with = "crate::methods::bytes")]
    nonce: Vec<u8>,
    #[serde(with = "crate::methods::bytes")]
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
        let stored = postcard::to_allocvec(&sealed).unwrap();
        assert!(!crate::__internal::holds(&stored, b"AAAA"));
        assert_eq!(format!("{sealed:?}"), "Sealed([REDACTED])");
    }

    fn hex(text: &str) -> Vec<u8> {
        data_encoding::HEXLOWER.decode(text.as_bytes()).unwrap()
    }

    /// A `Keys` whose seal key is `key` itself, to meet published vectors.
    fn raw(key: [u8; 32]) -> Keys {
        let mut k = keys(0);
        k.seal = SecretBox::new(Box::new(key));
        k
    }

    /// draft-irtf-cfrg-xchacha-03, appendix A.3.1, through the subkey and
    /// nonce that `seal` and `open` use.
    #[test]
    fn meets_the_xchacha20_poly1305_draft_vector() {
        let key: [u8; 32] = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
            .try_into()
            .unwrap();
        let nonce: [u8; 24] = hex("404142434445464748494a4b4c4d4e4f5051525354555657")
            .try_into()
            .unwrap();
        let aad = hex("50515253c0c1c2c3c4c5c6c7");
        let plaintext = b"Ladies and Gentlemen of the class of '99: If I could offer you only \
one tip for the future, sunscreen would be it.";
        let expected = hex(concat!(
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb",
            "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452",
            "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9",
            "21f9664c97637da9768812f615c68b13b52e",
            "c0875924c1c7987947deafd8780acf49"
        ));
        let (k, n) = raw(key).subkey(&nonce).unwrap();
        let mut buffer = plaintext.to_vec();
        k.seal_in_place_append_tag(n, Aad::from(&aad), &mut buffer)
            .unwrap();
        assert_eq!(buffer, expected);
        let (k, n) = raw(key).subkey(&nonce).unwrap();
        assert_eq!(
            k.open_in_place(n, Aad::from(&aad), &mut buffer).unwrap(),
            plaintext
        );
    }

    /// Sealing agrees with RustCrypto's XChaCha20-Poly1305, both ways, on
    /// many keys, nonces, accounts and lengths.
    #[test]
    fn agrees_with_rustcrypto_xchacha20_poly1305() {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        use chacha20poly1305::{XChaCha20Poly1305, XNonce};
        for n in 0u8..200 {
            let key = [n.wrapping_mul(31) ^ 0x5a; 32];
            let nonce: [u8; 24] = std::array::from_fn(|i| n ^ (i as u8).wrapping_mul(7));
            let user = format!("user-{n}");
            let plaintext: Vec<u8> = (0..usize::from(n)).map(|i| i as u8 ^ n).collect();
            let ours = raw(key);
            let peer = XChaCha20Poly1305::new(&key.into());
            let aad = associated_data(&user, SecretKind::PhoneNumber);
            let sealed = ours
                .seal(&user, SecretKind::PhoneNumber, nonce, &plaintext)
                .unwrap();
            let theirs = peer
                .encrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &plaintext,
                        aad: &aad,
                    },
                )
                .unwrap();
            assert_eq!(sealed.ciphertext, theirs);
            let opened = ours.open(&user, SecretKind::PhoneNumber, &sealed).unwrap();
            assert_eq!(opened.as_slice(), plaintext.as_slice());
        }
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
