//! Several app instances on one PostgreSQL database, each with its own
//! connection pool: a code is accepted once, and every failure counted.

#![cfg(feature = "postgres")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::race::*;
use common::*;
use twofactor::PostgresStore;

/// Eight app instances, each with its own pool on the test database.
async fn farm() -> Farm {
    let url = postgres_url();
    let mut stores = Vec::new();
    for _ in 0..INSTANCES {
        stores.push(PostgresStore::connect(&url, 8).await.unwrap());
    }
    stores[0].migrate().await.unwrap();
    Farm::over(Harness::new(), stores, policy())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_app_code_is_accepted_exactly_once_across_instances() {
    let farm = farm().await;
    app_code_once(&farm, 200).await;
    assert!(farm.conflicts() > 0, "the instances never raced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_emailed_code_is_accepted_exactly_once_across_instances() {
    let farm = farm().await;
    emailed_code_once(&farm, 200).await;
    assert!(farm.conflicts() > 0, "the instances never raced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_recovery_code_is_accepted_exactly_once_across_instances() {
    let farm = farm().await;
    recovery_code_once(&farm, 200, TASKS).await;
    assert!(farm.conflicts() > 0, "the instances never raced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_codes_are_all_counted_across_instances() {
    let farm = farm().await;
    wrong_codes_all_counted(&farm, 50).await;
    assert!(farm.conflicts() > 0, "the instances never raced");
}
