//! Phone numbers in E.164 form, and how to show them and email addresses
//! without giving them away.

use std::fmt;

use crate::error::{Error, Result};

/// A mobile number in E.164 form: `+`, a country code, at most 15 digits in
/// all. `Debug` and [`masked`](Self::masked) show only the country code and
/// the last four digits.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Reads a number as people type it: `+` first, then digits, with
    /// spaces, dashes, dots and parentheses allowed between them. Anything
    /// else, or a length outside 7 to 15 digits, or a leading 0 country
    /// code, is [`Error::InvalidPhoneNumber`].
    ///
    /// ```
    /// use twofactor::PhoneNumber;
    /// let n = PhoneNumber::parse("+60 12-345 1688").unwrap();
    /// assert_eq!(n.as_str(), "+60123451688");
    /// assert_eq!(n.masked(), "+60 ••• ••• 1688");
    /// assert!(PhoneNumber::parse("012 345 678").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Self> {
        const LONGEST_INPUT: usize = 32;
        if input.len() > LONGEST_INPUT {
            return Err(Error::InvalidPhoneNumber);
        }
        let rest = input
            .trim()
            .strip_prefix('+')
            .ok_or(Error::InvalidPhoneNumber)?;
        let mut digits = String::with_capacity(16);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(Error::InvalidPhoneNumber),
            }
        }
        if !(7..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(Error::InvalidPhoneNumber);
        }
        Ok(Self(format!("+{digits}")))
    }

    /// The number as E.164: `+` and digits only.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The country code and the last four digits, e.g. `+60 ••• ••• 1688`.
    pub fn masked(&self) -> String {
        let digits = self.0.get(1..).unwrap_or_default();
        let cc = digits.get(..country_code_len(digits)).unwrap_or_default();
        let last = digits
            .get(digits.len().saturating_sub(4)..)
            .unwrap_or_default();
        format!("+{cc} ••• ••• {last}")
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

/// Digits of the ITU country code that `digits` starts with.
fn country_code_len(digits: &str) -> usize {
    const TWO_DIGIT: [&str; 44] = [
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
        "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
        "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    if digits.starts_with('1') || digits.starts_with('7') {
        1
    } else if TWO_DIGIT.iter().any(|cc| digits.starts_with(cc)) {
        2
    } else {
        3
    }
}

/// The first character of the local part and the domain, e.g.
/// `j•••@example.com`; `•••` when it is not an address.
pub(crate) fn mask_email(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        _ => "•••".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        for (input, e164) in [
            ("+60123451688", "+60123451688"),
            (" +1 (415) 555-0100 ", "+14155550100"),
            ("+44 20.7946.0958", "+442079460958"),
            ("+6834002", "+6834002"),
            ("+123456789012345", "+123456789012345"),
        ] {
            assert_eq!(PhoneNumber::parse(input).unwrap().as_str(), e164, "{input}");
        }
    }

    #[test]
    fn refuses_junk() {
        for junk in [
            "",
            "+",
            "60123451688",
            "+0123451688",
            "+1234567890123456",
            "+12345",
            "+60 12 345 1688 ext 2",
            "+６０１２３４５１６８８",
            "++60123451688",
            "+60123451688\n1",
            "+60-12-345-1688; DROP TABLE",
            &format!("+6{}", "0".repeat(100)),
        ] {
            assert!(PhoneNumber::parse(junk).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn masks_keep_country_code_and_last_four() {
        let m = |s: &str| PhoneNumber::parse(s).unwrap().masked();
        assert_eq!(m("+60123451688"), "+60 ••• ••• 1688");
        assert_eq!(m("+14155550100"), "+1 ••• ••• 0100");
        assert_eq!(m("+35312345678"), "+353 ••• ••• 5678");
        let n = PhoneNumber::parse("+60123451688").unwrap();
        assert_eq!(format!("{n:?}"), "PhoneNumber(+60 ••• ••• 1688)");
    }

    #[test]
    fn masks_email() {
        assert_eq!(mask_email("jane@example.com"), "j•••@example.com");
        assert_eq!(mask_email("élodie@exemple.fr"), "é•••@exemple.fr");
        assert_eq!(mask_email("nonsense"), "•••");
        assert_eq!(mask_email("@example.com"), "•••");
    }
}
