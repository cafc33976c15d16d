//! The newest committed events, kept in memory so that the delivery workers,
//! which read the log just behind the gateway, are answered without a query.
//!
//! The writer appends every event it stored after each commit (before it
//! answers the callers), in position order. A read is answered from here
//! only when the tail holds every event after the reader's position up to
//! the newest commit; otherwise (a reader far behind, a fresh start) it goes
//! to the database. Memory is bounded by a count and by bytes.

use std::collections::VecDeque;
use std::sync::Arc;

use takt_core::store::{EventQuery, NewEvent, StoredEvent};

use super::read::MAX_PAGE;

/// Most events kept: at 10,000 events/s, 0.4 s of the log, where a worker
/// that keeps up is a few milliseconds behind.
const MAX_EVENTS: usize = 4_096;
/// Most bytes kept (bodies and text fields, roughly).
const MAX_BYTES: usize = 8 << 20;

/// Consecutive committed events, oldest first.
#[derive(Debug)]
pub(super) struct Tail {
    events: VecDeque<Arc<StoredEvent>>,
    bytes: usize,
    max_events: usize,
    max_bytes: usize,
}

impl Default for Tail {
    fn default() -> Self {
        Self::with_limits(MAX_EVENTS, MAX_BYTES)
    }
}

fn size(event: &NewEvent) -> usize {
    let keys: usize = event
        .business_keys
        .iter()
        .map(|(kind, value)| kind.len() + value.len() + 48)
        .sum();
    event.body.len()
        + event.id.len()
        + event.source.len()
        + event.contract.len()
        + event.dataschema.len()
        + event.site.len()
        + event.subject.len()
        + event.partition_key.len()
        + event.interface.len()
        + event.principal.len()
        + keys
        + 256
}

impl Tail {
    fn with_limits(max_events: usize, max_bytes: usize) -> Self {
        Self {
            events: VecDeque::new(),
            bytes: 0,
            max_events,
            max_bytes,
        }
    }

    /// Appends an event just committed at `seq`. A position that does not
    /// follow the newest one held (never expected with one writer) starts
    /// the tail afresh, so it never holds a gap.
    pub(super) fn push(&mut self, seq: i64, mut event: NewEvent) {
        if self.events.back().is_some_and(|last| last.seq + 1 != seq) {
            self.events.clear();
            self.bytes = 0;
        }
        // As the database returns them.
        event.business_keys.sort();
        self.bytes += size(&event);
        self.events.push_back(Arc::new(StoredEvent { seq, event }));
        while self.events.len() > self.max_events
            || (self.bytes > self.max_bytes && self.events.len() > 1)
        {
            if let Some(old) = self.events.pop_front() {
                self.bytes -= size(&old.event);
            }
        }
    }

    /// What the database would answer to `query`, when the tail holds every
    /// event after `query.after_seq`; `None` sends the reader to the database.
    pub(super) fn read(&self, query: &EventQuery) -> Option<Vec<StoredEvent>> {
        let (first, last) = (self.events.front()?.seq, self.events.back()?.seq);
        if query.after_seq < first - 1 || query.after_seq > last {
            return None;
        }
        let skip = usize::try_from(query.after_seq - (first - 1)).ok()?;
        let limit = query.limit.clamp(1, MAX_PAGE);
        let found: Vec<Arc<StoredEvent>> = self
            .events
            .iter()
            .skip(skip)
            .filter(|stored| matches(query, &stored.event))
            .take(limit)
            .cloned()
            .collect();
        Some(found.into_iter().map(Arc::unwrap_or_clone).collect())
    }
}

fn matches(query: &EventQuery, event: &NewEvent) -> bool {
    let interface = query
        .interface
        .as_ref()
        .is_none_or(|i| *i == event.interface);
    let key = query.business_key.as_ref().is_none_or(|(kind, value)| {
        event
            .business_keys
            .iter()
            .any(|(k, v)| k == kind && v == value)
    });
    interface && key
}

#[cfg(test)]
pub(super) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// An event at `n` through `interface`, for `order` and lot `L1`.
    pub(in super::super) fn event(n: i64, interface: &str, order: &str) -> NewEvent {
        NewEvent {
            id: format!("id-{n}"),
            source: "urn:test".into(),
            contract: "mfg.test.v1".into(),
            dataschema: "urn:takt:schema:mfg.test.v1:1.0".into(),
            site: "1010".into(),
            subject: String::new(),
            partition_key: order.into(),
            interface: interface.into(),
            principal: "mes".into(),
            accepted_at_ms: n,
            business_keys: vec![("order".into(), order.into()), ("lot".into(), "L1".into())],
            body: vec![b'x'; 100],
        }
    }

    fn seqs(found: Option<Vec<StoredEvent>>) -> Option<Vec<i64>> {
        found.map(|events| events.iter().map(|e| e.seq).collect())
    }

    fn query(after_seq: i64, limit: usize) -> EventQuery {
        EventQuery {
            after_seq,
            limit,
            ..Default::default()
        }
    }

    #[test]
    fn answers_only_what_it_holds_entirely() {
        let mut tail = Tail::default();
        assert_eq!(
            seqs(tail.read(&query(0, 10))),
            None,
            "empty: ask the database"
        );
        for seq in 5..=9 {
            tail.push(seq, event(seq, "a", "o1"));
        }
        assert_eq!(seqs(tail.read(&query(3, 10))), None, "event 4 is not held");
        assert_eq!(seqs(tail.read(&query(4, 10))), Some(vec![5, 6, 7, 8, 9]));
        assert_eq!(seqs(tail.read(&query(6, 2))), Some(vec![7, 8]));
        assert_eq!(seqs(tail.read(&query(9, 10))), Some(vec![]), "caught up");
        assert_eq!(seqs(tail.read(&query(10, 10))), None, "beyond what it saw");
    }

    #[test]
    fn filters_like_the_query_and_sorts_business_keys() {
        let mut tail = Tail::default();
        tail.push(1, event(1, "a", "o1"));
        tail.push(2, event(2, "b", "o2"));
        tail.push(3, event(3, "a", "o2"));
        let by_interface = EventQuery {
            interface: Some("a".into()),
            ..query(0, 10)
        };
        assert_eq!(seqs(tail.read(&by_interface)), Some(vec![1, 3]));
        let by_key = EventQuery {
            business_key: Some(("order".into(), "o2".into())),
            ..query(0, 1)
        };
        assert_eq!(seqs(tail.read(&by_key)), Some(vec![2]));
        let first = tail.read(&query(0, 1)).unwrap().remove(0);
        assert_eq!(first.event.business_keys[0], ("lot".into(), "L1".into()));
    }

    #[test]
    fn a_gap_starts_afresh_and_limits_drop_the_oldest() {
        let mut tail = Tail::with_limits(3, usize::MAX);
        for seq in 1..=5 {
            tail.push(seq, event(seq, "a", "o1"));
        }
        assert_eq!(seqs(tail.read(&query(2, 10))), Some(vec![3, 4, 5]));
        assert_eq!(seqs(tail.read(&query(1, 10))), None, "2 was dropped");
        tail.push(8, event(8, "a", "o1"));
        assert_eq!(
            seqs(tail.read(&query(5, 10))),
            None,
            "6 and 7 were never seen"
        );
        assert_eq!(seqs(tail.read(&query(7, 10))), Some(vec![8]));

        let one = size(&event(1, "a", "o1"));
        let mut small = Tail::with_limits(100, 2 * one);
        for seq in 1..=4 {
            small.push(seq, event(seq, "a", "o1"));
        }
        assert_eq!(seqs(small.read(&query(2, 10))), Some(vec![3, 4]));
        assert_eq!(small.bytes, 2 * one);
    }
}
