//! A record written by twofactor 0.1 (schema 1) loads in this version: the
//! user logs in with the same app, recovery codes and remembered device,
//! and the next save writes the current schema. The fixture was written
//! through 0.1's public API and is committed in `tests/data/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use secrecy::SecretString;
use twofactor::testing::{Authenticator, ManualClock};
use twofactor::{
    Account, Algorithm, Argon2Passwords, LoginStep, MasterKey, MemoryStore, Method, Proof, Reauth,
    Status, Timestamp, TwoFactor, UserStore,
};

struct Fixture {
    doc: Vec<u8>,
    now: u64,
    secret: Vec<u8>,
    recovery: Vec<String>,
    device: String,
}

fn fixture() -> Fixture {
    let text = std::fs::read_to_string("tests/data/record-v1.json").unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema"], 1);
    let hex = v["document_hex"].as_str().unwrap();
    Fixture {
        doc: data_encoding::HEXLOWER.decode(hex.as_bytes()).unwrap(),
        now: v["now"].as_u64().unwrap(),
        secret: data_encoding::BASE32_NOPAD
            .decode(v["totp_secret_base32"].as_str().unwrap().as_bytes())
            .unwrap(),
        recovery: v["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect(),
        device: v["device_token"].as_str().unwrap().to_owned(),
    }
}

async fn service(f: &Fixture) -> (TwoFactor, MemoryStore, ManualClock) {
    let store = MemoryStore::new();
    assert_eq!(f.doc.first(), Some(&1), "a schema-1 document");
    let _ = store.save("user-v1", &f.doc, 0).await.unwrap();
    let clock = ManualClock::new(Timestamp::from_unix_seconds(f.now));
    let passwords = Argon2Passwords::with_params(64, 1, 1).unwrap();
    passwords.set("user-v1", &password()).unwrap();
    let tf = TwoFactor::builder()
        .issuer("Acme Portal")
        .key(MasterKey::new([7; 32]))
        .store(store.clone())
        .passwords(passwords)
        .clock(clock.clone())
        .build()
        .unwrap();
    (tf, store, clock)
}

fn account() -> Account {
    Account::new("user-v1", "user-v1@example.com")
}

fn code(secret: &[u8], at: u64) -> String {
    Authenticator::new(secret, Algorithm::Sha1, 6, 30).code_at(Timestamp::from_unix_seconds(at))
}

#[tokio::test]
async fn a_schema_1_record_logs_in_and_is_saved_as_the_current_schema() {
    let f = fixture();
    let (tf, store, clock) = service(&f).await;
    let alice = account();
    let Status::On {
        methods,
        phone,
        recovery_codes_left,
        devices,
        ..
    } = tf.status(&alice).await.unwrap()
    else {
        panic!("not on")
    };
    assert_eq!(methods, [Method::App, Method::Sms]);
    assert_eq!(phone.as_deref(), Some("+60 ••• ••• 1688"));
    assert_eq!((recovery_codes_left, devices), (10, 1));
    // the remembered device still skips the code
    assert!(matches!(
        tf.begin_login(&alice, Some(&f.device)).await.unwrap(),
        LoginStep::Trusted { .. }
    ));
    assert_eq!(
        store.load("user-v1").await.unwrap().unwrap().document[0],
        twofactor::__internal::SCHEMA_VERSION as u8,
        "written back as the current schema"
    );
    // the app's code of a step already used is a replay; the next one works
    let used = code(&f.secret, f.now);
    clock.advance(std::time::Duration::from_secs(30));
    assert!(!logs_in(&tf, &alice, &used).await);
    let next = code(&f.secret, f.now + 30);
    assert!(logs_in(&tf, &alice, &next).await);
    // a recovery code still works, once
    let v = tf
        .verify_login(&alice, &f.recovery[4], None)
        .await
        .unwrap()
        .accepted()
        .unwrap();
    assert_eq!(v.proof, Proof::RecoveryCode { left: 9 });
    // and a step-up over the upgraded record
    clock.advance(std::time::Duration::from_secs(30));
    let pw: SecretString = password();
    let now_code = code(&f.secret, f.now + 60);
    assert!(tf
        .regenerate_recovery_codes(&alice, Reauth::with_code(&pw, &now_code))
        .await
        .unwrap()
        .is_accepted());
}

#[tokio::test]
async fn under_another_master_key_the_old_record_is_a_typed_error() {
    let f = fixture();
    let store = MemoryStore::new();
    let _ = store.save("user-v1", &f.doc, 0).await.unwrap();
    let passwords = Argon2Passwords::with_params(64, 1, 1).unwrap();
    let tf = TwoFactor::builder()
        .issuer("Acme Portal")
        .key(MasterKey::new([8; 32]))
        .store(store)
        .passwords(passwords)
        .clock(ManualClock::new(Timestamp::from_unix_seconds(f.now + 30)))
        .build()
        .unwrap();
    let next = code(&f.secret, f.now + 30);
    assert!(matches!(
        tf.verify_login(&account(), &next, None).await,
        Err(twofactor::Error::Unseal)
    ));
}
