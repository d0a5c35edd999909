//! The step-up rule through the public API: every call that changes the
//! factors refuses the password alone, a wrong code, another account's code
//! and grant, and an expired or revoked grant; it takes the password and a
//! current second factor, or a live grant. Also the grants themselves, the
//! switch as a person does it, and the notices a change sends.

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
    Account, Change, Changed, Error, EventKind, Grant, Keep, LoginStep, Message, Method, NewMethod,
    PhoneNumber, Reauth, Rejection, Result, Setup, Status, TwoFactor, Verdict,
};

const NUMBER: &str = "+60123451688";
const NEW_NUMBER: &str = "+14155550100";

/// Every entry point that changes the factors.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Call {
    Switch,
    AddMethod,
    ChangePhone,
    SetPrimary,
    RemoveMethod,
    DisableKeep,
    DisableDelete,
    Regenerate,
    CancelPending,
    ShowPending,
    Reenable,
}

const CALLS: [Call; 11] = [
    Call::Switch,
    Call::AddMethod,
    Call::ChangePhone,
    Call::SetPrimary,
    Call::RemoveMethod,
    Call::DisableKeep,
    Call::DisableDelete,
    Call::Regenerate,
    Call::CancelPending,
    Call::ShowPending,
    Call::Reenable,
];

/// The call's verdict, with the new security stamp when it answers with
/// one (the changes that are made at once; a begun setup changes nothing
/// until it is confirmed).
async fn call(
    c: Call,
    tf: &TwoFactor,
    a: &Account,
    r: Reauth<'_>,
) -> Result<Verdict<Option<String>>> {
    let phone = || PhoneNumber::parse(NEW_NUMBER).unwrap();
    let stamp = |v: Verdict<Changed>| v.map(|c| Some(c.stamp));
    Ok(match c {
        Call::Switch => tf.begin_setup(a, NewMethod::App, r).await?.map(|_| None),
        Call::AddMethod => tf.add_fallback(a, NewMethod::Email, r).await?.map(|_| None),
        Call::ChangePhone => tf.change_phone(a, phone(), r).await?.map(|_| None),
        Call::SetPrimary => stamp(tf.set_primary(a, Method::Sms, r).await?),
        Call::RemoveMethod => stamp(tf.remove_fallback(a, Method::Sms, r).await?),
        Call::DisableKeep => stamp(tf.disable(a, r, Keep::Settings).await?),
        Call::DisableDelete => stamp(tf.disable(a, r, Keep::Nothing).await?),
        Call::Regenerate => tf
            .regenerate_recovery_codes(a, r)
            .await?
            .map(|r| Some(r.stamp)),
        Call::CancelPending => tf.cancel_setup(a, r).await?.map(|()| None),
        Call::ShowPending => tf.pending_setup(a, r).await?.map(|_| None),
        Call::Reenable => stamp(tf.reenable(a, r).await?),
    })
}

/// An account with the app as primary and SMS as a fallback, in the state
/// `c` applies to (a switch pending, or suspended); the user's app.
async fn ready(h: &Harness, tf: &TwoFactor, name: &str, c: Call) -> (Account, App) {
    let account = h.account(name);
    let app = h.set_up_app(tf, &account).await;
    let grant = h.grant(tf, &account, &app).await;
    let number = PhoneNumber::parse(NUMBER).unwrap();
    h.add_fallback(tf, &account, NewMethod::Sms(number), &grant)
        .await;
    match c {
        Call::CancelPending => {
            h.advance(30); // setup codes are 30 s apart
            let begun = tf.begin_setup(&account, NewMethod::Email, &grant).await;
            assert!(begun.unwrap().is_accepted());
        }
        Call::ShowPending => {
            let begun = tf.begin_setup(&account, NewMethod::App, &grant).await;
            assert!(begun.unwrap().is_accepted());
        }
        Call::Reenable => {
            assert!(tf
                .disable(&account, &grant, Keep::Settings)
                .await
                .unwrap()
                .is_accepted());
        }
        _ => {}
    }
    assert!(tf.revoke_step_up(&account, &grant.token).await.unwrap());
    (account, app)
}

/// What the page shows and what protects logins, to check nothing changed.
async fn snapshot(tf: &TwoFactor, a: &Account) -> (Status, Option<String>) {
    (
        tf.status(a).await.unwrap(),
        tf.security_stamp(a).await.unwrap(),
    )
}

#[tokio::test]
async fn every_factor_change_refuses_less_than_a_step_up() {
    for c in CALLS {
        let h = Harness::new();
        let tf = h.instance();
        let (alice, app) = ready(&h, &tf, "alice", c).await;
        let (bob, bob_app) = ready(&h, &tf, "bob", Call::Regenerate).await;
        let bob_grant = h.grant(&tf, &bob, &bob_app).await;
        let before = snapshot(&tf, &alice).await;
        let pw = password();

        // the password alone: refused before anything is evaluated
        assert!(
            matches!(
                call(c, &tf, &alice, Reauth::password(&pw)).await,
                Err(Error::StepUpRequired)
            ),
            "{c:?}: password alone"
        );
        // a grant of another account, or a made-up one
        assert!(
            matches!(
                call(c, &tf, &alice, Reauth::from(&bob_grant)).await,
                Err(Error::StepUpRequired)
            ),
            "{c:?}: bob's grant"
        );
        let made_up = SecretString::from("A".repeat(43));
        assert!(
            matches!(
                call(c, &tf, &alice, Reauth::grant(&made_up)).await,
                Err(Error::StepUpRequired)
            ),
            "{c:?}: a made-up grant"
        );
        assert_eq!(snapshot(&tf, &alice).await, before, "{c:?}");
        // a wrong code, another account's current code, a wrong password:
        // counted rejections
        h.advance(30);
        let bobs = bob_app.code(h.now());
        let alices = app.code(h.now());
        let wrong_pw = SecretString::from("nope");
        for (reauth, reason, left) in [
            (Reauth::with_code(&pw, "000000"), Rejection::WrongCode, 4),
            (Reauth::with_code(&pw, &bobs), Rejection::WrongCode, 3),
            (
                Reauth::with_code(&wrong_pw, &alices),
                Rejection::WrongPassword,
                2,
            ),
        ] {
            assert_eq!(
                call(c, &tf, &alice, reauth).await.unwrap().map(|_| ()),
                rejected(left, reason),
                "{c:?}"
            );
        }
        assert_eq!(snapshot(&tf, &alice).await.0, before.0, "{c:?}");
        // the password and a current code go through
        let v = call(c, &tf, &alice, Reauth::with_code(&pw, &alices)).await;
        let Verdict::Accepted(stamp) = v.unwrap() else {
            panic!("{c:?}: password and code refused")
        };
        // a change made at once answers with the account's new stamp
        let now = tf.security_stamp(&alice).await.unwrap();
        if let Some(stamp) = stamp {
            assert_eq!(Some(stamp), now, "{c:?}: the stamp answered");
            assert_ne!(now, before.1, "{c:?}: the stamp changed");
        }

        // and so does a live grant, on a fresh account; an expired one not
        let (carol, carol_app) = ready(&h, &tf, "carol", c).await;
        let grant = h.grant(&tf, &carol, &carol_app).await;
        h.advance(600);
        assert!(
            matches!(
                call(c, &tf, &carol, Reauth::from(&grant)).await,
                Err(Error::StepUpRequired)
            ),
            "{c:?}: expired grant"
        );
        let grant = h.grant(&tf, &carol, &carol_app).await;
        let v = call(c, &tf, &carol, Reauth::from(&grant)).await;
        assert!(v.unwrap().is_accepted(), "{c:?}: grant");
    }
}

/// Turning on for the first time needs the password only: there is no
/// factor yet. The password alone is what it always was then.
#[tokio::test]
async fn the_first_setup_needs_the_password_only() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let wrong = SecretString::from("nope");
    assert_eq!(
        tf.begin_setup(&alice, NewMethod::App, &wrong)
            .await
            .unwrap()
            .map(|_| ()),
        rejected(4, Rejection::WrongPassword)
    );
    // a code given beside the password has nothing to be checked against:
    // the password is enough, and the code is not counted as wrong
    let with_code = tf
        .begin_setup(
            &alice,
            NewMethod::App,
            Reauth::with_code(&password(), "000000"),
        )
        .await
        .unwrap();
    assert!(with_code.is_accepted(), "{with_code:?}");
    assert!(tf
        .cancel_setup(&alice, &password())
        .await
        .unwrap()
        .is_accepted());
    let app = h.begin(&tf, &alice).await;
    // cancelling a first setup takes the password too
    assert!(tf
        .cancel_setup(&alice, &password())
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(tf.status(&alice).await.unwrap(), Status::Off);
    let _ = app;
    // step-up needs something to step up with
    assert!(matches!(
        tf.step_up(&alice, &password(), "123456").await,
        Err(Error::NotEnabled)
    ));
}

#[tokio::test]
async fn one_grant_serves_many_changes_until_it_expires_or_is_revoked() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let grant = h.grant(&tf, &alice, &app).await;
    assert_eq!(grant.expires.unix_seconds(), h.now() + 600);
    assert!(!format!("{grant:?}").contains(grant.token.expose_secret()));
    let doc = h.store_doc("alice").await;
    assert!(!holds(&doc, grant.token.expose_secret()), "only a hash");

    // several changes within the window
    h.add_fallback(&tf, &alice, NewMethod::Email, &grant).await;
    assert!(tf
        .set_primary(&alice, Method::Email, &grant)
        .await
        .unwrap()
        .is_accepted());
    h.advance(599);
    assert!(tf
        .set_primary(&alice, Method::App, &grant)
        .await
        .unwrap()
        .is_accepted());
    h.advance(1);
    assert!(matches!(
        tf.set_primary(&alice, Method::Email, &grant).await,
        Err(Error::StepUpRequired)
    ));

    // revoked at sign-out
    let grant = h.grant(&tf, &alice, &app).await;
    assert!(tf.revoke_step_up(&alice, &grant.token).await.unwrap());
    assert!(!tf.revoke_step_up(&alice, &grant.token).await.unwrap());
    assert!(matches!(
        tf.set_primary(&alice, Method::Email, &grant).await,
        Err(Error::StepUpRequired)
    ));
    assert_eq!(h.events.count(EventKind::GrantRevoked), 1);
}

#[tokio::test]
async fn a_change_made_another_way_revokes_every_other_grant() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let laptop = h.grant(&tf, &alice, &app).await;
    let phone = h.grant(&tf, &alice, &app).await;
    // a change with the phone's grant: the laptop's ends, the phone's stays
    h.add_fallback(&tf, &alice, NewMethod::Email, &phone).await;
    assert!(matches!(
        tf.set_primary(&alice, Method::Email, &laptop).await,
        Err(Error::StepUpRequired)
    ));
    assert!(tf
        .set_primary(&alice, Method::Email, &phone)
        .await
        .unwrap()
        .is_accepted());
    // a change with the password and a code ends the phone's too
    h.advance(30);
    let (pw, code) = (password(), app.code(h.now()));
    assert!(tf
        .set_primary(&alice, Method::App, Reauth::with_code(&pw, &code))
        .await
        .unwrap()
        .is_accepted());
    assert!(matches!(
        tf.set_primary(&alice, Method::Email, &phone).await,
        Err(Error::StepUpRequired)
    ));
}

#[tokio::test]
async fn a_grant_never_logs_in_and_step_up_failures_lock_like_login_ones() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let grant = h.grant(&tf, &alice, &app).await;
    assert_eq!(
        tf.verify_login(&alice, grant.token.expose_secret(), None)
            .await
            .unwrap(),
        rejected(4, Rejection::Malformed)
    );
    for left in [3, 2, 1] {
        assert_eq!(
            tf.step_up(&alice, &password(), "000000")
                .await
                .unwrap()
                .map(|_| ()),
            rejected(left, Rejection::WrongCode)
        );
    }
    let locked = tf.step_up(&alice, &password(), "111111").await.unwrap();
    let Verdict::LockedOut { until } = locked else {
        panic!("{locked:?}")
    };
    // while locked, no login and no step-up, even right ones; a grant still
    // is not evaluated
    h.advance(30);
    let code = app.code(h.now());
    assert_eq!(
        tf.step_up(&alice, &password(), &code)
            .await
            .unwrap()
            .map(|_| ()),
        Verdict::LockedOut { until }
    );
    assert_eq!(
        tf.verify_login(&alice, &code, None).await.unwrap(),
        Verdict::LockedOut { until }
    );
    assert_eq!(
        tf.disable(&alice, &grant, Keep::Nothing).await.unwrap(),
        Verdict::LockedOut { until }
    );
    assert_eq!(h.events.count(EventKind::StepUpRejected), 4);
}

#[tokio::test]
async fn a_recovery_code_steps_up_once_and_the_user_is_told() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.begin(&tf, &alice).await;
    let on = tf
        .confirm_setup(&alice, &app.code(h.now()))
        .await
        .unwrap()
        .accepted()
        .unwrap();
    let codes = on.recovery_codes.unwrap();
    let code = codes.codes()[0].expose_secret().to_owned();
    let grant = tf.step_up(&alice, &password(), &code).await.unwrap();
    assert!(grant.is_accepted());
    assert!(h.notices().contains(&Change::RecoveryCodeUsed { left: 9 }));
    assert_eq!(
        tf.step_up(&alice, &password(), &code)
            .await
            .unwrap()
            .map(|_| ()),
        wrong(4)
    );
    let pw = password();
    assert!(!tf
        .disable(&alice, Reauth::with_code(&pw, &code), Keep::Nothing)
        .await
        .unwrap()
        .is_accepted());
}

/// The switch as a person does it: prove the old method once, confirm the
/// new one; the two codes sent seconds apart are not held back.
#[tokio::test]
async fn a_switch_from_texts_to_email_works_for_a_person() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    h.set_up_sms(&tf, &alice, NUMBER).await;
    h.advance(40);
    // a login code, then at once the step-up code and the new method's code
    let _ = tf.begin_login(&alice, None).await.unwrap();
    let _ = tf.verify_login(&alice, &h.last_code(), None).await.unwrap();
    h.advance(5);
    tf.send_step_up_code(&alice, Method::Sms).await.unwrap();
    let (pw, code) = (password(), h.last_code());
    h.advance(2);
    let begun = tf
        .begin_setup(&alice, NewMethod::Email, Reauth::with_code(&pw, &code))
        .await
        .unwrap();
    let Verdict::Accepted(Setup::Code(sent)) = begun else {
        panic!("{begun:?}")
    };
    assert_eq!(sent.sent.to, "a•••@example.com");
    assert!(tf
        .confirm_setup(&alice, &h.last_code())
        .await
        .unwrap()
        .is_accepted());
    assert!(matches!(
        tf.status(&alice).await.unwrap(),
        Status::On {
            primary: Method::Email,
            ..
        }
    ));
    // the number that no longer gets codes is told, by text
    let texts: Vec<_> = h
        .outbox
        .messages()
        .into_iter()
        .filter(|r| r.channel == Method::Sms && matches!(r.message, Message::Notice(_)))
        .collect();
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0].to, NUMBER);
    assert!(texts[0].message.text().contains("no longer gets"));
}

/// A new number forgets remembered devices, as a switch does.
#[tokio::test]
async fn a_number_change_forgets_remembered_devices() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    h.set_up_sms(&tf, &alice, NUMBER).await;
    h.advance(40);
    let _ = tf.begin_login(&alice, None).await.unwrap();
    let v = tf
        .verify_login(&alice, &h.last_code(), Some("laptop"))
        .await
        .unwrap()
        .accepted()
        .unwrap();
    let token = v.device.unwrap().token.expose_secret().to_owned();
    tf.send_step_up_code(&alice, Method::Sms).await.unwrap();
    let grant = tf
        .step_up(&alice, &password(), &h.last_code())
        .await
        .unwrap()
        .accepted()
        .unwrap();
    let new = PhoneNumber::parse(NEW_NUMBER).unwrap();
    let _ = tf.change_phone(&alice, new, &grant).await.unwrap();
    // until confirmed the device still skips the code
    assert!(matches!(
        tf.begin_login(&alice, Some(&token)).await.unwrap(),
        LoginStep::Trusted { .. }
    ));
    assert!(tf
        .confirm_setup(&alice, &h.last_code())
        .await
        .unwrap()
        .is_accepted());
    assert!(tf.devices(&alice).await.unwrap().is_empty());
    assert!(matches!(
        tf.begin_login(&alice, Some(&token)).await.unwrap(),
        LoginStep::Challenge { .. }
    ));
}

/// Audit tells attacks apart: a replay, an expired code, something that is
/// no code, a wrong one, a step-up and the grant it gives.
#[tokio::test]
async fn audit_tells_replays_expiry_junk_and_wrong_codes_apart() {
    let h = Harness::new();
    let tf = h.instance_with(policy().dangerous_lockout_threshold(20));
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    h.advance(30);
    let code = app.code(h.now());
    assert!(logs_in(&tf, &alice, &code).await);
    assert_eq!(
        tf.verify_login(&alice, &code, None).await.unwrap(),
        rejected(19, Rejection::Replayed)
    );
    assert_eq!(
        tf.verify_login(&alice, "12345", None).await.unwrap(),
        rejected(18, Rejection::Malformed)
    );
    let wrong_code = if code == "000000" { "000001" } else { "000000" };
    assert_eq!(
        tf.verify_login(&alice, wrong_code, None).await.unwrap(),
        rejected(17, Rejection::WrongCode)
    );
    let grant = h.grant(&tf, &alice, &app).await;
    h.add_fallback(&tf, &alice, NewMethod::Email, &grant).await;
    h.advance(30);
    tf.send_code(&alice, Method::Email).await.unwrap();
    let sent = h.last_code();
    h.advance(601);
    assert_eq!(
        tf.verify_login(&alice, &sent, None).await.unwrap(),
        rejected(19, Rejection::Expired)
    );
    for (kind, n) in [
        (EventKind::CodeReplayed, 1),
        (EventKind::MalformedCode, 1),
        (EventKind::LoginRejected, 1),
        (EventKind::CodeExpired, 1),
        (EventKind::StepUp, 1),
        (EventKind::GrantUsed, 1),
    ] {
        assert_eq!(h.events.count(kind), n, "{kind:?}");
    }
    for kind in [
        EventKind::CodeReplayed,
        EventKind::CodeExpired,
        EventKind::MalformedCode,
    ] {
        assert!(kind.is_failure());
    }
}

/// Grants are kept per account, and a user with several sessions may hold
/// several; the step-up itself needs a factor, never a grant.
#[tokio::test]
async fn a_grant_does_not_make_another() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let grant: Grant = h.grant(&tf, &alice, &app).await;
    let token = grant.token.expose_secret().to_owned();
    assert_eq!(
        tf.step_up(&alice, &password(), &token)
            .await
            .unwrap()
            .map(|_| ()),
        rejected(4, Rejection::Malformed)
    );
}

impl Harness {
    async fn store_doc(&self, user: &str) -> Vec<u8> {
        twofactor::UserStore::load(&self.store, user)
            .await
            .unwrap()
            .unwrap()
            .document
    }
}

/// A grant at its very expiry second is dead, and no longer kept: a change
/// made with another grant, a new grant, or a sign-out drops it from the
/// record.
#[tokio::test]
async fn a_grant_at_its_expiry_second_is_dropped() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let grants = || async {
        document_json(&h.store_doc("alice").await)["grants"]
            .as_array()
            .unwrap()
            .len()
    };
    // (each grant is taken 30 s after the last step, for a fresh code)
    let first = h.grant(&tf, &alice, &app).await;
    let second = h.grant(&tf, &alice, &app).await;
    assert_eq!(grants().await, 2);
    // ten minutes after the first: it expires this second
    h.advance(600 - 30);
    assert!(matches!(
        tf.regenerate_recovery_codes(&alice, &first).await,
        Err(Error::StepUpRequired)
    ));
    assert!(tf
        .regenerate_recovery_codes(&alice, &second)
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(grants().await, 1, "a dead grant kept by a change");
    // the second expires as the third is taken
    let third = h.grant(&tf, &alice, &app).await;
    assert_eq!(grants().await, 1, "a dead grant kept by a step-up");
    // a sign-out with an unknown token drops the third at its expiry
    h.advance(600);
    assert!(!tf
        .revoke_step_up(&alice, &SecretString::from("not a grant"))
        .await
        .unwrap());
    assert_eq!(grants().await, 0, "a dead grant kept by a sign-out");
    assert!(!tf.revoke_step_up(&alice, &third.token).await.unwrap());
}
