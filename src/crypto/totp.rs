//! Time-based one-time passwords: RFC 4226 (HOTP) and RFC 6238 (TOTP).
//!
//! Codes come from `totp-rs` (HMAC from RustCrypto's `hmac`, dynamic
//! truncation, zero-padded digits), one per time step of the window: every
//! step is computed whatever matches, and each is compared with the typed
//! code in constant time with `subtle`, so that neither whether nor which
//! step matched shows in the time taken. The `totp_rs::TOTP` holding a copy
//! of the secret lives for one call and is zeroed when dropped (its
//! `zeroize` feature); the codes it makes are zeroed too.

// Public for the crate's own tests and benches (feature `__internal`).
#![cfg_attr(not(feature = "__internal"), allow(unreachable_pub, dead_code))]

use std::fmt;

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::policy::Algorithm;

/// The code parameters an authenticator app is set up with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totp {
    algorithm: Algorithm,
    digits: u8,
    period: u64,
}

impl Totp {
    /// Codes of `digits` digits (6 to 8; others are clamped into that range),
    /// each valid for `period` seconds (at least 1) from the Unix epoch.
    pub fn new(algorithm: Algorithm, digits: u8, period: u64) -> Self {
        Self {
            algorithm,
            digits: digits.clamp(6, 8),
            period: period.max(1),
        }
    }

    /// The HMAC hash.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Digits per code.
    pub fn digits(&self) -> u8 {
        self.digits
    }

    /// Seconds per step.
    pub fn period(&self) -> u64 {
        self.period
    }

    /// The time step that `unix_time` falls in.
    pub fn step_at(&self, unix_time: u64) -> u64 {
        unix_time / self.period
    }

    /// totp-rs's generator for `secret`, for one call: it holds a copy of
    /// the secret, zeroed when it is dropped.
    fn engine(&self, secret: &[u8]) -> totp_rs::TOTP {
        // `new_unchecked`: totp-rs refuses secrets under 128 bits, and real
        // authenticators carry 80-bit ones; the policy decides what to set up.
        totp_rs::TOTP::new_unchecked(
            engine_algorithm(self.algorithm),
            usize::from(self.digits),
            0,
            self.period,
            secret.to_vec(),
        )
    }

    /// The code an authenticator app shows at `unix_time`.
    pub fn code_at(&self, secret: &[u8], unix_time: u64) -> OtpCode {
        let code = Zeroizing::new(self.engine(secret).generate(unix_time));
        OtpCode {
            value: code.parse().unwrap_or_default(),
            digits: self.digits,
        }
    }

    /// The latest time step within `skew` steps of `unix_time`, and after
    /// `after` when given, whose code is `code`; `None` when there is none or
    /// `code` is not exactly [`digits`](Self::digits) ASCII digits.
    ///
    /// Every step of the window is computed and compared in constant time
    /// whatever matches.
    pub fn matching_step(
        &self,
        secret: &[u8],
        code: &str,
        unix_time: u64,
        skew: u8,
        after: Option<u64>,
    ) -> Option<u64> {
        self.latest_step(secret, code, unix_time, skew)
            .filter(|found| after.is_none_or(|a| *found > a))
    }

    /// The latest time step within `skew` steps of `unix_time` whose code
    /// is `code`, used or not: a step at or before the last one accepted
    /// tells a replay from a wrong code. `None` when there is none or `code`
    /// is not exactly [`digits`](Self::digits) ASCII digits.
    ///
    /// Every step of the window is computed and compared in constant time
    /// whatever matches.
    pub fn latest_step(&self, secret: &[u8], code: &str, unix_time: u64, skew: u8) -> Option<u64> {
        parse_code(code, self.digits)?;
        let engine = self.engine(secret);
        let now = self.step_at(unix_time);
        let first = now.saturating_sub(u64::from(skew));
        let last = now.saturating_add(u64::from(skew));
        let mut found = 0u64;
        let mut any = Choice::from(0);
        for step in first..=last {
            let expected = Zeroizing::new(engine.generate(step.saturating_mul(self.period)));
            let hit = expected.as_bytes().ct_eq(code.as_bytes());
            // Steps ascend: the last hit is the latest matching step.
            found = u64::conditional_select(&found, &step, hit);
            any |= hit;
        }
        bool::from(any).then_some(found)
    }
}

fn engine_algorithm(algorithm: Algorithm) -> totp_rs::Algorithm {
    match algorithm {
        Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
        Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
        Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
    }
}

/// A one-time code, shown with its leading zeros.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct OtpCode {
    value: u32,
    digits: u8,
}

impl OtpCode {
    /// The code as a number (leading zeros lost).
    pub fn value(&self) -> u32 {
        self.value
    }
}

impl fmt::Display for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:0width$}",
            self.value,
            width = usize::from(self.digits)
        )
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode([REDACTED])")
    }
}

/// RFC 4226 HOTP: the `digits`-digit code (6 to 8) for `counter`, from
/// totp-rs with a one-second step.
pub fn hotp(algorithm: Algorithm, secret: &[u8], counter: u64, digits: u8) -> u32 {
    Totp::new(algorithm, digits, 1)
        .code_at(secret, counter)
        .value
}

/// `code` as a number when it is exactly `digits` ASCII digits; `None`
/// otherwise (other lengths, other scripts' digits, signs, spaces).
pub(crate) fn parse_code(code: &str, digits: u8) -> Option<u64> {
    let bytes = code.as_bytes();
    // More than 19 digits could overflow: no policy allows more than 10.
    if bytes.len() != usize::from(digits) || bytes.len() > 19 {
        return None;
    }
    bytes.iter().try_fold(0u64, |acc, b| {
        b.is_ascii_digit()
            .then(|| acc.checked_mul(10)?.checked_add(u64::from(b - b'0')))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC: &[u8] = b"12345678901234567890";

    /// A code's number and text agree with RFC 6238's vector (SHA-1, T =
    /// 59 s: 94287082, six digits 287082), and its `Debug` shows neither.
    #[test]
    fn a_code_is_its_number_and_debug_hides_it() {
        let code = Totp::new(Algorithm::Sha1, 6, 30).code_at(RFC, 59);
        assert_eq!(code.value(), 287_082);
        assert_eq!(code.to_string(), "287082");
        let leading = Totp::new(Algorithm::Sha1, 8, 30).code_at(RFC, 1_111_111_109);
        assert_eq!(leading.value(), 7_081_804);
        assert_eq!(leading.to_string(), "07081804");
        let shown = format!("{code:?}");
        assert_eq!(shown, "OtpCode([REDACTED])");
        assert!(!shown.contains("287"));
    }

    /// Periods other than the usual 30 s step and match by their own.
    #[test]
    fn other_periods_have_their_own_steps() {
        for period in [1, 29, 31, 60, 90] {
            let t = Totp::new(Algorithm::Sha1, 6, period);
            let now = 1_700_000_000;
            assert_eq!(t.step_at(now), now / period);
            let code = hotp(Algorithm::Sha1, RFC, now / period, 6);
            let code = format!("{code:06}");
            assert_eq!(
                t.matching_step(RFC, &code, now, 0, None),
                Some(now / period)
            );
        }
    }

    #[test]
    fn parses_only_exact_ascii_digits() {
        let cases: &[(&str, Option<u64>)] = &[
            ("287082", Some(287_082)),
            ("000000", Some(0)),
            ("", None),
            ("28708", None),
            ("2870821", None),
            (" 287082", None),
            ("287 082", None),
            ("２８７０８２", None),
            ("+287082", None),
            ("-28708", None),
            ("287082\n", None),
            ("28708a", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_code(input, 6), *want, "{input:?}");
        }
        assert_eq!(parse_code(&"1".repeat(1 << 20), 6), None);
    }

    /// Every length a policy allows, with its largest value, parses without
    /// overflow (the tests run in debug, where overflow panics).
    #[test]
    fn every_allowed_length_parses_its_largest_value() {
        for digits in 6..=10u8 {
            let nines = "9".repeat(usize::from(digits));
            assert_eq!(
                parse_code(&nines, digits),
                Some(10u64.pow(u32::from(digits)) - 1)
            );
        }
        assert_eq!(parse_code(&"9".repeat(20), 20), None);
        assert_eq!(
            parse_code(&"9".repeat(19), 19),
            Some(9_999_999_999_999_999_999)
        );
    }

    #[test]
    fn window_finds_each_step_and_only_those() {
        let t = Totp::new(Algorithm::Sha1, 6, 30);
        let now = 1_111_111_109;
        let step = t.step_at(now);
        for delta in [-1i64, 0, 1] {
            let at = (now as i64 + delta * 30) as u64;
            let code = t.code_at(RFC, at).to_string();
            assert_eq!(
                t.matching_step(RFC, &code, now, 1, None),
                Some((step as i64 + delta) as u64)
            );
        }
        for far in [-2i64, 2] {
            let code = t.code_at(RFC, (now as i64 + far * 30) as u64).to_string();
            assert_eq!(t.matching_step(RFC, &code, now, 1, None), None);
        }
    }

    #[test]
    fn steps_at_or_before_after_are_refused() {
        let t = Totp::new(Algorithm::Sha1, 6, 30);
        let now = 1_234_567_890;
        let step = t.step_at(now);
        let code = t.code_at(RFC, now).to_string();
        assert_eq!(
            t.matching_step(RFC, &code, now, 1, Some(step - 1)),
            Some(step)
        );
        assert_eq!(t.matching_step(RFC, &code, now, 1, Some(step)), None);
        assert_eq!(t.matching_step(RFC, &code, now, 1, Some(step + 1)), None);
    }

    #[test]
    fn skew_zero_accepts_the_current_step_only() {
        let t = Totp::new(Algorithm::Sha1, 6, 30);
        let prev = t.code_at(RFC, 1_000_000 - 30).to_string();
        let cur = t.code_at(RFC, 1_000_000).to_string();
        assert_eq!(t.matching_step(RFC, &prev, 1_000_000, 0, None), None);
        assert!(t.matching_step(RFC, &cur, 1_000_000, 0, None).is_some());
    }

    /// Every code totp-rs makes for the window agrees with the RFC 4226
    /// construction done by hand on RustCrypto's HMAC, for each algorithm
    /// and for secrets of 80 bits and more.
    #[test]
    fn codes_agree_with_hmac_and_truncation_by_hand() {
        use hmac::{Hmac, Mac};
        fn by_hand<M: Mac + hmac::digest::KeyInit>(
            secret: &[u8],
            counter: u64,
            digits: u32,
        ) -> u32 {
            let mut mac = <M as Mac>::new_from_slice(secret).unwrap();
            mac.update(&counter.to_be_bytes());
            let out = mac.finalize().into_bytes();
            let offset = usize::from(out[out.len() - 1] & 0xf);
            let bin = u32::from_be_bytes(out[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
            bin % 10u32.pow(digits)
        }
        for len in [10usize, 16, 20, 32, 64, 100] {
            let secret: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            for counter in [0u64, 1, 56_666_666, u64::MAX / 31] {
                for digits in [6u8, 8] {
                    let d = u32::from(digits);
                    for (alg, want) in [
                        (
                            Algorithm::Sha1,
                            by_hand::<Hmac<sha1::Sha1>>(&secret, counter, d),
                        ),
                        (
                            Algorithm::Sha256,
                            by_hand::<Hmac<sha2::Sha256>>(&secret, counter, d),
                        ),
                        (
                            Algorithm::Sha512,
                            by_hand::<Hmac<sha2::Sha512>>(&secret, counter, d),
                        ),
                    ] {
                        assert_eq!(
                            hotp(alg, &secret, counter, digits),
                            want,
                            "{alg:?} {len} {counter}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn code_keeps_leading_zeros_and_hides_in_debug() {
        let c = OtpCode {
            value: 42,
            digits: 6,
        };
        assert_eq!(c.to_string(), "000042");
        assert!(!format!("{c:?}").contains("42"));
    }
}
