//! The data plane: where systems post messages, ask sync queries, and read
//! what became of a queued command.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use takt_engine::{Accepted, DeprecationNotice, Gateway, IngestRequest, Rejection, Route};

use crate::auth::api_key;
use crate::problem::Problem;

/// Header naming a plant outside the body; authorized like the body's sites.
pub const SITE_HEADER: &str = "takt-site-id";

/// The data-plane routes, with a body limit of `max_body_bytes`.
pub fn data_router(state: impl Into<crate::AppState>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/v1/events", post(post_events))
        // One path, two meanings: POST takes a command of {type}, GET reads
        // the command whose id is in the path (the `Location` of a 202).
        .route("/v1/commands/{type}", post(post_command).get(get_command))
        .route("/v1/queries/{type}", post(post_query))
        .route("/v1/interfaces/{interface}/messages", post(post_native))
        .fallback(crate::problem::not_found)
        .method_not_allowed_fallback(crate::problem::method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state.into())
}

async fn post_events(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    ingest(&gateway, Route::Events, &headers, body).await
}

async fn post_command(
    State(gateway): State<Arc<Gateway>>,
    Path(contract): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    ingest(&gateway, Route::Command(contract), &headers, body).await
}

async fn post_query(
    State(gateway): State<Arc<Gateway>>,
    Path(contract): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    ingest(&gateway, Route::Query(contract), &headers, body).await
}

/// `GET /v1/commands/{id}`: where a command stands, for its sender or an operator.
async fn get_command(
    State(gateway): State<Arc<Gateway>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(principal) = gateway.authenticate(api_key(&headers)) else {
        return Problem::from(&Rejection::Unauthenticated).into_response();
    };
    match gateway.command_status(&principal, &id).await {
        Ok(view) => Json(view).into_response(),
        Err(rejection) => Problem::from(&rejection).into_response(),
    }
}

async fn post_native(
    State(gateway): State<Arc<Gateway>>,
    Path(interface): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    ingest(&gateway, Route::Native(interface), &headers, body).await
}

/// Whether the body is a batch, from its media type; `None` if not accepted.
fn media_type(headers: &HeaderMap) -> Option<bool> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next()?.trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/cloudevents+json" | "application/json" => Some(false),
        "application/cloudevents-batch+json" => Some(true),
        _ => None,
    }
}

async fn ingest(
    gateway: &Gateway,
    route: Route,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Ok(principal) = gateway.authenticate(api_key(headers)) else {
        gateway.count_unauthenticated(&route);
        return Problem::from(&Rejection::Unauthenticated).into_response();
    };
    let request = match read_request(&route, headers, body) {
        Ok(request) => request,
        Err(rejection) => {
            gateway.audit_refused(&principal, &route, &rejection).await;
            return Problem::from(&rejection).into_response();
        }
    };
    match gateway.ingest(&principal, request).await {
        Ok(accepted) => accepted_response(accepted),
        Err(rejection) => Problem::from(&rejection).into_response(),
    }
}

/// The body and headers of a data-plane request, or why they are refused.
fn read_request(
    route: &Route,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<IngestRequest, Rejection> {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(Rejection::PayloadTooLarge(
                "the request body exceeds the configured max_body_bytes".into(),
            ));
        }
        Err(rejection) => return Err(Rejection::BadRequest(rejection.body_text())),
    };
    let Some(batch) = media_type(headers) else {
        let detail = "send application/cloudevents+json (or application/json) for one event, application/cloudevents-batch+json for a batch";
        return Err(Rejection::UnsupportedMediaType(detail.into()));
    };
    let idempotency_key = match headers.get("idempotency-key").map(HeaderValue::to_str) {
        None => None,
        Some(Ok(key)) if (1..=255).contains(&key.len()) => Some(key.to_owned()),
        Some(_) => {
            return Err(Rejection::BadRequest(
                "Idempotency-Key must be 1 to 255 visible ASCII characters".into(),
            ));
        }
    };
    let header_sites = headers
        .get_all(SITE_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_owned()))
        .filter(|s| !s.is_empty())
        .collect();
    Ok(IngestRequest {
        route: route.clone(),
        body: body.to_vec(),
        batch,
        idempotency_key,
        header_sites,
    })
}

/// `Deprecation` (RFC 9745), `Sunset` (RFC 8594) and `Link` headers for the
/// deprecated contract versions a request used: the earliest dates, and
/// every migration note.
fn deprecation_headers(headers: &mut HeaderMap, notices: &[DeprecationNotice]) {
    let midnight = |day: chrono::NaiveDate| day.and_time(chrono::NaiveTime::MIN).and_utc();
    let Some(since) = notices.iter().map(|n| n.deprecated_on).min() else {
        return;
    };
    let deprecation = format!("@{}", midnight(since).timestamp());
    if let Ok(value) = HeaderValue::try_from(deprecation) {
        headers.insert("deprecation", value);
    }
    if let Some(sunset) = notices.iter().filter_map(|n| n.sunset_on).min() {
        let text = midnight(sunset)
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        if let Ok(value) = HeaderValue::try_from(text) {
            headers.insert("sunset", value);
        }
    }
    for link in notices.iter().filter_map(|n| n.migration.as_deref()) {
        if let Ok(value) =
            HeaderValue::try_from(format!("<{link}>; rel=\"deprecation\"; type=\"text/html\""))
        {
            headers.append(header::LINK, value);
        }
    }
}

fn accepted_response(accepted: Accepted) -> Response {
    let status = StatusCode::from_u16(accepted.status).unwrap_or(StatusCode::ACCEPTED);
    let mut response = (status, accepted.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if accepted.replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    deprecation_headers(headers, &accepted.deprecations);
    if let Some(location) = accepted
        .location
        .and_then(|l| HeaderValue::try_from(l).ok())
    {
        headers.insert(header::LOCATION, location);
    }
    response
}
