//! The `otpauth://totp/` key URI that sets an authenticator app up, and the
//! secret's text for typing by hand (base32 from the `base32` crate).

// Public for the crate's own tests and benches (feature `__internal`).
#![cfg_attr(not(feature = "__internal"), allow(unreachable_pub, dead_code))]

use std::fmt;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use zeroize::Zeroizing;

use crate::crypto::totp::Totp;

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

/// The secret in unpadded base32 (RFC 4648), as key URIs carry it, from the
/// `base32` crate; zeroed when dropped.
fn base32_text(secret: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(base32::encode(
        base32::Alphabet::Rfc4648 { padding: false },
        secret,
    ))
}

/// The `otpauth://totp/` URI that sets an authenticator app up: issuer and
/// label percent-encoded in the label and the `issuer` parameter, the secret
/// in unpadded base32, and every code parameter spelled out.
///
/// (totp-rs has a URI builder, but it leaves out the parameters at their
/// defaults, which some apps then read wrongly, and it percent-encodes `@`
/// in the label, which apps then show as `%40`.)
pub fn key_uri(
    issuer: &str,
    label: &str,
    secret: &[u8],
    totp: &Totp,
) -> Result<secrecy::SecretString, KeyUriError> {
    if issuer.is_empty() || issuer.contains(':') {
        return Err(KeyUriError::Issuer);
    }
    if label.is_empty() || label.contains(':') {
        return Err(KeyUriError::Label);
    }
    let issuer = utf8_percent_encode(issuer, URI_KEEP);
    Ok(secrecy::SecretString::from(format!(
        "otpauth://totp/{issuer}:{label}?secret={secret}&issuer={issuer}&algorithm={alg}&digits={digits}&period={period}",
        label = utf8_percent_encode(label, URI_KEEP),
        secret = base32_text(secret).as_str(),
        alg = totp.algorithm().uri_name(),
        digits = totp.digits(),
        period = totp.period(),
    )))
}

/// A secret read from its base32 text: case, spaces (the groups of four a
/// setup shows) and `=` padding do not matter. `None` when it is not
/// base32. Zeroed when dropped, as is every copy made on the way.
pub(crate) fn decode_base32(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let plain: Zeroizing<String> = Zeroizing::new(
        text.chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .collect::<String>()
            .to_ascii_uppercase(),
    );
    base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &plain).map(Zeroizing::new)
}

/// What an `otpauth://totp/` key URI holds: the secret and how codes are
/// made from it (SHA-1, 6 digits and 30 s where a parameter is left out,
/// as apps read it).
pub(crate) struct ParsedKey {
    pub(crate) secret: Zeroizing<Vec<u8>>,
    pub(crate) algorithm: crate::policy::Algorithm,
    /// As given: not yet checked against any bound.
    pub(crate) digits: u8,
    /// As given: not yet checked against any bound.
    pub(crate) period: u64,
}

/// Reads a key URI as an authenticator app does; the reason when it is
/// not one. Parameters it does not use (`issuer`, `image`) are ignored; one
/// given twice, an unknown algorithm, or numbers that are not numbers are
/// refused rather than guessed at.
pub(crate) fn parse_key_uri(uri: &str) -> Result<ParsedKey, &'static str> {
    let (scheme, rest) = uri
        .split_at_checked(15)
        .ok_or("not an otpauth://totp/ URI")?;
    if !scheme.eq_ignore_ascii_case("otpauth://totp/") {
        return Err("not an otpauth://totp/ URI");
    }
    let (_, query) = rest.split_once('?').ok_or("the URI has no parameters")?;
    let (mut secret, mut algorithm, mut digits, mut period) = (None, None, None, None);
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let once = |seen: bool| {
            if seen {
                Err("a parameter is given twice")
            } else {
                Ok(())
            }
        };
        match name {
            "secret" => {
                once(secret.is_some())?;
                let value = percent_encoding::percent_decode_str(value)
                    .decode_utf8()
                    .map_err(|_| "the secret is not base32")?;
                secret = Some(decode_base32(&value).ok_or("the secret is not base32")?);
            }
            "algorithm" => {
                once(algorithm.is_some())?;
                algorithm = Some(match value.to_ascii_uppercase().as_str() {
                    "SHA1" => crate::policy::Algorithm::Sha1,
                    "SHA256" => crate::policy::Algorithm::Sha256,
                    "SHA512" => crate::policy::Algorithm::Sha512,
                    _ => return Err("the algorithm is not SHA1, SHA256 or SHA512"),
                });
            }
            "digits" => {
                once(digits.is_some())?;
                digits = Some(value.parse::<u8>().map_err(|_| "digits is not a number")?);
            }
            "period" => {
                once(period.is_some())?;
                period = Some(value.parse::<u64>().map_err(|_| "period is not a number")?);
            }
            _ => {}
        }
    }
    let secret = secret.ok_or("the URI has no secret")?;
    Ok(ParsedKey {
        secret,
        algorithm: algorithm.unwrap_or(crate::policy::Algorithm::Sha1),
        digits: digits.unwrap_or(6),
        period: period.unwrap_or(30),
    })
}

/// The secret as a person types it: base32 in groups of four.
pub(crate) fn grouped_base32(secret: &[u8]) -> secrecy::SecretString {
    let plain = base32_text(secret);
    let mut out = String::with_capacity(plain.len() + plain.len() / 4);
    for (i, c) in plain.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    secrecy::SecretString::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Algorithm;

    const RFC: &[u8] = b"12345678901234567890";

    #[test]
    fn uri_refuses_colons_and_empties() {
        let t = Totp::new(Algorithm::Sha1, 6, 30);
        let err = |issuer, label| key_uri(issuer, label, RFC, &t).err();
        assert_eq!(err("A:B", "x"), Some(KeyUriError::Issuer));
        assert_eq!(err("", "x"), Some(KeyUriError::Issuer));
        assert_eq!(err("A", "x:y"), Some(KeyUriError::Label));
        assert_eq!(err("A", ""), Some(KeyUriError::Label));
    }

    #[test]
    fn parse_reads_each_algorithm_and_the_defaults() {
        let parse =
            |query: &str| parse_key_uri(&format!("otpauth://totp/A:b?secret=GEZDGNBV{query}"));
        for (name, algorithm) in [
            ("SHA1", Algorithm::Sha1),
            ("sha256", Algorithm::Sha256),
            ("Sha512", Algorithm::Sha512),
        ] {
            let key = parse(&format!("&algorithm={name}&digits=8&period=60")).unwrap();
            assert_eq!((key.algorithm, key.digits, key.period), (algorithm, 8, 60));
            assert_eq!(key.secret.as_slice(), b"12345");
        }
        let key = parse("").unwrap();
        assert_eq!(
            (key.algorithm, key.digits, key.period),
            (Algorithm::Sha1, 6, 30)
        );
        assert_eq!(
            parse("&algorithm=MD5").err(),
            Some("the algorithm is not SHA1, SHA256 or SHA512")
        );
        assert_eq!(
            parse("&digits=6&digits=6").err(),
            Some("a parameter is given twice")
        );
    }

    #[test]
    fn uri_errors_say_which_part_is_wrong() {
        let issuer = KeyUriError::Issuer.to_string();
        let label = KeyUriError::Label.to_string();
        assert!(
            issuer.contains("issuer") && issuer.contains("':'"),
            "{issuer}"
        );
        assert!(label.contains("label") && label.contains("':'"), "{label}");
    }

    #[test]
    fn uri_encodes_what_must_be() {
        let t = Totp::new(Algorithm::Sha1, 6, 30);
        let uri = key_uri("Acme & Sons", "José Ü/?#", RFC, &t).unwrap();
        let uri = secrecy::ExposeSecret::expose_secret(&uri);
        assert!(uri.starts_with("otpauth://totp/Acme%20%26%20Sons:Jos%C3%A9%20%C3%9C%2F%3F%23?"));
        assert!(uri.contains("&issuer=Acme%20%26%20Sons&"));
    }

    #[test]
    fn grouped_secret_reads_in_fours() {
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&grouped_base32(RFC)),
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
        );
    }
}
