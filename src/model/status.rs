//! What an account's security page shows.

use serde::{Deserialize, Serialize};

use crate::model::time::Timestamp;

/// A kind of second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Method {
    /// An authenticator app (TOTP), set up by scanning a QR code.
    App,
    /// A code emailed to the account's address. Convenient, but anyone who
    /// can read the mailbox has it: NIST SP 800-63B does not count it as a
    /// second factor.
    Email,
    /// A code texted to a mobile number. Open to SIM swaps and interception:
    /// NIST SP 800-63B calls it a restricted authenticator.
    Sms,
    /// A security key or passkey (WebAuthn): phishing-resistant, since the
    /// browser binds its answer to the site. Needs the `webauthn` feature
    /// and [`TwoFactorBuilder::security_keys`](crate::TwoFactorBuilder).
    Key,
}

impl Method {
    /// A name to show a person inside a sentence: "authenticator app",
    /// "email", "text message".
    pub fn display_name(self) -> &'static str {
        match self {
            Method::App => "authenticator app",
            Method::Email => "email",
            Method::Sms => "text message",
            Method::Key => "security key",
        }
    }

    /// A name fit for a heading or a button: "Authenticator app", "Email",
    /// "Text message".
    pub fn heading(self) -> &'static str {
        match self {
            Method::App => "Authenticator app",
            Method::Email => "Email",
            Method::Sms => "Text message",
            Method::Key => "Security key",
        }
    }

    /// The method's name in a form or a URL: `app`, `email`, `sms`, `key` (as
    /// [`FromStr`](std::str::FromStr) and serde read and write it).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::App => "app",
            Method::Email => "email",
            Method::Sms => "sms",
            Method::Key => "key",
        }
    }
}

impl std::fmt::Display for Method {
    /// The [`display_name`](Method::display_name).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.display_name())
    }
}

impl std::str::FromStr for Method {
    type Err = crate::error::ParseError;

    /// Reads `app`, `email`, `sms` or `key`, as a form or a URL carries it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "app" => Ok(Method::App),
            "email" => Ok(Method::Email),
            "sms" => Ok(Method::Sms),
            "key" => Ok(Method::Key),
            _ => Err(crate::error::ParseError::expected("app, email, sms, key")),
        }
    }
}

/// One authenticator set up, as an account page or an administration page
/// lists it: what it is and what the user named it. Holds no secret, and no
/// address or number.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthenticatorInfo {
    /// Its id, for [`remove_authenticator`](crate::TwoFactor::remove_authenticator).
    pub id: String,
    /// Its kind.
    pub method: Method,
    /// The name the user gave it (or the kind's [`heading`](Method::heading)).
    pub label: String,
    /// Whether its kind is the one asked for first at login.
    pub primary: bool,
    /// When it was added.
    pub created: Timestamp,
    /// When it last proved a login or a step-up.
    pub last_used: Option<Timestamp>,
}

/// Whether, and how, an account is protected by a second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// No second factor: the password alone logs in.
    Off,
    /// A setup was begun and waits for its confirming code; until then the
    /// password alone logs in.
    Pending {
        /// What is being set up.
        method: Method,
        /// When the setup lapses unconfirmed.
        expires: Timestamp,
    },
    /// A second factor is asked for at every login.
    On {
        /// Every method set up, the primary first.
        methods: Vec<Method>,
        /// The method asked for at login.
        primary: Method,
        /// Every authenticator, in the order they were added.
        authenticators: Vec<AuthenticatorInfo>,
        /// When it was turned on.
        since: Timestamp,
        /// The number codes are texted to, masked, when SMS is set up.
        phone: Option<String>,
        /// A method being added or switched to, or a number being changed,
        /// not yet confirmed.
        pending: Option<Method>,
        /// Recovery codes left.
        recovery_codes_left: usize,
        /// Devices remembered now.
        devices: usize,
    },
    /// An administrator's reset requires the user to set a method up
    /// before logging in (see [`AfterReset`](crate::AfterReset)).
    SetupRequired {
        /// Since when.
        since: Timestamp,
    },
    /// Turned off with the settings kept: the password alone logs in, and
    /// [`reenable`](crate::TwoFactor::reenable) turns it back on.
    Suspended {
        /// The methods kept, the primary first.
        methods: Vec<Method>,
        /// The method that will be asked for.
        primary: Method,
        /// The authenticators kept.
        authenticators: Vec<AuthenticatorInfo>,
        /// Since when it is off.
        since: Timestamp,
    },
}

impl Status {
    /// Whether a second factor is asked for at login.
    pub fn is_on(&self) -> bool {
        matches!(self, Status::On { .. })
    }

    /// The method asked for first at login (or that will be, when
    /// suspended); `None` when there is none.
    pub fn primary(&self) -> Option<Method> {
        match self {
            Status::On { primary, .. } | Status::Suspended { primary, .. } => Some(*primary),
            Status::Off | Status::Pending { .. } | Status::SetupRequired { .. } => None,
        }
    }
}

/// An account's two-factor state, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// Not set up.
    Off,
    /// A setup waits for its confirming code.
    Pending,
    /// On.
    On,
    /// Off with the settings kept.
    Suspended,
    /// Off, and must be set up again at the next login.
    SetupRequired,
    /// The stored record could not be read.
    Unreadable,
}

/// One account as an administration page lists it. Holds no secret and no
/// address or number.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccountSummary {
    /// The account id.
    pub user: String,
    /// The state.
    pub state: State,
    /// The methods set up (kept, when suspended), the primary first.
    pub methods: Vec<Method>,
    /// The authenticators set up (kept, when suspended), by kind and name.
    pub authenticators: Vec<AuthenticatorInfo>,
}

/// A page of [`AccountSummary`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page {
    /// The accounts, in ascending order of id.
    pub accounts: Vec<AccountSummary>,
    /// Pass as `after` for the next page; `None` on the last.
    pub next: Option<String>,
}

/// What an administrator asks to do to another account, for an
/// [`AdminPolicy`](crate::AdminPolicy) to allow or refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AdminAction {
    /// [`admin_reset`](crate::TwoFactor::admin_reset): delete the setup.
    Reset,
    /// [`admin_unlock`](crate::TwoFactor::admin_unlock): lift a lockout.
    Unlock,
    /// [`admin_export_apps`](crate::TwoFactor::admin_export_apps): read the
    /// authenticator app's secret, for the host's own backup or a move to
    /// another system.
    Export,
}
