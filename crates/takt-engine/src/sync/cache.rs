//! Answers to sync queries, kept in memory for the interface's
//! `cache_ttl_ms` and bounded in entries and bytes.
//!
//! The key is the SHA-256 of the sender and the request as the destination
//! would receive it (URL and mapped body), so two queries that differ only
//! in what the request mapping drops (their CloudEvents id, a query id)
//! share an answer. Only 2xx answers are kept.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// Most answers one interface keeps.
const MAX_ENTRIES: usize = 1_024;
/// Most answer bytes one interface keeps.
const MAX_BYTES: usize = 8 * 1024 * 1024;

/// A destination's answer, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CachedAnswer {
    /// Its HTTP status.
    pub(crate) status: u16,
    /// Its body.
    pub(crate) body: String,
}

#[derive(Debug, Default)]
struct Entries {
    by_key: HashMap<[u8; 32], (i64, CachedAnswer)>,
    /// Keys in insertion order, which is expiry order: one TTL per cache.
    order: VecDeque<[u8; 32]>,
    bytes: usize,
}

/// One interface's answers.
#[derive(Debug)]
pub(crate) struct AnswerCache {
    ttl_ms: i64,
    entries: Mutex<Entries>,
}

/// The cache key of a request by `principal` to `url` with `body`.
pub(crate) fn key(principal: &str, url: &str, body: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in [principal.as_bytes(), url.as_bytes(), body] {
        hash.update(part.len().to_le_bytes());
        hash.update(part);
    }
    hash.finalize().into()
}

impl AnswerCache {
    /// A cache keeping answers for `ttl_ms`.
    pub(crate) fn new(ttl_ms: u64) -> Self {
        Self {
            ttl_ms: i64::try_from(ttl_ms).unwrap_or(i64::MAX),
            entries: Mutex::new(Entries::default()),
        }
    }

    /// The answer kept for `key`, if it is younger than the TTL at `now_ms`.
    pub(crate) fn get(&self, key: &[u8; 32], now_ms: i64) -> Option<CachedAnswer> {
        let mut entries = self.entries.lock().ok()?;
        entries.expire(now_ms);
        entries.by_key.get(key).map(|(_, answer)| answer.clone())
    }

    /// Keeps `answer` for `key` from `now_ms`, dropping the oldest answers
    /// past the bounds. An answer larger than the byte bound is not kept.
    pub(crate) fn put(&self, key: [u8; 32], answer: CachedAnswer, now_ms: i64) {
        if answer.body.len() > MAX_BYTES {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        entries.expire(now_ms);
        if let Some((_, old)) = entries.by_key.remove(&key) {
            entries.bytes -= old.body.len();
            entries.order.retain(|k| *k != key);
        }
        while entries.by_key.len() >= MAX_ENTRIES || entries.bytes + answer.body.len() > MAX_BYTES {
            if !entries.pop_oldest() {
                break;
            }
        }
        entries.bytes += answer.body.len();
        let expires = now_ms.saturating_add(self.ttl_ms);
        entries.by_key.insert(key, (expires, answer));
        entries.order.push_back(key);
    }

    /// How many answers are kept (expired ones included until the next use).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.by_key.len())
    }
}

impl Entries {
    /// Drops the answers expired at `now_ms` (the oldest ones).
    fn expire(&mut self, now_ms: i64) {
        while let Some(oldest) = self.order.front() {
            match self.by_key.get(oldest) {
                Some((expires, _)) if *expires > now_ms => return,
                _ => {
                    self.pop_oldest();
                }
            }
        }
    }

    /// Drops the oldest answer; false when there is none.
    fn pop_oldest(&mut self) -> bool {
        let Some(oldest) = self.order.pop_front() else {
            return false;
        };
        if let Some((_, answer)) = self.by_key.remove(&oldest) {
            self.bytes -= answer.body.len();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str) -> CachedAnswer {
        CachedAnswer {
            status: 200,
            body: body.to_owned(),
        }
    }

    #[test]
    fn answers_live_for_the_ttl_per_sender_and_request() {
        let cache = AnswerCache::new(1_000);
        let mes = key(
            "mes-plant1010",
            "http://erp/stock",
            b"{\"MATNR\":\"RM-4711\"}",
        );
        let wms = key(
            "wms-central",
            "http://erp/stock",
            b"{\"MATNR\":\"RM-4711\"}",
        );
        cache.put(mes, answer("{\"LABST\":\"12\"}"), 10_000);
        assert_eq!(cache.get(&mes, 10_999), Some(answer("{\"LABST\":\"12\"}")));
        assert_eq!(cache.get(&wms, 10_500), None, "another sender asks anew");
        assert_eq!(cache.get(&mes, 11_000), None, "expired at the TTL");
        assert_eq!(cache.len(), 0, "expired answers are dropped");
    }

    #[test]
    fn the_oldest_answers_go_past_the_bounds() {
        let cache = AnswerCache::new(60_000);
        for n in 0..MAX_ENTRIES + 10 {
            cache.put(key("p", "u", &n.to_le_bytes()), answer("x"), 0);
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
        assert_eq!(cache.get(&key("p", "u", &0_usize.to_le_bytes()), 1), None);
        let last = MAX_ENTRIES + 9;
        assert!(cache.get(&key("p", "u", &last.to_le_bytes()), 1).is_some());
        let big = "y".repeat(MAX_BYTES / 2 + 1);
        cache.put(key("p", "u", b"a"), answer(&big), 0);
        cache.put(key("p", "u", b"b"), answer(&big), 0);
        assert!(
            cache.get(&key("p", "u", b"a"), 1).is_none(),
            "bytes are bounded"
        );
        assert!(cache.get(&key("p", "u", b"b"), 1).is_some());
        cache.put(key("p", "u", b"c"), answer(&"z".repeat(MAX_BYTES + 1)), 0);
        assert!(
            cache.get(&key("p", "u", b"c"), 1).is_none(),
            "too big to keep"
        );
    }
}
