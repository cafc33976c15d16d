//! The admin API of the delivery engine: the dead-letter queue and the
//! in-doubt list (list, show, redrive, discard) and each subscription's
//! status. Operators only; every action is audited by the engine.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use takt_core::store::{DeliveryQuery, DeliveryRecord, DeliveryState};
use takt_engine::Gateway;
use takt_engine::delivery::{DeliveryEngine, DeliveryError};
use takt_model::ErrorCode;

use crate::admin::operator;
use crate::problem::Problem;

/// `/v1/deliveries…` routes.
pub(crate) fn routes() -> Router<Arc<Gateway>> {
    Router::new()
        .route("/v1/deliveries", get(list))
        .route("/v1/deliveries/status", get(status))
        .route("/v1/deliveries/{subscription}/{seq}", get(show))
        .route("/v1/deliveries/{subscription}/redrive", post(redrive))
        .route("/v1/deliveries/{subscription}/discard", post(discard))
}

fn engine(gateway: &Gateway) -> Result<&Arc<DeliveryEngine>, Problem> {
    gateway
        .delivery()
        .ok_or_else(|| Problem::new(ErrorCode::Unavailable, "the delivery engine is not running"))
}

fn unavailable() -> Response {
    Problem::new(ErrorCode::Unavailable, "the store does not answer")
        .retry_after(1)
        .into_response()
}

fn engine_problem(e: &DeliveryError) -> Response {
    match e {
        DeliveryError::UnknownSubscription(_) => {
            Problem::new(ErrorCode::NotFound, e.to_string()).into_response()
        }
        _ => Problem::new(ErrorCode::Unavailable, e.to_string())
            .retry_after(1)
            .into_response(),
    }
}

fn view(r: &DeliveryRecord) -> Value {
    json!({
        "subscription": r.subscription,
        "seq": r.seq,
        "id": r.event_id,
        "type": r.contract,
        "site": r.site,
        "key": r.key,
        "state": r.state.as_str(),
        "holds_key": r.holds_key,
        "attempts": r.attempts,
        "next_attempt_at_ms": r.next_attempt_at_ms,
        "reason": r.reason,
        "last_status": r.last_status,
        "last_response": r.last_response,
        "accepted_at_ms": r.accepted_at_ms,
        "updated_at_ms": r.updated_at_ms,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Comma-separated states; default `dead_lettered,in_doubt`.
    state: Option<String>,
    subscription: Option<String>,
    destination: Option<String>,
    #[serde(rename = "type")]
    contract: Option<String>,
    site: Option<String>,
    reason: Option<String>,
    older_than_secs: Option<i64>,
    #[serde(default)]
    after: i64,
    limit: Option<usize>,
}

const LIST_HELP: &str = "query parameters: state=<dead_lettered,in_doubt,pending,in_flight,delivered,discarded>, \
subscription, destination, type, site, reason=<text>, older_than_secs, after=<seq>, limit=<1..1000>";

async fn list(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(problem) = operator(&gateway, &headers) {
        return problem.into_response();
    }
    let Ok(Query(q)) = query else {
        return Problem::new(ErrorCode::BadRequest, LIST_HELP).into_response();
    };
    let mut states = Vec::new();
    for name in q
        .state
        .as_deref()
        .unwrap_or("dead_lettered,in_doubt")
        .split(',')
    {
        match DeliveryState::parse(name.trim()) {
            Some(state) => states.push(state),
            None => {
                return Problem::new(
                    ErrorCode::BadRequest,
                    format!("state: unknown delivery state {name:?}; {LIST_HELP}"),
                )
                .into_response();
            }
        }
    }
    // A destination stands for its subscriptions.
    let subscriptions: Option<Vec<String>> = q.destination.as_ref().map(|d| {
        gateway
            .deployment()
            .subscriptions
            .values()
            .filter(|s| &s.destination == d)
            .map(|s| s.name.clone())
            .collect()
    });
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let now = gateway.clock().now_ms();
    let request = DeliveryQuery {
        subscription: q.subscription.clone(),
        states,
        contract: q.contract,
        site: q.site,
        reason_contains: q.reason,
        updated_before_ms: q.older_than_secs.map(|s| now - s.saturating_mul(1000)),
        after_seq: q.after,
        limit,
        ..Default::default()
    };
    match gateway.store().deliveries(request).await {
        Ok(records) => {
            let next = (records.len() == limit)
                .then(|| records.last().map(|r| r.seq))
                .flatten();
            let items: Vec<Value> = records
                .iter()
                .filter(|r| {
                    subscriptions
                        .as_ref()
                        .is_none_or(|s| s.contains(&r.subscription))
                })
                .map(view)
                .collect();
            Json(json!({"items": items, "next_after": next})).into_response()
        }
        Err(_) => unavailable(),
    }
}

async fn show(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path((subscription, seq)): Path<(String, i64)>,
) -> Response {
    if let Err(problem) = operator(&gateway, &headers) {
        return problem.into_response();
    }
    let store = gateway.store();
    let query = DeliveryQuery {
        subscription: Some(subscription.clone()),
        after_seq: seq - 1,
        limit: 1,
        ..Default::default()
    };
    let (records, attempts) = match tokio::join!(
        store.deliveries(query),
        store.delivery_attempts(&subscription, seq)
    ) {
        (Ok(records), Ok(attempts)) => (records, attempts),
        _ => return unavailable(),
    };
    let Some(record) = records.into_iter().find(|r| r.seq == seq) else {
        return Problem::new(
            ErrorCode::NotFound,
            format!("subscription {subscription} has no record of message {seq}: it was delivered at the first attempt, or never matched"),
        )
        .into_response();
    };
    let history: Vec<Value> = attempts
        .iter()
        .map(|a| {
            json!({
                "attempt": a.attempt,
                "started_at_ms": a.started_at_ms,
                "finished_at_ms": a.finished_at_ms,
                "outcome": a.outcome,
                "status": a.status,
                "detail": a.detail,
            })
        })
        .collect();
    let mut body = view(&record);
    body["history"] = json!(history);
    Json(body).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Action {
    seqs: Vec<i64>,
    #[serde(default)]
    reason: Option<String>,
}

/// The action's body, or the problem naming what is wrong with it.
fn action(
    body: Result<Json<Action>, axum::extract::rejection::JsonRejection>,
    needs_reason: bool,
) -> Result<Action, Problem> {
    let Json(action) = body.map_err(|e| {
        Problem::new(
            ErrorCode::BadRequest,
            format!(
                "body: {}; expected {{\"seqs\": [<seq>, …]{}}}",
                e.body_text(),
                if needs_reason {
                    ", \"reason\": \"…\""
                } else {
                    ""
                }
            ),
        )
    })?;
    if action.seqs.is_empty() || action.seqs.len() > 1000 {
        return Err(Problem::new(
            ErrorCode::BadRequest,
            "seqs: name 1 to 1000 messages",
        ));
    }
    if needs_reason && action.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(Problem::new(
            ErrorCode::BadRequest,
            "reason: say why the messages are discarded",
        ));
    }
    Ok(action)
}

async fn redrive(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(subscription): Path<String>,
    body: Result<Json<Action>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let principal = match operator(&gateway, &headers) {
        Ok(p) => p,
        Err(problem) => return problem.into_response(),
    };
    let (engine, action) = match (engine(&gateway), action(body, false)) {
        (Ok(engine), Ok(action)) => (engine, action),
        (Err(problem), _) | (_, Err(problem)) => return problem.into_response(),
    };
    match engine
        .redrive(&subscription, action.seqs, &principal.name)
        .await
    {
        Ok(results) => Json(json!({"results": results})).into_response(),
        Err(e) => engine_problem(&e),
    }
}

async fn discard(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(subscription): Path<String>,
    body: Result<Json<Action>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let principal = match operator(&gateway, &headers) {
        Ok(p) => p,
        Err(problem) => return problem.into_response(),
    };
    let (engine, action) = match (engine(&gateway), action(body, true)) {
        (Ok(engine), Ok(action)) => (engine, action),
        (Err(problem), _) | (_, Err(problem)) => return problem.into_response(),
    };
    let reason = action.reason.unwrap_or_default();
    match engine
        .discard(&subscription, action.seqs, &reason, &principal.name)
        .await
    {
        Ok(results) => Json(json!({"results": results})).into_response(),
        Err(e) => engine_problem(&e),
    }
}

async fn status(State(gateway): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    if let Err(problem) = operator(&gateway, &headers) {
        return problem.into_response();
    }
    let engine = match engine(&gateway) {
        Ok(engine) => engine,
        Err(problem) => return problem.into_response(),
    };
    match engine.status(gateway.store().as_ref()).await {
        Ok(all) => Json(json!({"subscriptions": all})).into_response(),
        Err(e) => engine_problem(&e),
    }
}
