//! Delivery state on PostgreSQL: writes applied by the writer, reads for the
//! delivery workers and the dead-letter queue.

use takt_core::store::{
    AttemptRecord, DeliveryCount, DeliveryQuery, DeliveryRecord, DeliveryState, DeliveryWrite,
    StoreError,
};
use tokio_postgres::{GenericClient, Row};

use super::unavailable;
use crate::delivery::{corrupt_state, state_list};

/// Most rows returned by one query, whatever the caller asks.
const MAX_PAGE: usize = 1_000;

fn int(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn status(value: Option<i32>) -> Result<Option<u16>, StoreError> {
    value
        .map(|v| u16::try_from(v).map_err(|_| StoreError::Corrupt(format!("stored status {v}"))))
        .transpose()
}

fn count(value: i32) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("stored attempt count {value}")))
}

fn state(name: &str) -> Result<DeliveryState, StoreError> {
    DeliveryState::parse(name).ok_or_else(|| StoreError::Corrupt(corrupt_state(name)))
}

/// Applies one delivery change inside the writer's transaction.
pub(super) async fn write(
    c: &impl GenericClient,
    change: &DeliveryWrite,
) -> Result<(), StoreError> {
    match change {
        DeliveryWrite::Cursor { subscription, seq } => {
            c.execute(
                "INSERT INTO delivery_cursors (subscription, seq) VALUES ($1, $2)
                 ON CONFLICT (subscription) DO UPDATE SET seq = greatest(delivery_cursors.seq, excluded.seq)",
                &[subscription, seq],
            )
            .await
        }
        DeliveryWrite::Record(r) => {
            c.execute(
                "INSERT INTO deliveries (subscription, seq, event_id, contract, site, key, state, holds_key,
                    attempts, next_attempt_at_ms, reason, last_status, last_response, accepted_at_ms, updated_at_ms, attempt_base, replay)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
                 ON CONFLICT (subscription, seq) DO UPDATE SET
                    state = excluded.state, holds_key = excluded.holds_key, attempts = excluded.attempts,
                    next_attempt_at_ms = excluded.next_attempt_at_ms, reason = excluded.reason,
                    last_status = excluded.last_status, last_response = excluded.last_response,
                    updated_at_ms = excluded.updated_at_ms, attempt_base = excluded.attempt_base,
                    replay = excluded.replay",
                &[
                    &r.subscription, &r.seq, &r.event_id, &r.contract, &r.site, &r.key, &r.state.as_str(), &r.holds_key,
                    &int(r.attempts), &r.next_attempt_at_ms, &r.reason, &r.last_status.map(i32::from), &r.last_response,
                    &r.accepted_at_ms, &r.updated_at_ms, &int(r.attempt_base), &r.replay,
                ],
            )
            .await
        }
        DeliveryWrite::Attempt(a) => {
            c.execute(
                "INSERT INTO delivery_attempts (subscription, seq, attempt, started_at_ms, finished_at_ms, outcome, status, detail)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (subscription, seq, attempt) DO UPDATE SET
                    started_at_ms = excluded.started_at_ms, finished_at_ms = excluded.finished_at_ms,
                    outcome = excluded.outcome, status = excluded.status, detail = excluded.detail",
                &[
                    &a.subscription, &a.seq, &int(a.attempt), &a.started_at_ms, &a.finished_at_ms, &a.outcome,
                    &a.status.map(i32::from), &a.detail,
                ],
            )
            .await
        }
    }
    .map(|_| ())
    .map_err(unavailable)
}

pub(super) async fn cursor(c: &impl GenericClient, subscription: &str) -> Result<i64, StoreError> {
    let row = c
        .query_one(
            "SELECT coalesce(max(seq), 0)::bigint FROM delivery_cursors WHERE subscription = $1",
            &[&subscription],
        )
        .await
        .map_err(unavailable)?;
    Ok(row.get(0))
}

const RECORD_COLUMNS: &str = "d.subscription, d.seq, d.event_id, d.contract, d.site, d.key, d.state, d.holds_key, d.attempts,
    d.next_attempt_at_ms, d.reason, d.last_status, d.last_response, d.accepted_at_ms, d.updated_at_ms, d.attempt_base, d.replay";

fn record(r: &Row) -> Result<DeliveryRecord, StoreError> {
    Ok(DeliveryRecord {
        subscription: r.get(0),
        seq: r.get(1),
        event_id: r.get(2),
        contract: r.get(3),
        site: r.get(4),
        key: r.get(5),
        state: state(r.get(6))?,
        holds_key: r.get(7),
        attempts: count(r.get(8))?,
        next_attempt_at_ms: r.get(9),
        reason: r.get(10),
        last_status: status(r.get(11))?,
        last_response: r.get(12),
        accepted_at_ms: r.get(13),
        updated_at_ms: r.get(14),
        attempt_base: count(r.get(15))?,
        replay: r.get(16),
    })
}

/// Each key's oldest holding record, if it is pending and due, in position
/// order: over the records that hold their key (partial indexes), so that
/// records already delivered are never stepped over.
async fn due_heads(
    c: &impl GenericClient,
    subscription: &str,
    at_ms: i64,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM deliveries d
         WHERE d.subscription = $1 AND d.holds_key AND d.seq > $2
           AND d.state = 'pending' AND d.next_attempt_at_ms <= $3
           AND NOT EXISTS (
                SELECT 1 FROM deliveries o
                WHERE o.subscription = d.subscription AND o.key = d.key AND o.holds_key AND o.seq < d.seq)
         ORDER BY d.seq LIMIT $4"
    );
    let rows = c
        .query(&sql, &[&subscription, &after_seq, &at_ms, &limit])
        .await
        .map_err(unavailable)?;
    rows.iter().map(record).collect()
}

pub(super) async fn records(
    c: &impl GenericClient,
    q: &DeliveryQuery,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    if let Some((subscription, at_ms)) = q.due_heads_only() {
        let limit = q.limit.clamp(1, MAX_PAGE) as i64;
        return due_heads(c, subscription, at_ms, q.after_seq, limit).await;
    }
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM deliveries d
         WHERE d.seq > $1
           AND ($2::text IS NULL OR d.subscription = $2)
           AND ($3::text IS NULL OR position(',' || d.state || ',' IN $3) > 0)
           AND ($4::text IS NULL OR d.key = $4)
           AND (NOT $11 OR d.holds_key)
           AND ($5::text IS NULL OR d.contract = $5)
           AND ($6::text IS NULL OR d.site = $6)
           AND ($7::text IS NULL OR position($7 IN d.reason) > 0)
           AND ($8::bigint IS NULL OR d.updated_at_ms <= $8)
           AND ($9::bigint IS NULL OR (d.state = 'pending' AND d.next_attempt_at_ms <= $9 AND NOT EXISTS (
                SELECT 1 FROM deliveries o
                WHERE o.subscription = d.subscription AND o.key = d.key AND o.holds_key AND o.seq < d.seq)))
         ORDER BY d.seq, d.subscription LIMIT $10"
    );
    let states = state_list(&q.states);
    let limit = q.limit.clamp(1, MAX_PAGE) as i64;
    let rows = c
        .query(
            &sql,
            &[
                &q.after_seq,
                &q.subscription,
                &states,
                &q.key,
                &q.contract,
                &q.site,
                &q.reason_contains,
                &q.updated_before_ms,
                &q.due_heads_at_ms,
                &limit,
                &q.only_holding,
            ],
        )
        .await
        .map_err(unavailable)?;
    rows.iter().map(record).collect()
}

pub(super) async fn attempts(
    c: &impl GenericClient,
    subscription: &str,
    seq: i64,
) -> Result<Vec<AttemptRecord>, StoreError> {
    let rows = c
        .query(
            "SELECT attempt, started_at_ms, finished_at_ms, outcome, status, detail FROM delivery_attempts
             WHERE subscription = $1 AND seq = $2 ORDER BY attempt",
            &[&subscription, &seq],
        )
        .await
        .map_err(unavailable)?;
    rows.iter()
        .map(|r| {
            Ok(AttemptRecord {
                subscription: subscription.to_owned(),
                seq,
                attempt: count(r.get(0))?,
                started_at_ms: r.get(1),
                finished_at_ms: r.get(2),
                outcome: r.get(3),
                status: status(r.get(4))?,
                detail: r.get(5),
            })
        })
        .collect()
}

pub(super) async fn counts(c: &impl GenericClient) -> Result<Vec<DeliveryCount>, StoreError> {
    let rows = c
        .query(
            "SELECT subscription, state, count(*), min(accepted_at_ms) FROM deliveries
             GROUP BY subscription, state ORDER BY subscription, state",
            &[],
        )
        .await
        .map_err(unavailable)?;
    rows.iter()
        .map(|r| {
            let n: i64 = r.get(2);
            Ok(DeliveryCount {
                subscription: r.get(0),
                state: state(r.get(1))?,
                count: u64::try_from(n).unwrap_or(0),
                oldest_accepted_at_ms: r.get(3),
            })
        })
        .collect()
}
