//! A security key's answer checked by `verify_login` (a right answer, so
//! webauthn-rs verifies its signature and the counter, and the record is
//! saved with the challenge spent), beside an authenticator app's right
//! code through the same call, in one run. Each key answer needs a fresh
//! challenge: `begin_login` and the software key's signature are made
//! outside the timed part. `cargo bench --features webauthn --bench keys`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use async_trait::async_trait;
use criterion::{criterion_group, criterion_main, Criterion};
use secrecy::{ExposeSecret, SecretString};
use twofactor::__internal::Totp;
use twofactor::testing::ManualClock;
use twofactor::webauthn_rs::prelude::Url;
use twofactor::{
    Account, Algorithm, Attestation, Clock, LoginStep, MasterKey, MemoryStore, NewMethod,
    PasswordCheck, Policy, PortError, SecurityKeys, Setup, Timestamp, TwoFactor, Verdict,
};
use webauthn_authenticator_rs::softtoken::SoftToken;
use webauthn_authenticator_rs::WebauthnAuthenticator;

const ORIGIN: &str = "https://portal.example.com";

struct Anyone;

#[async_trait]
impl PasswordCheck for Anyone {
    async fn verify(&self, _: &Account, _: &SecretString) -> Result<bool, PortError> {
        Ok(true)
    }
}

fn keys(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut policy = Policy::default();
    policy.recovery.memory_kib = 64;
    policy.recovery.passes = 1;
    let clock = ManualClock::new(Timestamp::from_unix_seconds(1_700_000_015));
    let tf = TwoFactor::builder()
        .issuer("Acme Portal")
        .key(MasterKey::new([5; 32]))
        .store(MemoryStore::new())
        .passwords(Anyone)
        .clock(clock.clone())
        .policy(policy)
        .security_keys(
            SecurityKeys::new("portal.example.com", ORIGIN, Attestation::AnyAuthenticator).unwrap(),
        )
        .build()
        .unwrap();
    let origin = Url::parse(ORIGIN).unwrap();
    let pw = SecretString::from("x");
    let alice = Account::new("user-42", "alice@example.com");
    let bob = Account::new("user-43", "bob@example.com");
    let key = std::cell::RefCell::new(WebauthnAuthenticator::new(SoftToken::new(true).unwrap().0));
    let totp = Totp::new(Algorithm::Sha1, 6, 30);
    let secret = rt.block_on(async {
        let Verdict::Accepted(Setup::Key(setup)) =
            tf.begin_setup(&alice, NewMethod::Key, &pw).await.unwrap()
        else {
            panic!()
        };
        let created = key
            .borrow_mut()
            .do_registration(origin.clone(), setup.options().clone())
            .unwrap();
        assert!(tf
            .confirm_setup(&alice, &created)
            .await
            .unwrap()
            .is_accepted());
        let Verdict::Accepted(Setup::App(app)) =
            tf.begin_setup(&bob, NewMethod::App, &pw).await.unwrap()
        else {
            panic!()
        };
        let plain: String = app.secret.expose_secret().split(' ').collect();
        let secret = data_encoding::BASE32_NOPAD
            .decode(plain.as_bytes())
            .unwrap();
        let code = totp
            .code_at(&secret, clock.now().unix_seconds())
            .to_string();
        assert!(tf.confirm_setup(&bob, &code).await.unwrap().is_accepted());
        secret
    });
    let mut g = c.benchmark_group("service");
    g.bench_function("verify_login_key_memory", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (tf, alice, origin) = (&tf, &alice, origin.clone());
            let key = &key;
            async move {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let LoginStep::Challenge {
                        key: Some(request), ..
                    } = tf.begin_login(alice, None).await.unwrap()
                    else {
                        panic!()
                    };
                    let signed = key
                        .borrow_mut()
                        .do_authentication(origin.clone(), request.options().clone())
                        .unwrap();
                    let start = Instant::now();
                    let v = tf.verify_login(alice, &signed, None).await.unwrap();
                    spent += start.elapsed();
                    assert!(v.is_accepted());
                }
                spent
            }
        })
    });
    // An app's right code through the same call: each step is accepted
    // once, so the clock moves two steps before each (outside the timing;
    // one step would meet, once in a million, a code that equals the next
    // step's, which spends that step too and makes the next code a replay).
    g.bench_function("verify_login_app_right_memory", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (tf, bob, clock, secret, totp) = (&tf, &bob, clock.clone(), &secret, &totp);
            async move {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    clock.advance(Duration::from_secs(60));
                    let code = totp.code_at(secret, clock.now().unix_seconds()).to_string();
                    let start = Instant::now();
                    let v = tf.verify_login(bob, &code, None).await.unwrap();
                    spent += start.elapsed();
                    assert!(v.is_accepted(), "{v:?}");
                }
                spent
            }
        })
    });
}

criterion_group!(benches, keys);
criterion_main!(benches);
