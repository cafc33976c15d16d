//! The delivery engine's decisions, free of I/O: how an attempt's result is
//! classified, when to try again, when to stop calling a destination, and
//! which messages may go out next without breaking per-key order.
//!
//! The engine (in `takt-engine`) owns the clock, the randomness, the
//! connectors and the store; it asks these functions what to do.
//!
//! - [`classify`]: an attempt's outcome → delivered, retry, refused, or in doubt;
//! - [`next_step`]: that verdict and the policy → done, retry at, dead-letter
//!   (and maybe park the key), in doubt;
//! - [`retry_delay_ms`]: exponential backoff with jitter and `Retry-After`;
//! - [`Circuit`]: the per-destination circuit breaker;
//! - [`deliverable`]: per-key ordering.

mod circuit;
mod classify;
mod sequencer;

pub use circuit::{Circuit, CircuitState};
pub use classify::{AttemptOutcome, Verdict, classify};
pub use sequencer::{Pending, deliverable};

use takt_model::delivery::{Backoff, DeliveryPolicy, OnExhausted};

/// What the engine does with a message after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    /// Delivered: record it and move on to the key's next message.
    Done,
    /// Try again at this instant (ms since the epoch); the key waits.
    RetryAt(i64),
    /// Put it in the dead-letter queue with this reason. When `park_key`,
    /// later messages of its ordering key wait until it is redriven or
    /// discarded; otherwise they go on.
    DeadLetter {
        /// Why, for the operator.
        reason: String,
        /// Whether the key is held back.
        park_key: bool,
    },
    /// The outcome is unknown and the destination cannot de-duplicate: an
    /// operator decides. The key waits.
    InDoubt {
        /// What is known about the attempt.
        reason: String,
    },
}

/// Decides what follows attempt number `attempt` (from 1) of a message.
///
/// `random` is a number in `[0, 1)` drawn by the caller, used for jitter.
pub fn next_step(
    policy: &DeliveryPolicy,
    attempt: u32,
    verdict: Verdict,
    now_ms: i64,
    random: f64,
) -> NextStep {
    let dead_letter = |reason: String| NextStep::DeadLetter {
        reason,
        park_key: policy.on_exhausted == OnExhausted::ParkKey,
    };
    match verdict {
        Verdict::Delivered => NextStep::Done,
        Verdict::Refused { reason } => dead_letter(reason),
        Verdict::InDoubt { reason } => NextStep::InDoubt { reason },
        Verdict::Retry { reason, .. } if attempt >= policy.max_attempts => dead_letter(format!(
            "gave up after {attempt} attempt{}: {reason}",
            if attempt == 1 { "" } else { "s" }
        )),
        Verdict::Retry { retry_after_ms, .. } => {
            let asked = retry_after_ms
                .filter(|_| policy.honour_retry_after)
                .map(|ms| ms.min(policy.retry_after_max_ms));
            let delay = retry_delay_ms(&policy.backoff, attempt, random).max(asked.unwrap_or(0));
            NextStep::RetryAt(now_ms.saturating_add(i64::try_from(delay).unwrap_or(i64::MAX)))
        }
    }
}

/// The backoff after attempt `attempt` (from 1) failed:
/// `min(max_ms, base_ms · 2^(attempt-1))`, spread by ± `jitter` of itself
/// (`random` in `[0, 1)` picks where), never above `max_ms`.
pub fn retry_delay_ms(backoff: &Backoff, attempt: u32, random: f64) -> u64 {
    let doublings = attempt.saturating_sub(1).min(62);
    let exponential = backoff
        .base_ms
        .saturating_mul(1u64 << doublings)
        .min(backoff.max_ms);
    let jitter = backoff.jitter.clamp(0.0, 1.0);
    let spread = 1.0 - jitter + 2.0 * jitter * random.clamp(0.0, 1.0);
    // The product is at most 2 · max_ms, far inside f64's exact integers.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let delay = (exponential as f64 * spread).round() as u64;
    delay.min(backoff.max_ms)
}

#[cfg(test)]
mod tests;
