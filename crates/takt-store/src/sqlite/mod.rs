//! The SQLite adapter: the embedded default store.

mod catalog;
mod delivery;
mod keys;
mod read;
mod schema;
mod tail;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;
use takt_core::audit::{AuditEntry, AuditHead};
use takt_core::store::{
    AttemptRecord, BoxFuture, CatalogVersion, Commit, CommitOutcome, ContractUsage, DeliveryCount,
    DeliveryQuery, DeliveryRecord, EventQuery, IdempotencyRecord, Proposal, ProposalState, Store,
    StoreError, StoredEvent,
};

use crate::commit::{CommitQueue, queue};

fn unavailable(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// Tuning of the SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Commits that may wait for the writer; past it, commits fail fast as
    /// unavailable (the gateway answers 503 + Retry-After) instead of queueing
    /// without bound.
    pub queue_capacity: usize,
    /// Read-only connections for queries.
    pub readers: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            queue_capacity: 8_192,
            readers: 4,
        }
    }
}

/// Threads that run beside the writer until the store closes.
struct Background {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// The embedded store: one SQLite file, one writer thread doing group commit.
pub struct SqliteStore {
    path: PathBuf,
    jobs: CommitQueue,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// The checkpoint and business-key index threads, and what stops them.
    background: Mutex<Option<Background>>,
    /// The business-key index beside the database file.
    keys_path: PathBuf,
    /// Connections kept for reads; extra ones opened under load are closed after use.
    reader_limit: usize,
    readers: Arc<Mutex<Vec<Connection>>>,
    /// The newest committed events, appended by the writer.
    tail: Arc<Mutex<tail::Tail>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path, options: SqliteOptions) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let mut conn = schema::connect(path, false)?;
        schema::migrate(&mut conn)?;
        let keys_path = keys::path_for(path);
        let log = schema::connect(path, true)?;
        let mut index = keys::open(&keys_path, &log)?;
        let readers = (0..options.readers.max(1))
            .map(|_| reader(path, &keys_path))
            .collect::<Result<Vec<_>, _>>()?;
        let (jobs, receiver) = queue(options.queue_capacity);
        let tail = Arc::new(Mutex::new(tail::Tail::default()));
        let writer_tail = tail.clone();
        let writer = spawn("takt-sqlite-writer", move || {
            writer::run(conn, receiver, &writer_tail)
        })?;
        let stop = Arc::new(AtomicBool::new(false));
        let (checkpoint_path, checkpoint_stop) = (path.to_owned(), stop.clone());
        let checkpointer = spawn("takt-sqlite-checkpoint", move || {
            schema::checkpointer(
                &checkpoint_path,
                Duration::from_millis(100),
                &checkpoint_stop,
            )
        })?;
        let index_stop = stop.clone();
        let indexer = spawn("takt-sqlite-keys", move || {
            keys::indexer(&mut index, &log, Duration::from_millis(100), &index_stop)
        })?;
        Ok(Self {
            path: path.to_owned(),
            jobs,
            writer: Mutex::new(Some(writer)),
            background: Mutex::new(Some(Background {
                stop,
                threads: vec![checkpointer, indexer],
            })),
            keys_path,
            reader_limit: options.readers.max(1),
            readers: Arc::new(Mutex::new(readers)),
            tail,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops taking commits, lets the writer finish what is queued, and waits for it.
    pub fn close(&self) {
        self.jobs.close();
        let writer = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(handle) = writer {
            let _ = handle.join();
        }
        let background = self.background.lock().ok().and_then(|mut b| b.take());
        if let Some(Background { stop, threads }) = background {
            stop.store(true, Ordering::Relaxed);
            for handle in threads {
                handle.thread().unpark();
                let _ = handle.join();
            }
        }
    }

    /// Runs `f` on a reader connection, off the async runtime.
    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> BoxFuture<'_, Result<T, StoreError>> {
        let readers = self.readers.clone();
        let (path, keys_path) = (self.path.clone(), self.keys_path.clone());
        let limit = self.reader_limit;
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let pooled = readers
                    .lock()
                    .map_err(|_| StoreError::Unavailable("reader pool poisoned".into()))?
                    .pop();
                let conn = match pooled {
                    Some(conn) => conn,
                    None => reader(&path, &keys_path)?,
                };
                let result = f(&conn);
                if let Ok(mut pool) = readers.lock()
                    && pool.len() < limit
                {
                    pool.push(conn);
                }
                result
            })
            .await
            .map_err(|e| StoreError::Unavailable(format!("reader task failed: {e}")))?
        })
    }
}

/// A read-only connection that sees the business-key index as `keys`.
fn reader(path: &Path, keys_path: &Path) -> Result<Connection, StoreError> {
    let conn = schema::connect(path, true)?;
    keys::attach(&conn, keys_path)?;
    Ok(conn)
}

/// Starts a named thread of the store.
fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, StoreError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| StoreError::Unavailable(format!("cannot start the thread {name}: {e}")))
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store for SqliteStore {
    fn accepts_commits(&self) -> bool {
        let open = self.jobs.is_open();
        let running = self
            .writer
            .lock()
            .is_ok_and(|w| w.as_ref().is_some_and(|h| !h.is_finished()));
        open && running
    }

    fn commit(&self, commit: Commit) -> BoxFuture<'_, Result<CommitOutcome, StoreError>> {
        self.jobs.submit(commit)
    }

    fn purge_idempotency(&self, now_ms: i64) -> BoxFuture<'_, Result<u64, StoreError>> {
        // A delete is a write: it goes through a short-lived connection of its
        // own; SQLite serialises it with the writer.
        let path = self.path.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let conn = schema::connect(&path, false)?;
                conn.execute(
                    "DELETE FROM idempotency WHERE expires_at_ms <= ?1",
                    [now_ms],
                )
                .map(|n| n as u64)
                .map_err(unavailable)
            })
            .await
            .map_err(|e| StoreError::Unavailable(format!("purge task failed: {e}")))?
        })
    }

    fn idempotency_record(
        &self,
        principal: &str,
        key: &str,
        now_ms: i64,
    ) -> BoxFuture<'_, Result<Option<IdempotencyRecord>, StoreError>> {
        let (principal, key) = (principal.to_owned(), key.to_owned());
        self.read(move |c| read::idempotency_record(c, &principal, &key, now_ms))
    }

    fn event(&self, id: &str) -> BoxFuture<'_, Result<Option<StoredEvent>, StoreError>> {
        let id = id.to_owned();
        self.read(move |c| read::event(c, &id))
    }

    fn events(&self, query: EventQuery) -> BoxFuture<'_, Result<Vec<StoredEvent>, StoreError>> {
        // The delivery workers read just behind the gateway: the newest
        // events are answered from memory, without a query or a thread hop.
        let newest = self.tail.lock().ok().and_then(|tail| tail.read(&query));
        if let Some(events) = newest {
            return Box::pin(std::future::ready(Ok(events)));
        }
        self.read(move |c| read::events(c, &query))
    }

    fn events_at(&self, seqs: Vec<i64>) -> BoxFuture<'_, Result<Vec<StoredEvent>, StoreError>> {
        self.read(move |c| read::events_at(c, &seqs))
    }

    fn audit_entries(
        &self,
        from_seq: i64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<AuditEntry>, StoreError>> {
        self.read(move |c| read::audit_entries(c, from_seq, limit))
    }

    fn audit_head(&self) -> BoxFuture<'_, Result<AuditHead, StoreError>> {
        self.read(read::head)
    }

    fn delivery_cursor(&self, subscription: &str) -> BoxFuture<'_, Result<i64, StoreError>> {
        let subscription = subscription.to_owned();
        self.read(move |c| delivery::cursor(c, &subscription))
    }

    fn deliveries(
        &self,
        query: DeliveryQuery,
    ) -> BoxFuture<'_, Result<Vec<DeliveryRecord>, StoreError>> {
        self.read(move |c| delivery::records(c, &query))
    }

    fn delivery_attempts(
        &self,
        subscription: &str,
        seq: i64,
    ) -> BoxFuture<'_, Result<Vec<AttemptRecord>, StoreError>> {
        let subscription = subscription.to_owned();
        self.read(move |c| delivery::attempts(c, &subscription, seq))
    }

    fn delivery_counts(&self) -> BoxFuture<'_, Result<Vec<DeliveryCount>, StoreError>> {
        self.read(delivery::counts)
    }

    fn contract_usage(
        &self,
        contract: &str,
        since_ms: i64,
    ) -> BoxFuture<'_, Result<Vec<ContractUsage>, StoreError>> {
        let contract = contract.to_owned();
        self.read(move |c| read::contract_usage(c, &contract, since_ms))
    }

    fn log_head(&self) -> BoxFuture<'_, Result<i64, StoreError>> {
        self.read(read::log_head)
    }

    fn size_bytes(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        self.read(read::size_bytes)
    }

    fn catalog_version(
        &self,
        version: Option<i64>,
    ) -> BoxFuture<'_, Result<Option<CatalogVersion>, StoreError>> {
        self.read(move |c| catalog::version(c, version))
    }

    fn catalog_history(&self) -> BoxFuture<'_, Result<Vec<CatalogVersion>, StoreError>> {
        self.read(catalog::history)
    }

    fn catalog_proposal(&self, id: i64) -> BoxFuture<'_, Result<Option<Proposal>, StoreError>> {
        self.read(move |c| catalog::proposal(c, id))
    }

    fn catalog_proposals(
        &self,
        state: Option<ProposalState>,
    ) -> BoxFuture<'_, Result<Vec<Proposal>, StoreError>> {
        self.read(move |c| catalog::proposals(c, state))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn commit(n: u32) -> Commit {
        Commit {
            events: vec![tail::tests::event(n.into(), "i", &n.to_string())],
            ..Default::default()
        }
    }

    /// The writer appends what it stored to the tail before it answers, so
    /// a reader told of a commit finds the events in memory.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_keeps_what_it_stored_in_the_tail() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db"), SqliteOptions::default()).unwrap();
        for n in 0..3 {
            store.commit(commit(n)).await.unwrap();
        }
        // The same event again stores nothing, and adds nothing to the tail.
        store.commit(commit(2)).await.unwrap();
        let all = EventQuery {
            limit: 10,
            ..Default::default()
        };
        let held = store.tail.lock().unwrap().read(&all).unwrap();
        assert_eq!(held.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(
            held,
            store.read(move |c| read::events(c, &all)).await.unwrap()
        );
        store.close();
    }
}
