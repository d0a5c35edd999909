//! The SQLite store's single writer: group commit answers each
//! compare-and-swap on its own, a lock held by another process past the
//! busy timeout is a transient error, and no call waits longer than the
//! store's timeout.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use twofactor::{SaveOutcome, SqliteOptions, SqliteStore, UserStore};

/// A second process (Python's sqlite3) that takes the database's write
/// lock (`BEGIN IMMEDIATE`) and holds it for `hold`; returns once it holds
/// it.
fn lock_holder(path: &std::path::Path, hold: Duration) -> Child {
    let script = format!(
        "import sqlite3, sys, time\n\
         c = sqlite3.connect({path:?}, isolation_level=None)\n\
         c.execute('BEGIN IMMEDIATE')\n\
         print('locked', flush=True)\n\
         time.sleep({secs})\n\
         c.execute('COMMIT')\n",
        path = path.to_str().unwrap(),
        secs = hold.as_secs_f64()
    );
    let mut child = Command::new("python3")
        .args(["-c", &script])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    child
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_with_losing_compare_and_swaps_answers_each_and_commits_the_winners() {
    let path = common::sqlite_path("group-commit");
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    for user in ["a", "b", "c"] {
        assert_eq!(
            store.save(user, b"v1", 0).await.unwrap(),
            SaveOutcome::Saved { version: 1 }
        );
    }
    // Another process holds the write lock: the writer's first job waits
    // on it, and everything sent meanwhile queues into the next batch.
    let mut holder = lock_holder(&path, Duration::from_millis(700));
    let first = {
        let store = store.clone();
        tokio::spawn(async move { store.save("a", b"first", 1).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    // a: five more at version 1 (all lose to `first`), four at version 2
    // (one wins); b: six at version 1 (one wins); c: one (wins).
    let mut calls = Vec::new();
    for (user, expected, n) in [("a", 1, 5), ("a", 2, 4), ("b", 1, 6), ("c", 1, 1)] {
        for i in 0..n {
            let store = store.clone();
            let document = format!("{user}{expected}-{i}").into_bytes();
            calls.push((
                user,
                expected,
                document.clone(),
                tokio::spawn(async move { store.save(user, &document, expected).await }),
            ));
        }
    }
    assert_eq!(
        first.await.unwrap().unwrap(),
        SaveOutcome::Saved { version: 2 }
    );
    let mut winners = std::collections::HashMap::new();
    for (user, expected, document, call) in calls {
        match call.await.unwrap().unwrap() {
            SaveOutcome::Saved { version } => {
                assert_eq!(version, expected + 1, "{user}");
                assert!(winners.insert((user, expected), document).is_none());
            }
            SaveOutcome::Conflict => {}
        }
    }
    holder.wait().unwrap();
    // exactly one winner where one could win, none where none could
    assert!(!winners.contains_key(&("a", 1)));
    assert_eq!(winners.len(), 3, "{winners:?}");
    for (user, expected) in [("a", 2), ("b", 1), ("c", 1)] {
        let stored = store.load(user).await.unwrap().unwrap();
        assert_eq!(stored.version, expected + 1);
        assert_eq!(stored.document, winners[&(user, expected)]);
    }
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_holding_the_write_lock_past_the_busy_timeout_is_a_transient_error() {
    let path = common::sqlite_path("busy");
    let store = SqliteStore::open_with(
        path.to_str().unwrap(),
        SqliteOptions::default().busy_timeout(Duration::from_millis(300)),
    )
    .await
    .unwrap();
    assert_eq!(
        store.save("u", b"v1", 0).await.unwrap(),
        SaveOutcome::Saved { version: 1 }
    );
    let mut holder = lock_holder(&path, Duration::from_secs(2));
    let started = Instant::now();
    let error = store.save("u", b"v2", 1).await.unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert!(started.elapsed() < Duration::from_millis(1800));
    // the caller gets the engine's own words, not only "transient failure"
    let cause = std::error::Error::source(&error).map(|c| c.to_string());
    assert!(
        cause.as_deref().is_some_and(|c| c.contains("locked")),
        "{cause:?}"
    );
    // reads go on while the lock is held (WAL)
    assert_eq!(store.load("u").await.unwrap().unwrap().version, 1);
    holder.wait().unwrap();
    // nothing was written, and the store writes again once the lock is gone
    assert_eq!(
        store.save("u", b"v2", 1).await.unwrap(),
        SaveOutcome::Saved { version: 2 }
    );
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_call_waits_longer_than_the_store_timeout() {
    let path = common::sqlite_path("timeout");
    let store = SqliteStore::open_with(
        path.to_str().unwrap(),
        SqliteOptions::default()
            .busy_timeout(Duration::from_secs(30))
            .timeout(Duration::from_millis(300)),
    )
    .await
    .unwrap();
    assert_eq!(
        store.save("u", b"v1", 0).await.unwrap(),
        SaveOutcome::Saved { version: 1 }
    );
    let mut holder = lock_holder(&path, Duration::from_secs(2));
    let started = Instant::now();
    let error = store.save("u", b"v2", 1).await.unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert!(started.elapsed() < Duration::from_millis(1500));
    holder.wait().unwrap();
    // the abandoned write may be committed after its caller gave up (as
    // with any database); a write queued behind it tells when it is done,
    // and either way the versions stay consistent
    assert_eq!(
        store.save("other", b"v1", 0).await.unwrap(),
        SaveOutcome::Saved { version: 1 }
    );
    let version = store.load("u").await.unwrap().unwrap().version;
    assert!(version == 1 || version == 2, "{version}");
    assert_eq!(
        store.save("u", b"v3", version).await.unwrap(),
        SaveOutcome::Saved {
            version: version + 1
        }
    );
    let _ = std::fs::remove_file(&path);
}
