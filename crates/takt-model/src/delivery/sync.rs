//! The `[sync]` table of an interface file: commands (and queries) that the
//! hub hands to their owner while the sender waits, answering with the
//! owner's acknowledgment.
//!
//! ```toml
//! [sync]
//! destination = "mes-plant1010"
//! sites = ["1010"]
//! timeout_ms = 5000
//! on_unavailable = "queue"          # or "fail_fast" (the default)
//! retry_after_secs = 5
//! request_mapping = "mappings/mes1010-order-release.jq"
//! response_mapping = "mappings/mes1010-release-ack.jq"
//!
//! [sync.connector]
//! url = "http://mes1010.example.com/api/orders/{subject}"
//! ```

use std::path::PathBuf;

use serde::Deserialize;

use super::{DeliveryPolicy, HttpConnector};

/// `[sync]` of a command or query interface: which system answers its
/// commands (or queries) synchronously, over HTTP, within a deadline.
///
/// The destination must de-duplicate on the `Idempotency-Key` header (the
/// command's CloudEvents id): a sender retrying after a timeout, and a
/// queued command being delivered again, reach it with the same key.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// The system that answers (a file in `systems/`).
    pub destination: String,
    /// Only commands (or queries) for these plants go to it; empty: every
    /// plant. Others are recorded as plain commands.
    #[serde(default)]
    pub sites: Vec<String>,
    /// How the hub calls it: method, URL template, headers, auth, signature
    /// (as a subscription's HTTP connector, without `kind`).
    pub connector: HttpConnector,
    /// Deadline of the synchronous call, connect to last answer byte.
    #[serde(default = "timeout_ms")]
    pub timeout_ms: u64,
    /// What the sender gets while the destination is down or slow.
    #[serde(default)]
    pub on_unavailable: OnUnavailable,
    /// `Retry-After` of a 503 when the destination named none (or a shorter one).
    #[serde(default = "retry_after_secs")]
    pub retry_after_secs: u64,
    /// A jq program from the canonical CloudEvent to the destination's
    /// request body, relative to the deployment directory; none: the
    /// CloudEvent as is.
    #[serde(default)]
    pub request_mapping: Option<PathBuf>,
    /// A jq program from `{status, body, request}` (the destination's HTTP
    /// status, its answer as JSON, the CloudEvent sent) to the answer the
    /// sender gets; none: the destination's answer as is.
    #[serde(default)]
    pub response_mapping: Option<PathBuf>,
    /// Queries only: how long an answer is reused for the same sender and
    /// the same request to the destination; 0: never.
    #[serde(default)]
    pub cache_ttl_ms: u64,
    /// How queued commands are delivered later (as a subscription's
    /// `[policy]`: attempts, backoff, circuit breaker, dead-lettering).
    #[serde(default)]
    pub policy: DeliveryPolicy,
}

fn timeout_ms() -> u64 {
    5_000
}

fn retry_after_secs() -> u64 {
    5
}

/// What a sync interface answers when its destination cannot be reached,
/// answers 408, 425, 429 or 5xx, or does not answer within `timeout_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnUnavailable {
    /// 503 with `Retry-After`; nothing is stored, nothing acknowledged.
    #[default]
    FailFast,
    /// The command is stored and answered 202 with `Location:
    /// /v1/commands/{id}`; the hub delivers it later, with retries.
    Queue,
}

impl SyncConfig {
    /// The first field that makes no sense on its own, as (field, reason);
    /// fields are named as in the interface file (`sync.timeout_ms`).
    pub fn problem(&self) -> Option<(String, String)> {
        if self.timeout_ms == 0 {
            return Some(("sync.timeout_ms".into(), "must be more than 0".into()));
        }
        if self.retry_after_secs == 0 {
            return Some(("sync.retry_after_secs".into(), "must be at least 1".into()));
        }
        if let Some(site) = self.sites.iter().find(|s| s.trim().is_empty()) {
            return Some(("sync.sites".into(), format!("{site:?} is not a plant code")));
        }
        self.policy
            .problem()
            .map(|(field, reason)| (format!("sync.{field}"), reason))
    }

    /// Whether commands (or queries) for `site` go to the destination.
    pub fn covers(&self, site: &str) -> bool {
        self.sites.is_empty() || self.sites.iter().any(|s| s == site)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_table_reads_with_its_defaults() {
        let sync: SyncConfig = toml::from_str(
            "destination = \"mes-plant1010\"\n[connector]\nurl = \"http://127.0.0.1:9/orders/{id}\"",
        )
        .unwrap();
        assert_eq!(sync.timeout_ms, 5_000);
        assert_eq!(sync.on_unavailable, OnUnavailable::FailFast);
        assert_eq!(sync.retry_after_secs, 5);
        assert_eq!(sync.cache_ttl_ms, 0);
        assert_eq!(sync.connector.method, "POST");
        assert_eq!(sync.policy, DeliveryPolicy::default());
        assert!(sync.covers("2020"));
        assert_eq!(sync.problem(), None);
    }

    #[test]
    fn mistakes_are_named_by_field() {
        let base = "destination = \"d\"\n[connector]\nurl = \"http://h/x\"\n";
        let unknown = toml::from_str::<SyncConfig>(&format!("timeout = 1\n{base}")).unwrap_err();
        assert!(unknown.to_string().contains("timeout"), "{unknown}");
        let queue: SyncConfig = toml::from_str(&format!(
            "on_unavailable = \"queue\"\nsites = [\"1010\"]\n{base}"
        ))
        .unwrap();
        assert_eq!(queue.on_unavailable, OnUnavailable::Queue);
        assert!(queue.covers("1010") && !queue.covers("2020"));
        let zero: SyncConfig = toml::from_str(&format!("timeout_ms = 0\n{base}")).unwrap();
        assert_eq!(zero.problem().unwrap().0, "sync.timeout_ms");
        let policy: SyncConfig =
            toml::from_str(&format!("{base}[policy]\nmax_attempts = 0\n")).unwrap();
        assert_eq!(policy.problem().unwrap().0, "sync.policy.max_attempts");
    }
}
