//! Golden vectors: every derivation label, associated data and stored
//! format, pinned with a fixed master key (`tests/data/golden.json`, made
//! by `compute` when the formats were fixed). A test recomputes each
//! through the crate's real code, from the master key down, and checks the
//! sealed values and the code MAC by hand on RustCrypto's primitives; any
//! change to a label, a binding or a format fails here.

use serde_json::{json, Value};

use crate::crypto::code_mac::{code_mac, Binding};
use crate::crypto::keys::{Keys, MasterKey};
use crate::crypto::limit_key::{counter_key, destination, Counted};
use crate::crypto::recovery_hash::{hash, make, Cost};
use crate::crypto::seal::SecretKind;
use crate::crypto::token::{token, token_mac, TokenKind};
use crate::model::message::Purpose;
use crate::model::status::Method;
use crate::policy::RecoveryPolicy;

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

/// The vectors, computed now.
fn compute() -> Value {
    let master = MasterKey::new([0x42; 32]);
    let keys = Keys::derive(&master, &[]).unwrap();
    let set = keys.current();
    let user = "user-1";
    let sealed_secret = keys
        .seal(
            user,
            SecretKind::TotpSecret,
            [0x11; 24],
            b"12345678901234567890",
        )
        .unwrap();
    let sealed_number = keys
        .seal(user, SecretKind::PhoneNumber, [0x22; 24], b"+60123451688")
        .unwrap();
    let binding = Binding {
        user,
        purpose: Purpose::Login,
        method: Method::Sms,
        destination: "+60123451688",
    };
    let device = token(&[0x33; 32]);
    let grant = token(&[0x44; 32]);
    let cost = Cost::from(&RecoveryPolicy {
        memory_kib: 64,
        passes: 1,
        lanes: 1,
    });
    let random = [0x55; 32];
    let shown = make(3, &random);
    let slot = hash(cost, user, &shown, &random).unwrap();
    json!({
        "master_key_hex": hex(&[0x42; 32]),
        "key_id": set.id.0,
        "sealed_totp_secret": {
            "user": user,
            "nonce_hex": hex(&[0x11; 24]),
            "associated_data": "twofactor/v1/totp-secret\u{0}user-1",
            "stored_hex": hex(&postcard::to_allocvec(&sealed_secret).unwrap()),
        },
        "sealed_phone_number": {
            "user": user,
            "nonce_hex": hex(&[0x22; 24]),
            "associated_data": "twofactor/v1/phone-number\u{0}user-1",
            "stored_hex": hex(&postcard::to_allocvec(&sealed_number).unwrap()),
        },
        "sent_code_mac": {
            "user": user, "purpose": "login", "method": "sms",
            "destination": "+60123451688", "code": "042917",
            "mac_hex": hex(&code_mac(set.code(), &binding, "042917")),
        },
        "device_token": {
            "user": user,
            "token": secrecy::ExposeSecret::expose_secret(&device),
            "mac_hex": hex(&token_mac(set.code(), TokenKind::Device, user, &device)),
        },
        "grant_token": {
            "user": user,
            "token": secrecy::ExposeSecret::expose_secret(&grant),
            "mac_hex": hex(&token_mac(set.code(), TokenKind::Grant, user, &grant)),
        },
        "destination_counter": {
            "destination": "+60123451688",
            "key": counter_key(set.code(), Counted::Destination, &destination(Method::Sms, "+60123451688")),
        },
        "recovery_code": {
            "user": user,
            "index": 3,
            "random_hex": hex(&random),
            "code": shown.as_str(),
            "argon2id": {"memory_kib": 64, "passes": 1, "lanes": 1},
            "stored_hex": hex(&postcard::to_allocvec(&slot).unwrap()),
        },
    })
}

#[cfg(test)]
mod tests {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use chacha20poly1305::{XChaCha20Poly1305, XNonce};
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    use super::*;

    fn golden() -> Value {
        serde_json::from_str(include_str!("../tests/data/golden.json")).unwrap()
    }

    #[test]
    fn every_pinned_value_is_made_again() {
        let (want, got) = (golden(), compute());
        for key in want.as_object().unwrap().keys() {
            assert_eq!(got[key], want[key], "{key} changed");
        }
        assert_eq!(got, want);
    }

    /// The sealed vectors open with RustCrypto's XChaCha20-Poly1305 under
    /// HMAC-SHA-256(master key, "twofactor/v1/seal") computed by hand, with
    /// the pinned associated data: the construction is what it says.
    #[test]
    fn sealed_vectors_open_by_hand() {
        let want = golden();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&[0x42; 32]).unwrap();
        mac.update(b"twofactor/v1/seal");
        let key: [u8; 32] = mac.finalize().into_bytes().into();
        for (name, plaintext) in [
            ("sealed_totp_secret", b"12345678901234567890".as_slice()),
            ("sealed_phone_number", b"+60123451688".as_slice()),
        ] {
            let v = &want[name];
            let stored = data_encoding::HEXLOWER
                .decode(v["stored_hex"].as_str().unwrap().as_bytes())
                .unwrap();
            let sealed: crate::crypto::seal::Sealed = postcard::from_bytes(&stored).unwrap();
            let nonce = data_encoding::HEXLOWER
                .decode(v["nonce_hex"].as_str().unwrap().as_bytes())
                .unwrap();
            assert_eq!(sealed.nonce, nonce);
            let aad = v["associated_data"].as_str().unwrap().as_bytes();
            let opened = XChaCha20Poly1305::new(&key.into())
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &sealed.ciphertext,
                        aad,
                    },
                )
                .unwrap();
            assert_eq!(opened, plaintext, "{name}");
        }
    }

    /// The sent-code MAC is HMAC-SHA-256 under HMAC-SHA-256(master key,
    /// "twofactor/v1/code-mac") of the length-prefixed fields, by hand.
    #[test]
    fn the_code_mac_is_what_it_says() {
        let want = golden();
        let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(&[0x42; 32]).unwrap();
        derive.update(b"twofactor/v1/code-mac");
        let code_key = derive.finalize().into_bytes();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&code_key).unwrap();
        for field in [
            b"twofactor/v1/code".as_slice(),
            b"user-1",
            b"login",
            b"sms",
            b"+60123451688",
            b"042917",
        ] {
            mac.update(&(field.len() as u32).to_be_bytes());
            mac.update(field);
        }
        let by_hand = data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes());
        assert_eq!(want["sent_code_mac"]["mac_hex"], by_hand);
    }
}
