//! Per-key ordering: which waiting messages may be handed to a connector.

use std::collections::HashSet;

/// A message waiting for delivery on a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending<'a> {
    /// Accepted order in the log.
    pub seq: i64,
    /// Its ordering key on this subscription.
    pub key: &'a str,
}

/// Picks up to `limit` messages that may be sent now, from `pending` in
/// accepted order (ascending `seq`).
///
/// A message may go only when it is the oldest waiting message of its key and
/// its key is not `busy` (a message of that key is in flight, waiting for a
/// retry, parked or in doubt). So each key is delivered strictly in accepted
/// order, one message at a time, while different keys progress in parallel.
pub fn deliverable<'a>(
    pending: impl IntoIterator<Item = Pending<'a>>,
    busy: &HashSet<&str>,
    limit: usize,
) -> Vec<i64> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut chosen = Vec::new();
    for message in pending {
        if chosen.len() >= limit {
            break;
        }
        // Only a key's first waiting message can go; later ones wait behind it.
        if seen.insert(message.key) && !busy.contains(message.key) {
            chosen.push(message.seq);
        }
    }
    chosen
}
