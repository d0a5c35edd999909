//! The security rules, with their defaults.

use std::collections::BTreeSet;
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
    /// Seconds per time step, 15 to 60 (RFC 6238 recommends 30). Default 30.
    pub period: u64,
    /// Steps accepted either side of the current one, for clock drift: at
    /// most 1 (RFC 6238, section 5.2). Default 1 (so three codes are valid
    /// at any moment).
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
    /// account, 3 to 10. Default 5.
    pub threshold: u32,
    /// How long the first lockout lasts. Default 1 minute.
    pub first: Duration,
    /// The longest lockout; each lockout doubles the last up to this.
    /// Default 1 hour.
    pub longest: Duration,
    /// The most failures allowed in any one day, whatever the lockouts: at
    /// most 100 (NIST SP 800-63B-4). Default 100.
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
    /// How long an emailed code is valid, at most 10 minutes. Default 10
    /// minutes.
    pub email_ttl: Duration,
    /// How long a texted code is valid, at most 10 minutes. Default 5
    /// minutes.
    pub sms_ttl: Duration,
    /// Wrong tries before a code is void. Default 5.
    pub tries: u8,
    /// The least time between two codes for the same purpose (a login, a
    /// setup, a step-up) sent to one account. Default 30 s. A step-up code
    /// followed by the new method's setup code, as a switch asks for, is
    /// not held back by it.
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

/// How many authenticators of a kind a user may hold.
///
/// Each authenticator app is one more secret a typed code is checked
/// against: with `n` apps and a skew of one step, a guess at login is
/// compared with `3 n` codes, so the chance that one guess is right grows
/// `n`-fold (about 1 in 66,000 with five six-digit apps, against 1 in
/// 333,000 with one), while the lockout still counts one failure per
/// attempt. The cap bounds that.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthenticatorPolicy {
    /// The most authenticator apps per account, 1 to 10. Default 5.
    pub max_apps: usize,
    /// The most security keys and passkeys per account, 1 to 20. Default
    /// 10. A key adds no guessing chance (its answer is a signature), but
    /// each one is a way in to account for.
    pub max_keys: usize,
}

impl Default for AuthenticatorPolicy {
    fn default() -> Self {
        Self {
            max_apps: 5,
            max_keys: 10,
        }
    }
}

/// How step-up grants ("sudo mode") work: see
/// [`TwoFactor::step_up`](crate::TwoFactor::step_up).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepUpPolicy {
    /// How long a grant authorises factor changes, 1 minute to 1 hour.
    /// Default 10 minutes.
    pub grant_ttl: Duration,
    /// The most grants live at once per account (one per signed-in
    /// session, say); the oldest is dropped first. Default 5.
    pub max_grants: usize,
}

impl Default for StepUpPolicy {
    fn default() -> Self {
        Self {
            grant_ttl: Duration::from_secs(10 * 60),
            max_grants: 5,
        }
    }
}

/// Limits that hold across accounts: per destination (a phone number or an
/// email address, whatever the account) and per request source (see
/// [`Source`](crate::Source)). Each is counted in the store, so every app
/// instance sees the same counts.
///
/// Each pair is an hourly and a daily limit, counted in windows that start
/// with the first event and last an hour and a day.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitPolicy {
    /// Codes sent to one number or address in an hour, whatever the account
    /// (setup codes to a number not yet verified included). Default 5.
    pub destination_per_hour: u32,
    /// … and in a day. Default 10.
    pub destination_per_day: u32,
    /// Codes sent on requests from one source in an hour. Default 20.
    pub source_sends_per_hour: u32,
    /// … and in a day. Default 100.
    pub source_sends_per_day: u32,
    /// Failed attempts (wrong codes, wrong passwords when re-authenticating)
    /// from one source in an hour, across all accounts. Default 50.
    pub source_failures_per_hour: u32,
    /// … and in a day. Default 200.
    pub source_failures_per_day: u32,
}

impl Default for LimitPolicy {
    fn default() -> Self {
        Self {
            destination_per_hour: 5,
            destination_per_day: 10,
            source_sends_per_hour: 20,
            source_sends_per_day: 100,
            source_failures_per_hour: 50,
            source_failures_per_day: 200,
        }
    }
}

/// A change to the ways an account passes its second factor. While two-factor
/// authentication is on (or suspended with the settings kept), each needs the
/// password **and** a current second factor, or a step-up grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FactorChange {
    /// [`begin_setup`](crate::TwoFactor::begin_setup) while on or suspended:
    /// a switch of method, or starting over.
    Switch,
    /// [`add_fallback`](crate::TwoFactor::add_fallback).
    AddMethod,
    /// [`change_phone`](crate::TwoFactor::change_phone).
    ChangePhone,
    /// [`set_primary`](crate::TwoFactor::set_primary).
    SetPrimary,
    /// [`remove_fallback`](crate::TwoFactor::remove_fallback).
    RemoveMethod,
    /// [`disable`](crate::TwoFactor::disable), either way.
    Disable,
    /// [`reenable`](crate::TwoFactor::reenable).
    Reenable,
    /// [`regenerate_recovery_codes`](crate::TwoFactor::regenerate_recovery_codes).
    RegenerateRecoveryCodes,
    /// [`cancel_setup`](crate::TwoFactor::cancel_setup) of a pending switch,
    /// new method or new number.
    CancelSetup,
    /// [`pending_setup`](crate::TwoFactor::pending_setup) while a factor is
    /// set up: showing a pending new app's secret again. Whoever sees it
    /// can make that app's codes once the setup is confirmed.
    ShowPendingSetup,
}

/// What a user's own change does when it would leave them without an
/// adequate method while two-factor authentication is required of them
/// ([`disable`](crate::TwoFactor::disable), or
/// [`remove_fallback`](crate::TwoFactor::remove_fallback) of the only
/// method of the required strength).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum WhileRequired {
    /// Refused with [`Error::Required`](crate::Error::Required). Default.
    #[default]
    Refuse,
    /// Allowed; the next login asks the user to set a method up again
    /// ([`LoginStep::SetupRequired`](crate::LoginStep::SetupRequired)),
    /// within what is left of the grace period.
    SetupRequired,
}

/// What an administrator's reset leaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AfterReset {
    /// Off: the password alone logs in until the user sets two-factor
    /// authentication up again. Default.
    #[default]
    Off,
    /// The next login answers
    /// [`LoginStep::SetupRequired`](crate::LoginStep::SetupRequired): the
    /// user must set a method up before going further.
    SetupRequired,
}

/// All the rules, with safe defaults. Change a field only for a reason.
///
/// [`TwoFactorBuilder::build`](crate::TwoFactorBuilder::build) refuses values
/// outside safe bounds (each field says its bound and where it comes from);
/// the few hosts that truly need more call a `dangerous_…` method, whose name
/// says what it is.
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
    /// How many authenticators of a kind an account may hold.
    pub authenticators: AuthenticatorPolicy,
    /// Step-up grants.
    pub step_up: StepUpPolicy,
    /// Limits per destination and per source, across accounts.
    pub limits: LimitPolicy,
    /// What an administrator's reset leaves. Default [`AfterReset::Off`].
    pub after_admin_reset: AfterReset,
    /// What a user's own change that would leave them without an adequate
    /// method does while a [`Requirement`](crate::Requirement) holds.
    /// Default [`WhileRequired::Refuse`].
    pub while_required: WhileRequired,
    /// How long a begun setup waits for its confirming code. Default 15
    /// minutes.
    pub setup_ttl: Duration,
    /// How many times a change that lost a race with another request on the
    /// same account is decided again before [`Error::Contention`](crate::Error::Contention).
    /// Default 64: a request loses at most once to each other request on the
    /// same account, so this covers 64 at once.
    pub max_retries: u32,
    /// Bounds lifted by a `dangerous_…` method, and the changes allowed with
    /// the password alone.
    lifted: Lifted,
}

/// What the `dangerous_…` methods allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Lifted {
    skew: bool,
    period: bool,
    code_ttl: bool,
    lockout_threshold: bool,
    daily_failures: bool,
    password_only: BTreeSet<FactorChange>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            totp: TotpPolicy::default(),
            codes: CodePolicy::default(),
            lockout: LockoutPolicy::default(),
            recovery: RecoveryPolicy::default(),
            devices: DevicePolicy::default(),
            authenticators: AuthenticatorPolicy::default(),
            step_up: StepUpPolicy::default(),
            limits: LimitPolicy::default(),
            after_admin_reset: AfterReset::Off,
            while_required: WhileRequired::Refuse,
            setup_ttl: Duration::from_secs(15 * 60),
            max_retries: 64,
            lifted: Lifted::default(),
        }
    }
}

impl Policy {
    /// Accepts codes up to `steps` time steps (at most 10) either side of
    /// the current one. **Weaker than the default**: each step more is two
    /// more codes a guess may hit, and an observed code stays good for
    /// longer. RFC 6238 (section 5.2) recommends at most one step.
    pub fn dangerous_totp_skew(mut self, steps: u8) -> Self {
        self.totp.skew = steps;
        self.lifted.skew = true;
        self
    }

    /// Time steps of `seconds` (1 to 300) outside 15 to 60 s. **Weaker than
    /// the default** when longer (an observed code lives longer), and
    /// unusable when much shorter. RFC 6238 (section 5.2) recommends 30 s.
    pub fn dangerous_totp_period(mut self, seconds: u64) -> Self {
        self.totp.period = seconds;
        self.lifted.period = true;
        self
    }

    /// Sent codes valid for longer than 10 minutes (at most a day).
    /// **Weaker than the default**: NIST SP 800-63B-4 allows an out-of-band
    /// secret 10 minutes at most.
    pub fn dangerous_code_ttl(mut self, email: Duration, sms: Duration) -> Self {
        self.codes.email_ttl = email;
        self.codes.sms_ttl = sms;
        self.lifted.code_ttl = true;
        self
    }

    /// Locks after `failures` consecutive failures (at least 1) outside 3
    /// to 10. **Weaker than the default** when higher (more guesses before
    /// a lock), and easier to abuse to lock users out when lower.
    pub fn dangerous_lockout_threshold(mut self, failures: u32) -> Self {
        self.lockout.threshold = failures;
        self.lifted.lockout_threshold = true;
        self
    }

    /// Allows more than 100 failures a day. **Weaker than the default**:
    /// NIST SP 800-63B-4 limits consecutive failed attempts on one account
    /// to 100.
    pub fn dangerous_daily_failures(mut self, failures: u32) -> Self {
        self.lockout.daily_limit = failures;
        self.lifted.daily_failures = true;
        self
    }

    /// Lets `change` go through with the account password alone while two-factor
    /// authentication is on. **Weaker than the seed portals need**: whoever
    /// has a user's password and a signed-in session (a stolen cookie, an
    /// unlocked computer) can then make that change, which is what a second
    /// factor exists to stop. Prefer a step-up grant, which makes the
    /// second factor a one-off per session.
    pub fn dangerous_password_only(mut self, change: FactorChange) -> Self {
        self.lifted.password_only.insert(change);
        self
    }

    /// Whether authenticator-app codes with `period` seconds a step are
    /// within the policy's bounds (15 to 60 s, or 1 to 300 s once
    /// [`dangerous_totp_period`](Self::dangerous_totp_period) lifted them).
    pub(crate) fn allows_totp_period(&self, period: u64) -> bool {
        match self.lifted.period {
            false => (15..=60).contains(&period),
            true => (1..=300).contains(&period),
        }
    }

    /// Whether `change` was allowed with the password alone.
    pub fn allows_password_only(&self, change: FactorChange) -> bool {
        self.lifted.password_only.contains(&change)
    }

    /// Checks that the rules are within their bounds (or lifted by a
    /// `dangerous_…` method) and make sense together.
    pub(crate) fn validate(&self) -> Result<(), &'static str> {
        let t = &self.totp;
        if !(6..=8).contains(&t.digits) {
            return Err("totp.digits must be 6, 7 or 8");
        }
        // RFC 6238, 5.2: at most one step either way for network delay.
        match (self.lifted.skew, t.skew) {
            (false, 0..=1) | (true, 0..=10) => {}
            (false, _) => return Err("totp.skew above 1 step needs Policy::dangerous_totp_skew"),
            (true, _) => return Err("totp.skew must be at most 10 steps"),
        }
        // RFC 6238, 5.2: 30 s; shorter than 15 cannot be typed, longer than
        // 60 keeps a code alive too long.
        if !self.allows_totp_period(t.period) {
            return Err(match self.lifted.period {
                false => "totp.period outside 15-60 s needs Policy::dangerous_totp_period",
                true => "totp.period must be 1 to 300 s",
            });
        }
        let c = &self.codes;
        // NIST SP 800-63B-4: a one-time code has at least 6 digits; 10 is
        // the most a 64-bit draw carries without visible bias.
        if !(6..=10).contains(&c.digits) {
            return Err("codes.digits must be 6 to 10");
        }
        if c.tries == 0 || c.sends_per_hour == 0 {
            return Err("codes.tries and codes.sends_per_hour must be at least 1");
        }
        if c.email_ttl.is_zero() || c.sms_ttl.is_zero() {
            return Err("codes.email_ttl and codes.sms_ttl must be positive");
        }
        // NIST SP 800-63B-4: an out-of-band secret is valid 10 minutes at most.
        let ten_minutes = Duration::from_secs(600);
        let longest = if self.lifted.code_ttl {
            Duration::from_secs(86_400)
        } else {
            ten_minutes
        };
        if c.email_ttl > longest || c.sms_ttl > longest {
            return Err(if self.lifted.code_ttl {
                "codes.email_ttl and codes.sms_ttl must be at most a day"
            } else {
                "codes valid over 10 minutes need Policy::dangerous_code_ttl"
            });
        }
        let l = &self.lockout;
        // OWASP and common practice: 3 to 10 attempts before a lock.
        match (self.lifted.lockout_threshold, l.threshold) {
            (_, 0) => return Err("lockout.threshold must be at least 1"),
            (false, 3..=10) | (true, _) => {}
            (false, _) => {
                return Err(
                    "lockout.threshold outside 3-10 needs Policy::dangerous_lockout_threshold",
                )
            }
        }
        // NIST SP 800-63B-4: no more than 100 consecutive failed attempts.
        match (self.lifted.daily_failures, l.daily_limit) {
            (_, 0) => return Err("lockout.daily_limit must be at least 1"),
            (false, 1..=100) | (true, _) => {}
            (false, _) => {
                return Err("lockout.daily_limit above 100 needs Policy::dangerous_daily_failures")
            }
        }
        if l.first.is_zero() || l.longest < l.first {
            return Err("lockout.first must be positive and at most lockout.longest");
        }
        let r = &self.recovery;
        if argon2::Params::new(r.memory_kib, r.passes, r.lanes, None).is_err() {
            return Err("recovery argon2 parameters out of range");
        }
        if self.devices.ttl.is_zero() || self.devices.max == 0 {
            return Err("devices.ttl and devices.max must be positive");
        }
        if !(1..=10).contains(&self.authenticators.max_apps) {
            return Err("authenticators.max_apps must be 1 to 10");
        }
        if !(1..=20).contains(&self.authenticators.max_keys) {
            return Err("authenticators.max_keys must be 1 to 20");
        }
        let s = &self.step_up;
        if s.grant_ttl < Duration::from_secs(60) || s.grant_ttl > Duration::from_secs(3600) {
            return Err("step_up.grant_ttl must be 1 minute to 1 hour");
        }
        if s.max_grants == 0 || s.max_grants > 100 {
            return Err("step_up.max_grants must be 1 to 100");
        }
        let m = &self.limits;
        for (hour, day) in [
            (m.destination_per_hour, m.destination_per_day),
            (m.source_sends_per_hour, m.source_sends_per_day),
            (m.source_failures_per_hour, m.source_failures_per_day),
        ] {
            if hour == 0 || day < hour {
                return Err("each hourly limit must be at least 1 and at most its daily limit");
            }
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
        assert_eq!(p.step_up.grant_ttl, Duration::from_secs(600));
        assert_eq!(p.step_up.max_grants, 5);
        let l = &p.limits;
        assert_eq!((l.destination_per_hour, l.destination_per_day), (5, 10));
        assert_eq!((l.source_sends_per_hour, l.source_sends_per_day), (20, 100));
        assert_eq!(
            (l.source_failures_per_hour, l.source_failures_per_day),
            (50, 200)
        );
        assert_eq!(p.after_admin_reset, AfterReset::Off);
        assert!(!p.allows_password_only(FactorChange::Disable));
        assert_eq!(p.validate(), Ok(()));
    }

    /// Each value just outside its bound is refused; each bound itself is
    /// accepted.
    #[test]
    fn values_outside_the_safe_bounds_are_refused() {
        let refused: [fn(&mut Policy); 22] = [
            |p| p.recovery.memory_kib = 1,
            |p| p.devices.max = 0,
            |p| p.codes.digits = 5,
            |p| p.codes.digits = 11,
            |p| p.codes.tries = 0,
            |p| p.codes.sends_per_hour = 0,
            |p| p.codes.email_ttl = Duration::from_secs(601),
            |p| p.codes.sms_ttl = Duration::from_secs(601),
            |p| p.totp.digits = 5,
            |p| p.totp.digits = 9,
            |p| p.totp.period = 14,
            |p| p.totp.period = 61,
            |p| p.totp.skew = 2,
            |p| p.lockout.threshold = 2,
            |p| p.lockout.threshold = 11,
            |p| p.lockout.daily_limit = 101,
            |p| p.lockout.daily_limit = 0,
            |p| p.lockout.longest = Duration::from_secs(1),
            |p| p.step_up.grant_ttl = Duration::from_secs(59),
            |p| p.step_up.grant_ttl = Duration::from_secs(3601),
            |p| p.limits.destination_per_hour = 0,
            |p| p.limits.source_failures_per_day = 1,
        ];
        for change in refused {
            let mut p = Policy::default();
            change(&mut p);
            assert!(p.validate().is_err(), "{p:?}");
        }
        let accepted: [fn(&mut Policy); 9] = [
            |p| p.codes.digits = 10,
            |p| p.codes.sms_ttl = Duration::from_secs(600),
            |p| p.totp.period = 15,
            |p| p.totp.period = 60,
            |p| p.totp.skew = 0,
            |p| p.lockout.threshold = 3,
            |p| p.lockout.threshold = 10,
            |p| p.lockout.daily_limit = 100,
            |p| p.step_up.grant_ttl = Duration::from_secs(3600),
        ];
        for change in accepted {
            let mut p = Policy::default();
            change(&mut p);
            assert_eq!(p.validate(), Ok(()), "{p:?}");
        }
    }

    #[test]
    fn dangerous_setters_lift_their_bound_and_only_it() {
        let p = Policy::default().dangerous_totp_skew(2);
        assert_eq!((p.totp.skew, p.validate()), (2, Ok(())));
        assert!(Policy::default()
            .dangerous_totp_skew(11)
            .validate()
            .is_err());
        let mut p = Policy::default().dangerous_totp_skew(2);
        p.totp.period = 90;
        assert!(
            p.validate().is_err(),
            "the skew setter lifts no other bound"
        );
        assert_eq!(
            Policy::default().dangerous_totp_period(90).validate(),
            Ok(())
        );
        assert!(Policy::default()
            .dangerous_totp_period(0)
            .validate()
            .is_err());
        let hour = Duration::from_secs(3600);
        assert_eq!(
            Policy::default().dangerous_code_ttl(hour, hour).validate(),
            Ok(())
        );
        assert_eq!(
            Policy::default().dangerous_lockout_threshold(20).validate(),
            Ok(())
        );
        assert_eq!(
            Policy::default().dangerous_daily_failures(500).validate(),
            Ok(())
        );
        assert!(Policy::default()
            .dangerous_daily_failures(0)
            .validate()
            .is_err());
        assert!(Policy::default()
            .dangerous_lockout_threshold(0)
            .validate()
            .is_err());
        let p = Policy::default().dangerous_password_only(FactorChange::Disable);
        assert!(p.allows_password_only(FactorChange::Disable));
        assert!(!p.allows_password_only(FactorChange::Switch));
    }
}
