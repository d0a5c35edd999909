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

/// One source's concurrent guesses across eighty accounts, spread over
/// eight instances with their own pools: evaluated exactly up to the
/// source's limit, the counter shared through the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_source_is_counted_exactly_across_instances() {
    let farm = farm().await;
    source_failures_counted_exactly(&farm, 80).await;
}

/// Codes to one number from many accounts on many instances: five an hour
/// reach it, whichever instance and account asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_destination_is_counted_across_instances() {
    let farm = farm().await;
    // a number of this run's own, so runs sharing the database do not meet
    let digits: String = farm
        .h
        .run_id()
        .bytes()
        .map(|b| char::from(b'0' + b % 10))
        .take(9)
        .collect();
    let number = format!("+1{digits}");
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(40));
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let tf = farm.servers[i % farm.servers.len()].clone();
            let account = farm.user(&format!("pump-{i}"));
            let barrier = barrier.clone();
            let number = twofactor::PhoneNumber::parse(&number).unwrap();
            tokio::spawn(async move {
                barrier.wait().await;
                tf.begin_setup(&account, twofactor::NewMethod::Sms(number), &password())
                    .await
            })
        })
        .collect();
    let mut sent = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(v) if v.is_accepted() => sent += 1,
            Err(twofactor::Error::RateLimited { .. }) => refused += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((sent, refused), (5, 35));
    let texts = farm
        .h
        .outbox
        .messages()
        .iter()
        .filter(|r| r.to == number)
        .count();
    assert_eq!(texts, 5);
}

/// Instances starting at once on an empty database each run the migration:
/// all succeed, and the tables are there once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_migrating_at_once_all_succeed() {
    let url = postgres_url();
    let admin = PostgresStore::connect(&url, 1).await.unwrap();
    let mut r = [0u8; 6];
    rand::TryRng::try_fill_bytes(&mut rand::rngs::SysRng, &mut r).unwrap();
    let db = format!("twofactor_migrate_{}", data_encoding::HEXLOWER.encode(&r));
    // the name is ours: "twofactor_migrate_" and hex
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(admin.pool())
        .await
        .unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    let fresh = format!("{base}/{db}");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let fresh = fresh.clone();
            tokio::spawn(async move {
                let store = PostgresStore::connect(&fresh, 1).await.unwrap();
                let done = store.migrate().await;
                store.pool().close().await;
                done
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let store = PostgresStore::connect(&fresh, 1).await.unwrap();
    let report = twofactor::store::conformance::run(store.clone()).await;
    assert!(report.is_ok(), "{report:?}");
    store.pool().close().await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {db}")))
        .execute(admin.pool())
        .await
        .unwrap();
}
