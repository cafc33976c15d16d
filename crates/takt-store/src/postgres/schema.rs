//! Connecting, choosing the schema, and versioned migrations.

use takt_core::store::StoreError;
use tokio_postgres::{Client, NoTls};

use super::unavailable;

const MIGRATIONS: [(i64, &str); 5] = [
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/postgres/0002_delivery.sql"),
    ),
    (
        3,
        include_str!("../../migrations/postgres/0003_delivery_replay.sql"),
    ),
    (
        4,
        include_str!("../../migrations/postgres/0004_catalog.sql"),
    ),
    (
        5,
        include_str!("../../migrations/postgres/0005_delivery_due.sql"),
    ),
];

/// Opens a connection whose `search_path` is `schema` (created if missing).
pub(super) async fn connect(url: &str, schema: &str) -> Result<Client, StoreError> {
    if schema.is_empty()
        || !schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(StoreError::Unavailable(format!(
            "schema name {schema:?} must be lowercase letters, digits and underscores"
        )));
    }
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(unavailable)?;
    tokio::spawn(async move {
        // Ends when the client is dropped or the server goes away; the client
        // then reports the error on its next call.
        let _ = connection.await;
    });
    client
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path TO {schema}"
        ))
        .await
        .map_err(unavailable)?;
    Ok(client)
}

/// Applies pending migrations under an advisory lock, so instances starting
/// together do not race.
pub(super) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(unavailable)?;
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.takt-migrations'));
         CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await
    .map_err(unavailable)?;
    let applied: i64 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .map_err(unavailable)?
        .get(0);
    let newest = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if applied > newest {
        return Err(StoreError::Corrupt(format!(
            "the database is at schema version {applied}, newer than this takt ({newest}); upgrade takt"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
        tx.batch_execute(sql).await.map_err(unavailable)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )
        .await
        .map_err(unavailable)?;
    }
    tx.commit().await.map_err(unavailable)
}
