//! The simulated ERP.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// What the ERP does with a request instead of posting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answers with this status (500, 422, 401, …) and a JSON error body.
    Status(u16),
    /// 503 with `Retry-After: <seconds>`.
    Unavailable {
        /// The `Retry-After` value.
        retry_after_secs: u64,
    },
    /// 429 with `Retry-After: <seconds>`.
    TooMany {
        /// The `Retry-After` value.
        retry_after_secs: u64,
    },
    /// Never answers (the caller times out); nothing is posted.
    Hang,
    /// Waits this long, then posts and answers normally.
    Slow(Duration),
    /// Posts, then drops the connection without answering.
    ResetAfterCommit,
    /// Answers with this status and JSON body without posting (a refusal
    /// with the destination's own reasons, e.g. 409 and an error code).
    Answer {
        /// The status.
        status: u16,
        /// The body.
        body: serde_json::Value,
    },
    /// Answers with this redirect status (301, 302, 303, 307, 308) and
    /// `Location`, without posting.
    Redirect {
        /// The status.
        status: u16,
        /// Where to.
        location: String,
    },
}

/// When a fault applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Only requests whose body contains this text; none: every request.
    pub body_contains: Option<String>,
    /// What happens.
    pub fault: Fault,
    /// How many more requests it applies to; none: for ever.
    pub times: Option<u32>,
}

/// One request, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// When it arrived.
    pub at: Instant,
    /// `POST` or `PUT`.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// Headers, lowercase names.
    pub headers: HashMap<String, String>,
    /// The body.
    pub body: serde_json::Value,
}

/// A posting the ERP made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    /// The idempotency key it came with.
    pub key: String,
    /// What was posted.
    pub body: serde_json::Value,
}

#[derive(Default)]
struct Books {
    rules: Vec<Rule>,
    attempts: Vec<Attempt>,
    effects: Vec<Effect>,
    seen: HashSet<String>,
    in_progress: usize,
    most_in_progress: usize,
    /// The answer to a posting instead of `201 {"document": n}`.
    answer: Option<(u16, serde_json::Value)>,
}

struct Inner {
    books: Mutex<Books>,
    idempotent: bool,
    header: String,
}

/// A running simulated ERP; stops when dropped.
pub struct Erp {
    inner: Arc<Inner>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Erp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Erp {
    /// Starts an ERP that de-duplicates on `Idempotency-Key` when `idempotent`.
    pub async fn start(idempotent: bool) -> Self {
        Self::start_with_header(idempotent, "idempotency-key").await
    }

    /// Starts an ERP that de-duplicates on `header` when `idempotent`.
    pub async fn start_with_header(idempotent: bool, header: &str) -> Self {
        let inner = Arc::new(Inner {
            books: Mutex::new(Books::default()),
            idempotent,
            header: header.to_ascii_lowercase(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("the ERP cannot listen: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("the ERP has no address: {e}"));
        let app = Router::new().fallback(receive).with_state(inner.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            inner,
            addr,
            server,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn books(&self) -> MutexGuard<'_, Books> {
        self.inner
            .books
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a fault rule (rules are tried in the order added).
    pub fn rule(&self, rule: Rule) {
        self.books().rules.push(rule);
    }

    /// `fault` for the next `times` requests whose body contains `text`.
    pub fn fail_matching(&self, text: &str, fault: Fault, times: u32) {
        self.rule(Rule {
            body_contains: Some(text.to_owned()),
            fault,
            times: Some(times),
        });
    }

    /// `fault` for every request from now on, until [`Erp::heal`].
    pub fn fail_all(&self, fault: Fault) {
        self.rule(Rule {
            body_contains: None,
            fault,
            times: None,
        });
    }

    /// Answers every posting from now on with `status` and `body` instead of
    /// `201 {"document": <n>}` (a duplicate still gets `200 {"status":"duplicate"}`).
    pub fn answer_with(&self, status: u16, body: serde_json::Value) {
        self.books().answer = Some((status, body));
    }

    /// Removes every fault rule.
    pub fn heal(&self) {
        self.books().rules.clear();
    }

    /// Every request received so far.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.books().attempts.clone()
    }

    /// Every posting made so far, in order.
    pub fn effects(&self) -> Vec<Effect> {
        self.books().effects.clone()
    }

    /// The most requests it was handling at once.
    pub fn most_concurrent(&self) -> usize {
        self.books().most_in_progress
    }
}

/// Which fault applies to a body, counting it down.
fn fault_for(books: &mut Books, body: &str) -> Option<Fault> {
    let index = books.rules.iter().position(|r| {
        r.times != Some(0)
            && r.body_contains
                .as_ref()
                .is_none_or(|t| body.contains(t.as_str()))
    })?;
    let rule = &mut books.rules[index];
    if let Some(times) = rule.times.as_mut() {
        *times -= 1;
    }
    Some(rule.fault.clone())
}

async fn receive(
    State(erp): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = String::from_utf8_lossy(&body).into_owned();
    let headers: HashMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let key = headers.get(&erp.header).cloned().unwrap_or_default();
    let fault = {
        let mut books = erp
            .books
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        books.attempts.push(Attempt {
            at: Instant::now(),
            method: method.to_string(),
            uri: uri.to_string(),
            headers,
            body: serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text.clone())),
        });
        books.in_progress += 1;
        books.most_in_progress = books.most_in_progress.max(books.in_progress);
        fault_for(&mut books, &text)
    };
    let _done = InProgress(erp.clone());
    let post = || {
        let mut books = erp
            .books
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if erp.idempotent && !key.is_empty() && !books.seen.insert(key.clone()) {
            return (StatusCode::OK, "{\"status\":\"duplicate\"}").into_response();
        }
        let document = books.effects.len() + 1;
        books.effects.push(Effect {
            key: key.clone(),
            body: serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text.clone())),
        });
        match &books.answer {
            Some((status, body)) => (
                StatusCode::from_u16(*status).unwrap_or(StatusCode::OK),
                body.to_string(),
            )
                .into_response(),
            None => (StatusCode::CREATED, format!("{{\"document\":{document}}}")).into_response(),
        }
    };
    match fault {
        None => post(),
        Some(Fault::Status(status)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (
                status,
                format!("{{\"error\":\"simulated {}\"}}", status.as_u16()),
            )
                .into_response()
        }
        Some(Fault::Unavailable { retry_after_secs }) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", retry_after_secs.to_string())],
            "{\"error\":\"maintenance\"}",
        )
            .into_response(),
        Some(Fault::TooMany { retry_after_secs }) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", retry_after_secs.to_string())],
            "{\"error\":\"slow down\"}",
        )
            .into_response(),
        Some(Fault::Hang) => std::future::pending().await,
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            post()
        }
        Some(Fault::Answer { status, body }) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
            body.to_string(),
        )
            .into_response(),
        Some(Fault::Redirect { status, location }) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::MOVED_PERMANENTLY),
            [("location", location)],
        )
            .into_response(),
        Some(Fault::ResetAfterCommit) => {
            drop(post());
            // Unwinding the connection's task drops the socket without an
            // answer; resume_unwind skips the panic hook, so nothing is printed.
            std::panic::resume_unwind(Box::new("connection reset after the posting"))
        }
    }
}

/// Counts a request as finished when dropped (also when it hangs up).
struct InProgress(Arc<Inner>);

impl Drop for InProgress {
    fn drop(&mut self) {
        let mut books = self
            .0
            .books
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        books.in_progress = books.in_progress.saturating_sub(1);
    }
}
