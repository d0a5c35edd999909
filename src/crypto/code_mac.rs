//! One-time codes sent by email or text message: drawn from the OS's random
//! bytes, stored only as a keyed hash bound to what the code is for.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::crypto::totp::parse_code;
use crate::model::message::Purpose;
use crate::model::status::Method;

/// A code of `digits` digits (6 to 10) from eight random bytes. The modulo
/// bias is below 10^10 / 2^64, about 5 × 10^-10.
pub(crate) fn code_from(random: [u8; 8], digits: u8) -> String {
    let digits = digits.clamp(6, 10);
    let n = u64::from_le_bytes(random) % 10u64.pow(u32::from(digits));
    format!("{n:0width$}", width = usize::from(digits))
}

/// What a code is bound to: whose, what for, how sent and where.
pub(crate) struct Binding<'a> {
    pub(crate) user: &'a str,
    pub(crate) purpose: Purpose,
    pub(crate) method: Method,
    pub(crate) destination: &'a str,
}

/// The keyed HMAC-SHA-256 that codes are hashed with.
pub(crate) type CodeKey = Hmac<Sha256>;

/// HMAC-SHA-256 over the binding and the code, each field length-prefixed.
pub(crate) fn code_mac(key: &CodeKey, binding: &Binding<'_>, code: &str) -> [u8; 32] {
    let mut mac = key.clone();
    let method = match binding.method {
        Method::App => "app",
        Method::Email => "email",
        Method::Sms => "sms",
        Method::Key => "key",
    };
    for field in [
        b"twofactor/v1/code".as_slice(),
        binding.user.as_bytes(),
        binding.purpose.as_str().as_bytes(),
        method.as_bytes(),
        binding.destination.as_bytes(),
        code.as_bytes(),
    ] {
        mac.update(&u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
        mac.update(field);
    }
    mac.finalize().into_bytes().into()
}

/// Whether `code` (exactly `digits` ASCII digits) is the one whose MAC is
/// `stored`, for this binding. Compared in constant time.
pub(crate) fn code_matches(
    key: &CodeKey,
    binding: &Binding<'_>,
    digits: u8,
    code: &str,
    stored: &[u8],
) -> bool {
    if parse_code(code, digits).is_none() {
        return false;
    }
    bool::from(code_mac(key, binding, code).as_slice().ct_eq(stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding<'a>(user: &'a str, purpose: Purpose, method: Method, to: &'a str) -> Binding<'a> {
        Binding {
            user,
            purpose,
            method,
            destination: to,
        }
    }

    #[test]
    fn codes_have_their_digits() {
        assert_eq!(code_from([0; 8], 6), "000000");
        assert_eq!(code_from(1_234_567u64.to_le_bytes(), 6), "234567");
        assert_eq!(code_from(42u64.to_le_bytes(), 10), "0000000042");
        assert_eq!(code_from([255; 8], 8).len(), 8);
    }

    fn keyed(byte: u8) -> CodeKey {
        <CodeKey as Mac>::new_from_slice(&[byte; 32]).unwrap()
    }

    #[test]
    fn a_code_matches_only_its_binding() {
        let key = keyed(9);
        let b = binding("u1", Purpose::Login, Method::Sms, "+60123451688");
        let mac = code_mac(&key, &b, "123456");
        assert!(code_matches(&key, &b, 6, "123456", &mac));
        for other in [
            binding("u2", Purpose::Login, Method::Sms, "+60123451688"),
            binding("u1", Purpose::Setup, Method::Sms, "+60123451688"),
            binding("u1", Purpose::Login, Method::Email, "+60123451688"),
            binding("u1", Purpose::Login, Method::Sms, "+60123451689"),
        ] {
            assert!(!code_matches(&key, &other, 6, "123456", &mac));
        }
        assert!(!code_matches(&keyed(8), &b, 6, "123456", &mac));
        assert!(!code_matches(&key, &b, 6, "123457", &mac));
        assert!(!code_matches(&key, &b, 6, "１２３４５６", &mac));
        assert!(!code_matches(&key, &b, 6, "123456 ", &mac));
        assert!(!code_matches(&key, &b, 6, "123456", &mac[..31]));
    }

    #[test]
    fn length_prefixes_keep_fields_apart() {
        let key = keyed(1);
        let a = binding("ab", Purpose::Login, Method::Email, "c@x");
        let b = binding("a", Purpose::Login, Method::Email, "bc@x");
        assert_ne!(code_mac(&key, &a, "123456"), code_mac(&key, &b, "123456"));
    }
}
