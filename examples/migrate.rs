//! Moving users who already have an authenticator app from another system:
//! the old system's `otpauth://` URI (here an 80-bit secret, as many older
//! apps were given) is imported, and the user's app keeps working, with no
//! new scan. Then support exports it again, as a move away would, with
//! their own second factor and a reason.
//!
//! ```text
//! cargo run --example migrate           # type your app's codes yourself
//! cargo run --example migrate -- --demo # plays the phone itself
//! ```

mod support;

use support::{ask, step, Demo, Result};
use twofactor::secrecy::{ExposeSecret, SecretString};
use twofactor::testing::Authenticator;
use twofactor::{
    Account, Admins, Clock, ImportedApp, LoginStep, NewMethod, Setup, Status, Verdict,
};

/// The old system's row for user-42, as its export gave it.
const OLD_URI: &str =
    "otpauth://totp/Old%20Portal:jane?secret=JBSWY3DPEHPK3PXP&issuer=Old%20Portal";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let demo = Demo::from_args();
    let tf = demo
        .builder()
        .await?
        .admins(Admins::new(["support-7"]).allow_export())
        .build()?;
    let jane = Account::new("user-42", "jane@example.com");
    let phone = Authenticator::from_uri(OLD_URI)?;

    step("The migration imports Jane's app from the old system");
    let last_step = demo.clock.now().unix_seconds() / 30 - 1;
    let app = ImportedApp::from_uri(&SecretString::from(OLD_URI))?.last_used_step(last_step);
    let changed = tf.import_app(&jane, &app).await?;
    println!(
        "Imported; Jane's sessions end (new stamp {}).",
        changed.stamp
    );
    if let Status::On { methods, .. } = tf.status(&jane).await? {
        println!("Jane's status: on, with {methods:?}.");
    }

    step("Jane logs in to the new portal with the same app");
    demo.wait(30);
    let LoginStep::Challenge { method, .. } = tf.begin_login(&jane, None).await? else {
        return Err("no challenge".into());
    };
    println!("Asked for a code from her {}.", method.display_name());
    let code = if demo.unattended {
        let code = phone.code_at(demo.clock.now());
        println!("Code from the app: {code}   (computed by the demo)");
        code
    } else {
        println!("(Add {OLD_URI} to your app to play Jane.)");
        ask("Code from the app:")?
    };
    match tf.verify_login(&jane, &code, None).await? {
        Verdict::Accepted(_) => println!("Jane is in: nothing to scan again."),
        other => return Err(format!("refused: {other:?}").into()),
    }

    step("Support exports Jane's app, for a move away");
    let support = Account::new("support-7", "support@example.com");
    let Verdict::Accepted(Setup::App(setup)) = tf
        .begin_setup(&support, NewMethod::App, &demo.password)
        .await?
    else {
        return Err("setup refused".into());
    };
    let support_phone = Authenticator::from_setup(&setup)?;
    let code = support_phone.code_at(demo.clock.now());
    if !tf.confirm_setup(&support, &code).await?.is_accepted() {
        return Err("support's setup refused".into());
    }
    demo.wait(30);
    let code = support_phone.code_at(demo.clock.now());
    let grant = tf
        .step_up(&support, &demo.password, &code)
        .await?
        .accepted()
        .ok_or("support's step-up refused")?;
    let apps = tf
        .admin_export_apps(
            &support,
            &grant,
            &jane,
            "moving to the new SSO, ticket 4711",
        )
        .await?
        .accepted()
        .ok_or("export refused")?;
    let app = apps.first().ok_or("no app exported")?;
    let same = Authenticator::from_uri(app.uri.expose_secret())?;
    println!(
        "Exported \"{}\" (audited with who and why); the same secret: {}.",
        app.label,
        same.secret() == phone.secret()
    );
    Ok(())
}
