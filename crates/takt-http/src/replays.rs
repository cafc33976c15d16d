//! The admin API of replays: start one on a subscription, follow its
//! progress. Operators only; every replayed message is audited by the
//! engine.
//!
//! ```text
//! POST /v1/deliveries/{subscription}/replay  {"from": "2026-11-20T00:00:00Z", "to": "…",
//!                                             "key": "order:100012345", "types": ["…"]}
//! GET  /v1/replays           every kept job
//! GET  /v1/replays/{id}      one job's progress
//! ```

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use takt_engine::Gateway;
use takt_engine::delivery::{DeliveryError, ReplaySelection};
use takt_model::ErrorCode;

use crate::admin::operator;
use crate::deliveries::{engine, engine_problem};
use crate::problem::Problem;

/// `/v1/…replay…` routes.
pub(crate) fn routes() -> Router<crate::state::AppState> {
    Router::new()
        .route("/v1/deliveries/{subscription}/replay", post(start))
        .route("/v1/replays", get(list))
        .route("/v1/replays/{id}", get(show))
}

/// The body of `POST …/replay`: every field narrows the selection.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayBody {
    /// Accepted at or after (RFC 3339).
    #[serde(default)]
    from: Option<String>,
    /// Accepted before (RFC 3339).
    #[serde(default)]
    to: Option<String>,
    /// A business key, `<kind>:<value>`.
    #[serde(default)]
    key: Option<String>,
    /// Contract types.
    #[serde(default)]
    types: Vec<String>,
}

type Body = Result<Json<ReplayBody>, axum::extract::rejection::JsonRejection>;

const SHAPE: &str = r#"{"from": "<RFC 3339>", "to": "<RFC 3339>", "key": "<kind>:<value>", "types": ["<contract type>"]}, every field optional"#;

async fn start(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(subscription): Path<String>,
    body: Body,
) -> Response {
    let principal = match operator(&gateway, &headers) {
        Ok(p) => p,
        Err(problem) => return problem.into_response(),
    };
    let (engine, selection) = match (engine(&gateway), selection(body)) {
        (Ok(engine), Ok(selection)) => (engine, selection),
        (Err(problem), _) | (_, Err(problem)) => return problem.into_response(),
    };
    match engine
        .replay(&subscription, selection, &principal.name)
        .await
    {
        Ok(status) => {
            let mut response = (StatusCode::ACCEPTED, Json(json!(status))).into_response();
            if let Ok(location) = HeaderValue::from_str(&format!("/v1/replays/{}", status.id)) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Err(e @ DeliveryError::BadReplay { .. }) => {
            Problem::new(ErrorCode::BadRequest, e.to_string()).into_response()
        }
        Err(e) => engine_problem(&e),
    }
}

/// The selection a body asks for, or the problem naming its wrong field.
fn selection(body: Body) -> Result<ReplaySelection, Problem> {
    let bad = |reason: String| Problem::new(ErrorCode::BadRequest, reason);
    let Json(body) = body.map_err(|e| bad(format!("body: {}; expected {SHAPE}", e.body_text())))?;
    let instant = |field: &str, text: Option<String>| -> Result<Option<i64>, Problem> {
        text.map(|t| {
            chrono::DateTime::parse_from_rfc3339(&t)
                .map(|at| at.timestamp_millis())
                .map_err(|e| bad(format!("field `{field}`: {t:?} is not an RFC 3339 time ({e}), e.g. 2026-11-20T06:00:00Z")))
        })
        .transpose()
    };
    let business_key = body
        .key
        .as_deref()
        .map(crate::admin::business_key)
        .transpose()
        .map_err(|problem| bad(format!("field `key`: {problem}")))?;
    Ok(ReplaySelection {
        from_ms: instant("from", body.from)?,
        to_ms: instant("to", body.to)?,
        business_key,
        types: body.types,
    })
}

async fn list(State(gateway): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    if let Err(problem) = operator(&gateway, &headers) {
        return problem.into_response();
    }
    match engine(&gateway) {
        Ok(engine) => Json(json!({"items": engine.replays()})).into_response(),
        Err(problem) => problem.into_response(),
    }
}

async fn show(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(problem) = operator(&gateway, &headers) {
        return problem.into_response();
    }
    let engine = match engine(&gateway) {
        Ok(engine) => engine,
        Err(problem) => return problem.into_response(),
    };
    match engine.replay_status(&id) {
        Some(status) => Json(json!(status)).into_response(),
        None => Problem::new(
            ErrorCode::NotFound,
            format!(
                "no replay {id}: the hub keeps the last 100 jobs, and forgets them at a restart"
            ),
        )
        .into_response(),
    }
}
