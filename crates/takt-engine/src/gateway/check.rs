//! Parsing a request and validating each message, including route rules.

use super::*;

impl Gateway {
    pub(super) fn parse(&self, request: &IngestRequest) -> Result<Vec<Value>, Rejection> {
        match (&request.route, request.batch) {
            (Route::Command(_), true) => {
                return Err(Rejection::BadRequest(
                    "commands are sent one at a time, not as a batch".into(),
                ));
            }
            (Route::Query(_), true) => {
                return Err(Rejection::BadRequest(
                    "queries are sent one at a time, not as a batch".into(),
                ));
            }
            _ => {}
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
        let (path_type, endpoint) = match &request.route {
            Route::Command(path_type) => (path_type, "commands"),
            Route::Query(path_type) => (path_type, "queries"),
            Route::Events | Route::Native(_) => return Ok(messages),
        };
        if messages[0].get("type").and_then(Value::as_str) != Some(path_type.as_str()) {
            return Err(Rejection::Invalid(vec![Violation::new(
                "/type",
                "route",
                format!(
                    "this endpoint takes {path_type}; send other types to their own /v1/{endpoint}/{{type}}"
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
                Ok(validated) => match route_violation(route, &validated)
                    .or_else(|| self.pin_violation(&interface, &validated))
                {
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

impl Gateway {
    /// An interface that pins the versions its producers send
    /// (`contract_versions`) refuses the others: a v1.0 producer on a
    /// `["1.1"]` interface is told which versions it may send.
    fn pin_violation(&self, interface: &str, validated: &Validated<'_>) -> Option<Violation> {
        let contract = validated.contract.contract().as_str();
        let pinned = self
            .deployment
            .interfaces
            .get(interface)?
            .contract_versions
            .get(contract)?;
        let version = validated.contract.id.version.to_string();
        if pinned.contains(&version) {
            return None;
        }
        Some(Violation::new(
            "/dataschema",
            "contract_versions",
            format!(
                "interface {interface} carries {contract} at version {} only, not {version}: send {}",
                pinned.join(", "),
                pinned
                    .iter()
                    .map(|v| format!("urn:takt:schema:{contract}:{v}"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ))
    }
}

/// Commands go through `/v1/commands/{type}` (one at a time, with an
/// `Idempotency-Key`), queries through `/v1/queries/{type}`; `/v1/events`
/// and native routes take events.
fn route_violation(route: &Route, validated: &Validated<'_>) -> Option<Violation> {
    let pattern = validated.contract.meta.pattern;
    let contract = validated.contract.contract();
    let message = match (route, pattern) {
        (Route::Command(_), Pattern::Command)
        | (Route::Query(_), Pattern::Query)
        | (Route::Events | Route::Native(_), Pattern::Event) => return None,
        (_, Pattern::Command) => format!(
            "{contract} is a command; post it to /v1/commands/{contract} with an Idempotency-Key"
        ),
        (_, Pattern::Query) => format!("{contract} is a query; post it to /v1/queries/{contract}"),
        (Route::Command(_), Pattern::Event) => {
            format!("{contract} is not a command; post events to /v1/events")
        }
        (_, Pattern::Event) => format!("{contract} is not a query; post events to /v1/events"),
    };
    Some(Violation::new("/type", "route", message))
}
