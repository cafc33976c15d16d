//! Sync queries: `POST /v1/queries/{type}`. A query passes the usual checks
//! (authentication, policy, rate limit, contract), goes to its interface's
//! `[sync]` destination, and is answered with the destination's (mapped)
//! answer. A query changes nothing: nothing is stored but its audit entry,
//! and no `Idempotency-Key` is needed. With `cache_ttl_ms`, a 2xx answer is
//! reused for the same sender and the same request to the destination.

use takt_core::store::NewEvent;
use takt_core::sync::{SyncVerdict, judge};

use super::sync::{count, destination_unavailable, excerpt, mapping_failed, public_reason};
use super::*;
use crate::delivery::Outgoing;
use crate::sync::{CachedAnswer, SyncRoute};

impl Gateway {
    /// Checks a query, asks its destination (or the cache), and answers.
    pub(super) async fn query(
        &self,
        principal: &Principal,
        request: &IngestRequest,
        action: &str,
    ) -> Result<Accepted, Rejection> {
        let messages = self.parse(request)?;
        let interfaces = self.authorize(principal, &messages, request, None)?;
        self.rate_limit(principal, &interfaces)?;
        let checked = self.validate(messages, interfaces, &request.route, false)?;
        let deprecations = self.lifecycle(&checked, false)?;
        let (Some(route), Some(only)) = (self.sync_route(&checked), checked.first()) else {
            return Err(no_destination(&checked));
        };
        let now = self.clock.now_ms();
        let event = new_event(&only.validated, &only.interface, &principal.name, now);
        let message = &only.validated.message;
        let outgoing = route
            .outgoing(&event, message, self.map_env(now))
            .map_err(mapping_failed)?;
        let key = route.cache_key(&principal.name, &outgoing);
        let cached = route.cache.as_ref().and_then(|c| c.get(&key, now));
        let hit = cached.is_some();
        // A refusal is audited by `Gateway::ingest`, as any rejection.
        let answer = match cached {
            Some(answer) => answer,
            None => self.ask(route, &event, message, &outgoing).await?,
        };
        if let (Some(cache), false) = (&route.cache, hit) {
            cache.put(key, answer.clone(), now);
        }
        count(&event.interface, if hit { "cached" } else { "answered" });
        let outcome = if hit { "answered (cached)" } else { "answered" };
        self.audit_query(principal, action, &event, outcome.into())
            .await;
        let body = self.query_answer(route, &event, message, &answer, hit);
        Ok(Accepted {
            status: 200,
            body: serde_json::to_vec(&body).unwrap_or_default(),
            replayed: false,
            location: None,
            deprecations,
        })
    }

    /// Calls the destination: its 2xx answer, or why there is none.
    async fn ask(
        &self,
        route: &SyncRoute,
        event: &NewEvent,
        message: &Value,
        outgoing: &Outgoing,
    ) -> Result<CachedAnswer, Rejection> {
        let report = route.call(outgoing).await;
        let (status, public) = public_reason(&report.outcome, &route.config);
        match judge(report.outcome) {
            SyncVerdict::Answered => Ok(CachedAnswer {
                status,
                body: report.response,
            }),
            SyncVerdict::Refused => {
                count(&event.interface, "refused");
                let env = self.map_env(event.accepted_at_ms);
                Err(Rejection::DestinationRejected {
                    destination: route.config.destination.clone(),
                    status,
                    excerpt: excerpt(&report.response),
                    answer: route
                        .answer(message, status, &report.response, env)
                        .ok()
                        .map(Box::new),
                })
            }
            SyncVerdict::Unavailable {
                reason,
                retry_after_ms,
            } => {
                tracing::warn!(interface = %event.interface, %reason, "sync destination unavailable");
                count(&event.interface, "unavailable");
                Err(destination_unavailable(route, &public, retry_after_ms))
            }
        }
    }

    /// The sender's answer: the destination's answer through the response mapping.
    fn query_answer(
        &self,
        route: &SyncRoute,
        event: &NewEvent,
        message: &Value,
        answer: &CachedAnswer,
        cached: bool,
    ) -> Value {
        let mut body = json!({
            "status": "answered",
            "id": event.id,
            "destination": route.config.destination,
            "cached": cached,
        });
        let env = self.map_env(event.accepted_at_ms);
        match route.answer(message, answer.status, &answer.body, env) {
            Ok(mapped) => body["answer"] = mapped,
            Err(e) => {
                tracing::warn!(interface = %event.interface, error = %e, "a sync answer could not be mapped");
                body["answer"] = Value::Null;
                body["answer_error"] = json!(e.to_string());
            }
        }
        body
    }

    /// Audits an answered query (best effort: nothing else of it is stored).
    async fn audit_query(
        &self,
        principal: &Principal,
        action: &str,
        event: &NewEvent,
        outcome: String,
    ) {
        let draft = AuditDraft {
            at_ms: self.clock.now_ms(),
            principal: principal.name.clone(),
            action: action.to_owned(),
            interface: Some(event.interface.clone()),
            outcome,
            message_id: Some(event.id.clone()),
        };
        let commit = Commit {
            audit: vec![draft],
            ..Commit::default()
        };
        if let Err(e) = self.store.commit(commit).await {
            tracing::warn!(error = %e, "could not audit a query");
        }
    }
}

/// 404: nothing answers this query (no `[sync]`, or not for its plant).
fn no_destination(checked: &[Checked<'_>]) -> Rejection {
    let Some(only) = checked.first() else {
        return Rejection::BadRequest("no query in the request".into());
    };
    let contract = only.validated.contract.contract();
    let site = only
        .validated
        .message
        .get("siteid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Rejection::NotFound(format!(
        "interface {} has no [sync] destination that answers {contract} for plant {site}",
        only.interface
    ))
}
