//! Queries, shared by the writer (inside its transaction) and the readers.

use rusqlite::{Connection, OptionalExtension, Row, params};
use takt_core::audit::{AuditDraft, AuditEntry, AuditHead};
use takt_core::store::{
    ContractUsage, EventQuery, IdempotencyRecord, NewEvent, StoreError, StoredEvent,
};

use super::unavailable;

/// Most events returned by one query, whatever the caller asks.
pub(super) const MAX_PAGE: usize = 1_000;

fn hash(row: &Row<'_>, index: usize) -> rusqlite::Result<[u8; 32]> {
    let bytes: Vec<u8> = row.get(index)?;
    bytes.try_into().map_err(|_| {
        rusqlite::Error::InvalidColumnType(index, "hash".into(), rusqlite::types::Type::Blob)
    })
}

pub(super) fn head(conn: &Connection) -> Result<AuditHead, StoreError> {
    conn.prepare_cached("SELECT seq, hash FROM audit_head WHERE id = 1")
        .and_then(|mut s| {
            s.query_row([], |r| {
                Ok(AuditHead {
                    seq: r.get(0)?,
                    hash: hash(r, 1)?,
                })
            })
        })
        .map_err(unavailable)
}

pub(super) fn contract_usage(
    conn: &Connection,
    contract: &str,
    since_ms: i64,
) -> Result<Vec<ContractUsage>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT principal, interface, dataschema, count(*), max(accepted_at_ms) FROM events
             WHERE contract = ?1 AND accepted_at_ms >= ?2
             GROUP BY principal, interface, dataschema ORDER BY principal, interface, dataschema",
        )
        .map_err(unavailable)?;
    let rows = statement
        .query_map(params![contract, since_ms], |r| {
            Ok(ContractUsage {
                principal: r.get(0)?,
                interface: r.get(1)?,
                dataschema: r.get(2)?,
                count: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                last_seen_ms: r.get(4)?,
            })
        })
        .map_err(unavailable)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(unavailable)
}

pub(super) fn log_head(conn: &Connection) -> Result<i64, StoreError> {
    conn.prepare_cached("SELECT coalesce(max(seq), 0) FROM events")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(unavailable)
}

/// The database's pages, free ones included, and those of the business-key
/// index beside it: what the files take on disk (the write-ahead logs are
/// kept small by checkpoints).
pub(super) fn size_bytes(conn: &Connection) -> Result<u64, StoreError> {
    let pragma = |name: &str| -> Result<i64, StoreError> {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .map_err(unavailable)
    };
    let log = pragma("main.page_count")?.saturating_mul(pragma("main.page_size")?);
    let index = pragma("keys.page_count")?.saturating_mul(pragma("keys.page_size")?);
    Ok(u64::try_from(log.saturating_add(index)).unwrap_or(0))
}

pub(super) fn idempotency_record(
    conn: &Connection,
    principal: &str,
    key: &str,
    now_ms: i64,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    conn.prepare_cached(
        "SELECT request_hash, status, response, created_at_ms, expires_at_ms FROM idempotency
         WHERE principal = ?1 AND key = ?2 AND expires_at_ms > ?3",
    )
    .and_then(|mut s| {
        s.query_row(params![principal, key, now_ms], |r| {
            Ok(IdempotencyRecord {
                principal: principal.to_owned(),
                key: key.to_owned(),
                request_hash: hash(r, 0)?,
                status: r.get(1)?,
                response: r.get(2)?,
                created_at_ms: r.get(3)?,
                expires_at_ms: r.get(4)?,
            })
        })
        .optional()
    })
    .map_err(unavailable)
}

const EVENT_COLUMNS: &str = "e.seq, e.id, e.source, e.contract, e.dataschema, e.site, e.subject, e.partition_key, e.interface, e.principal, e.accepted_at_ms, e.body, e.business_keys";

fn event_row(r: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    let seq: i64 = r.get(0)?;
    let keys: String = r.get(12)?;
    let mut business_keys: Vec<(String, String)> = serde_json::from_str(&keys).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(12, rusqlite::types::Type::Text, Box::new(e))
    })?;
    business_keys.sort();
    Ok(StoredEvent {
        seq,
        event: NewEvent {
            id: r.get(1)?,
            source: r.get(2)?,
            contract: r.get(3)?,
            dataschema: r.get(4)?,
            site: r.get(5)?,
            subject: r.get(6)?,
            partition_key: r.get(7)?,
            interface: r.get(8)?,
            principal: r.get(9)?,
            accepted_at_ms: r.get(10)?,
            business_keys,
            body: r.get(11)?,
        },
    })
}

pub(super) fn event(conn: &Connection, id: &str) -> Result<Option<StoredEvent>, StoreError> {
    let sql =
        format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.id = ?1 ORDER BY e.seq LIMIT 1");
    conn.prepare_cached(&sql)
        .and_then(|mut s| s.query_row([id], event_row).optional())
        .map_err(unavailable)
}

pub(super) fn events(conn: &Connection, q: &EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
    let limit = q.limit.clamp(1, MAX_PAGE) as i64;
    let Some((kind, value)) = &q.business_key else {
        let mut statement = conn
            .prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM events e
                 WHERE e.seq > ?1 AND (?2 IS NULL OR e.interface = ?2)
                 ORDER BY e.seq LIMIT ?3"
            ))
            .map_err(unavailable)?;
        return collect_events(&mut statement, params![q.after_seq, q.interface, limit]);
    };
    // The index (attached as `keys`) holds the keys of the events up to
    // where it got; the newer events' keys are read from the log.
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events e
             WHERE e.seq IN (
                 SELECT k.seq FROM keys.event_keys k WHERE k.kind = ?3 AND k.value = ?4 AND k.seq > ?1
                 UNION ALL
                 SELECT u.seq FROM events u
                 WHERE u.seq > max(?1, (SELECT seq FROM keys.indexed WHERE id = 1))
                   AND EXISTS (SELECT 1 FROM json_each(u.business_keys) j
                               WHERE j.value ->> 0 = ?3 AND j.value ->> 1 = ?4))
               AND (?2 IS NULL OR e.interface = ?2)
             ORDER BY e.seq LIMIT ?5"
        ))
        .map_err(unavailable)?;
    collect_events(
        &mut statement,
        params![q.after_seq, q.interface, kind, value, limit],
    )
}

fn collect_events(
    statement: &mut rusqlite::Statement<'_>,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<StoredEvent>, StoreError> {
    let rows = statement
        .query_map(params, event_row)
        .map_err(unavailable)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(unavailable)
}

pub(super) fn events_at(conn: &Connection, seqs: &[i64]) -> Result<Vec<StoredEvent>, StoreError> {
    let positions = serde_json::to_string(&seqs[..seqs.len().min(MAX_PAGE)])
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events e
         WHERE e.seq IN (SELECT value FROM json_each(?1))
         ORDER BY e.seq"
    );
    let mut statement = conn.prepare_cached(&sql).map_err(unavailable)?;
    let rows = statement
        .query_map([positions], event_row)
        .map_err(unavailable)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(unavailable)
}

pub(super) fn audit_entries(
    conn: &Connection,
    from_seq: i64,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT seq, at_ms, principal, action, interface, outcome, message_id, prev_hash, hash
             FROM audit WHERE seq >= ?1 ORDER BY rowid LIMIT ?2",
        )
        .map_err(unavailable)?;
    let rows = statement
        .query_map(params![from_seq, limit.clamp(1, MAX_PAGE) as i64], |r| {
            Ok(AuditEntry {
                seq: r.get(0)?,
                draft: AuditDraft {
                    at_ms: r.get(1)?,
                    principal: r.get(2)?,
                    action: r.get(3)?,
                    interface: r.get(4)?,
                    outcome: r.get(5)?,
                    message_id: r.get(6)?,
                },
                prev_hash: hash(r, 7)?,
                hash: hash(r, 8)?,
            })
        })
        .map_err(unavailable)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(unavailable)
}
