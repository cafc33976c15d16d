//! Opening a database file: pragmas and versioned migrations.

use std::path::Path;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use takt_core::store::StoreError;

use super::unavailable;

/// Migrations in order; a database records the versions it has applied.
const MIGRATIONS: [(i64, &str); 7] = [
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/sqlite/0002_business_keys_column.sql"),
    ),
    (3, include_str!("../../migrations/sqlite/0003_delivery.sql")),
    (
        4,
        include_str!("../../migrations/sqlite/0004_delivery_replay.sql"),
    ),
    (5, include_str!("../../migrations/sqlite/0005_catalog.sql")),
    (
        6,
        include_str!("../../migrations/sqlite/0006_delivery_due.sql"),
    ),
    (
        7,
        include_str!("../../migrations/sqlite/0007_keys_apart.sql"),
    ),
];

/// Opens a connection with Takt's pragmas: WAL, fsync on every commit.
pub(super) fn connect(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(unavailable)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(unavailable)?;
    // Plans do not depend on bound values. Without this, SQLite marks a
    // statement to be prepared again whenever a new value is bound to a
    // `LIMIT ?` (and to some other parameters), so the cached statements of
    // the delivery worker's reads were parsed and planned anew on every
    // call: 8% of the hub's time while draining a backlog.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(unavailable)?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(unavailable)?;
        // A thread of its own (`checkpointer`) copies the log into the
        // database every 100 ms, but under continuous writes it never
        // catches up, and only a fully copied log is reused. So the writer
        // also checkpoints once the log passes 2,000 pages (8 MiB): it
        // copies what is left, and the next commit starts the log afresh.
        conn.pragma_update(None, "wal_autocheckpoint", 2000)
            .map_err(unavailable)?;
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(unavailable)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(unavailable)?;
    Ok(conn)
}

/// Applies every migration the database has not seen, each in its own transaction.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)",
    )
    .map_err(unavailable)?;
    let applied: i64 = conn
        .query_row(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(unavailable)?;
    let newest = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if applied > newest {
        return Err(StoreError::Corrupt(format!(
            "the database is at schema version {applied}, newer than this takt ({newest}); upgrade takt"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
        let tx = conn.transaction().map_err(unavailable)?;
        tx.execute_batch(sql).map_err(unavailable)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?1, CAST(unixepoch('subsec') * 1000 AS INTEGER))",
            [version],
        )
        .map_err(unavailable)?;
        tx.commit().map_err(unavailable)?;
    }
    Ok(())
}

/// Copies committed WAL frames into the database file every `every`, on its
/// own connection, until `stop` is set (then unpark the thread); a final
/// checkpoint truncates the WAL.
pub(super) fn checkpointer(
    path: &Path,
    every: std::time::Duration,
    stop: &std::sync::atomic::AtomicBool,
) {
    let Ok(conn) = connect(path, false) else {
        return;
    };
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        std::thread::park_timeout(every);
        // PASSIVE never blocks the writer; frames still read by a reader wait for the next round.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;

    #[test]
    fn cached_statements_are_not_prepared_again_when_their_limit_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("takt.db");
        let mut writer = connect(&path, false).unwrap();
        migrate(&mut writer).unwrap();
        for conn in [&writer, &connect(&path, true).unwrap()] {
            let mut statement = conn
                .prepare_cached("SELECT seq FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")
                .unwrap();
            for (after, limit) in [(0, 5), (3, 7), (9, 256), (10, 1)] {
                let rows: Vec<i64> = statement
                    .query_map([after, limit], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                assert!(rows.is_empty());
            }
            assert_eq!(statement.get_status(StatementStatus::RePrepare), 0);
        }
    }
}
