//! The admin API: health, readiness, reads, audit, deliveries. Operators only (except
//! health and readiness, which load balancers call without credentials).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use takt_core::audit::{VerifyError, verify_store};
use takt_core::store::{EventQuery, StoredEvent};
use takt_engine::{Gateway, Principal, Rejection};
use takt_model::ErrorCode;
use takt_model::config::Role;

use crate::auth::api_key;
use crate::problem::Problem;

/// The admin routes; `urls` go into the OpenAPI document's `servers`.
pub fn admin_router(state: impl Into<crate::AppState>, urls: crate::openapi::ServerUrls) -> Router {
    let urls = Arc::new(urls);
    Router::new()
        .route(
            "/openapi.json",
            // Built per request: the active catalog version decides the paths.
            get(move |State(gateway): State<Arc<Gateway>>| async move {
                Json(crate::openapi::document(
                    gateway.registry(),
                    gateway.deployment(),
                    &urls,
                    env!("CARGO_PKG_VERSION"),
                ))
            }),
        )
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/v1/messages", get(list_messages))
        .route("/v1/messages/{id}", get(get_message))
        .route("/v1/audit/verify", get(verify_audit))
        .route("/metrics", get(metrics))
        .merge(crate::deliveries::routes())
        .merge(crate::replays::routes())
        .merge(crate::catalog::routes())
        .merge(crate::governance::routes())
        .fallback(crate::problem::not_found)
        .method_not_allowed_fallback(crate::problem::method_not_allowed)
        .with_state(state.into())
}

/// Prometheus text format. Like health and readiness, scrapers call it
/// without credentials: keep the admin listener off untrusted networks.
async fn metrics() -> Response {
    match crate::metrics::install() {
        Some(handle) => {
            let mut response = handle.render().into_response();
            let content_type =
                axum::http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
            response
                .headers_mut()
                .insert(axum::http::header::CONTENT_TYPE, content_type);
            response
        }
        None => Problem::new(
            ErrorCode::Unavailable,
            "another metrics recorder is installed in this process",
        )
        .into_response(),
    }
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Ready when the store answers and can still take commits.
async fn ready(State(gateway): State<Arc<Gateway>>) -> Response {
    if !gateway.store().accepts_commits() {
        return Problem::new(ErrorCode::Unavailable, "the store's writer has stopped")
            .retry_after(5)
            .into_response();
    }
    match gateway.store().audit_head().await {
        Ok(_) => Json(json!({"status": "ready"})).into_response(),
        Err(_) => Problem::new(ErrorCode::Unavailable, "the store does not answer")
            .retry_after(5)
            .into_response(),
    }
}

/// One page of a list, and the `after` that reads the next (none on the last page).
pub(crate) fn page(items: Vec<Value>, next_after: Option<i64>) -> Response {
    Json(json!({"items": items, "next_after": next_after})).into_response()
}

/// 503 + Retry-After: the store did not answer a read.
pub(crate) fn store_unavailable() -> Response {
    Problem::new(ErrorCode::Unavailable, "the store does not answer")
        .retry_after(1)
        .into_response()
}

/// A business key written `<kind>:<value>` (both non-empty), e.g.
/// `order:100012345`, or what is wrong with it.
pub(crate) fn business_key(text: &str) -> Result<(String, String), &'static str> {
    match text.split_once(':') {
        Some((kind, value)) if !kind.is_empty() && !value.is_empty() => {
            Ok((kind.to_owned(), value.to_owned()))
        }
        _ => Err("must be <kind>:<value>, e.g. order:100012345"),
    }
}

/// An operator's request with query parameters: the parsed query, or the
/// problem to answer (no operator; a malformed query, described by `shape`).
pub(crate) fn operator_query<T>(
    gateway: &Gateway,
    headers: &HeaderMap,
    query: Result<Query<T>, axum::extract::rejection::QueryRejection>,
    shape: &str,
) -> Result<T, Problem> {
    operator(gateway, headers)?;
    query
        .map(|Query(q)| q)
        .map_err(|_| Problem::new(ErrorCode::BadRequest, shape.to_owned()))
}

/// An operator or admin, or the problem to answer.
pub(crate) fn operator(gateway: &Gateway, headers: &HeaderMap) -> Result<Arc<Principal>, Problem> {
    let principal = gateway
        .authenticate(api_key(headers))
        .map_err(|r| Problem::from(&r))?;
    if !principal.has_any_role(&[Role::Admin, Role::Operator]) {
        let rejection = Rejection::Forbidden {
            detail: format!(
                "{} has no admin API role (operator or admin)",
                principal.name
            ),
            reasons: Vec::new(),
        };
        return Err(Problem::from(&rejection));
    }
    Ok(principal)
}

fn view(stored: &StoredEvent) -> Value {
    let e = &stored.event;
    let keys: serde_json::Map<String, Value> = e
        .business_keys
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    json!({
        "seq": stored.seq,
        "id": e.id,
        "source": e.source,
        "type": e.contract,
        "dataschema": e.dataschema,
        "site": e.site,
        "subject": e.subject,
        "partitionkey": e.partition_key,
        "interface": e.interface,
        "principal": e.principal,
        "accepted_at_ms": e.accepted_at_ms,
        "business_keys": keys,
        "message": serde_json::from_slice::<Value>(&e.body).unwrap_or(Value::Null),
    })
}

async fn get_message(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(problem) = operator(&gateway, &headers) {
        return problem.into_response();
    }
    match gateway.store().event(&id).await {
        Ok(Some(stored)) => Json(view(&stored)).into_response(),
        Ok(None) => {
            Problem::new(ErrorCode::NotFound, format!("no message with id {id}")).into_response()
        }
        Err(_) => store_unavailable(),
    }
}

/// `?interface=…&key=order:100012345&after=<seq>&limit=<n>`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    interface: Option<String>,
    key: Option<String>,
    #[serde(default)]
    after: i64,
    limit: Option<usize>,
}

async fn list_messages(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = match operator_query(
        &gateway,
        &headers,
        query,
        "query parameters: interface, key=<kind>:<value>, after=<seq>, limit=<1..1000>",
    ) {
        Ok(query) => query,
        Err(problem) => return problem.into_response(),
    };
    let business_key = match query.key.as_deref().map(business_key).transpose() {
        Ok(key) => key,
        Err(problem) => {
            return Problem::new(
                ErrorCode::BadRequest,
                format!("query parameter `key`: {problem}"),
            )
            .into_response();
        }
    };
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let request = EventQuery {
        interface: query.interface,
        business_key,
        after_seq: query.after,
        limit,
    };
    match gateway.store().events(request).await {
        Ok(events) => {
            let next = events
                .last()
                .map(|e| e.seq)
                .filter(|_| events.len() == limit);
            page(events.iter().map(view).collect(), next)
        }
        Err(_) => store_unavailable(),
    }
}

async fn verify_audit(State(gateway): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    if let Err(problem) = operator(&gateway, &headers) {
        return problem.into_response();
    }
    match verify_store(gateway.store().as_ref()).await {
        Ok(entries) => Json(json!({"intact": true, "entries": entries})).into_response(),
        Err(VerifyError::Tampered(tamper)) => (
            StatusCode::OK,
            Json(json!({"intact": false, "problem": tamper, "detail": tamper.to_string()})),
        )
            .into_response(),
        Err(VerifyError::Store(_)) => store_unavailable(),
    }
}
