//! The security rules, with their defaults.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The HMAC hash a TOTP code is computed with.
///
/// Authenticator apps universally support SHA-1, and some ignore any other
/// choice, so keep the default unless every user's app is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA-1 (RFC 4226, RFC 6238's default). Not weak in HMAC.
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name used in `otpauth://` URIs.
    pub fn uri_name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }
}

/// How authenticator-app codes are made and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TotpPolicy {
    /// The HMAC hash. Default SHA-1.
    pub algorithm: Algorithm,
    /// Digits per code, 6 to 8. Default 6.
    pub digits: u8,
    /// Seconds per time step. Default 30.
    pub period: u64,
    /// Steps accepted either side of the current one, for clock drift.
    /// Default 1 (so three codes are valid at any moment).
    pub skew: u8,
}

impl Default for TotpPolicy {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
            skew: 1,
        }
    }
}

/// When failed attempts lock an account out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockoutPolicy {
    /// Consecutive failures (codes and passwords alike) that lock the
    /// account. Default 5.
    pub threshold: u32,
    /// How long the first lockout lasts. Default 1 minute.
    pub first: Duration,
    /// The longest lockout; each lockout doubles the last up to this.
    /// Default 1 hour.
    pub longest: Duration,
    /// The most failures allowed in any one day, whatever the lockouts.
    /// Default 100.
    pub daily_limit: u32,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            threshold: 5,
            first: Duration::from_secs(60),
            longest: Duration::from_secs(3600),
            daily_limit: 100,
        }
    }
}

/// How emailed and texted one-time codes are made, checked and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CodePolicy {
    /// Digits per code, 6 to 10. Default 6.
    pub digits: u8,
    /// How long an emailed code is valid. Default 10 minutes.
    pub email_ttl: Duration,
    /// How long a texted code is valid. Default 5 minutes.
    pub sms_ttl: Duration,
    /// Wrong tries before a code is void. Default 5.
    pub tries: u8,
    /// The least time between two codes sent to one account. Default 30 s.
    pub resend_after: Duration,
    /// The most codes sent to one account in any hour (SMS pumping).
    /// Default 5.
    pub sends_per_hour: u8,
}

impl Default for CodePolicy {
    fn default() -> Self {
        Self {
            digits: 6,
            email_ttl: Duration::from_secs(10 * 60),
            sms_ttl: Duration::from_secs(5 * 60),
            tries: 5,
            resend_after: Duration::from_secs(30),
            sends_per_hour: 5,
        }
    }
}

/// How recovery codes are hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryPolicy {
    /// argon2id memory in KiB. Default 19 456 (19 MiB), OWASP's choice.
    pub memory_kib: u32,
    /// argon2id passes. Default 2.
    pub passes: u32,
    /// argon2id lanes. Default 1.
    pub lanes: u32,
}

impl Default for RecoveryPolicy {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            passes: 2,
            lanes: 1,
        }
    }
}

/// How remembered devices work.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DevicePolicy {
    /// How long a device is remembered. Default 30 days.
    pub ttl: Duration,
    /// The most devices remembered per account; the oldest is forgotten
    /// first. Default 20.
    pub max: usize,
}

impl Default for DevicePolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(30 * 86_400),
            max: 20,
        }
    }
}

/// All the rules, with safe defaults. Change a field only for a reason.
///
/// ```
/// let mut policy = twofactor::Policy::default();
/// policy.lockout.threshold = 3;
/// assert_eq!(policy.totp.digits, 6);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// Authenticator-app codes.
    pub totp: TotpPolicy,
    /// Emailed and texted codes.
    pub codes: CodePolicy,
    /// Lockout after failed attempts.
    pub lockout: LockoutPolicy,
    /// Recovery codes.
    pub recovery: RecoveryPolicy,
    /// Remembered devices.
    pub devices: DevicePolicy,
    /// Whether switching to another method while two-factor authentication
    /// is on needs a current code of the old method besides the password.
    /// Default true: a stolen session and password cannot move the account
    /// to the attacker's phone.
    pub switch_needs_code: bool,
    /// How long a begun setup waits for its confirming code. Default 15
    /// minutes.
    pub setup_ttl: Duration,
    /// How many times a change that lost a race with another request on the
    /// same account is decided again before [`Error::Contention`](crate::Error::Contention).
    /// Default 64: a request loses at most once to each other request on the
    /// same account, so this covers 64 at once.
    pub max_retries: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            totp: TotpPolicy::default(),
            codes: CodePolicy::default(),
            lockout: LockoutPolicy::default(),
            recovery: RecoveryPolicy::default(),
            devices: DevicePolicy::default(),
            switch_needs_code: true,
            setup_ttl: Duration::from_secs(15 * 60),
            max_retries: 64,
        }
    }
}

impl Policy {
    /// Checks that the rules make sense together.
    pub(crate) fn validate(&self) -> Result<(), &'static str> {
        if !(6..=8).contains(&self.totp.digits) {
            return Err("totp.digits must be 6, 7 or 8");
        }
        if self.totp.period == 0 {
            return Err("totp.period must be at least one second");
        }
        if self.totp.skew > 2 {
            return Err("totp.skew above 2 steps accepts too many codes");
        }
        let c = &self.codes;
        if !(6..=10).contains(&c.digits) {
            return Err("codes.digits must be 6 to 10");
        }
        if c.tries == 0 || c.sends_per_hour == 0 {
            return Err("codes.tries and codes.sends_per_hour must be at least 1");
        }
        if c.email_ttl.is_zero() || c.sms_ttl.is_zero() {
            return Err("codes.email_ttl and codes.sms_ttl must be positive");
        }
        if self.lockout.threshold == 0 || self.lockout.daily_limit == 0 {
            return Err("lockout.threshold and lockout.daily_limit must be at least 1");
        }
        if self.lockout.first.is_zero() || self.lockout.longest < self.lockout.first {
            return Err("lockout.first must be positive and at most lockout.longest");
        }
        let r = &self.recovery;
        if argon2::Params::new(r.memory_kib, r.passes, r.lanes, None).is_err() {
            return Err("recovery argon2 parameters out of range");
        }
        if self.devices.ttl.is_zero() || self.devices.max == 0 {
            return Err("devices.ttl and devices.max must be positive");
        }
        if self.setup_ttl.is_zero() {
            return Err("setup_ttl must be positive");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let p = Policy::default();
        assert_eq!(p.totp.algorithm, Algorithm::Sha1);
        assert_eq!((p.totp.digits, p.totp.period, p.totp.skew), (6, 30, 1));
        assert_eq!(p.lockout.threshold, 5);
        assert_eq!(p.lockout.first, Duration::from_secs(60));
        assert_eq!(p.lockout.longest, Duration::from_secs(3600));
        assert_eq!(p.lockout.daily_limit, 100);
        assert_eq!(p.setup_ttl, Duration::from_secs(900));
        assert_eq!(p.codes.digits, 6);
        assert_eq!(p.codes.email_ttl, Duration::from_secs(600));
        assert_eq!(p.codes.sms_ttl, Duration::from_secs(300));
        assert_eq!((p.codes.tries, p.codes.sends_per_hour), (5, 5));
        assert_eq!(p.codes.resend_after, Duration::from_secs(30));
        assert_eq!(
            (p.recovery.memory_kib, p.recovery.passes, p.recovery.lanes),
            (19456, 2, 1)
        );
        assert_eq!(p.devices.ttl, Duration::from_secs(30 * 86_400));
        assert!(p.switch_needs_code);
        assert_eq!(p.validate(), Ok(()));
    }

    #[test]
    fn nonsense_is_refused() {
        let cases: [fn(&mut Policy); 12] = [
            |p| p.recovery.memory_kib = 1,
            |p| p.devices.max = 0,
            |p| p.codes.digits = 5,
            |p| p.codes.digits = 11,
            |p| p.codes.tries = 0,
            |p| p.codes.sends_per_hour = 0,
            |p| p.totp.digits = 5,
            |p| p.totp.digits = 9,
            |p| p.totp.period = 0,
            |p| p.totp.skew = 3,
            |p| p.lockout.threshold = 0,
            |p| p.lockout.longest = Duration::from_secs(1),
        ];
        for change in cases {
            let mut p = Policy::default();
            change(&mut p);
            assert!(p.validate().is_err(), "{p:?}");
        }
    }
}
