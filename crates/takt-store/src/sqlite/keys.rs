//! The business-key index, in a database file of its own beside the log
//! (`takt.db` → `takt.keys.db`), kept by a thread of its own.
//!
//! Why not in the writer's transaction: the keys of one commit (production
//! orders, lots, …) land on as many pages of the index as there are keys, so
//! every commit wrote about a page per event to the log, which was more than
//! half of what a commit wrote. Indexed here a few thousand events at a time,
//! sorted, a page takes many keys at once, and the log's single writer never
//! waits for the index (the two files have separate write locks).
//!
//! The index is derived: it can always be rebuilt from the log's
//! `business_keys` column, and is rebuilt when it does not describe the log
//! beside it (another log, or the log restored from an older backup). It
//! records how far it got (`indexed`); readers look up the keys of events
//! up to there in the index, and read the keys of the newer events (at most
//! a second's worth, or [`CHUNK`] events) from the log itself.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};
use takt_core::store::StoreError;

use super::{schema, unavailable};

/// Events indexed in one transaction once that many wait.
pub(super) const CHUNK: i64 = 4_096;
/// Fewer waiting events are indexed once the oldest has waited this long.
const AT_MOST_BEHIND: Duration = Duration::from_secs(1);
/// After a failed step, the next try waits this long (one warning each time).
const AFTER_FAILURE: Duration = Duration::from_secs(5);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS event_keys (
    kind  TEXT    NOT NULL,
    value TEXT    NOT NULL,
    seq   INTEGER NOT NULL,
    PRIMARY KEY (kind, value, seq)
) WITHOUT ROWID;
-- Every event up to seq has its keys above; event_id names that event, so
-- an index beside another log (or an older copy of it) is recognised.
CREATE TABLE IF NOT EXISTS indexed (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    seq      INTEGER NOT NULL,
    event_id TEXT    NOT NULL
);
INSERT OR IGNORE INTO indexed (id, seq, event_id) VALUES (1, 0, '');
";

/// Where the index of the log at `path` is kept.
pub(super) fn path_for(log: &Path) -> PathBuf {
    log.with_extension("keys.db")
}

/// Opens (creating if needed) the index beside the log `log` reads, and
/// empties it if it does not describe that log.
pub(super) fn open(path: &Path, log: &Connection) -> Result<Connection, StoreError> {
    let named = |e: StoreError| {
        StoreError::Unavailable(format!("business-key index {}: {e}", path.display()))
    };
    let index = schema::connect(path, false).map_err(named)?;
    index
        .execute_batch(SCHEMA)
        .map_err(|e| named(unavailable(e)))?;
    let (seq, event_id) = progress(&index)?;
    if seq > 0 {
        let found: Option<String> = log
            .query_row("SELECT id FROM events WHERE seq = ?1", [seq], |r| r.get(0))
            .optional()
            .map_err(unavailable)?;
        if found.as_deref() != Some(event_id.as_str()) {
            tracing::warn!(index = %path.display(), seq, "the business-key index does not match the log beside it: rebuilding it");
            index
                .execute_batch(
                    "BEGIN; DELETE FROM event_keys; UPDATE indexed SET seq = 0, event_id = ''; COMMIT;",
                )
                .map_err(unavailable)?;
        }
    }
    Ok(index)
}

fn progress(index: &Connection) -> Result<(i64, String), StoreError> {
    index
        .query_row("SELECT seq, event_id FROM indexed WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(unavailable)
}

/// Indexes the log's new events every `every` until `stop` is set (then
/// unpark the thread): whole chunks as soon as they fill, the rest once it
/// has waited [`AT_MOST_BEHIND`].
pub(super) fn indexer(
    index: &mut Connection,
    log: &Connection,
    every: Duration,
    stop: &AtomicBool,
) {
    let mut last = Instant::now();
    let mut failed_at: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        std::thread::park_timeout(every);
        if failed_at.is_some_and(|at| at.elapsed() < AFTER_FAILURE) {
            continue;
        }
        failed_at = None;
        loop {
            match step(index, log, last.elapsed() >= AT_MOST_BEHIND) {
                Ok(0) => break,
                Ok(n) => {
                    last = Instant::now();
                    if n < CHUNK || stop.load(Ordering::Relaxed) {
                        break;
                    }
                }
                Err(e) => {
                    // Lookups stay complete meanwhile: they read the keys
                    // of what is not indexed from the log.
                    tracing::warn!(error = %e, "indexing business keys failed; trying again in 5 s");
                    failed_at = Some(Instant::now());
                    break;
                }
            }
        }
    }
}

/// Indexes the next events, if a whole chunk waits or `all_waiting`; returns
/// how many it indexed.
pub(super) fn step(
    index: &mut Connection,
    log: &Connection,
    all_waiting: bool,
) -> Result<i64, StoreError> {
    let (from, _) = progress(index)?;
    let head = super::read::log_head(log)?;
    let waiting = head - from;
    if waiting <= 0 || (waiting < CHUNK && !all_waiting) {
        return Ok(0);
    }
    let to = head.min(from + CHUNK);
    let mut keys: Vec<(String, String, i64)> = Vec::new();
    let mut last = (from, String::new());
    {
        let mut statement = log
            .prepare_cached(
                "SELECT seq, id, business_keys FROM events WHERE seq > ?1 AND seq <= ?2 ORDER BY seq",
            )
            .map_err(unavailable)?;
        let mut rows = statement.query(params![from, to]).map_err(unavailable)?;
        while let Some(row) = rows.next().map_err(unavailable)? {
            let seq: i64 = row.get(0).map_err(unavailable)?;
            last = (seq, row.get(1).map_err(unavailable)?);
            let text: String = row.get(2).map_err(unavailable)?;
            let pairs: Vec<(String, String)> = serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("business keys of event {seq}: {e}")))?;
            keys.extend(pairs.into_iter().map(|(kind, value)| (kind, value, seq)));
        }
    }
    if last.0 == from {
        return Ok(0);
    }
    // In index order: consecutive inserts land on the same pages.
    keys.sort_unstable();
    let tx = index.transaction().map_err(unavailable)?;
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO event_keys (kind, value, seq) VALUES (?1, ?2, ?3)",
            )
            .map_err(unavailable)?;
        for (kind, value, seq) in &keys {
            insert
                .execute(params![kind, value, seq])
                .map_err(unavailable)?;
        }
    }
    tx.execute(
        "UPDATE indexed SET seq = ?1, event_id = ?2 WHERE id = 1",
        params![last.0, last.1],
    )
    .map_err(unavailable)?;
    tx.commit().map_err(unavailable)?;
    Ok(last.0 - from)
}

/// Lets a reader connection see the index as `keys`.
pub(super) fn attach(reader: &Connection, path: &Path) -> Result<(), StoreError> {
    reader
        .execute(
            "ATTACH DATABASE ?1 AS keys",
            [path.to_string_lossy().as_ref()],
        )
        .map_err(unavailable)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use takt_core::store::EventQuery;

    use super::super::{read, schema};
    use super::*;

    struct Files {
        _dir: tempfile::TempDir,
        log: PathBuf,
        keys: PathBuf,
    }

    /// A migrated log holding `n` events: even ones through interface `a`,
    /// odd ones through `b`; order `o<n % 3>`, lot `L<n>`.
    fn log_with(n: i64) -> Files {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("takt.db");
        let mut writer = schema::connect(&log, false).unwrap();
        schema::migrate(&mut writer).unwrap();
        append(&writer, 1..=n);
        let keys = path_for(&log);
        Files {
            _dir: dir,
            log,
            keys,
        }
    }

    fn append(writer: &Connection, seqs: std::ops::RangeInclusive<i64>) {
        for seq in seqs {
            let keys = format!(r#"[["order","o{}"],["lot","L{seq}"]]"#, seq % 3);
            writer
                .execute(
                    "INSERT INTO events (seq, id, source, contract, dataschema, site, subject, partition_key, interface, principal, accepted_at_ms, body, business_keys)
                     VALUES (?1, 'id-' || ?1, 'urn:test', 'c', 'd', '1010', '', 'k', ?2, 'p', 0, x'7b7d', ?3)",
                    params![seq, if seq % 2 == 0 { "a" } else { "b" }, keys],
                )
                .unwrap();
        }
    }

    fn reader(files: &Files) -> Connection {
        let conn = schema::connect(&files.log, true).unwrap();
        attach(&conn, &files.keys).unwrap();
        conn
    }

    fn by_key(
        conn: &Connection,
        kind: &str,
        value: &str,
        after_seq: i64,
        interface: Option<&str>,
    ) -> Vec<i64> {
        let query = EventQuery {
            business_key: Some((kind.into(), value.into())),
            interface: interface.map(Into::into),
            after_seq,
            limit: 1_000,
        };
        read::events(conn, &query)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect()
    }

    fn indexed(index: &Connection) -> i64 {
        progress(index).unwrap().0
    }

    /// Keys are found the same way whether the index holds them, the log's
    /// column does (not indexed yet), or each holds a part.
    #[test]
    fn lookups_agree_before_during_and_after_indexing() {
        let files = log_with(CHUNK + 10);
        let log = schema::connect(&files.log, true).unwrap();
        let mut index = open(&files.keys, &log).unwrap();
        let conn = reader(&files);
        let questions = |conn: &Connection| {
            (
                by_key(conn, "order", "o1", CHUNK - 600, None),
                by_key(conn, "order", "o2", 4_000, Some("a")),
                by_key(conn, "lot", "L7", 0, None),
                by_key(conn, "lot", "L4100", 0, None),
                by_key(conn, "lot", "L-none", 0, None),
            )
        };
        let before = questions(&conn);
        let o1: Vec<i64> = (CHUNK - 599..=CHUNK + 10).filter(|s| s % 3 == 1).collect();
        assert_eq!(before.0, o1);
        assert!(
            before
                .1
                .iter()
                .all(|seq| seq % 2 == 0 && seq % 3 == 2 && *seq > 4_000)
        );
        assert_eq!(
            (before.2.as_slice(), before.3.as_slice()),
            (&[7][..], &[4100][..])
        );
        assert!(before.4.is_empty());

        assert_eq!(
            step(&mut index, &log, false).unwrap(),
            CHUNK,
            "a whole chunk waits"
        );
        assert_eq!(indexed(&index), CHUNK);
        assert_eq!(
            questions(&conn),
            before,
            "the first chunk from the index, the rest from the log"
        );
        assert_eq!(
            step(&mut index, &log, false).unwrap(),
            0,
            "10 wait: not yet"
        );
        assert_eq!(
            step(&mut index, &log, true).unwrap(),
            10,
            "until they waited long enough"
        );
        assert_eq!(questions(&conn), before, "all from the index");
        let rows: i64 = index
            .query_row("SELECT count(*) FROM event_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 2 * (CHUNK + 10));
    }

    /// An index beside another log, or beside the log restored from an older
    /// copy, is emptied and built again rather than trusted.
    #[test]
    fn an_index_that_does_not_match_its_log_is_rebuilt() {
        let files = log_with(20);
        let log = schema::connect(&files.log, true).unwrap();
        let mut index = open(&files.keys, &log).unwrap();
        step(&mut index, &log, true).unwrap();
        assert_eq!(indexed(&index), 20);
        drop(index);

        // The log loses its last ten events (restored from an older copy)
        // and gets ten others at the same positions.
        let writer = schema::connect(&files.log, false).unwrap();
        writer
            .execute("DELETE FROM events WHERE seq > 10", [])
            .unwrap();
        for seq in 11..=20 {
            writer
                .execute(
                    "INSERT INTO events (seq, id, source, contract, dataschema, site, subject, partition_key, interface, principal, accepted_at_ms, body, business_keys)
                     VALUES (?1, 'other-' || ?1, 'urn:test', 'c', 'd', '1010', '', 'k', 'a', 'p', 0, x'7b7d', '[[\"lot\",\"X\"]]')",
                    [seq],
                )
                .unwrap();
        }
        let mut index = open(&files.keys, &log).unwrap();
        assert_eq!(indexed(&index), 0, "rebuilt from the start");
        let conn = reader(&files);
        assert!(
            by_key(&conn, "lot", "L15", 0, None).is_empty(),
            "the old event's key is gone"
        );
        assert_eq!(by_key(&conn, "lot", "X", 0, None).len(), 10);
        step(&mut index, &log, true).unwrap();
        assert_eq!(by_key(&conn, "lot", "X", 0, None).len(), 10);
        assert!(by_key(&conn, "lot", "L15", 0, None).is_empty());
        assert_eq!(by_key(&conn, "lot", "L5", 0, None), [5]);
    }
}
