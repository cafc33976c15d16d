//! A small client of a running hub's admin API, for `takt dlq` and `takt status`.
//!
//! Calls are blocking from the caller's point of view (a current-thread
//! runtime drives reqwest), because a command makes one request at a time.
//! Every answer that is not a success is an [`AdminError`]: the hub's
//! RFC 9457 problem when it sent one, so its title and detail reach the
//! operator unchanged.

use std::fmt;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{RequestBuilder, Url};
use serde::Deserialize;
use serde_json::Value;

use crate::cli::AdminArgs;

/// How long one request may take: a redrive of 1,000 messages waits for the
/// subscription's worker to apply it between deliveries.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to one hub's admin API, authenticated as one operator.
pub struct AdminClient {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
    runtime: tokio::runtime::Runtime,
}

impl AdminClient {
    /// A client for `--admin-url` with `--token` (both may come from the environment).
    pub fn new(args: &AdminArgs) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("takt/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Self {
            http,
            base: args.admin_url.clone(),
            token: args.token.clone().filter(|t| !t.trim().is_empty()),
            runtime,
        })
    }

    /// `GET <base>/<path…>?<query>`: the answer's JSON.
    pub fn get(&self, path: &[&str], query: &[(&str, String)]) -> Result<Value, AdminError> {
        let mut url = self.url(path);
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
        }
        self.send(self.http.get(url.clone()), &url)
    }

    /// `POST <base>/<path…>` with a JSON body: the answer's JSON.
    pub fn post(&self, path: &[&str], body: &Value) -> Result<Value, AdminError> {
        let url = self.url(path);
        let request = self
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body.to_string());
        self.send(request, &url)
    }

    /// The base URL with `path` appended segment by segment, so a name with
    /// a `/` or `?` in it cannot change which endpoint is called.
    fn url(&self, path: &[&str]) -> Url {
        let mut url = self.base.clone();
        // http(s) URLs always have segments (`parse_admin_url` admits no other).
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(path);
        }
        url
    }

    fn send(&self, request: RequestBuilder, url: &Url) -> Result<Value, AdminError> {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        // The endpoint, without the query: the filters are the operator's own.
        let mut endpoint = url.clone();
        endpoint.set_query(None);
        self.runtime.block_on(async {
            let unreachable = |e: reqwest::Error| AdminError::Unreachable {
                url: endpoint.to_string(),
                reason: root_cause(&e),
            };
            let response = request.send().await.map_err(unreachable)?;
            let status = response.status().as_u16();
            let body = response.bytes().await.map_err(unreachable)?;
            answer(&endpoint, status, &body)
        })
    }
}

/// Reads an answer: JSON on success, the problem otherwise.
fn answer(url: &Url, status: u16, body: &[u8]) -> Result<Value, AdminError> {
    let unexpected = || AdminError::Unexpected {
        url: url.to_string(),
        status,
        body: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    };
    if (200..300).contains(&status) {
        return serde_json::from_slice(body).map_err(|_| unexpected());
    }
    match serde_json::from_slice::<Problem>(body) {
        Ok(problem) => Err(AdminError::Problem(Problem { status, ..problem })),
        Err(_) => Err(unexpected()),
    }
}

/// What went wrong, in the words of the deepest cause ("Connection refused
/// (os error 111)", "operation timed out"): reqwest's own message repeats the URL.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// An RFC 9457 problem the hub answered with.
#[derive(Debug, Clone, Deserialize)]
pub struct Problem {
    /// `urn:takt:problem:<code>`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Short summary of the problem type, e.g. "Authentication required".
    pub title: String,
    /// The HTTP status (taken from the response).
    #[serde(default)]
    pub status: u16,
    /// What went wrong with this request.
    #[serde(default)]
    pub detail: String,
}

impl Problem {
    /// The stable code: `unauthenticated`, `not_found`, `bad_request`, …
    pub fn code(&self) -> &str {
        self.kind
            .strip_prefix("urn:takt:problem:")
            .unwrap_or("problem")
    }
}

/// Why an admin API call did not succeed.
#[derive(Debug)]
pub enum AdminError {
    /// No answer: the hub is not running there, or the network is in the way.
    Unreachable {
        /// What was called.
        url: String,
        /// The transport's reason.
        reason: String,
    },
    /// The hub refused the request with a problem.
    Problem(Problem),
    /// An answer that is neither the expected JSON nor a problem (the URL
    /// may point at something that is not a Takt admin API).
    Unexpected {
        /// What was called.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
}

impl AdminError {
    /// The stable code printed with `--json`.
    pub fn code(&self) -> &str {
        match self {
            Self::Unreachable { .. } => "unreachable",
            Self::Problem(problem) => problem.code(),
            Self::Unexpected { .. } => "unexpected_answer",
        }
    }
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreachable { url, reason } => write!(
                f,
                "cannot reach the hub's admin API at {url}: {reason} (is `takt serve` running there? --admin-url or TAKT_ADMIN_URL sets the address)"
            ),
            Self::Problem(p) => {
                f.write_str(&p.title)?;
                if !p.detail.is_empty() && !p.detail.eq_ignore_ascii_case(&p.title) {
                    write!(f, ": {}", p.detail)?;
                }
                write!(f, " (HTTP {})", p.status)?;
                if p.status == 401 {
                    f.write_str("; give an operator's API key with --token or TAKT_TOKEN")?;
                }
                Ok(())
            }
            Self::Unexpected { url, status, body } => write!(
                f,
                "{url} answered {status} without problem details, so it may not be a Takt admin API: {body}"
            ),
        }
    }
}

impl std::error::Error for AdminError {}
