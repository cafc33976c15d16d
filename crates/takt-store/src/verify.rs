use takt_core::audit::{Tamper, Verifier};
use takt_core::store::{Store, StoreError};

/// Entries read per page while verifying.
const PAGE: usize = 1_000;

/// Why the audit chain could not be verified.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The chain was tampered with.
    #[error(transparent)]
    Tampered(#[from] Tamper),
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Verifies the whole audit chain of `store`; returns how many entries it holds.
pub async fn verify_audit(store: &dyn Store) -> Result<i64, VerifyError> {
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
