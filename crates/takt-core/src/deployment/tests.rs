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
    assert_eq!(deployment.interfaces.len(), 7);
    assert_eq!(deployment.policies.len(), 1);
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
    let cases = [
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
