//! What people type and paste: codes (app and sent), phone numbers, key
//! URIs and base32 secrets, master keys. An answer or a typed error, never
//! a panic or an overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use twofactor::__internal::{CodeCheck, Totp};
use twofactor::{Algorithm, ImportedApp, MasterKey, PhoneNumber};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    // a code of 6 to 10 digits, checked against a fixed secret at a time
    // taken from the input's first byte
    let digits = 6 + first % 5;
    let algorithm = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512][usize::from(first % 3)];
    let totp = Totp::new(algorithm, digits.min(8), 30);
    let now = u64::from(first).wrapping_mul(1_000_003);
    let _ = totp.matching_step(b"12345678901234567890", &text, now, first % 2, Some(now / 30));
    let _ = totp.latest_step(b"12345678901234567890", &text, now, 1);
    let check = CodeCheck::new("123456", "to");
    let _ = check.verify(&text, "to");
    let _ = PhoneNumber::parse(&text);
    let _ = ImportedApp::from_uri(&SecretString::from(text.to_string()));
    let _ = ImportedApp::from_base32(&SecretString::from(text.to_string()), algorithm, digits, 30);
    let _ = MasterKey::from_base64(&text);
});
