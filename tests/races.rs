//! Many app servers, one store: a code is accepted once, and every failed
//! attempt is counted, however requests race.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use common::race::*;
use common::*;
use tokio::sync::Barrier;
use twofactor::{EventKind, Verdict};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_app_code_is_accepted_exactly_once() {
    let farm = Farm::memory(policy());
    app_code_once(&farm, 200).await;
    assert_eq!(farm.h.events.count(EventKind::LoginAccepted), 200);
    assert!(
        farm.conflicts() > 0,
        "the requests never raced, so the test proved nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_emailed_code_is_accepted_exactly_once() {
    let farm = Farm::memory(policy());
    emailed_code_once(&farm, 100).await;
    assert!(farm.conflicts() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_recovery_code_is_accepted_exactly_once() {
    let farm = Farm::memory(policy());
    recovery_code_once(&farm, 50, 32).await;
    assert!(farm.conflicts() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_codes_are_all_counted() {
    let farm = Farm::memory(policy());
    wrong_codes_all_counted(&farm, 50).await;
    assert!(farm.conflicts() > 0);
}

/// Concurrent setups and confirmations leave one consistent factors.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_setups_leave_one_consistent_secret() {
    // enough tries to test each of the sixteen secrets
    let farm = Farm::memory(policy().dangerous_lockout_threshold(20));
    let account = farm.h.account("alice");
    let barrier = Arc::new(Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let tf = farm.servers[i % farm.servers.len()].clone();
            let account = account.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                tf.begin_setup(&account, twofactor::NewMethod::App, &password())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut apps = Vec::new();
    for t in tasks {
        if let Verdict::Accepted(twofactor::Setup::App(s)) = t.await.unwrap() {
            apps.push(App::from_grouped(secrecy::ExposeSecret::expose_secret(
                &s.secret,
            )));
        }
    }
    assert_eq!(apps.len(), 16);
    // exactly one of the sixteen secrets is the pending one
    let now = farm.h.now();
    let mut confirmed = 0;
    for app in &apps {
        match farm.servers[0]
            .confirm_setup(&account, &app.code(now))
            .await
        {
            Ok(v) if v.is_accepted() => confirmed += 1,
            Ok(_) => {}
            // once one confirmed, the rest find 2FA on
            Err(twofactor::Error::AlreadyEnabled) => assert_eq!(confirmed, 1),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(confirmed, 1);
    assert!(farm.servers[3].status(&account).await.unwrap().is_on());
}
