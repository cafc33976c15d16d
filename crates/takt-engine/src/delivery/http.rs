//! The HTTP connector: one request per message.
//!
//! The body is the mapped message; the idempotency header carries the
//! message id. Auth is a
//! bearer token, basic, or OAuth 2.0 client credentials (token cached until
//! shortly before it expires); an optional header carries an HMAC-SHA256
//! signature of the body. What happened is reported for
//! [`takt_core::delivery::classify`]: an answer with its status and
//! `Retry-After`, nothing sent (no connection), or no answer (timeout or
//! connection lost after sending).

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use sha2::Sha256;
use takt_core::delivery::AttemptOutcome;
use takt_core::store::BoxFuture;
use takt_model::delivery::{HttpAuth, HttpConnector, SubscriptionConfig};
use tokio::sync::Mutex;

use super::DeliveryError;
use super::connector::{
    Connector, EXCERPT_BYTES, Outgoing, REPLAY_HEADER, Report, config_error, percent_encode,
    read_secret,
};

/// Reads a secret by the name of the environment variable holding it.
pub type Secrets<'a> = &'a dyn Fn(&str) -> Option<String>;

/// An HTTP destination, ready to send.
pub struct HttpDelivery {
    client: reqwest::Client,
    method: Method,
    url: String,
    /// The URL parsed once, when the template has no placeholder.
    fixed_url: Option<reqwest::Url>,
    headers: HeaderMap,
    idempotency_header: HeaderName,
    auth: Option<Auth>,
    signature: Option<(HeaderName, Vec<u8>)>,
    /// How much of an answer is read and reported.
    answer_limit: usize,
}

enum Auth {
    Bearer(HeaderValue),
    Basic { username: String, password: String },
    OAuth2(OAuth2),
}

struct OAuth2 {
    token_url: String,
    form: Vec<(&'static str, String)>,
    cached: Mutex<Option<(String, Instant)>>,
}

impl HttpDelivery {
    /// Builds the connector of `subscription`, reading its secrets.
    pub fn new(
        subscription: &SubscriptionConfig,
        http: &HttpConnector,
        secrets: Secrets<'_>,
    ) -> Result<Self, DeliveryError> {
        let fail = |field: &str, reason: String| config_error(subscription, field, reason);
        let secret =
            |field: &str, variable: &str| read_secret(secrets, subscription, field, variable);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(subscription.policy.timeout_ms))
            .connect_timeout(Duration::from_millis(
                subscription.policy.timeout_ms.min(5_000),
            ))
            .pool_max_idle_per_host(subscription.policy.concurrency as usize)
            // A redirect is reported, not followed (see `classify`).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| fail("connector", format!("cannot build an HTTP client: {e}")))?;
        let method = Method::from_bytes(http.method.as_bytes())
            .map_err(|e| fail("connector.method", e.to_string()))?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in &http.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| fail("connector.headers", format!("{name:?}: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| fail("connector.headers", format!("{name}: {e}")))?;
            headers.insert(name, value);
        }
        let idempotency_header = HeaderName::from_bytes(subscription.idempotency_header.as_bytes())
            .map_err(|e| fail("idempotency_header", e.to_string()))?;
        let auth = match &http.auth {
            None => None,
            Some(HttpAuth::Bearer { token_env }) => {
                let token = secret("connector.auth.token_env", token_env)?;
                let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                    .map_err(|e| fail("connector.auth.token_env", e.to_string()))?;
                value.set_sensitive(true);
                Some(Auth::Bearer(value))
            }
            Some(HttpAuth::Basic {
                username,
                password_env,
            }) => Some(Auth::Basic {
                username: username.clone(),
                password: secret("connector.auth.password_env", password_env)?,
            }),
            Some(HttpAuth::Oauth2 {
                token_url,
                client_id,
                client_secret_env,
                scope,
            }) => {
                let mut form = vec![
                    ("grant_type", "client_credentials".to_owned()),
                    ("client_id", client_id.clone()),
                    (
                        "client_secret",
                        secret("connector.auth.client_secret_env", client_secret_env)?,
                    ),
                ];
                if let Some(scope) = scope {
                    form.push(("scope", scope.clone()));
                }
                Some(Auth::OAuth2(OAuth2 {
                    token_url: token_url.clone(),
                    form,
                    cached: Mutex::new(None),
                }))
            }
        };
        let signature = match &http.signature {
            None => None,
            Some(s) => Some((
                HeaderName::from_bytes(s.header.as_bytes())
                    .map_err(|e| fail("connector.signature.header", e.to_string()))?,
                secret("connector.signature.secret_env", &s.secret_env)?.into_bytes(),
            )),
        };
        Ok(Self {
            client,
            method,
            url: http.url.clone(),
            fixed_url: if http.url.contains('{') {
                None
            } else {
                reqwest::Url::parse(&http.url).ok()
            },
            headers,
            idempotency_header,
            auth,
            signature,
            answer_limit: EXCERPT_BYTES,
        })
    }

    /// Reads and reports up to `bytes` of each answer instead of
    /// [`EXCERPT_BYTES`]: sync calls map the whole answer for their sender.
    pub fn with_answer_limit(mut self, bytes: usize) -> Self {
        self.answer_limit = bytes;
        self
    }

    async fn attempt(&self, message: &Outgoing) -> Report {
        let mut request = match &self.fixed_url {
            Some(url) => self.client.request(self.method.clone(), url.clone()),
            None => self.client.request(
                self.method.clone(),
                message.expand(&self.url, percent_encode),
            ),
        };
        request = request
            .headers(self.headers.clone())
            .header(self.idempotency_header.clone(), &message.id)
            .body(message.body.clone());
        if message.replay {
            request = request.header(REPLAY_HEADER, "true");
        }
        if let Some((header, secret)) = &self.signature {
            request = request.header(header.clone(), sign(secret, &message.body));
        }
        match &self.auth {
            Some(Auth::Bearer(value)) => {
                request = request.header(reqwest::header::AUTHORIZATION, value.clone());
            }
            Some(Auth::Basic { username, password }) => {
                request = request.basic_auth(username, Some(password));
            }
            Some(Auth::OAuth2(oauth)) => match oauth.token(&self.client).await {
                Ok(token) => request = request.bearer_auth(token),
                Err(reason) => return not_sent(reason),
            },
            None => {}
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return failed(&e),
        };
        let status = response.status();
        let retry_after_ms = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry_after_ms);
        // A redirect is not followed: where it pointed is kept for the operator.
        let location = response
            .headers()
            .get(LOCATION)
            .filter(|_| status.is_redirection())
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = match read_excerpt(response, self.answer_limit).await {
            Ok(body) => body,
            // The status arrived: the destination decided. A body cut off
            // does not change what it decided.
            Err(e) => format!("(answer body lost: {e})"),
        };
        if let Some(location) = location {
            body.insert_str(0, &format!("Location: {location}\n"));
        }
        if status == StatusCode::UNAUTHORIZED
            && let Some(Auth::OAuth2(oauth)) = &self.auth
        {
            // The token was refused before anything was processed: drop it
            // and let the retry fetch a fresh one.
            oauth.forget().await;
            return not_sent(format!(
                "the destination refused the OAuth2 token (401); a new token is fetched: {body}"
            ));
        }
        Report {
            outcome: AttemptOutcome::Answered {
                status: status.as_u16(),
                retry_after_ms,
            },
            response: body,
        }
    }
}

impl Connector for HttpDelivery {
    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Report> {
        Box::pin(self.attempt(message))
    }
}

impl OAuth2 {
    /// The cached token, or a new one if none is cached or it expires within 30 s.
    async fn token(&self, client: &reqwest::Client) -> Result<String, String> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let response = client
            .post(&self.token_url)
            .form(&self.form)
            .send()
            .await
            .map_err(|e| format!("cannot get an OAuth2 token from {}: {e}", self.token_url))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("the OAuth2 token answer was cut off: {e}"))?;
        if !status.is_success() {
            return Err(format!(
                "the OAuth2 token endpoint answered {status}: {}",
                super::connector::excerpt(&body)
            ));
        }
        let answer: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| format!("the OAuth2 token answer is not JSON: {e}"))?;
        let token = answer["access_token"]
            .as_str()
            .ok_or("the OAuth2 token answer has no access_token")?
            .to_owned();
        let lifetime = answer["expires_in"].as_u64().unwrap_or(300);
        let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(30).max(1));
        *cached = Some((token.clone(), until));
        Ok(token)
    }

    async fn forget(&self) {
        *self.cached.lock().await = None;
    }
}

fn not_sent(reason: String) -> Report {
    Report {
        outcome: AttemptOutcome::NotSent { reason },
        response: String::new(),
    }
}

/// A request that failed without an answer: nothing sent when no
/// connection was made, otherwise the request may have arrived.
fn failed(e: &reqwest::Error) -> Report {
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    let outcome = if e.is_connect() {
        AttemptOutcome::NotSent { reason }
    } else if e.is_timeout() {
        AttemptOutcome::NoAnswer {
            reason: format!("timed out: {reason}"),
        }
    } else {
        AttemptOutcome::NoAnswer { reason }
    };
    Report {
        outcome,
        response: String::new(),
    }
}

/// Reads at most `limit` bytes of the body.
async fn read_excerpt(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<String, reqwest::Error> {
    let mut kept = Vec::new();
    while kept.len() < limit {
        match response.chunk().await? {
            Some(chunk) => kept.extend_from_slice(&chunk),
            None => break,
        }
    }
    kept.truncate(limit);
    Ok(String::from_utf8_lossy(&kept).into_owned())
}

/// `Retry-After` as delay-seconds or an HTTP date, in ms from now.
fn retry_after_ms(value: &str) -> Option<u64> {
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(seconds.saturating_mul(1000));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
    let ms = at.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(u64::try_from(ms).unwrap_or(0))
}

/// `sha256=<hex HMAC-SHA256 of body>`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_as_seconds_or_a_date() {
        assert_eq!(retry_after_ms("7"), Some(7_000));
        assert_eq!(retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), Some(0));
        assert_eq!(retry_after_ms("soon"), None);
    }

    #[test]
    fn the_signature_is_rfc_4231_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
