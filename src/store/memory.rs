use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use crate::error::PortError;
use crate::model::time::Timestamp;
use crate::ports::{LimitStore, Listed, SaveOutcome, Stored, UserStore};

/// A [`UserStore`] and [`LimitStore`] in this process's memory: for tests,
/// demos and a single instance that may forget everything on restart.
///
/// Clones share the same maps, so several [`TwoFactor`](crate::TwoFactor)
/// instances given clones behave like app servers sharing one database.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    map: Arc<Mutex<BTreeMap<String, Stored>>>,
    limits: Arc<Mutex<BTreeMap<String, (Stored, Timestamp)>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> Result<MutexGuard<'_, BTreeMap<String, Stored>>, PortError> {
        self.map
            .lock()
            .map_err(|_| PortError::permanent("the memory store's lock is poisoned"))
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn load(&self, user: &str) -> Result<Option<Stored>, PortError> {
        Ok(self.map()?.get(user).cloned())
    }

    async fn save(
        &self,
        user: &str,
        document: &[u8],
        expected: u64,
    ) -> Result<SaveOutcome, PortError> {
        let mut map = self.map()?;
        let Some(version) = compare_and_swap(map.get(user).map(|s| s.version), expected) else {
            return Ok(SaveOutcome::Conflict);
        };
        map.insert(
            user.to_owned(),
            Stored {
                version,
                document: document.to_vec(),
            },
        );
        Ok(SaveOutcome::Saved { version })
    }

    async fn delete(&self, user: &str) -> Result<bool, PortError> {
        Ok(self.map()?.remove(user).is_some())
    }

    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Listed>, PortError> {
        let map = self.map()?;
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        Ok(map
            .range::<str, _>((start, Bound::Unbounded))
            .take(limit)
            .map(|(user, stored)| Listed {
                user: user.clone(),
                stored: stored.clone(),
            })
            .collect())
    }
}

/// The compare-and-swap both maps share: writes `document` as version
/// `expected + 1` if `current` is still `expected`.
fn compare_and_swap(current: Option<u64>, expected: u64) -> Option<u64> {
    (current.unwrap_or(0) == expected)
        .then(|| expected.checked_add(1))
        .flatten()
}

#[async_trait]
impl LimitStore for MemoryStore {
    async fn load_limit(&self, key: &str) -> Result<Option<Stored>, PortError> {
        let limits = self
            .limits
            .lock()
            .map_err(|_| PortError::permanent("the memory store's lock is poisoned"))?;
        Ok(limits.get(key).map(|(stored, _)| stored.clone()))
    }

    async fn save_limit(
        &self,
        key: &str,
        document: &[u8],
        expected: u64,
        expires: Timestamp,
    ) -> Result<SaveOutcome, PortError> {
        let mut limits = self
            .limits
            .lock()
            .map_err(|_| PortError::permanent("the memory store's lock is poisoned"))?;
        let Some(version) = compare_and_swap(limits.get(key).map(|(s, _)| s.version), expected)
        else {
            return Ok(SaveOutcome::Conflict);
        };
        let stored = Stored {
            version,
            document: document.to_vec(),
        };
        limits.insert(key.to_owned(), (stored, expires));
        Ok(SaveOutcome::Saved { version })
    }

    async fn purge_limits(&self, now: Timestamp) -> Result<u64, PortError> {
        let mut limits = self
            .limits
            .lock()
            .map_err(|_| PortError::permanent("the memory store's lock is poisoned"))?;
        let before = limits.len();
        limits.retain(|_, (_, expires)| *expires > now);
        Ok(u64::try_from(before - limits.len()).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn compare_and_swap() {
        block_on(async {
            let s = MemoryStore::new();
            assert_eq!(s.load("a").await.unwrap(), None);
            assert_eq!(s.save("a", b"x", 1).await.unwrap(), SaveOutcome::Conflict);
            assert_eq!(
                s.save("a", b"x", 0).await.unwrap(),
                SaveOutcome::Saved { version: 1 }
            );
            assert_eq!(s.save("a", b"y", 0).await.unwrap(), SaveOutcome::Conflict);
            assert_eq!(
                s.save("a", b"y", 1).await.unwrap(),
                SaveOutcome::Saved { version: 2 }
            );
            let got = s.load("a").await.unwrap().unwrap();
            assert_eq!((got.version, got.document.as_slice()), (2, &b"y"[..]));
            assert!(s.delete("a").await.unwrap());
            assert!(!s.delete("a").await.unwrap());
            assert_eq!(s.load("a").await.unwrap(), None);
        });
    }

    #[test]
    fn lists_in_pages() {
        block_on(async {
            let s = MemoryStore::new();
            for u in ["c", "a", "b", "d"] {
                assert!(matches!(
                    s.save(u, b"{}", 0).await.unwrap(),
                    SaveOutcome::Saved { .. }
                ));
            }
            let names = |page: Vec<Listed>| page.into_iter().map(|l| l.user).collect::<Vec<_>>();
            assert_eq!(names(s.list(None, 3).await.unwrap()), ["a", "b", "c"]);
            assert_eq!(names(s.list(Some("c"), 3).await.unwrap()), ["d"]);
            assert!(s.list(Some("d"), 3).await.unwrap().is_empty());
        });
    }
}
