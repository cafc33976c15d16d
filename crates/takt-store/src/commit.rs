//! What both writers share: the bounded queue from `Store::commit` to the
//! adapter's single writer, taking a group-commit batch off it, answering
//! the batch, and deciding what a known idempotency key means.

use std::sync::Mutex;

use takt_core::store::{BoxFuture, Commit, CommitOutcome, IdempotencyRecord, StoreError};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};

/// Most commits applied in one transaction.
const MAX_BATCH: usize = 512;

/// One queued commit and where to send its outcome.
pub(crate) struct Job {
    pub(crate) commit: Commit,
    reply: oneshot::Sender<Result<CommitOutcome, StoreError>>,
}

/// The sending side, held by the store. Closing it lets the writer finish
/// what is queued and stop.
pub(crate) struct CommitQueue {
    sender: Mutex<Option<mpsc::Sender<Job>>>,
}

/// A queue holding at most `capacity` waiting commits, and its receiver for the writer.
pub(crate) fn queue(capacity: usize) -> (CommitQueue, mpsc::Receiver<Job>) {
    let (sender, receiver) = mpsc::channel(capacity.max(1));
    (
        CommitQueue {
            sender: Mutex::new(Some(sender)),
        },
        receiver,
    )
}

impl CommitQueue {
    /// Queues a commit and waits for the writer's answer. A full queue fails
    /// fast (the gateway answers 503 + Retry-After) instead of growing.
    pub(crate) fn submit(
        &self,
        commit: Commit,
    ) -> BoxFuture<'_, Result<CommitOutcome, StoreError>> {
        let (reply, answer) = oneshot::channel();
        let sent = match self.sender.lock() {
            Ok(guard) => match guard.as_ref() {
                Some(sender) => sender.try_send(Job { commit, reply }).map_err(|e| match e {
                    TrySendError::Full(_) => {
                        StoreError::Unavailable("the commit queue is full".into())
                    }
                    TrySendError::Closed(_) => StoreError::ShuttingDown,
                }),
                None => Err(StoreError::ShuttingDown),
            },
            Err(_) => Err(StoreError::Unavailable("commit queue poisoned".into())),
        };
        Box::pin(async move {
            sent?;
            answer.await.map_err(|_| {
                StoreError::Unavailable("the writer stopped before answering".into())
            })?
        })
    }

    /// Stops taking commits; those already queued are still written.
    pub(crate) fn close(&self) {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
    }

    /// Whether commits are still taken.
    pub(crate) fn is_open(&self) -> bool {
        self.sender.lock().is_ok_and(|sender| sender.is_some())
    }
}

/// Adds every job already queued behind `first`, up to a full batch.
fn fill(first: Job, jobs: &mut mpsc::Receiver<Job>) -> Vec<Job> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    batch
}

/// The next batch, for a writer on its own thread; `None` once the queue is closed and empty.
pub(crate) fn next_batch_blocking(jobs: &mut mpsc::Receiver<Job>) -> Option<Vec<Job>> {
    let first = jobs.blocking_recv()?;
    Some(fill(first, jobs))
}

/// The next batch, for a writer task; `None` once the queue is closed and empty.
pub(crate) async fn next_batch(jobs: &mut mpsc::Receiver<Job>) -> Option<Vec<Job>> {
    let first = jobs.recv().await?;
    Some(fill(first, jobs))
}

/// Answers every caller of a batch, in order, and records the batch's metrics.
pub(crate) fn answer(
    batch: Vec<Job>,
    outcomes: Vec<Result<CommitOutcome, StoreError>>,
    took: std::time::Duration,
) {
    crate::record_batch(batch.len(), took);
    for (job, outcome) in batch.into_iter().zip(outcomes) {
        // A caller that gave up waiting is not an error for the others.
        let _ = job.reply.send(outcome);
    }
}

/// The same error for every commit of a batch whose transaction failed:
/// nothing of it was acknowledged.
pub(crate) fn all_failed(
    batch: &[Job],
    error: &StoreError,
) -> Vec<Result<CommitOutcome, StoreError>> {
    batch
        .iter()
        .map(|_| Err(StoreError::Unavailable(error.to_string())))
        .collect()
}

/// A commit whose idempotency key is already recorded stores nothing: it is a
/// replay when the body is the same, a reused key when it is not.
pub(crate) fn known_key(first: IdempotencyRecord, request_hash: &[u8; 32]) -> CommitOutcome {
    if first.request_hash == *request_hash {
        CommitOutcome::Replay(first)
    } else {
        CommitOutcome::KeyReused(first)
    }
}
