//! Code verification, measured side by side so that ratios hold on a noisy
//! machine. `cargo bench --bench verify`, then `python3 scripts/bench-report`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use twofactor::__internal::Totp;
use twofactor::__internal::{CodeCheck, DeviceCheck, RecoveryCheck};
use twofactor::testing::ManualClock;
use twofactor::{
    Account, Algorithm, Clock, MasterKey, MemoryStore, NewMethod, PasswordCheck, Policy, PortError,
    Setup, Timestamp, TwoFactor, Verdict,
};

const SECRET: [u8; 20] =
    *b"\x3b\x11\x92\x07\xaa\x5c\x01\xfe\x42\x99\x10\x63\xd7\x28\x5e\xb4\x0c\x81\x6f\x33";
const NOW: u64 = 1_700_000_015;

/// A six-digit code that no step of the window around `NOW` shows.
fn wrong_code(secret: &[u8]) -> String {
    wrong_code_at(&[secret.to_vec()], NOW)
}

/// A six-digit code that no step of any of `secrets`' windows around `at`
/// shows.
fn wrong_code_at(secrets: &[Vec<u8>], at: u64) -> String {
    let totp = Totp::new(Algorithm::Sha1, 6, 30);
    let window: Vec<String> = secrets
        .iter()
        .flat_map(|secret| [at - 30, at, at + 30].map(|t| totp.code_at(secret, t).to_string()))
        .collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| !window.contains(c))
        .unwrap()
}

fn totp(c: &mut Criterion) {
    let step = NOW / 30;
    c.benchmark_group("floor")
        .bench_function("hmac_sha1_x3", |b| {
            b.iter(|| {
                let key = <Hmac<sha1::Sha1> as Mac>::new_from_slice(black_box(&SECRET)).unwrap();
                let mut acc = 0u8;
                for counter in [step - 1, step, step + 1] {
                    let mut mac = key.clone();
                    mac.update(&counter.to_be_bytes());
                    acc ^= mac.finalize().into_bytes()[19];
                }
                black_box(acc)
            })
        });

    let ours = Totp::new(Algorithm::Sha1, 6, 30);
    let wrong = wrong_code(&SECRET);
    let right = ours.code_at(&SECRET, NOW).to_string();
    let mut g = c.benchmark_group("totp");
    g.bench_function("verify_wrong", |b| {
        b.iter(|| ours.matching_step(black_box(&SECRET), black_box(wrong.as_str()), NOW, 1, None))
    });
    g.bench_function("verify_right", |b| {
        b.iter(|| ours.matching_step(black_box(&SECRET), black_box(&right), NOW, 1, None))
    });
    g.finish();

    let peer = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, SECRET.to_vec());
    c.benchmark_group("totp_rs")
        .bench_function("check_wrong", |b| {
            b.iter(|| peer.check(black_box(wrong.as_str()), NOW))
        });
}

fn sent_codes(c: &mut Criterion) {
    let check = CodeCheck::new("402917", "alice@example.com");
    c.benchmark_group("code").bench_function("verify", |b| {
        b.iter(|| check.verify(black_box("402917"), "alice@example.com"))
    });

    let mut g = c.benchmark_group("recovery");
    g.sample_size(20).measurement_time(Duration::from_secs(20));
    let policy = Policy::default();
    for (name, left) in [("verify_10_left", 10), ("verify_1_left", 1)] {
        let check = RecoveryCheck::new(left, policy.recovery.memory_kib, policy.recovery.passes);
        assert!(check.verify(check.code()));
        g.bench_function(name, |b| b.iter(|| check.verify(black_box(check.code()))));
    }
    g.finish();

    let devices = DeviceCheck::new().unwrap();
    let token = DeviceCheck::token(19);
    assert_eq!(devices.verify(&token), Some(19));
    c.benchmark_group("device")
        .bench_function("verify", |b| b.iter(|| devices.verify(black_box(&token))));
}

struct Anyone;

#[async_trait]
impl PasswordCheck for Anyone {
    async fn verify(&self, _: &Account, _: &SecretString) -> Result<bool, PortError> {
        Ok(true)
    }
}

/// The secret an app setup shows.
fn secret_of(setup: Verdict<Setup>) -> Vec<u8> {
    let Verdict::Accepted(Setup::App(s)) = setup else {
        panic!()
    };
    let plain: String = s.secret.expose_secret().split(' ').collect();
    data_encoding::BASE32_NOPAD
        .decode(plain.as_bytes())
        .unwrap()
}

/// Sets `apps` authenticator apps up on `account`: the first turns two-factor
/// authentication on, each other is added under a step-up 30 s later.
/// Answers their secrets.
async fn enrol(
    tf: &TwoFactor,
    clock: &ManualClock,
    account: &Account,
    apps: usize,
) -> Vec<Vec<u8>> {
    let pw = SecretString::from("x");
    let totp = Totp::new(Algorithm::Sha1, 6, 30);
    let code = |secret: &[u8]| totp.code_at(secret, clock.now().unix_seconds()).to_string();
    let first = secret_of(tf.begin_setup(account, NewMethod::App, &pw).await.unwrap());
    assert!(tf
        .confirm_setup(account, &code(&first))
        .await
        .unwrap()
        .is_accepted());
    let mut secrets = vec![first];
    while secrets.len() < apps {
        clock.advance(Duration::from_secs(30));
        let grant = tf
            .step_up(account, &pw, &code(&secrets[0]))
            .await
            .unwrap()
            .accepted()
            .unwrap();
        let next = secret_of(
            tf.add_fallback(account, NewMethod::App, &grant)
                .await
                .unwrap(),
        );
        assert!(tf
            .confirm_setup(account, &code(&next))
            .await
            .unwrap()
            .is_accepted());
        secrets.push(next);
    }
    secrets
}

/// The whole `verify_login` on a memory store: load, unseal, check, save.
/// Wrong codes under an unlimited lockout, so each one is evaluated and its
/// failure saved: for an account with one app, and for one with five
/// (each code checked against every app).
fn service(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut policy = Policy::default()
        .dangerous_lockout_threshold(u32::MAX)
        .dangerous_daily_failures(u32::MAX);
    policy.recovery.memory_kib = 64;
    policy.recovery.passes = 1;
    let clock = ManualClock::new(Timestamp::from_unix_seconds(NOW));
    let tf = TwoFactor::builder()
        .issuer("Acme Portal")
        .key(MasterKey::new([5; 32]))
        .store(MemoryStore::new())
        .passwords(Anyone)
        .clock(clock.clone())
        .policy(policy)
        .build()
        .unwrap();
    let alice = Account::new("user-42", "alice@example.com");
    let bob = Account::new("user-43", "bob@example.com");
    let (one, five) = rt.block_on(async {
        let one = enrol(&tf, &clock, &alice, 1).await;
        let five = enrol(&tf, &clock, &bob, 5).await;
        (one, five)
    });
    let at = clock.now().unix_seconds();
    let mut g = c.benchmark_group("service");
    for (name, account, secrets) in [
        ("verify_login_memory", &alice, &one),
        ("verify_login_memory_5_apps", &bob, &five),
    ] {
        let wrong = Arc::new(wrong_code_at(secrets, at));
        g.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let (tf, account, wrong) = (&tf, account, wrong.clone());
                async move {
                    tf.verify_login(account, black_box(wrong.as_str()), None)
                        .await
                        .unwrap()
                }
            })
        });
    }
}
criterion_group!(benches, totp, sent_codes, service);
criterion_main!(benches);
