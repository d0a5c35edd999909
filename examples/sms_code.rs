//! Two-factor authentication by texted codes: the number checked, setup,
//! login, a wrong code, the send limits, a step-up, an email fallback, a new
//! number verified before it replaces the old, and disabling it.
//!
//! ```text
//! cargo run --example sms_code           # type the codes the console shows
//! cargo run --example sms_code -- --demo # reads them itself
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

    step("Set up: the mobile number");
    for junk in ["012 345 1688", "+60 12 345 1688 ext. 9"] {
        println!("{junk:?} -> {:?}", PhoneNumber::parse(junk).map(|_| ()));
    }
    let number = PhoneNumber::parse("+60 12-345 1688")?;
    let Verdict::Accepted(Setup::Code(setup)) = tf
        .begin_setup(&alice, NewMethod::Sms(number), &demo.password)
        .await?
    else {
        return Err("setup refused".into());
    };
    println!(
        "A code was texted to {}, valid until {}.",
        setup.sent.to, setup.sent.expires
    );
    let code = demo.sent_code("Code from the text message:")?;
    if !tf.confirm_setup(&alice, &code).await?.is_accepted() {
        return Err("setup not confirmed".into());
    }
    println!("Status: {:?}", tf.status(&alice).await?);

    step("Log in: a code is texted");
    demo.wait(60);
    let LoginStep::Challenge {
        sent: Some(sent), ..
    } = tf.begin_login(&alice, None).await?
    else {
        return Err("a code should be sent".into());
    };
    println!("We texted a code to {}.", sent.to);
    println!(
        "A wrong code: 123 456 -> {:?}",
        tf.verify_login(&alice, "123 456", None).await?
    );
    let code = demo.sent_code("Code:")?;
    println!("-> {:?}", tf.verify_login(&alice, &code, None).await?);

    step("Someone keeps pressing 'Send code again'");
    for attempt in 1..=6 {
        match tf.send_code(&alice, Method::Sms).await {
            Ok(sent) => println!("#{attempt}: sent to {}", sent.to),
            Err(Error::RateLimited { retry_after }) => {
                println!(
                    "#{attempt}: refused, nothing sent; wait {} s",
                    retry_after.as_secs()
                )
            }
            Err(e) => return Err(e.into()),
        }
        demo.wait(30);
    }

    step("Add a fallback: email codes, after a step-up");
    demo.wait(3600);
    match tf
        .add_fallback(&alice, NewMethod::Email, &demo.password)
        .await
    {
        Err(Error::StepUpRequired) => println!("The password alone is refused: a code too."),
        other => return Err(format!("expected a step-up, got {other:?}").into()),
    }
    let grant = demo.step_up_by(&tf, &alice, Method::Sms).await?;
    let Verdict::Accepted(Setup::Code(setup)) =
        tf.add_fallback(&alice, NewMethod::Email, &grant).await?
    else {
        return Err("adding the fallback was refused".into());
    };
    println!("A code was emailed to {}.", setup.sent.to);
    let code = demo.sent_code("Code from the email:")?;
    if !tf.confirm_setup(&alice, &code).await?.is_accepted() {
        return Err("fallback not confirmed".into());
    }

    step("Log in without the phone: 'Send an email instead'");
    demo.wait(60);
    let _ = tf.begin_login(&alice, None).await?; // texts a code, which is lost with the phone
    demo.wait(30);
    let sent = tf.send_code(&alice, Method::Email).await?;
    println!("We emailed a code to {}.", sent.to);
    let code = demo.sent_code("Code from the email:")?;
    println!("-> {:?}", tf.verify_login(&alice, &code, None).await?);

    step("A new phone number: verified before it replaces the old");
    demo.wait(30);
    let new_number = PhoneNumber::parse("+1 415 555 0100")?;
    let Verdict::Accepted(Setup::Code(setup)) = tf.change_phone(&alice, new_number, &grant).await?
    else {
        return Err("the change was refused".into());
    };
    println!("A code was texted to the new number {}.", setup.sent.to);
    if let Status::On { phone, .. } = tf.status(&alice).await? {
        println!(
            "Until it is confirmed, codes still go to {}",
            phone.unwrap_or_default()
        );
    }
    let code = demo.sent_code("Code from the new phone:")?;
    if !tf.confirm_setup(&alice, &code).await?.is_accepted() {
        return Err("the new number was not confirmed".into());
    }
    println!("Status: {:?}", tf.status(&alice).await?);

    step("Disable, within the same step-up's ten minutes");
    if !tf
        .disable(&alice, &grant, Keep::Nothing)
        .await?
        .is_accepted()
    {
        return Err("disable refused".into());
    }
    if tf.status(&alice).await? != Status::Off {
        return Err("2FA should be off".into());
    }
    println!("Status: Off\n\nDone.");
    Ok(())
}
