//! What the load tools (`load`, `store_bench`) share: a password check
//! that lets everyone in, a policy that never locks, accounts with an app
//! each, a wrong code per account worked out once a time step (so that the
//! tool's own HMAC is not measured), and percentiles.
#![allow(unreachable_pub)]

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use twofactor::secrecy::SecretString;
use twofactor::testing::Authenticator;
use twofactor::{Account, Clock, NewMethod, PasswordCheck, Policy, PortError, Setup, SystemClock};
use twofactor::{TwoFactor, Verdict};

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Every password is right: only the second factor is measured.
pub struct Anyone;

#[async_trait]
impl PasswordCheck for Anyone {
    async fn verify(&self, _: &Account, _: &SecretString) -> std::result::Result<bool, PortError> {
        Ok(true)
    }
}

/// The default policy with lockout out of reach, and recovery codes
/// hashed cheaply (set-up speed; not what is measured).
pub fn unlocked_policy() -> Policy {
    let mut policy = Policy::default()
        .dangerous_lockout_threshold(u32::MAX)
        .dangerous_daily_failures(u32::MAX);
    policy.recovery.memory_kib = 64;
    policy.recovery.passes = 1;
    policy
}

/// An account with its app, and the code it guesses.
pub struct Guessed {
    pub account: Account,
    app: Authenticator,
    /// `"0"` (refused on its length before any unsealing or HMAC) instead
    /// of a well-formed wrong code.
    malformed: bool,
    wrong: Mutex<(u64, String)>,
}

impl Guessed {
    /// Six digits that are none of the window's codes now (or `"0"`).
    pub fn wrong_code(&self) -> String {
        if self.malformed {
            return "0".to_owned();
        }
        let now = SystemClock.now();
        let step = now.unix_seconds() / 30;
        let Ok(mut cached) = self.wrong.lock() else {
            return self.app.wrong_code_at(now);
        };
        if cached.0 != step || cached.1.is_empty() {
            *cached = (step, self.app.wrong_code_at(now));
        }
        cached.1.clone()
    }
}

/// `n` accounts named `{prefix}-{pid}-{i}`, each with an app set up on `tf`.
pub async fn accounts(
    tf: &TwoFactor,
    prefix: &str,
    n: usize,
    malformed: bool,
) -> Result<Vec<Guessed>> {
    let run = std::process::id();
    let mut accounts = Vec::with_capacity(n);
    for i in 0..n {
        let account = Account::new(format!("{prefix}-{run}-{i}"), "load@example.com");
        let pw = SecretString::from("x");
        let Verdict::Accepted(Setup::App(s)) =
            tf.begin_setup(&account, NewMethod::App, &pw).await?
        else {
            return Err("setup refused".into());
        };
        let app = Authenticator::from_setup(&s)?;
        let code = app.code_at(SystemClock.now());
        if !tf.confirm_setup(&account, &code).await?.is_accepted() {
            return Err("confirm refused".into());
        }
        accounts.push(Guessed {
            account,
            app,
            malformed,
            wrong: Mutex::new((0, String::new())),
        });
    }
    Ok(accounts)
}

/// The `p` quantile (0 to 1) of `sorted` latencies.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(i).copied().unwrap_or_default()
}
