//! Time-based one-time passwords: RFC 4226 (HOTP) and RFC 6238 (TOTP), and
//! the `otpauth://` key URI that authenticator apps scan.
//!
//! Verification keys the HMAC once, then computes every time step of the
//! window whatever matches, comparing each in constant time, so that neither
//! whether nor which step matched shows in the time taken. It allocates
//! nothing.
//!
//! ```
//! use twofactor::methods::totp::{self, Totp};
//! use twofactor::Algorithm;
//!
//! let secret = b"12345678901234567890";
//! let totp = Totp::new(Algorithm::Sha1, 8, 30);
//! assert_eq!(totp.code_at(secret, 59).to_string(), "94287082"); // RFC 6238
//! assert_eq!(totp.matching_step(secret, "94287082", 59, 1, None), Some(1));
//! ```

use std::fmt;

use data_encoding::BASE32_NOPAD;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::policy::Algorithm;

/// A value no parsed code can equal: codes are below 10^8.
const NEVER: u32 = u32::MAX;

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
        match self.period {
            // The usual period, as a constant: a multiplication, not a division.
            30 => unix_time / 30,
            period => unix_time / period,
        }
    }

    /// The code an authenticator app shows at `unix_time`.
    pub fn code_at(&self, secret: &[u8], unix_time: u64) -> OtpCode {
        OtpCode {
            value: hotp(self.algorithm, secret, self.step_at(unix_time), self.digits),
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
        // At most 8 digits: below 10^8, so it fits.
        let code = u32::try_from(parse_code(code, self.digits)?).ok()?;
        let now = self.step_at(unix_time);
        let first = now.saturating_sub(u64::from(skew));
        let last = now.saturating_add(u64::from(skew));
        match self.algorithm {
            Algorithm::Sha1 => window::<Sha1Counter>(secret, first, last, self.digits, code),
            Algorithm::Sha256 => window::<Sha256Mac>(secret, first, last, self.digits, code),
            Algorithm::Sha512 => window::<Sha512Mac>(secret, first, last, self.digits, code),
        }
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

/// RFC 4226 HOTP: the `digits`-digit code for `counter`.
pub fn hotp(algorithm: Algorithm, secret: &[u8], counter: u64, digits: u8) -> u32 {
    let digits = digits.clamp(6, 8);
    match algorithm {
        // The `hmac` crate for every algorithm, SHA-1 too: codes made here
        // check the one-block HMAC that verification uses.
        Algorithm::Sha1 => keyed::<Sha1Mac>(secret).map(|m| m.truncated(counter)),
        Algorithm::Sha256 => keyed::<Sha256Mac>(secret).map(|m| m.truncated(counter)),
        Algorithm::Sha512 => keyed::<Sha512Mac>(secret).map(|m| m.truncated(counter)),
    }
    .map_or(NEVER, |binary| reduce(binary, digits))
}

/// RFC 4226 section 5.3 dynamic truncation of an HMAC, before the modulo.
pub fn dynamic_truncation(mac: &[u8]) -> u32 {
    let offset = mac.last().map_or(0, |b| usize::from(b & 0x0f));
    match mac.get(offset..offset + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a & 0x7f, b, c, d]),
        _ => NEVER,
    }
}

/// `code` as a number when it is exactly `digits` ASCII digits.
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

type Sha1Mac = Hmac<sha1::Sha1>;
type Sha256Mac = Hmac<sha2::Sha256>;
type Sha512Mac = Hmac<sha2::Sha512>;

fn keyed<M: Mac + KeyInit>(secret: &[u8]) -> Option<M> {
    <M as Mac>::new_from_slice(secret).ok()
}

/// An HMAC keyed with a secret, ready to MAC 8-byte counters.
trait CounterMac: Sized {
    /// `None` when `secret` cannot key it.
    fn keyed(secret: &[u8]) -> Option<Self>;
    /// RFC 4226 dynamic truncation of the MAC of `counter`.
    fn truncated(&self, counter: u64) -> u32;
}

/// Any RustCrypto HMAC: used for SHA-256 and SHA-512.
impl<M: Mac + KeyInit + Clone> CounterMac for M {
    fn keyed(secret: &[u8]) -> Option<Self> {
        keyed::<M>(secret)
    }

    #[inline]
    fn truncated(&self, counter: u64) -> u32 {
        let mut mac = self.clone();
        mac.update(&counter.to_be_bytes());
        dynamic_truncation(&mac.finalize().into_bytes())
    }
}

/// HMAC-SHA-1 (RFC 2104) of one 8-byte counter, on RustCrypto's SHA-1
/// compression function.
///
/// The counter and SHA-1's padding fill one block, and so does the inner
/// digest with its padding, so once the key's inner and outer pad blocks
/// are compressed (at keying) each MAC is exactly two compressions, with no
/// buffering: the work of a check is the compressions and little else.
/// Tested against the `hmac` crate for keys of every length from 0 to 200
/// bytes.
#[derive(zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
struct Sha1Counter {
    inner: [u32; 5],
    outer: [u32; 5],
}

/// SHA-1's initial state (FIPS 180-4, 5.3.1).
const SHA1_IV: [u32; 5] = [
    0x6745_2301,
    0xefcd_ab89,
    0x98ba_dcfe,
    0x1032_5476,
    0xc3d2_e1f0,
];
/// Bits hashed by the inner hash: the pad block, then the counter.
const INNER_BITS: u64 = (64 + 8) * 8;
/// Bits hashed by the outer hash: the pad block, then the inner digest.
const OUTER_BITS: u64 = (64 + 20) * 8;

#[inline]
fn sha1_block(state: &mut [u32; 5], block: &[u8; 64]) {
    sha1::compress(state, core::slice::from_ref(block.into()));
}

/// One block of a short message as SHA-1 pads it: the message, `0x80`,
/// zeros and the total length in bits, given as the block's first two
/// 16-byte quarters (message and `0x80`) and the length.
///
/// Whole quarters are written at once so that the compression's 16-byte
/// loads come straight from them rather than from narrower stores.
#[inline]
fn sha1_block_of(state: &mut [u32; 5], first: u128, second: u128, bits: u64) {
    let quarters = [
        first.to_be_bytes(),
        second.to_be_bytes(),
        [0; 16],
        u128::from(bits).to_be_bytes(),
    ];
    // Four quarters are always 64 bytes; were they not, the state would be
    // left as it is and the MAC match nothing.
    if let Ok(block) = <&[u8; 64]>::try_from(quarters.as_flattened()) {
        sha1_block(state, block);
    }
}

/// [`dynamic_truncation`] of a SHA-1 digest still in words: the four bytes
/// at the offset are read out of two neighbouring words, with no round trip
/// through memory.
#[inline]
fn truncate_words(words: &[u32; 5]) -> u32 {
    let offset = words.last().map_or(0, |w| (w & 0x0f) as usize);
    let shift = (offset % 4) * 8;
    match (words.get(offset / 4), words.get(offset / 4 + 1)) {
        (Some(&high), Some(&low)) => {
            let pair = (u64::from(high) << 32) | u64::from(low);
            (pair >> (32 - shift)) as u32 & 0x7fff_ffff
        }
        _ => NEVER,
    }
}

impl CounterMac for Sha1Counter {
    fn keyed(secret: &[u8]) -> Option<Self> {
        use sha1::Digest;
        // A key longer than a block is hashed first; a shorter one is
        // padded with zeros. One buffer holds the inner pad block, then
        // the outer one, and is wiped.
        let digest;
        let key = if secret.len() > 64 {
            digest = zeroize::Zeroizing::new(<[u8; 20]>::from(sha1::Sha1::digest(secret)));
            digest.as_slice()
        } else {
            secret
        };
        let mut pad = zeroize::Zeroizing::new([0x36u8; 64]);
        for (to, from) in pad.iter_mut().zip(key) {
            *to ^= *from;
        }
        let mut inner = SHA1_IV;
        sha1_block(&mut inner, &pad);
        for byte in pad.iter_mut() {
            *byte ^= 0x36 ^ 0x5c;
        }
        let mut outer = SHA1_IV;
        sha1_block(&mut outer, &pad);
        Some(Self { inner, outer })
    }

    #[inline]
    fn truncated(&self, counter: u64) -> u32 {
        let mut inner = self.inner;
        sha1_block_of(
            &mut inner,
            u128::from(counter) << 64 | 0x80 << 56,
            0,
            INNER_BITS,
        );
        let [a, b, c, d, e] = inner.map(u128::from);
        let mut outer = self.outer;
        sha1_block_of(
            &mut outer,
            a << 96 | b << 64 | c << 32 | d,
            e << 96 | 0x80 << 88,
            OUTER_BITS,
        );
        truncate_words(&outer)
    }
}

/// Every step from `first` to `last` computed and compared in constant
/// time; the latest matching step.
///
/// A comparison is arithmetic, as `subtle`'s is: the difference becomes an
/// all-ones or all-zeros mask, which passes through
/// [`black_box`](std::hint::black_box) so the compiler cannot branch on it,
/// and the matching step is picked by the mask. One opaque value per step
/// instead of `subtle`'s function calls keeps the check within a tenth of
/// the bare HMAC cost (`benches/verify.rs`).
///
/// Steps ascend, so the latest match is the largest: whether it is after
/// the last accepted step is checked once, after the loop (on public
/// numbers).
#[inline]
fn window<K: CounterMac>(
    secret: &[u8],
    first: u64,
    last: u64,
    digits: u8,
    code: u32,
) -> Option<u64> {
    let key = K::keyed(secret)?;
    let mut found = 0u64;
    let mut any = 0u64;
    for step in first..=last {
        let diff = reduce(key.truncated(step), digits) ^ code;
        let hit = u64::from(((diff | diff.wrapping_neg()) >> 31) ^ 1);
        let mask = std::hint::black_box(hit.wrapping_neg());
        found = (step & mask) | (found & !mask);
        any |= mask;
    }
    (any != 0).then_some(found)
}

/// `binary` modulo 10^`digits` (6 to 8), each divisor a constant so that
/// no step pays for a division; [`NEVER`] stays `NEVER`.
#[inline]
fn reduce(binary: u32, digits: u8) -> u32 {
    match (binary, digits) {
        (NEVER, _) => NEVER,
        (b, 6) => b % 1_000_000,
        (b, 7) => b % 10_000_000,
        (b, _) => b % 100_000_000,
    }
}

/// Characters left as they are in a key URI's label and issuer: RFC 3986's
/// unreserved ones, and `@`, which may stand in a path and which apps show.
const URI_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

/// Why a key URI cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyUriError {
    /// The issuer is empty or contains `:`.
    Issuer,
    /// The account label is empty or contains `:`.
    Label,
}

impl fmt::Display for KeyUriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyUriError::Issuer => "the issuer must be non-empty and contain no ':'",
            KeyUriError::Label => "the account label must be non-empty and contain no ':'",
        })
    }
}

impl std::error::Error for KeyUriError {}

/// The `otpauth://totp/` URI that sets an authenticator app up: issuer and
/// label percent-encoded in the label and the `issuer` parameter, the secret
/// in unpadded base32, and every code parameter spelled out.
///
/// ```
/// use twofactor::methods::totp::{key_uri, Totp};
/// use twofactor::Algorithm;
///
/// let uri = key_uri("ACME Co", "john.doe@email.com", b"Hello!\xde\xad\xbe\xef",
///                   &Totp::new(Algorithm::Sha1, 6, 30)).unwrap();
/// assert_eq!(uri, "otpauth://totp/ACME%20Co:john.doe@email.com?secret=JBSWY3DPEHPK3PXP\
///                  &issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30");
/// ```
pub fn key_uri(
    issuer: &str,
    label: &str,
    secret: &[u8],
    totp: &Totp,
) -> Result<String, KeyUriError> {
    if issuer.is_empty() || issuer.contains(':') {
        return Err(KeyUriError::Issuer);
    }
    if label.is_empty() || label.contains(':') {
        return Err(KeyUriError::Label);
    }
    let issuer = utf8_percent_encode(issuer, URI_KEEP);
    Ok(format!(
        "otpauth://totp/{issuer}:{label}?secret={secret}&issuer={issuer}&algorithm={alg}&digits={digits}&period={period}",
        label = utf8_percent_encode(label, URI_KEEP),
        secret = BASE32_NOPAD.encode(secret),
        alg = totp.algorithm.uri_name(),
        digits = totp.digits,
        period = totp.period,
    ))
}

/// The secret as a person types it: base32 in groups of four.
pub(crate) fn grouped_base32(secret: &[u8]) -> String {
    let plain = BASE32_NOPAD.encode(secret);
    let mut out = String::with_capacity(plain.len() + plain.len() / 4);
    for (i, c) in plain.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC: &[u8] = b"12345678901234567890";

    /// The one-block HMAC-SHA-1 agrees with the `hmac` crate for keys of
    /// every length up to and past a block, and for counters across the
    /// whole range.
    #[test]
    fn one_block_hmac_sha1_agrees_with_the_hmac_crate() {
        for len in 0..=200usize {
            let secret: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            let ours = Sha1Counter::keyed(&secret).unwrap();
            let theirs = keyed::<Sha1Mac>(&secret).unwrap();
            for counter in [0, 1, 255, 256, len as u64 * 7919, u64::MAX / 3, u64::MAX] {
                assert_eq!(
                    ours.truncated(counter),
                    CounterMac::truncated(&theirs, counter),
                    "key of {len} bytes, counter {counter}"
                );
            }
        }
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

    #[test]
    fn code_keeps_leading_zeros_and_hides_in_debug() {
        let c = OtpCode {
            value: 42,
            digits: 6,
        };
        assert_eq!(c.to_string(), "000042");
        assert!(!format!("{c:?}").contains("42"));
    }

    #[test]
    fn uri_refuses_colons_and_empties() {
        let t = Totp::new(Algorithm::Sha1, 6, 30);
        assert_eq!(key_uri("A:B", "x", RFC, &t), Err(KeyUriError::Issuer));
        assert_eq!(key_uri("", "x", RFC, &t), Err(KeyUriError::Issuer));
        assert_eq!(key_uri("A", "x:y", RFC, &t), Err(KeyUriError::Label));
        assert_eq!(key_uri("A", "", RFC, &t), Err(KeyUriError::Label));
    }

    #[test]
    fn uri_encodes_what_must_be() {
        let t = Totp::new(Algorithm::Sha1, 6, 30);
        let uri = key_uri("Acme & Sons", "José Ü/?#", RFC, &t).unwrap();
        assert!(uri.starts_with("otpauth://totp/Acme%20%26%20Sons:Jos%C3%A9%20%C3%9C%2F%3F%23?"));
        assert!(uri.contains("&issuer=Acme%20%26%20Sons&"));
    }

    #[test]
    fn grouped_secret_reads_in_fours() {
        assert_eq!(
            grouped_base32(RFC),
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
        );
    }
}
