//! The remembered-device cookie: one per account, so that several accounts
//! can be remembered in one browser.

use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use super::Web;
use crate::model::account::Account;
use crate::model::verdict::RememberedDevice;

/// The cookie's name for `account`: a prefix and 16 hex digits of a hash of
/// the account id (a name cannot hold every id, and should not show it).
pub(crate) fn name(account: &Account) -> String {
    let digest = Sha256::digest(account.id().as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("twofactor_device_{hex}")
}

/// Adds the cookie for a device just remembered.
pub(crate) fn set(
    jar: CookieJar,
    web: &Web,
    account: &Account,
    device: &RememberedDevice,
    now: u64,
) -> CookieJar {
    let seconds = device.expires.unix_seconds().saturating_sub(now);
    let cookie = Cookie::build((name(account), device.token.expose_secret().to_owned()))
        .path("/")
        .http_only(true)
        .secure(web.inner.secure)
        .same_site(SameSite::Lax)
        .max_age(time_seconds(seconds))
        .build();
    jar.add(cookie)
}

/// Removes the cookie: its token is no longer remembered.
pub(crate) fn clear(jar: CookieJar, web: &Web, account: &Account) -> CookieJar {
    let cookie = Cookie::build((name(account), ""))
        .path("/")
        .http_only(true)
        .secure(web.inner.secure)
        .same_site(SameSite::Lax)
        .build();
    jar.remove(cookie)
}

fn time_seconds(seconds: u64) -> cookie::time::Duration {
    cookie::time::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX))
}
