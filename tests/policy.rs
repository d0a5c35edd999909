//! The builder refuses a policy outside its safe bounds; each bound can be
//! lifted only through a method whose name says it is dangerous.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::*;
use twofactor::{Error, FactorChange, Keep, Policy, Reauth};

/// A change to a policy, and the name the refusal must give.
type Case = (fn(&mut Policy), &'static str);

fn build(h: &Harness, policy: Policy) -> twofactor::Result<twofactor::TwoFactor> {
    h.builder()
        .store(h.store.clone())
        .passwords(h.passwords.clone())
        .policy(policy)
        .build()
}

#[test]
fn unsafe_values_are_refused_and_named() {
    let h = Harness::new();
    let cases: [Case; 8] = [
        (|p| p.totp.skew = 2, "dangerous_totp_skew"),
        (|p| p.totp.period = 90, "dangerous_totp_period"),
        (|p| p.totp.period = 10, "dangerous_totp_period"),
        (
            |p| p.codes.email_ttl = Duration::from_secs(3600),
            "dangerous_code_ttl",
        ),
        (
            |p| p.codes.sms_ttl = Duration::from_secs(11 * 60),
            "dangerous_code_ttl",
        ),
        (|p| p.lockout.threshold = 20, "dangerous_lockout_threshold"),
        (|p| p.lockout.daily_limit = 500, "dangerous_daily_failures"),
        (|p| p.codes.digits = 11, "codes.digits"),
    ];
    for (change, named) in cases {
        let mut p = policy();
        change(&mut p);
        match build(&h, p) {
            Err(Error::Config(why)) => assert!(why.contains(named), "{why}"),
            other => panic!("{named}: {other:?}"),
        }
    }
    let lifted = policy()
        .dangerous_totp_skew(2)
        .dangerous_totp_period(90)
        .dangerous_code_ttl(Duration::from_secs(3600), Duration::from_secs(3600))
        .dangerous_lockout_threshold(20)
        .dangerous_daily_failures(500);
    assert!(build(&h, lifted).is_ok());
}

/// A change allowed with the password alone is that change only; the rest
/// still need a step-up.
#[tokio::test]
async fn password_only_is_a_choice_per_change() {
    let h = Harness::new();
    let tf = h.instance_with(policy().dangerous_password_only(FactorChange::Disable));
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    assert!(matches!(
        tf.regenerate_recovery_codes(&alice, &password()).await,
        Err(Error::StepUpRequired)
    ));
    let wrong = secrecy::SecretString::from("nope");
    assert!(!tf
        .disable(&alice, &wrong, Keep::Settings)
        .await
        .unwrap()
        .is_accepted());
    assert!(tf
        .disable(&alice, Reauth::password(&password()), Keep::Settings)
        .await
        .unwrap()
        .is_accepted());
    let _ = app;
}

/// New recovery codes allowed with the password alone are made and shown
/// (the codes are worked out before the decision, as with a step-up),
/// and replace the old ones.
#[tokio::test]
async fn recovery_codes_allowed_with_the_password_alone_are_made() {
    let h = Harness::new();
    let tf =
        h.instance_with(policy().dangerous_password_only(FactorChange::RegenerateRecoveryCodes));
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let twofactor::Verdict::Accepted(new) = tf
        .regenerate_recovery_codes(&alice, &password())
        .await
        .unwrap()
    else {
        panic!("refused")
    };
    assert_eq!(new.codes.codes().len(), 10);
    let code = secrecy::ExposeSecret::expose_secret(&new.codes.codes()[3]).to_owned();
    assert!(logs_in(&tf, &alice, &code).await);
    assert!(!logs_in(&tf, &alice, &code).await);
    let _ = app;
}
