//! Delivery state on SQLite: writes applied by the writer, reads for the
//! delivery workers and the dead-letter queue.

use rusqlite::{Connection, Row, params};
use takt_core::store::{
    AttemptRecord, DeliveryCount, DeliveryQuery, DeliveryRecord, DeliveryState, DeliveryWrite,
    StoreError,
};

use super::read::MAX_PAGE;
use super::unavailable;
use crate::delivery::{corrupt_state, state_list};

/// Applies one delivery change inside the writer's transaction.
pub(super) fn write(conn: &Connection, change: &DeliveryWrite) -> Result<(), StoreError> {
    match change {
        DeliveryWrite::Cursor { subscription, seq } => conn
            .prepare_cached(
                "INSERT INTO delivery_cursors (subscription, seq) VALUES (?1, ?2)
                 ON CONFLICT (subscription) DO UPDATE SET seq = max(seq, excluded.seq)",
            )
            .and_then(|mut s| s.execute(params![subscription, seq])),
        DeliveryWrite::Record(r) => conn
            .prepare_cached(
                "INSERT OR REPLACE INTO deliveries (subscription, seq, event_id, contract, site, key, state, holds_key,
                    attempts, next_attempt_at_ms, reason, last_status, last_response, accepted_at_ms, updated_at_ms, attempt_base, replay)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    r.subscription, r.seq, r.event_id, r.contract, r.site, r.key, r.state.as_str(), r.holds_key,
                    r.attempts, r.next_attempt_at_ms, r.reason, r.last_status, r.last_response, r.accepted_at_ms,
                    r.updated_at_ms,
                    r.attempt_base, r.replay,
                ])
            }),
        DeliveryWrite::Attempt(a) => conn
            .prepare_cached(
                "INSERT OR REPLACE INTO delivery_attempts (subscription, seq, attempt, started_at_ms, finished_at_ms, outcome, status, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    a.subscription, a.seq, a.attempt, a.started_at_ms, a.finished_at_ms, a.outcome, a.status, a.detail,
                ])
            }),
    }
    .map(|_| ())
    .map_err(unavailable)
}

pub(super) fn cursor(conn: &Connection, subscription: &str) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "SELECT coalesce(max(seq), 0) FROM delivery_cursors WHERE subscription = ?1",
    )
    .and_then(|mut s| s.query_row([subscription], |r| r.get(0)))
    .map_err(unavailable)
}

const RECORD_COLUMNS: &str = "d.subscription, d.seq, d.event_id, d.contract, d.site, d.key, d.state, d.holds_key, d.attempts,
    d.next_attempt_at_ms, d.reason, d.last_status, d.last_response, d.accepted_at_ms, d.updated_at_ms, d.attempt_base, d.replay";

fn record(r: &Row<'_>) -> rusqlite::Result<DeliveryRecord> {
    let state: String = r.get(6)?;
    Ok(DeliveryRecord {
        subscription: r.get(0)?,
        seq: r.get(1)?,
        event_id: r.get(2)?,
        contract: r.get(3)?,
        site: r.get(4)?,
        key: r.get(5)?,
        state: DeliveryState::parse(&state).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                6,
                rusqlite::types::Type::Text,
                corrupt_state(&state).into(),
            )
        })?,
        holds_key: r.get(7)?,
        attempts: r.get(8)?,
        next_attempt_at_ms: r.get(9)?,
        reason: r.get(10)?,
        last_status: r.get(11)?,
        last_response: r.get(12)?,
        accepted_at_ms: r.get(13)?,
        updated_at_ms: r.get(14)?,
        attempt_base: r.get(15)?,
        replay: r.get(16)?,
    })
}

/// Each key's oldest holding record, if it is pending and due, in position
/// order: through the index of holding records, so that records already
/// delivered are never stepped over (the general query below would, and
/// its cost grew with every record a drain delivered).
fn due_heads(
    conn: &Connection,
    subscription: &str,
    at_ms: i64,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM deliveries d INDEXED BY deliveries_holding
         WHERE d.subscription = ?1 AND d.holds_key = 1 AND d.seq > ?2
           AND d.state = 'pending' AND d.next_attempt_at_ms <= ?3
           AND NOT EXISTS (
                SELECT 1 FROM deliveries o INDEXED BY deliveries_by_key
                WHERE o.subscription = d.subscription AND o.key = d.key AND o.holds_key = 1 AND o.seq < d.seq)
         ORDER BY d.seq LIMIT ?4"
    );
    let mut statement = conn.prepare_cached(&sql).map_err(unavailable)?;
    let rows = statement
        .query_map(params![subscription, after_seq, at_ms, limit], record)
        .map_err(unavailable)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(unavailable)
}

pub(super) fn records(
    conn: &Connection,
    q: &DeliveryQuery,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    if let Some((subscription, at_ms)) = q.due_heads_only() {
        let limit = q.limit.clamp(1, MAX_PAGE) as i64;
        return due_heads(conn, subscription, at_ms, q.after_seq, limit);
    }
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM deliveries d
         WHERE d.seq > ?1
           AND (?2 IS NULL OR d.subscription = ?2)
           AND (?3 IS NULL OR instr(?3, ',' || d.state || ',') > 0)
           AND (?4 IS NULL OR d.key = ?4)
           AND (?11 = 0 OR d.holds_key = 1)
           AND (?5 IS NULL OR d.contract = ?5)
           AND (?6 IS NULL OR d.site = ?6)
           AND (?7 IS NULL OR instr(d.reason, ?7) > 0)
           AND (?8 IS NULL OR d.updated_at_ms <= ?8)
           AND (?9 IS NULL OR (d.state = 'pending' AND d.next_attempt_at_ms <= ?9 AND NOT EXISTS (
                SELECT 1 FROM deliveries o
                WHERE o.subscription = d.subscription AND o.key = d.key AND o.holds_key = 1 AND o.seq < d.seq)))
         ORDER BY d.seq, d.subscription LIMIT ?10"
    );
    let states = state_list(&q.states);
    let limit = q.limit.clamp(1, MAX_PAGE) as i64;
    let mut statement = conn.prepare_cached(&sql).map_err(unavailable)?;
    let rows = statement
        .query_map(
            params![
                q.after_seq,
                q.subscription,
                states,
                q.key,
                q.contract,
                q.site,
                q.reason_contains,
                q.updated_before_ms,
                q.due_heads_at_ms,
                limit,
                q.only_holding,
            ],
            record,
        )
        .map_err(unavailable)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(unavailable)
}

pub(super) fn attempts(
    conn: &Connection,
    subscription: &str,
    seq: i64,
) -> Result<Vec<AttemptRecord>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT attempt, started_at_ms, finished_at_ms, outcome, status, detail FROM delivery_attempts
             WHERE subscription = ?1 AND seq = ?2 ORDER BY attempt",
        )
        .map_err(unavailable)?;
    let rows = statement
        .query_map(params![subscription, seq], |r| {
            Ok(AttemptRecord {
                subscription: subscription.to_owned(),
                seq,
                attempt: r.get(0)?,
                started_at_ms: r.get(1)?,
                finished_at_ms: r.get(2)?,
                outcome: r.get(3)?,
                status: r.get(4)?,
                detail: r.get(5)?,
            })
        })
        .map_err(unavailable)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(unavailable)
}

pub(super) fn counts(conn: &Connection) -> Result<Vec<DeliveryCount>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT subscription, state, count(*), min(accepted_at_ms) FROM deliveries
             GROUP BY subscription, state ORDER BY subscription, state",
        )
        .map_err(unavailable)?;
    let rows = statement
        .query_map([], |r| {
            let state: String = r.get(1)?;
            Ok(DeliveryCount {
                subscription: r.get(0)?,
                state: DeliveryState::parse(&state).ok_or_else(|| {
                    rusqlite::Error::FromSqlConversionFailure(
                        1,
                        rusqlite::types::Type::Text,
                        corrupt_state(&state).into(),
                    )
                })?,
                count: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                oldest_accepted_at_ms: r.get(3)?,
            })
        })
        .map_err(unavailable)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(unavailable)
}
