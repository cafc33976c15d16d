//! The tamper-evident audit chain.
//!
//! Every call to the hub leaves an [`AuditEntry`]. Each entry's hash covers
//! its own fields and the previous entry's hash, so editing, deleting or
//! reordering any entry breaks the chain at that entry. The store also keeps
//! the chain head (last sequence number and hash) in a separate record written
//! in the same transaction, so cutting entries off the end is detected too.
//! [`verify`] walks the chain and names the first entry that does not fit.
//!
//! Entries hold who did what to which interface with what outcome, and the
//! message id: never secrets, never payloads.

use sha2::{Digest, Sha256};

/// The hash before the first entry: 32 zero bytes.
pub const GENESIS: [u8; 32] = [0; 32];

/// What the caller knows about an audited action; the store assigns the
/// sequence number and chains it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditDraft {
    /// When it happened, Unix milliseconds.
    pub at_ms: i64,
    /// Who: the authenticated principal, or `anonymous`.
    pub principal: String,
    /// What, e.g. `event.ingest`, `command.record`, `native.ingest`.
    pub action: String,
    /// Which interface, when there is one.
    pub interface: Option<String>,
    /// How it ended: `accepted`, `replayed`, or `rejected:<problem code>`.
    pub outcome: String,
    /// The message id concerned, when there is one.
    pub message_id: Option<String>,
}

/// One entry of the chain, as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// The audited facts.
    #[serde(flatten)]
    pub draft: AuditDraft,
    /// Hash of the previous entry ([`GENESIS`] for the first).
    pub prev_hash: [u8; 32],
    /// Hash of this entry: SHA-256 over `prev_hash` and the fields.
    pub hash: [u8; 32],
}

/// The end of the chain: what the store remembers separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditHead {
    /// Sequence number of the last entry (0 when empty).
    pub seq: i64,
    /// Hash of the last entry ([`GENESIS`] when empty).
    pub hash: [u8; 32],
}

impl AuditHead {
    /// The head of an empty chain.
    pub const EMPTY: Self = Self {
        seq: 0,
        hash: GENESIS,
    };

    /// Appends `draft` after this head, returning the entry and the new head.
    pub fn chain(&self, draft: AuditDraft) -> (AuditEntry, AuditHead) {
        let seq = self.seq + 1;
        let hash = entry_hash(seq, &draft, &self.hash);
        let entry = AuditEntry {
            seq,
            draft,
            prev_hash: self.hash,
            hash,
        };
        (entry, AuditHead { seq, hash })
    }
}

/// SHA-256 over the previous hash and every field, each length-prefixed so
/// that no two different entries serialise alike.
pub fn entry_hash(seq: i64, draft: &AuditDraft, prev_hash: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"takt-audit-v1");
    hasher.update(prev_hash);
    hasher.update(seq.to_be_bytes());
    hasher.update(draft.at_ms.to_be_bytes());
    let optional = |v: &Option<String>| v.clone().unwrap_or_default();
    let fields = [
        draft.principal.clone(),
        draft.action.clone(),
        optional(&draft.interface),
        draft.interface.is_some().to_string(),
        draft.outcome.clone(),
        optional(&draft.message_id),
        draft.message_id.is_some().to_string(),
    ];
    for field in fields {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hasher.finalize().into()
}

/// Why the chain does not verify, naming the first entry that does not fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Tamper {
    /// The entry's fields no longer match its hash: it was edited.
    #[error("audit entry {seq} was altered: its content does not match its hash")]
    Altered {
        /// The entry.
        seq: i64,
    },
    /// An entry sits where another was expected: entries were removed or moved.
    #[error(
        "audit entry {seq} found where entry {expected} was expected: entries were removed or reordered"
    )]
    OutOfSequence {
        /// The entry found.
        seq: i64,
        /// The entry expected at this position.
        expected: i64,
    },
    /// The entry does not follow the one before it: entries were reordered or replaced.
    #[error(
        "audit entry {seq} does not follow entry {previous}: the chain was reordered or rewritten"
    )]
    Reordered {
        /// The entry.
        seq: i64,
        /// The entry before it in storage order.
        previous: i64,
    },
    /// The chain ends before the recorded head: entries were cut off the end.
    #[error(
        "the audit chain ends at entry {last} but the head records entry {head}: entries were truncated"
    )]
    Truncated {
        /// Last entry found.
        last: i64,
        /// Last entry according to the head.
        head: i64,
    },
    /// The last entry's hash differs from the recorded head.
    #[error("the last audit entry {seq} does not match the recorded head hash")]
    HeadMismatch {
        /// The entry.
        seq: i64,
    },
}

/// Checks a chain entry by entry, so a long log can be read page by page.
#[derive(Debug, Clone, Copy)]
pub struct Verifier {
    previous: AuditHead,
}

impl Default for Verifier {
    fn default() -> Self {
        Self {
            previous: AuditHead::EMPTY,
        }
    }
}

impl Verifier {
    /// Checks the next entry in storage order.
    pub fn push(&mut self, entry: &AuditEntry) -> Result<(), Tamper> {
        let previous = self.previous;
        let expected = previous.seq + 1;
        if entry.seq < expected {
            return Err(Tamper::Reordered {
                seq: entry.seq,
                previous: previous.seq,
            });
        }
        if entry.seq > expected {
            return Err(Tamper::OutOfSequence {
                seq: entry.seq,
                expected,
            });
        }
        if entry_hash(entry.seq, &entry.draft, &entry.prev_hash) != entry.hash {
            return Err(Tamper::Altered { seq: entry.seq });
        }
        if entry.prev_hash != previous.hash {
            return Err(Tamper::Reordered {
                seq: entry.seq,
                previous: previous.seq,
            });
        }
        self.previous = AuditHead {
            seq: entry.seq,
            hash: entry.hash,
        };
        Ok(())
    }

    /// Checks the end of the chain against the recorded head; returns the
    /// number of entries verified.
    pub fn finish(self, head: AuditHead) -> Result<i64, Tamper> {
        let last = self.previous;
        if last.seq < head.seq {
            return Err(Tamper::Truncated {
                last: last.seq,
                head: head.seq,
            });
        }
        if last.seq > head.seq || last.hash != head.hash {
            return Err(Tamper::HeadMismatch { seq: last.seq });
        }
        Ok(last.seq)
    }
}

/// Checks entries (in storage order, from the first) against each other and
/// the head; returns how many entries were verified.
pub fn verify(
    entries: impl IntoIterator<Item = AuditEntry>,
    head: AuditHead,
) -> Result<i64, Tamper> {
    let mut verifier = Verifier::default();
    for entry in entries {
        verifier.push(&entry)?;
    }
    verifier.finish(head)
}

/// Why a stored audit chain could not be verified.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The chain was tampered with.
    #[error(transparent)]
    Tampered(#[from] Tamper),
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Verifies the whole audit chain of a store, page by page; returns how many
/// entries it holds.
pub async fn verify_store(store: &dyn crate::store::Store) -> Result<i64, VerifyError> {
    const PAGE: usize = 1_000;
    let head = store.audit_head().await?;
    let mut verifier = Verifier::default();
    let mut from = 1;
    loop {
        let page = store.audit_entries(from, PAGE).await?;
        for entry in &page {
            verifier.push(entry)?;
        }
        match page.last() {
            Some(last) if page.len() == PAGE => from = last.seq + 1,
            _ => break,
        }
    }
    Ok(verifier.finish(head)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(i: i64) -> AuditDraft {
        AuditDraft {
            at_ms: 1_700_000_000_000 + i,
            principal: "mes-plant1010".into(),
            action: "event.ingest".into(),
            interface: Some("mes1010-consumption".into()),
            outcome: "accepted".into(),
            message_id: Some(format!("m{i}")),
        }
    }

    fn chain(n: i64) -> (Vec<AuditEntry>, AuditHead) {
        let mut head = AuditHead::EMPTY;
        let mut entries = Vec::new();
        for i in 0..n {
            let (entry, next) = head.chain(draft(i));
            entries.push(entry);
            head = next;
        }
        (entries, head)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let (entries, head) = chain(5);
        assert_eq!(verify(entries, head), Ok(5));
        assert_eq!(verify(Vec::new(), AuditHead::EMPTY), Ok(0));
    }

    #[test]
    fn every_kind_of_tampering_is_named() {
        let (entries, head) = chain(5);
        let mut edited = entries.clone();
        edited[2].draft.outcome = "rejected:403".into();
        assert_eq!(verify(edited, head), Err(Tamper::Altered { seq: 3 }));

        let mut removed = entries.clone();
        removed.remove(1);
        assert_eq!(
            verify(removed, head),
            Err(Tamper::OutOfSequence {
                seq: 3,
                expected: 2
            })
        );

        let mut swapped = entries.clone();
        swapped.swap(1, 2);
        assert_eq!(
            verify(swapped, head),
            Err(Tamper::OutOfSequence {
                seq: 3,
                expected: 2
            })
        );

        // Renumbered after a swap, so sequence numbers look right: the links do not.
        let mut renumbered = entries.clone();
        renumbered.swap(1, 2);
        for (i, e) in renumbered.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        assert_eq!(verify(renumbered, head), Err(Tamper::Altered { seq: 2 }));

        let truncated: Vec<AuditEntry> = entries[..3].to_vec();
        assert_eq!(
            verify(truncated, head),
            Err(Tamper::Truncated { last: 3, head: 5 })
        );

        let mut forged_tail = entries.clone();
        let (forged, _) = AuditHead {
            seq: 4,
            hash: entries[3].hash,
        }
        .chain(draft(99));
        forged_tail[4] = forged;
        assert_eq!(
            verify(forged_tail, head),
            Err(Tamper::HeadMismatch { seq: 5 })
        );
    }

    #[test]
    fn optional_fields_cannot_be_shifted_between_each_other() {
        let mut a = draft(1);
        a.interface = Some(String::new());
        let mut b = draft(1);
        b.interface = None;
        assert_ne!(entry_hash(1, &a, &GENESIS), entry_hash(1, &b, &GENESIS));
    }
}
