//! RFC 9457 problem details.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use takt_core::validate::Violation;
use takt_engine::Rejection;
use takt_model::ErrorCode;

/// A problem+json body.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// `urn:takt:problem:<code>`: stable, one per error code.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the problem type.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// Each offending field: JSON pointer, rule, sentence.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Violation>,
    /// A sync destination's refusal through the interface's response mapping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<Box<serde_json::Value>>,
    #[serde(skip)]
    retry_after_secs: Option<u64>,
}

/// Status and title for each code.
fn status_of(code: ErrorCode) -> (StatusCode, &'static str) {
    match code {
        ErrorCode::Unauthenticated => (StatusCode::UNAUTHORIZED, "Authentication required"),
        ErrorCode::Forbidden => (StatusCode::FORBIDDEN, "Not allowed"),
        ErrorCode::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded"),
        ErrorCode::UnsupportedMediaType => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported media type")
        }
        ErrorCode::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Request too large"),
        ErrorCode::ValidationFailed => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Message does not match its contract",
        ),
        ErrorCode::MappingFailed => (StatusCode::UNPROCESSABLE_ENTITY, "Mapping failed"),
        ErrorCode::IdempotencyKeyMissing => (StatusCode::BAD_REQUEST, "Idempotency-Key required"),
        ErrorCode::IdempotencyKeyReused => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Idempotency-Key reused with another body",
        ),
        ErrorCode::EventIdReused => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Event id reused with other content",
        ),
        ErrorCode::IdempotencyKeyInFlight => (
            StatusCode::CONFLICT,
            "Request with this Idempotency-Key in progress",
        ),
        ErrorCode::NotFound | ErrorCode::UnknownContract => (StatusCode::NOT_FOUND, "Not found"),
        ErrorCode::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "Temporarily unavailable"),
        ErrorCode::InsufficientStorage => (StatusCode::INSUFFICIENT_STORAGE, "Store quota reached"),
        ErrorCode::Gone => (StatusCode::GONE, "Contract version retired"),
        ErrorCode::BadRequest => (StatusCode::BAD_REQUEST, "Bad request"),
        ErrorCode::DestinationRejected => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Refused by its destination",
        ),
        ErrorCode::DestinationUnavailable => {
            (StatusCode::SERVICE_UNAVAILABLE, "Destination unavailable")
        }
        ErrorCode::InvalidConfig => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Catalog change does not check",
        ),
        ErrorCode::CatalogConflict => (StatusCode::CONFLICT, "Catalog change conflicts"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "Internal error"),
    }
}

impl Problem {
    /// A problem for `code` with a detail sentence.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        let (status, title) = status_of(code);
        Self {
            kind: format!("urn:takt:problem:{code}"),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            answer: None,
            retry_after_secs: None,
        }
    }

    /// Sets `Retry-After`.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }
}

impl From<&Rejection> for Problem {
    fn from(rejection: &Rejection) -> Self {
        let mut problem = Self::new(rejection.code(), rejection.to_string());
        problem.retry_after_secs = rejection.retry_after_secs();
        problem.errors = match rejection {
            Rejection::Invalid(violations) => violations.clone(),
            Rejection::MappingFailed { mapping, message } => vec![Violation {
                pointer: String::new(),
                rule: "mapping".into(),
                message: format!("{mapping}: {message}"),
            }],
            Rejection::Forbidden { reasons, .. } => reasons
                .iter()
                .map(|r| Violation {
                    pointer: String::new(),
                    rule: "policy".into(),
                    message: r.clone(),
                })
                .collect(),
            Rejection::Gone {
                contract,
                replacement,
                ..
            } => vec![Violation {
                pointer: "/type".into(),
                rule: "sunset".into(),
                message: match replacement {
                    Some(r) => format!("{contract} is retired; send {r}"),
                    None => format!("{contract} is retired"),
                },
            }],
            Rejection::CatalogInvalid(problems) => problems
                .iter()
                .map(|p| Violation {
                    pointer: String::new(),
                    rule: "catalog".into(),
                    message: p.clone(),
                })
                .collect(),
            Rejection::Backlogged {
                subscription,
                backlog,
                limit,
                ..
            } => vec![Violation {
                pointer: "/type".into(),
                rule: "backlog".into(),
                message: format!("subscription {subscription}: {backlog} waiting, limit {limit}"),
            }],
            Rejection::DestinationRejected {
                destination,
                status,
                excerpt,
                ..
            } => vec![Violation {
                pointer: String::new(),
                rule: "destination".into(),
                message: format!("{destination} answered {status}: {excerpt}"),
            }],
            _ => Vec::new(),
        };
        if let Rejection::DestinationRejected { answer, .. } = rejection {
            problem.answer.clone_from(answer);
        }
        problem
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// For paths no route serves.
pub(crate) async fn not_found(uri: axum::http::Uri) -> Problem {
    Problem::new(
        ErrorCode::NotFound,
        format!(
            "no endpoint at {}; /openapi.json on the admin listener lists them",
            uri.path()
        ),
    )
}

/// For known paths called with a method they do not take.
pub(crate) async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> Response {
    let mut problem = Problem::new(
        ErrorCode::BadRequest,
        format!("{} does not take {method}", uri.path()),
    );
    problem.status = StatusCode::METHOD_NOT_ALLOWED.as_u16();
    problem.title = "Method not allowed";
    problem.into_response()
}
