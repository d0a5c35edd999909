//! A user loses the phone with the authenticator app: support lists the
//! accounts and, proving it is them with their own second factor, deletes
//! the user's setup; the user logs in with the password alone, and sets
//! two-factor authentication up again on the new phone.
//!
//! ```text
//! cargo run --example admin_reset           # type the new app's codes yourself
//! cargo run --example admin_reset -- --demo # plays the phones itself
//! ```

mod support;

use support::{ask, step, Demo, Result};
use twofactor::secrecy::ExposeSecret;
use twofactor::testing::Authenticator;
use twofactor::{Account, Clock, Error, LoginStep, NewMethod, Setup, Status, TwoFactor, Verdict};

/// Sets the app up for `account`; the app, for the demo to play the
/// phone with.
async fn set_up_app(demo: &Demo, tf: &TwoFactor, account: &Account) -> Result<Authenticator> {
    let Verdict::Accepted(Setup::App(setup)) = tf
        .begin_setup(account, NewMethod::App, &demo.password)
        .await?
    else {
        return Err("setup refused".into());
    };
    println!("{}", setup.qr_text.expose_secret());
    println!("Key: {}", setup.secret.expose_secret());
    let phone = Authenticator::from_setup(&setup)?;
    loop {
        let code = app_code(demo, &phone, "Code from the app:")?;
        match tf.confirm_setup(account, &code).await? {
            Verdict::Accepted(on) => {
                if let Some(codes) = on.recovery_codes {
                    println!("Recovery codes, shown once:");
                    for c in codes.codes() {
                        println!("  {}", c.expose_secret());
                    }
                }
                return Ok(phone);
            }
            Verdict::Rejected {
                attempts_left,
                reason,
            } => println!("Refused: {reason:?} ({attempts_left} left)."),
            Verdict::LockedOut { until } | Verdict::Throttled { until } => {
                return Err(format!("locked until {until}").into())
            }
        }
    }
}

/// A code from `phone`'s app, now: typed by the person, or computed by the
/// demo.
fn app_code(demo: &Demo, phone: &Authenticator, prompt: &str) -> Result<String> {
    if demo.unattended {
        let code = phone.code_at(demo.clock.now());
        println!("{prompt} {code}   (computed by the demo)");
        Ok(code)
    } else {
        ask(prompt)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let demo = Demo::from_args();
    let tf = demo.builder().await?.build()?;
    let alice = Account::new("user-42", "alice@example.com");
    let support = Account::new("support-7", "support@acme.example");

    step("Support (an administrator) has an authenticator app of their own");
    let support_phone = set_up_app(&demo, &tf, &support).await?;

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
    let reason = "lost phone, ID checked, ticket 4711";
    match tf
        .admin_reset(&support, &demo.password, &alice, reason)
        .await
    {
        Err(Error::StepUpRequired) => println!("The password alone is refused: a code too."),
        other => return Err(format!("expected a step-up, got {other:?}").into()),
    }
    demo.wait(30);
    let code = app_code(&demo, &support_phone, "Support's own code:")?;
    let grant = match tf.step_up(&support, &demo.password, &code).await? {
        Verdict::Accepted(grant) => grant,
        other => return Err(format!("step-up refused: {other:?}").into()),
    };
    if !tf
        .admin_reset(&support, &grant, &alice, reason)
        .await?
        .is_accepted()
    {
        return Err("the reset was refused".into());
    }
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
    let code = app_code(&demo, &new_phone, "Log in: code from the new phone:")?;
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
