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
use takt_engine::delivery::{Action, DeliveryEngine, DeliveryError};
use takt_model::ErrorCode;

use crate::admin::{operator, page, store_unavailable};
use crate::problem::Problem;

/// `/v1/deliveries…` routes.
pub(crate) fn routes() -> Router<crate::state::AppState> {
    Router::new()
        .route("/v1/deliveries", get(list))
        .route("/v1/deliveries/status", get(status))
        .route("/v1/deliveries/{subscription}/{seq}", get(show))
        .route("/v1/deliveries/{subscription}/redrive", post(redrive))
        .route("/v1/deliveries/{subscription}/discard", post(discard))
}

pub(crate) fn engine(gateway: &Gateway) -> Result<&Arc<DeliveryEngine>, Problem> {
    gateway
        .delivery()
        .ok_or_else(|| Problem::new(ErrorCode::Unavailable, "the delivery engine is not running"))
}

pub(crate) fn engine_problem(e: &DeliveryError) -> Response {
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
    let q = match crate::admin::operator_query(&gateway, &headers, query, LIST_HELP) {
        Ok(q) => q,
        Err(problem) => return problem.into_response(),
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
        Ok(mut records) => {
            let next = page_end(&mut records, limit, q.subscription.is_some());
            let items: Vec<Value> = records
                .iter()
                .filter(|r| {
                    subscriptions
                        .as_ref()
                        .is_none_or(|s| s.contains(&r.subscription))
                })
                .map(view)
                .collect();
            page(items, next)
        }
        Err(_) => store_unavailable(),
    }
}

/// Where a page of records ends, as the `after` of the next page; none
/// when the store had no more.
///
/// One event has a record per subscription, all under its seq, and the next
/// page asks for seqs after this one: a full page that ends among the
/// records of one seq drops them, so the next page returns them all. (A page
/// holding nothing but one seq cannot be split, and ends at it.) Within
/// `one_subscription`, seqs are unique and every page ends where it ends.
fn page_end(
    records: &mut Vec<DeliveryRecord>,
    limit: usize,
    one_subscription: bool,
) -> Option<i64> {
    let last = records.last().map(|r| r.seq)?;
    if records.len() < limit {
        return None;
    }
    if one_subscription {
        return Some(last);
    }
    match records.iter().position(|r| r.seq == last) {
        Some(cut) if cut > 0 => {
            records.truncate(cut);
            records.last().map(|r| r.seq)
        }
        _ => Some(last),
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
    let (record, attempts) = match tokio::join!(
        store.delivery_record(&subscription, seq),
        store.delivery_attempts(&subscription, seq)
    ) {
        (Ok(record), Ok(attempts)) => (record, attempts),
        _ => return store_unavailable(),
    };
    let Some(record) = record else {
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
struct ActionBody {
    seqs: Vec<i64>,
    #[serde(default)]
    reason: Option<String>,
}

type Body = Result<Json<ActionBody>, axum::extract::rejection::JsonRejection>;

/// `POST …/redrive {"seqs": […]}`.
async fn redrive(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(subscription): Path<String>,
    body: Body,
) -> Response {
    act(&gateway, &headers, &subscription, body, false).await
}

/// `POST …/discard {"seqs": […], "reason": "…"}`.
async fn discard(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(subscription): Path<String>,
    body: Body,
) -> Response {
    act(&gateway, &headers, &subscription, body, true).await
}

async fn act(
    gateway: &Gateway,
    headers: &HeaderMap,
    subscription: &str,
    body: Body,
    discard: bool,
) -> Response {
    let principal = match operator(gateway, headers) {
        Ok(p) => p,
        Err(problem) => return problem.into_response(),
    };
    let (engine, (action, seqs)) = match (engine(gateway), action(body, discard)) {
        (Ok(engine), Ok(action)) => (engine, action),
        (Err(problem), _) | (_, Err(problem)) => return problem.into_response(),
    };
    match engine
        .act(subscription, action, seqs, &principal.name)
        .await
    {
        Ok(results) => Json(json!({"results": results})).into_response(),
        Err(e) => engine_problem(&e),
    }
}

/// The action a body asks for, or the problem naming what is wrong with it.
fn action(body: Body, discard: bool) -> Result<(Action, Vec<i64>), Problem> {
    let Json(body) = body.map_err(|e| {
        let shape = if discard {
            r#"{"seqs": [<seq>, …], "reason": "…"}"#
        } else {
            r#"{"seqs": [<seq>, …]}"#
        };
        Problem::new(
            ErrorCode::BadRequest,
            format!("body: {}; expected {shape}", e.body_text()),
        )
    })?;
    if body.seqs.is_empty() || body.seqs.len() > 1000 {
        return Err(Problem::new(
            ErrorCode::BadRequest,
            "seqs: name 1 to 1000 messages",
        ));
    }
    if !discard {
        return Ok((Action::Redrive, body.seqs));
    }
    match body.reason.filter(|r| !r.trim().is_empty()) {
        Some(reason) => Ok((Action::Discard(reason), body.seqs)),
        None => Err(Problem::new(
            ErrorCode::BadRequest,
            "reason: say why the messages are discarded",
        )),
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
    match engine.status().await {
        Ok(all) => Json(json!({"subscriptions": all})).into_response(),
        Err(e) => engine_problem(&e),
    }
}

#[cfg(test)]
mod tests {
    use takt_core::store::{DeliveryRecord, DeliveryState};

    use super::page_end;

    fn record(subscription: &str, seq: i64) -> DeliveryRecord {
        DeliveryRecord {
            subscription: subscription.into(),
            seq,
            event_id: format!("e{seq}"),
            contract: "mfg.material.consumed.v1".into(),
            site: "1010".into(),
            key: "k".into(),
            state: DeliveryState::DeadLettered,
            holds_key: false,
            attempts: 1,
            attempt_base: 0,
            next_attempt_at_ms: 0,
            reason: String::new(),
            last_status: None,
            last_response: String::new(),
            accepted_at_ms: 0,
            updated_at_ms: 0,
            replay: false,
        }
    }

    fn page(records: &[(&str, i64)]) -> Vec<DeliveryRecord> {
        records.iter().map(|(s, seq)| record(s, *seq)).collect()
    }

    fn keys(records: &[DeliveryRecord]) -> Vec<(String, i64)> {
        records
            .iter()
            .map(|r| (r.subscription.clone(), r.seq))
            .collect()
    }

    #[test]
    fn a_full_page_never_ends_among_the_records_of_one_event() {
        let mut records = page(&[("a", 1), ("b", 1), ("a", 2)]);
        assert_eq!(page_end(&mut records, 3, false), Some(1));
        assert_eq!(keys(&records), keys(&page(&[("a", 1), ("b", 1)])));

        let mut records = page(&[("a", 1), ("a", 2), ("b", 2)]);
        assert_eq!(
            page_end(&mut records, 4, false),
            None,
            "the store had no more"
        );
        assert_eq!(records.len(), 3);

        let mut records = page(&[("a", 1), ("a", 2)]);
        assert_eq!(page_end(&mut records, 2, false), Some(1));
        assert_eq!(keys(&records), keys(&page(&[("a", 1)])));
        let mut records = page(&[("a", 1), ("a", 2)]);
        assert_eq!(page_end(&mut records, 2, true), Some(2), "seqs are unique");
        assert_eq!(records.len(), 2);

        let mut records = page(&[("a", 5), ("b", 5)]);
        assert_eq!(
            page_end(&mut records, 2, false),
            Some(5),
            "one seq: cannot split"
        );
        assert_eq!(records.len(), 2);

        assert_eq!(page_end(&mut Vec::new(), 10, false), None);
    }
}
