//! Bad input: never a panic, always a counted rejection, and nothing else
//! changes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::Value;
use twofactor::NewMethod;
use twofactor::{Account, Error, Rejection, UserStore};

/// The record as JSON, without the failure counters.
async fn record_without_guard(h: &Harness, user: &str) -> Value {
    let doc = h.store.load(user).await.unwrap().unwrap().document;
    let mut v: Value = document_json(&doc);
    v.as_object_mut().unwrap().remove("guard");
    v
}

fn failures(doc: &[u8]) -> u64 {
    let v: Value = document_json(doc);
    v["guard"]["failures"].as_u64().unwrap_or(0)
}

fn full_width(code: &str) -> String {
    code.chars()
        .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap())
        .collect()
}

fn arabic_indic(code: &str) -> String {
    code.chars()
        .map(|c| char::from_u32(c as u32 - '0' as u32 + '٠' as u32).unwrap())
        .collect()
}

/// Each malformed form of the right code, at login and at setup.
#[tokio::test]
async fn malformed_codes_are_counted_rejections() {
    let h = Harness::new();
    let policy = policy()
        .dangerous_lockout_threshold(100)
        .dangerous_daily_failures(1000);
    let tf = h.instance_with(policy);
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    h.advance(30);
    let right = app.code(h.now());
    let megabyte = "1".repeat(1 << 20);
    let inputs: Vec<String> = vec![
        String::new(),
        right[..5].to_owned(),
        format!("{right}1"),
        format!(" {right}"),
        format!("{right} "),
        format!("{} {}", &right[..3], &right[3..]),
        full_width(&right),
        arabic_indic(&right),
        format!("+{}", &right[1..]),
        format!("-{}", &right[1..]),
        format!("{right}\n"),
        format!("{right}\0"),
        "abcdef".into(),
        "12345e".into(),
        megabyte.clone(),
        format!("{right}{megabyte}"),
    ];
    let before = record_without_guard(&h, "alice").await;
    for (i, input) in inputs.iter().enumerate() {
        let verdict = tf.verify_login(&alice, input, None).await.unwrap();
        assert_eq!(
            verdict,
            rejected(100 - 1 - i as u32, Rejection::Malformed),
            "input {i}"
        );
        let doc = h.store.load("alice").await.unwrap().unwrap().document;
        assert_eq!(failures(&doc), i as u64 + 1, "input {i} was not counted");
        assert_eq!(
            record_without_guard(&h, "alice").await,
            before,
            "input {i} changed more"
        );
    }
    // the right code, untouched by all that, still works
    assert!(logs_in(&tf, &alice, &right).await);
}

#[tokio::test]
async fn malformed_confirming_codes_are_counted_and_keep_the_setup() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let app = h.begin(&tf, &alice).await;
    let right = app.code(h.now());
    let before = record_without_guard(&h, "alice").await;
    for (i, bad) in [
        full_width(&right),
        format!("{right}\n"),
        "x".repeat(1 << 20),
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(
            tf.confirm_setup(&alice, bad).await.unwrap(),
            rejected(4 - i as u32, Rejection::Malformed)
        );
        assert_eq!(record_without_guard(&h, "alice").await, before);
    }
    assert!(tf
        .confirm_setup(&alice, &right)
        .await
        .unwrap()
        .is_accepted());
}

#[tokio::test]
async fn bad_account_ids_are_typed_errors() {
    let h = Harness::new();
    let tf = h.instance();
    for id in [String::new(), "a\nb".into(), "x".repeat(10_000)] {
        let acct = Account::new(id, "e@example.com");
        assert!(matches!(
            tf.status(&acct).await,
            Err(Error::InvalidAccount(_))
        ));
        assert!(matches!(
            tf.verify_login(&acct, "123456", None).await,
            Err(Error::InvalidAccount(_))
        ));
        assert!(matches!(
            tf.begin_setup(&acct, NewMethod::App, &password()).await,
            Err(Error::InvalidAccount(_))
        ));
    }
    let colon = h.account("carol");
    let colon = Account::new(colon.id(), "carol:x@example.com");
    assert!(matches!(
        tf.begin_setup(&colon, NewMethod::App, &password()).await,
        Err(Error::InvalidAccount(_))
    ));
    assert!(
        h.store.list(None, 10).await.unwrap().is_empty(),
        "nothing was stored"
    );
}

#[tokio::test]
async fn a_huge_password_is_just_wrong() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let huge = secrecy::SecretString::from("p".repeat(1 << 20));
    assert_eq!(
        tf.begin_setup(&alice, NewMethod::App, &huge)
            .await
            .unwrap()
            .accepted()
            .map(|_| ()),
        None
    );
}
