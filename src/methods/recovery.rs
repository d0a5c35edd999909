//! Recovery codes: single-use look-up secrets, each with a short
//! non-secret index so that checking one costs one argon2id computation
//! however many remain.
//!
//! A code reads `7ABC-DEFG-HJKM`: the index digit, then eleven letters from
//! an alphabet without I, L, O and U (about 49 bits). Typing is forgiving:
//! case, spaces and dashes do not matter.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::policy::RecoveryPolicy;

/// Codes in a set.
pub(crate) const COUNT: usize = 10;
/// Letters after the index digit.
const LETTERS: usize = 11;
/// Letters a code is made of: A–Z without I, L, O, U (easily misread).
const ALPHABET: &[u8; 22] = b"ABCDEFGHJKMNPQRSTVWXYZ";
/// The longest input looked at; anything longer is no recovery code.
const LONGEST_INPUT: usize = 40;

/// The random bytes one code is made from: its letters (bytes 0 to 7) and
/// its salt (bytes 16 to 31).
pub(crate) type CodeEntropy = [u8; 32];

/// A code as the user sees it, for index `index` (0 to 9).
pub(crate) fn make(index: usize, random: &CodeEntropy) -> Zeroizing<String> {
    let mut plain = String::with_capacity(1 + LETTERS);
    plain.push(char::from(b'0' + (index % 10) as u8));
    // Eleven base-22 digits of a 64-bit number: 22^11 is about 2^49, so
    // the bias is about one part in 2^15.
    let mut bits = [0u8; 8];
    bits.copy_from_slice(random.get(..8).unwrap_or(&[0; 8]));
    let mut n = u64::from_le_bytes(bits);
    for _ in 0..LETTERS {
        let letter = ALPHABET.get((n % 22) as usize).copied().unwrap_or(b'A');
        plain.push(char::from(letter));
        n /= 22;
    }
    bits.fill(0);
    // 7ABC-DEFG-HJKM
    let mut shown = String::with_capacity(14);
    for (i, c) in plain.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            shown.push('-');
        }
        shown.push(c);
    }
    Zeroizing::new(shown)
}

/// The index and the normalised code, when `input` has the form of a
/// recovery code (case, spaces and dashes aside). A one-time code of digits
/// never does, having no letters.
pub(crate) fn parse(input: &str) -> Option<(usize, Zeroizing<String>)> {
    if input.len() > LONGEST_INPUT {
        return None;
    }
    let plain: String = input
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let plain = Zeroizing::new(plain);
    let bytes = plain.as_bytes();
    let (first, rest) = bytes.split_first()?;
    if rest.len() != LETTERS
        || !first.is_ascii_digit()
        || !rest.iter().all(|b| ALPHABET.contains(b))
    {
        return None;
    }
    Some((usize::from(first - b'0'), plain))
}

/// What is hashed: the account id and the normalised code, so that a hash
/// copied to another account matches nothing.
fn secret_input(user: &str, normalised: &str) -> Zeroizing<Vec<u8>> {
    let mut input = Zeroizing::new(Vec::with_capacity(user.len() + 1 + normalised.len()));
    input.extend_from_slice(user.as_bytes());
    input.push(0);
    input.extend_from_slice(normalised.as_bytes());
    input
}

fn argon(policy: &RecoveryPolicy) -> Result<Argon2<'static>> {
    let params = Params::new(policy.memory_kib, policy.passes, policy.lanes, None)
        .map_err(|_| Error::Config("recovery argon2 parameters out of range"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The argon2id PHC string of `shown` (as [`make`] gave it) for `user`.
pub(crate) fn hash(
    policy: &RecoveryPolicy,
    user: &str,
    shown: &str,
    random: &CodeEntropy,
) -> Result<String> {
    let (_, normalised) = parse(shown).ok_or(Error::Config("not a recovery code"))?;
    let salt = random.get(16..32).unwrap_or(&[0; 16]);
    let salt = SaltString::encode_b64(salt).map_err(|_| Error::Random)?;
    argon(policy)?
        .hash_password(&secret_input(user, &normalised), &salt)
        .map(|h| h.to_string())
        .map_err(|_| Error::Config("a recovery code could not be hashed"))
}

/// Checks a normalised code against one PHC string: one argon2id
/// computation, with the parameters the string names.
pub(crate) fn verify(phc: &str, user: &str, normalised: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(&secret_input(user, normalised), &h)
            .is_ok()
    })
}

/// Checks `input` against the slot its index names, computing exactly one
/// hash whether the slot is full, used or absent (then against `dummy`), so
/// that the time taken says nothing about which codes are left.
/// `check(phc, normalised)` does the computation. `Some(index)` on a match.
pub(crate) fn check_one(
    slots: &[Option<String>],
    dummy: &str,
    input: &str,
    mut check: impl FnMut(&str, &str) -> bool,
) -> Option<usize> {
    let (index, normalised) = parse(input)?;
    match slots.get(index).and_then(Option::as_deref) {
        Some(phc) => check(phc, &normalised).then_some(index),
        None => {
            let _ = check(dummy, &normalised);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> RecoveryPolicy {
        RecoveryPolicy {
            memory_kib: 64,
            passes: 1,
            lanes: 1,
        }
    }

    #[test]
    fn codes_look_right_and_parse_back() {
        for i in 0..COUNT {
            let shown = make(i, &[(i as u8).wrapping_mul(37).wrapping_add(1); 32]);
            assert_eq!(shown.len(), 14, "{}", *shown);
            assert_eq!(shown.matches('-').count(), 2);
            let (index, norm) = parse(&shown).unwrap();
            assert_eq!(index, i);
            assert_eq!(norm.len(), 12);
            let sloppy = shown.to_lowercase().replace('-', " ");
            assert_eq!(parse(&sloppy).unwrap().1, norm);
        }
    }

    #[test]
    fn otp_codes_and_junk_are_not_recovery_codes() {
        for input in [
            "123456",
            "12345678",
            "1234567890",
            "",
            "7ABC-DEFG-HJK",
            "7ABC-DEFG-HJKMN",
            "ABCD-DEFG-HJKM",
            "7ABC-DEFG-HJKI",
            "7ＡBC-DEFG-HJKM",
            &"7ABCDEFGHJKM".repeat(4),
        ] {
            assert!(parse(input).is_none(), "{input:?}");
        }
    }

    #[test]
    fn hashes_bind_the_account() {
        let random = [3u8; 32];
        let shown = make(4, &random);
        let phc = hash(&cheap(), "alice", &shown, &random).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        let (_, norm) = parse(&shown).unwrap();
        assert!(verify(&phc, "alice", &norm));
        assert!(!verify(&phc, "bob", &norm));
        assert!(!verify(&phc, "alice", "4AAAAAAAAAAA"));
        let default = hash(&RecoveryPolicy::default(), "alice", &shown, &random).unwrap();
        assert!(default.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    /// One hash computation per check, with ten codes left or one, and for
    /// a used slot.
    #[test]
    fn a_check_costs_one_hash_however_many_remain() {
        let slots: Vec<Option<String>> = (0..COUNT).map(|i| Some(format!("phc-{i}"))).collect();
        let code = make(3, &[9; 32]);
        let (_, norm) = parse(&code).unwrap();
        let count = |slots: &[Option<String>], input: &str| {
            let mut calls = 0;
            let hit = check_one(slots, "dummy", input, |phc, n| {
                calls += 1;
                phc == "phc-3" && n == norm.as_str()
            });
            (hit, calls)
        };
        assert_eq!(count(&slots, &code), (Some(3), 1), "ten left");
        let mut one_left = vec![None; COUNT];
        one_left[3] = slots[3].clone();
        assert_eq!(count(&one_left, &code), (Some(3), 1), "one left");
        let wrong = make(5, &[1; 32]);
        assert_eq!(count(&one_left, &wrong), (None, 1), "a used slot");
        assert_eq!(
            count(&slots, "123456"),
            (None, 0),
            "not a recovery code at all"
        );
    }
}
