//! Authenticator-app two-factor authentication, end to end, in a terminal:
//! set up (QR code and secret), confirm, log in, a replayed code refused, a
//! lockout, a second app added under a step-up, and disabling it again with
//! a step-up (the password alone is not enough).
//!
//! ```text
//! cargo run --example authenticator_app           # scan the QR with your phone
//! cargo run --example authenticator_app -- --demo # plays the phone itself
//! ```

mod support;

use std::time::Duration;

use support::{ask, step, Demo, Result};
use twofactor::secrecy::{ExposeSecret, SecretString};
use twofactor::testing::{Authenticator, ManualClock};
use twofactor::Keep;
use twofactor::{
    Account, Clock, Error, LoginStep, NewMethod, Reauth, Rejection, Setup, Status, SystemClock,
    Verdict,
};

/// Where codes come from: the person at the keyboard, or the demo's own
/// authenticator.
enum Phone {
    Person,
    Demo(Authenticator),
}

impl Phone {
    fn code(&self, prompt: &str, clock: &ManualClock) -> Result<String> {
        match self {
            Phone::Person => ask(prompt),
            Phone::Demo(app) => {
                let code = app.code_at(clock.now());
                println!("{prompt} {code}   (computed by the demo's authenticator)");
                Ok(code)
            }
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let run = Demo::from_args();
    let demo = run.unattended;
    let clock = run.clock.clone();
    let password = run.password.clone();
    let tf = run.builder().await?.build()?;
    let alice = Account::new("user-42", "alice@example.com");

    step("Account Security page");
    println!("Two-factor authentication: {:?}", tf.status(&alice).await?);

    step("Set up: re-enter the password");
    let Verdict::Accepted(Setup::App(setup)) =
        tf.begin_setup(&alice, NewMethod::App, &password).await?
    else {
        return Err("setup refused".into());
    };
    println!("{}", setup.qr_text.expose_secret());
    println!(
        "Scan the QR code, or type this key: {}",
        setup.secret.expose_secret()
    );
    println!("(valid until {})", setup.expires);
    let phone = if demo {
        Phone::Demo(Authenticator::from_setup(&setup)?)
    } else {
        Phone::Person
    };

    loop {
        let code = phone.code("Code from the app to confirm:", &clock)?;
        clock.set(SystemClock.now().max(clock.now()));
        match tf.confirm_setup(&alice, &code).await? {
            Verdict::Accepted(on) => {
                println!(
                    "Enabled with the {} at {}",
                    on.method.display_name(),
                    on.since
                );
                break;
            }
            Verdict::Rejected { attempts_left, .. } => {
                println!("Wrong code ({attempts_left} attempts left); try again.")
            }
            Verdict::LockedOut { until } | Verdict::Throttled { until } => {
                return Err(format!("locked until {until}").into())
            }
        }
    }
    println!("Two-factor authentication: {:?}", tf.status(&alice).await?);

    step("Log in, a little later: the password was right, now the code");
    if demo {
        clock.advance(Duration::from_secs(30));
    } else {
        println!("Wait for the app to show a new code.");
    }
    let LoginStep::Challenge { method, .. } = tf.begin_login(&alice, None).await? else {
        return Err("a code should be asked for".into());
    };
    let login_code = loop {
        let code = phone.code(
            &format!("Code from your {}:", method.display_name()),
            &clock,
        )?;
        clock.set(SystemClock.now().max(clock.now()));
        match tf.verify_login(&alice, &code, None).await? {
            Verdict::Accepted(_) => {
                println!("Logged in.");
                break code;
            }
            Verdict::Rejected {
                attempts_left,
                reason,
            } => {
                println!("Refused ({reason:?}, {attempts_left} attempts left): a new code, please.")
            }
            Verdict::LockedOut { until } | Verdict::Throttled { until } => {
                return Err(format!("locked until {until}").into())
            }
        }
    };

    step("Someone replays the same code");
    match tf.verify_login(&alice, &login_code, None).await? {
        Verdict::Rejected {
            attempts_left,
            reason: Rejection::Replayed,
        } => println!("Refused as a replay ({attempts_left} attempts left)."),
        other => return Err(format!("a replay must be refused, got {other:?}").into()),
    }

    step("Someone guesses codes");
    let until = loop {
        match tf.verify_login(&alice, "000000", None).await? {
            Verdict::Rejected { attempts_left, .. } => {
                println!("000000 refused, {attempts_left} attempts left")
            }
            Verdict::LockedOut { until } | Verdict::Throttled { until } => break until,
            Verdict::Accepted(_) => return Err("a guess was accepted".into()),
        }
    };
    println!("Locked out until {until}.");
    if demo {
        clock.advance(Duration::from_secs(30)); // a fresh code, not a replay
    }
    let code = phone.code("Even the right code is not looked at now:", &clock)?;
    println!("-> {:?}", tf.verify_login(&alice, &code, None).await?);

    step("The lockout passes (the demo moves its clock on)");
    clock.set(until);
    println!(
        "Now {}: {:?}",
        clock.now(),
        tf.begin_login(&alice, None).await?
    );

    step("A second app (a tablet): first a step-up, then the new app's code");
    if demo {
        clock.advance(Duration::from_secs(30)); // a fresh code
    }
    let code = phone.code("Code from your app, to confirm it is you:", &clock)?;
    let Verdict::Accepted(grant) = tf.step_up(&alice, &password, &code).await? else {
        return Err("step-up refused".into());
    };
    let Verdict::Accepted(Setup::App(second)) = tf
        .add_fallback(&alice, NewMethod::App.labelled("Tablet"), &grant)
        .await?
    else {
        return Err("adding an app refused".into());
    };
    println!("{}", second.qr_text.expose_secret());
    println!("Or type this secret: {}", second.secret.expose_secret());
    let tablet = match &phone {
        Phone::Person => Phone::Person,
        Phone::Demo(_) => Phone::Demo(Authenticator::from_secret_text(&second.secret)?),
    };
    let code = tablet.code("First code from the tablet:", &clock)?;
    println!("-> {:?}", tf.confirm_setup(&alice, &code).await?);
    for a in tf.authenticators(&alice).await? {
        println!("  {} ({}), added {}", a.label, a.method, a.created);
    }

    step("Disable: the password and a current code (a step-up)");
    match tf.disable(&alice, &password, Keep::Nothing).await {
        Err(Error::StepUpRequired) => {
            println!("The password alone is refused: someone with a stolen session and the password must not turn it off.")
        }
        other => return Err(format!("expected a step-up, got {other:?}").into()),
    }
    if demo {
        clock.advance(Duration::from_secs(30)); // a fresh code
    }
    let code = phone.code("Code from your app, to confirm:", &clock)?;
    clock.set(SystemClock.now().max(clock.now()));
    let wrong = SecretString::from("password123");
    println!(
        "With a wrong password -> {:?}",
        tf.disable(&alice, Reauth::with_code(&wrong, &code), Keep::Nothing)
            .await?
    );
    if !tf
        .disable(&alice, Reauth::with_code(&password, &code), Keep::Nothing)
        .await?
        .is_accepted()
    {
        return Err("disable refused".into());
    }
    let status = tf.status(&alice).await?;
    println!("Two-factor authentication: {status:?}");
    if status != Status::Off {
        return Err("2FA should be off".into());
    }
    println!("\nDone.");
    Ok(())
}
