//! Whether an account must use two-factor authentication, from when, and
//! with what.

use crate::model::time::Timestamp;

/// What second factor satisfies a [`Requirement`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Strength {
    /// Any method: an authenticator app, email or SMS.
    #[default]
    Any,
    /// An authenticator app or a security key: email and SMS codes do not
    /// count (NIST SP 800-63B does not count email as a second factor and
    /// restricts SMS).
    App,
    /// Phishing-resistant: a security key or passkey.
    Key,
}

/// Whether an account must use two-factor authentication: decided by the
/// host for each account, through a
/// [`RequirementPolicy`](crate::RequirementPolicy) (e.g. from its roles:
/// administrators now, everyone from a date).
///
/// ```
/// use twofactor::{Requirement, Strength, Timestamp};
/// let admins = Requirement::now().with_strength(Strength::App);
/// let everyone = Requirement::by(Timestamp::from_unix_seconds(1_767_225_600));
/// assert!(admins.is_required() && everyone.is_required());
/// assert!(!Requirement::optional().is_required());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Requirement {
    required: bool,
    deadline: Option<Timestamp>,
    strength: Strength,
}

impl Requirement {
    /// Not required: the user chooses (the default).
    pub fn optional() -> Self {
        Self::default()
    }

    /// Required from now, with no grace period.
    pub fn now() -> Self {
        Self {
            required: true,
            deadline: None,
            strength: Strength::Any,
        }
    }

    /// Required from `deadline`: until then a user without a second factor
    /// may still be let in (and reminded); from then on, only to set one
    /// up.
    pub fn by(deadline: Timestamp) -> Self {
        Self {
            required: true,
            deadline: Some(deadline),
            strength: Strength::Any,
        }
    }

    /// The same requirement, satisfied only by a method of `strength`.
    pub fn with_strength(mut self, strength: Strength) -> Self {
        self.strength = strength;
        self
    }

    /// Whether two-factor authentication is required at all.
    pub fn is_required(&self) -> bool {
        self.required
    }

    /// The end of the grace period, when there is one.
    pub fn deadline(&self) -> Option<Timestamp> {
        self.deadline
    }

    /// What satisfies it.
    pub fn strength(&self) -> Strength {
        self.strength
    }

    /// Until when a user who does not meet it may still be let in: the
    /// deadline while it is ahead of `now`; `None` when no grace is left.
    pub fn grace_until(&self, now: Timestamp) -> Option<Timestamp> {
        self.deadline.filter(|d| *d > now)
    }

    /// The stricter of the two: required if either is, the earlier
    /// deadline (none is earliest), the stronger method.
    pub fn stricter(self, other: Requirement) -> Requirement {
        match (self.required, other.required) {
            (false, false) => Requirement::optional(),
            (true, false) => self,
            (false, true) => other,
            (true, true) => Requirement {
                required: true,
                deadline: match (self.deadline, other.deadline) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    _ => None,
                },
                strength: self.strength.max(other.strength),
            },
        }
    }
}

/// What a login must be followed by: setting a method up (or, with
/// `Strength::App`, an authenticator app).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SetupDue {
    /// What the new method must be.
    pub strength: Strength,
    /// While the grace period runs: until when the user may still be let
    /// in without it. `None`: no grace left, send the user to set it up.
    pub grace_until: Option<Timestamp>,
}
