//! The PostgreSQL adapter: state for several hub instances.

mod catalog;
mod delivery;
mod read;
mod schema;
mod writer;

use std::future::Future;
use std::pin::Pin;

use takt_core::audit::{AuditEntry, AuditHead};
use takt_core::store::{
    AttemptRecord, BoxFuture, CatalogVersion, Commit, CommitOutcome, ContractUsage, DeliveryCount,
    DeliveryQuery, DeliveryRecord, EventQuery, IdempotencyRecord, Proposal, ProposalState, Store,
    StoreError, StoredEvent,
};
use tokio::sync::Mutex;
use tokio_postgres::Client;

use crate::commit::{CommitQueue, queue};

/// The error with the server's own message, when it sent one (the
/// driver's `Display` says only "db error").
fn unavailable(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Unavailable(format!("{e}: {}", db.message())),
        None => StoreError::Unavailable(e.to_string()),
    }
}

type BoxedConnect = Pin<Box<dyn Future<Output = Result<Client, StoreError>> + Send>>;

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// libpq-style connection string, e.g. `host=127.0.0.1 user=takt dbname=takt`.
    pub url: String,
    /// Schema holding Takt's tables (created if missing): lowercase, digits, `_`.
    pub schema: String,
    /// Commits that may wait for the writer before commits fail fast.
    pub queue_capacity: usize,
}

impl PostgresOptions {
    /// Options for `url` with the `takt` schema and default limits.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            schema: "takt".into(),
            queue_capacity: 8_192,
        }
    }
}

/// The PostgreSQL store: a writer task doing group commit, a shared reader connection.
pub struct PostgresStore {
    jobs: CommitQueue,
    writer: tokio::task::JoinHandle<()>,
    reader: Mutex<Client>,
    options: PostgresOptions,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.options.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects, migrates, and starts the writer task (needs a tokio runtime).
    pub async fn open(options: PostgresOptions) -> Result<Self, StoreError> {
        let mut writer_client = schema::connect(&options.url, &options.schema).await?;
        schema::migrate(&mut writer_client).await?;
        let reader = schema::connect(&options.url, &options.schema).await?;
        let (jobs, receiver) = queue(options.queue_capacity);
        let (url, name) = (options.url.clone(), options.schema.clone());
        let reconnect: writer::Reconnect = Box::new(move || {
            let (url, name) = (url.clone(), name.clone());
            Box::pin(async move { schema::connect(&url, &name).await })
        });
        let writer = tokio::spawn(writer::run(writer_client, receiver, reconnect));
        Ok(Self {
            jobs,
            writer,
            reader: Mutex::new(reader),
            options,
        })
    }

    /// Stops taking commits; queued ones are still written.
    pub fn close(&self) {
        self.jobs.close();
    }

    /// Runs a read on the reader connection, reconnecting it if it was lost.
    async fn reader(&self) -> Result<tokio::sync::MutexGuard<'_, Client>, StoreError> {
        let mut client = self.reader.lock().await;
        if client.is_closed() {
            *client = schema::connect(&self.options.url, &self.options.schema).await?;
        }
        Ok(client)
    }
}

impl Store for PostgresStore {
    fn accepts_commits(&self) -> bool {
        self.jobs.is_open() && !self.writer.is_finished()
    }

    fn commit(&self, commit: Commit) -> BoxFuture<'_, Result<CommitOutcome, StoreError>> {
        self.jobs.submit(commit)
    }

    fn purge_idempotency(&self, now_ms: i64) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let client = self.reader().await?;
            client
                .execute(
                    "DELETE FROM idempotency WHERE expires_at_ms <= $1",
                    &[&now_ms],
                )
                .await
                .map_err(unavailable)
        })
    }

    fn idempotency_record(
        &self,
        principal: &str,
        key: &str,
        now_ms: i64,
    ) -> BoxFuture<'_, Result<Option<IdempotencyRecord>, StoreError>> {
        let (principal, key) = (principal.to_owned(), key.to_owned());
        Box::pin(async move {
            read::idempotency_record(&*self.reader().await?, &principal, &key, now_ms).await
        })
    }

    fn event(&self, id: &str) -> BoxFuture<'_, Result<Option<StoredEvent>, StoreError>> {
        let id = id.to_owned();
        Box::pin(async move { read::event(&*self.reader().await?, &id).await })
    }

    fn events(&self, query: EventQuery) -> BoxFuture<'_, Result<Vec<StoredEvent>, StoreError>> {
        Box::pin(async move { read::events(&*self.reader().await?, &query).await })
    }

    fn events_at(&self, seqs: Vec<i64>) -> BoxFuture<'_, Result<Vec<StoredEvent>, StoreError>> {
        Box::pin(async move { read::events_at(&*self.reader().await?, &seqs).await })
    }

    fn audit_entries(
        &self,
        from_seq: i64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<AuditEntry>, StoreError>> {
        Box::pin(async move { read::audit_entries(&*self.reader().await?, from_seq, limit).await })
    }

    fn audit_head(&self) -> BoxFuture<'_, Result<AuditHead, StoreError>> {
        Box::pin(async move { read::head(&*self.reader().await?).await })
    }

    fn delivery_cursor(&self, subscription: &str) -> BoxFuture<'_, Result<i64, StoreError>> {
        let subscription = subscription.to_owned();
        Box::pin(async move { delivery::cursor(&*self.reader().await?, &subscription).await })
    }

    fn deliveries(
        &self,
        query: DeliveryQuery,
    ) -> BoxFuture<'_, Result<Vec<DeliveryRecord>, StoreError>> {
        Box::pin(async move { delivery::records(&*self.reader().await?, &query).await })
    }

    fn delivery_attempts(
        &self,
        subscription: &str,
        seq: i64,
    ) -> BoxFuture<'_, Result<Vec<AttemptRecord>, StoreError>> {
        let subscription = subscription.to_owned();
        Box::pin(
            async move { delivery::attempts(&*self.reader().await?, &subscription, seq).await },
        )
    }

    fn delivery_counts(&self) -> BoxFuture<'_, Result<Vec<DeliveryCount>, StoreError>> {
        Box::pin(async move { delivery::counts(&*self.reader().await?).await })
    }

    fn contract_usage(
        &self,
        contract: &str,
        since_ms: i64,
    ) -> BoxFuture<'_, Result<Vec<ContractUsage>, StoreError>> {
        let contract = contract.to_owned();
        Box::pin(
            async move { read::contract_usage(&*self.reader().await?, &contract, since_ms).await },
        )
    }

    fn log_head(&self) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async move { read::log_head(&*self.reader().await?).await })
    }

    fn size_bytes(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move { read::size_bytes(&*self.reader().await?).await })
    }

    fn catalog_version(
        &self,
        version: Option<i64>,
    ) -> BoxFuture<'_, Result<Option<CatalogVersion>, StoreError>> {
        Box::pin(async move { catalog::version(&*self.reader().await?, version).await })
    }

    fn catalog_history(&self) -> BoxFuture<'_, Result<Vec<CatalogVersion>, StoreError>> {
        Box::pin(async move { catalog::history(&*self.reader().await?).await })
    }

    fn catalog_proposal(&self, id: i64) -> BoxFuture<'_, Result<Option<Proposal>, StoreError>> {
        Box::pin(async move { catalog::proposal(&*self.reader().await?, id).await })
    }

    fn catalog_proposals(
        &self,
        state: Option<ProposalState>,
    ) -> BoxFuture<'_, Result<Vec<Proposal>, StoreError>> {
        Box::pin(async move { catalog::proposals(&*self.reader().await?, state).await })
    }
}
