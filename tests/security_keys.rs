//! Security keys and passkeys as a second factor, with software
//! authenticators (webauthn-authenticator-rs): registration, login, a
//! replayed or foreign answer refused, step-up, racing submissions of one
//! answer accepted once, and passkeys' user verification.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use common::*;
use tokio::sync::Barrier;
use twofactor::webauthn_rs::prelude::{PublicKeyCredential, Url};
use twofactor::{
    Account, Attestation, Error, EventKind, KeyRequest, LoginStep, Method, NewMethod, Rejection,
    SecurityKeys, Setup, Strength, TwoFactor, Verdict,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::softtoken::SoftToken;
use webauthn_authenticator_rs::{AuthenticatorBackend, WebauthnAuthenticator};

const RP: &str = "portal.example.com";
const ORIGIN: &str = "https://portal.example.com";

fn origin() -> Url {
    Url::parse(ORIGIN).unwrap()
}

fn keys() -> SecurityKeys {
    SecurityKeys::new(RP, ORIGIN, Attestation::AnyAuthenticator).unwrap()
}

/// An instance on the harness's store that takes security keys.
fn instance(h: &Harness, keys: SecurityKeys) -> TwoFactor {
    h.builder()
        .store(h.store.clone())
        .passwords(h.passwords.clone())
        .email(h.outbox.clone())
        .sms(h.outbox.clone())
        .policy(policy())
        .security_keys(keys)
        .build()
        .unwrap()
}

/// A security key (a software token that keeps a signature counter).
fn token() -> WebauthnAuthenticator<SoftToken> {
    WebauthnAuthenticator::new(SoftToken::new(true).unwrap().0)
}

/// Registers `key` as `account`'s first factor, named `label`.
async fn register<T: AuthenticatorBackend>(
    tf: &TwoFactor,
    account: &Account,
    key: &mut WebauthnAuthenticator<T>,
    label: &str,
) -> Verdict<twofactor::Enabled> {
    let begun = tf
        .begin_setup(account, NewMethod::Key.labelled(label), &password())
        .await
        .unwrap();
    let Verdict::Accepted(Setup::Key(setup)) = begun else {
        panic!("{begun:?}")
    };
    let answer = key
        .do_registration(origin(), setup.options().clone())
        .unwrap();
    tf.confirm_setup(account, &answer).await.unwrap()
}

/// The key challenge `begin_login` hands out.
async fn login_request(tf: &TwoFactor, account: &Account) -> KeyRequest {
    match tf.begin_login(account, None).await.unwrap() {
        LoginStep::Challenge { key: Some(key), .. } => key,
        other => panic!("{other:?}"),
    }
}

fn answer<T: AuthenticatorBackend>(
    key: &mut WebauthnAuthenticator<T>,
    request: &KeyRequest,
) -> PublicKeyCredential {
    key.do_authentication(origin(), request.options().clone())
        .unwrap()
}

/// Logs `account` in with `key`: a challenge from `begin_login`, the key's
/// answer, and `verify_login`'s verdict on it.
async fn log_in<T: AuthenticatorBackend>(
    tf: &TwoFactor,
    account: &Account,
    key: &mut WebauthnAuthenticator<T>,
) -> Verdict<twofactor::Verified> {
    let request = login_request(tf, account).await;
    let signed = answer(key, &request);
    tf.verify_login(account, &signed, None).await.unwrap()
}

#[tokio::test]
async fn a_security_key_is_registered_and_logs_in() {
    let h = Harness::new();
    let tf = instance(&h, keys());
    let alice = h.account("alice");
    let mut yubikey = token();

    let enabled = register(&tf, &alice, &mut yubikey, "YubiKey").await;
    let Verdict::Accepted(enabled) = enabled else {
        panic!("{enabled:?}")
    };
    assert_eq!(enabled.method, Method::Key);
    assert!(enabled.recovery_codes.is_some());
    let list = tf.authenticators(&alice).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0].method, list[0].label.as_str()),
        (Method::Key, "YubiKey")
    );
    assert!(list[0].id.starts_with("key-"));

    // the login asks for the key, with a challenge for the browser
    let step = tf.begin_login(&alice, None).await.unwrap();
    let LoginStep::Challenge {
        method: Method::Key,
        key: Some(request),
        ..
    } = step
    else {
        panic!("{step:?}")
    };
    let signed = answer(&mut yubikey, &request);
    let v = tf.verify_login(&alice, &signed, None).await.unwrap();
    assert!(v.is_accepted(), "{v:?}");
    let event = h.events.0.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        (event.kind, event.method),
        (EventKind::LoginAccepted, Some(Method::Key))
    );
    assert_eq!(event.authenticator.unwrap().label, "YubiKey");
    let used = tf.authenticators(&alice).await.unwrap();
    assert!(used[0].last_used.is_some());

    // the answer as JSON text, as a page posts it, is read the same way
    let request = login_request(&tf, &alice).await;
    let json = serde_json::to_string(&answer(&mut yubikey, &request)).unwrap();
    assert!(logs_in(&tf, &alice, &json).await);
}

#[tokio::test]
async fn a_replayed_or_stale_answer_is_refused_and_counted() {
    let h = Harness::new();
    let tf = instance(&h, keys());
    let alice = h.account("alice");
    let mut yubikey = token();
    assert!(register(&tf, &alice, &mut yubikey, "YubiKey")
        .await
        .is_accepted());
    let request = login_request(&tf, &alice).await;
    let signed = answer(&mut yubikey, &request);
    let v = tf.verify_login(&alice, &signed, None).await.unwrap();
    assert!(v.is_accepted());
    // the same answer again: its challenge is spent
    assert_eq!(
        tf.verify_login(&alice, &signed, None).await.unwrap(),
        rejected(4, Rejection::Replayed)
    );
    // against a new challenge, the old answer signs the wrong one
    let _fresh = login_request(&tf, &alice).await;
    assert_eq!(
        tf.verify_login(&alice, &signed, None).await.unwrap(),
        wrong(3)
    );
    // a challenge answered too late
    let request = login_request(&tf, &alice).await;
    let late = answer(&mut yubikey, &request);
    h.advance(301);
    assert_eq!(
        tf.verify_login(&alice, &late, None).await.unwrap(),
        rejected(2, Rejection::Expired)
    );
    // something that is not an answer at all
    let _ = login_request(&tf, &alice).await;
    assert_eq!(
        tf.verify_login(&alice, "{\"id\": 1}", None).await.unwrap(),
        rejected(1, Rejection::Malformed)
    );
    assert!(matches!(
        tf.verify_login(&alice, &signed, None).await.unwrap(),
        Verdict::LockedOut { .. }
    ));
}

#[tokio::test]
async fn another_accounts_key_is_refused() {
    let h = Harness::new();
    let tf = instance(&h, keys());
    let alice = h.account("alice");
    let bob = h.account("bob");
    let mut alices = token();
    let mut bobs = token();
    assert!(register(&tf, &alice, &mut alices, "mine")
        .await
        .is_accepted());
    assert!(register(&tf, &bob, &mut bobs, "bob's").await.is_accepted());
    // both have a live challenge; bob answers his own, alice's login gets it
    let _alices_request = login_request(&tf, &alice).await;
    let bobs_request = login_request(&tf, &bob).await;
    let bobs_answer = answer(&mut bobs, &bobs_request);
    assert_eq!(
        tf.verify_login(&alice, &bobs_answer, None).await.unwrap(),
        wrong(4)
    );
    // bob's key cannot even answer alice's challenge: it does not hold
    // her credential
    let alices_request = login_request(&tf, &alice).await;
    assert!(bobs
        .do_authentication(origin(), alices_request.options().clone())
        .is_err());
    // a second credential from the same token is a key of its own
    let grant = h.grant_key(&tf, &alice, &mut alices).await;
    let begun = tf
        .add_fallback(&alice, NewMethod::Key, &grant)
        .await
        .unwrap();
    let Verdict::Accepted(Setup::Key(setup)) = begun else {
        panic!()
    };
    let again = alices
        .do_registration(origin(), setup.options().clone())
        .unwrap();
    // bob cannot confirm it for himself: the setup is alice's
    assert!(matches!(
        tf.confirm_setup(&bob, &again).await,
        Err(Error::AlreadyEnabled)
    ));
    assert!(tf
        .confirm_setup(&alice, &again)
        .await
        .unwrap()
        .is_accepted());
    let list = tf.authenticators(&alice).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_ne!(list[0].id, list[1].id);
}

/// 32 submissions of one answer across `servers` (instances on one
/// store), `rounds` times: exactly one is accepted each time.
async fn one_answer_once(h: &Harness, servers: &[TwoFactor], rounds: usize) {
    for round in 0..rounds {
        let alice = h.account(&format!("{}-alice-{round}", h.run_id()));
        let mut yubikey = token();
        assert!(register(&servers[0], &alice, &mut yubikey, "YubiKey")
            .await
            .is_accepted());
        let request = login_request(&servers[1], &alice).await;
        let signed = Arc::new(answer(&mut yubikey, &request));
        let barrier = Arc::new(Barrier::new(32));
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let (tf, alice, signed, barrier) = (
                    servers[i % servers.len()].clone(),
                    alice.clone(),
                    signed.clone(),
                    barrier.clone(),
                );
                tokio::spawn(async move {
                    barrier.wait().await;
                    tf.verify_login(&alice, signed.as_ref(), None)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut accepted = 0;
        for t in tasks {
            if t.await.unwrap().is_accepted() {
                accepted += 1;
            }
        }
        assert_eq!(accepted, 1, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_answer_racing_is_accepted_once() {
    let h = Harness::new();
    let servers: Vec<TwoFactor> = (0..8).map(|_| instance(&h, keys())).collect();
    one_answer_once(&h, &servers, 20).await;
}

/// The same on PostgreSQL: eight instances, each with its own pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_answer_racing_on_postgres_is_accepted_once() {
    let url = postgres_url();
    let h = Harness::new();
    let mut servers = Vec::new();
    for i in 0..8 {
        let store = twofactor::PostgresStore::connect(&url, 4).await.unwrap();
        if i == 0 {
            store.migrate().await.unwrap();
        }
        servers.push(
            h.builder()
                .store(store)
                .passwords(h.passwords.clone())
                .policy(policy())
                .security_keys(keys())
                .build()
                .unwrap(),
        );
    }
    one_answer_once(&h, &servers, 10).await;
}

#[tokio::test]
async fn a_key_steps_up_and_the_password_alone_does_not() {
    let h = Harness::new();
    let tf = instance(&h, keys());
    let alice = h.account("alice");
    let mut yubikey = token();
    assert!(register(&tf, &alice, &mut yubikey, "YubiKey")
        .await
        .is_accepted());
    let pw = password();
    assert!(matches!(
        tf.add_fallback(&alice, NewMethod::App, &pw).await,
        Err(Error::StepUpRequired)
    ));
    let request = tf.begin_key_step_up(&alice).await.unwrap();
    let signed = answer(&mut yubikey, &request);
    // a login's challenge is not a step-up's
    let grant = tf.step_up(&alice, &pw, &signed).await.unwrap();
    let Verdict::Accepted(grant) = grant else {
        panic!("{grant:?}")
    };
    assert!(tf
        .add_fallback(&alice, NewMethod::App, &grant)
        .await
        .unwrap()
        .is_accepted());
    // a step-up answer does not log in
    let request = tf.begin_key_step_up(&alice).await.unwrap();
    let signed = answer(&mut yubikey, &request);
    assert_eq!(
        tf.verify_login(&alice, &signed, None).await.unwrap(),
        rejected(4, Rejection::Replayed)
    );
}

#[tokio::test]
async fn passkeys_require_user_verification() {
    let h = Harness::new();
    let tf = instance(&h, keys().passkeys());
    let alice = h.account("alice");
    // the browser is told to verify the user: a key that cannot does not
    // register, and nothing is turned on
    let begun = tf
        .begin_setup(&alice, NewMethod::Key, &password())
        .await
        .unwrap();
    let Verdict::Accepted(Setup::Key(setup)) = begun else {
        panic!()
    };
    let required = serde_json::to_value(setup.options()).unwrap();
    assert_eq!(
        required["publicKey"]["authenticatorSelection"]["userVerification"],
        "required"
    );
    let mut touch_only = WebauthnAuthenticator::new(SoftPasskey::new(false));
    assert!(touch_only
        .do_registration(origin(), setup.options().clone())
        .is_err());
    assert!(!tf.status(&alice).await.unwrap().is_on());
    let mut phone = WebauthnAuthenticator::new(SoftPasskey::new(true));
    assert!(register(&tf, &alice, &mut phone, "phone")
        .await
        .is_accepted());
    assert!(log_in(&tf, &alice, &mut phone).await.is_accepted());
}

#[tokio::test]
async fn keys_meet_the_phishing_resistant_requirement_and_are_capped() {
    let h = Harness::new();
    let mut p = policy();
    p.authenticators.max_keys = 1;
    let tf = h
        .builder()
        .store(h.store.clone())
        .passwords(h.passwords.clone())
        .policy(p)
        .security_keys(keys())
        .requirements(twofactor::Requirement::now().with_strength(Strength::Key))
        .build()
        .unwrap();
    let alice = h.account("alice");
    assert!(matches!(
        tf.begin_login(&alice, None).await.unwrap(),
        LoginStep::SetupRequired {
            strength: Strength::Key,
            ..
        }
    ));
    let mut yubikey = token();
    assert!(register(&tf, &alice, &mut yubikey, "YubiKey")
        .await
        .is_accepted());
    let request = login_request(&tf, &alice).await;
    let v = tf
        .verify_login(&alice, &answer(&mut yubikey, &request), None)
        .await
        .unwrap();
    assert!(v.accepted().unwrap().setup_due.is_none());
    // the cap: a second key is refused before anything is evaluated
    let grant = h.grant_key(&tf, &alice, &mut yubikey).await;
    assert!(matches!(
        tf.add_fallback(&alice, NewMethod::Key, &grant).await,
        Err(Error::TooManyAuthenticators { max: 1 })
    ));
    // without keys configured, a key is a configuration error
    let plain = h.instance();
    assert!(matches!(
        plain
            .begin_setup(&h.account("bob"), NewMethod::Key, &password())
            .await,
        Err(Error::Config(_))
    ));
}

trait GrantByKey {
    async fn grant_key<T: AuthenticatorBackend>(
        &self,
        tf: &TwoFactor,
        account: &Account,
        key: &mut WebauthnAuthenticator<T>,
    ) -> twofactor::Grant;
}

impl GrantByKey for Harness {
    /// A step-up grant proved with the password and `key`.
    async fn grant_key<T: AuthenticatorBackend>(
        &self,
        tf: &TwoFactor,
        account: &Account,
        key: &mut WebauthnAuthenticator<T>,
    ) -> twofactor::Grant {
        let request = tf.begin_key_step_up(account).await.unwrap();
        let signed = answer(key, &request);
        tf.step_up(account, &password(), &signed)
            .await
            .unwrap()
            .accepted()
            .unwrap()
    }
}

/// `Attestation::Trusted`: a key whose maker is on the list registers; one
/// from another maker is refused, and nothing is turned on.
#[tokio::test]
async fn a_trusted_attestation_list_admits_only_its_makers() {
    use twofactor::webauthn_rs::prelude::AttestationCaListBuilder;
    use webauthn_authenticator_rs::softtoken::AAGUID;
    let (ours, our_ca) = SoftToken::new(true).unwrap();
    let (theirs, _their_ca) = SoftToken::new(true).unwrap();
    let mut list = AttestationCaListBuilder::new();
    list.insert_device_x509(our_ca, AAGUID, "issued keys".into(), Default::default())
        .unwrap();
    let trusted = SecurityKeys::new(RP, ORIGIN, Attestation::Trusted(list.build())).unwrap();
    let h = Harness::new();
    let tf = instance(&h, trusted);

    let bob = h.account("bob");
    let mut foreign = WebauthnAuthenticator::new(theirs);
    assert_eq!(
        register(&tf, &bob, &mut foreign, "bought online").await,
        wrong(4)
    );
    assert!(!tf.status(&bob).await.unwrap().is_on());

    let alice = h.account("alice");
    let mut issued = WebauthnAuthenticator::new(ours);
    assert!(register(&tf, &alice, &mut issued, "issued")
        .await
        .is_accepted());
    assert!(log_in(&tf, &alice, &mut issued).await.is_accepted());
}
