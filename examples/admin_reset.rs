//! A user loses the phone with the authenticator app: support lists the
//! accounts, deletes the user's setup, the user logs in with the password
//! alone, and sets two-factor authentication up again on the new phone.
//!
//! ```text
//! cargo run --example admin_reset           # type the new app's codes yourself
//! cargo run --example admin_reset -- --demo # plays the phones itself
//! ```

mod support;

use support::{ask, step, Demo, Result};
use twofactor::methods::totp::Totp;
use twofactor::secrecy::ExposeSecret;
use twofactor::{
    Account, Admin, Algorithm, Clock, LoginStep, NewMethod, Setup, Status, TwoFactor, Verdict,
};

/// Sets the app up for `account`; the secret, for the demo to play the
/// phone with.
async fn set_up_app(demo: &Demo, tf: &TwoFactor, account: &Account) -> Result<Vec<u8>> {
    let Verdict::Accepted(Setup::App(setup)) = tf
        .begin_setup(account, NewMethod::App, &demo.password)
        .await?
    else {
        return Err("setup refused".into());
    };
    println!("{}", setup.qr_text.expose_secret());
    println!("Key: {}", setup.secret.expose_secret());
    let plain: String = setup.secret.expose_secret().split(' ').collect();
    let secret = data_encoding::BASE32_NOPAD.decode(plain.as_bytes())?;
    loop {
        let code = if demo.unattended {
            let now = demo.clock.now().unix_seconds();
            let code = Totp::new(Algorithm::Sha1, 6, 30)
                .code_at(&secret, now)
                .to_string();
            println!("Code from the app: {code}   (computed by the demo)");
            code
        } else {
            ask("Code from the app:")?
        };
        match tf.confirm_setup(account, &code).await? {
            Verdict::Accepted(on) => {
                if let Some(codes) = on.recovery_codes {
                    println!("Recovery codes, shown once:");
                    for c in codes.codes() {
                        println!("  {}", c.expose_secret());
                    }
                }
                return Ok(secret);
            }
            Verdict::Rejected { attempts_left } => println!("Wrong ({attempts_left} left)."),
            Verdict::LockedOut { until } => return Err(format!("locked until {until}").into()),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let demo = Demo::from_args();
    let tf = demo.builder().await?.build()?;
    let alice = Account::new("user-42", "alice@example.com");

    step("Alice sets up an authenticator app on her old phone");
    let _old_phone = set_up_app(&demo, &tf, &alice).await?;

    step("Alice lost the phone, and her recovery codes with it; she calls support");
    demo.wait(3600);
    println!(
        "At login she is asked for: {:?}",
        tf.begin_login(&alice, None).await?
    );

    step("Support opens Administration and Access");
    let page = tf.admin_list(None, 50).await?;
    for a in &page.accounts {
        println!("  {:<10} {:?} {:?}", a.user, a.state, a.methods);
    }

    step("Support deletes the 2FA setup, after checking who is calling");
    tf.admin_reset(
        &Admin::new("support-7"),
        &alice,
        "lost phone, ID checked, ticket 4711",
    )
    .await?;
    println!("Alice's status: {:?}", tf.status(&alice).await?);

    step("Alice logs in with her password alone");
    let next = tf.begin_login(&alice, None).await?;
    println!("After the password: {next:?}");
    if next != LoginStep::NotRequired {
        return Err("the password alone should log in now".into());
    }

    step("Alice sets two-factor authentication up again, on the new phone");
    demo.wait(60);
    let new_phone = set_up_app(&demo, &tf, &alice).await?;
    demo.wait(30);
    let code = if demo.unattended {
        Totp::new(Algorithm::Sha1, 6, 30)
            .code_at(&new_phone, demo.clock.now().unix_seconds())
            .to_string()
    } else {
        ask("Log in: code from the new phone:")?
    };
    println!(
        "Login with the new phone -> {:?}",
        tf.verify_login(&alice, &code, None).await?
    );
    if !matches!(tf.status(&alice).await?, Status::On { .. }) {
        return Err("2FA should be on again".into());
    }
    println!("\nDone.");
    Ok(())
}
