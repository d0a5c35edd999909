//! Emailed and texted one-time codes, login fallbacks and security notices,
//! through the public API.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use secrecy::ExposeSecret;
use twofactor::{
    Account, Change, EmailSender, Error, EventKind, Grant, LoginStep, MemoryStore, Message, Method,
    NewMethod, PhoneNumber, PortError, Purpose, Reauth, Rejection, Setup, Status, TwoFactor,
    UserStore, Verdict,
};
use twofactor::{Clock, Keep};

const NUMBER: &str = "+60123451688";
const OTHER_NUMBER: &str = "+14155550100";

fn phone(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s).unwrap()
}

async fn set_up_code(h: &Harness, tf: &TwoFactor, account: &Account, new: NewMethod) {
    let setup = tf.begin_setup(account, new, &password()).await.unwrap();
    assert!(
        matches!(setup, Verdict::Accepted(Setup::Code(_))),
        "{setup:?}"
    );
    let code = h.last_code();
    assert!(tf
        .confirm_setup(account, &code)
        .await
        .unwrap()
        .is_accepted());
}

/// A step-up grant proved with a code texted for the purpose.
async fn sms_grant(h: &Harness, tf: &TwoFactor, account: &Account) -> Grant {
    let sent = tf.send_step_up_code(account, Method::Sms).await.unwrap();
    assert_eq!(sent.method, Method::Sms);
    let text = h.outbox.messages().last().unwrap().message.text();
    assert!(text.contains("change security settings"), "{text}");
    tf.step_up(account, &password(), &h.last_code())
        .await
        .unwrap()
        .accepted()
        .expect("a step-up with the texted code")
}

#[tokio::test]
async fn email_setup_and_login() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let Verdict::Accepted(Setup::Code(setup)) = tf
        .begin_setup(&alice, NewMethod::Email, &password())
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(setup.sent.method, Method::Email);
    assert_eq!(setup.sent.to, "a•••@example.com");
    assert_eq!(setup.sent.expires.unix_seconds(), T0 + 600);
    let sent = h.outbox.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].channel, sent[0].to.as_str()),
        (Method::Email, "alice@example.com")
    );
    let Message::Code(m) = &sent[0].message else {
        panic!()
    };
    assert_eq!((m.purpose, m.method), (Purpose::Setup, Method::Email));
    let code = m.code.expose_secret().to_owned();
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(
        tf.status(&alice).await.unwrap(),
        Status::Pending {
            method: Method::Email,
            expires: setup.expires
        }
    );

    assert!(tf.confirm_setup(&alice, &code).await.unwrap().is_accepted());
    assert!(matches!(
        tf.status(&alice).await.unwrap(),
        Status::On {
            primary: Method::Email,
            ..
        }
    ));
    assert_eq!(h.notices(), [Change::Enabled(Method::Email)]);

    h.advance(60);
    let LoginStep::Challenge {
        method,
        sent: Some(sent),
        alternatives,
        ..
    } = tf.begin_login(&alice, None).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (method, sent.to.as_str()),
        (Method::Email, "a•••@example.com")
    );
    assert!(alternatives.is_empty());
    let login = h.last_code();
    assert_ne!(login, code);
    let v = tf.verify_login(&alice, &login, None).await.unwrap();
    assert_eq!(v.accepted().and_then(|v| v.method()), Some(Method::Email));
    assert!(
        !tf.verify_login(&alice, &login, None)
            .await
            .unwrap()
            .is_accepted(),
        "used once"
    );
}

#[tokio::test]
async fn sms_setup_checks_the_number_and_shows_it_masked() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    assert!(matches!(
        PhoneNumber::parse("0123 451 688"),
        Err(Error::InvalidPhoneNumber)
    ));
    assert!(matches!(
        PhoneNumber::parse("+60 12 345 1688; rm -rf"),
        Err(Error::InvalidPhoneNumber)
    ));
    let Verdict::Accepted(Setup::Code(setup)) = tf
        .begin_setup(
            &alice,
            NewMethod::Sms(phone("+60 12-345 1688")),
            &password(),
        )
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(setup.sent.to, "+60 ••• ••• 1688");
    assert_eq!(setup.sent.expires.unix_seconds(), T0 + 300);
    let last = h.outbox.messages().pop().unwrap();
    assert_eq!((last.channel, last.to.as_str()), (Method::Sms, NUMBER));
    assert!(last.message.text().len() <= 160);
    assert!(tf
        .confirm_setup(&alice, &h.last_code())
        .await
        .unwrap()
        .is_accepted());
    let Status::On { primary, phone, .. } = tf.status(&alice).await.unwrap() else {
        panic!()
    };
    assert_eq!(
        (primary, phone.as_deref()),
        (Method::Sms, Some("+60 ••• ••• 1688"))
    );
    // the number is sealed at rest
    let doc = h.store.load("alice").await.unwrap().unwrap().document;
    assert!(!holds(&doc, "60123451688") && !holds(&doc, "1688"));
}

#[tokio::test]
async fn codes_expire_email_after_ten_minutes_sms_after_five() {
    for (new, ttl) in [
        (NewMethod::Email, 600),
        (NewMethod::Sms(phone(NUMBER)), 300),
    ] {
        let h = Harness::new();
        let tf = h.instance();
        let alice = h.account("alice");
        let _ = tf
            .begin_setup(&alice, new.clone(), &password())
            .await
            .unwrap();
        let code = h.last_code();
        h.advance(ttl);
        assert_eq!(
            tf.confirm_setup(&alice, &code).await.unwrap().map(|_| ()),
            rejected(4, Rejection::Expired),
            "{new:?}"
        );
        // a second later than the code, the same for a login code
        let _ = tf
            .begin_setup(&alice, new.clone(), &password())
            .await
            .unwrap();
        let code = h.last_code();
        h.advance(ttl - 1);
        assert!(
            tf.confirm_setup(&alice, &code).await.unwrap().is_accepted(),
            "{new:?}"
        );
        h.advance(60);
        let _ = tf.begin_login(&alice, None).await.unwrap();
        let login = h.last_code();
        h.advance(ttl);
        assert!(
            !tf.verify_login(&alice, &login, None)
                .await
                .unwrap()
                .is_accepted(),
            "{new:?}"
        );
    }
}

/// A setup code that is not a code is told apart from a wrong one; both
/// count, and the right code still works after them.
#[tokio::test]
async fn a_setup_code_tells_malformed_from_wrong() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let _ = tf
        .begin_setup(&alice, NewMethod::Email, &password())
        .await
        .unwrap();
    let code = h.last_code();
    let other = if code == "000000" { "000001" } else { "000000" };
    assert_eq!(
        tf.confirm_setup(&alice, "12a456")
            .await
            .unwrap()
            .map(|_| ()),
        rejected(4, Rejection::Malformed)
    );
    assert_eq!(
        tf.confirm_setup(&alice, other).await.unwrap().map(|_| ()),
        rejected(3, Rejection::WrongCode)
    );
    assert!(tf.confirm_setup(&alice, &code).await.unwrap().is_accepted());
}

#[tokio::test]
async fn resend_waits_thirty_seconds_and_voids_the_old_code() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let _ = tf
        .begin_setup(&alice, NewMethod::Email, &password())
        .await
        .unwrap();
    let first = h.last_code();
    h.advance(10);
    let sent_before = h.sent();
    match tf.resend_setup_code(&alice).await {
        Err(Error::RateLimited { retry_after }) => assert_eq!(retry_after, Duration::from_secs(20)),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.sent(), sent_before, "nothing was sent");
    h.advance(20);
    let sent = tf.resend_setup_code(&alice).await.unwrap();
    assert_eq!(sent.to, "a•••@example.com");
    let second = h.last_code();
    assert!(!tf
        .confirm_setup(&alice, &first)
        .await
        .unwrap()
        .is_accepted());
    assert!(tf
        .confirm_setup(&alice, &second)
        .await
        .unwrap()
        .is_accepted());
    assert!(matches!(
        tf.resend_setup_code(&alice).await,
        Err(Error::NoPendingSetup)
    ));
}

#[tokio::test]
async fn at_most_five_codes_an_hour() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    set_up_code(&h, &tf, &alice, NewMethod::Sms(phone(NUMBER))).await; // send 1
    for _ in 0..4 {
        h.advance(30);
        tf.send_code(&alice, Method::Sms).await.unwrap(); // sends 2 to 5
    }
    h.advance(30);
    let sent_before = h.sent();
    match tf.send_code(&alice, Method::Sms).await {
        // the first went at T0; the hour ends at T0 + 3600; now is T0 + 150
        Err(Error::RateLimited { retry_after }) => {
            assert_eq!(retry_after, Duration::from_secs(3450))
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(
            tf.begin_login(&alice, None).await.unwrap(),
            LoginStep::Challenge { .. }
        ),
        "a live code is reused, not resent"
    );
    assert_eq!(h.sent(), sent_before, "nothing was sent");
    h.advance(3450);
    assert!(tf.send_code(&alice, Method::Sms).await.is_ok());
}

#[tokio::test]
async fn a_code_is_void_after_five_wrong_tries() {
    let h = Harness::new();
    // so the account lockout does not come first
    let tf = h.instance_with(policy().dangerous_lockout_threshold(50));
    let alice = h.account("alice");
    set_up_code(&h, &tf, &alice, NewMethod::Email).await;
    h.advance(60);
    let _ = tf.begin_login(&alice, None).await.unwrap();
    let code = h.last_code();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert!(!logs_in(&tf, &alice, wrong).await);
    }
    assert!(
        !tf.verify_login(&alice, &code, None)
            .await
            .unwrap()
            .is_accepted(),
        "void"
    );
    // and begin_login sends a fresh one, since none is live
    h.advance(30);
    let _ = tf.begin_login(&alice, None).await.unwrap();
    assert!(logs_in(&tf, &alice, &h.last_code()).await);
}

#[tokio::test]
async fn setup_codes_and_login_codes_do_not_mix() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    set_up_code(&h, &tf, &alice, NewMethod::Sms(phone(NUMBER))).await;
    h.advance(60);
    // adding email: a step-up code (no login code either), then a setup
    // code, which is no login code
    let grant = sms_grant(&h, &tf, &alice).await;
    let _ = tf
        .add_fallback(&alice, NewMethod::Email, &grant)
        .await
        .unwrap();
    let setup = h.last_code();
    assert!(!logs_in(&tf, &alice, &setup).await);
    // a login code meanwhile replaces it, and is no setup code
    h.advance(30);
    let _ = tf.begin_login(&alice, None).await.unwrap();
    let login = h.last_code();
    assert!(!tf
        .confirm_setup(&alice, &login)
        .await
        .unwrap()
        .is_accepted());
    assert!(
        !tf.confirm_setup(&alice, &setup)
            .await
            .unwrap()
            .is_accepted(),
        "replaced"
    );
    h.advance(30);
    tf.resend_setup_code(&alice).await.unwrap();
    assert!(tf
        .confirm_setup(&alice, &h.last_code())
        .await
        .unwrap()
        .is_accepted());
}

#[tokio::test]
async fn fallback_at_login_send_sms_code() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let grant = h.grant(&tf, &alice, &app).await;
    let Verdict::Accepted(Setup::Code(_)) = tf
        .add_fallback(&alice, NewMethod::Sms(phone(NUMBER)), &grant)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(matches!(
        tf.status(&alice).await.unwrap(),
        Status::On {
            pending: Some(Method::Sms),
            ..
        }
    ));
    assert!(tf
        .confirm_setup(&alice, &h.last_code())
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(
        h.notices(),
        [
            Change::Enabled(Method::App),
            Change::FallbackAdded(Method::Sms)
        ]
    );

    h.advance(60);
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        LoginStep::Challenge {
            method: Method::App,
            sent: None,
            alternatives: vec![Method::Sms],
            retry_after: None,
            key: None,
        }
    );
    let sent = tf.send_code(&alice, Method::Sms).await.unwrap();
    assert_eq!(sent.to, "+60 ••• ••• 1688");
    let v = tf.verify_login(&alice, &h.last_code(), None).await.unwrap();
    assert_eq!(v.accepted().and_then(|v| v.method()), Some(Method::Sms));
    // the app works at the same time, whichever the user has at hand
    h.advance(30);
    let _ = tf.send_code(&alice, Method::Sms).await.unwrap();
    let v = tf
        .verify_login(&alice, &app.code(h.now()), None)
        .await
        .unwrap();
    assert_eq!(v.accepted().and_then(|v| v.method()), Some(Method::App));
    assert!(matches!(
        tf.send_code(&alice, Method::App).await,
        Err(Error::WrongMethod)
    ));
    assert!(matches!(
        tf.send_code(&alice, Method::Email).await,
        Err(Error::MethodNotSetUp)
    ));
}

#[tokio::test]
async fn remove_a_fallback_and_change_the_primary() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let grant = h.grant(&tf, &alice, &app).await;
    let _ = tf
        .add_fallback(&alice, NewMethod::Email, &grant)
        .await
        .unwrap();
    assert!(tf
        .confirm_setup(&alice, &h.last_code())
        .await
        .unwrap()
        .is_accepted());
    assert!(matches!(
        tf.add_fallback(&alice, NewMethod::Email, &grant).await,
        Err(Error::MethodAlreadySetUp)
    ));
    assert!(matches!(
        tf.remove_fallback(&alice, Method::App, &grant).await,
        Err(Error::WrongMethod)
    ));
    let x = secrecy::SecretString::from("x");
    assert_eq!(
        tf.set_primary(&alice, Method::Email, Reauth::with_code(&x, "123456"))
            .await
            .unwrap(),
        rejected(4, Rejection::WrongPassword)
    );
    // one grant authorises every change made with it, in its window
    assert!(tf
        .set_primary(&alice, Method::Email, &grant)
        .await
        .unwrap()
        .is_accepted());
    h.advance(60);
    let LoginStep::Challenge {
        method,
        sent,
        alternatives,
        ..
    } = tf.begin_login(&alice, None).await.unwrap()
    else {
        panic!()
    };
    assert_eq!((method, alternatives), (Method::Email, vec![Method::App]));
    assert!(sent.is_some(), "an emailed primary is sent a code at once");
    assert!(tf
        .set_primary(&alice, Method::App, &grant)
        .await
        .unwrap()
        .is_accepted());
    assert!(tf
        .remove_fallback(&alice, Method::Email, &grant)
        .await
        .unwrap()
        .is_accepted());
    assert!(matches!(
        tf.send_code(&alice, Method::Email).await,
        Err(Error::MethodNotSetUp)
    ));
    let Status::On { methods, .. } = tf.status(&alice).await.unwrap() else {
        panic!()
    };
    assert_eq!(methods, [Method::App]);
    assert_eq!(
        h.notices(),
        [
            Change::Enabled(Method::App),
            Change::FallbackAdded(Method::Email),
            Change::PrimaryChanged(Method::Email),
            Change::PrimaryChanged(Method::App),
            Change::FallbackRemoved(Method::Email),
        ]
    );
    assert_eq!(h.events.count(EventKind::PasswordRejected), 1);
}

#[tokio::test]
async fn a_new_number_replaces_the_old_only_once_verified() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    set_up_code(&h, &tf, &alice, NewMethod::Sms(phone(NUMBER))).await;
    h.advance(60);
    let _ = tf.begin_login(&alice, None).await.unwrap();
    let to_old = h.last_code();
    h.advance(30);
    // the password alone does not move the codes to another number
    assert!(matches!(
        tf.change_phone(&alice, phone(OTHER_NUMBER), &password())
            .await,
        Err(Error::StepUpRequired)
    ));
    // a code to the number in force proves the user still has it
    tf.send_step_up_code(&alice, Method::Sms).await.unwrap();
    let (pw, step_up) = (password(), h.last_code());
    assert!(matches!(
        tf.change_phone(&alice, phone(OTHER_NUMBER), Reauth::with_code(&pw, &step_up)).await,
        Ok(Verdict::Accepted(Setup::Code(s))) if s.sent.to == "+1 ••• ••• 0100"
    ));
    assert_eq!(h.outbox.messages().last().unwrap().to, OTHER_NUMBER);
    let to_new = h.last_code();
    assert!(
        !tf.verify_login(&alice, &to_old, None)
            .await
            .unwrap()
            .is_accepted(),
        "void once replaced"
    );
    // until confirmed, the old number is the one login codes go to
    let Status::On { phone: shown, .. } = tf.status(&alice).await.unwrap() else {
        panic!()
    };
    assert_eq!(shown.as_deref(), Some("+60 ••• ••• 1688"));
    let wrong = if to_new == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert!(!tf.confirm_setup(&alice, wrong).await.unwrap().is_accepted());
    assert!(tf
        .confirm_setup(&alice, &to_new)
        .await
        .unwrap()
        .is_accepted());
    let Status::On { phone: shown, .. } = tf.status(&alice).await.unwrap() else {
        panic!()
    };
    assert_eq!(shown.as_deref(), Some("+1 ••• ••• 0100"));
    // the old number is told it gets no more codes
    let told = h.outbox.messages();
    let told = told
        .iter()
        .rev()
        .find(|r| matches!(r.message, Message::Notice(_)) && r.channel == Method::Sms)
        .unwrap();
    assert_eq!(told.to, NUMBER);
    h.advance(30);
    tf.send_code(&alice, Method::Sms).await.unwrap();
    assert_eq!(h.outbox.messages().last().unwrap().to, OTHER_NUMBER);
    assert!(h.notices().contains(&Change::PhoneChanged));
    assert!(matches!(
        h.instance()
            .change_phone(&h.account("bob"), phone(NUMBER), &password())
            .await,
        Err(Error::NotEnabled)
    ));
}

/// A new number replaces the number only: the app beside it and the
/// primary method stay.
#[tokio::test]
async fn a_new_number_keeps_the_other_methods() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let grant = h.grant(&tf, &alice, &app).await;
    h.add_fallback(&tf, &alice, NewMethod::Sms(phone(NUMBER)), &grant)
        .await;
    h.advance(30);
    let begun = tf
        .change_phone(&alice, phone(OTHER_NUMBER), &grant)
        .await
        .unwrap();
    assert!(begun.is_accepted(), "{begun:?}");
    h.confirm_last_code(&tf, &alice).await;
    let Status::On {
        methods,
        primary,
        phone: shown,
        ..
    } = tf.status(&alice).await.unwrap()
    else {
        panic!("not on")
    };
    assert_eq!(
        (methods, primary, shown.as_deref()),
        (
            vec![Method::App, Method::Sms],
            Method::App,
            Some("+1 ••• ••• 0100")
        )
    );
    h.advance(30);
    assert!(logs_in(&tf, &alice, &app.code(h.now())).await);
}

#[tokio::test]
async fn asking_for_codes_never_resets_failures_or_a_lockout() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    set_up_code(&h, &tf, &alice, NewMethod::Email).await;
    for left in [4, 3] {
        h.advance(30);
        let _ = tf.send_code(&alice, Method::Email).await.unwrap();
        let v = tf.verify_login(&alice, "0", None).await.unwrap();
        assert_eq!(v, rejected(left, twofactor::Rejection::Malformed));
    }
    h.advance(30);
    let _ = tf.send_code(&alice, Method::Email).await.unwrap();
    let _ = tf.verify_login(&alice, "0", None).await.unwrap();
    let _ = tf.verify_login(&alice, "0", None).await.unwrap();
    assert!(matches!(
        tf.verify_login(&alice, "0", None).await.unwrap(),
        Verdict::LockedOut { .. }
    ));
    h.advance(30);
    let LoginStep::LockedOut { until } = tf.begin_login(&alice, None).await.unwrap() else {
        panic!("locked out")
    };
    // no code is sent while locked out: wait until the lockout ends
    match tf.send_code(&alice, Method::Email).await {
        Err(Error::RateLimited { retry_after }) => {
            assert!(retry_after > Duration::ZERO);
            assert_eq!(retry_after, until.since(h.clock.now()));
        }
        other => panic!("a send while locked out: {other:?}"),
    }
}

#[tokio::test]
async fn a_failed_delivery_is_a_transport_error_and_state_stays_consistent() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    h.outbox.fail(Some(true));
    let err = tf
        .begin_setup(&alice, NewMethod::Email, &password())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Delivery(_)) && err.is_transient());
    // the setup was saved before the send; it waits for a code that works
    assert!(matches!(
        tf.status(&alice).await.unwrap(),
        Status::Pending {
            method: Method::Email,
            ..
        }
    ));
    // a failed send counts against the limits (the provider may have sent it)
    assert!(matches!(
        tf.resend_setup_code(&alice).await,
        Err(Error::RateLimited { .. })
    ));
    h.outbox.fail(Some(false));
    h.advance(30);
    let err = tf.resend_setup_code(&alice).await.unwrap_err();
    assert!(matches!(err, Error::Delivery(_)) && !err.is_transient());
    h.outbox.fail(None);
    h.advance(30);
    tf.resend_setup_code(&alice).await.unwrap();
    assert!(tf
        .confirm_setup(&alice, &h.last_code())
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(h.events.count(EventKind::CodeSent), 3);
}

/// The sender is called only once the record holding the code is saved.
#[tokio::test]
async fn the_code_is_saved_before_it_is_sent() {
    struct Checking(MemoryStore, Arc<std::sync::Mutex<Vec<bool>>>);
    #[async_trait]
    impl EmailSender for Checking {
        async fn send_email(&self, _: &str, m: &Message) -> Result<(), PortError> {
            if let Message::Code(_) = m {
                let doc = self
                    .0
                    .load("alice")
                    .await?
                    .map(|s| s.document)
                    .unwrap_or_default();
                let saved = document_json(&doc);
                self.1.lock().unwrap().push(!saved["code"].is_null());
            }
            Ok(())
        }
    }
    let h = Harness::new();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let tf = h
        .builder()
        .store(h.store.clone())
        .passwords(h.passwords.clone())
        .email(Checking(h.store.clone(), seen.clone()))
        .build()
        .unwrap();
    let alice = h.account("alice");
    let _ = tf
        .begin_setup(&alice, NewMethod::Email, &password())
        .await
        .unwrap();
    h.advance(30);
    let _ = tf.resend_setup_code(&alice).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), [true, true]);
}

#[tokio::test]
async fn no_sender_no_setup_and_the_password_is_not_tried() {
    let h = Harness::new();
    let tf = h.bare();
    let alice = h.account("alice");
    // no sender, and no security keys configured either
    for new in [
        NewMethod::Email,
        NewMethod::Sms(phone(NUMBER)),
        NewMethod::Key,
    ] {
        let wrong = secrecy::SecretString::from("wrong");
        assert!(matches!(
            tf.begin_setup(&alice, new, &wrong).await,
            Err(Error::Config(_))
        ));
    }
    assert!(
        h.events.kinds().is_empty(),
        "no password was checked or counted"
    );
}

#[tokio::test]
async fn notices_carry_no_code_or_secret_and_codes_hide_in_debug() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    set_up_code(&h, &tf, &alice, NewMethod::Sms(phone(NUMBER))).await;
    h.advance(30);
    let grant = sms_grant(&h, &tf, &alice).await;
    let _ = tf
        .add_fallback(&alice, NewMethod::Email, &grant)
        .await
        .unwrap();
    assert!(tf
        .confirm_setup(&alice, &h.last_code())
        .await
        .unwrap()
        .is_accepted());
    let messages = h.outbox.messages();
    let codes: Vec<String> = messages
        .iter()
        .filter_map(|r| match &r.message {
            Message::Code(c) => Some(c.code.expose_secret().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(codes.len(), 3);
    for r in &messages {
        let debug = format!("{:?}", r.message);
        for code in &codes {
            assert!(!debug.contains(code.as_str()), "{debug}");
        }
        if let Message::Notice(_) = r.message {
            let text = format!("{} {}", r.message.subject(), r.message.text());
            for code in &codes {
                assert!(!text.contains(code.as_str()), "{text}");
            }
            assert!(!text.contains("1688"), "{text}");
            assert_eq!(r.to, "alice@example.com");
        }
    }
    // events name no destination
    for e in h.events.0.lock().unwrap().iter() {
        let debug = format!("{e:?}");
        assert!(
            !debug.contains("1688") && !debug.contains("example.com"),
            "{debug}"
        );
    }
}

#[tokio::test]
async fn disable_forgets_numbers_and_codes_but_not_the_limits() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    set_up_code(&h, &tf, &alice, NewMethod::Sms(phone(NUMBER))).await;
    h.advance(10);
    tf.send_step_up_code(&alice, Method::Sms).await.unwrap();
    let (pw, code) = (password(), h.last_code());
    assert!(tf
        .disable(&alice, Reauth::with_code(&pw, &code), Keep::Nothing)
        .await
        .unwrap()
        .is_accepted());
    let doc = h.store.load("alice").await.unwrap().unwrap().document;
    let v = document_json(&doc);
    assert!(v["factors"].is_null() && v["code"].is_null() && v["pending"].is_null());
    assert_eq!(v["sends"].as_array().map(Vec::len), Some(2));
    // setting up again straight away still waits for the setup spacing
    assert!(matches!(
        tf.begin_setup(&alice, NewMethod::Sms(phone(NUMBER)), &password())
            .await,
        Err(Error::RateLimited { .. })
    ));
}

#[tokio::test]
async fn during_a_number_change_login_codes_still_go_to_the_old_number() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    set_up_code(&h, &tf, &alice, NewMethod::Sms(phone(NUMBER))).await;
    h.advance(30);
    let grant = sms_grant(&h, &tf, &alice).await;
    let _ = tf
        .change_phone(&alice, phone(OTHER_NUMBER), &grant)
        .await
        .unwrap();
    assert_eq!(h.outbox.messages().last().unwrap().to, OTHER_NUMBER);
    // a login now: the setup code to the new number is no login code, so a
    // login code goes to the number still in force
    h.advance(30);
    let LoginStep::Challenge {
        sent: Some(sent), ..
    } = tf.begin_login(&alice, None).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(sent.to, "+60 ••• ••• 1688");
    assert_eq!(h.outbox.messages().last().unwrap().to, NUMBER);
    assert!(logs_in(&tf, &alice, &h.last_code()).await);
}

/// The audit events of a texted code name the method it went by.
#[tokio::test]
async fn code_events_name_their_method() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    h.set_up_sms(&tf, &alice, NUMBER).await;
    let events = h.events.0.lock().unwrap().clone();
    for kind in [EventKind::SetupBegun, EventKind::CodeSent] {
        let event = events.iter().find(|e| e.kind == kind).unwrap();
        assert_eq!(event.method, Some(Method::Sms), "{kind:?}");
    }
}
