//! The operations part of the admin API in the OpenAPI document: delivery
//! records and the dead-letter and in-doubt lists, replays, contract
//! readiness, and governed catalog changes (`deliveries.rs`, `replays.rs`,
//! `catalog.rs`, `governance.rs`).

use serde_json::{Map, Value, json};

use super::problem;

/// Who may call an operation, as its 403 says.
#[derive(Clone, Copy)]
pub(super) enum Roles {
    /// Admin or operator.
    Operator,
    /// Admin, operator or approver.
    Reader,
    /// What governance asks for each step.
    Governance(&'static str),
}

impl Roles {
    fn forbidden(self) -> String {
        match self {
            Self::Operator => "forbidden: operator or admin role required".into(),
            Self::Reader => "forbidden: admin, operator or approver role required".into(),
            Self::Governance(who) => format!("forbidden: {who}"),
        }
    }
}

/// One admin operation: its 2xx answer, then the problems every admin
/// call can end in (401, 403, 503) and those named in `problems`.
pub(super) fn operation(
    id: &str,
    summary: &str,
    roles: Roles,
    ok: (&str, &str, Value),
    problems: &[(&str, &str)],
) -> Value {
    let (status, description, schema) = ok;
    let mut responses = json!({
        status: {"description": description, "content": {"application/json": {"schema": schema}}},
        "401": problem("unauthenticated"),
        "403": problem(&roles.forbidden()),
        "503": problem("unavailable: the store (or, for deliveries and replays, the delivery engine) is not running"),
    });
    for (code, text) in problems {
        responses[*code] = problem(text);
    }
    json!({"tags": ["admin"], "operationId": id, "summary": summary, "responses": responses})
}

fn path_param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": schema})
}

fn query_param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": schema})
}

fn body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn integer() -> Value {
    json!({"type": "integer"})
}

fn object() -> Value {
    json!({"type": "object"})
}

fn delivery_record() -> Value {
    json!({"type": "object", "properties": {
        "subscription": string(), "seq": integer(), "id": {"type": "string", "description": "the CloudEvents id"}, "type": string(), "site": string(), "key": string(),
        "state": {"enum": ["pending", "in_flight", "delivered", "dead_lettered", "in_doubt", "discarded"]},
        "holds_key": {"type": "boolean"}, "attempts": integer(), "next_attempt_at_ms": integer(), "reason": string(),
        "last_status": {"type": ["integer", "null"]}, "last_response": {"type": "string", "description": "the first 2 KiB of the last answer"},
        "accepted_at_ms": integer(), "updated_at_ms": integer(),
        "history": {"type": "array", "description": "every attempt (one record only)", "items": {"type": "object", "properties": {
            "attempt": integer(), "started_at_ms": integer(), "finished_at_ms": integer(), "outcome": string(),
            "status": {"type": ["integer", "null"]}, "detail": string(),
        }}},
    }})
}

fn replay_job() -> Value {
    json!({"type": "object", "properties": {
        "id": string(), "subscription": string(), "principal": string(), "selection": object(),
        "state": {"enum": ["running", "done", "failed"]},
        "head": integer(), "scanned_to": integer(), "matched": integer(), "replayed": integer(), "skipped": integer(),
        "started_at_ms": integer(), "finished_at_ms": {"type": ["integer", "null"]}, "error": {"type": ["string", "null"]},
    }})
}

fn catalog_version() -> Value {
    json!({"type": "object", "properties": {
        "version": integer(), "kind": {"enum": ["imported", "adopted", "activated", "rolled_back"]},
        "proposal": {"type": ["integer", "null"]}, "restores": {"type": ["integer", "null"]},
        "principal": string(), "created_at_ms": integer(), "note": string(), "digest": string(),
        "files": {"type": "object", "description": "path → content (one version only)", "additionalProperties": string()},
    }})
}

fn delivery_paths(paths: &mut Map<String, Value>) {
    let subscription = path_param("subscription", "the subscription's name", string());
    let mut list = operation(
        "listDeliveries",
        "Delivery records: the dead-letter and in-doubt lists by default, filtered and paged",
        Roles::Operator,
        (
            "200",
            "A page",
            json!({"type": "object", "properties": {
                "items": {"type": "array", "items": delivery_record()}, "next_after": {"type": ["integer", "null"]},
            }}),
        ),
        &[(
            "400",
            "bad_request: an unknown parameter or state, or a malformed value",
        )],
    );
    list["parameters"] = json!([
        query_param(
            "state",
            "comma-separated: dead_lettered, in_doubt (the default), pending, in_flight, delivered, discarded",
            string()
        ),
        query_param("subscription", "", string()),
        query_param("destination", "a destination system", string()),
        query_param("type", "a contract type", string()),
        query_param("site", "", string()),
        query_param("reason", "text the reason contains", string()),
        query_param(
            "older_than_secs",
            "last changed at least this long ago",
            integer()
        ),
        query_param("after", "next_after of the previous page", integer()),
        query_param(
            "limit",
            "",
            json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100})
        ),
    ]);
    paths.insert("/v1/deliveries".into(), json!({"get": list}));
    let status = operation(
        "deliveryStatus",
        "Per subscription: cursor, in flight, pending, dead-lettered, in doubt, circuit, lag",
        Roles::Operator,
        (
            "200",
            "OK",
            json!({"type": "object", "properties": {"subscriptions": {"type": "array", "items": object()}}}),
        ),
        &[],
    );
    paths.insert("/v1/deliveries/status".into(), json!({"get": status}));
    let mut one = operation(
        "getDelivery",
        "One record with its attempt history and last answer",
        Roles::Operator,
        ("200", "OK", delivery_record()),
        &[(
            "404",
            "not_found: no record (delivered at the first attempt, or never matched)",
        )],
    );
    one["parameters"] = json!([
        subscription.clone(),
        path_param("seq", "the message's position in the log", integer())
    ]);
    paths.insert(
        "/v1/deliveries/{subscription}/{seq}".into(),
        json!({"get": one}),
    );
    let results = json!({"type": "object", "properties": {"results": {"type": "array", "items": {"type": "object", "properties": {
        "seq": integer(),
        "outcome": {"enum": ["redriven", "discarded", "replayed", "skipped", "not_yet", "not_found"]},
        "state": {"type": ["string", "null"], "description": "the message's state after the action"},
    }}}}});
    for (verb, summary, extra) in [
        (
            "redrive",
            "Dead-lettered or in-doubt messages back to pending with a full attempt budget; safe to repeat",
            None,
        ),
        (
            "discard",
            "Give up on messages, with a reason; a parked key goes on",
            Some("reason"),
        ),
    ] {
        let mut properties =
            json!({"seqs": {"type": "array", "minItems": 1, "maxItems": 1000, "items": integer()}});
        let mut required = vec!["seqs"];
        if let Some(field) = extra {
            properties[field] = string();
            required.push(field);
        }
        let mut action = operation(
            &format!("{verb}Deliveries"),
            summary,
            Roles::Operator,
            ("200", "One result per message", results.clone()),
            &[
                (
                    "400",
                    "bad_request: the body names the field (seqs, reason)",
                ),
                ("404", "not_found: no such subscription"),
            ],
        );
        action["parameters"] = json!([subscription.clone()]);
        action["requestBody"] =
            body(json!({"type": "object", "required": required, "properties": properties}));
        paths.insert(
            format!("/v1/deliveries/{{subscription}}/{verb}"),
            json!({"post": action}),
        );
    }
    let mut replay = operation(
        "startReplay",
        "Re-deliver a time range, a business key or contract types; idempotency keys unchanged",
        Roles::Operator,
        ("202", "The job (Location: /v1/replays/{id})", replay_job()),
        &[
            (
                "400",
                "bad_request: from, to (RFC 3339), key (<kind>:<value>) or types named",
            ),
            ("404", "not_found: no such subscription"),
        ],
    );
    replay["parameters"] = json!([subscription]);
    replay["requestBody"] = body(json!({"type": "object", "properties": {
        "from": {"type": "string", "format": "date-time"}, "to": {"type": "string", "format": "date-time"},
        "key": {"type": "string", "description": "<kind>:<value>"}, "types": {"type": "array", "items": string()},
    }}));
    paths.insert(
        "/v1/deliveries/{subscription}/replay".into(),
        json!({"post": replay}),
    );
    let jobs = operation(
        "listReplays",
        "The last 100 replay jobs",
        Roles::Operator,
        (
            "200",
            "OK",
            json!({"type": "object", "properties": {"items": {"type": "array", "items": replay_job()}}}),
        ),
        &[],
    );
    paths.insert("/v1/replays".into(), json!({"get": jobs}));
    let mut job = operation(
        "getReplay",
        "One replay job and its progress",
        Roles::Operator,
        ("200", "OK", replay_job()),
        &[("404", "not_found")],
    );
    job["parameters"] = json!([path_param("id", "", string())]);
    paths.insert("/v1/replays/{id}".into(), json!({"get": job}));
}

fn governance_paths(paths: &mut Map<String, Value>) {
    let id = path_param("id", "the proposal's number", string());
    let mut readiness = operation(
        "contractReadiness",
        "Who still produces and consumes a contract version, and what they sent lately",
        Roles::Operator,
        ("200", "OK", object()),
        &[("400", "bad_request: contract, version or days named")],
    );
    readiness["parameters"] = json!([
        {"name": "contract", "in": "query", "required": true, "schema": string()},
        query_param("version", "", string()),
        query_param("days", "how far back traffic is counted", integer()),
    ]);
    paths.insert("/v1/catalog/readiness".into(), json!({"get": readiness}));
    let history = operation(
        "catalogHistory",
        "Catalog versions, newest first, without their files",
        Roles::Reader,
        (
            "200",
            "OK",
            json!({"type": "object", "properties": {
                "active": {"type": ["integer", "null"]}, "versions": {"type": "array", "items": catalog_version()},
            }}),
        ),
        &[("404", FIXED)],
    );
    paths.insert("/v1/catalog/versions".into(), json!({"get": history}));
    let mut version = operation(
        "catalogVersion",
        "One catalog version with its files",
        Roles::Reader,
        ("200", "OK", catalog_version()),
        &[
            ("400", "bad_request: the version is not a number"),
            ("404", FIXED),
        ],
    );
    version["parameters"] = json!([path_param("version", "", integer())]);
    paths.insert(
        "/v1/catalog/versions/{version}".into(),
        json!({"get": version}),
    );
    let mut list = operation(
        "listProposals",
        "Proposals, newest first (changed paths only)",
        Roles::Reader,
        ("200", "OK", object()),
        &[("400", "bad_request: an unknown state"), ("404", FIXED)],
    );
    list["parameters"] = json!([query_param(
        "state",
        "proposed, approved, rejected, activated",
        string()
    )]);
    let mut propose = operation(
        "propose",
        "Propose a catalog change: whole files, or changes (null deletes a file)",
        Roles::Governance("admin role required"),
        (
            "201",
            "The proposal (Location: /v1/catalog/proposals/{id})",
            object(),
        ),
        &[
            (
                "400",
                "bad_request: title, files/changes (one of them), a path outside the catalog, size limits, base_version",
            ),
            ("404", FIXED),
            (
                "409",
                "catalog_conflict: the base version is not the active one and the same files changed since",
            ),
            (
                "422",
                "invalid_config: errors[] name file and field of the catalog it would make",
            ),
        ],
    );
    propose["requestBody"] = body(
        json!({"type": "object", "required": ["title"], "properties": {
            "title": string(),
            "files": {"type": "object", "additionalProperties": string()},
            "changes": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
            "base_version": integer(),
        }}),
    );
    paths.insert(
        "/v1/catalog/proposals".into(),
        json!({"get": list, "post": propose}),
    );
    let mut show = operation(
        "getProposal",
        "A proposal with its diff against the active version and its conflicts",
        Roles::Reader,
        ("200", "OK", object()),
        &[("404", FIXED)],
    );
    show["parameters"] = json!([id.clone()]);
    paths.insert("/v1/catalog/proposals/{id}".into(), json!({"get": show}));
    for (step, summary, who, field) in [
        (
            "approve",
            "Approve a proposal (four eyes: not its proposer)",
            "approver role required, and not the proposer",
            Some("comment"),
        ),
        (
            "reject",
            "Reject a proposal or withdraw an approval (approver role, or its proposer) until activation",
            "approver role required, or the proposer",
            Some("reason"),
        ),
        (
            "activate",
            "Activate an approved proposal: the next catalog version, applied live",
            "admin or approver role required",
            None,
        ),
    ] {
        let mut decision = operation(
            &format!("{step}Proposal"),
            summary,
            Roles::Governance(who),
            ("200", "The proposal, or the new version", object()),
            &[
                ("400", "bad_request: the body names the field"),
                ("404", FIXED),
                (
                    "409",
                    "catalog_conflict: not approved yet, decided already, or its files changed since its base",
                ),
                ("422", "invalid_config: the catalog it makes does not check"),
            ],
        );
        decision["parameters"] = json!([id.clone()]);
        if let Some(field) = field {
            decision["requestBody"] = json!({"required": false, "content": {"application/json": {
                "schema": {"type": "object", "properties": {field: string()}},
            }}});
        }
        paths.insert(
            format!("/v1/catalog/proposals/{{id}}/{step}"),
            json!({"post": decision}),
        );
    }
    let mut rollback = operation(
        "rollback",
        "Activate a copy of an earlier version (the emergency path: no second person)",
        Roles::Governance("admin or approver role required"),
        ("200", "The new version", catalog_version()),
        &[
            ("400", "bad_request: version named"),
            ("404", FIXED),
            ("409", "catalog_conflict: that version runs already"),
        ],
    );
    rollback["requestBody"] = body(
        json!({"type": "object", "required": ["version"], "properties": {
            "version": integer(), "reason": string(),
        }}),
    );
    paths.insert("/v1/catalog/rollback".into(), json!({"post": rollback}));
}

/// Every path of this part, each served on the admin listener (`servers`).
pub(super) fn paths(servers: &Value) -> Map<String, Value> {
    let mut paths = Map::new();
    delivery_paths(&mut paths);
    governance_paths(&mut paths);
    for item in paths.values_mut() {
        item["servers"] = servers.clone();
    }
    paths
}

/// A hub started with a fixed catalog takes no catalog changes.
const FIXED: &str = "not_found: no such proposal or version, or the hub runs a fixed catalog";
