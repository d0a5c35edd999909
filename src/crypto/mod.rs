//! The cryptographic building blocks, each a thin call into an audited
//! crate: codes (totp-rs), keys and sealing (hkdf, chacha20poly1305), keyed
//! hashes (hmac, sha2), recovery hashes (argon2), randomness (rand), QR
//! codes (qrcode). Pure functions: no I/O, no clock of their own.

pub(crate) mod code_mac;
pub(crate) mod key_uri;
pub(crate) mod keys;
pub(crate) mod limit_key;
pub(crate) mod qr;
pub(crate) mod random;
pub(crate) mod recovery_hash;
pub(crate) mod seal;
pub(crate) mod token;
pub(crate) mod totp;
