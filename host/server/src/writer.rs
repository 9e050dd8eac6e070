//! The one writer: every write a request makes runs, in arrival order, on
//! one thread in front of the store's write connection. Requests never
//! race each other for SQLite's lock, so none fails on "database is
//! locked"; a slow hook delays the writes queued behind it, no more than
//! the script time limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

use crate::error::{Result, ServerError};

type Job = Box<dyn FnOnce() + Send>;

/// What the writer runs after each write (hand the event streams what it
/// logged, wake the background loop).
pub(crate) type After = Arc<dyn Fn() + Send + Sync>;

/// The queue in front of the writer thread.
#[derive(Clone)]
pub(crate) struct Writer {
    queue: SyncSender<Job>,
    depth: Arc<AtomicI64>,
}

impl Writer {
    /// Starts the writer thread with room for `capacity` waiting writes;
    /// a write that finds the queue full is answered 503 at once. `after`
    /// runs on the writer thread after each write, before the next.
    pub(crate) fn start(capacity: usize, after: After) -> Result<Writer> {
        let (queue, jobs) = sync_channel::<Job>(capacity);
        std::thread::Builder::new()
            .name("dossier-writer".into())
            // Every write runs hooks here.
            .stack_size(dossier_host::HOOK_THREAD_STACK)
            .spawn(move || {
                // Ends when every sender is gone: the server stopped.
                for job in jobs {
                    job();
                    after();
                }
            })
            .map_err(|source| ServerError::Io {
                what: "cannot start the writer thread".into(),
                source,
            })?;
        Ok(Writer {
            queue,
            depth: Arc::new(AtomicI64::new(0)),
        })
    }

    /// How many writes are waiting or running.
    pub(crate) fn depth(&self) -> i64 {
        self.depth.load(Ordering::Relaxed)
    }

    /// Runs `f` on the writer thread after the writes queued before it,
    /// and hands back its answer.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let depth = self.depth.clone();
        depth.fetch_add(1, Ordering::Relaxed);
        let job: Job = Box::new(move || {
            let out = f();
            depth.fetch_sub(1, Ordering::Relaxed);
            // The request may have gone (client hung up): the write stands.
            let _ = done.send(out);
        });
        if let Err(e) = self.queue.try_send(job) {
            self.depth.fetch_sub(1, Ordering::Relaxed);
            return Err(ServerError::Overloaded(match e {
                TrySendError::Full(_) => "the write queue is full".into(),
                TrySendError::Disconnected(_) => "the writer has stopped".into(),
            }));
        }
        answer
            .await
            .map_err(|_| ServerError::Overloaded("the writer stopped during the write".into()))
    }
}

/// Runs the read `f` on the blocking pool (bounded when the runtime was
/// built) and hands back its answer.
pub(crate) async fn read<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServerError::Overloaded(format!("a read did not finish: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writes_never_overlap_and_all_run() {
        let writer = Writer::start(256, Arc::new(|| {})).expect("writer");
        let running = Arc::new(AtomicI64::new(0));
        let most = Arc::new(AtomicI64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let (writer, running, most) = (writer.clone(), running.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                writer
                    .run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        for _ in 0..100 {
                            std::thread::yield_now();
                        }
                        running.fetch_sub(1, Ordering::SeqCst);
                        1
                    })
                    .await
            }));
        }
        let mut ran = 0;
        for t in tasks {
            ran += t.await.expect("task").expect("write");
        }
        assert_eq!(ran, 64);
        assert_eq!(most.load(Ordering::SeqCst), 1, "two writes ran at once");
        assert_eq!(writer.depth(), 0);
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once_not_waited_on() {
        let writer = Writer::start(1, Arc::new(|| {})).expect("writer");
        let (hold, release) = std::sync::mpsc::channel::<()>();
        let (started, running) = std::sync::mpsc::channel::<()>();
        let first = tokio::spawn({
            let writer = writer.clone();
            async move {
                writer
                    .run(move || {
                        let _ = started.send(());
                        release.recv().is_ok()
                    })
                    .await
            }
        });
        // Wait until the first write runs on the writer (the queue is then empty).
        while running.try_recv().is_err() {
            tokio::task::yield_now().await;
        }
        let second = tokio::spawn({
            let writer = writer.clone();
            async move { writer.run(|| true).await }
        });
        // The second waits in the queue's one slot.
        while writer.depth() < 2 {
            tokio::task::yield_now().await;
        }
        let third = writer.run(|| true).await;
        assert!(
            matches!(third, Err(ServerError::Overloaded(_))),
            "{third:?}"
        );
        hold.send(()).expect("release");
        assert!(first.await.expect("first").expect("ran"));
        assert!(second.await.expect("second").expect("ran"));
    }
}
