//! Catalog governance on the admin API: proposals, four-eyes approval,
//! live activation, rollback and history (see `takt_engine::catalog`).
//!
//! ```text
//! GET  /v1/catalog/versions                    history, newest first
//! GET  /v1/catalog/versions/{n}                one version with its files
//! GET  /v1/catalog/proposals[?state=proposed]  proposals, newest first
//! POST /v1/catalog/proposals                   {"title", "files" | "changes", "base_version"?}
//! GET  /v1/catalog/proposals/{id}              the proposal, its diff and conflicts
//! POST /v1/catalog/proposals/{id}/approve      {"comment"?}         approver, not the proposer
//! POST /v1/catalog/proposals/{id}/reject       {"reason"}           approver, or the proposer
//! POST /v1/catalog/proposals/{id}/activate                          admin or approver
//! POST /v1/catalog/rollback                    {"version", "reason"?} admin or approver
//! ```

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use takt_core::store::{CatalogChanges, CatalogFiles, ProposalState};
use takt_engine::catalog::{Hub, ProposalInput};
use takt_engine::{Gateway, Principal, Rejection};
use takt_model::ErrorCode;
use takt_model::config::Role;

use crate::admin::store_unavailable;
use crate::auth::api_key;
use crate::problem::Problem;
use crate::state::AppState;

/// `/v1/catalog/…` governance routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/catalog/versions", get(history))
        .route("/v1/catalog/versions/{version}", get(version))
        .route("/v1/catalog/proposals", get(proposals).post(propose))
        .route("/v1/catalog/proposals/{id}", get(proposal))
        .route("/v1/catalog/proposals/{id}/approve", post(approve))
        .route("/v1/catalog/proposals/{id}/reject", post(reject))
        .route("/v1/catalog/proposals/{id}/activate", post(activate))
        .route("/v1/catalog/rollback", post(rollback))
        // A proposal carries the whole catalog (up to its size limit) as JSON.
        .layer(axum::extract::DefaultBodyLimit::max(
            2 * takt_core::catalog::snapshot::MAX_BYTES,
        ))
}

/// The authenticated principal, and the hub when the catalog is governed here.
fn caller(state: &AppState, headers: &HeaderMap) -> Result<(Arc<Principal>, Arc<Hub>), Problem> {
    let gateway: Arc<Gateway> = axum::extract::FromRef::from_ref(state);
    let principal = gateway
        .authenticate(api_key(headers))
        .map_err(|r| Problem::from(&r))?;
    let hub = state.hub().cloned().ok_or_else(|| {
        Problem::new(
            ErrorCode::NotFound,
            "this hub runs a fixed catalog: it takes no catalog changes",
        )
    })?;
    Ok((principal, hub))
}

/// A caller who may read the catalog's history and proposals.
fn reader(state: &AppState, headers: &HeaderMap) -> Result<Arc<Hub>, Problem> {
    let (principal, hub) = caller(state, headers)?;
    if principal.has_any_role(&[Role::Admin, Role::Operator, Role::Approver]) {
        return Ok(hub);
    }
    Err(Problem::from(&Rejection::Forbidden {
        detail: format!(
            "{} has no admin API role (admin, operator or approver)",
            principal.name
        ),
        reasons: Vec::new(),
    }))
}

/// A JSON body, or the problem naming what is wrong with it.
fn body<T: DeserializeOwned>(
    body: Result<Json<T>, JsonRejection>,
    shape: &str,
) -> Result<T, Problem> {
    body.map(|Json(b)| b).map_err(|e| {
        Problem::new(
            ErrorCode::BadRequest,
            format!("body: {}; expected {shape}", e.body_text()),
        )
    })
}

fn answer<T: serde::Serialize>(result: Result<T, Rejection>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(rejection) => Problem::from(&rejection).into_response(),
    }
}

async fn history(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let hub = match reader(&state, &headers) {
        Ok(hub) => hub,
        Err(problem) => return problem.into_response(),
    };
    match hub.history().await {
        Ok(versions) => Json(json!({
            "active": versions.first().map(|v| v.version),
            "versions": versions,
        }))
        .into_response(),
        Err(_) => store_unavailable(),
    }
}

async fn version(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(version): Path<String>,
) -> Response {
    let hub = match reader(&state, &headers) {
        Ok(hub) => hub,
        Err(problem) => return problem.into_response(),
    };
    let Ok(number) = version.parse::<i64>() else {
        return Problem::new(
            ErrorCode::BadRequest,
            format!("path: catalog version {version:?} is not a number"),
        )
        .into_response();
    };
    answer(hub.stored_catalog_version(Some(number)).await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProposalsQuery {
    #[serde(default)]
    state: Option<String>,
}

async fn proposals(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ProposalsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let hub = match reader(&state, &headers) {
        Ok(hub) => hub,
        Err(problem) => return problem.into_response(),
    };
    let wanted = match query.map(|Query(q)| q.state) {
        Ok(None) => None,
        Ok(Some(name)) => match ProposalState::parse(&name) {
            Some(s) => Some(s),
            None => {
                return Problem::new(
                    ErrorCode::BadRequest,
                    format!(
                        "query parameter `state`: {name:?} is not one of proposed, approved, rejected, activated"
                    ),
                )
                .into_response();
            }
        },
        Err(_) => {
            return Problem::new(
                ErrorCode::BadRequest,
                "query parameters: state=<proposed|approved|rejected|activated>",
            )
            .into_response();
        }
    };
    match hub.proposals(wanted).await {
        Ok(list) => {
            let list: Vec<Value> = list
                .into_iter()
                .map(|p| {
                    let mut view = json!(p);
                    // The list names the files; the proposal itself has their content.
                    view["changes"] = json!(p.changes.keys().collect::<Vec<_>>());
                    view
                })
                .collect();
            Json(json!({"proposals": list})).into_response()
        }
        Err(_) => store_unavailable(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProposeBody {
    title: String,
    #[serde(default)]
    files: Option<CatalogFiles>,
    #[serde(default)]
    changes: Option<CatalogChanges>,
    #[serde(default)]
    base_version: Option<i64>,
}

async fn propose(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Result<Json<ProposeBody>, JsonRejection>,
) -> Response {
    let (principal, hub) = match caller(&state, &headers) {
        Ok(c) => c,
        Err(problem) => return problem.into_response(),
    };
    let request = match body(
        request,
        r#"{"title": "…", "files": {"<path>": "<content>", …}} or {"title": "…", "changes": {"<path>": "<content>" | null, …}}"#,
    ) {
        Ok(b) => b,
        Err(problem) => return problem.into_response(),
    };
    let input = ProposalInput {
        title: request.title,
        files: request.files,
        changes: request.changes,
        base_version: request.base_version,
    };
    match hub.propose(&principal, input).await {
        Ok(proposal) => {
            let location = format!("/v1/catalog/proposals/{}", proposal.id);
            let mut response = (StatusCode::CREATED, Json(json!(proposal))).into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        Err(rejection) => Problem::from(&rejection).into_response(),
    }
}

/// A proposal id from the path, or the problem.
fn proposal_id(raw: &str) -> Result<i64, Problem> {
    raw.parse().map_err(|_| {
        Problem::new(
            ErrorCode::BadRequest,
            format!("path: proposal id {raw:?} is not a number"),
        )
    })
}

async fn proposal(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (hub, id) = match reader(&state, &headers).and_then(|h| Ok((h, proposal_id(&id)?))) {
        Ok(found) => found,
        Err(problem) => return problem.into_response(),
    };
    answer(hub.proposal_diff(id).await)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

async fn approve(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    request: Result<Json<DecisionBody>, JsonRejection>,
) -> Response {
    decide(state, headers, &id, request, true).await
}

async fn reject(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    request: Result<Json<DecisionBody>, JsonRejection>,
) -> Response {
    decide(state, headers, &id, request, false).await
}

async fn decide(
    state: AppState,
    headers: HeaderMap,
    id: &str,
    request: Result<Json<DecisionBody>, JsonRejection>,
    approve: bool,
) -> Response {
    let ((principal, hub), id) =
        match caller(&state, &headers).and_then(|c| Ok((c, proposal_id(id)?))) {
            Ok(found) => found,
            Err(problem) => return problem.into_response(),
        };
    // An approval may come without a body.
    let request = match request {
        Err(JsonRejection::MissingJsonContentType(_)) if approve => DecisionBody::default(),
        other => match body(
            other,
            r#"{"comment": "…"} to approve, {"reason": "…"} to reject"#,
        ) {
            Ok(b) => b,
            Err(problem) => return problem.into_response(),
        },
    };
    if approve {
        answer(hub.approve(&principal, id, request.comment).await)
    } else {
        let reason = request.reason.or(request.comment).unwrap_or_default();
        answer(hub.reject(&principal, id, reason).await)
    }
}

async fn activate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let ((principal, hub), id) =
        match caller(&state, &headers).and_then(|c| Ok((c, proposal_id(&id)?))) {
            Ok(found) => found,
            Err(problem) => return problem.into_response(),
        };
    answer(hub.activate(&principal, id).await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    version: i64,
    #[serde(default)]
    reason: Option<String>,
}

async fn rollback(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Result<Json<RollbackBody>, JsonRejection>,
) -> Response {
    let (principal, hub) = match caller(&state, &headers) {
        Ok(c) => c,
        Err(problem) => return problem.into_response(),
    };
    let request = match body(request, r#"{"version": <n>, "reason": "…"}"#) {
        Ok(b) => b,
        Err(problem) => return problem.into_response(),
    };
    answer(
        hub.rollback(
            &principal,
            request.version,
            request.reason.unwrap_or_default(),
        )
        .await,
    )
}
