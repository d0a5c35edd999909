//! The ways an attacker with the password and a signed-in session (a stolen
//! cookie, an unlocked computer) took over the second factor with the
//! password alone. Each plays the attacker to the end, through the public
//! API only, and checks that the victim's factor is still the one in force.
//!
//! The file is self-contained and uses only calls that take a password as
//! they always did, so that it also runs against releases before the
//! step-up rule (where each of these tests fails).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use twofactor::testing::{Authenticator, ManualClock, Recorder};
use twofactor::{
    Account, Algorithm, Argon2Passwords, Clock, Keep, LoginStep, MasterKey, MemoryStore, Message,
    Method, NewMethod, PhoneNumber, Setup, Status, Timestamp, TwoFactor, Verdict,
};

const VICTIM_NUMBER: &str = "+60123451688";
const ATTACKER_NUMBER: &str = "+14155550100";

struct World {
    tf: TwoFactor,
    clock: ManualClock,
    outbox: Recorder,
    alice: Account,
    password: SecretString,
}

fn world() -> World {
    let passwords = Argon2Passwords::with_params(64, 1, 1).unwrap();
    let password = SecretString::from("correct horse battery staple");
    passwords.set("alice", &password).unwrap();
    let clock = ManualClock::new(Timestamp::from_unix_seconds(1_700_000_000));
    let outbox = Recorder::new();
    let tf = TwoFactor::builder()
        .issuer("Acme")
        .key(MasterKey::new([9; 32]))
        .store(MemoryStore::new())
        .passwords(passwords)
        .clock(clock.clone())
        .email(outbox.clone())
        .sms(outbox.clone())
        .build()
        .unwrap();
    World {
        tf,
        clock,
        outbox,
        alice: Account::new("alice", "alice@example.com"),
        password,
    }
}

impl World {
    fn later(&self) {
        self.clock.advance(Duration::from_secs(31));
    }

    /// The last code texted to `number`, if any.
    fn code_to(&self, number: &str) -> Option<String> {
        self.outbox
            .messages()
            .into_iter()
            .rev()
            .filter(|r| r.to == number)
            .find_map(|r| match r.message {
                Message::Code(c) => Some(c.code.expose_secret().to_owned()),
                _ => None,
            })
    }

    /// The victim turns the app on; the secret their phone holds.
    async fn victim_app(&self) -> Vec<u8> {
        let Verdict::Accepted(Setup::App(s)) = self
            .tf
            .begin_setup(&self.alice, NewMethod::App, &self.password)
            .await
            .unwrap()
        else {
            panic!("setup refused")
        };
        let plain: String = s.secret.expose_secret().split(' ').collect();
        let secret = data_encoding::BASE32_NOPAD
            .decode(plain.as_bytes())
            .unwrap();
        let code = self.app_code(&secret);
        assert!(self
            .tf
            .confirm_setup(&self.alice, &code)
            .await
            .unwrap()
            .is_accepted());
        secret
    }

    fn app_code(&self, secret: &[u8]) -> String {
        Authenticator::new(secret, Algorithm::Sha1, 6, 30).code_at(self.clock.now())
    }

    /// The victim's app still logs in.
    async fn app_still_logs_in(&self, secret: &[u8]) -> bool {
        self.clock.advance(Duration::from_secs(30));
        let code = self.app_code(secret);
        matches!(
            self.tf.verify_login(&self.alice, &code, None).await,
            Ok(Verdict::Accepted(_))
        )
    }
}

/// `change_phone` then confirming the code texted to the new number moved
/// the victim's SMS factor to the attacker's phone.
#[tokio::test]
async fn the_password_alone_cannot_move_codes_to_another_number() {
    let w = world();
    let number = PhoneNumber::parse(VICTIM_NUMBER).unwrap();
    let _ =
        w.tf.begin_setup(&w.alice, NewMethod::Sms(number), &w.password)
            .await
            .unwrap();
    let code = w.code_to(VICTIM_NUMBER).unwrap();
    assert!(w
        .tf
        .confirm_setup(&w.alice, &code)
        .await
        .unwrap()
        .is_accepted());

    // the attacker, with the password and the session
    w.later();
    let theirs = PhoneNumber::parse(ATTACKER_NUMBER).unwrap();
    let _ = w.tf.change_phone(&w.alice, theirs, &w.password).await;
    if let Some(code) = w.code_to(ATTACKER_NUMBER) {
        let _ = w.tf.confirm_setup(&w.alice, &code).await;
    }

    let Status::On { phone, .. } = w.tf.status(&w.alice).await.unwrap() else {
        panic!("two-factor authentication is no longer on")
    };
    assert_eq!(phone.as_deref(), Some("+60 ••• ••• 1688"));
    w.later();
    let step = w.tf.begin_login(&w.alice, None).await.unwrap();
    assert!(matches!(step, LoginStep::Challenge { .. }), "{step:?}");
    assert!(
        w.code_to(ATTACKER_NUMBER).is_none(),
        "a code reached the attacker's phone"
    );
}

/// A switch done in parts, each with the password alone: add the
/// attacker's number, make it primary, remove the victim's app.
#[tokio::test]
async fn the_password_alone_cannot_switch_in_parts() {
    let w = world();
    let secret = w.victim_app().await;

    w.later();
    let theirs = PhoneNumber::parse(ATTACKER_NUMBER).unwrap();
    let _ =
        w.tf.add_fallback(&w.alice, NewMethod::Sms(theirs), &w.password)
            .await;
    if let Some(code) = w.code_to(ATTACKER_NUMBER) {
        let _ = w.tf.confirm_setup(&w.alice, &code).await;
    }
    let _ = w.tf.set_primary(&w.alice, Method::Sms, &w.password).await;
    let _ =
        w.tf.remove_fallback(&w.alice, Method::App, &w.password)
            .await;

    let Status::On {
        methods, primary, ..
    } = w.tf.status(&w.alice).await.unwrap()
    else {
        panic!("two-factor authentication is no longer on")
    };
    assert_eq!((methods, primary), (vec![Method::App], Method::App));
    assert!(w.app_still_logs_in(&secret).await);
    assert!(w.code_to(ATTACKER_NUMBER).is_none());
}

/// Off and on again with a new secret: the attacker's app replaces the
/// victim's.
#[tokio::test]
async fn the_password_alone_cannot_turn_it_off_and_on_with_a_new_secret() {
    let w = world();
    let secret = w.victim_app().await;

    w.later();
    let _ = w.tf.disable(&w.alice, &w.password, Keep::Nothing).await;
    if let Ok(Verdict::Accepted(Setup::App(s))) =
        w.tf.begin_setup(&w.alice, NewMethod::App, &w.password)
            .await
    {
        let plain: String = s.secret.expose_secret().split(' ').collect();
        let theirs = data_encoding::BASE32_NOPAD
            .decode(plain.as_bytes())
            .unwrap();
        let _ = w.tf.confirm_setup(&w.alice, &w.app_code(&theirs)).await;
    }

    assert!(w.tf.status(&w.alice).await.unwrap().is_on());
    assert!(
        w.app_still_logs_in(&secret).await,
        "the victim's own app no longer works"
    );
}

/// Turning it off "keeping the settings" with the password alone.
#[tokio::test]
async fn the_password_alone_cannot_suspend_it() {
    let w = world();
    let _ = w.victim_app().await;
    w.later();
    let _ = w.tf.disable(&w.alice, &w.password, Keep::Settings).await;
    assert!(w.tf.status(&w.alice).await.unwrap().is_on());
}

/// New recovery codes for the attacker, with the password alone.
#[tokio::test]
async fn the_password_alone_cannot_make_new_recovery_codes() {
    let w = world();
    let _ = w.victim_app().await;
    w.later();
    let made = w.tf.regenerate_recovery_codes(&w.alice, &w.password).await;
    assert!(!matches!(made, Ok(Verdict::Accepted(_))), "{made:?}");
}
