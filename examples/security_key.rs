//! A security key as the second factor: registered, used at login, and
//! used to step up, with a software authenticator standing in for the
//! browser and the key (webauthn-authenticator-rs's `SoftToken`). In a web
//! page the same JSON goes to `navigator.credentials.create` and `.get`,
//! and their answers come back.
//!
//! ```text
//! cargo run --features webauthn --example security_key -- --demo
//! ```
//!
//! It always plays the key itself (a real one needs a browser); without
//! `--demo` it pauses between steps.

mod support;

use support::{ask, step, Demo, Result};
use twofactor::webauthn_rs::prelude::Url;
use twofactor::{Account, Attestation, LoginStep, NewMethod, SecurityKeys, Setup, Verdict};
use webauthn_authenticator_rs::softtoken::SoftToken;
use webauthn_authenticator_rs::WebauthnAuthenticator;

const RP_ID: &str = "portal.example.com";
const ORIGIN: &str = "https://portal.example.com";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let demo = Demo::from_args();
    let keys = SecurityKeys::new(RP_ID, ORIGIN, Attestation::AnyAuthenticator)?;
    let tf = demo.builder().await?.security_keys(keys).build()?;
    let jane = Account::new("user-42", "jane@example.com");
    let origin = Url::parse(ORIGIN)?;
    let (token, _ca) = SoftToken::new(true).map_err(|e| format!("{e:?}"))?;
    let mut key = WebauthnAuthenticator::new(token);
    let pause = |what: &str| -> Result<()> {
        if !demo.unattended {
            ask(&format!("{what} (Enter)"))?;
        }
        Ok(())
    };

    step("Jane registers her security key (after typing her password)");
    let Verdict::Accepted(Setup::Key(setup)) = tf
        .begin_setup(&jane, NewMethod::Key.labelled("YubiKey"), &demo.password)
        .await?
    else {
        return Err("setup refused".into());
    };
    let options = serde_json::to_string(setup.options())?;
    println!(
        "navigator.credentials.create gets {} bytes of JSON;",
        options.len()
    );
    pause("the key is touched")?;
    let created = key
        .do_registration(origin.clone(), setup.options().clone())
        .map_err(|e| format!("{e:?}"))?;
    let Verdict::Accepted(enabled) = tf.confirm_setup(&jane, &created).await? else {
        return Err("the key's registration was refused".into());
    };
    println!(
        "Two-factor authentication is on with her {}; {} recovery codes to keep.",
        enabled.method,
        enabled.recovery_codes.map_or(0, |c| c.codes().len())
    );

    step("Jane logs in: password, then the key");
    demo.wait(60);
    let LoginStep::Challenge {
        method,
        key: Some(request),
        ..
    } = tf.begin_login(&jane, None).await?
    else {
        return Err("no key challenge".into());
    };
    println!("Asked for her {method}; navigator.credentials.get gets the challenge.");
    pause("the key is touched")?;
    let signed = key
        .do_authentication(origin.clone(), request.options().clone())
        .map_err(|e| format!("{e:?}"))?;
    let verdict = tf.verify_login(&jane, &signed, None).await?;
    println!("Logged in: {}.", verdict.is_accepted());
    let again = tf.verify_login(&jane, &signed, None).await?;
    println!("The same answer sent again: {again:?}.");

    step("Jane adds an authenticator app: her key confirms it is her");
    let request = tf.begin_key_step_up(&jane).await?;
    pause("the key is touched")?;
    let signed = key
        .do_authentication(origin, request.options().clone())
        .map_err(|e| format!("{e:?}"))?;
    let Verdict::Accepted(grant) = tf.step_up(&jane, &demo.password, &signed).await? else {
        return Err("step-up refused".into());
    };
    let begun = tf
        .add_fallback(&jane, NewMethod::App.labelled("Pixel 8"), &grant)
        .await?;
    println!("Adding an app under the step-up: {}.", begun.is_accepted());
    for a in tf.authenticators(&jane).await? {
        println!(
            "  {:<14} {:<10} {} (added {})",
            a.id, a.label, a.method, a.created
        );
    }
    Ok(())
}
