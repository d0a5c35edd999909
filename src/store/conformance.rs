//! The checks every store must pass, as a [`UserStore`] and as a
//! [`LimitStore`], for the stores shipped here and for a host's own. Run
//! them against a real instance of the store (a test database, not a mock):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let report = twofactor::store::conformance::run(twofactor::MemoryStore::new()).await;
//! assert!(report.is_ok(), "{report:?}");
//! # }
//! ```
//!
//! Each run works on account ids and counter keys under a fresh random
//! prefix, so it may share a database with other data and other runs.

use std::fmt;

use async_trait::async_trait;
use futures_util::future::join_all;
use secrecy::SecretString;

use crate::crypto::keys::MasterKey;
use crate::error::{Error, PortError};
use crate::model::account::Account;
use crate::model::time::Timestamp;
use crate::ports::{LimitStore, PasswordCheck, SaveOutcome, Stored, UserStore};
use crate::service::TwoFactor;

/// Concurrent compare-and-swaps in the race check.
pub const RACERS: usize = 64;

/// A check that failed: which, and what was seen.
#[derive(Debug)]
pub struct Failure {
    /// The check's name.
    pub check: &'static str,
    /// What went wrong.
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store conformance: {}: {}", self.check, self.detail)
    }
}

impl std::error::Error for Failure {}

/// The checks that passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Their names, in the order run.
    pub passed: Vec<&'static str>,
}

type Outcome = Result<(), Failure>;

fn fail(check: &'static str, detail: impl Into<String>) -> Failure {
    Failure {
        check,
        detail: detail.into(),
    }
}

fn port(check: &'static str) -> impl Fn(PortError) -> Failure {
    move |e| {
        fail(
            check,
            format!(
                "the store failed: {e} ({:?})",
                std::error::Error::source(&e)
            ),
        )
    }
}

fn expect(check: &'static str, ok: bool, detail: impl FnOnce() -> String) -> Outcome {
    if ok {
        Ok(())
    } else {
        Err(fail(check, detail()))
    }
}

/// One check of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Check {
    /// [`round_trip`]
    RoundTrip,
    /// [`version_conflict`]
    VersionConflict,
    /// [`concurrent_compare_and_swap`]
    ConcurrentCompareAndSwap,
    /// [`delete`]
    Delete,
    /// [`list_paging`]
    ListPaging,
    /// [`load_many`]
    LoadMany,
    /// [`limit_round_trip`]
    LimitRoundTrip,
    /// [`limit_concurrent_compare_and_swap`]
    LimitConcurrentCompareAndSwap,
    /// [`limits_apart_from_records`]
    LimitsApartFromRecords,
    /// [`limit_purge`]
    LimitPurge,
    /// [`unreadable_documents`]
    UnreadableDocuments,
}

impl Check {
    /// Every check, in the order [`run`] runs them.
    pub const ALL: [Check; 11] = [
        Check::RoundTrip,
        Check::VersionConflict,
        Check::ConcurrentCompareAndSwap,
        Check::Delete,
        Check::ListPaging,
        Check::LoadMany,
        Check::LimitRoundTrip,
        Check::LimitConcurrentCompareAndSwap,
        Check::LimitsApartFromRecords,
        Check::LimitPurge,
        Check::UnreadableDocuments,
    ];

    /// The check's name, as in a [`Failure`] and a [`Report`].
    pub fn name(self) -> &'static str {
        match self {
            Check::RoundTrip => "round_trip",
            Check::VersionConflict => "version_conflict",
            Check::ConcurrentCompareAndSwap => "concurrent_compare_and_swap",
            Check::Delete => "delete",
            Check::ListPaging => "list_paging",
            Check::LoadMany => "load_many",
            Check::LimitRoundTrip => "limit_round_trip",
            Check::LimitConcurrentCompareAndSwap => "limit_concurrent_compare_and_swap",
            Check::LimitsApartFromRecords => "limits_apart_from_records",
            Check::LimitPurge => "limit_purge",
            Check::UnreadableDocuments => "unreadable_documents",
        }
    }
}

fn fresh_prefix() -> Result<String, Failure> {
    let mut random = [0u8; 8];
    crate::crypto::random::fill(&mut random).map_err(|_| fail("setup", "no randomness"))?;
    Ok(format!(
        "conformance-{}-",
        data_encoding::HEXLOWER.encode(&random)
    ))
}

async fn check_under<S: UserStore + LimitStore + Clone + 'static>(
    which: Check,
    store: S,
    prefix: &str,
) -> Outcome {
    match which {
        Check::RoundTrip => round_trip(&store, prefix).await,
        Check::VersionConflict => version_conflict(&store, prefix).await,
        Check::ConcurrentCompareAndSwap => concurrent_compare_and_swap(&store, prefix).await,
        Check::Delete => delete(&store, prefix).await,
        Check::ListPaging => list_paging(&store, prefix).await,
        Check::LoadMany => load_many(&store, prefix).await,
        Check::LimitRoundTrip => limit_round_trip(&store, prefix).await,
        Check::LimitConcurrentCompareAndSwap => {
            limit_concurrent_compare_and_swap(&store, prefix).await
        }
        Check::LimitsApartFromRecords => limits_apart_from_records(&store, prefix).await,
        Check::LimitPurge => limit_purge(&store, prefix).await,
        Check::UnreadableDocuments => unreadable_documents(store, prefix).await,
    }
}

/// Runs one check, under a fresh prefix of its own.
pub async fn check<S: UserStore + LimitStore + Clone + 'static>(
    which: Check,
    store: S,
) -> Result<(), Failure> {
    check_under(which, store, &fresh_prefix()?).await
}

/// Runs every check; the first failure stops the run.
pub async fn run<S: UserStore + LimitStore + Clone + 'static>(store: S) -> Result<Report, Failure> {
    let prefix = fresh_prefix()?;
    let mut passed = Vec::new();
    for which in Check::ALL {
        check_under(which, store.clone(), &prefix).await?;
        passed.push(which.name());
    }
    Ok(Report { passed })
}

/// Generates a module of tests, one per [`Check`](crate::store::conformance::Check),
/// so that a failing store shows which check failed. Give the module a
/// name, the test attribute of your runtime (the race checks want several
/// threads), and an expression that makes the store: it is evaluated once
/// per test, and may `.await` (it is used inside an `async` block).
///
/// ```
/// twofactor::store_conformance_tests!(
///     memory_store,
///     #[tokio::test(flavor = "multi_thread", worker_threads = 4)],
///     twofactor::MemoryStore::new()
/// );
/// # fn main() {}
/// ```
///
/// A failure panics with the check's name and what was seen. The function
/// form, [`run`](crate::store::conformance::run), runs them all in one test.
#[macro_export]
macro_rules! store_conformance_tests {
    ($module:ident, #[$($attr:tt)+], $store:expr $(,)?) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $crate::store_conformance_tests!(@one #[$($attr)+], $store, round_trip, RoundTrip);
            $crate::store_conformance_tests!(@one #[$($attr)+], $store, version_conflict, VersionConflict);
            $crate::store_conformance_tests!(@one #[$($attr)+], $store, concurrent_compare_and_swap, ConcurrentCompareAndSwap);
            $crate::store_conformance_tests!(@one #[$($attr)+], $store, delete, Delete);
            $crate::store_conformance_tests!(@one #[$($attr)+], $store, list_paging, ListPaging);
            $crate::store_conformance_tests!(@one #[$($attr)+], $store, load_many, LoadMany);
            $crate::store_conformance_tests!(@one #[$($attr)+], $store, limit_round_trip, LimitRoundTrip);
            $crate::store_conformance_tests!(@one #[$($attr)+], $store, limit_concurrent_compare_and_swap, LimitConcurrentCompareAndSwap);
            $crate::store_conformance_tests!(@one #[$($attr)+], $store, limits_apart_from_records, LimitsApartFromRecords);
            $crate::store_conformance_tests!(@one #[$($attr)+], $store, limit_purge, LimitPurge);
            $crate::store_conformance_tests!(@one #[$($attr)+], $store, unreadable_documents, UnreadableDocuments);
        }
    };
    (@one #[$($attr:tt)+], $store:expr, $name:ident, $check:ident) => {
        #[$($attr)+]
        async fn $name() {
            let store = $store;
            if let Err(failure) = $crate::store::conformance::check(
                $crate::store::conformance::Check::$check,
                store,
            )
            .await
            {
                panic!("{failure}");
            }
        }
    };
}

/// Far enough ahead that no purge in a test removes it.
fn later() -> Timestamp {
    Timestamp::from_unix_seconds(4_000_000_000)
}

/// A counter is saved and loaded back with versions 1, 2, …, and a save
/// expecting another version writes nothing.
pub async fn limit_round_trip<S: LimitStore>(store: &S, prefix: &str) -> Outcome {
    const C: &str = "limit_round_trip";
    let key = format!("{prefix}limit");
    let got = store.load_limit(&key).await.map_err(port(C))?;
    expect(C, got.is_none(), || format!("a new key loaded {got:?}"))?;
    for (version, doc) in [(1u64, b"one".as_slice()), (2, b"\x00\xfftwo")] {
        let saved = store
            .save_limit(&key, doc, version - 1, later())
            .await
            .map_err(port(C))?;
        expect(C, saved == SaveOutcome::Saved { version }, || {
            format!("save at {} gave {saved:?}", version - 1)
        })?;
        let got = store.load_limit(&key).await.map_err(port(C))?;
        let want = Stored {
            version,
            document: doc.to_vec(),
        };
        expect(C, got.as_ref() == Some(&want), || {
            format!("loaded {got:?} instead of version {version}")
        })?;
    }
    for stale in [0, 1, 3] {
        let got = store
            .save_limit(&key, b"stale", stale, later())
            .await
            .map_err(port(C))?;
        expect(C, got == SaveOutcome::Conflict, || {
            format!("a save expecting {stale} when 2 is stored gave {got:?}")
        })?;
    }
    Ok(())
}

/// `RACERS` concurrent saves of one counter expecting the same version:
/// exactly one wins.
pub async fn limit_concurrent_compare_and_swap<S: LimitStore>(store: &S, prefix: &str) -> Outcome {
    const C: &str = "limit_concurrent_compare_and_swap";
    let key = format!("{prefix}limit-race");
    for expected in [0u64, 1] {
        let docs = racers();
        let saves = docs
            .iter()
            .map(|d| store.save_limit(&key, d, expected, later()));
        let want = the_one_winner(C, expected, &docs, join_all(saves).await)?;
        let got = store.load_limit(&key).await.map_err(port(C))?;
        expect(C, got.map(|s| s.document) == want, || {
            "the stored counter is not the winner's".into()
        })?;
    }
    Ok(())
}

/// A counter and a record under the same name are two things, and counters
/// are never listed as accounts.
pub async fn limits_apart_from_records<S: UserStore + LimitStore>(
    store: &S,
    prefix: &str,
) -> Outcome {
    const C: &str = "limits_apart_from_records";
    let name = format!("{prefix}same-name");
    let _ = store
        .save_limit(&name, b"counter", 0, later())
        .await
        .map_err(port(C))?;
    let record = store.load(&name).await.map_err(port(C))?;
    expect(C, record.is_none(), || {
        "a counter loaded as a record".into()
    })?;
    let saved = store.save(&name, b"record", 0).await.map_err(port(C))?;
    expect(C, saved == SaveOutcome::Saved { version: 1 }, || {
        format!("a record beside a counter of the same name gave {saved:?}")
    })?;
    let counter = store.load_limit(&name).await.map_err(port(C))?;
    expect(
        C,
        counter.map(|s| s.document) == Some(b"counter".to_vec()),
        || "the record changed the counter".into(),
    )?;
    let only = format!("{prefix}only-a-counter");
    let _ = store
        .save_limit(&only, b"c", 0, later())
        .await
        .map_err(port(C))?;
    let listed = store
        .list(Some(prefix), RACERS * 4)
        .await
        .map_err(port(C))?;
    expect(C, !listed.iter().any(|l| l.user == only), || {
        "a counter was listed as an account".into()
    })
}

/// Purging removes the counters whose time has passed, and only those.
pub async fn limit_purge<S: LimitStore>(store: &S, prefix: &str) -> Outcome {
    const C: &str = "limit_purge";
    let old = format!("{prefix}limit-old");
    let live = format!("{prefix}limit-live");
    let past = Timestamp::from_unix_seconds(1_000);
    let _ = store
        .save_limit(&old, b"old", 0, past)
        .await
        .map_err(port(C))?;
    let _ = store
        .save_limit(&live, b"live", 0, later())
        .await
        .map_err(port(C))?;
    let now = Timestamp::from_unix_seconds(2_000);
    let purged = store.purge_limits(now).await.map_err(port(C))?;
    expect(C, purged >= 1, || format!("purged {purged}"))?;
    let gone = store.load_limit(&old).await.map_err(port(C))?;
    expect(C, gone.is_none(), || "an expired counter stayed".into())?;
    let kept = store.load_limit(&live).await.map_err(port(C))?;
    expect(C, kept.is_some(), || "a live counter was purged".into())?;
    let again = store
        .save_limit(&old, b"new", 0, later())
        .await
        .map_err(port(C))?;
    expect(C, again == SaveOutcome::Saved { version: 1 }, || {
        format!("a purged key started again with {again:?}")
    })
}

/// What is saved is loaded back, byte for byte, with versions 1, 2, ….
pub async fn round_trip<S: UserStore>(store: &S, prefix: &str) -> Outcome {
    const C: &str = "round_trip";
    let user = format!("{prefix}round-trip");
    let got = store.load(&user).await.map_err(port(C))?;
    expect(C, got.is_none(), || format!("a new id loaded {got:?}"))?;
    let every_byte: Vec<u8> = (0..=255u8).cycle().take(64 * 1024).collect();
    for (version, doc) in [(1, b"\x01\x00".to_vec()), (2, every_byte)] {
        let saved = store
            .save(&user, &doc, version - 1)
            .await
            .map_err(port(C))?;
        expect(C, saved == SaveOutcome::Saved { version }, || {
            format!("save at {} gave {saved:?}", version - 1)
        })?;
        let got = store.load(&user).await.map_err(port(C))?;
        let want = Stored {
            version,
            document: doc.clone(),
        };
        expect(C, got.as_ref() == Some(&want), || {
            format!(
                "loaded {:?} instead of version {version}",
                got.map(|s| s.version)
            )
        })?;
    }
    Ok(())
}

/// A save with a version other than the stored one writes nothing.
pub async fn version_conflict<S: UserStore>(store: &S, prefix: &str) -> Outcome {
    const C: &str = "version_conflict";
    let user = format!("{prefix}conflict");
    let first = store.save(&user, b"one", 0).await.map_err(port(C))?;
    expect(C, first == SaveOutcome::Saved { version: 1 }, || {
        format!("{first:?}")
    })?;
    for stale in [0, 2, 5, u64::from(u32::MAX)] {
        let got = store.save(&user, b"two", stale).await.map_err(port(C))?;
        expect(C, got == SaveOutcome::Conflict, || {
            format!("a save expecting {stale} when 1 is stored gave {got:?}")
        })?;
    }
    let got = store.load(&user).await.map_err(port(C))?;
    expect(
        C,
        got == Some(Stored {
            version: 1,
            document: b"one".to_vec(),
        }),
        || "a conflicting save changed the document".into(),
    )
}

/// `RACERS` concurrent saves expecting the same version: exactly one wins,
/// for the first insert and for an update, and the winner's document is
/// the one stored.
pub async fn concurrent_compare_and_swap<S: UserStore>(store: &S, prefix: &str) -> Outcome {
    const C: &str = "concurrent_compare_and_swap";
    let user = format!("{prefix}race");
    for expected in [0u64, 1] {
        let docs = racers();
        let outcomes = join_all(docs.iter().map(|d| store.save(&user, d, expected))).await;
        let want = the_one_winner(C, expected, &docs, outcomes)?;
        let got = store.load(&user).await.map_err(port(C))?;
        expect(C, got.map(|s| s.document) == want, || {
            "the stored document is not the winner's".into()
        })?;
    }
    Ok(())
}

/// The documents `RACERS` concurrent saves write, one each.
fn racers() -> Vec<Vec<u8>> {
    (0..RACERS)
        .map(|i| format!("racer {i}").into_bytes())
        .collect()
}

/// Checks that exactly one of the racing saves of `docs` expecting
/// `expected` won; the winner's document.
fn the_one_winner(
    check: &'static str,
    expected: u64,
    docs: &[Vec<u8>],
    outcomes: Vec<Result<SaveOutcome, PortError>>,
) -> Result<Option<Vec<u8>>, Failure> {
    let mut winners = Vec::new();
    for (i, o) in outcomes.into_iter().enumerate() {
        match o.map_err(port(check))? {
            SaveOutcome::Saved { version } if Some(version) == expected.checked_add(1) => {
                winners.push(i)
            }
            SaveOutcome::Conflict => {}
            other => return Err(fail(check, format!("racer {i} got {other:?}"))),
        }
    }
    expect(check, winners.len() == 1, || {
        format!(
            "{} of {RACERS} saves expecting {expected} won",
            winners.len()
        )
    })?;
    Ok(winners.first().and_then(|w| docs.get(*w)).cloned())
}

/// A deleted document is gone, and its id starts again at version 1.
pub async fn delete<S: UserStore>(store: &S, prefix: &str) -> Outcome {
    const C: &str = "delete";
    let user = format!("{prefix}delete");
    let _ = store.save(&user, b"x", 0).await.map_err(port(C))?;
    let gone = store.delete(&user).await.map_err(port(C))?;
    expect(C, gone, || "deleting a document said there was none".into())?;
    let again = store.delete(&user).await.map_err(port(C))?;
    expect(C, !again, || "deleting twice said there was one".into())?;
    let got = store.load(&user).await.map_err(port(C))?;
    expect(C, got.is_none(), || "a deleted document loaded".into())?;
    let saved = store.save(&user, b"y", 0).await.map_err(port(C))?;
    expect(C, saved == SaveOutcome::Saved { version: 1 }, || {
        format!("a new save after delete gave {saved:?}")
    })
}

/// Several documents at once: exactly those saved, each with its own
/// version and bytes; ids without one are left out, and so is a lookalike
/// id (a prefix, another case).
pub async fn load_many<S: UserStore>(store: &S, prefix: &str) -> Outcome {
    const C: &str = "load_many";
    let [a, b, c] = [0, 1, 2].map(|i| format!("{prefix}many-{i}"));
    let ids = vec![a.clone(), b.clone(), c.clone()];
    for (i, id) in ids.iter().enumerate() {
        let _ = store.save(id, id.as_bytes(), 0).await.map_err(port(C))?;
        if i == 1 {
            let _ = store.save(id, b"second", 1).await.map_err(port(C))?;
        }
    }
    let none = store.load_many(&[]).await.map_err(port(C))?;
    expect(C, none.is_empty(), || {
        format!("no ids loaded {}", none.len())
    })?;
    let mut asked = ids.clone();
    asked.push(format!("{prefix}many-missing"));
    asked.push(format!("{prefix}many-"));
    asked.push(format!("{prefix}MANY-0"));
    let mut got = store.load_many(&asked).await.map_err(port(C))?;
    got.sort_by(|a, b| a.user.cmp(&b.user));
    let seen: Vec<(&str, u64, &[u8])> = got
        .iter()
        .map(|l| {
            (
                l.user.as_str(),
                l.stored.version,
                l.stored.document.as_slice(),
            )
        })
        .collect();
    let want: Vec<(&str, u64, &[u8])> = vec![
        (a.as_str(), 1, a.as_bytes()),
        (b.as_str(), 2, b"second"),
        (c.as_str(), 1, c.as_bytes()),
    ];
    expect(C, seen == want, || format!("loaded {seen:?}, not {want:?}"))?;
    // more ids than one query of the SQL stores takes
    let many: Vec<String> = (0..1_200).map(|i| format!("{prefix}many-x{i}")).collect();
    let mut wide = many.clone();
    wide.extend(ids.iter().cloned());
    let got = store.load_many(&wide).await.map_err(port(C))?;
    expect(C, got.len() == 3, || {
        format!("1 203 ids, 3 saved, loaded {}", got.len())
    })
}

/// Pages in ascending order of id, each starting after the last id of the
/// one before, with no id twice and none left out.
pub async fn list_paging<S: UserStore>(store: &S, prefix: &str) -> Outcome {
    const C: &str = "list_paging";
    let base = format!("{prefix}list-");
    let mut ids: Vec<String> = ["d", "a", "g", "c", "f", "b", "e"]
        .iter()
        .map(|s| format!("{base}{s}"))
        .collect();
    for id in &ids {
        let _ = store.save(id, id.as_bytes(), 0).await.map_err(port(C))?;
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut after = base.clone();
    loop {
        let page = store.list(Some(&after), 3).await.map_err(port(C))?;
        expect(C, page.len() <= 3, || {
            format!("a page of 3 had {}", page.len())
        })?;
        let ours: Vec<_> = page.iter().filter(|l| l.user.starts_with(&base)).collect();
        for l in &ours {
            expect(C, l.stored.document == l.user.as_bytes(), || {
                format!("{} listed another's document", l.user)
            })?;
            seen.push(l.user.clone());
        }
        match (ours.len(), page.last()) {
            (3, Some(last)) => after = last.user.clone(),
            _ => break,
        }
    }
    expect(C, seen == ids, || format!("listed {seen:?}, not {ids:?}"))?;
    let none = store.list(Some(&after), 0).await.map_err(port(C))?;
    expect(C, none.is_empty(), || "a page of 0 was not empty".into())
}

/// A document that is not a record, or of an unknown schema, is a typed
/// error from the library, not a panic and not a fresh record.
pub async fn unreadable_documents<S: UserStore + LimitStore + Clone + 'static>(
    store: S,
    prefix: &str,
) -> Outcome {
    const C: &str = "unreadable_documents";
    let tf = TwoFactor::builder()
        .issuer("Conformance")
        .key(MasterKey::new([7; 32]))
        .store(store.clone())
        .passwords(NoPasswords)
        .build()
        .map_err(|e| fail(C, e.to_string()))?;
    for (name, doc) in [("corrupt", b"\x01\xff\xff".as_slice()), ("future", &[99])] {
        let user = format!("{prefix}{name}");
        let _ = store.save(&user, doc, 0).await.map_err(port(C))?;
        let got = tf.status(&Account::new(user, "x@example.com")).await;
        let typed = match name {
            "corrupt" => matches!(got, Err(Error::CorruptRecord(_))),
            _ => matches!(got, Err(Error::UnsupportedSchema(99))),
        };
        expect(C, typed, || format!("a {name} document gave {got:?}"))?;
    }
    Ok(())
}

/// Knows no password: the checks need none.
struct NoPasswords;

#[async_trait]
impl PasswordCheck for NoPasswords {
    async fn verify(&self, _: &Account, _: &SecretString) -> Result<bool, PortError> {
        Ok(false)
    }
}
