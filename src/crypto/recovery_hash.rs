//! Recovery codes: single-use look-up secrets, each with a short
//! non-secret index so that checking one costs one argon2id computation
//! however many remain.
//!
//! A code reads `7ABC-DEFG-HJKM`: the index digit, then eleven letters from
//! an alphabet without I, L, O and U (about 49 bits). Typing is forgiving:
//! case, spaces and dashes do not matter.

use std::fmt;

use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
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

/// The argon2id parameters a set of codes was hashed with, kept with the
/// set so that a later change of policy leaves existing codes working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cost {
    memory_kib: u32,
    passes: u32,
    lanes: u32,
}

impl From<&RecoveryPolicy> for Cost {
    fn from(policy: &RecoveryPolicy) -> Self {
        Self {
            memory_kib: policy.memory_kib,
            passes: policy.passes,
            lanes: policy.lanes,
        }
    }
}

impl Cost {
    /// argon2id under this cost of `user` and a normalised code, salted
    /// with `salt`, into `out`: the one computation hashing and checking
    /// share.
    fn hash_into(
        self,
        user: &str,
        normalised: &str,
        salt: &[u8; 16],
        out: &mut [u8; 32],
    ) -> Result<()> {
        let params = Params::new(self.memory_kib, self.passes, self.lanes, None)
            .map_err(|_| Error::Config("recovery argon2 parameters out of range"))?;
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(&secret_input(user, normalised), salt, out)
            .map_err(|_| Error::Config("a recovery code could not be hashed"))
    }
}

/// One code's argon2id hash as stored: its salt and the 32-byte output,
/// under the set's [`Cost`]. Raw bytes rather than a PHC string: half the
/// size, and reading them allocates nothing.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Slot {
    #[serde(with = "serde_bytes")]
    salt: [u8; 16],
    #[serde(with = "serde_bytes")]
    hash: [u8; 32],
}

impl Slot {
    /// What a used or absent slot is checked against, so that every check
    /// costs one computation: all zeros, which no argon2id output is but
    /// with chance 2^-256.
    pub(crate) const DUMMY: Slot = Slot {
        salt: [0; 16],
        hash: [0; 32],
    };
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Slot([REDACTED])")
    }
}

/// The argon2id hash of `shown` (as [`make`] gave it) for `user`, salted
/// with the last 16 bytes of `random`.
pub(crate) fn hash(cost: Cost, user: &str, shown: &str, random: &CodeEntropy) -> Result<Slot> {
    let (_, normalised) = parse(shown).ok_or(Error::Config("not a recovery code"))?;
    let salt = *random.last_chunk::<16>().ok_or(Error::Random)?;
    let mut hash = [0u8; 32];
    cost.hash_into(user, &normalised, &salt, &mut hash)?;
    Ok(Slot { salt, hash })
}

/// Checks a normalised code against one slot: one argon2id computation
/// with the set's `cost`, compared in constant time.
fn verify(slot: &Slot, cost: Cost, user: &str, normalised: &str) -> bool {
    let mut out = Zeroizing::new([0u8; 32]);
    cost.hash_into(user, normalised, &slot.salt, &mut out)
        .is_ok()
        && bool::from(out.as_slice().ct_eq(slot.hash.as_slice()))
}

/// The index of the slot `input` matches for `user`: [`check_one`] with
/// one argon2id computation under the set's `cost`, against
/// [`Slot::DUMMY`] when the slot is used or absent.
pub(crate) fn check(slots: &[Option<Slot>], cost: Cost, user: &str, input: &str) -> Option<usize> {
    check_one(slots, &Slot::DUMMY, input, |slot, normalised| {
        verify(slot, cost, user, normalised)
    })
}

/// Checks `input` against the slot its index names, computing exactly one
/// hash whether the slot is full, used or absent (then against `dummy`), so
/// that the time taken says nothing about which codes are left.
/// `check(slot, normalised)` does the computation. `Some(index)` on a match.
pub(crate) fn check_one<T>(
    slots: &[Option<T>],
    dummy: &T,
    input: &str,
    mut check: impl FnMut(&T, &str) -> bool,
) -> Option<usize> {
    let (index, normalised) = parse(input)?;
    match slots.get(index).and_then(Option::as_ref) {
        Some(slot) => check(slot, &normalised).then_some(index),
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
    fn input_is_looked_at_up_to_its_bound_and_not_past_it() {
        // spaces a person or a password manager left around the code
        let padded = |n: usize| format!("{:<n$}", "7ABC-DEFG-HJKM");
        assert_eq!(padded(LONGEST_INPUT).len(), LONGEST_INPUT);
        assert_eq!(parse(&padded(LONGEST_INPUT)).unwrap().0, 7);
        assert!(parse(&padded(LONGEST_INPUT + 1)).is_none());
        assert!(parse(&padded(10 * LONGEST_INPUT)).is_none());
    }

    #[test]
    fn hashes_bind_the_account_and_the_cost() {
        let random = [3u8; 32];
        let shown = make(4, &random);
        let cost = Cost::from(&cheap());
        let slot = hash(cost, "alice", &shown, &random).unwrap();
        assert_eq!(slot.salt, [3; 16]);
        let (_, norm) = parse(&shown).unwrap();
        assert!(verify(&slot, cost, "alice", &norm));
        assert!(!verify(&slot, cost, "bob", &norm));
        assert!(!verify(&slot, cost, "alice", "4AAAAAAAAAAA"));
        let dearer = Cost { passes: 2, ..cost };
        assert!(
            !verify(&slot, dearer, "alice", &norm),
            "the cost is part of the hash"
        );
        assert!(!verify(&Slot::DUMMY, cost, "alice", &norm));
        let broken = Cost {
            memory_kib: 0,
            ..cost
        };
        assert!(!verify(&slot, broken, "alice", &norm));
        assert!(hash(broken, "alice", &shown, &random).is_err());
        assert_eq!(format!("{slot:?}"), "Slot([REDACTED])");
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
            let hit = check_one(slots, &"dummy".to_owned(), input, |phc, n| {
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
