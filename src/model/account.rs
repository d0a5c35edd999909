//! The host's user, as the library needs to know it.

use std::fmt;

/// Most characters an account id or label may have.
const MAX_LEN: usize = 256;

/// A user of the host application: a stable id, the email address notices
/// go to, and the label an authenticator app shows (the email address unless
/// set otherwise).
///
/// `Debug` shows the id only: addresses stay out of logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    id: String,
    email: String,
    label: Option<String>,
}

impl Account {
    /// The user with this stable id (the host's primary key) and email address.
    pub fn new(id: impl Into<String>, email: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            email: email.into(),
            label: None,
        }
    }

    /// Uses `label` instead of the email address as the account name shown in
    /// the authenticator app.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The stable id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The email address.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The name an authenticator app shows for this account.
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.email)
    }

    /// Checks the id can key a record: non-empty, short, no control characters.
    pub(crate) fn validate(&self) -> Result<(), crate::Error> {
        validate_id(&self.id)
    }
}

/// Checks an account id can key a record: non-empty, short, no control
/// characters.
pub(crate) fn validate_id(id: &str) -> Result<(), crate::Error> {
    if id.is_empty() || id.len() > MAX_LEN || id.chars().any(char::is_control) {
        return Err(crate::Error::InvalidAccount(
            "the account id must be 1 to 256 bytes without control characters",
        ));
    }
    Ok(())
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_defaults_to_email() {
        let a = Account::new("u1", "a@example.com");
        assert_eq!(a.label(), "a@example.com");
        assert_eq!(a.with_label("Alice").label(), "Alice");
    }

    #[test]
    fn debug_hides_the_address() {
        let a = Account::new("u1", "alice@example.com").with_label("Alice Smith");
        let shown = format!("{a:?}");
        assert!(shown.contains("u1"));
        assert!(!shown.contains("alice@"), "{shown}");
        assert!(!shown.contains("Alice Smith"), "{shown}");
    }

    #[test]
    fn bad_ids_are_refused() {
        for id in [String::new(), "a\nb".into(), "x".repeat(257)] {
            assert!(Account::new(id, "a@example.com").validate().is_err());
        }
        assert!(Account::new("x".repeat(256), "e").validate().is_ok());
    }
}
