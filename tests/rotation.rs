//! Master-key rotation through the public API: values made under a previous
//! key still open and verify; a saved record is sealed again under the
//! current key; a bulk rotation does every record, while traffic runs, and
//! twice is harmless; once the old key is dropped, logins still work; a
//! record of a key nobody has is a typed error, never an acceptance.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use secrecy::ExposeSecret;
use twofactor::{
    Error, LoginStep, MasterKey, NewMethod, PhoneNumber, Rotation, Status, TwoFactor, UserStore,
};

const A: [u8; 32] = [0xa; 32];
const B: [u8; 32] = [0xb; 32];

/// An instance on the harness's store with `current` and `previous` keys.
fn instance(h: &Harness, current: [u8; 32], previous: &[[u8; 32]]) -> TwoFactor {
    TwoFactor::builder()
        .issuer("Acme Portal")
        .key(MasterKey::new(current))
        .previous_keys(previous.iter().map(|k| MasterKey::new(*k)))
        .store(h.store.clone())
        .passwords(h.passwords.clone())
        .clock(h.clock.clone())
        .events(h.events.clone())
        .email(h.outbox.clone())
        .sms(h.outbox.clone())
        .policy(policy())
        .build()
        .unwrap()
}

#[tokio::test]
async fn rotate_from_one_key_to_another_and_drop_the_old_one() {
    let h = Harness::new();
    let under_a = instance(&h, A, &[]);
    let alice = h.account("alice");
    let bob = h.account("bob");
    let alice_app = h.set_up_app(&under_a, &alice).await;
    let bob_app = h.set_up_app(&under_a, &bob).await;
    let grant = h.grant(&under_a, &alice, &alice_app).await;
    h.add_fallback(
        &under_a,
        &alice,
        NewMethod::Sms(PhoneNumber::parse("+60123451688").unwrap()),
        &grant,
    )
    .await;
    h.advance(30);
    let device = under_a
        .verify_login(&alice, &alice_app.code(h.now()), Some("laptop"))
        .await
        .unwrap()
        .accepted()
        .unwrap()
        .device
        .unwrap();
    let token = device.token.expose_secret().to_owned();
    let bob_before = h.store.load("bob").await.unwrap().unwrap().document;

    // B is current, A previous: everything made under A still works
    let both = instance(&h, B, &[A]);
    assert!(matches!(
        both.begin_login(&alice, Some(&token)).await.unwrap(),
        LoginStep::Trusted { .. }
    ));
    let Status::On { phone, .. } = both.status(&alice).await.unwrap() else {
        panic!()
    };
    assert_eq!(phone.as_deref(), Some("+60 ••• ••• 1688"));
    assert!(both
        .set_primary(&alice, twofactor::Method::Sms, &grant)
        .await
        .unwrap()
        .is_accepted());
    // alice's record was saved, so it is sealed under B already; bob's is not
    h.advance(30);
    assert!(logs_in(&both, &bob, &bob_app.code(h.now())).await);
    let bob_after = h.store.load("bob").await.unwrap().unwrap().document;
    assert_ne!(bob_before, bob_after, "saved");

    // a bulk rotation finds nothing left to do for those two; a third,
    // untouched, account is done
    let carol = h.account("carol");
    let carol_app = h.set_up_app(&under_a, &carol).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_by = seen.clone();
    let report = both
        .rotate_keys(move |p: &Rotation| seen_by.lock().unwrap().push(*p))
        .await
        .unwrap();
    assert_eq!(
        (
            report.done,
            report.total,
            report.resealed,
            report.unreadable
        ),
        (3, 3, 1, 0)
    );
    assert!(seen.lock().unwrap().len() >= 2, "progress is reported");
    let again = both.rotate_keys(|_| {}).await.unwrap();
    assert_eq!((again.done, again.resealed), (3, 0), "twice is harmless");

    // A dropped: logins still work for everyone, the number still opens
    let only_b = instance(&h, B, &[]);
    h.advance(30);
    for (account, app) in [(&bob, &bob_app), (&carol, &carol_app)] {
        assert!(logs_in(&only_b, account, &app.code(h.now())).await);
    }
    let Status::On { phone, .. } = only_b.status(&alice).await.unwrap() else {
        panic!()
    };
    assert_eq!(phone.as_deref(), Some("+60 ••• ••• 1688"));
    // what was hashed under A (the device) is no longer recognised: it asks
    assert!(matches!(
        only_b.begin_login(&alice, Some(&token)).await.unwrap(),
        LoginStep::Challenge { .. }
    ));
}

/// A rotation pages through every account, past a full page (500), and
/// reports its progress after each page.
#[tokio::test]
async fn a_rotation_goes_on_past_a_full_page() {
    let h = Harness::new();
    for i in 0..500 {
        let id = format!("unreadable-{i:03}");
        let _ = h.store.save(&id, b"garbage", 0).await.unwrap();
    }
    let under_a = instance(&h, A, &[]);
    let zoe = h.account("zoe"); // listed last
    let app = h.set_up_app(&under_a, &zoe).await;
    let both = instance(&h, B, &[A]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_by = seen.clone();
    let report = both
        .rotate_keys(move |p: &Rotation| seen_by.lock().unwrap().push((p.total, p.done)))
        .await
        .unwrap();
    let counts = (
        report.total,
        report.done,
        report.resealed,
        report.unreadable,
    );
    assert_eq!(counts, (501, 501, 1, 500));
    assert_eq!(*seen.lock().unwrap(), [(501, 0), (501, 500), (501, 501)]);
    h.advance(30);
    assert!(logs_in(&instance(&h, B, &[]), &zoe, &app.code(h.now())).await);
}

#[tokio::test]
async fn a_record_of_a_key_nobody_has_is_a_typed_error_never_an_acceptance() {
    let h = Harness::new();
    let under_a = instance(&h, A, &[]);
    let alice = h.account("alice");
    let app = h.set_up_app(&under_a, &alice).await;
    let elsewhere = instance(&h, B, &[]);
    h.advance(30);
    assert!(matches!(
        elsewhere
            .verify_login(&alice, &app.code(h.now()), None)
            .await,
        Err(Error::UnknownKey)
    ));
    assert!(matches!(
        elsewhere.status(&alice).await,
        Ok(Status::On { .. })
    ));
    let report = elsewhere.rotate_keys(|_| {}).await.unwrap();
    assert_eq!((report.done, report.unreadable, report.resealed), (1, 1, 0));
    // with the key configured again it all works
    let back = instance(&h, B, &[A]);
    assert!(logs_in(&back, &alice, &app.code(h.now())).await);
}

/// A bulk rotation while logins go on: every login is answered, every
/// record ends under the new key, nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bulk_rotation_runs_beside_traffic() {
    let h = Harness::new();
    let under_a = instance(&h, A, &[]);
    let mut apps = Vec::new();
    for i in 0..40 {
        let a = h.account(&format!("user-{i:02}"));
        let app = h.set_up_app(&under_a, &a).await;
        apps.push((a, app));
    }
    let both = instance(&h, B, &[A]);
    h.advance(30);
    let now = h.now();
    let mut logins = Vec::new();
    for (a, app) in &apps {
        let (tf, a, code) = (both.clone(), a.clone(), app.code(now));
        logins.push(tokio::spawn(async move {
            tf.verify_login(&a, &code, None)
                .await
                .unwrap()
                .is_accepted()
        }));
    }
    let rotation = {
        let tf = both.clone();
        tokio::spawn(async move { tf.rotate_keys(|_| {}).await.unwrap() })
    };
    for l in logins {
        assert!(l.await.unwrap());
    }
    let report = rotation.await.unwrap();
    assert_eq!((report.done, report.unreadable), (40, 0));
    let again = both.rotate_keys(|_| {}).await.unwrap();
    assert_eq!(again.resealed, 0, "every record is under B now");
    // and with A gone every account still logs in
    let only_b = instance(&h, B, &[]);
    h.advance(30);
    for (a, app) in &apps {
        assert!(logs_in(&only_b, a, &app.code(h.now())).await);
    }
}
