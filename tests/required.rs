//! Requiring two-factor authentication, with a grace period driven by the
//! clock, and what a requirement refuses.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::{Arc, Mutex};

use secrecy::ExposeSecret;

use common::*;
use twofactor::{
    async_trait, Account, Error, Keep, LoginStep, Method, NewMethod, PhoneNumber, Policy,
    Requirement, RequirementPolicy, Requirements, Strength, Timestamp, TwoFactor, Verdict,
    WhileRequired,
};

const NUMBER: &str = "+60 12-345 1688";

/// The host's roles, which it may change at any moment.
#[derive(Clone)]
struct Roles(Arc<Mutex<Requirement>>);

#[async_trait]
impl RequirementPolicy for Roles {
    async fn requirement(&self, _: &Account) -> Requirement {
        *self.0.lock().unwrap()
    }
}

fn with(h: &Harness, requirements: impl RequirementPolicy + 'static, policy: Policy) -> TwoFactor {
    h.builder()
        .store(h.store.clone())
        .passwords(h.passwords.clone())
        .email(h.outbox.clone())
        .sms(h.outbox.clone())
        .requirements(requirements)
        .policy(policy)
        .build()
        .unwrap()
}

fn at(unix: u64) -> Timestamp {
    Timestamp::from_unix_seconds(unix)
}

fn setup_required(grace_until: Option<Timestamp>) -> LoginStep {
    LoginStep::SetupRequired {
        strength: Strength::Any,
        grace_until,
    }
}

/// Before the deadline the user may be let in; at it and after, only to
/// set a method up. The clock decides, to the second.
#[tokio::test]
async fn the_grace_period_ends_exactly_at_the_deadline() {
    let h = Harness::new();
    let deadline = at(T0 + 100);
    let tf = with(&h, Requirement::by(deadline), policy());
    let alice = h.account("alice");
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        setup_required(Some(deadline))
    );
    h.advance(99);
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        setup_required(Some(deadline))
    );
    h.advance(1);
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        setup_required(None)
    );
    h.advance(3600);
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        setup_required(None)
    );
    // once set up, the login asks for the code, as for anyone
    let _ = h.set_up_app(&tf, &alice).await;
    h.advance(30);
    assert!(matches!(
        tf.begin_login(&alice, None).await.unwrap(),
        LoginStep::Challenge {
            method: Method::App,
            ..
        }
    ));
}

#[tokio::test]
async fn a_deadline_moved_earlier_takes_effect_at_once() {
    let h = Harness::new();
    let roles = Roles(Arc::new(Mutex::new(Requirement::optional())));
    let tf = with(&h, roles.clone(), policy());
    let alice = h.account("alice");
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        LoginStep::NotRequired
    );
    *roles.0.lock().unwrap() = Requirement::by(at(T0 + 7 * 86_400));
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        setup_required(Some(at(T0 + 7 * 86_400)))
    );
    *roles.0.lock().unwrap() = Requirement::by(at(T0 + 60));
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        setup_required(Some(at(T0 + 60)))
    );
    *roles.0.lock().unwrap() = Requirement::now();
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        setup_required(None)
    );
    // and lifted, the password alone is enough again
    *roles.0.lock().unwrap() = Requirement::optional();
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        LoginStep::NotRequired
    );
}

/// A text message where an app is required: the text still protects the
/// login (the requirement never lets the password alone in), and the
/// verified login says what to set up.
#[tokio::test]
async fn a_weaker_method_still_protects_the_login_and_an_app_is_asked_for() {
    let h = Harness::new();
    let deadline = at(T0 + 3600);
    let tf = with(
        &h,
        Requirements::new().account(
            "alice",
            Requirement::by(deadline).with_strength(Strength::App),
        ),
        policy(),
    );
    let alice = h.account("alice");
    h.set_up_sms(&tf, &alice, NUMBER).await;
    h.advance(30);
    assert!(matches!(
        tf.begin_login(&alice, None).await.unwrap(),
        LoginStep::Challenge {
            method: Method::Sms,
            ..
        }
    ));
    let Verdict::Accepted(verified) = tf.verify_login(&alice, &h.last_code(), None).await.unwrap()
    else {
        panic!("refused")
    };
    let due = verified.setup_due.unwrap();
    assert_eq!(
        (due.strength, due.grace_until),
        (Strength::App, Some(deadline))
    );
    // with the app added, nothing is due
    let app = {
        let grant = tf
            .step_up(&alice, &password(), &{
                h.advance(30);
                let _ = tf.send_step_up_code(&alice, Method::Sms).await.unwrap();
                h.last_code()
            })
            .await
            .unwrap()
            .accepted()
            .unwrap();
        let Verdict::Accepted(twofactor::Setup::App(setup)) = tf
            .add_fallback(&alice, NewMethod::App, &grant)
            .await
            .unwrap()
        else {
            panic!("refused")
        };
        let app = twofactor::testing::Authenticator::from_setup(&setup).unwrap();
        assert!(tf
            .confirm_setup(&alice, &app.code_at(at(h.now())))
            .await
            .unwrap()
            .is_accepted());
        app
    };
    h.advance(30);
    let Verdict::Accepted(verified) = tf
        .verify_login(&alice, &app.code_at(at(h.now())), None)
        .await
        .unwrap()
    else {
        panic!("refused")
    };
    assert_eq!(verified.setup_due, None);
    // bob is not named: nothing is asked of him
    let bob = h.account("bob");
    assert_eq!(
        tf.begin_login(&bob, None).await.unwrap(),
        LoginStep::NotRequired
    );
}

/// Turning it off while required is refused, whatever the proof; by policy
/// it may go through and the next login asks for a setup again.
#[tokio::test]
async fn disabling_while_required_is_refused_or_asks_for_a_setup_by_policy() {
    let h = Harness::new();
    let deadline = at(T0 + 86_400);
    let tf = with(&h, Requirement::by(deadline), policy());
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let grant = h.grant(&tf, &alice, &app).await;
    for keep in [Keep::Settings, Keep::Nothing] {
        assert!(matches!(
            tf.disable(&alice, &grant, keep).await,
            Err(Error::Required)
        ));
    }
    // refused before anything was evaluated: the password alone as well
    assert!(matches!(
        tf.disable(&alice, &password(), Keep::Nothing).await,
        Err(Error::Required)
    ));
    assert!(tf.status(&alice).await.unwrap().is_on());

    let mut lenient = policy();
    lenient.while_required = WhileRequired::SetupRequired;
    let tf = with(&h, Requirement::by(deadline), lenient);
    assert!(tf
        .disable(&alice, &grant, Keep::Nothing)
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        setup_required(Some(deadline))
    );
    h.advance(86_400);
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        setup_required(None)
    );
}

/// Removing the only method of the required strength is refused; another
/// one may go.
#[tokio::test]
async fn the_only_adequate_method_cannot_be_removed() {
    let h = Harness::new();
    let tf = with(
        &h,
        Requirement::now().with_strength(Strength::App),
        policy(),
    );
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let grant = h.grant(&tf, &alice, &app).await;
    let number = PhoneNumber::parse(NUMBER).unwrap();
    h.add_fallback(&tf, &alice, NewMethod::Sms(number), &grant)
        .await;
    let grant = h.grant(&tf, &alice, &app).await;
    assert!(tf
        .set_primary(&alice, Method::Sms, &grant)
        .await
        .unwrap()
        .is_accepted());
    let grant = h.grant(&tf, &alice, &app).await;
    assert!(matches!(
        tf.remove_fallback(&alice, Method::App, &grant).await,
        Err(Error::Required)
    ));
    // the text message is not what is required: it may go
    assert!(tf
        .set_primary(&alice, Method::App, &grant)
        .await
        .unwrap()
        .is_accepted());
    let grant = h.grant(&tf, &alice, &app).await;
    assert!(tf
        .remove_fallback(&alice, Method::Sms, &grant)
        .await
        .unwrap()
        .is_accepted());
}

#[test]
fn the_stricter_requirement_wins() {
    let (early, late) = (at(100), at(200));
    let by_late = Requirement::by(late);
    assert_eq!(Requirement::optional().stricter(by_late), by_late);
    assert_eq!(by_late.stricter(Requirement::optional()), by_late);
    assert_eq!(
        by_late.stricter(Requirement::by(early)).deadline(),
        Some(early)
    );
    assert_eq!(by_late.stricter(Requirement::now()).deadline(), None);
    let strong = by_late.stricter(Requirement::by(late).with_strength(Strength::App));
    assert_eq!(strong.strength(), Strength::App);
    assert!(!Requirement::optional()
        .stricter(Requirement::optional())
        .is_required());
    assert_eq!(by_late.grace_until(at(199)), Some(late));
    assert_eq!(by_late.grace_until(at(200)), None);
}

/// A remembered device skips the code, and still says what the
/// requirement asks to set up.
#[tokio::test]
async fn a_remembered_device_is_told_what_to_set_up_too() {
    let h = Harness::new();
    let roles = Roles(Arc::new(Mutex::new(Requirement::optional())));
    let tf = with(&h, roles.clone(), policy());
    let alice = h.account("alice");
    h.set_up_sms(&tf, &alice, NUMBER).await;
    h.advance(30);
    let _ = tf.begin_login(&alice, None).await.unwrap();
    let Verdict::Accepted(verified) = tf
        .verify_login(&alice, &h.last_code(), Some("Firefox"))
        .await
        .unwrap()
    else {
        panic!("refused")
    };
    let token = verified.device.unwrap().token;
    let trusted = |step: LoginStep| match step {
        LoginStep::Trusted { setup_due, .. } => setup_due,
        other => panic!("{other:?}"),
    };
    let step = tf
        .begin_login(&alice, Some(token.expose_secret()))
        .await
        .unwrap();
    assert_eq!(trusted(step), None);
    *roles.0.lock().unwrap() = Requirement::now().with_strength(Strength::App);
    let step = tf
        .begin_login(&alice, Some(token.expose_secret()))
        .await
        .unwrap();
    let due = trusted(step).unwrap();
    assert_eq!((due.strength, due.grace_until), (Strength::App, None));
}

/// Where an app is required, one of two apps may go, but not the last
/// one while only a text message would be left.
#[tokio::test]
async fn the_last_app_stays_while_an_app_is_required() {
    let h = Harness::new();
    let tf = with(
        &h,
        Requirements::new().account("alice", Requirement::now().with_strength(Strength::App)),
        policy(),
    );
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let grant = h.grant(&tf, &alice, &app).await;
    let Verdict::Accepted(twofactor::Setup::App(setup)) = tf
        .add_fallback(&alice, NewMethod::App.labelled("Tablet"), &grant)
        .await
        .unwrap()
    else {
        panic!("refused")
    };
    let tablet = twofactor::testing::Authenticator::from_setup(&setup).unwrap();
    assert!(tf
        .confirm_setup(&alice, &tablet.code_at(at(h.now())))
        .await
        .unwrap()
        .is_accepted());
    h.add_fallback(
        &tf,
        &alice,
        NewMethod::Sms(PhoneNumber::parse(NUMBER).unwrap()),
        &grant,
    )
    .await;
    assert!(removes(&tf, &alice, "Authenticator app", &grant).await);
    assert!(matches!(
        tf.remove_authenticator(&alice, &id_of(&tf, &alice, "Tablet").await, &grant)
            .await,
        Err(Error::Required)
    ));
    assert_eq!(tf.authenticators(&alice).await.unwrap().len(), 2);
}
