//! Audit events.

use crate::model::status::Method;
use crate::model::time::Timestamp;

/// Something that happened to an account's second factor. Holds no secret,
/// code or address.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// The account id.
    pub account: String,
    /// What happened.
    pub kind: EventKind,
    /// The method concerned, where one is.
    pub method: Option<Method>,
    /// The authenticator concerned, where one is: added, removed, or the
    /// one whose code was accepted.
    pub authenticator: Option<Named>,
    /// When.
    pub at: Timestamp,
    /// Who did it, when not the account's user (an administrator's id).
    pub actor: Option<String>,
    /// Why, when an administrator gave a reason.
    pub reason: Option<String>,
}

/// An authenticator as an event names it: its id and the user's label for
/// it, never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Named {
    /// Its id.
    pub id: String,
    /// The name the user gave it.
    pub label: String,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// A setup began (the password was right).
    SetupBegun,
    /// A setup was confirmed: two-factor authentication is on.
    Enabled,
    /// A setup's confirming code was wrong.
    SetupCodeRejected,
    /// A login's code was accepted.
    LoginAccepted,
    /// A login's code was wrong.
    LoginRejected,
    /// A right authenticator-app code for a time step already used: an
    /// observed code replayed, or a double submission.
    CodeReplayed,
    /// A right sent code that had expired or been replaced.
    CodeExpired,
    /// Something that is not a code at all (wrong length, not digits).
    MalformedCode,
    /// A password given to re-authenticate was wrong.
    PasswordRejected,
    /// Failures locked the account.
    LockedOut,
    /// Two-factor authentication was turned off.
    Disabled,
    /// A one-time code was sent (or handed to the sender).
    CodeSent,
    /// A fallback method was added.
    FallbackAdded,
    /// A fallback method was removed.
    FallbackRemoved,
    /// One authenticator was removed (others of its kind may remain).
    AuthenticatorRemoved,
    /// The primary method changed.
    PrimaryChanged,
    /// The SMS number changed.
    PhoneChanged,
    /// The primary method was replaced by a new one.
    MethodSwitched,
    /// A pending setup was cancelled.
    SetupCancelled,
    /// A new set of recovery codes was made (the old one is void).
    RecoveryCodesIssued,
    /// A recovery code was used to log in.
    RecoveryCodeUsed,
    /// A device was remembered.
    DeviceRemembered,
    /// A remembered device skipped the code at login.
    TrustedDevice,
    /// Remembered devices were forgotten.
    DevicesRevoked,
    /// Turned off with the settings kept.
    Suspended,
    /// Turned back on with the kept settings.
    Reenabled,
    /// An administrator deleted the setup.
    AdminReset,
    /// An administrator lifted a lockout.
    AdminUnlock,
    /// An authenticator app's secret was imported from another system:
    /// two-factor authentication is on.
    AppImported,
    /// An administrator exported the account's authenticator-app secret.
    AdminExport,
    /// A code was not sent: a limit of the account, the destination or the
    /// source held it back.
    SendThrottled,
    /// An attempt from a source with too many failures across accounts was
    /// refused without being evaluated.
    SourceThrottled,
    /// A step-up succeeded: a grant was issued.
    StepUp,
    /// A step-up's second factor was wrong (the password was right).
    StepUpRejected,
    /// A factor change was authorised by a step-up grant.
    GrantUsed,
    /// A step-up grant was revoked (sign-out).
    GrantRevoked,
}

impl EventKind {
    /// A stable snake_case name, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::SetupBegun => "setup_begun",
            EventKind::Enabled => "enabled",
            EventKind::SetupCodeRejected => "setup_code_rejected",
            EventKind::LoginAccepted => "login_accepted",
            EventKind::LoginRejected => "login_rejected",
            EventKind::CodeReplayed => "code_replayed",
            EventKind::CodeExpired => "code_expired",
            EventKind::MalformedCode => "malformed_code",
            EventKind::PasswordRejected => "password_rejected",
            EventKind::LockedOut => "locked_out",
            EventKind::Disabled => "disabled",
            EventKind::CodeSent => "code_sent",
            EventKind::FallbackAdded => "fallback_added",
            EventKind::FallbackRemoved => "fallback_removed",
            EventKind::AuthenticatorRemoved => "authenticator_removed",
            EventKind::PrimaryChanged => "primary_changed",
            EventKind::PhoneChanged => "phone_changed",
            EventKind::MethodSwitched => "method_switched",
            EventKind::SetupCancelled => "setup_cancelled",
            EventKind::RecoveryCodesIssued => "recovery_codes_issued",
            EventKind::RecoveryCodeUsed => "recovery_code_used",
            EventKind::DeviceRemembered => "device_remembered",
            EventKind::TrustedDevice => "trusted_device",
            EventKind::DevicesRevoked => "devices_revoked",
            EventKind::Suspended => "suspended",
            EventKind::Reenabled => "reenabled",
            EventKind::AdminReset => "admin_reset",
            EventKind::AdminUnlock => "admin_unlock",
            EventKind::AppImported => "app_imported",
            EventKind::AdminExport => "admin_export",
            EventKind::SendThrottled => "send_throttled",
            EventKind::SourceThrottled => "source_throttled",
            EventKind::StepUp => "step_up",
            EventKind::StepUpRejected => "step_up_rejected",
            EventKind::GrantUsed => "grant_used",
            EventKind::GrantRevoked => "grant_revoked",
        }
    }

    /// Whether it reports a failed attempt.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            EventKind::SetupCodeRejected
                | EventKind::LoginRejected
                | EventKind::CodeReplayed
                | EventKind::CodeExpired
                | EventKind::MalformedCode
                | EventKind::PasswordRejected
                | EventKind::StepUpRejected
                | EventKind::LockedOut
                | EventKind::SendThrottled
                | EventKind::SourceThrottled
        )
    }
}
