//! Several named authenticators per user: adding and removing them under
//! the step-up rule, each app's codes, one step accepted once across all
//! apps, the cap per kind, the list pages and events show, and a record
//! written before authenticators had names loading as a list of one.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::race::{Farm, TASKS};
use common::*;
use secrecy::ExposeSecret;
use twofactor::testing::{Authenticator, ManualClock};
use twofactor::{
    Account, Algorithm, Argon2Passwords, AuthenticatorInfo, Error, EventKind, Grant, LoginStep,
    MasterKey, MemoryStore, Method, NewMethod, Rejection, Setup, State, Status, Timestamp,
    TwoFactor, UserStore, Verdict,
};

/// Adds an app named `label` under `grant` and confirms it with its first
/// code; returns the new app.
async fn add_app(
    h: &Harness,
    tf: &TwoFactor,
    account: &Account,
    label: &str,
    grant: &Grant,
) -> App {
    let begun = tf
        .add_fallback(account, NewMethod::App.labelled(label), grant)
        .await
        .unwrap();
    let Verdict::Accepted(Setup::App(setup)) = begun else {
        panic!("refused: {begun:?}")
    };
    let app = App::from_grouped(setup.secret.expose_secret());
    let confirmed = tf.confirm_setup(account, &app.code(h.now())).await.unwrap();
    assert!(confirmed.is_accepted(), "{confirmed:?}");
    app
}

fn labels(list: &[AuthenticatorInfo]) -> Vec<(Method, &str)> {
    list.iter().map(|a| (a.method, a.label.as_str())).collect()
}

#[tokio::test]
async fn a_second_app_is_added_named_and_each_logs_in() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let first = h.set_up_app(&tf, &alice).await;

    // the password alone adds nothing
    let pw = password();
    assert!(matches!(
        tf.add_fallback(&alice, NewMethod::App.labelled("Pixel 8"), &pw)
            .await,
        Err(Error::StepUpRequired)
    ));
    assert_eq!(tf.authenticators(&alice).await.unwrap().len(), 1);

    let grant = h.grant(&tf, &alice, &first).await;
    let pixel = add_app(&h, &tf, &alice, "Pixel 8", &grant).await;
    // a third without a name is numbered after the kind
    let tablet = {
        let begun = tf
            .add_fallback(&alice, NewMethod::App, &grant)
            .await
            .unwrap();
        let Verdict::Accepted(Setup::App(setup)) = begun else {
            panic!()
        };
        let app = App::from_grouped(setup.secret.expose_secret());
        assert!(tf
            .confirm_setup(&alice, &app.code(h.now()))
            .await
            .unwrap()
            .is_accepted());
        app
    };
    let list = tf.authenticators(&alice).await.unwrap();
    assert_eq!(
        labels(&list),
        [
            (Method::App, "Authenticator app"),
            (Method::App, "Pixel 8"),
            (Method::App, "Authenticator app 2"),
        ]
    );
    assert!(list.iter().all(|a| a.primary));
    let ids: std::collections::BTreeSet<_> = list.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "ids are distinct");
    // the login still asks for "an app code", once, whatever the app
    assert!(matches!(
        tf.begin_login(&alice, None).await.unwrap(),
        LoginStep::Challenge { method: Method::App, ref alternatives, .. } if alternatives.is_empty()
    ));

    // each app's code logs in, and says which app it was
    for (app, label) in [
        (&pixel, "Pixel 8"),
        (&first, "Authenticator app"),
        (&tablet, "Authenticator app 2"),
    ] {
        h.advance(30);
        let v = tf
            .verify_login(&alice, &app.code(h.now()), None)
            .await
            .unwrap();
        assert!(v.is_accepted(), "{label}: {v:?}");
        let event = h.events.0.lock().unwrap().last().cloned().unwrap();
        assert_eq!(event.kind, EventKind::LoginAccepted);
        assert_eq!(event.method, Some(Method::App));
        assert_eq!(event.authenticator.unwrap().label, label);
        let list = tf.authenticators(&alice).await.unwrap();
        let used = list.iter().find(|a| a.label == label).unwrap();
        assert_eq!(used.last_used, Some(Timestamp::from_unix_seconds(h.now())));
    }
    // nothing of any secret in the events
    let events = format!("{:?}", h.events.0.lock().unwrap());
    for app in [&first, &pixel, &tablet] {
        let secret = data_encoding::BASE32_NOPAD.encode(&app.secret);
        assert!(!events.contains(&secret[..16]));
    }
}

/// A code accepted from one app is refused from every app for that step:
/// each app keeps its own state, and the accepted step is spent for all.
#[tokio::test]
async fn a_step_accepted_from_one_app_is_spent_for_every_app() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let first = h.set_up_app(&tf, &alice).await;
    let grant = h.grant(&tf, &alice, &first).await;
    let second = add_app(&h, &tf, &alice, "old iPhone", &grant).await;

    h.advance(30);
    let now = h.now();
    assert!(logs_in(&tf, &alice, &first.code(now)).await);
    // the other app's code for the same step: a replay, counted
    assert_eq!(
        tf.verify_login(&alice, &second.code(now), None)
            .await
            .unwrap(),
        rejected(4, Rejection::Replayed)
    );
    // and the first app's own code again
    assert_eq!(
        tf.verify_login(&alice, &first.code(now), None)
            .await
            .unwrap(),
        rejected(3, Rejection::Replayed)
    );
    // the next step is fresh for both; either one, once
    h.advance(30);
    let now = h.now();
    assert!(logs_in(&tf, &alice, &second.code(now)).await);
    assert_eq!(
        tf.verify_login(&alice, &first.code(now), None)
            .await
            .unwrap(),
        rejected(4, Rejection::Replayed)
    );
}

/// Many servers, two apps' codes for one step submitted at once: exactly
/// one is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_apps_racing_for_one_step_are_accepted_once() {
    let farm = Farm::memory(policy());
    let tf = &farm.servers[0];
    let alice = farm.user("alice");
    let first = farm.h.set_up_app(tf, &alice).await;
    let grant = farm.h.grant(tf, &alice, &first).await;
    let second = add_app(&farm.h, tf, &alice, "Pixel 8", &grant).await;
    farm.h.advance(30);
    let now = farm.h.now();
    let (a, b) = (first.code(now), second.code(now));
    let verdicts = farm
        .storm(&alice, |i| if i % 2 == 0 { a.clone() } else { b.clone() })
        .await;
    let accepted = verdicts.iter().filter(|v| v.is_accepted()).count();
    assert_eq!(accepted, 1, "{TASKS} submissions: {verdicts:?}");
}

#[tokio::test]
async fn the_number_of_apps_is_capped_by_the_policy() {
    let h = Harness::new();
    let mut p = policy();
    p.authenticators.max_apps = 2;
    let tf = h.instance_with(p.clone());
    let alice = h.account("alice");
    let first = h.set_up_app(&tf, &alice).await;
    let grant = h.grant(&tf, &alice, &first).await;
    // a second begun while there is room…
    let begun = tf
        .add_fallback(&alice, NewMethod::App, &grant)
        .await
        .unwrap();
    let Verdict::Accepted(Setup::App(setup)) = begun else {
        panic!()
    };
    let second = App::from_grouped(setup.secret.expose_secret());
    // …is confirmed on a server whose policy allows one only: refused
    p.authenticators.max_apps = 1;
    let strict = h.instance_with(p);
    assert!(matches!(
        strict.confirm_setup(&alice, &second.code(h.now())).await,
        Err(Error::TooManyAuthenticators { max: 1 })
    ));
    assert!(tf
        .confirm_setup(&alice, &second.code(h.now()))
        .await
        .unwrap()
        .is_accepted());
    // full: a third is refused before anything is evaluated
    let before = h.events.kinds().len();
    assert!(matches!(
        tf.add_fallback(&alice, NewMethod::App.labelled("third"), &grant)
            .await,
        Err(Error::TooManyAuthenticators { max: 2 })
    ));
    assert_eq!(h.events.kinds().len(), before, "nothing evaluated");
    // a policy above ten apps does not build
    let mut wild = policy();
    wild.authenticators.max_apps = 11;
    assert!(matches!(
        h.builder()
            .store(MemoryStore::new())
            .passwords(h.passwords.clone())
            .policy(wild)
            .build(),
        Err(Error::Config(_))
    ));
}

#[tokio::test]
async fn labels_are_checked_before_anything_is_evaluated() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let first = h.set_up_app(&tf, &alice).await;
    let grant = h.grant(&tf, &alice, &first).await;
    let long = "x".repeat(65);
    for bad in ["", "   ", "line\nbreak", "tab\there", long.as_str()] {
        assert!(
            matches!(
                tf.add_fallback(&alice, NewMethod::App.labelled(bad), &grant)
                    .await,
                Err(Error::InvalidLabel)
            ),
            "{bad:?}"
        );
    }
    // trimmed, and 64 characters of any script is fine
    let ok = "é".repeat(64);
    let app = add_app(&h, &tf, &alice, &format!("  {ok} "), &grant).await;
    let list = tf.authenticators(&alice).await.unwrap();
    assert_eq!(list[1].label, ok);
    h.advance(30);
    assert!(logs_in(&tf, &alice, &app.code(h.now())).await);
}

#[tokio::test]
async fn one_app_is_removed_by_id_under_the_step_up_rule() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let first = h.set_up_app(&tf, &alice).await;
    let grant = h.grant(&tf, &alice, &first).await;
    let lost = add_app(&h, &tf, &alice, "lost phone", &grant).await;
    let list = tf.authenticators(&alice).await.unwrap();
    let lost_id = list[1].id.clone();

    // the password alone removes nothing; an unknown id is a typed error
    let pw = password();
    assert!(matches!(
        tf.remove_authenticator(&alice, &lost_id, &pw).await,
        Err(Error::StepUpRequired)
    ));
    assert!(matches!(
        tf.remove_authenticator(&alice, "app-nothing", &grant).await,
        Err(Error::NoSuchAuthenticator)
    ));
    let removed = tf
        .remove_authenticator(&alice, &lost_id, &grant)
        .await
        .unwrap();
    assert!(removed.is_accepted());
    assert_eq!(
        labels(&tf.authenticators(&alice).await.unwrap()),
        [(Method::App, "Authenticator app")]
    );
    let event = h
        .events
        .0
        .lock()
        .unwrap()
        .iter()
        .rfind(|e| e.kind == EventKind::AuthenticatorRemoved)
        .cloned()
        .unwrap();
    assert_eq!(event.authenticator.unwrap().label, "lost phone");
    assert!(h
        .notices()
        .contains(&twofactor::Change::AuthenticatorRemoved(Method::App)));
    // its codes no longer log in; the other app's do
    h.advance(30);
    assert_eq!(
        tf.verify_login(&alice, &lost.code(h.now()), None)
            .await
            .unwrap(),
        wrong(4)
    );
    assert!(logs_in(&tf, &alice, &first.code(h.now())).await);
}

#[tokio::test]
async fn removing_the_last_of_the_primary_kind_promotes_the_next_and_the_last_of_all_turns_it_off()
{
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let grant = h.grant(&tf, &alice, &app).await;
    h.add_fallback(&tf, &alice, NewMethod::Email, &grant).await;
    let list = tf.authenticators(&alice).await.unwrap();
    assert_eq!(
        labels(&list),
        [(Method::App, "Authenticator app"), (Method::Email, "Email")]
    );
    assert_eq!(list[1].id, "email");

    let removed = tf
        .remove_authenticator(&alice, &list[0].id, &grant)
        .await
        .unwrap();
    assert!(removed.is_accepted());
    assert_eq!(
        tf.status(&alice).await.unwrap().primary(),
        Some(Method::Email)
    );

    // the last one: that is turning it off, under the disable rule
    let pw = password();
    assert!(matches!(
        tf.remove_authenticator(&alice, "email", &pw).await,
        Err(Error::StepUpRequired)
    ));
    assert!(tf
        .remove_authenticator(&alice, "email", &grant)
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(tf.status(&alice).await.unwrap(), Status::Off);
    assert!(tf.authenticators(&alice).await.unwrap().is_empty());
    assert_eq!(h.events.count(EventKind::Disabled), 1);
}

#[tokio::test]
async fn the_admin_list_names_each_authenticator() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let grant = h.grant(&tf, &alice, &app).await;
    add_app(&h, &tf, &alice, "Pixel 8", &grant).await;
    let page = tf.admin_list(None, 10).await.unwrap();
    let line = page.accounts.iter().find(|a| a.user == "alice").unwrap();
    assert_eq!(line.state, State::On);
    assert_eq!(line.methods, [Method::App]);
    assert_eq!(
        labels(&line.authenticators),
        [(Method::App, "Authenticator app"), (Method::App, "Pixel 8")]
    );
    let Status::On { authenticators, .. } = tf.status(&alice).await.unwrap() else {
        panic!()
    };
    assert_eq!(authenticators, line.authenticators);
}

/// A record written before authenticators had names (schema 3, one app,
/// committed in `tests/data/`) loads as a list of one, logs in with the
/// same app and its replay state, and takes a second app.
#[tokio::test]
async fn a_schema_3_record_loads_as_a_list_of_one() {
    let text = std::fs::read_to_string("tests/data/record-v3.json").unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema"], 3);
    let doc = data_encoding::HEXLOWER
        .decode(v["document_hex"].as_str().unwrap().as_bytes())
        .unwrap();
    let secret = data_encoding::BASE32_NOPAD
        .decode(v["totp_secret_base32"].as_str().unwrap().as_bytes())
        .unwrap();
    let now = v["now"].as_u64().unwrap();
    let store = MemoryStore::new();
    let _ = store.save("user-v3", &doc, 0).await.unwrap();
    let clock = ManualClock::new(Timestamp::from_unix_seconds(now));
    let passwords = Argon2Passwords::with_params(64, 1, 1).unwrap();
    passwords.set("user-v3", &password()).unwrap();
    let tf = TwoFactor::builder()
        .issuer("Acme Portal")
        .key(MasterKey::new([9; 32]))
        .store(store.clone())
        .passwords(passwords)
        .clock(clock.clone())
        .policy(policy())
        .build()
        .unwrap();
    let alice = Account::new("user-v3", "user-v3@example.com");
    let phone = Authenticator::new(&secret, Algorithm::Sha1, 6, 30);
    let code = |at: u64| phone.code_at(Timestamp::from_unix_seconds(at));

    let list = tf.authenticators(&alice).await.unwrap();
    assert_eq!(labels(&list), [(Method::App, "Authenticator app")]);
    assert_eq!(list[0].id, "app");
    assert!(list[0].primary && list[0].last_used.is_none());
    // the step it last logged in with is still spent
    assert_eq!(
        tf.verify_login(&alice, &code(now), None).await.unwrap(),
        rejected(4, Rejection::Replayed)
    );
    clock.advance(std::time::Duration::from_secs(30));
    assert!(logs_in(&tf, &alice, &code(now + 30)).await);
    assert_eq!(
        store.load("user-v3").await.unwrap().unwrap().document[0],
        twofactor::__internal::SCHEMA_VERSION as u8,
        "written back as the current schema"
    );
    // the remembered device and the recovery codes came along
    let device = v["device_token"].as_str().unwrap();
    assert!(matches!(
        tf.begin_login(&alice, Some(device)).await.unwrap(),
        LoginStep::Trusted { .. }
    ));
    // and a second app joins it
    clock.advance(std::time::Duration::from_secs(30));
    let pw = password();
    let grant = tf
        .step_up(&alice, &pw, &code(now + 60))
        .await
        .unwrap()
        .accepted()
        .unwrap();
    let begun = tf
        .add_fallback(&alice, NewMethod::App.labelled("Pixel 8"), &grant)
        .await
        .unwrap();
    let Verdict::Accepted(Setup::App(setup)) = begun else {
        panic!()
    };
    let pixel = App::from_grouped(setup.secret.expose_secret());
    assert!(tf
        .confirm_setup(&alice, &pixel.code(now + 60))
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(
        labels(&tf.authenticators(&alice).await.unwrap()),
        [(Method::App, "Authenticator app"), (Method::App, "Pixel 8")]
    );
}

/// Removing the last authenticator of a kind voids a code that kind sent;
/// a code sent by a kind still set up stays good.
#[tokio::test]
async fn removing_a_kind_voids_its_sent_code_and_only_its() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let grant = h.grant(&tf, &alice, &app).await;
    h.add_fallback(&tf, &alice, NewMethod::Email, &grant).await;
    h.advance(30);
    tf.send_code(&alice, Method::Email).await.unwrap();
    let by_email = h.last_code();
    assert!(removes(&tf, &alice, "Email", &grant).await);
    assert!(!logs_in(&tf, &alice, &by_email).await);
    // email again; the app goes while an email code is out
    h.add_fallback(&tf, &alice, NewMethod::Email, &grant).await;
    h.advance(30);
    tf.send_code(&alice, Method::Email).await.unwrap();
    let by_email = h.last_code();
    assert!(removes(&tf, &alice, "Authenticator app", &grant).await);
    assert!(logs_in(&tf, &alice, &by_email).await);
}

/// Removing the number drops a pending change of that number (nothing
/// left to replace) and nothing else pending.
#[tokio::test]
async fn removing_the_number_drops_only_a_pending_number_change() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let grant = h.grant(&tf, &alice, &app).await;
    let number = |n: &str| twofactor::PhoneNumber::parse(n).unwrap();
    h.add_fallback(&tf, &alice, NewMethod::Sms(number("+60123451688")), &grant)
        .await;
    let pending = || async {
        match tf.status(&alice).await.unwrap() {
            Status::On { pending, .. } => pending,
            other => panic!("{other:?}"),
        }
    };
    // setup codes go at most one every 30 s
    h.advance(30);
    let changing = tf
        .change_phone(&alice, number("+14155550100"), &grant)
        .await
        .unwrap();
    assert!(changing.is_accepted(), "{changing:?}");
    assert_eq!(pending().await, Some(Method::Sms));
    assert!(removes(&tf, &alice, "Text message", &grant).await);
    assert_eq!(pending().await, None);
    // nothing pending: the new number's code confirms nothing
    assert!(matches!(
        tf.confirm_setup(&alice, &h.last_code()).await,
        Err(Error::AlreadyEnabled)
    ));
    // a new app being added stays pending when the number goes
    h.advance(30);
    h.add_fallback(&tf, &alice, NewMethod::Sms(number("+60123451688")), &grant)
        .await;
    let adding = tf
        .add_fallback(&alice, NewMethod::App.labelled("Tablet"), &grant)
        .await
        .unwrap();
    assert!(adding.is_accepted(), "{adding:?}");
    assert!(removes(&tf, &alice, "Text message", &grant).await);
    assert_eq!(pending().await, Some(Method::App));
}

/// Removing one of two apps leaves the app the primary kind, even when
/// another kind comes first in the list now, and the devices remembered.
#[tokio::test]
async fn removing_one_of_two_apps_changes_no_primary_and_no_device() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let grant = h.grant(&tf, &alice, &app).await;
    h.add_fallback(&tf, &alice, NewMethod::Email, &grant).await;
    let tablet = add_app(&h, &tf, &alice, "Tablet", &grant).await;
    h.advance(30);
    let remembered = tf
        .verify_login(&alice, &tablet.code(h.now()), Some("Firefox"))
        .await
        .unwrap();
    assert!(remembered.is_accepted());
    assert!(removes(&tf, &alice, "Authenticator app", &grant).await);
    let Status::On {
        primary, devices, ..
    } = tf.status(&alice).await.unwrap()
    else {
        panic!("not on")
    };
    assert_eq!((primary, devices), (Method::App, 1));
}
