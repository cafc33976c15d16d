//! Dev-only helpers for Takt's tests: a simulated ERP with fault switches,
//! and a `takt serve` child process ([`start_hub`]).
//!
//! [`Erp::start`] listens on 127.0.0.1:0 and takes any `POST`/`PUT`. Every
//! request is logged as an [`Attempt`]; what it does is decided by the
//! first matching [`Rule`] (a [`Fault`], for some requests or all, for a
//! number of times or for ever), otherwise it is posted. A posting is an
//! [`Effect`]: the business change the ERP made. In idempotent mode the ERP
//! de-duplicates on the idempotency header, so a resent message makes no
//! second effect; in non-idempotent mode every posting is an effect, so
//! tests can count duplicates.

mod erp;
mod hub;

pub use erp::{Attempt, Effect, Erp, Fault, Rule};
pub use hub::{
    Hub, copy_dir, example, get_json, post_json, repository, start_hub, start_hub_with, start_serve,
};

/// Polls `check` every 20 ms until it is true or `within` has passed;
/// returns whether it became true.
pub async fn eventually(within: std::time::Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
