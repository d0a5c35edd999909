//! What a page template and a form handler need from the public types.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::str::FromStr;

use common::*;
use twofactor::{AccountSummary, Error, Keep, Method, State, Status, UserStore};

#[test]
fn methods_have_names_for_a_sentence_a_heading_and_a_form() {
    for (m, sentence, heading, form) in [
        (Method::App, "authenticator app", "Authenticator app", "app"),
        (Method::Email, "email", "Email", "email"),
        (Method::Sms, "text message", "Text message", "sms"),
        (Method::Key, "security key", "Security key", "key"),
    ] {
        assert_eq!(m.display_name(), sentence);
        assert_eq!(m.to_string(), sentence);
        assert_eq!(m.heading(), heading);
        assert_eq!(m.as_str(), form);
        assert_eq!(Method::from_str(form).unwrap(), m);
        // serde reads and writes the same names
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, format!("\"{form}\""));
        assert_eq!(serde_json::from_str::<Method>(&json).unwrap(), m);
    }
    for bad in ["", "App", "totp", "sms "] {
        let e = Method::from_str(bad).unwrap_err();
        assert_eq!(e.to_string(), "expected one of: app, email, sms, key");
    }
}

#[test]
fn keep_is_read_from_a_form_value() {
    for (keep, form) in [(Keep::Settings, "settings"), (Keep::Nothing, "nothing")] {
        assert_eq!(keep.as_str(), form);
        assert_eq!(Keep::from_str(form).unwrap(), keep);
        assert_eq!(
            serde_json::from_str::<Keep>(&format!("\"{form}\"")).unwrap(),
            keep
        );
    }
    assert!(Keep::from_str("everything").is_err());
    assert!(serde_json::from_str::<Keep>("\"Settings\"").is_err());
}

#[tokio::test]
async fn status_names_the_primary_method_when_there_is_one() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    assert_eq!(tf.status(&alice).await.unwrap().primary(), None);
    let app = h.begin(&tf, &alice).await;
    assert!(matches!(
        tf.status(&alice).await.unwrap(),
        Status::Pending { .. }
    ));
    assert_eq!(tf.status(&alice).await.unwrap().primary(), None);
    h.advance(10);
    assert!(tf
        .confirm_setup(&alice, &app.code(h.now()))
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(
        tf.status(&alice).await.unwrap().primary(),
        Some(Method::App)
    );
    let grant = h.grant(&tf, &alice, &app).await;
    assert!(tf
        .disable(&alice, &grant, Keep::Settings)
        .await
        .unwrap()
        .is_accepted());
    let suspended = tf.status(&alice).await.unwrap();
    assert!(matches!(suspended, Status::Suspended { .. }));
    assert_eq!(suspended.primary(), Some(Method::App));
}

/// A team page shows many accounts' states with one call: in the order
/// asked, accounts without a record off, an unreadable one said so.
#[tokio::test]
async fn a_team_page_gets_every_state_in_one_call() {
    let h = Harness::new();
    let tf = h.instance();
    let (alice, bob, carol) = (h.account("alice"), h.account("bob"), h.account("carol"));
    let _ = h.set_up_app(&tf, &alice).await;
    let _ = h.begin(&tf, &bob).await;
    let saved = h.store.save(carol.id(), b"\x01\xff", 0).await.unwrap();
    assert_eq!(saved, twofactor::SaveOutcome::Saved { version: 1 });
    let ids = [carol.id(), "nobody", alice.id(), bob.id(), alice.id()];
    let got = tf.summaries(&ids).await.unwrap();
    let seen: Vec<(&str, State, &[Method])> = got
        .iter()
        .map(|s: &AccountSummary| (s.user.as_str(), s.state, s.methods.as_slice()))
        .collect();
    assert_eq!(
        seen,
        [
            (carol.id(), State::Unreadable, &[][..]),
            ("nobody", State::Off, &[][..]),
            (alice.id(), State::On, &[Method::App][..]),
            (bob.id(), State::Pending, &[][..]),
            (alice.id(), State::On, &[Method::App][..]),
        ]
    );
    // each agrees with the one-account status
    assert!(tf.status(&alice).await.unwrap().is_on());
    // a setup stops being pending at the second it lapses (15 minutes)
    h.advance(15 * 60 - 1);
    let got = tf.summaries(&[bob.id()]).await.unwrap();
    assert_eq!(got.first().map(|s| s.state), Some(State::Pending));
    h.advance(1);
    let got = tf.summaries(&[bob.id()]).await.unwrap();
    assert_eq!(got.first().map(|s| s.state), Some(State::Off));
    assert_eq!(tf.status(&bob).await.unwrap(), Status::Off);
    assert!(tf.summaries(&[]).await.unwrap().is_empty());
    assert!(matches!(
        tf.summaries(&[alice.id(), ""]).await,
        Err(Error::InvalidAccount(_))
    ));
}

/// A page offers only the methods this instance can deliver, and reads
/// the rules it was built with.
#[tokio::test]
async fn a_page_offers_what_the_instance_can_deliver() {
    let h = Harness::new();
    let bare = h.bare();
    assert!(bare.offers(Method::App));
    for m in [Method::Email, Method::Sms, Method::Key] {
        assert!(!bare.offers(m), "{m:?} offered with no sender");
    }
    let tf = h.instance();
    assert!(tf.offers(Method::Email) && tf.offers(Method::Sms));
    assert!(!tf.offers(Method::Key), "no security keys configured");
    assert_eq!(tf.policy(), &policy());
    assert_ne!(tf.policy(), &twofactor::Policy::default());
}
