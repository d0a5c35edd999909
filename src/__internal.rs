//! Thin wrappers over internals, for the crate's own benches and tests
//! only (feature `__internal`). Not part of the API: names and shapes may
//! change in any release.

pub use crate::crypto::key_uri::{key_uri, KeyUriError};
pub use crate::crypto::totp::{hotp, OtpCode, Totp};
/// The schema version new records are written with.
pub const SCHEMA_VERSION: u32 = crate::record::SCHEMA_VERSION;

use secrecy::SecretString;

use crate::crypto::code_mac::{code_mac, code_matches, Binding, CodeKey};
use crate::crypto::recovery_hash as recovery;
use crate::crypto::token::{self as device, TokenKind};
use crate::model::message::Purpose;
use crate::model::status::Method;

/// A stored document as JSON, to look into in tests: the record's fields
/// by name, byte strings as arrays of numbers.
pub fn document_json(document: &[u8]) -> crate::Result<serde_json::Value> {
    let record = crate::record::Record::decode(document)?;
    serde_json::to_value(&record).map_err(|e| crate::Error::CorruptRecord(Box::new(e)))
}

/// A stored document's record as its `Debug` shows it.
pub fn record_debug(document: &[u8]) -> crate::Result<String> {
    Ok(format!("{:?}", crate::record::Record::decode(document)?))
}

/// Whether `needle` appears anywhere in a stored document's bytes.
pub fn holds(document: &[u8], needle: impl AsRef<[u8]>) -> bool {
    let needle = needle.as_ref();
    !needle.is_empty() && document.windows(needle.len()).any(|w| w == needle)
}

/// An email/SMS code check's state: a key and a stored MAC.
pub struct CodeCheck {
    key: CodeKey,
    mac: [u8; 32],
}

impl CodeCheck {
    /// A check for the code `code` sent to `to`.
    pub fn new(code: &str, to: &str) -> Self {
        let key = <CodeKey as hmac::digest::KeyInit>::new(&[7u8; 64].into());
        let mac = code_mac(&key, &binding(to), code);
        Self { key, mac }
    }

    /// Whether `typed` is the code.
    pub fn verify(&self, typed: &str, to: &str) -> bool {
        code_matches(&self.key, &binding(to), 6, typed, &self.mac)
    }
}

fn binding(to: &str) -> Binding<'_> {
    Binding {
        user: "user-42",
        purpose: Purpose::Login,
        method: Method::Email,
        destination: to,
    }
}

/// A recovery-code check's state: `left` live slots of ten, and the code
/// of slot 0.
pub struct RecoveryCheck {
    slots: Vec<Option<recovery::Slot>>,
    cost: recovery::Cost,
    code: String,
}

impl RecoveryCheck {
    /// Ten codes hashed with `memory_kib`/`passes`, all but `left` used.
    pub fn new(left: usize, memory_kib: u32, passes: u32) -> Self {
        let cost = recovery::Cost::from(&crate::policy::RecoveryPolicy {
            memory_kib,
            passes,
            lanes: 1,
        });
        let mut slots = Vec::new();
        let mut code = String::new();
        for i in 0..recovery::COUNT {
            let random = [i as u8 + 1; 32];
            let shown = recovery::make(i, &random);
            if i == 0 {
                code = shown.to_string();
            }
            let slot = recovery::hash(cost, "user-42", &shown, &random).ok();
            slots.push(if i < left { slot } else { None });
        }
        Self { slots, cost, code }
    }

    /// The code of slot 0, live while `left` is at least 1.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Whether `typed` matches its slot: one argon2id computation.
    pub fn verify(&self, typed: &str) -> bool {
        recovery::check(&self.slots, self.cost, "user-42", typed).is_some()
    }
}

/// A remembered-device check's state: 20 stored token MACs.
pub struct DeviceCheck {
    keys: crate::crypto::keys::Keys,
    macs: Vec<[u8; 32]>,
}

impl DeviceCheck {
    /// Twenty devices; the token of the last is `token(19)`.
    pub fn new() -> crate::Result<Self> {
        let master = crate::crypto::keys::MasterKey::new([9; 32]);
        let keys = crate::crypto::keys::Keys::derive(&master, &[])?;
        let key = keys.current().code();
        let macs = (0..20u8)
            .map(|i| device::token_mac(key, TokenKind::Device, "user-42", &Self::token(i)))
            .collect();
        Ok(Self { keys, macs })
    }

    /// The token of device `i`.
    pub fn token(i: u8) -> SecretString {
        device::token(&[i; 32])
    }

    /// The index of the device whose token is `token`.
    pub fn verify(&self, token: &SecretString) -> Option<usize> {
        let id = self.keys.current().id;
        let stored = self.macs.iter().map(|m| (id, m.as_slice()));
        device::find(&self.keys, stored, TokenKind::Device, "user-42", token)
    }
}
