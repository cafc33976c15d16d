//! Parsing a request and validating each message, including route rules.

use super::*;

impl Gateway {
    pub(super) fn parse(&self, request: &IngestRequest) -> Result<Vec<Value>, Rejection> {
        if request.batch && matches!(request.route, Route::Command(_)) {
            return Err(Rejection::BadRequest(
                "commands are sent one at a time, not as a batch".into(),
            ));
        }
        let value: Value = parse_json(&request.body)?;
        let messages = match (request.batch, value) {
            (true, Value::Array(items)) => items,
            (true, _) => {
                return Err(Rejection::BadRequest(
                    "a CloudEvents batch must be a JSON array of events".into(),
                ));
            }
            (false, Value::Array(_)) => {
                return Err(Rejection::BadRequest(
                    "a JSON array is a batch: send it as application/cloudevents-batch+json".into(),
                ));
            }
            (false, value) => vec![value],
        };
        if messages.is_empty() {
            return Err(Rejection::BadRequest("the batch is empty".into()));
        }
        if messages.len() > self.options.max_batch_events {
            return Err(Rejection::PayloadTooLarge(format!(
                "a batch holds at most {} events; this one has {}",
                self.options.max_batch_events,
                messages.len()
            )));
        }
        if let Route::Command(path_type) = &request.route
            && messages[0].get("type").and_then(Value::as_str) != Some(path_type.as_str())
        {
            return Err(Rejection::Invalid(vec![Violation::new(
                "/type",
                "route",
                format!(
                    "this endpoint takes {path_type}; send other types to their own /v1/commands/{{type}}"
                ),
            )]));
        }
        Ok(messages)
    }

    pub(super) fn validate(
        &self,
        messages: Vec<Value>,
        interfaces: Vec<String>,
        route: &Route,
        batch: bool,
    ) -> Result<Vec<Checked<'_>>, Rejection> {
        let mut checked = Vec::with_capacity(messages.len());
        let mut violations = Vec::new();
        for (index, (message, interface)) in messages.into_iter().zip(interfaces).enumerate() {
            let found = match self.registry.validate(message) {
                Ok(validated) => match route_violation(route, &validated) {
                    None => {
                        checked.push(Checked {
                            validated,
                            interface,
                        });
                        continue;
                    }
                    Some(violation) => vec![violation],
                },
                Err(found) => found,
            };
            violations.extend(found.into_iter().map(|mut v| {
                if batch {
                    v.pointer = format!("/{index}{}", v.pointer);
                }
                v
            }));
        }
        if violations.is_empty() {
            Ok(checked)
        } else {
            Err(Rejection::Invalid(violations))
        }
    }
}

/// Commands go through `/v1/commands/{type}` (one at a time, with an
/// `Idempotency-Key`); `/v1/events` and native routes take events and queries.
fn route_violation(route: &Route, validated: &Validated<'_>) -> Option<Violation> {
    let pattern = validated.contract.meta.pattern;
    let contract = validated.contract.contract();
    let message = match (route, pattern) {
        (Route::Command(_), Pattern::Command)
        | (Route::Events | Route::Native(_), Pattern::Event | Pattern::Query) => return None,
        (Route::Command(_), _) => format!("{contract} is not a command; post events to /v1/events"),
        (_, _) => format!(
            "{contract} is a command; post it to /v1/commands/{contract} with an Idempotency-Key"
        ),
    };
    Some(Violation::new("/type", "route", message))
}
