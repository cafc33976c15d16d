//! The writer task: group commit on PostgreSQL.
//!
//! Same shape as the SQLite writer: take every commit already queued (up to
//! a full batch), apply each in its own savepoint of one transaction, commit
//! once, then answer. Across hub instances, unique constraints decide
//! idempotency and de-duplication, and the audit head row is locked, so
//! concurrent instances never store a key twice or fork the chain.

use takt_core::audit::{AuditDraft, AuditHead};
use takt_core::store::{
    Commit, CommitOutcome, EventOutcome, IdempotencyRecord, NewEvent, StoreError,
};
use tokio::sync::mpsc;
use tokio_postgres::{Client, Transaction};

use super::read::{hash_of, idempotency_record};
use super::unavailable;
use crate::commit::{Job, all_failed, answer, known_key, next_batch};

/// How the writer gets a connection again after losing it.
pub(super) type Reconnect = Box<dyn Fn() -> super::BoxedConnect + Send + Sync>;

pub(super) async fn run(mut client: Client, mut jobs: mpsc::Receiver<Job>, reconnect: Reconnect) {
    while let Some(batch) = next_batch(&mut jobs).await {
        if client.is_closed()
            && let Ok(fresh) = reconnect().await
        {
            client = fresh;
        }
        let started = std::time::Instant::now();
        let outcomes = apply(&mut client, &batch).await;
        answer(batch, outcomes, started.elapsed());
    }
}

async fn apply(client: &mut Client, batch: &[Job]) -> Vec<Result<CommitOutcome, StoreError>> {
    let failed = |e: StoreError| all_failed(batch, &e);
    let mut tx = match client.transaction().await {
        Ok(tx) => tx,
        Err(e) => return failed(unavailable(e)),
    };
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        outcomes.push(apply_one(&mut tx, &job.commit).await);
    }
    match tx.commit().await {
        Ok(()) => outcomes,
        Err(e) => failed(unavailable(e)),
    }
}

async fn apply_one(tx: &mut Transaction<'_>, commit: &Commit) -> Result<CommitOutcome, StoreError> {
    let savepoint = tx.savepoint("takt_commit").await.map_err(unavailable)?;
    match write_commit(&savepoint, commit).await {
        Ok(
            outcome @ (CommitOutcome::EventConflict { .. } | CommitOutcome::CatalogConflict { .. }),
        ) => {
            let _ = savepoint.rollback().await;
            Ok(outcome)
        }
        Ok(outcome) => {
            savepoint.commit().await.map_err(unavailable)?;
            Ok(outcome)
        }
        Err(e) => {
            let _ = savepoint.rollback().await;
            Err(e)
        }
    }
}

async fn write_commit(tx: &Transaction<'_>, commit: &Commit) -> Result<CommitOutcome, StoreError> {
    if let Some(record) = &commit.idempotency
        && !claim_key(tx, record).await?
    {
        let first = idempotency_record(tx, &record.principal, &record.key, record.created_at_ms)
            .await?
            .ok_or_else(|| {
                StoreError::Unavailable("idempotency record vanished while claimed".into())
            })?;
        // The audit entries describe an acceptance that did not happen:
        // the gateway audits the replay or refusal itself.
        return Ok(known_key(first, &record.request_hash));
    }
    let mut outcomes = Vec::with_capacity(commit.events.len());
    for event in &commit.events {
        match insert_event(tx, event).await? {
            Some(outcome) => outcomes.push(outcome),
            None => {
                return Ok(CommitOutcome::EventConflict {
                    id: event.id.clone(),
                });
            }
        }
    }
    for change in &commit.catalog {
        if let Err(reason) = super::catalog::write(tx, change).await? {
            return Ok(CommitOutcome::CatalogConflict { reason });
        }
    }
    for change in &commit.delivery {
        super::delivery::write(tx, change).await?;
    }
    append_audit(tx, &commit.audit).await?;
    Ok(CommitOutcome::Committed(outcomes))
}

/// Inserts the record unless a live one holds the key; true when this commit owns the key.
async fn claim_key(tx: &Transaction<'_>, r: &IdempotencyRecord) -> Result<bool, StoreError> {
    let row = tx
        .query_opt(
            "INSERT INTO idempotency (principal, key, request_hash, status, response, created_at_ms, expires_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (principal, key) DO UPDATE SET
                request_hash = EXCLUDED.request_hash, status = EXCLUDED.status, response = EXCLUDED.response,
                created_at_ms = EXCLUDED.created_at_ms, expires_at_ms = EXCLUDED.expires_at_ms
             WHERE idempotency.expires_at_ms <= EXCLUDED.created_at_ms
             RETURNING 1",
            &[&r.principal, &r.key, &r.request_hash.as_slice(), &i32::from(r.status), &r.response, &r.created_at_ms, &r.expires_at_ms],
        )
        .await
        .map_err(unavailable)?;
    Ok(row.is_some())
}

/// Stores an event; `None` when its `source`+`id` exist with another body.
async fn insert_event(
    tx: &Transaction<'_>,
    e: &NewEvent,
) -> Result<Option<EventOutcome>, StoreError> {
    // Looking first keeps the sequence free of gaps in the common case; the
    // ON CONFLICT below still settles a race with another instance.
    if let Some((seq, body)) = stored(tx, e).await? {
        return Ok((body == e.body).then_some(EventOutcome::AlreadyStored(seq)));
    }
    let inserted = tx
        .query_opt(
            "INSERT INTO events (id, source, contract, dataschema, site, subject, partition_key, interface, principal, accepted_at_ms, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (source, id) DO NOTHING RETURNING seq",
            &[&e.id, &e.source, &e.contract, &e.dataschema, &e.site, &e.subject, &e.partition_key, &e.interface, &e.principal, &e.accepted_at_ms, &e.body],
        )
        .await
        .map_err(unavailable)?;
    let Some(row) = inserted else {
        let (seq, body) = stored(tx, e)
            .await?
            .ok_or_else(|| StoreError::Unavailable("conflicting event vanished".into()))?;
        return Ok((body == e.body).then_some(EventOutcome::AlreadyStored(seq)));
    };
    let seq: i64 = row.get(0);
    for (kind, value) in &e.business_keys {
        tx.execute(
            "INSERT INTO event_keys (kind, value, seq) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[kind, value, &seq],
        )
        .await
        .map_err(unavailable)?;
    }
    Ok(Some(EventOutcome::Stored(seq)))
}

async fn stored(tx: &Transaction<'_>, e: &NewEvent) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
    let row = tx
        .query_opt(
            "SELECT seq, body FROM events WHERE source = $1 AND id = $2",
            &[&e.source, &e.id],
        )
        .await
        .map_err(unavailable)?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

async fn append_audit(tx: &Transaction<'_>, drafts: &[AuditDraft]) -> Result<(), StoreError> {
    if drafts.is_empty() {
        return Ok(());
    }
    let row = tx
        .query_one(
            "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
            &[],
        )
        .await
        .map_err(unavailable)?;
    let mut current = AuditHead {
        seq: row.get(0),
        hash: hash_of(&row, 1)?,
    };
    for draft in drafts {
        let (entry, next) = current.chain(draft.clone());
        let d = &entry.draft;
        tx.execute(
            "INSERT INTO audit (seq, at_ms, principal, action, interface, outcome, message_id, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[&entry.seq, &d.at_ms, &d.principal, &d.action, &d.interface, &d.outcome, &d.message_id, &entry.prev_hash.as_slice(), &entry.hash.as_slice()],
        )
        .await
        .map_err(unavailable)?;
        current = next;
    }
    tx.execute(
        "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
        &[&current.seq, &current.hash.as_slice()],
    )
    .await
    .map_err(unavailable)?;
    Ok(())
}
