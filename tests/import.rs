//! Bringing authenticator-app secrets over from another system, and an
//! administrator taking one out again.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use secrecy::{ExposeSecret, SecretString};
use twofactor::testing::Authenticator;
use twofactor::{
    Admins, Algorithm, Error, EventKind, ImportedApp, Keep, MemoryStore, Method, Reauth, Rejection,
    Status, Timestamp, UserStore, Verdict,
};

/// An 80-bit secret, as many apps were given for years (base32 of 10
/// bytes: 16 characters).
const SHORT_URI: &str =
    "otpauth://totp/Old%20Portal:alice?secret=JBSWY3DPEHPK3PXP&issuer=Old%20Portal";

fn uri(text: &str) -> SecretString {
    SecretString::from(text)
}

/// An instance whose administrators may export secrets.
fn exporting(h: &Harness) -> twofactor::TwoFactor {
    h.builder()
        .store(h.store.clone())
        .passwords(h.passwords.clone())
        .sms(h.outbox.clone())
        .admins(Admins::new(ADMINS).allow_export())
        .policy(policy())
        .build()
        .unwrap()
}

fn at(unix: u64) -> Timestamp {
    Timestamp::from_unix_seconds(unix)
}

#[tokio::test]
async fn an_imported_80_bit_secret_logs_in_with_the_users_app() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let phone = Authenticator::from_uri(SHORT_URI).unwrap();
    assert_eq!(phone.secret().len(), 10);

    let imported = ImportedApp::from_uri(&uri(SHORT_URI)).unwrap();
    let changed = tf.import_app(&alice, &imported).await.unwrap();
    assert_eq!(
        Some(changed.stamp),
        tf.security_stamp(&alice).await.unwrap()
    );
    let Status::On {
        methods,
        primary,
        recovery_codes_left,
        ..
    } = tf.status(&alice).await.unwrap()
    else {
        panic!("not on")
    };
    assert_eq!((methods, primary), (vec![Method::App], Method::App));
    // nobody would have seen recovery codes: none are made
    assert_eq!(recovery_codes_left, 0);
    assert_eq!(h.events.count(EventKind::AppImported), 1);
    // for the user nothing changed: no notice
    assert_eq!(h.sent(), 0);

    // the secret is sealed, not kept in the clear
    let doc = h.store.load("alice").await.unwrap().unwrap().document;
    assert!(!doc.windows(10).any(|w| w == phone.secret()));

    // the code the user's app shows now logs in, once
    h.advance(30);
    let code = phone.code_at(at(h.now()));
    assert!(logs_in(&tf, &alice, &code).await);
    assert_eq!(
        tf.verify_login(&alice, &code, None)
            .await
            .unwrap()
            .map(|_| ()),
        rejected(4, Rejection::Replayed)
    );
}

#[tokio::test]
async fn the_last_code_used_before_the_move_is_a_replay_after_it() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let phone = Authenticator::from_uri(SHORT_URI).unwrap();
    let step = h.now() / 30;
    let imported = ImportedApp::from_uri(&uri(SHORT_URI))
        .unwrap()
        .last_used_step(step);
    let _ = tf.import_app(&alice, &imported).await.unwrap();
    let used = phone.code_at(at(h.now()));
    assert_eq!(
        tf.verify_login(&alice, &used, None)
            .await
            .unwrap()
            .map(|_| ()),
        rejected(4, Rejection::Replayed)
    );
    h.advance(30);
    assert!(logs_in(&tf, &alice, &phone.code_at(at(h.now()))).await);
    // a last step in the future would lock the app out: refused, past the
    // one step ahead a server's clock may be
    for (user, ahead, taken) in [("bob", 10, false), ("carol", 2, false), ("dave", 1, true)] {
        let future = ImportedApp::from_uri(&uri(SHORT_URI))
            .unwrap()
            .last_used_step(h.now() / 30 + ahead);
        let imported = tf.import_app(&h.account(user), &future).await;
        assert_eq!(imported.is_ok(), taken, "{ahead} steps ahead: {imported:?}");
        if !taken {
            assert!(matches!(imported, Err(Error::InvalidImport(_))));
        }
    }
}

#[tokio::test]
async fn malformed_or_weak_secrets_are_typed_errors_and_change_nothing() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    for bad in [
        "",
        "https://example.com/?secret=JBSWY3DPEHPK3PXP",
        "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1",
        "otpauth://totp/x",
        "otpauth://totp/x?issuer=Acme",
        "otpauth://totp/x?secret=not-base32!",
        "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
        "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=many",
        "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=99999",
        "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=-30",
        "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&secret=GEZDGNBVGY3TQOJQ",
        "otpauth://totpé?secret=JBSWY3DPEHPK3PXP",
    ] {
        let parsed = ImportedApp::from_uri(&uri(bad));
        let e = match parsed {
            Err(e) => e,
            Ok(app) => tf.import_app(&alice, &app).await.unwrap_err(),
        };
        assert!(matches!(e, Error::InvalidImport(_)), "{bad:?}: {e:?}");
        assert!(!e.to_string().contains("JBSWY3DPEHPK3PXP"), "{e}");
    }
    // parsed, but outside what the policy takes
    for (secret_len, digits, period) in [
        (9, 6, 30),
        (65, 6, 30),
        (20, 5, 30),
        (20, 9, 30),
        (20, 6, 10),
        (20, 6, 90),
    ] {
        let app = ImportedApp::from_bytes(&vec![7; secret_len], Algorithm::Sha1, digits, period);
        assert!(
            matches!(
                tf.import_app(&alice, &app).await,
                Err(Error::InvalidImport(_))
            ),
            "{secret_len} bytes, {digits} digits, {period} s"
        );
    }
    assert!(h.store.load("alice").await.unwrap().is_none());
    assert_eq!(h.events.count(EventKind::AppImported), 0);

    // the limits themselves are taken: 80 and 512 bits, 8 digits, SHA-512
    let ok = ImportedApp::from_bytes(&[7; 64], Algorithm::Sha512, 8, 60);
    assert!(tf.import_app(&alice, &ok).await.is_ok());
    let bob = h.account("bob");
    let short = ImportedApp::from_base32(&uri("jbsw y3dp ehpk 3pxp"), Algorithm::Sha256, 7, 15);
    assert!(tf.import_app(&bob, &short.unwrap()).await.is_ok());
}

#[tokio::test]
async fn an_import_never_overwrites_a_factor() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    let imported = ImportedApp::from_uri(&uri(SHORT_URI)).unwrap();
    assert!(matches!(
        tf.import_app(&alice, &imported).await,
        Err(Error::AlreadyEnabled)
    ));
    // nor settings kept while suspended
    let grant = h.grant(&tf, &alice, &app).await;
    assert!(tf
        .disable(&alice, &grant, Keep::Settings)
        .await
        .unwrap()
        .is_accepted());
    assert!(matches!(
        tf.import_app(&alice, &imported).await,
        Err(Error::AlreadyEnabled)
    ));
    // the user's own app still is the one
    h.advance(30);
    assert!(tf
        .reenable(&alice, Reauth::with_code(&password(), &app.code(h.now())))
        .await
        .unwrap()
        .is_accepted());
}

#[tokio::test]
async fn the_secret_debugs_as_redacted() {
    let app = ImportedApp::from_uri(&uri(SHORT_URI)).unwrap();
    let shown = format!("{app:?}");
    assert!(!shown.contains("JBSWY3DP"), "{shown}");
    assert!(shown.contains("REDACTED"), "{shown}");
}

/// Export → import into another system (a fresh store and key) → the same
/// app logs in there.
#[tokio::test]
async fn an_exported_secret_imports_elsewhere_and_logs_in() {
    let h = Harness::new();
    let tf = exporting(&h);
    let (root, _, proof) = h.admin(&tf, "root").await;
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;

    let Verdict::Accepted(exported) = tf
        .admin_export_apps(&root, &proof, &alice, "moving to the new portal")
        .await
        .unwrap()
    else {
        panic!("export refused")
    };
    // the URI is the app's: the same codes
    let [exported] = exported.as_slice() else {
        panic!("one app: {exported:?}")
    };
    let exported = &exported.uri;
    let copy = Authenticator::from_uri(exported.expose_secret()).unwrap();
    assert_eq!(copy.secret(), app.secret.as_slice());
    // audited with who and why, and nothing of the secret
    let events = h.events.0.lock().unwrap().clone();
    let export = events
        .iter()
        .find(|e| e.kind == EventKind::AdminExport)
        .unwrap();
    assert_eq!(export.account, "alice");
    assert_eq!(export.actor.as_deref(), Some("root"));
    assert_eq!(export.reason.as_deref(), Some("moving to the new portal"));
    assert!(!format!("{events:?}").contains(&exported.expose_secret()[20..40]));

    // the other system
    let elsewhere = h
        .builder()
        .key(twofactor::MasterKey::new([9; 32]))
        .store(MemoryStore::new())
        .passwords(h.passwords.clone())
        .policy(policy())
        .build()
        .unwrap();
    let imported = ImportedApp::from_uri(exported).unwrap();
    let _ = elsewhere.import_app(&alice, &imported).await.unwrap();
    h.advance(30);
    assert!(logs_in(&elsewhere, &alice, &app.code(h.now())).await);
}

/// Exporting hands out a secret: the host must allow it, the administrator
/// proves it is them, and the password alone never does it.
#[tokio::test]
async fn an_export_needs_permission_and_the_administrators_step_up() {
    let h = Harness::new();
    let tf = h.instance(); // Admins without allow_export
    let (root, root_app, proof) = h.admin(&tf, "root").await;
    let alice = h.account("alice");
    let _ = h.set_up_app(&tf, &alice).await;
    assert!(matches!(
        tf.admin_export_apps(&root, &proof, &alice, "backup").await,
        Err(Error::NotPermitted)
    ));

    let tf = exporting(&h);
    let pw = password();
    assert!(matches!(
        tf.admin_export_apps(&root, &pw, &alice, "backup").await,
        Err(Error::StepUpRequired)
    ));
    h.advance(30);
    assert_eq!(
        tf.admin_export_apps(&root, Reauth::with_code(&pw, "000000"), &alice, "backup")
            .await
            .unwrap()
            .map(|_| ()),
        wrong(4)
    );
    assert!(matches!(
        tf.admin_export_apps(&root, &proof, &alice, " ").await,
        Err(Error::InvalidReason)
    ));
    // nobody exports their own secret this way
    assert!(matches!(
        tf.admin_export_apps(&root, &proof, &root, "backup").await,
        Err(Error::NotPermitted)
    ));
    // nothing to export: refused before the administrator's code is
    // looked at, so that code is not spent
    let bob = h.account("bob");
    let now = root_app.code(h.now());
    let code = Reauth::with_code(&pw, &now);
    assert!(matches!(
        tf.admin_export_apps(&root, code, &bob, "backup").await,
        Err(Error::NotEnabled)
    ));
    // on, but with no app (codes by text message): nothing to export either
    let carol = h.account("carol");
    h.set_up_sms(&tf, &carol, "+14155550123").await;
    let code = Reauth::with_code(&pw, &now);
    assert!(matches!(
        tf.admin_export_apps(&root, code, &carol, "backup").await,
        Err(Error::MethodNotSetUp)
    ));
    assert_eq!(h.events.count(EventKind::AdminExport), 0);
    let code = Reauth::with_code(&pw, &now);
    assert!(tf
        .admin_export_apps(&root, code, &alice, "backup")
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(h.events.count(EventKind::AdminExport), 1);
}

/// Imports racing on one account (a migration run twice at once): exactly
/// one turns it on, the others find it on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_imports_turn_it_on_once() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (tf, alice) = (tf.clone(), alice.clone());
            tokio::spawn(async move {
                let app = ImportedApp::from_uri(&uri(SHORT_URI)).unwrap();
                tf.import_app(&alice, &app).await
            })
        })
        .collect();
    let mut done = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => done += 1,
            Err(Error::AlreadyEnabled) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(done, 1);
    assert_eq!(h.events.count(EventKind::AppImported), 1);
}
