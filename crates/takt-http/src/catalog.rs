//! The catalog's read side on the admin API: deprecation readiness, from
//! real traffic. Operators only.
//!
//! ```text
//! GET /v1/catalog/readiness?contract=mfg.material.consumed.v1&version=1.0&days=30
//! ```
//!
//! answers who still sent the contract (version) in the last `days` days,
//! per principal and interface, with counts and the last time, and which
//! subscriptions still deliver it, so an owner knows whom to call before
//! retiring it.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use takt_core::lifecycle::{ContractLifecycles, Standing};
use takt_engine::Gateway;
use takt_model::{ErrorCode, SchemaVersion};

use crate::admin::{operator_query, store_unavailable};
use crate::problem::Problem;

/// Most days a readiness report looks back.
const MAX_DAYS: u32 = 3_660;

/// `/v1/catalog/…` routes.
pub(crate) fn routes() -> Router<crate::state::AppState> {
    Router::new().route("/v1/catalog/readiness", get(readiness))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadinessQuery {
    contract: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    days: Option<u32>,
}

async fn readiness(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    query: Result<Query<ReadinessQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = match operator_query(
        &gateway,
        &headers,
        query,
        "query parameters: contract=<type> (required), version=<major.minor>, days=<1..3660> (default 30)",
    ) {
        Ok(query) => query,
        Err(problem) => return problem.into_response(),
    };
    let Some(contract) = gateway.registry().contract(&query.contract) else {
        return Problem::new(
            ErrorCode::NotFound,
            format!("field `contract`: unknown contract {:?}", query.contract),
        )
        .into_response();
    };
    // A mistyped version must not read as "nobody uses it".
    if let Some(version) = &query.version
        && version
            .parse::<SchemaVersion>()
            .ok()
            .and_then(|v| contract.version(v))
            .is_none()
    {
        return Problem::new(
            ErrorCode::NotFound,
            format!(
                "field `version`: {} has no version {version:?}",
                query.contract
            ),
        )
        .into_response();
    }
    let days = query.days.unwrap_or(30).clamp(1, MAX_DAYS);
    let now = gateway.clock().now_ms();
    let since_ms = now - i64::from(days) * 86_400_000;
    let usage = match gateway
        .store()
        .contract_usage(&query.contract, since_ms)
        .await
    {
        Ok(usage) => usage,
        Err(_) => return store_unavailable(),
    };
    let suffix = query.version.as_ref().map(|v| format!(":{v}"));
    let producers: Vec<Value> = usage
        .iter()
        .filter(|u| {
            suffix
                .as_ref()
                .is_none_or(|s| u.dataschema.ends_with(s.as_str()))
        })
        .map(|u| {
            json!({
                "principal": u.principal,
                "interface": u.interface,
                "version": u.dataschema.rsplit(':').next(),
                "count": u.count,
                "last_seen_ms": u.last_seen_ms,
            })
        })
        .collect();
    let body = json!({
        "contract": query.contract,
        "version": query.version,
        "days": days,
        "since_ms": since_ms,
        "standing": standing(&gateway, &query.contract, query.version.as_deref(), now),
        "producers": producers,
        "consumers": consumers(&gateway, &query.contract, query.version.as_deref()),
    });
    Json(body).into_response()
}

/// The subscriptions that still deliver the contract (version).
fn consumers(gateway: &Gateway, contract: &str, version: Option<&str>) -> Vec<Value> {
    gateway
        .deployment()
        .subscriptions
        .values()
        .filter(|s| s.contracts.iter().any(|c| c == contract))
        .filter(|s| match version {
            Some(v) => s.versions.is_empty() || s.versions.iter().any(|x| x == v),
            None => true,
        })
        .map(|s| {
            json!({
                "subscription": s.name,
                "destination": s.destination,
                "owner": s.owner,
            })
        })
        .collect()
}

/// Where the contract (version) stands today in `lifecycle.toml`.
fn standing(gateway: &Gateway, contract: &str, version: Option<&str>, now_ms: i64) -> Value {
    let lifecycles = ContractLifecycles::new(&gateway.deployment().lifecycle);
    let today = chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .date_naive();
    let (name, entry) = match lifecycles.standing(contract, version.unwrap_or(""), today) {
        Standing::Current => return json!({"state": "current"}),
        Standing::Deprecated(e) => ("deprecated", e),
        Standing::NotYetActive(e) => ("not_yet_active", e),
        Standing::Sunset(e) => ("sunset", e),
    };
    json!({
        "state": name,
        "deprecated_on": entry.deprecated_on.map(|d| d.to_string()),
        "sunset_on": entry.sunset_on.map(|d| d.to_string()),
        "replacement": entry.replacement,
        "migration": entry.migration,
    })
}
