//! The administrator policies shipped: nobody (the default), and a list.

use std::collections::BTreeSet;

use async_trait::async_trait;

use crate::model::account::Account;
use crate::model::status::AdminAction;
use crate::ports::AdminPolicy;

/// The default [`AdminPolicy`]: nobody may act as an administrator.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAdmins;

#[async_trait]
impl AdminPolicy for NoAdmins {
    async fn may_act(&self, _: &Account, _: &Account, _: AdminAction) -> bool {
        false
    }
}

/// An [`AdminPolicy`] from a fixed list of administrators' account ids: each
/// may reset and unlock any account that is not itself an administrator's,
/// and export its secret only once [`allow_export`](Self::allow_export) says
/// so.
/// A host whose roles live in its database implements [`AdminPolicy`]
/// instead, in a few lines.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use twofactor::{Account, AdminAction, AdminPolicy, Admins};
/// let admins = Admins::new(["support-7", "support-9"]);
/// let (s7, s9) = (Account::new("support-7", "s7@example.com"), Account::new("support-9", "s9@example.com"));
/// let alice = Account::new("user-42", "alice@example.com");
/// assert!(admins.may_act(&s7, &alice, AdminAction::Reset).await);
/// assert!(!admins.may_act(&alice, &s7, AdminAction::Reset).await);
/// assert!(!admins.may_act(&s7, &s9, AdminAction::Reset).await); // not one admin on another
/// assert!(admins.clone().over_admins().may_act(&s7, &s9, AdminAction::Unlock).await);
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Admins {
    ids: BTreeSet<String>,
    over_admins: bool,
    export: bool,
}

impl Admins {
    /// The accounts with these ids are administrators.
    pub fn new<I, S>(ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            ids: ids.into_iter().map(Into::into).collect(),
            over_admins: false,
            export: false,
        }
    }

    /// Lets administrators act on one another's accounts too (never on their
    /// own).
    pub fn over_admins(mut self) -> Self {
        self.over_admins = true;
        self
    }

    /// Lets administrators export an account's authenticator-app secret
    /// ([`admin_export_apps`](crate::TwoFactor::admin_export_apps)): for a
    /// move to another system. Off by default: it hands out secrets.
    pub fn allow_export(mut self) -> Self {
        self.export = true;
        self
    }
}

#[async_trait]
impl AdminPolicy for Admins {
    async fn may_act(&self, admin: &Account, target: &Account, action: AdminAction) -> bool {
        (action != AdminAction::Export || self.export)
            && self.ids.contains(admin.id())
            && admin.id() != target.id()
            && (self.over_admins || !self.ids.contains(target.id()))
    }
}
