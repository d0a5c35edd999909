//! Two-factor authentication by emailed codes: setup with a wrong code and a
//! resend, login, a step-up before an SMS fallback is added ("Send SMS
//! code"), and disabling it.
//!
//! ```text
//! cargo run --example email_code           # type the codes the console shows
//! cargo run --example email_code -- --demo # reads them itself
//! ```

mod support;

use support::{step, Demo, Result};
use twofactor::Keep;
use twofactor::{
    Account, Error, LoginStep, Method, NewMethod, PhoneNumber, Setup, Status, Verdict,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let demo = Demo::from_args();
    let tf = demo.builder().await?.build()?;
    let alice = Account::new("user-42", "alice@example.com");

    step("Set up: email codes, after the password");
    let Verdict::Accepted(Setup::Code(setup)) = tf
        .begin_setup(&alice, NewMethod::Email, &demo.password)
        .await?
    else {
        return Err("setup refused".into());
    };
    println!("A code was sent to {}.", setup.sent.to);

    step("A mistyped code");
    println!("000000 -> {:?}", tf.confirm_setup(&alice, "000000").await?);

    step("'Send it again' at once");
    match tf.resend_setup_code(&alice).await {
        Err(Error::RateLimited { retry_after }) => {
            println!("Refused: wait {} s.", retry_after.as_secs())
        }
        other => return Err(format!("expected a wait, got {other:?}").into()),
    }
    demo.wait(30);
    let sent = tf.resend_setup_code(&alice).await?;
    println!(
        "A new code was sent to {}; the first one no longer works.",
        sent.to
    );
    loop {
        let code = demo.sent_code("Code from the email:")?;
        match tf.confirm_setup(&alice, &code).await? {
            Verdict::Accepted(on) => {
                println!("Enabled: {} codes.", on.method.display_name());
                break;
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

    step("Log in: the password was right, a code goes out");
    demo.wait(60);
    let LoginStep::Challenge {
        sent: Some(sent), ..
    } = tf.begin_login(&alice, None).await?
    else {
        return Err("a code should be sent".into());
    };
    println!("We emailed a code to {}.", sent.to);
    let code = demo.sent_code("Code:")?;
    println!("-> {:?}", tf.verify_login(&alice, &code, None).await?);

    step("Add a fallback: text messages to a mobile number, after a step-up");
    demo.wait(30);
    let number = PhoneNumber::parse("+60 12-345 1688")?;
    let grant = demo.step_up_by(&tf, &alice, Method::Email).await?;
    let Verdict::Accepted(Setup::Code(setup)) = tf
        .add_fallback(&alice, NewMethod::Sms(number), &grant)
        .await?
    else {
        return Err("adding the fallback was refused".into());
    };
    println!("A code was texted to {}.", setup.sent.to);
    let code = demo.sent_code("Code from the text message:")?;
    if !tf.confirm_setup(&alice, &code).await?.is_accepted() {
        return Err("the fallback was not confirmed".into());
    }
    println!("Status: {:?}", tf.status(&alice).await?);

    step("Log in, with no access to the mailbox: 'Send SMS code'");
    demo.wait(3600); // at most five codes an hour: this run has sent five

    let LoginStep::Challenge { alternatives, .. } = tf.begin_login(&alice, None).await? else {
        return Err("a code should be asked for".into());
    };
    println!("Other ways offered: {alternatives:?}");
    demo.wait(30);
    let sent = tf.send_code(&alice, Method::Sms).await?;
    println!("We texted a code to {}.", sent.to);
    let code = demo.sent_code("Code from the text message:")?;
    println!("-> {:?}", tf.verify_login(&alice, &code, None).await?);

    step("Disable, after a step-up (the grant from before has expired)");
    demo.wait(30);
    let grant = demo.step_up_by(&tf, &alice, Method::Sms).await?;
    if !tf
        .disable(&alice, &grant, Keep::Nothing)
        .await?
        .is_accepted()
    {
        return Err("disable refused".into());
    }
    let status = tf.status(&alice).await?;
    println!("Status: {status:?}");
    if status != Status::Off {
        return Err("2FA should be off".into());
    }
    println!("\nDone.");
    Ok(())
}
