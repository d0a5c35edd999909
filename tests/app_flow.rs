//! The authenticator-app flows through the public API.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use secrecy::{ExposeSecret, SecretString};
use twofactor::Keep;
use twofactor::NewMethod;
use twofactor::{
    Change, Error, EventKind, LoginStep, Message, Method, Reauth, Rejection, Setup, Status,
    Timestamp, TwoFactor, UserStore, Verdict, Verified,
};

fn at(secs: u64) -> Timestamp {
    Timestamp::from_unix_seconds(secs)
}

#[tokio::test]
async fn setup_login_disable() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    assert_eq!(tf.status(&alice).await.unwrap(), Status::Off);
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        LoginStep::NotRequired
    );

    let app = h.begin(&tf, &alice).await;
    assert_eq!(
        tf.status(&alice).await.unwrap(),
        Status::Pending {
            method: Method::App,
            expires: at(T0 + 900)
        }
    );
    // a pending setup changes nothing at login
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        LoginStep::NotRequired
    );
    assert!(matches!(
        tf.verify_login(&alice, &app.code(h.now()), None).await,
        Err(Error::NotEnabled)
    ));

    h.advance(10);
    let enabled = tf.confirm_setup(&alice, &app.code(h.now())).await.unwrap();
    let Verdict::Accepted(enabled) = enabled else {
        panic!("refused: {enabled:?}")
    };
    // the session that turned it on gets the stamp to keep
    assert_eq!(
        Some(enabled.stamp.clone()),
        tf.security_stamp(&alice).await.unwrap()
    );
    let Status::On {
        methods,
        primary,
        authenticators,
        since,
        phone,
        pending,
        recovery_codes_left,
        devices,
        ..
    } = tf.status(&alice).await.unwrap()
    else {
        panic!("not on")
    };
    assert_eq!((methods, primary), (vec![Method::App], Method::App));
    assert_eq!((since, phone, pending), (at(T0 + 10), None, None));
    assert_eq!((recovery_codes_left, devices), (10, 0));
    // one authenticator, named after its kind, added now, not yet used
    let [app_info] = authenticators.as_slice() else {
        panic!("{authenticators:?}")
    };
    assert_eq!(
        (app_info.method, app_info.label.as_str(), app_info.primary),
        (Method::App, "Authenticator app", true)
    );
    assert_eq!((app_info.created, app_info.last_used), (at(T0 + 10), None));
    assert!(app_info.id.starts_with("app-") && app_info.id.len() == 12);

    h.advance(30);
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        LoginStep::Challenge {
            method: Method::App,
            sent: None,
            alternatives: vec![],
            retry_after: None,
            key: None,
        }
    );
    let code = app.code(h.now());
    let verified: Verified = tf
        .verify_login(&alice, &code, None)
        .await
        .unwrap()
        .accepted()
        .unwrap();
    assert_eq!(verified.method(), Some(Method::App));

    // off again: the password alone is not enough, a wrong one counts
    assert!(matches!(
        tf.disable(&alice, &password(), Keep::Nothing).await,
        Err(Error::StepUpRequired)
    ));
    h.advance(30);
    let code = app.code(h.now());
    let wrong_pw = SecretString::from("wrong");
    assert_eq!(
        tf.disable(&alice, Reauth::with_code(&wrong_pw, &code), Keep::Nothing)
            .await
            .unwrap(),
        rejected(4, Rejection::WrongPassword)
    );
    assert!(tf.status(&alice).await.unwrap().is_on());
    let pw = password();
    assert!(tf
        .disable(&alice, Reauth::with_code(&pw, &code), Keep::Nothing)
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(tf.status(&alice).await.unwrap(), Status::Off);
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        LoginStep::NotRequired
    );
    assert!(matches!(
        tf.disable(&alice, &password(), Keep::Nothing).await,
        Err(Error::NotEnabled)
    ));

    assert_eq!(
        h.events.kinds(),
        [
            EventKind::SetupBegun,
            EventKind::Enabled,
            EventKind::RecoveryCodesIssued,
            EventKind::LoginAccepted,
            EventKind::PasswordRejected,
            EventKind::Disabled
        ]
    );
    let mail = h.outbox.messages();
    assert_eq!(mail.len(), 2);
    assert!(mail.iter().all(|r| r.to == "alice@example.com"));
    assert!(
        matches!(&mail[0].message, Message::Notice(n) if n.change == Change::Enabled(Method::App))
    );
    assert!(matches!(&mail[1].message, Message::Notice(n) if n.change == Change::Disabled));
}

#[tokio::test]
async fn setup_material_is_consistent() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let Verdict::Accepted(Setup::App(setup)) = tf
        .begin_setup(&alice, NewMethod::App, &password())
        .await
        .unwrap()
    else {
        panic!()
    };
    let grouped = setup.secret.expose_secret();
    assert_eq!(
        grouped.len(),
        39,
        "32 base32 characters in 8 groups: {grouped}"
    );
    assert!(grouped.split(' ').all(|g| g.len() == 4));
    let plain: String = grouped.split(' ').collect();
    assert_eq!(
        setup.uri.expose_secret(),
        &format!(
            "otpauth://totp/Acme%20Portal:alice@example.com?secret={plain}&issuer=Acme%20Portal&algorithm=SHA1&digits=6&period=30"
        )
    );
    assert!(setup.qr_svg.expose_secret().contains("<svg"));
    assert!(setup
        .qr_png
        .expose_secret()
        .starts_with("data:image/png;base64,iVBORw0KGgo"));
    assert!(setup.qr_text.expose_secret().contains('█'));
    assert_eq!(setup.expires, at(T0 + 900));
}

#[tokio::test]
async fn a_lapsed_setup_cannot_be_confirmed() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.begin(&tf, &alice).await;
    h.advance(900);
    assert!(matches!(
        tf.confirm_setup(&alice, &app.code(h.now())).await,
        Err(Error::NoPendingSetup)
    ));
    assert_eq!(tf.status(&alice).await.unwrap(), Status::Off);
    // it can be begun again
    let again = h.begin(&tf, &alice).await;
    assert!(tf
        .confirm_setup(&alice, &again.code(h.now()))
        .await
        .unwrap()
        .is_accepted());
}

#[tokio::test]
async fn the_setup_ttl_is_a_policy() {
    let h = Harness::new();
    let mut policy = policy();
    policy.setup_ttl = std::time::Duration::from_secs(60);
    let tf = h.instance_with(policy);
    let alice = h.account("alice");
    let app = h.begin(&tf, &alice).await;
    h.advance(61);
    assert!(matches!(
        tf.confirm_setup(&alice, &app.code(h.now())).await,
        Err(Error::NoPendingSetup)
    ));
}

#[tokio::test]
async fn a_second_begin_replaces_the_first() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let first = h.begin(&tf, &alice).await;
    let second = h.begin(&tf, &alice).await;
    assert_ne!(first.secret, second.secret);
    assert!(!tf
        .confirm_setup(&alice, &first.code(h.now()))
        .await
        .unwrap()
        .is_accepted());
    assert!(tf
        .confirm_setup(&alice, &second.code(h.now()))
        .await
        .unwrap()
        .is_accepted());
}

#[tokio::test]
async fn replays_are_refused_including_the_confirming_code() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.begin(&tf, &alice).await;
    let confirming = app.code(h.now());
    assert!(tf
        .confirm_setup(&alice, &confirming)
        .await
        .unwrap()
        .is_accepted());
    // still inside the window, but used
    h.advance(5);
    assert!(!logs_in(&tf, &alice, &confirming).await);
    // the next step's code is fine, once
    h.advance(30);
    let next = app.code(h.now());
    assert!(logs_in(&tf, &alice, &next).await);
    assert!(!logs_in(&tf, &alice, &next).await);
    // the previous step's code, though inside ±1 step, is before the last accepted
    h.advance(30);
    assert!(!logs_in(&tf, &alice, &next).await);
    // a code one step ahead (a fast phone) is accepted, and then the current is a replay
    let ahead = app.code(h.now() + 30);
    assert!(logs_in(&tf, &alice, &ahead).await);
    assert!(!logs_in(&tf, &alice, &app.code(h.now())).await);
}

#[tokio::test]
async fn drift_of_one_step_is_allowed_and_no_more() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    h.advance(300);
    let now = h.now();
    assert!(!logs_in(&tf, &alice, &app.code(now - 60)).await);
    assert!(!logs_in(&tf, &alice, &app.code(now + 60)).await);
    assert!(logs_in(&tf, &alice, &app.code(now - 30)).await);
}

#[tokio::test]
async fn lockout_after_five_failures_of_any_kind() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    h.advance(30);
    let wrong_pw = SecretString::from("guess");
    assert_eq!(
        tf.verify_login(&alice, "000000", None).await.unwrap(),
        wrong(4)
    );
    assert_eq!(
        tf.disable(
            &alice,
            Reauth::with_code(&wrong_pw, "123456"),
            Keep::Nothing
        )
        .await
        .unwrap(),
        rejected(3, Rejection::WrongPassword)
    );
    assert_eq!(
        tf.verify_login(&alice, "111111", None).await.unwrap(),
        wrong(2)
    );
    assert_eq!(
        tf.verify_login(&alice, "12345", None).await.unwrap(),
        rejected(1, Rejection::Malformed)
    );
    let until = at(h.now() + 60);
    assert_eq!(
        tf.verify_login(&alice, "222222", None).await.unwrap(),
        Verdict::LockedOut { until }
    );
    assert_eq!(h.events.count(EventKind::LockedOut), 1);

    // while locked, nothing is evaluated: the right code and password are refused
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        LoginStep::LockedOut { until }
    );
    assert_eq!(
        tf.verify_login(&alice, &app.code(h.now()), None)
            .await
            .unwrap(),
        Verdict::LockedOut { until }
    );
    let pw = password();
    let code = app.code(h.now());
    assert_eq!(
        tf.disable(&alice, Reauth::with_code(&pw, &code), Keep::Nothing)
            .await
            .unwrap(),
        Verdict::LockedOut { until }
    );
    assert!(tf.status(&alice).await.unwrap().is_on());

    // after it, the right code works and resets the count
    h.advance(60);
    assert!(logs_in(&tf, &alice, &app.code(h.now())).await);
    assert_eq!(
        tf.verify_login(&alice, "000000", None).await.unwrap(),
        wrong(4)
    );
}

#[tokio::test]
async fn lockouts_double() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    h.set_up_app(&tf, &alice).await;
    for expected in [60, 120, 240] {
        let mut last = None;
        for _ in 0..5 {
            last = Some(tf.verify_login(&alice, "000000", None).await.unwrap());
        }
        assert_eq!(
            last,
            Some(Verdict::LockedOut {
                until: at(h.now() + expected)
            })
        );
        h.advance(expected);
    }
}

#[tokio::test]
async fn confirming_codes_count_towards_lockout() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.begin(&tf, &alice).await;
    for left in [4, 3, 2, 1] {
        assert_eq!(
            tf.confirm_setup(&alice, "999999").await.unwrap(),
            wrong(left)
        );
    }
    assert!(matches!(
        tf.confirm_setup(&alice, "999999").await.unwrap(),
        Verdict::LockedOut { .. }
    ));
    assert!(matches!(
        tf.confirm_setup(&alice, &app.code(h.now())).await.unwrap(),
        Verdict::LockedOut { .. }
    ));
    // a locked account cannot begin a setup either, and the password is not tried
    assert!(matches!(
        tf.begin_setup(&alice, NewMethod::App, &password())
            .await
            .unwrap(),
        Verdict::LockedOut { .. }
    ));
}

#[tokio::test]
async fn wrong_state_is_an_error_and_counts_nothing() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    assert!(matches!(
        tf.confirm_setup(&alice, "123456").await,
        Err(Error::NoPendingSetup)
    ));
    assert!(matches!(
        tf.verify_login(&alice, "123456", None).await,
        Err(Error::NotEnabled)
    ));
    assert!(matches!(
        tf.disable(&alice, &password(), Keep::Nothing).await,
        Err(Error::NotEnabled)
    ));
    h.set_up_app(&tf, &alice).await;
    assert!(matches!(
        tf.begin_setup(&alice, NewMethod::App, &password()).await,
        Err(Error::StepUpRequired)
    ));
    assert!(matches!(
        tf.confirm_setup(&alice, "123456").await,
        Err(Error::AlreadyEnabled)
    ));
    assert!(!h.events.kinds().iter().any(|k| k.is_failure()));
}

#[tokio::test]
async fn accounts_do_not_share_anything() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let bob = h.account("bob");
    let a = h.set_up_app(&tf, &alice).await;
    let b = h.set_up_app(&tf, &bob).await;
    assert_ne!(a.secret, b.secret);
    h.advance(30);
    assert!(!logs_in(&tf, &bob, &a.code(h.now())).await);
    assert!(logs_in(&tf, &alice, &a.code(h.now())).await);
    for _ in 0..5 {
        let _ = tf.verify_login(&bob, "000000", None).await.unwrap();
    }
    assert!(matches!(
        tf.begin_login(&bob, None).await.unwrap(),
        LoginStep::LockedOut { .. }
    ));
    assert!(matches!(
        tf.begin_login(&alice, None).await.unwrap(),
        LoginStep::Challenge { .. }
    ));
}

/// A record copied into another user's place does not unseal there.
#[tokio::test]
async fn a_copied_record_does_not_unseal() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let mallory = h.account("mallory");
    let app = h.set_up_app(&tf, &alice).await;
    let stolen = h.store.load("alice").await.unwrap().unwrap();
    assert!(matches!(
        h.store.save("mallory", &stolen.document, 0).await.unwrap(),
        twofactor::SaveOutcome::Saved { .. }
    ));
    h.advance(30);
    assert!(matches!(
        tf.verify_login(&mallory, &app.code(h.now()), None).await,
        Err(Error::Unseal)
    ));
    // and a different master key opens nothing either: a typed error that
    // says the key it was sealed under is not configured
    let other_key = TwoFactor::builder()
        .issuer("Acme Portal")
        .key(twofactor::MasterKey::new([8; 32]))
        .store(h.store.clone())
        .passwords(h.passwords.clone())
        .clock(h.clock.clone())
        .build()
        .unwrap();
    assert!(matches!(
        other_key
            .verify_login(&alice, &app.code(h.now()), None)
            .await,
        Err(Error::UnknownKey)
    ));
}

#[tokio::test]
async fn the_store_holds_no_secret_in_the_clear() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let doc = h.store.load("alice").await.unwrap().unwrap().document;
    let b32 = data_encoding::BASE32_NOPAD.encode(&app.secret);
    let b64 = data_encoding::BASE64URL_NOPAD.encode(&app.secret);
    let hex = data_encoding::HEXLOWER.encode(&app.secret);
    for form in [&b32, &b64, &hex] {
        assert!(!holds(&doc, form), "{form} stored");
    }
    assert!(!holds(&doc, &app.secret[..8]), "the raw secret stored");
    assert!(!holds(&doc, "alice@example.com"));
}

#[tokio::test]
async fn debug_output_shows_no_secret() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let setup = tf
        .begin_setup(&alice, NewMethod::App, &password())
        .await
        .unwrap();
    let Verdict::Accepted(Setup::App(app)) = &setup else {
        panic!()
    };
    let grouped = app.secret.expose_secret().to_owned();
    let plain: String = grouped.split(' ').collect();
    let record = twofactor::__internal::record_debug(
        &h.store.load("alice").await.unwrap().unwrap().document,
    )
    .unwrap();
    let key = twofactor::MasterKey::new([7; 32]);
    let builder = h.builder(); // it holds the harness's key
    for shown in [
        format!("{tf:?}"),
        format!("{builder:?}"),
        format!("{setup:?}"),
        format!("{app:?}"),
        record,
        format!("{key:?}"),
        format!("{:?}", password()),
        format!("{alice:?}"),
    ] {
        assert!(!shown.contains(&plain), "{shown}");
        assert!(!shown.contains(&grouped[..9]), "{shown}");
        assert!(!shown.contains("otpauth"), "{shown}");
        assert!(!shown.contains(PASSWORD), "{shown}");
        assert!(!shown.contains("[7, 7"), "{shown}");
        assert!(!shown.contains("alice@example.com"), "{shown}");
    }
    assert!(format!("{app:?}").contains("[REDACTED]"));
    assert!(format!("{tf:?}").contains("[REDACTED]"));
    let builder = format!("{builder:?}");
    assert!(builder.starts_with("TwoFactorBuilder") && builder.contains("[REDACTED]"));
    assert!(builder.contains("Acme Portal"), "{builder}");
}

#[tokio::test]
async fn errors_and_events_name_no_secret() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let _ = tf.verify_login(&alice, "000000", None).await.unwrap();
    let err = tf
        .begin_setup(&alice, NewMethod::App, &password())
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("alice"), "{shown}");
    for e in h.events.0.lock().unwrap().iter() {
        let shown = format!("{e:?}");
        assert!(
            !shown.contains("example.com") && !shown.contains(&app.code(h.now())),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn the_builder_refuses_what_it_cannot_use() {
    let h = Harness::new();
    let base = || {
        TwoFactor::builder()
            .key(twofactor::MasterKey::new([1; 32]))
            .store(h.store.clone())
            .passwords(h.passwords.clone())
    };
    assert!(matches!(base().build(), Err(Error::Config(_))));
    assert!(matches!(
        base().issuer("A:B").build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(base().issuer("").build(), Err(Error::Config(_))));
    let mut policy = policy();
    policy.totp.digits = 4;
    assert!(matches!(
        base().issuer("A").policy(policy).build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        TwoFactor::builder()
            .issuer("A")
            .store(h.store.clone())
            .build(),
        Err(Error::Config(_))
    ));
    assert!(base().issuer("A").build().is_ok());
}

#[tokio::test]
async fn a_corrupt_record_is_a_typed_error() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let _ = h.store.save("alice", b"\x01\xff\xff", 0).await.unwrap();
    assert!(matches!(
        tf.status(&alice).await,
        Err(Error::CorruptRecord(_))
    ));
    let bob = h.account("bob");
    let _ = h.store.save("bob", &[99], 0).await.unwrap();
    assert!(matches!(
        tf.verify_login(&bob, "123456", None).await,
        Err(Error::UnsupportedSchema(99))
    ));
}

#[tokio::test]
async fn eight_digit_codes_by_policy() {
    let h = Harness::new();
    let mut policy = policy();
    policy.totp.digits = 8;
    let tf = h.instance_with(policy);
    let alice = h.account("alice");
    let app = h.begin(&tf, &alice).await;
    let totp8 =
        twofactor::testing::Authenticator::new(&app.secret, twofactor::Algorithm::Sha1, 8, 30);
    let code = totp8.code_at(Timestamp::from_unix_seconds(h.now()));
    assert_eq!(code.len(), 8);
    assert!(!tf
        .confirm_setup(&alice, &code[..6])
        .await
        .unwrap()
        .is_accepted());
    assert!(tf.confirm_setup(&alice, &code).await.unwrap().is_accepted());
}

/// A reloaded setup page shows the same secret again: nothing new to scan,
/// and the app set up from the first page still confirms. It asks for the
/// password again; a lapsed or confirmed setup has nothing to show.
#[tokio::test]
async fn a_pending_setup_is_shown_again_with_the_same_secret() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    assert!(matches!(
        tf.pending_setup(&alice, &password()).await,
        Err(Error::NoPendingSetup)
    ));
    let Verdict::Accepted(Setup::App(first)) = tf
        .begin_setup(&alice, NewMethod::App, &password())
        .await
        .unwrap()
    else {
        panic!("setup refused")
    };
    h.advance(60);
    let Verdict::Accepted(Setup::App(again)) = tf.pending_setup(&alice, &password()).await.unwrap()
    else {
        panic!("not shown again")
    };
    for (a, b) in [
        (&first.secret, &again.secret),
        (&first.uri, &again.uri),
        (&first.qr_svg, &again.qr_svg),
        (&first.qr_png, &again.qr_png),
    ] {
        assert_eq!(a.expose_secret(), b.expose_secret());
    }
    assert_eq!(again.expires, first.expires);
    // a wrong password is a counted rejection and shows nothing
    assert_eq!(
        tf.pending_setup(&alice, &SecretString::from("nope"))
            .await
            .unwrap()
            .map(|_| ()),
        Verdict::Rejected {
            reason: Rejection::WrongPassword,
            attempts_left: 4
        }
    );
    // the app scanned from the first page confirms
    let app = App::from_grouped(first.secret.expose_secret());
    assert!(tf
        .confirm_setup(&alice, &app.code(h.now()))
        .await
        .unwrap()
        .is_accepted());
    assert!(matches!(
        tf.pending_setup(&alice, &password()).await,
        Err(Error::NoPendingSetup)
    ));

    // a lapsed setup has nothing to show
    let bob = h.account("bob");
    let _ = h.begin(&tf, &bob).await;
    h.advance(15 * 60);
    assert!(matches!(
        tf.pending_setup(&bob, &password()).await,
        Err(Error::NoPendingSetup)
    ));
}

/// An email setup shown again says where its code went, masked, and no
/// new code is sent.
#[tokio::test]
async fn a_pending_code_setup_is_shown_again_without_a_new_send() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let Verdict::Accepted(Setup::Code(first)) = tf
        .begin_setup(&alice, NewMethod::Email, &password())
        .await
        .unwrap()
    else {
        panic!("setup refused")
    };
    let sent = h.sent();
    let Verdict::Accepted(Setup::Code(again)) =
        tf.pending_setup(&alice, &password()).await.unwrap()
    else {
        panic!("not shown again")
    };
    assert_eq!(again, first);
    assert_eq!(h.sent(), sent);
    // once the code lapsed, the page can tell: its time has passed, and
    // when it did
    h.advance(11 * 60);
    let Verdict::Accepted(Setup::Code(later)) =
        tf.pending_setup(&alice, &password()).await.unwrap()
    else {
        panic!("not shown again")
    };
    assert!(later.sent.expires < Timestamp::from_unix_seconds(h.now()));
    assert_eq!(later.sent.expires, first.sent.expires);
    assert_eq!(later.expires, first.expires);
}
