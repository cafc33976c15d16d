//! Queries, used inside the writer's transaction and by readers.

use takt_core::audit::{AuditDraft, AuditEntry, AuditHead};
use takt_core::store::{
    ContractUsage, EventQuery, IdempotencyRecord, NewEvent, StoreError, StoredEvent,
};
use tokio_postgres::{GenericClient, Row};

use super::unavailable;

/// Most rows returned by one query, whatever the caller asks.
const MAX_PAGE: usize = 1_000;

pub(super) fn hash_of(row: &Row, index: usize) -> Result<[u8; 32], StoreError> {
    let bytes: Vec<u8> = row.try_get(index).map_err(unavailable)?;
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("a stored hash is not 32 bytes".into()))
}

pub(super) async fn head(c: &impl GenericClient) -> Result<AuditHead, StoreError> {
    let row = c
        .query_one("SELECT seq, hash FROM audit_head WHERE id = 1", &[])
        .await
        .map_err(unavailable)?;
    Ok(AuditHead {
        seq: row.get(0),
        hash: hash_of(&row, 1)?,
    })
}

pub(super) async fn contract_usage(
    c: &impl GenericClient,
    contract: &str,
    since_ms: i64,
) -> Result<Vec<ContractUsage>, StoreError> {
    let rows = c
        .query(
            "SELECT principal, interface, dataschema, count(*)::bigint, max(accepted_at_ms) FROM events
             WHERE contract = $1 AND accepted_at_ms >= $2
             GROUP BY principal, interface, dataschema ORDER BY principal, interface, dataschema",
            &[&contract, &since_ms],
        )
        .await
        .map_err(unavailable)?;
    Ok(rows
        .iter()
        .map(|r| ContractUsage {
            principal: r.get(0),
            interface: r.get(1),
            dataschema: r.get(2),
            count: u64::try_from(r.get::<_, i64>(3)).unwrap_or(0),
            last_seen_ms: r.get(4),
        })
        .collect())
}

pub(super) async fn log_head(c: &impl GenericClient) -> Result<i64, StoreError> {
    let row = c
        .query_one("SELECT coalesce(max(seq), 0)::bigint FROM events", &[])
        .await
        .map_err(unavailable)?;
    Ok(row.get(0))
}

/// The tables of the store's schema with their indexes and TOAST data.
pub(super) async fn size_bytes(c: &impl GenericClient) -> Result<u64, StoreError> {
    let row = c
        .query_one(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relkind = 'r'",
            &[],
        )
        .await
        .map_err(unavailable)?;
    Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

pub(super) async fn idempotency_record(
    c: &impl GenericClient,
    principal: &str,
    key: &str,
    now_ms: i64,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    let row = c
        .query_opt(
            "SELECT request_hash, status, response, created_at_ms, expires_at_ms FROM idempotency
             WHERE principal = $1 AND key = $2 AND expires_at_ms > $3",
            &[&principal, &key, &now_ms],
        )
        .await
        .map_err(unavailable)?;
    let Some(row) = row else { return Ok(None) };
    let status: i32 = row.get(1);
    Ok(Some(IdempotencyRecord {
        principal: principal.to_owned(),
        key: key.to_owned(),
        request_hash: hash_of(&row, 0)?,
        status: u16::try_from(status)
            .map_err(|_| StoreError::Corrupt(format!("stored status {status}")))?,
        response: row.get(2),
        created_at_ms: row.get(3),
        expires_at_ms: row.get(4),
    }))
}

const EVENT_COLUMNS: &str = "e.seq, e.id, e.source, e.contract, e.dataschema, e.site, e.subject, e.partition_key, e.interface, e.principal, e.accepted_at_ms, e.body,
    coalesce((SELECT array_agg(k.kind || chr(31) || k.value ORDER BY k.kind, k.value) FROM event_keys k WHERE k.seq = e.seq), '{}')";

fn event_row(row: &Row) -> StoredEvent {
    let keys: Vec<String> = row.get(12);
    StoredEvent {
        seq: row.get(0),
        event: NewEvent {
            id: row.get(1),
            source: row.get(2),
            contract: row.get(3),
            dataschema: row.get(4),
            site: row.get(5),
            subject: row.get(6),
            partition_key: row.get(7),
            interface: row.get(8),
            principal: row.get(9),
            accepted_at_ms: row.get(10),
            business_keys: keys
                .into_iter()
                .filter_map(|k| {
                    k.split_once('\u{1f}')
                        .map(|(kind, value)| (kind.to_owned(), value.to_owned()))
                })
                .collect(),
            body: row.get(11),
        },
    }
}

pub(super) async fn event(
    c: &impl GenericClient,
    id: &str,
) -> Result<Option<StoredEvent>, StoreError> {
    let sql =
        format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.id = $1 ORDER BY e.seq LIMIT 1");
    let row = c.query_opt(&sql, &[&id]).await.map_err(unavailable)?;
    Ok(row.as_ref().map(event_row))
}

pub(super) async fn events(
    c: &impl GenericClient,
    q: &EventQuery,
) -> Result<Vec<StoredEvent>, StoreError> {
    let limit = q.limit.clamp(1, MAX_PAGE) as i64;
    let (kind, value) = q.business_key.clone().unzip();
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events e
         WHERE e.seq > $1
           AND ($2::text IS NULL OR e.interface = $2)
           AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM event_keys k WHERE k.seq = e.seq AND k.kind = $3 AND k.value = $4))
         ORDER BY e.seq LIMIT $5"
    );
    let rows = c
        .query(&sql, &[&q.after_seq, &q.interface, &kind, &value, &limit])
        .await
        .map_err(unavailable)?;
    Ok(rows.iter().map(event_row).collect())
}

pub(super) async fn events_at(
    c: &impl GenericClient,
    seqs: &[i64],
) -> Result<Vec<StoredEvent>, StoreError> {
    let positions = &seqs[..seqs.len().min(MAX_PAGE)];
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.seq = ANY($1) ORDER BY e.seq");
    let rows = c.query(&sql, &[&positions]).await.map_err(unavailable)?;
    Ok(rows.iter().map(event_row).collect())
}

pub(super) async fn audit_entries(
    c: &impl GenericClient,
    from_seq: i64,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    let rows = c
        .query(
            "SELECT seq, at_ms, principal, action, interface, outcome, message_id, prev_hash, hash
             FROM audit WHERE seq >= $1 ORDER BY seq LIMIT $2",
            &[&from_seq, &(limit.clamp(1, MAX_PAGE) as i64)],
        )
        .await
        .map_err(unavailable)?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                seq: r.get(0),
                draft: AuditDraft {
                    at_ms: r.get(1),
                    principal: r.get(2),
                    action: r.get(3),
                    interface: r.get(4),
                    outcome: r.get(5),
                    message_id: r.get(6),
                },
                prev_hash: hash_of(r, 7)?,
                hash: hash_of(r, 8)?,
            })
        })
        .collect()
}
