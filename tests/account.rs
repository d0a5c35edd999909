//! Recovery codes, remembered devices, switching method, keep-or-delete
//! disable, admin reset, audit events and the security stamp, through the
//! public API.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use secrecy::{ExposeSecret, SecretString};
use twofactor::{
    Account, Change, Error, EventKind, Keep, LoginStep, Message, Method, NewMethod, PhoneNumber,
    Proof, Reauth, RecoveryCodes, Rejection, Setup, State, Status, TwoFactor, UserStore, Verdict,
};

/// Turns the app on; the user's app and the recovery codes shown.
async fn set_up_with_codes(h: &Harness, tf: &TwoFactor, account: &Account) -> (App, Vec<String>) {
    let app = h.begin(tf, account).await;
    let on = tf
        .confirm_setup(account, &app.code(h.now()))
        .await
        .unwrap()
        .accepted()
        .unwrap();
    let codes = on.recovery_codes.expect("codes are shown when turned on");
    (app, shown(&codes))
}

fn shown(codes: &RecoveryCodes) -> Vec<String> {
    codes
        .codes()
        .iter()
        .map(|c| c.expose_secret().to_owned())
        .collect()
}

#[tokio::test]
async fn ten_recovery_codes_each_used_once() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let (_, codes) = set_up_with_codes(&h, &tf, &alice).await;
    assert_eq!(codes.len(), 10);
    let mut distinct = codes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10);
    assert!(codes
        .iter()
        .all(|c| c.len() == 14 && c.matches('-').count() == 2));
    assert!(matches!(
        tf.status(&alice).await.unwrap(),
        Status::On {
            recovery_codes_left: 10,
            ..
        }
    ));

    // typed sloppily: lower case, spaces for dashes
    let sloppy = codes[3].to_lowercase().replace('-', " ");
    let v = tf
        .verify_login(&alice, &sloppy, None)
        .await
        .unwrap()
        .accepted()
        .unwrap();
    assert_eq!(v.proof, Proof::RecoveryCode { left: 9 });
    assert_eq!(v.method(), None);
    assert!(matches!(
        tf.status(&alice).await.unwrap(),
        Status::On {
            recovery_codes_left: 9,
            ..
        }
    ));
    assert!(h.notices().contains(&Change::RecoveryCodeUsed { left: 9 }));
    // used once only
    assert_eq!(
        tf.verify_login(&alice, &codes[3], None).await.unwrap(),
        wrong(4)
    );
    // another still works, and a success resets the count
    assert!(logs_in(&tf, &alice, &codes[7]).await);
    // a made-up code of the right shape is a counted rejection
    assert_eq!(
        tf.verify_login(&alice, "5ABC-DEFG-HJKM", None)
            .await
            .unwrap(),
        wrong(4)
    );
}

#[tokio::test]
async fn recovery_codes_live_under_the_same_lockout() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let (_, codes) = set_up_with_codes(&h, &tf, &alice).await;
    for _ in 0..5 {
        let _ = tf.verify_login(&alice, "000000", None).await.unwrap();
    }
    assert!(matches!(
        tf.verify_login(&alice, &codes[0], None).await.unwrap(),
        Verdict::LockedOut { .. }
    ));
    assert!(matches!(
        tf.status(&alice).await.unwrap(),
        Status::On {
            recovery_codes_left: 10,
            ..
        }
    ));
}

#[tokio::test]
async fn regenerating_needs_a_step_up_and_voids_the_old_set() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let (app, old) = set_up_with_codes(&h, &tf, &alice).await;
    assert!(matches!(
        tf.regenerate_recovery_codes(&alice, &password()).await,
        Err(Error::StepUpRequired)
    ));
    h.advance(30);
    let wrong = SecretString::from("nope");
    let code = app.code(h.now());
    assert_eq!(
        tf.regenerate_recovery_codes(&alice, Reauth::with_code(&wrong, &code))
            .await
            .unwrap(),
        rejected(4, Rejection::WrongPassword)
    );
    let grant = h.grant(&tf, &alice, &app).await;
    let new = tf
        .regenerate_recovery_codes(&alice, &grant)
        .await
        .unwrap()
        .accepted()
        .unwrap();
    // the answer holds the new stamp: the one the store now has
    assert_eq!(
        Some(new.stamp.clone()),
        tf.security_stamp(&alice).await.unwrap()
    );
    let new = shown(&new.codes);
    assert!(old.iter().all(|c| !new.contains(c)));
    assert!(!logs_in(&tf, &alice, &old[0]).await);
    assert!(logs_in(&tf, &alice, &new[0]).await);
    assert!(h.notices().contains(&Change::RecoveryCodesRegenerated));
    // the store keeps only argon2id hashes
    let doc = h.store.load("alice").await.unwrap().unwrap().document;
    for c in &new {
        assert!(!holds(&doc, c) && !holds(&doc, c.replace('-', "")));
    }
    let slots = &document_json(&doc)["recovery"]["slots"];
    assert_eq!(slots.as_array().map(Vec::len), Some(10), "{slots}");
    assert!(slots[1]["hash"].as_array().is_some_and(|h| h.len() == 32));
}

/// Logs `account` in with `app` 30 s on, asking to remember this device
/// as `label`: the device handed out.
async fn remember(
    h: &Harness,
    tf: &TwoFactor,
    account: &Account,
    app: &App,
    label: &str,
) -> twofactor::RememberedDevice {
    h.advance(30);
    let v = tf
        .verify_login(account, &app.code(h.now()), Some(label))
        .await
        .unwrap();
    v.accepted().unwrap().device.expect("a token to keep")
}

#[tokio::test]
async fn remember_this_device_for_thirty_days() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let (app, _) = set_up_with_codes(&h, &tf, &alice).await;
    let device = remember(&h, &tf, &alice, &app, "Firefox on Linux").await;
    let token = device.token.expose_secret().to_owned();
    assert_eq!(token.len(), 43);
    assert_eq!(device.expires.unix_seconds(), h.now() + 30 * 86_400);
    assert!(h.notices().contains(&Change::DeviceRemembered));
    let doc = h.store.load("alice").await.unwrap().unwrap().document;
    assert!(!holds(&doc, &token), "only a hash is stored");

    h.advance(86_400);
    match tf.begin_login(&alice, Some(&token)).await.unwrap() {
        LoginStep::Trusted {
            device: id, until, ..
        } => {
            assert_eq!((id.as_str(), until), (device.id.as_str(), device.expires));
        }
        other => panic!("{other:?}"),
    }
    let listed = tf.devices(&alice).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].label, "Firefox on Linux");
    assert_eq!(listed[0].last_used.map(|t| t.unix_seconds()), Some(h.now()));
    assert!(!format!("{listed:?}").contains(&token));

    // a wrong token, another account's, and an expired one are refused
    assert!(matches!(
        tf.begin_login(&alice, Some("not-a-token")).await.unwrap(),
        LoginStep::Challenge { .. }
    ));
    let bob = h.account("bob");
    let (bob_app, _) = set_up_with_codes(&h, &tf, &bob).await;
    let _ = bob_app;
    assert!(matches!(
        tf.begin_login(&bob, Some(&token)).await.unwrap(),
        LoginStep::Challenge { .. }
    ));
    h.advance(29 * 86_400);
    assert!(matches!(
        tf.begin_login(&alice, Some(&token)).await.unwrap(),
        LoginStep::Challenge { .. }
    ));
    assert!(tf.devices(&alice).await.unwrap().is_empty());
}

/// The security page counts a remembered device until the second it
/// expires, as the login does.
#[tokio::test]
async fn the_status_counts_a_device_until_its_expiry_second() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let (app, _) = set_up_with_codes(&h, &tf, &alice).await;
    let token = remember(&h, &tf, &alice, &app, "laptop").await.token;
    h.advance(30 * 86_400 - 1);
    assert!(matches!(
        tf.status(&alice).await.unwrap(),
        Status::On { devices: 1, .. }
    ));
    h.advance(1);
    assert!(matches!(
        tf.status(&alice).await.unwrap(),
        Status::On { devices: 0, .. }
    ));
    assert!(matches!(
        tf.begin_login(&alice, Some(token.expose_secret()))
            .await
            .unwrap(),
        LoginStep::Challenge { .. }
    ));
}

#[tokio::test]
async fn revoke_one_device_or_all() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let (app, _) = set_up_with_codes(&h, &tf, &alice).await;
    let mut tokens = Vec::new();
    for label in ["laptop", "phone"] {
        tokens.push(remember(&h, &tf, &alice, &app, label).await);
    }
    assert!(matches!(
        tf.status(&alice).await.unwrap(),
        Status::On { devices: 2, .. }
    ));
    tf.revoke_device(&alice, &tokens[0].id).await.unwrap();
    assert!(matches!(
        tf.revoke_device(&alice, &tokens[0].id).await,
        Err(Error::NoSuchDevice)
    ));
    let t0 = tokens[0].token.expose_secret().to_owned();
    let t1 = tokens[1].token.expose_secret().to_owned();
    assert!(matches!(
        tf.begin_login(&alice, Some(&t0)).await.unwrap(),
        LoginStep::Challenge { .. }
    ));
    assert!(matches!(
        tf.begin_login(&alice, Some(&t1)).await.unwrap(),
        LoginStep::Trusted { .. }
    ));
    assert_eq!(tf.revoke_all_devices(&alice).await.unwrap(), 1);
    assert!(matches!(
        tf.begin_login(&alice, Some(&t1)).await.unwrap(),
        LoginStep::Challenge { .. }
    ));
}

#[tokio::test]
async fn devices_are_forgotten_when_the_factors_change() {
    for change in ["disable", "suspend", "reset", "primary", "switch"] {
        let h = Harness::new();
        let tf = h.instance();
        let alice = h.account("alice");
        let (app, _) = set_up_with_codes(&h, &tf, &alice).await;
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
        let device = remember(&h, &tf, &alice, &app, "laptop").await;
        let token = device.token.expose_secret().to_owned();
        h.advance(30);
        match change {
            "disable" => {
                assert!(tf
                    .disable(&alice, &grant, Keep::Nothing)
                    .await
                    .unwrap()
                    .is_accepted())
            }
            "suspend" => {
                assert!(tf
                    .disable(&alice, &grant, Keep::Settings)
                    .await
                    .unwrap()
                    .is_accepted())
            }
            "reset" => {
                let (root, _, proof) = h.admin(&tf, "root").await;
                assert!(tf
                    .admin_reset(&root, &proof, &alice, "lost phone")
                    .await
                    .unwrap()
                    .is_accepted())
            }
            "primary" => {
                assert!(tf
                    .set_primary(&alice, Method::Email, &grant)
                    .await
                    .unwrap()
                    .is_accepted())
            }
            _ => {
                let code = app.code(h.now());
                let pw = password();
                let setup = tf.begin_setup(&alice, NewMethod::App, Reauth::with_code(&pw, &code));
                let Verdict::Accepted(Setup::App(s)) = setup.await.unwrap() else {
                    panic!()
                };
                let new = App::from_grouped(s.secret.expose_secret());
                assert!(tf
                    .confirm_setup(&alice, &new.code(h.now()))
                    .await
                    .unwrap()
                    .is_accepted());
            }
        }
        assert!(tf.devices(&alice).await.unwrap().is_empty(), "{change}");
        assert!(
            !matches!(
                tf.begin_login(&alice, Some(&token)).await.unwrap(),
                LoginStep::Trusted { .. }
            ),
            "{change}"
        );
    }
}

#[tokio::test]
async fn switching_method_without_a_gap() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let (app, codes) = set_up_with_codes(&h, &tf, &alice).await;
    let stamp = tf.security_stamp(&alice).await.unwrap();
    h.advance(30);
    // a switch needs the password and a current code of the method in force
    assert!(matches!(
        tf.begin_setup(
            &alice,
            NewMethod::Sms(PhoneNumber::parse("+60123451688").unwrap()),
            &password()
        )
        .await,
        Err(Error::StepUpRequired)
    ));
    let pw = password();
    assert!(!tf
        .begin_setup(&alice, NewMethod::App, Reauth::with_code(&pw, "000000"))
        .await
        .unwrap()
        .is_accepted());
    let code = app.code(h.now());
    let number = PhoneNumber::parse("+60123451688").unwrap();
    let Verdict::Accepted(Setup::Code(_)) = tf
        .begin_setup(
            &alice,
            NewMethod::Sms(number),
            Reauth::with_code(&pw, &code),
        )
        .await
        .unwrap()
    else {
        panic!()
    };
    // meanwhile the app keeps protecting every login
    h.advance(30);
    assert!(matches!(
        tf.status(&alice).await.unwrap(),
        Status::On {
            primary: Method::App,
            pending: Some(Method::Sms),
            ..
        }
    ));
    assert!(matches!(
        tf.begin_login(&alice, None).await.unwrap(),
        LoginStep::Challenge {
            method: Method::App,
            ..
        }
    ));
    assert!(logs_in(&tf, &alice, &app.code(h.now())).await);
    // the SMS code confirms the switch, atomically
    h.advance(30);
    tf.resend_setup_code(&alice).await.unwrap();
    assert!(tf
        .confirm_setup(&alice, &h.last_code())
        .await
        .unwrap()
        .is_accepted());
    let Status::On {
        methods,
        primary,
        recovery_codes_left,
        ..
    } = tf.status(&alice).await.unwrap()
    else {
        panic!()
    };
    assert_eq!((methods, primary), (vec![Method::Sms], Method::Sms));
    assert_eq!(recovery_codes_left, 10, "recovery codes survive a switch");
    assert_ne!(tf.security_stamp(&alice).await.unwrap(), stamp);
    assert!(h.notices().contains(&Change::PrimaryChanged(Method::Sms)));
    // the old app no longer works; a recovery code still does
    h.advance(30);
    assert!(!logs_in(&tf, &alice, &app.code(h.now())).await);
    assert!(logs_in(&tf, &alice, &codes[0]).await);
}

#[tokio::test]
async fn a_new_phone_for_the_app_is_a_switch_from_app_to_app() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let (old, _) = set_up_with_codes(&h, &tf, &alice).await;
    h.advance(30);
    let pw = password();
    let code = old.code(h.now());
    let Verdict::Accepted(Setup::App(s)) = tf
        .begin_setup(&alice, NewMethod::App, Reauth::with_code(&pw, &code))
        .await
        .unwrap()
    else {
        panic!()
    };
    let new = App::from_grouped(s.secret.expose_secret());
    h.advance(30);
    assert!(tf
        .confirm_setup(&alice, &new.code(h.now()))
        .await
        .unwrap()
        .is_accepted());
    h.advance(30);
    assert!(!logs_in(&tf, &alice, &old.code(h.now())).await);
    assert!(logs_in(&tf, &alice, &new.code(h.now())).await);
}

#[tokio::test]
async fn a_cancelled_or_lapsed_switch_leaves_everything_as_it_was() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let (app, _) = set_up_with_codes(&h, &tf, &alice).await;
    // the status but when each authenticator was last used (the step-up
    // that cancels uses the app)
    let status = || async {
        let mut status = tf.status(&alice).await.unwrap();
        if let Status::On { authenticators, .. } = &mut status {
            authenticators.iter_mut().for_each(|a| a.last_used = None);
        }
        status
    };
    let before = status().await;
    for lapse in [false, true] {
        h.advance(30);
        let pw = password();
        let code = app.code(h.now());
        let begun = tf
            .begin_setup(&alice, NewMethod::App, Reauth::with_code(&pw, &code))
            .await;
        assert!(begun.unwrap().is_accepted());
        if lapse {
            h.advance(900);
        } else {
            // cancelling a switch is a step-up of its own
            assert!(matches!(
                tf.cancel_setup(&alice, &password()).await,
                Err(Error::StepUpRequired)
            ));
            let grant = h.grant(&tf, &alice, &app).await;
            assert!(tf.cancel_setup(&alice, &grant).await.unwrap().is_accepted());
            assert!(matches!(
                tf.cancel_setup(&alice, &grant).await,
                Err(Error::NoPendingSetup)
            ));
            // nothing to cancel is said before any proof is evaluated: a
            // wrong code is not even counted
            let rejected = h.events.count(EventKind::StepUpRejected);
            assert!(matches!(
                tf.cancel_setup(&alice, Reauth::with_code(&pw, "000000"))
                    .await,
                Err(Error::NoPendingSetup)
            ));
            assert_eq!(h.events.count(EventKind::StepUpRejected), rejected);
        }
        assert_eq!(status().await, before);
        h.advance(30);
        assert!(logs_in(&tf, &alice, &app.code(h.now())).await);
    }
}

#[tokio::test]
async fn the_help_pages_way_disable_then_set_up_still_works() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let (app, _) = set_up_with_codes(&h, &tf, &alice).await;
    h.advance(30);
    let pw = password();
    let code = app.code(h.now());
    assert!(tf
        .disable(&alice, Reauth::with_code(&pw, &code), Keep::Nothing)
        .await
        .unwrap()
        .is_accepted());
    // off: the password alone sets it up again
    let (new, codes) = set_up_with_codes(&h, &tf, &alice).await;
    assert_eq!(codes.len(), 10);
    h.advance(30);
    assert!(logs_in(&tf, &alice, &new.code(h.now())).await);
}

#[tokio::test]
async fn disable_keeping_the_settings_then_reenable_without_a_new_scan() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let (app, codes) = set_up_with_codes(&h, &tf, &alice).await;
    h.advance(30);
    let pw = password();
    let code = app.code(h.now());
    assert!(tf
        .disable(&alice, Reauth::with_code(&pw, &code), Keep::Settings)
        .await
        .unwrap()
        .is_accepted());
    assert!(matches!(
        tf.status(&alice).await.unwrap(),
        Status::Suspended {
            primary: Method::App,
            ..
        }
    ));
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        LoginStep::NotRequired
    );
    assert!(matches!(
        tf.verify_login(&alice, &codes[0], None).await,
        Err(Error::NotEnabled)
    ));
    assert!(h.notices().contains(&Change::Suspended));
    // the password alone does not bring it back; a wrong code counts
    h.advance(30);
    assert!(matches!(
        tf.reenable(&alice, &password()).await,
        Err(Error::StepUpRequired)
    ));
    assert_eq!(
        tf.reenable(&alice, Reauth::with_code(&pw, "000000"))
            .await
            .unwrap(),
        wrong(4)
    );
    let code = app.code(h.now());
    let other = SecretString::from("x");
    assert!(!tf
        .reenable(&alice, Reauth::with_code(&other, &code))
        .await
        .unwrap()
        .is_accepted());
    // the same secret, proved by a current code
    assert!(tf
        .reenable(&alice, Reauth::with_code(&pw, &code))
        .await
        .unwrap()
        .is_accepted());
    assert!(matches!(
        tf.status(&alice).await.unwrap(),
        Status::On {
            recovery_codes_left: 10,
            ..
        }
    ));
    assert!(matches!(
        tf.reenable(&alice, Reauth::with_code(&pw, "123456")).await,
        Err(Error::AlreadyEnabled)
    ));
    h.advance(30);
    assert!(logs_in(&tf, &alice, &app.code(h.now())).await);
}

/// A new app begun while suspended (to replace the kept settings) and
/// then overtaken by re-enabling the kept ones is not confirmed over them.
#[tokio::test]
async fn a_setup_begun_while_suspended_does_not_replace_the_settings_reenabled() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let (app, _) = set_up_with_codes(&h, &tf, &alice).await;
    let pw = password();
    h.advance(30);
    let code = app.code(h.now());
    assert!(tf
        .disable(&alice, Reauth::with_code(&pw, &code), Keep::Settings)
        .await
        .unwrap()
        .is_accepted());
    h.advance(30);
    let code = app.code(h.now());
    let Verdict::Accepted(Setup::App(setup)) = tf
        .begin_setup(&alice, NewMethod::App, Reauth::with_code(&pw, &code))
        .await
        .unwrap()
    else {
        panic!("setup refused")
    };
    let new = App::from_grouped(setup.secret.expose_secret());
    h.advance(30);
    let code = app.code(h.now());
    assert!(tf
        .reenable(&alice, Reauth::with_code(&pw, &code))
        .await
        .unwrap()
        .is_accepted());
    assert!(matches!(
        tf.confirm_setup(&alice, &new.code(h.now())).await,
        Err(Error::AlreadyEnabled)
    ));
    // the kept app is the one that logs in, with the codes kept
    h.advance(30);
    assert!(logs_in(&tf, &alice, &app.code(h.now())).await);
    assert!(matches!(
        tf.status(&alice).await.unwrap(),
        Status::On {
            recovery_codes_left: 10,
            ..
        }
    ));
}

#[tokio::test]
async fn reenable_an_sms_method_with_a_code_sent_while_suspended() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let number = PhoneNumber::parse("+60123451688").unwrap();
    let _ = tf
        .begin_setup(&alice, NewMethod::Sms(number), &password())
        .await
        .unwrap();
    assert!(tf
        .confirm_setup(&alice, &h.last_code())
        .await
        .unwrap()
        .is_accepted());
    h.advance(30);
    tf.send_step_up_code(&alice, Method::Sms).await.unwrap();
    let (pw, code) = (password(), h.last_code());
    assert!(tf
        .disable(&alice, Reauth::with_code(&pw, &code), Keep::Settings)
        .await
        .unwrap()
        .is_accepted());
    h.advance(30);
    // no login code while suspended (the password alone logs in): none
    // is sent, and the step-up code is the way to prove the number
    let before = h.sent();
    assert!(matches!(
        tf.send_code(&alice, Method::Sms).await,
        Err(Error::NotEnabled)
    ));
    assert_eq!(h.sent(), before);
    let sent = tf.send_step_up_code(&alice, Method::Sms).await.unwrap();
    assert_eq!(sent.to, "+60 ••• ••• 1688", "the same number, kept");
    let code = h.last_code();
    assert!(tf
        .reenable(&alice, Reauth::with_code(&pw, &code))
        .await
        .unwrap()
        .is_accepted());
}

#[tokio::test]
async fn disable_deleting_the_settings_leaves_nothing() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let (app, codes) = set_up_with_codes(&h, &tf, &alice).await;
    let grant = h.grant(&tf, &alice, &app).await;
    let _ = tf
        .add_fallback(
            &alice,
            NewMethod::Sms(PhoneNumber::parse("+60123451688").unwrap()),
            &grant,
        )
        .await
        .unwrap();
    assert!(tf
        .confirm_setup(&alice, &h.last_code())
        .await
        .unwrap()
        .is_accepted());
    let _ = remember(&h, &tf, &alice, &app, "laptop").await;
    h.advance(30);
    let _ = tf.send_code(&alice, Method::Sms).await.unwrap();
    assert!(tf
        .disable(&alice, &grant, Keep::Nothing)
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(tf.status(&alice).await.unwrap(), Status::Off);
    let doc = document_json(&h.store.load("alice").await.unwrap().unwrap().document);
    for gone in ["factors", "pending", "code", "recovery"] {
        assert!(doc[gone].is_null(), "{gone} left: {doc}");
    }
    assert_eq!(doc["devices"], serde_json::json!([]), "devices left: {doc}");
    assert_eq!(doc["grants"], serde_json::json!([]), "grants left: {doc}");
    let pw = password();
    assert!(matches!(
        tf.reenable(&alice, Reauth::with_code(&pw, &codes[0])).await,
        Err(Error::NotEnabled)
    ));
    // the number that no longer gets codes is told
    let told: Vec<_> = h
        .outbox
        .messages()
        .into_iter()
        .filter(|r| r.to == "+60123451688" && matches!(r.message, Message::Notice(_)))
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    // settings kept earlier can be deleted too
    let (app, _) = set_up_with_codes(&h, &tf, &alice).await;
    let grant = h.grant(&tf, &alice, &app).await;
    assert!(tf
        .disable(&alice, &grant, Keep::Settings)
        .await
        .unwrap()
        .is_accepted());
    assert!(matches!(
        tf.disable(&alice, &grant, Keep::Settings).await,
        Err(Error::NotEnabled)
    ));
    assert!(tf
        .disable(&alice, &grant, Keep::Nothing)
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(tf.status(&alice).await.unwrap(), Status::Off);
}

#[tokio::test]
async fn admin_lists_and_resets_a_user_who_lost_the_phone() {
    let h = Harness::new();
    let tf = h.instance();
    let names = ["amy", "ben", "cal", "dee", "eve"];
    for name in names {
        let _ = h.account(name);
    }
    let amy = h.account("amy");
    set_up_with_codes(&h, &tf, &amy).await;
    let ben = h.account("ben");
    let _ = tf
        .begin_setup(&ben, NewMethod::Email, &password())
        .await
        .unwrap();
    let cal = h.account("cal");
    let number = PhoneNumber::parse("+60123451688").unwrap();
    let _ = tf
        .begin_setup(&cal, NewMethod::Sms(number), &password())
        .await
        .unwrap();
    assert!(tf
        .confirm_setup(&cal, &h.last_code())
        .await
        .unwrap()
        .is_accepted());
    h.advance(30);
    tf.send_step_up_code(&cal, Method::Sms).await.unwrap();
    let (pw, code) = (password(), h.last_code());
    assert!(tf
        .disable(&cal, Reauth::with_code(&pw, &code), Keep::Settings)
        .await
        .unwrap()
        .is_accepted());
    let _ = h.store.save("dee", b"garbage", 0).await.unwrap();

    let first = tf.admin_list(None, 2).await.unwrap();
    let rest = tf.admin_list(first.next.as_deref(), 2).await.unwrap();
    assert_eq!(first.next.as_deref(), Some("ben"));
    assert_eq!(rest.next.as_deref(), Some("dee"));
    let last = tf.admin_list(rest.next.as_deref(), 2).await.unwrap();
    assert_eq!(last.next, None);
    // a page not filled is the last one
    let three = tf.admin_list(None, 3).await.unwrap();
    assert_eq!(three.next.as_deref(), Some("cal"));
    let tail = tf.admin_list(three.next.as_deref(), 3).await.unwrap();
    assert_eq!((tail.accounts.len(), tail.next), (1, None));
    let none = tf.admin_list(None, 0).await.unwrap();
    assert!(none.accounts.is_empty() && none.next.is_none());
    let all: Vec<_> = [first.accounts, rest.accounts, last.accounts].concat();
    let states: Vec<_> = all.iter().map(|a| (a.user.as_str(), a.state)).collect();
    assert_eq!(
        states,
        [
            ("amy", State::On),
            ("ben", State::Pending),
            ("cal", State::Suspended),
            ("dee", State::Unreadable)
        ]
    );
    assert_eq!(all[0].methods, [Method::App]);
    assert_eq!(all[2].methods, [Method::Sms]);
    let shown = format!("{all:?}");
    assert!(
        !shown.contains("1688") && !shown.contains("example.com"),
        "{shown}"
    );

    let (admin, _, proof) = h.admin(&tf, "support-7").await;
    assert!(tf
        .admin_reset(&admin, &proof, &amy, "lost phone\nticket 42")
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(tf.status(&amy).await.unwrap(), Status::Off);
    assert_eq!(
        tf.begin_login(&amy, None).await.unwrap(),
        LoginStep::NotRequired
    );
    assert!(matches!(
        tf.admin_reset(&admin, &proof, &amy, "again").await,
        Err(Error::NotEnabled)
    ));
    let events = h.events.0.lock().unwrap().clone();
    let reset = events
        .iter()
        .find(|e| e.kind == EventKind::AdminReset)
        .unwrap();
    assert_eq!(reset.account, "amy");
    assert_eq!(reset.actor.as_deref(), Some("support-7"));
    assert_eq!(
        reset.reason.as_deref(),
        Some("lost phone ticket 42"),
        "no newline in logs"
    );
    let mail = h.outbox.messages();
    let last = mail.last().unwrap();
    assert_eq!(last.to, "amy@example.com");
    assert!(matches!(&last.message, Message::Notice(n) if n.change == Change::AdminReset));
    // the user sets it up again
    set_up_with_codes(&h, &tf, &amy).await;
    assert!(tf.status(&amy).await.unwrap().is_on());
}

#[tokio::test]
async fn every_transition_is_audited_without_secrets() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let (app, codes) = set_up_with_codes(&h, &tf, &alice).await;
    h.advance(30);
    let _ = tf.verify_login(&alice, "000000", None).await.unwrap();
    let v = tf
        .verify_login(&alice, &app.code(h.now()), Some("laptop"))
        .await
        .unwrap();
    let token = v
        .accepted()
        .unwrap()
        .device
        .unwrap()
        .token
        .expose_secret()
        .to_owned();
    let _ = tf.begin_login(&alice, Some(&token)).await.unwrap();
    let _ = tf.verify_login(&alice, &codes[1], None).await.unwrap();
    let _ = tf.revoke_all_devices(&alice).await.unwrap();
    let grant = h.grant(&tf, &alice, &app).await;
    assert!(tf
        .disable(&alice, &grant, Keep::Settings)
        .await
        .unwrap()
        .is_accepted());
    h.advance(30);
    let (pw, code) = (password(), app.code(h.now()));
    assert!(tf
        .reenable(&alice, Reauth::with_code(&pw, &code))
        .await
        .unwrap()
        .is_accepted());
    let (root, _, proof) = h.admin(&tf, "root").await;
    assert!(tf
        .admin_reset(&root, &proof, &alice, "test")
        .await
        .unwrap()
        .is_accepted());
    let events: Vec<_> = h
        .events
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.account == "alice")
        .cloned()
        .collect();
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    for k in [
        EventKind::SetupBegun,
        EventKind::Enabled,
        EventKind::RecoveryCodesIssued,
        EventKind::LoginRejected,
        EventKind::LoginAccepted,
        EventKind::DeviceRemembered,
        EventKind::TrustedDevice,
        EventKind::RecoveryCodeUsed,
        EventKind::DevicesRevoked,
        EventKind::StepUp,
        EventKind::GrantUsed,
        EventKind::Suspended,
        EventKind::Reenabled,
        EventKind::AdminReset,
    ] {
        assert!(kinds.contains(&k), "{k:?} missing from {kinds:?}");
    }
    for e in &events {
        assert_eq!(e.account, "alice");
        let shown = format!("{e:?}");
        for secret in codes.iter().chain([&token]) {
            assert!(!shown.contains(secret.as_str()), "{shown}");
        }
        assert!(!shown.contains("example.com"));
    }
    let failures: Vec<_> = events
        .iter()
        .filter(|e| e.kind.is_failure())
        .map(|e| e.kind)
        .collect();
    assert_eq!(failures, [EventKind::LoginRejected]);
}

#[tokio::test]
async fn the_security_stamp_changes_with_every_factor_change_only() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    assert_eq!(tf.security_stamp(&alice).await.unwrap(), None);
    let (app, _) = set_up_with_codes(&h, &tf, &alice).await;
    let mut seen = vec![tf.security_stamp(&alice).await.unwrap().unwrap()];
    let mut changed = |stamp: Option<String>, should: bool, what: &str| {
        let stamp = stamp.unwrap();
        assert_eq!(!seen.contains(&stamp), should, "{what}");
        seen.push(stamp);
    };
    h.advance(30);
    assert!(logs_in(&tf, &alice, &app.code(h.now())).await);
    changed(tf.security_stamp(&alice).await.unwrap(), false, "a login");
    let grant = h.grant(&tf, &alice, &app).await;
    changed(tf.security_stamp(&alice).await.unwrap(), false, "a step-up");
    let _ = tf
        .add_fallback(&alice, NewMethod::Email, &grant)
        .await
        .unwrap();
    changed(
        tf.security_stamp(&alice).await.unwrap(),
        false,
        "a setup begun",
    );
    assert!(tf
        .confirm_setup(&alice, &h.last_code())
        .await
        .unwrap()
        .is_accepted());
    changed(
        tf.security_stamp(&alice).await.unwrap(),
        true,
        "a fallback added",
    );
    assert!(tf
        .set_primary(&alice, Method::Email, &grant)
        .await
        .unwrap()
        .is_accepted());
    changed(
        tf.security_stamp(&alice).await.unwrap(),
        true,
        "a new primary",
    );
    assert!(tf
        .remove_fallback(&alice, Method::App, &grant)
        .await
        .unwrap()
        .is_accepted());
    changed(
        tf.security_stamp(&alice).await.unwrap(),
        true,
        "a fallback removed",
    );
    let _ = tf.regenerate_recovery_codes(&alice, &grant).await.unwrap();
    changed(
        tf.security_stamp(&alice).await.unwrap(),
        true,
        "new recovery codes",
    );
    assert!(tf
        .disable(&alice, &grant, Keep::Nothing)
        .await
        .unwrap()
        .is_accepted());
    changed(tf.security_stamp(&alice).await.unwrap(), true, "turned off");
}

/// Codes keep the argon2id cost they were hashed with: raising the policy's
/// cost later leaves them working, and new ones get the new cost.
#[tokio::test]
async fn recovery_codes_survive_a_change_of_cost() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let (app, codes) = set_up_with_codes(&h, &tf, &alice).await;
    let before = h.store.load("alice").await.unwrap().unwrap().document;
    let mut dearer = policy();
    dearer.recovery.memory_kib *= 2;
    dearer.recovery.passes += 1;
    let later = h.instance_with(dearer);
    assert!(logs_in(&later, &alice, &codes[2]).await);
    let grant = h.grant(&later, &alice, &app).await;
    let fresh = later
        .regenerate_recovery_codes(&alice, &grant)
        .await
        .unwrap()
        .accepted()
        .unwrap();
    let after = h.store.load("alice").await.unwrap().unwrap().document;
    let cost = |doc: &[u8]| document_json(doc)["recovery"]["cost"].clone();
    assert_ne!(cost(&before), cost(&after));
    assert_eq!(
        cost(&after)["passes"],
        serde_json::json!(policy().recovery.passes + 1)
    );
    h.advance(30);
    assert!(logs_in(&later, &alice, &shown(&fresh.codes)[0]).await);
}
