//! Requirements to use two-factor authentication, from fixed settings.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::model::account::Account;
use crate::model::requirement::Requirement;
use crate::ports::RequirementPolicy;

/// The same requirement for everyone.
#[async_trait]
impl RequirementPolicy for Requirement {
    async fn requirement(&self, _: &Account) -> Requirement {
        *self
    }
}

/// A [`RequirementPolicy`] from fixed settings: one requirement for
/// everyone, and stricter ones for the accounts named. A host whose roles
/// live in its database implements [`RequirementPolicy`] instead.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use twofactor::{Account, Requirement, RequirementPolicy, Requirements, Strength, Timestamp};
/// let from_january = Timestamp::from_unix_seconds(1_767_225_600);
/// let rules = Requirements::everyone(Requirement::by(from_january))
///     .account("root", Requirement::now().with_strength(Strength::App));
/// let root = Account::new("root", "root@example.com");
/// assert_eq!(rules.requirement(&root).await.deadline(), None); // now: the stricter
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Requirements {
    everyone: Requirement,
    accounts: BTreeMap<String, Requirement>,
}

impl Requirements {
    /// Nobody is required, until accounts are named.
    pub fn new() -> Self {
        Self::default()
    }

    /// `requirement` for every account.
    pub fn everyone(requirement: Requirement) -> Self {
        Self {
            everyone: requirement,
            accounts: BTreeMap::new(),
        }
    }

    /// `requirement` for the account `id` as well (the stricter of it and
    /// everyone's applies).
    pub fn account(mut self, id: impl Into<String>, requirement: Requirement) -> Self {
        self.accounts.insert(id.into(), requirement);
        self
    }
}

#[async_trait]
impl RequirementPolicy for Requirements {
    async fn requirement(&self, account: &Account) -> Requirement {
        match self.accounts.get(account.id()) {
            Some(own) => self.everyone.stricter(*own),
            None => self.everyone,
        }
    }
}
