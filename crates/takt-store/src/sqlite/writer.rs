//! The single writer: group commit.
//!
//! Commits arrive on a bounded queue. The writer takes the first, then every
//! other one already waiting (up to a full batch), applies each inside its
//! own savepoint of one transaction, commits once (one fsync for the whole
//! batch), and only then answers every caller. A commit that fails answers
//! every caller of the batch with an error: nothing was acknowledged.

use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use takt_core::audit::{AuditDraft, AuditHead};
use takt_core::store::{
    Commit, CommitOutcome, EventOutcome, IdempotencyRecord, NewEvent, StoreError,
};
use tokio::sync::mpsc;

use super::read::{head, idempotency_record};
use super::tail::Tail;
use super::unavailable;
use crate::commit::{Job, all_failed, answer, known_key, next_batch_blocking};

/// Runs until the queue is closed, then returns after the last batch.
pub(super) fn run(mut conn: Connection, mut jobs: mpsc::Receiver<Job>, tail: &Mutex<Tail>) {
    while let Some(mut batch) = next_batch_blocking(&mut jobs) {
        let started = std::time::Instant::now();
        let outcomes = apply(&mut conn, &batch);
        keep_newest(tail, &mut batch, &outcomes);
        answer(batch, outcomes, started.elapsed());
    }
}

/// Appends the events a batch stored to the tail, before anyone is answered:
/// whoever learns of a commit finds its events there.
fn keep_newest(
    tail: &Mutex<Tail>,
    batch: &mut [Job],
    outcomes: &[Result<CommitOutcome, StoreError>],
) {
    let Ok(mut tail) = tail.lock() else {
        return;
    };
    for (job, outcome) in batch.iter_mut().zip(outcomes) {
        let Ok(CommitOutcome::Committed(stored)) = outcome else {
            continue;
        };
        // The commit is applied: its events are not needed any more.
        let events = std::mem::take(&mut job.commit.events);
        for (event, outcome) in events.into_iter().zip(stored) {
            if let EventOutcome::Stored(seq) = outcome {
                tail.push(*seq, event);
            }
        }
    }
}

fn apply(conn: &mut Connection, batch: &[Job]) -> Vec<Result<CommitOutcome, StoreError>> {
    match apply_batch(conn, batch, Undo::WholeBatch) {
        Ok(outcomes) => outcomes,
        // A commit had to be undone after it wrote something: the whole
        // transaction was rolled back; run the batch again, each commit in
        // its own savepoint (which never asks for this again).
        Err(NeedsUndo) => apply_batch(conn, batch, Undo::Savepoints).unwrap_or_else(|NeedsUndo| {
            all_failed(
                batch,
                &StoreError::Unavailable("the batch could not be applied".into()),
            )
        }),
    }
}

/// How a commit that must not be stored is taken back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Undo {
    /// No savepoints (the fast path): a commit that wrote something and then
    /// failed or conflicted rolls back the whole transaction.
    WholeBatch,
    /// Each commit in its own savepoint, rolled back alone.
    Savepoints,
}

/// The fast path met a commit it cannot take back alone.
struct NeedsUndo;

fn apply_batch(
    conn: &mut Connection,
    batch: &[Job],
    undo: Undo,
) -> Result<Vec<Result<CommitOutcome, StoreError>>, NeedsUndo> {
    let failed = |e: StoreError| Ok(all_failed(batch, &e));
    // IMMEDIATE takes the write lock first, so a write on another connection
    // (the idempotency purge) can never invalidate this transaction's snapshot.
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return failed(unavailable(e)),
    };
    // The audit head is read once per batch, carried through the commits in
    // memory, and written once: a commit taken back leaves it where it was.
    let first_head = match head(&tx) {
        Ok(h) => h,
        Err(e) => return failed(e),
    };
    let mut current = first_head;
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        let before = current;
        let outcome = match undo {
            Undo::Savepoints => apply_in_savepoint(&mut tx, &job.commit, &mut current),
            Undo::WholeBatch => {
                let mut wrote = false;
                let outcome = write_commit(&tx, &job.commit, &mut current, &mut wrote);
                if wrote && !stored(&outcome) {
                    // Dropping the transaction uncommitted rolls it back.
                    return Err(NeedsUndo);
                }
                outcome
            }
        };
        if !stored(&outcome) {
            current = before;
        }
        outcomes.push(outcome);
    }
    if current != first_head
        && let Err(e) = write_head(&tx, current)
    {
        return failed(e);
    }
    match tx.commit() {
        Ok(()) => Ok(outcomes),
        Err(e) => failed(unavailable(e)),
    }
}

/// Whether the commit's writes stay (an accepted commit, or the answer to a
/// known key, which wrote nothing).
fn stored(outcome: &Result<CommitOutcome, StoreError>) -> bool {
    matches!(
        outcome,
        Ok(CommitOutcome::Committed(_) | CommitOutcome::Replay(_) | CommitOutcome::KeyReused(_))
    )
}

/// Applies one commit inside a savepoint, so its failure (or an event
/// conflict) leaves the rest of the batch intact and stores nothing of it.
fn apply_in_savepoint(
    tx: &mut Transaction<'_>,
    commit: &Commit,
    head: &mut AuditHead,
) -> Result<CommitOutcome, StoreError> {
    let savepoint = tx.savepoint().map_err(unavailable)?;
    let outcome = write_commit(&savepoint, commit, head, &mut false)?;
    if matches!(
        outcome,
        CommitOutcome::EventConflict { .. } | CommitOutcome::CatalogConflict { .. }
    ) {
        // Dropping the savepoint uncommitted rolls it back.
        return Ok(outcome);
    }
    savepoint.commit().map_err(unavailable)?;
    Ok(outcome)
}

/// Writes one commit; sets `wrote` once anything was written, so that the
/// caller knows whether a failure or conflict leaves something to undo.
fn write_commit(
    conn: &Connection,
    commit: &Commit,
    head: &mut AuditHead,
    wrote: &mut bool,
) -> Result<CommitOutcome, StoreError> {
    if let Some(record) = &commit.idempotency {
        let known = idempotency_record(conn, &record.principal, &record.key, record.created_at_ms)?;
        if let Some(first) = known {
            // The audit entries describe an acceptance that did not happen:
            // the gateway audits the replay or refusal itself.
            return Ok(known_key(first, &record.request_hash));
        }
    }
    let mut outcomes = Vec::with_capacity(commit.events.len());
    for event in &commit.events {
        match insert_event(conn, event, wrote)? {
            Some(outcome) => outcomes.push(outcome),
            None => {
                return Ok(CommitOutcome::EventConflict {
                    id: event.id.clone(),
                });
            }
        }
    }
    if let Some(record) = &commit.idempotency {
        *wrote = true;
        insert_idempotency(conn, record)?;
    }
    for change in &commit.catalog {
        if let Err(reason) = super::catalog::write(conn, change)? {
            return Ok(CommitOutcome::CatalogConflict { reason });
        }
        *wrote = true;
    }
    *wrote = true;
    for change in &commit.delivery {
        super::delivery::write(conn, change)?;
    }
    append_audit(conn, &commit.audit, head)?;
    Ok(CommitOutcome::Committed(outcomes))
}

/// Stores an event; `None` when its `source`+`id` exist with another body.
fn insert_event(
    conn: &Connection,
    event: &NewEvent,
    wrote: &mut bool,
) -> Result<Option<EventOutcome>, StoreError> {
    let keys = serde_json::to_string(&event.business_keys)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let inserted: Option<i64> = conn
        .prepare_cached(
            "INSERT INTO events (id, source, contract, dataschema, site, subject, partition_key, interface, principal, accepted_at_ms, body, business_keys)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (id, source) DO NOTHING RETURNING seq",
        )
        .and_then(|mut s| {
            s.query_row(
                params![
                    event.id, event.source, event.contract, event.dataschema, event.site, event.subject,
                    event.partition_key, event.interface, event.principal, event.accepted_at_ms, event.body, keys,
                ],
                |r| r.get(0),
            )
            .optional()
        })
        .map_err(unavailable)?;
    let Some(seq) = inserted else {
        // Seen before: a retry of the same event, or another event reusing the id.
        let (seq, body): (i64, Vec<u8>) = conn
            .prepare_cached("SELECT seq, body FROM events WHERE id = ?1 AND source = ?2")
            .and_then(|mut s| {
                s.query_row(params![event.id, event.source], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
            })
            .map_err(unavailable)?;
        return Ok((body == event.body).then_some(EventOutcome::AlreadyStored(seq)));
    };
    // The keys are indexed apart (`keys.rs`), from the column above.
    *wrote = true;
    Ok(Some(EventOutcome::Stored(seq)))
}

fn insert_idempotency(conn: &Connection, r: &IdempotencyRecord) -> Result<(), StoreError> {
    // An expired record for the same key may still be there: the new one replaces it.
    conn.prepare_cached(
        "INSERT OR REPLACE INTO idempotency (principal, key, request_hash, status, response, created_at_ms, expires_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            r.principal, r.key, r.request_hash.as_slice(), r.status, r.response, r.created_at_ms, r.expires_at_ms,
        ])
    })
    .map_err(unavailable)?;
    Ok(())
}

/// Chains and inserts audit entries after `head`, advancing it.
fn append_audit(
    conn: &Connection,
    drafts: &[AuditDraft],
    head: &mut AuditHead,
) -> Result<(), StoreError> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO audit (seq, at_ms, principal, action, interface, outcome, message_id, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .map_err(unavailable)?;
    for draft in drafts {
        let (entry, next) = head.chain(draft.clone());
        let d = &entry.draft;
        insert
            .execute(params![
                entry.seq,
                d.at_ms,
                d.principal,
                d.action,
                d.interface,
                d.outcome,
                d.message_id,
                entry.prev_hash.as_slice(),
                entry.hash.as_slice(),
            ])
            .map_err(unavailable)?;
        *head = next;
    }
    Ok(())
}

/// Records the chain head, in the batch's transaction.
fn write_head(conn: &Connection, head: AuditHead) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE audit_head SET seq = ?1, hash = ?2 WHERE id = 1")
        .and_then(|mut s| s.execute(params![head.seq, head.hash.as_slice()]))
        .map_err(unavailable)?;
    Ok(())
}
