//! The customer portal (examples/portal) in Debian's headless Chromium:
//! every seed flow as a customer and an administrator go through it.
//! Screenshots of each page land in `target/debug/e2e-screenshots/`.

mod browser;

use std::time::{SystemTime, UNIX_EPOCH};

use browser::{Browser, Portal, Result};
use twofactor::secrecy::SecretString;
use twofactor::testing::Authenticator;
use twofactor::Timestamp;

/// An authenticator app on the user's phone, which never shows the same
/// step twice in a row.
struct Phone {
    app: Authenticator,
    last: u64,
}

impl Phone {
    /// A code the server has not seen: this step or the next (the
    /// server's window takes both).
    fn code(&mut self) -> Result<String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() / 30;
        let step = now.max(self.last + 1);
        if step > now + 1 {
            return Err("no fresh code in this window".into());
        }
        self.last = step;
        Ok(self.app.code_at(Timestamp::from_unix_seconds(step * 30)))
    }

    fn wrong(&self) -> Result<String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        Ok(self.app.wrong_code_at(Timestamp::from_unix_seconds(now)))
    }
}

const ALICE: (&str, &str) = ("alice", "alice-password-1");
const BOB: (&str, &str) = ("bob", "bob-password-22");
const ADMIN: (&str, &str) = ("admin", "admin-password-333");

async fn sign_in(b: &Browser, portal: &Portal, (user, password): (&str, &str)) -> Result {
    b.goto(&format!("{}/login", portal.url)).await?;
    b.fill("#user", user).await?;
    b.fill("#password", password).await?;
    b.click("#sign-in").await
}

async fn sign_out(b: &Browser, portal: &Portal) -> Result {
    b.goto(&format!("{}/", portal.url)).await?;
    b.click("#sign-out").await?;
    assert_eq!(b.path().await?, "/login");
    Ok(())
}

/// Account Security → authenticator app → password → scan (the secret is
/// read from the page) → code → recovery codes.
async fn set_up_app(
    b: &mut Browser,
    portal: &Portal,
    password: &str,
) -> Result<(Phone, Vec<String>)> {
    b.goto(&format!("{}/2fa/security", portal.url)).await?;
    assert!(b.text_of("#state").await?.contains("Not enabled"));
    b.shot("security-off").await?;
    b.fill("#setup-password", password).await?;
    b.click("#begin").await?;
    assert!(b.has("img.qr").await?, "the QR code is shown");
    b.shot("setup-app").await?;
    let secret = b.text_of("#secret").await?;
    let app = Authenticator::from_secret_text(&SecretString::from(secret))?;
    let mut phone = Phone { app, last: 0 };
    b.fill("#code", &phone.code()?).await?;
    b.click("#confirm").await?;
    let codes = b.text_of("#recovery-codes").await?;
    let codes: Vec<String> = codes
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    assert_eq!(codes.len(), 10, "ten recovery codes are shown once");
    b.shot("recovery-codes").await?;
    b.click("#saved").await?;
    assert!(b.text_of("#state").await?.contains("Enabled"));
    Ok((phone, codes))
}

/// A fresh portal with bob signed in, an authenticator app set up, and a
/// step-up done with his first recovery code.
async fn bob_stepped_up(name: &str) -> Result<(Portal, Browser, Vec<String>)> {
    let portal = Portal::sqlite()?;
    let mut b = Browser::start(name).await?;
    sign_in(&b, &portal, BOB).await?;
    let (_phone, recovery) = set_up_app(&mut b, &portal, BOB.1).await?;
    step_up(&b, &portal, BOB.1, recovery.first().ok_or("no code")?).await?;
    Ok((portal, b, recovery))
}

/// Adds SMS (+44 7700 900123) as another way to sign in, with the code
/// read from the console; when the code was sent.
async fn add_sms(b: &mut Browser, portal: &Portal) -> Result<std::time::Instant> {
    b.choose("#method", "sms").await?;
    b.fill("#phone", "+44 7700 900123").await?;
    b.click("#add").await?;
    let sent = std::time::Instant::now();
    assert!(
        b.text().await?.contains("We sent a code to"),
        "{}",
        b.text().await?
    );
    b.shot("setup-sms").await?;
    b.fill("#code", &portal.last_code(true)?).await?;
    b.click("#confirm").await?;
    assert!(
        b.text().await?.contains("Text message"),
        "{}",
        b.text().await?
    );
    Ok(sent)
}

/// "Confirm it's you" with the password and a code.
async fn step_up(b: &Browser, portal: &Portal, password: &str, code: &str) -> Result {
    b.goto(&format!("{}/2fa/security", portal.url)).await?;
    b.fill("#step-up-password", password).await?;
    b.fill("#step-up-code", code).await?;
    b.click("#step-up-button").await?;
    assert!(
        b.has("#stepped-up").await?,
        "stepped up: {}",
        b.text().await?
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_login_wrong_replayed_remembered_revoked_locked_out() -> Result {
    let portal = Portal::sqlite()?;
    let mut b = Browser::start("app").await?;
    sign_in(&b, &portal, ALICE).await?;
    assert_eq!(
        b.path().await?,
        "/",
        "no second factor yet: the password alone signs in"
    );
    b.shot("home").await?;
    let (mut phone, recovery) = set_up_app(&mut b, &portal, ALICE.1).await?;
    sign_out(&b, &portal).await?;

    // The prompt: a wrong code, then the right one.
    sign_in(&b, &portal, ALICE).await?;
    assert_eq!(b.path().await?, "/2fa");
    b.goto(&format!("{}/", portal.url)).await?;
    assert_eq!(
        b.path().await?,
        "/2fa",
        "a half-signed-in user is sent back to the prompt"
    );
    b.shot("prompt").await?;
    b.fill("#code", &phone.wrong()?).await?;
    b.click("#verify").await?;
    let text = b.text().await?;
    assert!(
        text.contains("Wrong code.") && text.contains("tries left."),
        "{text}"
    );
    b.shot("prompt-wrong-code").await?;
    let code = phone.code()?;
    b.fill("#code", &code).await?;
    b.click("#verify").await?;
    assert_eq!(b.path().await?, "/");
    sign_out(&b, &portal).await?;

    // The same code again is refused.
    sign_in(&b, &portal, ALICE).await?;
    b.fill("#code", &code).await?;
    b.click("#verify").await?;
    assert!(
        b.text().await?.contains("That code was already used"),
        "{}",
        b.text().await?
    );
    b.shot("prompt-replayed").await?;

    // A recovery code, and "remember this device".
    b.fill("#code", &recovery[0]).await?;
    b.tick("#remember").await?;
    b.click("#verify").await?;
    assert_eq!(b.path().await?, "/");
    let cookies = b.client.get_all_cookies().await?;
    let device = cookies
        .iter()
        .find(|c| c.name().starts_with("twofactor_device_"))
        .ok_or("no device cookie")?;
    assert_eq!(device.http_only(), Some(true));
    sign_out(&b, &portal).await?;
    sign_in(&b, &portal, ALICE).await?;
    assert_eq!(
        b.path().await?,
        "/",
        "the remembered device skips the prompt"
    );

    // Revoked: asked again, and the stale cookie is cleared.
    step_up(&b, &portal, ALICE.1, &recovery[1]).await?;
    assert!(
        b.text().await?.contains("Chrome on Linux"),
        "the device is listed"
    );
    b.shot("security-on").await?;
    b.click("#forget-all").await?;
    assert!(b.text().await?.contains("No device is remembered."));
    // New recovery codes, shown once; the old ones stop working.
    b.click("#regenerate").await?;
    let fresh = b.text_of("#recovery-codes").await?;
    let fresh: Vec<&str> = fresh
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(fresh.len(), 10);
    assert!(!fresh.contains(&recovery[2].as_str()));
    let fresh_code = fresh[0].to_owned();
    sign_out(&b, &portal).await?;
    sign_in(&b, &portal, ALICE).await?;
    assert_eq!(
        b.path().await?,
        "/2fa",
        "after revoking, the prompt is back"
    );
    let cookies = b.client.get_all_cookies().await?;
    assert!(
        !cookies
            .iter()
            .any(|c| c.name().starts_with("twofactor_device_")),
        "the stale cookie is cleared"
    );
    b.fill("#code", &recovery[2]).await?;
    b.click("#verify").await?;
    assert!(
        b.text().await?.contains("Wrong code."),
        "an old recovery code is void"
    );
    b.fill("#code", &fresh_code).await?;
    b.click("#verify").await?;
    assert_eq!(b.path().await?, "/", "a new one signs in");
    sign_out(&b, &portal).await?;
    sign_in(&b, &portal, ALICE).await?;

    // Lockout.
    lock_out(&b, &phone).await?;
    b.shot("prompt-locked-out").await?;
    assert!(
        !b.has("#code").await?,
        "no code is asked for while locked out"
    );
    sign_in(&b, &portal, ALICE).await?;
    assert!(
        b.text().await?.contains("Too many attempts"),
        "signing in again does not lift it"
    );
    assert_eq!(b.path().await?, "/2fa");
    b.close().await
}

/// The service sends one code per account every 30 seconds: wait out the
/// gap since `sent`, as a user would.
async fn after_send_gap(sent: std::time::Instant) {
    let gap = std::time::Duration::from_secs(31);
    tokio::time::sleep(gap.saturating_sub(sent.elapsed())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_instead_then_off_keeping_settings_and_back_on() -> Result {
    let (portal, mut b, recovery) = bob_stepped_up("sms").await?;
    let sent = add_sms(&mut b, &portal).await?;
    sign_out(&b, &portal).await?;

    // "Send SMS code" at the prompt.
    sign_in(&b, &portal, BOB).await?;
    after_send_gap(sent).await;
    b.click("#send-sms").await?;
    let sent = std::time::Instant::now();
    assert!(
        b.text().await?.contains("We sent a code to"),
        "{}",
        b.text().await?
    );
    b.shot("prompt-sms-sent").await?;
    b.fill("#code", &portal.last_code(true)?).await?;
    b.click("#verify").await?;
    assert_eq!(b.path().await?, "/");

    // Off, keeping the settings: the password alone signs in.
    step_up(&b, &portal, BOB.1, &recovery[1]).await?;
    b.click("#disable-keep").await?;
    assert!(b.text_of("#state").await?.contains("Off (settings kept)"));
    b.shot("security-suspended").await?;
    sign_out(&b, &portal).await?;
    sign_in(&b, &portal, BOB).await?;
    assert_eq!(b.path().await?, "/");

    // Back on with the password and a texted code; no new scan.
    b.goto(&format!("{}/2fa/security", portal.url)).await?;
    after_send_gap(sent).await;
    b.click("#step-up-send-sms").await?;
    b.fill("#reenable-password", BOB.1).await?;
    b.fill("#reenable-code", &portal.last_code(true)?).await?;
    b.click("#reenable-button").await?;
    assert!(
        b.text_of("#state").await?.contains("Enabled"),
        "{}",
        b.text().await?
    );
    assert!(
        b.text().await?.contains("Text message"),
        "the kept number is back"
    );
    b.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switch_method_then_off_deleting_settings() -> Result {
    let (portal, b, recovery) = bob_stepped_up("switch").await?;
    // Switch from the app to email: the app protects the account until
    // the emailed code is confirmed.
    b.choose("#method", "email").await?;
    b.click("#switch").await?;
    assert!(
        b.text().await?.contains("We sent a code to"),
        "{}",
        b.text().await?
    );
    b.fill("#code", &portal.last_code(false)?).await?;
    b.click("#confirm").await?;
    assert!(
        b.text_of("#status").await?.contains("email"),
        "{}",
        b.text().await?
    );
    sign_out(&b, &portal).await?;
    sign_in(&b, &portal, BOB).await?;
    assert!(
        b.text().await?.contains("email"),
        "the prompt asks for the emailed code"
    );
    b.fill("#code", &portal.last_code(false)?).await?;
    b.click("#verify").await?;
    assert_eq!(b.path().await?, "/");

    // Off, deleting everything: a new setup would start from scratch.
    step_up(&b, &portal, BOB.1, &recovery[1]).await?;
    b.click("#disable-delete").await?;
    assert!(b.text_of("#state").await?.contains("Not enabled"));
    assert!(b.has("#turn-on").await?);
    sign_out(&b, &portal).await?;
    sign_in(&b, &portal, BOB).await?;
    assert_eq!(b.path().await?, "/");
    b.close().await
}

/// Wrong codes at the prompt until the account locks.
async fn lock_out(b: &Browser, phone: &Phone) -> Result {
    for _ in 0..10 {
        b.fill("#code", &phone.wrong()?).await?;
        b.click("#verify").await?;
        if b.text().await?.contains("Too many attempts") {
            return Ok(());
        }
    }
    Err("wrong codes did not lock the account".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_unlocks_then_deletes_a_setup_and_the_password_alone_signs_in() -> Result {
    let portal = Portal::sqlite()?;
    let mut b = Browser::start("admin").await?;
    sign_in(&b, &portal, ALICE).await?;
    let (alices_phone, _) = set_up_app(&mut b, &portal, ALICE.1).await?;
    b.goto(&format!("{}/2fa/admin", portal.url)).await?;
    assert!(
        b.text().await?.contains("Not permitted"),
        "a customer cannot open the admin page"
    );
    sign_out(&b, &portal).await?;
    // Someone guesses at alice's prompt until it locks.
    sign_in(&b, &portal, ALICE).await?;
    lock_out(&b, &alices_phone).await?;

    sign_in(&b, &portal, ADMIN).await?;
    let (mut admins_phone, recovery) = set_up_app(&mut b, &portal, ADMIN.1).await?;
    b.goto(&format!("{}/2fa/admin", portal.url)).await?;
    assert!(
        !b.has("#user-alice form").await?,
        "no action before the administrator's own step-up"
    );
    step_up(&b, &portal, ADMIN.1, &recovery[0]).await?;
    b.goto(&format!("{}/2fa/admin", portal.url)).await?;
    assert!(b.text_of("#user-alice").await?.contains("Enabled"));
    assert!(b.text_of("#user-bob").await?.contains("Not enabled"));
    b.shot("admin").await?;
    b.fill(
        "#user-alice input[name=reason]",
        "Locked out by someone else's guesses",
    )
    .await?;
    b.click("#user-alice button[value=unlock]").await?;
    assert!(
        b.text().await?.contains("The user can try again now."),
        "{}",
        b.text().await?
    );
    sign_in(&b, &portal, ALICE).await?;
    assert!(
        b.has("#code").await?,
        "unlocked: the prompt asks for a code again"
    );

    // Alice lost her phone: the administrator deletes her setup.
    sign_in(&b, &portal, ADMIN).await?;
    b.fill("#code", &admins_phone.code()?).await?;
    b.click("#verify").await?;
    step_up(&b, &portal, ADMIN.1, &recovery[1]).await?;
    b.goto(&format!("{}/2fa/admin", portal.url)).await?;
    b.fill(
        "#user-alice input[name=reason]",
        "Lost her phone; identity checked by phone call",
    )
    .await?;
    b.click("#user-alice button[value=reset]").await?;
    assert!(
        b.text().await?.contains("setup is deleted"),
        "{}",
        b.text().await?
    );
    assert!(b.text_of("#user-alice").await?.contains("Not enabled"));
    assert!(
        portal.printed().contains("--- email to alice@example.com"),
        "alice is told"
    );
    sign_out(&b, &portal).await?;

    sign_in(&b, &portal, ALICE).await?;
    assert_eq!(
        b.path().await?,
        "/",
        "after the reset the password alone signs in"
    );
    b.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_phone_number() -> Result {
    let (portal, mut b, _) = bob_stepped_up("number").await?;
    let sent = add_sms(&mut b, &portal).await?;
    assert!(
        b.text().await?.contains("+44 ••• ••• 0123"),
        "{}",
        b.text().await?
    );

    // The new number gets a code; only when it is confirmed does it
    // replace the old one, which is told.
    after_send_gap(sent).await;
    let to_old = |printed: String| printed.matches("--- SMS to +447700900123").count();
    let before = to_old(portal.printed());
    b.fill("#new-phone", "+44 7700 900456").await?;
    b.click("#change-phone").await?;
    assert!(
        b.text()
            .await?
            .contains("We sent a code to +44 ••• ••• 0456"),
        "{}",
        b.text().await?
    );
    b.shot("change-number").await?;
    b.goto(&format!("{}/2fa/security", portal.url)).await?;
    assert!(
        b.text().await?.contains("+44 ••• ••• 0123"),
        "the old number works until the new one is confirmed"
    );
    b.fill("#pending-code", &portal.last_code(true)?).await?;
    b.click("#confirm").await?;
    assert!(
        b.text().await?.contains("+44 ••• ••• 0456"),
        "{}",
        b.text().await?
    );
    assert_eq!(
        to_old(portal.printed()),
        before + 1,
        "the old number is told"
    );
    // Text messages first at login.
    b.click("#primary-sms").await?;
    assert!(
        b.text_of("#status").await?.contains("text message"),
        "{}",
        b.text().await?
    );
    b.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_security_key_through_chromiums_virtual_authenticator() -> Result {
    let portal = Portal::sqlite()?;
    let mut b = Browser::start("key").await?;
    b.virtual_authenticator().await?;
    sign_in(&b, &portal, ALICE).await?;
    b.goto(&format!("{}/2fa/security", portal.url)).await?;
    b.choose("#method", "key").await?;
    b.fill("#label", "Virtual key").await?;
    b.fill("#setup-password", ALICE.1).await?;
    b.click("#begin").await?;
    b.shot("setup-key").await?;
    b.click("#register-key").await?;
    assert!(
        b.has("#recovery-codes").await?,
        "{}\n{}",
        b.text().await?,
        portal.printed()
    );
    b.click("#saved").await?;
    assert!(
        b.text().await?.contains("Virtual key"),
        "{}",
        b.text().await?
    );
    sign_out(&b, &portal).await?;

    sign_in(&b, &portal, ALICE).await?;
    assert_eq!(b.path().await?, "/2fa");
    b.shot("prompt-key").await?;
    b.click("#use-key").await?;
    assert_eq!(b.path().await?, "/");
    b.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_database_are_one_site() -> Result {
    let url = std::env::var("TWOFACTOR_POSTGRES_URL").map_err(|_| {
        "TWOFACTOR_POSTGRES_URL is not set: run scripts/test, which starts PostgreSQL"
    })?;
    // A database of its own, so the demo users start without records.
    let name = format!("e2e_{}_{}", std::process::id(), browser::free_port()?);
    let admin = twofactor::PostgresStore::connect(&url, 1).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(admin.pool())
        .await?;
    let base = url.rsplit_once('/').map(|(base, _)| base).ok_or("url")?;
    let db_url = format!("{base}/{name}");
    let one = Portal::postgres(&db_url)?;
    let two = Portal::postgres(&db_url)?;
    let mut b = Browser::start("postgres").await?;

    sign_in(&b, &one, ALICE).await?;
    let (mut phone, recovery) = set_up_app(&mut b, &one, ALICE.1).await?;
    sign_out(&b, &one).await?;
    sign_in(&b, &one, ALICE).await?;
    let code = phone.code()?;
    b.fill("#code", &code).await?;
    b.click("#verify").await?;
    assert_eq!(b.path().await?, "/");

    // The other instance knows the code was used.
    sign_in(&b, &two, ALICE).await?;
    assert_eq!(
        b.path().await?,
        "/2fa",
        "the other instance asks for the second factor too"
    );
    b.fill("#code", &code).await?;
    b.click("#verify").await?;
    assert!(
        b.text().await?.contains("That code was already used"),
        "{}",
        b.text().await?
    );
    b.fill("#code", &recovery[0]).await?;
    b.click("#verify").await?;
    assert_eq!(b.path().await?, "/");
    b.close().await?;
    drop((one, two));
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(admin.pool())
    .await?;
    Ok(())
}
