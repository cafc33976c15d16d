use std::fs;
use std::path::{Path, PathBuf};

use super::*;

fn acme() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme")
}

fn registry_for(deployment: &Deployment) -> Registry {
    Registry::load(&deployment.contracts_dir().into_iter().collect::<Vec<_>>()).unwrap()
}

#[test]
fn the_acme_example_loads_and_checks() {
    let deployment = Deployment::load(&acme()).unwrap();
    assert_eq!(deployment.systems.len(), 6);
    assert_eq!(deployment.operators.len(), 2);
    assert_eq!(deployment.interfaces.len(), 8);
    assert_eq!(deployment.policies.len(), 1);
    assert_eq!(deployment.subscriptions.len(), 1);
    let registry = registry_for(&deployment);
    deployment.check(&registry).unwrap();
    assert_eq!(registry.units().material_conversions("CAP-200").len(), 1);
}

/// A copy of the acme example with one file replaced.
fn acme_with(relative: &str, text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&acme(), dir.path());
    fs::write(dir.path().join(relative), text).unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
        }
    }
}

fn error_of(relative: &str, text: &str) -> String {
    let dir = acme_with(relative, text);
    let loaded = Deployment::load(dir.path()).and_then(|d| {
        d.check(&registry_for(&d))?;
        Ok(d)
    });
    let message = loaded.unwrap_err().to_string();
    assert!(
        message.starts_with(&dir.path().display().to_string()),
        "{message}"
    );
    message
}

#[test]
fn mistakes_name_the_file_and_the_field() {
    let system = fs::read_to_string(acme().join("systems/mes-plant1010.toml")).unwrap();
    let interface = fs::read_to_string(acme().join("interfaces/mes1010-production.toml")).unwrap();
    let subscription =
        fs::read_to_string(acme().join("subscriptions/erp-goods-movements.toml")).unwrap();
    let sub = "subscriptions/erp-goods-movements.toml";
    let cases = [
        (
            sub,
            subscription.replace("destination = \"erp-central\"", "destination = \"erp-x\""),
            "field `destination`: unknown system \"erp-x\"",
        ),
        (
            sub,
            subscription.replace("sites = [", "versions = [\"9.0\"]\nsites = ["),
            "field `versions`: mfg.material.consumed.v1 has no version \"9.0\"",
        ),
        (
            sub,
            subscription.replace("max_attempts = 10", "max_attempts = 0"),
            "field `policy.max_attempts`: must be at least 1",
        ),
        (
            sub,
            subscription.replace("/erp/goods-movements", "/erp/{order}"),
            "field `connector.url`: unknown placeholder {order}",
        ),
        (
            sub,
            subscription.replace("method = \"POST\"", "method = \"GET\""),
            "field `connector.method`: \"GET\" is not POST or PUT",
        ),
        (
            sub,
            subscription.replace("kind = \"http\"", "kind = \"carrier-pigeon\""),
            "unknown variant `carrier-pigeon`",
        ),
        (
            "mappings/erp-goods-movement.jq",
            "{BWART: .data.siteId".to_owned(),
            "field `mapping`: mapping mappings/erp-goods-movement.jq: expected",
        ),
        (
            "systems/mes-plant1010.toml",
            system.replace("owner =", "ownr ="),
            "unknown field `ownr`",
        ),
        (
            "systems/mes-plant1010.toml",
            system.replace("name = \"mes-plant1010\"", "name = \"mes-plant1011\""),
            "field `name` is \"mes-plant1011\" but the file is named \"mes-plant1010\"",
        ),
        (
            "systems/mes-plant1010.toml",
            system.replace("sites = [\"1010\"]", "sites = []"),
            "field `sites` is empty",
        ),
        (
            "systems/mes-plant1010.toml",
            system.replace("sha256 = \"", "sha256 = \"XY"),
            "field `sha256` must be 64 lowercase hex digits",
        ),
        (
            "interfaces/mes1010-production.toml",
            interface.replace(
                "producers = [\"mes-plant1010\"]",
                "producers = [\"mes-plant9999\"]",
            ),
            "field `producers`: unknown system \"mes-plant9999\"",
        ),
        (
            "interfaces/mes1010-production.toml",
            interface.replace("mfg.material.consumed.v1", "mfg.material.teleported.v1"),
            "field `contracts`: unknown contract \"mfg.material.teleported.v1\"",
        ),
        (
            "interfaces/mes1010-production.toml",
            interface.replace("per_second = 500", "per_second = 0"),
            "field `rate_limit`: per_second and burst must be at least 1",
        ),
        (
            "interfaces/mes1010-production.toml",
            interface.replace("pattern = \"event\"", "pattern = \"stream\""),
            "unknown variant `stream`",
        ),
        (
            "takt.toml",
            "[server]\ndata_listen = \"nowhere\"\n".to_owned(),
            "invalid socket address",
        ),
    ];
    for (file, text, expected) in cases {
        let message = error_of(file, &text);
        assert!(message.contains(expected), "{file}: {message}");
        assert!(message.contains(file), "{message}");
    }
}

#[test]
fn a_key_configured_twice_is_refused() {
    let erp = fs::read_to_string(acme().join("systems/erp-central.toml")).unwrap();
    let mes = fs::read_to_string(acme().join("systems/mes-plant1010.toml")).unwrap();
    let hash_line = erp.lines().find(|l| l.starts_with("sha256")).unwrap();
    let mes_hash = mes.lines().find(|l| l.starts_with("sha256")).unwrap();
    let message = error_of(
        "systems/mes-plant1010.toml",
        &mes.replace(mes_hash, hash_line),
    );
    assert!(
        message.contains("the same key is configured twice"),
        "{message}"
    );
}

#[test]
fn the_empty_deployment_has_defaults() {
    let deployment = Deployment::default();
    assert!(deployment.systems.is_empty());
    assert_eq!(
        deployment.server.server.data_listen.to_string(),
        "127.0.0.1:8080"
    );
    assert_eq!(
        deployment.server.server.admin_listen.to_string(),
        "127.0.0.1:8081"
    );
}

#[test]
fn the_acme_erp_subscription_maps_a_consumption_to_a_goods_movement() {
    let deployment = Deployment::load(&acme()).unwrap();
    let registry = registry_for(&deployment);
    let (origin, code) = &deployment.subscription_mappings["erp-goods-movements"];
    let mapping = crate::mapping::Mapping::compile(origin, code).unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../contracts/mfg.material.consumed.v1/examples/valid-lot-managed.json");
    let event: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(example).unwrap()).unwrap();
    let env = crate::mapping::MapEnv {
        units: registry.units(),
        on: chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
    };
    assert_eq!(
        mapping.run(&event, env).unwrap(),
        serde_json::json!({
            "BWART": "261", "WERKS": "1010", "AUFNR": "100012345", "VORNR": "0010",
            "MATNR": "RM-4711", "MENGE": "12.500", "MEINS": "KG",
            "BUDAT": "2026-11-20T08:15:30Z", "EXTID": "0193a3f0-6c2e-7b1a-9d4e-2f5a6b7c8d90",
            "CHARG": "L2026-1187", "LGORT": "0001"
        })
    );
    let mut unknown = event;
    unknown["data"]["qty"]["uom"] = "TNE".into();
    let error = mapping.run(&unknown, env).unwrap_err();
    assert!(error.message.contains("no ERP unit for TNE"), "{error}");
}

#[test]
fn sync_tables_are_checked_field_by_field() {
    let file = "interfaces/erp-production-orders.toml";
    let orders = fs::read_to_string(acme().join(file)).unwrap();
    let query_file = "interfaces/stock-availability.toml";
    let query = fs::read_to_string(acme().join(query_file)).unwrap();
    let events = fs::read_to_string(acme().join("interfaces/mes1010-production.toml")).unwrap();
    let cases = [
        (
            file,
            orders.replace("destination = \"mes-plant1010\"", "destination = \"mes-x\""),
            "field `sync.destination`: unknown system \"mes-x\"",
        ),
        (
            file,
            orders.replace("/mes/orders/release", "/mes/{order}"),
            "field `sync.connector.url`: unknown placeholder {order}",
        ),
        (
            file,
            orders.replace("timeout_ms = 5000", "timeout_ms = 5000\ncache_ttl_ms = 100"),
            "field `sync.cache_ttl_ms`: only query answers are cached",
        ),
        (
            file,
            orders.replace("timeout_ms = 5000", "timeout_ms = 0"),
            "field `sync.timeout_ms`: must be more than 0",
        ),
        (
            file,
            orders.replace("timeout_ms = 5000", "timeout = 5000"),
            "unknown field `timeout`",
        ),
        (
            file,
            orders.replace("mes1010-order-release.jq", "missing.jq"),
            "field `sync.request_mapping`: cannot read",
        ),
        (
            query_file,
            query.replace("cache_ttl_ms = 2000", "on_unavailable = \"queue\""),
            "field `sync.on_unavailable`: a query cannot wait in a queue",
        ),
        (
            "interfaces/mes1010-production.toml",
            format!(
                "{events}\n[sync]\ndestination = \"erp-central\"\n[sync.connector]\nurl = \"http://h/x\"\n"
            ),
            "field `sync`: only command and query interfaces answer synchronously",
        ),
        (
            "mappings/mes1010-release-answer.jq",
            "{commandId: .request.id".to_owned(),
            "field `sync.response_mapping`: mapping mappings/mes1010-release-answer.jq: expected",
        ),
    ];
    for (file, text, expected) in cases {
        let message = error_of(file, &text);
        assert!(message.contains(expected), "{file}: {message}");
    }
}

/// Runs the acme mapping `file` on `input`.
fn run_acme_mapping(file: &str, input: &serde_json::Value) -> serde_json::Value {
    let deployment = Deployment::load(&acme()).unwrap();
    let registry = registry_for(&deployment);
    let code = fs::read_to_string(acme().join(file)).unwrap();
    let mapping = crate::mapping::Mapping::compile(file, &code).unwrap();
    let env = crate::mapping::MapEnv {
        units: registry.units(),
        on: chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
    };
    mapping.run(input, env).unwrap()
}

#[test]
fn the_acme_availability_query_is_asked_and_answered_in_canonical_form() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../contracts/mfg.inventory.availability.query.v1/examples/valid-material-unrestricted.json",
    );
    let query: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(example).unwrap()).unwrap();
    let asked = run_acme_mapping("mappings/erp-availability-request.jq", &query);
    assert_eq!(
        asked,
        serde_json::json!({"WERKS": "1010", "MATNR": "RM-4711", "STATUS": ["UnRestricted"]})
    );
    let erp = serde_json::json!({"LABST": "120.5", "MEINS": "KG", "AS_OF": "2026-11-26T08:00:00Z",
        "LOTS": [{"CHARG": "L2026-1187", "MENGE": "120.5", "STATUS": "F"}]});
    let input = crate::sync::answer_input(&query, 200, &erp.to_string());
    let answer = run_acme_mapping("mappings/erp-availability-answer.jq", &input);
    assert_eq!(answer["queryId"], "MES01-Q-20250114-0193");
    assert_eq!(
        answer["availableQty"],
        serde_json::json!({"value": "120.5", "uom": "KGM"})
    );
    assert_eq!(answer["lots"][0]["stockStatus"], "UnRestricted");
    // The answer is the contract's definitions/response.
    let schema: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../contracts/mfg.inventory.availability.query.v1/1.0.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut response = schema["definitions"]["response"].clone();
    response["definitions"] = schema["definitions"].clone();
    let validator = jsonschema::validator_for(&response).unwrap();
    assert!(validator.is_valid(&answer), "{answer}");
}
