//! The store conformance suite, on every store the crate ships.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use twofactor::store::conformance::run;

const ALL: [&str; 11] = [
    "round_trip",
    "version_conflict",
    "concurrent_compare_and_swap",
    "delete",
    "list_paging",
    "load_many",
    "limit_round_trip",
    "limit_concurrent_compare_and_swap",
    "limits_apart_from_records",
    "limit_purge",
    "unreadable_documents",
];

// One test per check, as a host would write it for its own store.
twofactor::store_conformance_tests!(
    memory_checks,
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)],
    twofactor::MemoryStore::new()
);

#[cfg(feature = "sqlite")]
twofactor::store_conformance_tests!(
    sqlite_checks,
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)],
    twofactor::SqliteStore::open(common::sqlite_path("conformance-check").to_str().unwrap())
        .await
        .unwrap()
);

#[cfg(feature = "postgres")]
twofactor::store_conformance_tests!(
    postgres_checks,
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)],
    {
        let store = twofactor::PostgresStore::connect(&common::postgres_url(), 8)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    }
);

#[test]
fn the_checks_are_named_as_the_report_names_them() {
    use twofactor::store::conformance::Check;
    assert_eq!(Check::ALL.map(Check::name), ALL);
}

#[tokio::test]
async fn memory_store_conforms() {
    let report = run(twofactor::MemoryStore::new())
        .await
        .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(report.passed, ALL);
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_conforms() {
    let path = common::sqlite_path("conformance");
    let store = twofactor::SqliteStore::open(path.to_str().unwrap())
        .await
        .unwrap();
    let report = run(store.clone()).await.unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(report.passed, ALL);
    // the same file, opened again, still holds what was saved
    store.pool().close().await;
    let again = twofactor::SqliteStore::open(path.to_str().unwrap())
        .await
        .unwrap();
    let page = twofactor::UserStore::list(&again, None, 100).await.unwrap();
    assert!(page.len() >= 10, "{}", page.len());
    let _ = std::fs::remove_file(&path);
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_conforms() {
    let store = twofactor::PostgresStore::connect(&common::postgres_url(), 16)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap(); // twice changes nothing
    let report = run(store).await.unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(report.passed, ALL);
}

/// A store that is not atomic fails the suite: the suite can fail.
#[tokio::test]
async fn a_store_without_compare_and_swap_fails() {
    use async_trait::async_trait;
    use twofactor::{Listed, MemoryStore, PortError, SaveOutcome, Stored, UserStore};

    #[derive(Clone, Default)]
    struct Careless(MemoryStore);

    #[async_trait]
    impl UserStore for Careless {
        async fn load(&self, user: &str) -> Result<Option<Stored>, PortError> {
            self.0.load(user).await
        }
        async fn save(&self, user: &str, doc: &[u8], _: u64) -> Result<SaveOutcome, PortError> {
            // writes whatever the version: last writer wins
            let current = self.0.load(user).await?.map_or(0, |s| s.version);
            self.0.save(user, doc, current).await
        }
        async fn delete(&self, user: &str) -> Result<bool, PortError> {
            self.0.delete(user).await
        }
        async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Listed>, PortError> {
            self.0.list(after, limit).await
        }
    }

    limit_store_via!(Careless, 0);

    let failure = run(Careless::default()).await.unwrap_err();
    assert_eq!(failure.check, "version_conflict");
}

/// A limit store whose save is not a compare-and-swap fails the suite too.
#[tokio::test]
async fn a_limit_store_without_compare_and_swap_fails() {
    use async_trait::async_trait;
    use twofactor::{
        LimitStore, Listed, MemoryStore, PortError, SaveOutcome, Stored, Timestamp, UserStore,
    };

    #[derive(Clone, Default)]
    struct Careless(MemoryStore);

    #[async_trait]
    impl UserStore for Careless {
        async fn load(&self, user: &str) -> Result<Option<Stored>, PortError> {
            self.0.load(user).await
        }
        async fn save(&self, user: &str, doc: &[u8], v: u64) -> Result<SaveOutcome, PortError> {
            self.0.save(user, doc, v).await
        }
        async fn delete(&self, user: &str) -> Result<bool, PortError> {
            self.0.delete(user).await
        }
        async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Listed>, PortError> {
            self.0.list(after, limit).await
        }
    }

    #[async_trait]
    impl LimitStore for Careless {
        async fn load_limit(&self, key: &str) -> Result<Option<Stored>, PortError> {
            self.0.load_limit(key).await
        }
        async fn save_limit(
            &self,
            key: &str,
            doc: &[u8],
            _: u64,
            expires: Timestamp,
        ) -> Result<SaveOutcome, PortError> {
            // last writer wins
            let current = self.0.load_limit(key).await?.map_or(0, |s| s.version);
            self.0.save_limit(key, doc, current, expires).await
        }
        async fn purge_limits(&self, now: Timestamp) -> Result<u64, PortError> {
            self.0.purge_limits(now).await
        }
    }

    let failure = run(Careless::default()).await.unwrap_err();
    assert_eq!(failure.check, "limit_round_trip");
}
