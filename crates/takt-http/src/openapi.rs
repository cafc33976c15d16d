//! The OpenAPI 3.1 document of both listeners, generated from the routes in
//! this crate and the deployment's catalog: which command and query types
//! exist, which interfaces take native payloads (with their native schemas).

mod operations;

use serde_json::{Map, Value, json};
use takt_core::deployment::Deployment;
use takt_core::registry::{Pattern, Registry};

/// Where the two listeners are reachable, for `servers`.
#[derive(Debug, Clone)]
pub struct ServerUrls {
    /// Data plane, e.g. `http://127.0.0.1:8080`.
    pub data: String,
    /// Admin API, e.g. `http://127.0.0.1:8081`.
    pub admin: String,
}

/// Every problem status a data-plane request can end in, with its codes.
const DATA_PROBLEMS: [(&str, &str); 10] = [
    ("400", "bad_request, idempotency_key_missing"),
    ("401", "unauthenticated"),
    ("403", "forbidden: the policy's reasons are in errors[]"),
    (
        "404",
        "not_found (native route: the interface takes no native payloads)",
    ),
    ("405", "the path does not take this method"),
    ("409", "idempotency_key_in_flight, with Retry-After"),
    ("413", "payload_too_large"),
    ("415", "unsupported_media_type"),
    (
        "422",
        "validation_failed, mapping_failed, idempotency_key_reused, event_id_reused: errors[] name the JSON pointer and the rule; destination_rejected: a [sync] destination refused it (its answer in errors[] and answer)",
    ),
    ("429", "rate_limited, with Retry-After"),
];

fn problem(description: &str) -> Value {
    json!({"description": description, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

fn data_responses(accepted: &str) -> Value {
    let mut responses = Map::new();
    responses.insert(
        "202".into(),
        json!({
            "description": format!("{accepted} Durable: the events, the idempotency record and the audit entry are committed. `Idempotent-Replayed: true` marks the answer to a repeat."),
            "headers": {"Idempotent-Replayed": {"description": "true when this repeats an earlier answer", "schema": {"type": "string", "enum": ["true"]}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}},
        }),
    );
    for (status, codes) in DATA_PROBLEMS {
        responses.insert(status.into(), problem(codes));
    }
    responses.insert(
        "503".into(),
        problem("unavailable (store queue full, shutting down), destination_unavailable (a [sync] destination is away; nothing was acknowledged), with Retry-After"),
    );
    Value::Object(responses)
}

/// The answers of `POST /v1/commands/{type}`: those of every data-plane
/// post, plus 200 (answered by a `[sync]` destination) and `Location` on a
/// queued 202.
fn command_responses() -> Value {
    let mut responses = data_responses(
        "Recorded, or queued for a [sync] destination that is away (then `Location` says where to read its state).",
    );
    responses["202"]["headers"]["Location"] = json!({"description": "/v1/commands/{id} of a queued command", "schema": {"type": "string"}});
    responses["200"] = json!({
        "description": "Answered by the interface's [sync] destination; the command, the answer and the audit entry are committed.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SyncAnswer"}}},
    });
    responses
}

fn command_status() -> Value {
    json!({
        "tags": ["data plane"], "operationId": "getCommand",
        "summary": "Where a command stands: for GET, the path holds the command's id (from Location), not a type",
        "parameters": [{"name": "type", "in": "path", "required": true, "description": "the command's CloudEvents id", "schema": {"type": "string"}}],
        "responses": {
            "200": {"description": "The command's state", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CommandStatus"}}}},
            "401": problem("unauthenticated"),
            "404": problem("not_found: no such command, or not sent by this principal"),
            "503": problem("unavailable: the store does not answer"),
        },
    })
}

fn query_path(registry: &Registry, servers: &Value) -> Value {
    let queries: Vec<&str> = registry
        .contracts()
        .filter(|c| c.latest().meta.pattern == Pattern::Query)
        .map(|c| c.contract_type().as_str())
        .collect();
    let mut responses = data_responses("");
    if let Value::Object(map) = &mut responses {
        map.remove("202");
    }
    responses["200"] = json!({
        "description": "Answered by the interface's [sync] destination (or its cache); nothing is stored.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SyncAnswer"}}},
    });
    json!({
        "servers": servers,
        "post": {
            "tags": ["data plane"], "operationId": "postQuery", "summary": "Ask one query; the CloudEvent's type must equal {type}",
            "parameters": [
                {"name": "type", "in": "path", "required": true, "schema": {"type": "string", "enum": queries}},
                site_header(),
            ],
            "requestBody": {"required": true, "content": {"application/cloudevents+json": {"schema": {"$ref": "#/components/schemas/CloudEvent"}}}},
            "responses": responses,
        }
    })
}

fn idempotency_header(required: bool) -> Value {
    json!({
        "name": "Idempotency-Key", "in": "header", "required": required,
        "description": "Unique per posting, the same on every retry (IETF httpapi-idempotency-key). Scoped per principal.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    })
}

fn site_header() -> Value {
    json!({"name": "Takt-Site-Id", "in": "header", "required": false, "description": "Plants this request acts for besides those in the body; authorized like them.", "schema": {"type": "string"}})
}

fn data_paths(registry: &Registry, deployment: &Deployment, servers: &Value) -> Map<String, Value> {
    let commands: Vec<&str> = registry
        .contracts()
        .filter(|c| c.latest().meta.pattern == Pattern::Command)
        .map(|c| c.contract_type().as_str())
        .collect();
    let natives: Vec<&String> = deployment.natives.keys().collect();
    let native_schemas: Vec<Value> = deployment
        .natives
        .values()
        .filter_map(|n| n.schema.as_ref().map(|(_, s)| strip(s)))
        .collect();
    let mut paths = Map::new();
    paths.insert("/v1/events".into(), json!({
        "servers": servers,
        "post": {
            "tags": ["data plane"], "operationId": "postEvents", "summary": "Post one CloudEvent or a batch",
            "parameters": [idempotency_header(false), site_header()],
            "requestBody": {"required": true, "content": {
                "application/cloudevents+json": {"schema": {"$ref": "#/components/schemas/CloudEvent"}},
                "application/json": {"schema": {"$ref": "#/components/schemas/CloudEvent"}},
                "application/cloudevents-batch+json": {"schema": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/CloudEvent"}}},
            }},
            "responses": data_responses("Accepted."),
        }
    }));
    paths.insert("/v1/commands/{type}".into(), json!({
        "servers": servers,
        "post": {
            "tags": ["data plane"], "operationId": "postCommand", "summary": "Post one command; the CloudEvent's type must equal {type}",
            "parameters": [
                {"name": "type", "in": "path", "required": true, "schema": {"type": "string", "enum": commands}},
                idempotency_header(true), site_header(),
            ],
            "requestBody": {"required": true, "content": {"application/cloudevents+json": {"schema": {"$ref": "#/components/schemas/CloudEvent"}}}},
            "responses": command_responses(),
        },
        "get": command_status(),
    }));
    paths.insert("/v1/queries/{type}".into(), query_path(registry, servers));
    paths.insert("/v1/interfaces/{interface}/messages".into(), json!({
        "servers": servers,
        "post": {
            "tags": ["data plane"], "operationId": "postNative", "summary": "Post a producer's native payload; the interface's jq mapping turns it into its canonical contract",
            "parameters": [
                {"name": "interface", "in": "path", "required": true, "schema": {"type": "string", "enum": natives}},
                idempotency_header(false), site_header(),
            ],
            "requestBody": {"required": true, "content": {"application/json": {"schema": if native_schemas.is_empty() { json!({"type": "object"}) } else { json!({"oneOf": native_schemas}) }}}},
            "responses": data_responses("Accepted."),
        }
    }));
    paths
}

/// A GET on the admin listener; one that needs no credentials has no
/// 401 or 403.
fn admin_get(
    id: &str,
    summary: &str,
    schema: Value,
    servers: &Value,
    authenticated: bool,
) -> Value {
    let mut operation = operations::operation(
        id,
        summary,
        operations::Roles::Operator,
        ("200", "OK", schema),
        &[],
    );
    if !authenticated {
        if let Some(responses) = operation["responses"].as_object_mut() {
            responses.remove("401");
            responses.remove("403");
        }
        operation["security"] = json!([]);
    }
    json!({"servers": servers, "get": operation})
}

fn admin_paths(servers: &Value) -> Map<String, Value> {
    let mut paths = Map::new();
    let status = json!({"type": "object", "properties": {"status": {"type": "string"}}});
    paths.insert(
        "/health".into(),
        admin_get("health", "Liveness", status.clone(), servers, false),
    );
    paths.insert(
        "/ready".into(),
        admin_get(
            "ready",
            "Readiness: the store answers",
            status,
            servers,
            false,
        ),
    );
    let mut metrics = admin_get(
        "metrics",
        "Prometheus metrics (text format)",
        json!({"type": "string"}),
        servers,
        false,
    );
    metrics["get"]["responses"]["200"]["content"] =
        json!({"text/plain": {"schema": {"type": "string"}}});
    paths.insert("/metrics".into(), metrics);
    paths.insert(
        "/openapi.json".into(),
        admin_get(
            "openapi",
            "This document",
            json!({"type": "object"}),
            servers,
            false,
        ),
    );
    let mut list = admin_get(
        "listMessages",
        "Messages in accepted order, filtered and paged",
        json!({"$ref": "#/components/schemas/MessagePage"}),
        servers,
        true,
    );
    list["get"]["parameters"] = json!([
        {"name": "interface", "in": "query", "schema": {"type": "string"}},
        {"name": "key", "in": "query", "description": "<kind>:<value>, e.g. order:100012345", "schema": {"type": "string"}},
        {"name": "after", "in": "query", "description": "next_after of the previous page", "schema": {"type": "integer"}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
    ]);
    list["get"]["responses"]["400"] = problem("bad_request: malformed query");
    paths.insert("/v1/messages".into(), list);
    let mut one = admin_get(
        "getMessage",
        "One message by CloudEvents id",
        json!({"$ref": "#/components/schemas/StoredMessage"}),
        servers,
        true,
    );
    one["get"]["parameters"] =
        json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}]);
    one["get"]["responses"]["404"] = problem("not_found");
    paths.insert("/v1/messages/{id}".into(), one);
    paths.insert(
        "/v1/audit/verify".into(),
        admin_get(
            "verifyAudit",
            "Walk the audit hash chain",
            json!({"$ref": "#/components/schemas/AuditVerification"}),
            servers,
            true,
        ),
    );
    paths
}

/// Drops `$schema`/`$id` so a schema can be embedded.
fn strip(schema: &Value) -> Value {
    let mut copy = schema.clone();
    if let Value::Object(map) = &mut copy {
        map.remove("$schema");
        map.remove("$id");
    }
    copy
}

fn components(registry: &Registry) -> Value {
    json!({
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "An API key, or a JWT from the configured identity provider"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
        },
        "schemas": {
            "CloudEvent": strip(registry.envelope_schema()),
            "Violation": {"type": "object", "required": ["pointer", "rule", "message"], "properties": {
                "pointer": {"type": "string", "description": "JSON pointer of the offending value"},
                "rule": {"type": "string", "description": "the JSON Schema keyword or Takt rule broken"},
                "message": {"type": "string"},
            }},
            "Problem": {"type": "object", "required": ["type", "title", "status", "detail"], "properties": {
                "type": {"type": "string", "description": "urn:takt:problem:<code>"},
                "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"},
                "errors": {"type": "array", "items": {"$ref": "#/components/schemas/Violation"}},
                "answer": {"description": "destination_rejected: the refusal through the interface's response mapping"},
            }},
            "Accepted": {"type": "object", "required": ["status"], "properties": {
                "status": {"const": "accepted"}, "id": {"type": "string"}, "ids": {"type": "array", "items": {"type": "string"}},
            }},
            "SyncAnswer": {"type": "object", "required": ["status", "id"], "properties": {
                "status": {"enum": ["delivered", "answered", "queued"]}, "id": {"type": "string"},
                "destination": {"type": "string"}, "answer": {"description": "the destination's answer through the interface's response mapping"},
                "answer_error": {"type": "string"}, "cached": {"type": "boolean"}, "location": {"type": "string"}, "reason": {"type": "string"},
            }},
            "CommandStatus": {"type": "object", "required": ["id", "status"], "properties": {
                "id": {"type": "string"}, "type": {"type": "string"}, "interface": {"type": "string"},
                "status": {"enum": ["accepted", "queued", "delivered", "rejected", "dead_lettered", "in_doubt", "discarded"]},
                "destination": {"type": ["string", "null"]}, "accepted_at_ms": {"type": "integer"}, "updated_at_ms": {"type": "integer"},
                "attempts": {"type": "integer"}, "reason": {"type": "string"}, "destination_status": {"type": "integer"},
                "answer": {}, "answer_error": {"type": "string"},
            }},
            "StoredMessage": {"type": "object", "properties": {
                "seq": {"type": "integer"}, "id": {"type": "string"}, "source": {"type": "string"}, "type": {"type": "string"},
                "dataschema": {"type": "string"}, "site": {"type": "string"}, "subject": {"type": "string"}, "partitionkey": {"type": "string"},
                "interface": {"type": "string"}, "principal": {"type": "string"}, "accepted_at_ms": {"type": "integer"},
                "business_keys": {"type": "object", "additionalProperties": {"type": "string"}},
                "message": {"$ref": "#/components/schemas/CloudEvent"},
            }},
            "MessagePage": {"type": "object", "properties": {
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/StoredMessage"}},
                "next_after": {"type": ["integer", "null"]},
            }},
            "AuditVerification": {"type": "object", "properties": {
                "intact": {"type": "boolean"}, "entries": {"type": "integer"}, "detail": {"type": "string"}, "problem": {"type": "object"},
            }},
        },
    })
}

/// The whole document.
pub fn document(
    registry: &Registry,
    deployment: &Deployment,
    urls: &ServerUrls,
    version: &str,
) -> Value {
    let data = json!([{"url": urls.data, "description": "data plane"}]);
    let admin = json!([{"url": urls.admin, "description": "admin API"}]);
    let mut paths = data_paths(registry, deployment, &data);
    paths.extend(admin_paths(&admin));
    paths.extend(operations::paths(&admin));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Takt hub",
            "version": version,
            "description": "The data plane (systems post CloudEvents, commands and native payloads) and the admin API (operators read messages, verify the audit log, scrape metrics, work the dead-letter and in-doubt lists, replay, and govern catalog changes). The two are served on separate listeners: see each path's servers.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": data,
        "security": [{"bearer": []}, {"apiKey": []}],
        "tags": [{"name": "data plane"}, {"name": "admin"}],
        "paths": paths,
        "components": components(registry),
    })
}
