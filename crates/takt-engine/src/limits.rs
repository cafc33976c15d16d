//! Token buckets per principal and interface (governor, keyed).

use std::collections::HashMap;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use takt_core::deployment::Deployment;

use crate::Rejection;

/// One keyed limiter per interface that declares a `rate_limit`.
#[derive(Debug, Default)]
pub(crate) struct RateLimits {
    by_interface: HashMap<String, DefaultKeyedRateLimiter<String>>,
}

impl RateLimits {
    pub(crate) fn from_deployment(deployment: &Deployment) -> Self {
        let by_interface = deployment
            .interfaces
            .values()
            .filter_map(|i| {
                let limit = i.rate_limit?;
                let rate = NonZeroU32::new(limit.per_second)?;
                let burst = NonZeroU32::new(limit.burst)?;
                Some((
                    i.name.clone(),
                    RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
                ))
            })
            .collect();
        Self { by_interface }
    }

    /// Takes `n` tokens for `principal` on `interface`, or says when to retry.
    pub(crate) fn take(&self, interface: &str, principal: &str, n: u32) -> Result<(), Rejection> {
        let Some(limiter) = self.by_interface.get(interface) else {
            return Ok(());
        };
        let cells = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
        let key = principal.to_owned();
        let refused = |retry_after_secs| Rejection::RateLimited {
            interface: interface.to_owned(),
            retry_after_secs,
        };
        match limiter.check_key_n(&key, cells) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(refused(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)))
            }
            // More messages than the burst: this request can never pass, so
            // waiting would not help; say so instead of answering 429 forever.
            Err(_) => Err(Rejection::PayloadTooLarge(format!(
                "{n} messages in one request exceed the burst of interface {interface}; send smaller batches"
            ))),
        }
    }
}
