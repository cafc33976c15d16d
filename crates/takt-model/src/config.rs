//! Typed configuration of a deployment directory.
//!
//! ```text
//! takt.toml               server: listeners, storage, limits   (ServerConfig)
//! systems/<name>.toml     one system: owner, sites, credentials (SystemConfig)
//! operators/<name>.toml   one person or tool on the admin API   (OperatorConfig)
//! interfaces/<name>.toml  one governed flow                     (InterfaceConfig)
//! lifecycle.toml          contract versions' lifecycle          (catalog::LifecycleFile)
//! policies/*.rego         extra authorization rules
//! contracts/              the deployment's own contracts and units.toml
//! ```
//!
//! Every struct rejects unknown fields, so a typo is an error with the file
//! and field named, never a silently ignored setting.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// `takt.toml`. Every field has a default, so the file may be absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Listeners and request limits.
    pub server: ListenConfig,
    /// Where state lives.
    pub storage: StorageConfig,
    /// How long idempotency keys are remembered.
    pub idempotency: IdempotencyConfig,
    /// Authentication beyond API keys.
    pub auth: AuthConfig,
    /// Bounds on what the hub keeps.
    pub quota: QuotaConfig,
}

/// `[quota]`: past `store_bytes` on disk, producers get 507 with
/// `Retry-After` until deliveries and retention free space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaConfig {
    /// Most bytes the store may take on disk; 0: no quota (the disk is the bound).
    pub store_bytes: u64,
}

/// `[auth]`: API keys are always on; JWT bearer tokens when configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// JWT bearer tokens from an identity provider.
    pub jwt: Option<JwtConfig>,
}

/// `[auth.jwt]`: which tokens are accepted and who they name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// Required `iss`.
    pub issuer: String,
    /// Required in `aud`.
    pub audience: String,
    /// JWKS file with the provider's public keys, relative to the deployment directory.
    pub jwks_file: PathBuf,
    /// Accepted signature algorithms: asymmetric only (RS*, PS*, ES*, EdDSA).
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
    /// The claim holding the principal's configured name.
    #[serde(default = "default_principal_claim")]
    pub principal_claim: String,
}

fn default_algorithms() -> Vec<String> {
    vec!["RS256".into(), "ES256".into()]
}

fn default_leeway() -> u64 {
    30
}

fn default_principal_claim() -> String {
    "sub".into()
}

/// The two listeners and request limits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenConfig {
    /// Data plane: where systems post messages.
    pub data_listen: SocketAddr,
    /// Admin API: health, metrics, reads, audit. Kept apart from the data plane.
    pub admin_listen: SocketAddr,
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Most events in one `application/cloudevents-batch+json` request.
    pub max_batch_events: usize,
    /// On shutdown, how long in-flight requests may take to finish.
    pub shutdown_grace_secs: u64,
}

impl Default for ListenConfig {
    fn default() -> Self {
        Self {
            data_listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
            max_body_bytes: 1024 * 1024,
            max_batch_events: 500,
            shutdown_grace_secs: 30,
        }
    }
}

/// Which store, and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum StorageConfig {
    /// The embedded default: one SQLite file.
    Sqlite {
        /// The database file, relative to the working directory.
        #[serde(default = "default_sqlite_path")]
        path: PathBuf,
        /// Commits that may wait for the writer before requests get 503.
        #[serde(default = "default_queue")]
        queue_capacity: usize,
    },
    /// PostgreSQL, for several hub instances.
    Postgres {
        /// libpq connection string, e.g. `host=db user=takt dbname=takt`.
        url: String,
        /// Schema holding Takt's tables.
        #[serde(default = "default_schema")]
        schema: String,
        /// Commits that may wait for the writer before requests get 503.
        #[serde(default = "default_queue")]
        queue_capacity: usize,
    },
}

fn default_sqlite_path() -> PathBuf {
    PathBuf::from("takt-data/takt.db")
}

fn default_queue() -> usize {
    8_192
}

fn default_schema() -> String {
    "takt".into()
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self::Sqlite {
            path: default_sqlite_path(),
            queue_capacity: default_queue(),
        }
    }
}

/// Idempotency record retention.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdempotencyConfig {
    /// How long a key's first answer is kept and replayed (default 24 h).
    pub retention_secs: u64,
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        Self {
            retention_secs: 24 * 3600,
        }
    }
}

/// A credential: how a principal proves who it is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum Credential {
    /// An API key sent as `Authorization: Bearer <key>` or `X-Api-Key`.
    /// Only its SHA-256 is configured; the key itself is never stored.
    ApiKey {
        /// Name of the key, for rotation and audit, e.g. `mes1010-2026-11`.
        id: String,
        /// Lowercase hex SHA-256 of the key (`takt key hash` prints it).
        sha256: String,
    },
}

/// `systems/<name>.toml`: an application that talks to the hub.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemConfig {
    /// Unique name, e.g. `mes-plant1010`.
    pub name: String,
    /// What it is.
    pub description: String,
    /// The team that owns it.
    pub owner: String,
    /// Who to call.
    #[serde(default)]
    pub contact: String,
    /// Plants it may act for (`*` for all, e.g. a central ERP).
    pub sites: Vec<String>,
    /// How it authenticates.
    #[serde(default)]
    pub credentials: Vec<Credential>,
}

/// A role on the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including configuration.
    Admin,
    /// Read messages, health, metrics, audit.
    Operator,
    /// Approves catalog changes.
    Approver,
}

/// `operators/<name>.toml`: a person or tool on the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorConfig {
    /// Unique name.
    pub name: String,
    /// Admin API roles.
    pub roles: Vec<Role>,
    /// How it authenticates.
    pub credentials: Vec<Credential>,
}

/// The interaction pattern of an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InterfacePattern {
    /// Producers publish facts.
    Event,
    /// Producers send requests to an owner.
    Command,
    /// Synchronous questions.
    Query,
}

/// A token bucket: `per_second` refill, `burst` capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained requests per second, per principal.
    pub per_second: u32,
    /// Requests that may arrive at once.
    pub burst: u32,
}

/// `interfaces/<name>.toml`: one governed flow through the hub.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterfaceConfig {
    /// Unique name, used in URLs: `/v1/interfaces/{name}/messages`.
    pub name: String,
    /// The business capability it serves.
    pub description: String,
    /// The owning team.
    pub owner: String,
    /// Event, command or query.
    pub pattern: InterfacePattern,
    /// Systems that may send through it.
    pub producers: Vec<String>,
    /// Systems that receive from it (delivery comes with subscriptions).
    #[serde(default)]
    pub consumers: Vec<String>,
    /// Contract types it carries.
    pub contracts: Vec<String>,
    /// Token bucket per producer; none means unlimited.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// How producers may send their own format instead of CloudEvents.
    #[serde(default)]
    pub native: Option<NativeConfig>,
    /// The system that answers this interface's commands (or queries)
    /// while the sender waits; none: commands are recorded only.
    #[serde(default)]
    pub sync: Option<crate::delivery::SyncConfig>,
    /// The business capability it serves, in a few words, e.g.
    /// `production execution`.
    #[serde(default)]
    pub capability: Option<String>,
    /// How critical it is, 1 (the plant stops without it) to 4 (nobody
    /// notices for a day); none: not classified yet.
    #[serde(default)]
    pub tier: Option<Tier>,
    /// How fast its messages must arrive.
    #[serde(default)]
    pub latency: Option<LatencyClass>,
    /// How sensitive the data it carries is.
    #[serde(default)]
    pub sensitivity: Option<Sensitivity>,
    /// The system whose data is authoritative for what it carries.
    #[serde(default)]
    pub system_of_record: Option<String>,
    /// What people do while it is down (text or a runbook URL); required
    /// for tier 1 by `takt check`.
    #[serde(default)]
    pub fallback_procedure: Option<String>,
    /// Interfaces it needs to work: impact analysis follows these.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Where it stands in its lifecycle (default: active).
    #[serde(default)]
    pub state: crate::catalog::Lifecycle,
    /// From this day it is deprecated.
    #[serde(default)]
    pub deprecated_on: Option<crate::catalog::CatalogDate>,
    /// From this day it is retired.
    #[serde(default)]
    pub sunset_on: Option<crate::catalog::CatalogDate>,
    /// Schema versions its producers send, by contract type (e.g.
    /// `"mfg.material.consumed.v1" = ["1.1"]`); a contract not listed: every version.
    #[serde(default)]
    pub contract_versions: std::collections::BTreeMap<String, Vec<String>>,
}

/// How critical an interface is: 1 (highest) to 4.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(try_from = "i64", into = "u8")]
pub struct Tier(u8);

impl Tier {
    /// The tier's number, 1 to 4.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Tier {
    type Error = String;

    fn try_from(value: i64) -> Result<Self, String> {
        match u8::try_from(value) {
            Ok(tier @ 1..=4) => Ok(Self(tier)),
            _ => Err(format!(
                "tier {value} is not 1 (critical: the plant stops), 2, 3 or 4 (low)"
            )),
        }
    }
}

impl From<Tier> for u8 {
    fn from(tier: Tier) -> u8 {
        tier.0
    }
}

/// How fast an interface's messages must arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyClass {
    /// Someone waits for the answer: under a second or two (sync commands, queries).
    Interactive,
    /// Seconds: shop-floor facts the next step acts on.
    NearRealTime,
    /// Minutes to hours: reports, planning data, reconciliations.
    Batch,
}

impl LatencyClass {
    /// The name used in files, e.g. `near_real_time`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Interactive => "interactive",
            Self::NearRealTime => "near_real_time",
            Self::Batch => "batch",
        }
    }
}

/// How sensitive the data of an interface is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    /// May be published.
    Public,
    /// Inside the company.
    Internal,
    /// Need to know: prices, quality data, customers.
    Confidential,
    /// Regulated or personal data.
    Restricted,
}

impl Sensitivity {
    /// The name used in files, e.g. `confidential`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
            Self::Confidential => "confidential",
            Self::Restricted => "restricted",
        }
    }
}

/// `[native]` of an interface: `POST /v1/interfaces/{name}/messages` takes the
/// producer's own JSON, checks it, and maps it to a canonical contract.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeConfig {
    /// The canonical contract the mapping produces (one of the interface's contracts).
    pub contract: String,
    /// The jq program, relative to the deployment directory. It outputs
    /// `{data, subject, key?, time?, correlationid?, source?}`.
    pub mapping: PathBuf,
    /// A JSON Schema for the native payload, relative to the deployment directory.
    #[serde(default)]
    pub schema: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Lifecycle;

    const MINIMAL: &str = r#"
        name = "wms-inventory"
        description = "Stock movements"
        owner = "team-logistics"
        pattern = "event"
        producers = ["wms-central"]
        contracts = ["mfg.inventory.moved.v1"]
    "#;

    #[test]
    fn governance_fields_are_optional_and_read_when_given() {
        let minimal: InterfaceConfig = toml::from_str(MINIMAL).unwrap();
        assert_eq!(minimal.tier, None);
        assert_eq!(minimal.state, Lifecycle::Active);
        assert!(minimal.depends_on.is_empty() && minimal.contract_versions.is_empty());
        let full: InterfaceConfig = toml::from_str(&format!(
            r#"{MINIMAL}
            capability = "inventory management"
            tier = 2
            latency = "near_real_time"
            sensitivity = "internal"
            system_of_record = "wms-central"
            fallback_procedure = "post movements in the ERP by hand"
            depends_on = ["qms-quality"]
            state = "deprecated"
            deprecated_on = 2026-12-01
            sunset_on = "2027-06-30"
            contract_versions = {{ "mfg.inventory.moved.v1" = ["1.0"] }}
            "#
        ))
        .unwrap();
        assert_eq!(full.tier.map(Tier::get), Some(2));
        assert_eq!(full.latency, Some(LatencyClass::NearRealTime));
        assert_eq!(full.sensitivity, Some(Sensitivity::Internal));
        assert_eq!(full.state, Lifecycle::Deprecated);
        assert_eq!(full.sunset_on.unwrap().to_string(), "2027-06-30");
        assert_eq!(full.contract_versions["mfg.inventory.moved.v1"], ["1.0"]);
    }

    #[test]
    fn a_tier_outside_one_to_four_is_refused_by_name() {
        for bad in ["tier = 0", "tier = 5", "tier = -1"] {
            let error = toml::from_str::<InterfaceConfig>(&format!("{MINIMAL}\n{bad}"))
                .unwrap_err()
                .to_string();
            assert!(error.contains("is not 1 (critical"), "{bad}: {error}");
        }
        let typo = toml::from_str::<InterfaceConfig>(&format!("{MINIMAL}\nlatency = \"fast\""));
        assert!(typo.unwrap_err().to_string().contains("fast"));
    }
}
