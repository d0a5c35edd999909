//! Names of the counters that hold across accounts: a keyed hash of what is
//! counted (a destination, a source), so that the store holds no number,
//! address or IP address, and one name cannot be chosen to collide with
//! another.

use hmac::Mac;

use crate::crypto::code_mac::CodeKey;

/// What a counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counted {
    /// Codes sent to one number or address.
    Destination,
    /// Codes sent on requests from one source.
    SourceSends,
    /// Failed attempts from one source.
    SourceFailures,
}

impl Counted {
    fn prefix(self) -> &'static str {
        match self {
            Counted::Destination => "dest",
            Counted::SourceSends => "src-send",
            Counted::SourceFailures => "src-fail",
        }
    }
}

/// The counter's key: `<kind>:` and 32 hex digits of HMAC-SHA-256 over the
/// kind and the normalised value.
pub(crate) fn counter_key(key: &CodeKey, counted: Counted, value: &str) -> String {
    let mut mac = key.clone();
    for field in [
        b"twofactor/v1/limit".as_slice(),
        counted.prefix().as_bytes(),
        value.as_bytes(),
    ] {
        mac.update(&u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
        mac.update(field);
    }
    let digest = mac.finalize().into_bytes();
    let hex = data_encoding::HEXLOWER.encode(digest.get(..16).unwrap_or_default());
    format!("{}:{hex}", counted.prefix())
}

/// A destination as counted: an email address trimmed and in lower case
/// (mailboxes differing only in case are one person's), a number as E.164.
pub(crate) fn destination(method: crate::model::status::Method, to: &str) -> String {
    match method {
        crate::model::status::Method::Sms => format!("sms:{}", to.trim()),
        _ => format!("email:{}", to.trim().to_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::status::Method;

    fn key(byte: u8) -> CodeKey {
        <CodeKey as Mac>::new_from_slice(&[byte; 32]).unwrap()
    }

    #[test]
    fn keys_are_hashed_and_kept_apart() {
        let k = counter_key(&key(1), Counted::Destination, "sms:+60123451688");
        assert!(k.starts_with("dest:") && k.len() == 5 + 32, "{k}");
        assert!(!k.contains("1688"));
        assert_ne!(
            k,
            counter_key(&key(1), Counted::SourceSends, "sms:+60123451688")
        );
        assert_ne!(
            k,
            counter_key(&key(2), Counted::Destination, "sms:+60123451688")
        );
        assert_eq!(
            destination(Method::Email, " Alice@Example.COM "),
            destination(Method::Email, "alice@example.com")
        );
        assert_ne!(
            destination(Method::Email, "+60123451688"),
            destination(Method::Sms, "+60123451688")
        );
    }
}
