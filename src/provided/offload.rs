//! Where slow work runs: tokio's blocking pool, bounded (the default with
//! the `tokio` feature), or inline.

use async_trait::async_trait;

use crate::ports::Offload;

/// Runs each job where it is called, on the calling thread: for async
/// runtimes other than tokio, or a host that already runs the calls on a
/// thread pool of its own. A job then holds up the executor thread it runs
/// on (about 20 ms for an argon2id computation).
#[derive(Debug, Clone, Copy, Default)]
pub struct Inline;

#[async_trait]
impl Offload for Inline {
    async fn run(&self, job: Box<dyn FnOnce() + Send + 'static>) {
        job();
    }
}

#[cfg(feature = "tokio")]
pub use blocking::TokioBlocking;

#[cfg(feature = "tokio")]
mod blocking {
    use std::sync::{Arc, OnceLock};

    use async_trait::async_trait;
    use tokio::sync::Semaphore;

    use crate::ports::Offload;

    /// tokio's blocking pool (`spawn_blocking`), with at most `limit` jobs
    /// running at once: each argon2id computation takes 19 MiB, so the
    /// bound is the most memory a burst of password and recovery-code
    /// checks can take (`limit` × 19 MiB), and the jobs beyond it wait
    /// their turn. The default [`Offload`], shared by every
    /// [`TwoFactor`](crate::TwoFactor) and
    /// [`Argon2Passwords`](crate::Argon2Passwords) that were not given one:
    /// one bound for the process.
    #[derive(Debug, Clone)]
    pub struct TokioBlocking {
        permits: Arc<Semaphore>,
        limit: usize,
    }

    impl TokioBlocking {
        /// A pool running at most `limit` jobs at once (at least 1).
        pub fn new(limit: usize) -> Self {
            let limit = limit.clamp(1, Semaphore::MAX_PERMITS);
            Self {
                permits: Arc::new(Semaphore::new(limit)),
                limit,
            }
        }

        /// The process-wide default: as many jobs at once as the machine has
        /// cores (`std::thread::available_parallelism`), at most 16.
        pub fn shared() -> Self {
            static SHARED: OnceLock<TokioBlocking> = OnceLock::new();
            SHARED
                .get_or_init(|| {
                    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                    TokioBlocking::new(cores.min(16))
                })
                .clone()
        }

        /// How many jobs may run at once.
        pub fn limit(&self) -> usize {
            self.limit
        }
    }

    impl Default for TokioBlocking {
        fn default() -> Self {
            Self::shared()
        }
    }

    #[async_trait]
    impl Offload for TokioBlocking {
        async fn run(&self, job: Box<dyn FnOnce() + Send + 'static>) {
            // A closed semaphore cannot happen (never closed); run anyway.
            let _permit = self.permits.acquire().await.ok();
            match tokio::runtime::Handle::try_current() {
                // A job that panicked leaves its answer unset: the caller
                // reports that the work did not complete.
                Ok(runtime) => {
                    let _ = runtime.spawn_blocking(job).await;
                }
                // Called outside a tokio runtime (another executor): there
                // is no blocking pool to hand it to, so it runs here, still
                // within the bound.
                Err(_) => job(),
            }
        }
    }
}

/// The default offload: [`TokioBlocking::shared`] with the `tokio` feature,
/// [`Inline`] without.
pub(crate) fn default_offload() -> std::sync::Arc<dyn Offload> {
    #[cfg(feature = "tokio")]
    {
        std::sync::Arc::new(TokioBlocking::shared())
    }
    #[cfg(not(feature = "tokio"))]
    {
        std::sync::Arc::new(Inline)
    }
}

/// Runs `f` through `offload` and gives back its answer; `None` when the
/// work did not complete (it panicked).
pub(crate) async fn run<T: Send + 'static>(
    offload: &dyn Offload,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let slot = std::sync::Arc::new(std::sync::Mutex::new(None));
    let out = slot.clone();
    offload
        .run(Box::new(move || {
            let answer = f();
            if let Ok(mut out) = out.lock() {
                *out = Some(answer);
            }
        }))
        .await;
    let answer = slot.lock().ok()?.take();
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn inline_runs_the_job() {
        assert_eq!(run(&Inline, || 6 * 7).await, Some(42));
    }

    #[cfg(feature = "tokio")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_pool_bounds_how_many_run_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let pool = TokioBlocking::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs = (0..8).map(|_| {
            let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
            tokio::spawn(async move {
                run(&pool, move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            })
        });
        for job in jobs.collect::<Vec<_>>() {
            assert_eq!(job.await.unwrap(), Some(()));
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert_eq!(pool.limit(), 2);
        assert_eq!(run(&pool, || -> u8 { panic!("boom") }).await, None);
    }

    #[cfg(feature = "tokio")]
    #[test]
    fn outside_a_tokio_runtime_the_job_runs_where_it_is_called() {
        let pool = TokioBlocking::new(1);
        let answer = futures_util::FutureExt::now_or_never(run(&pool, || 6 * 7));
        assert_eq!(answer, Some(Some(42)));
    }
}
