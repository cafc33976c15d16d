//! JWT verification with real signatures from test-only keys.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, get_current_timestamp};
use serde_json::{Value, json};
use takt_core::deployment::Deployment;
use takt_engine::{JwtVerifier, Principals};
use takt_model::config::JwtConfig;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jwt")
}

fn config() -> JwtConfig {
    JwtConfig {
        issuer: "https://login.acme.example/".into(),
        audience: "takt".into(),
        jwks_file: "jwks.json".into(),
        algorithms: vec!["ES256".into(), "RS256".into()],
        leeway_secs: 30,
        principal_claim: "sub".into(),
    }
}

fn jwks() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("jwks.json")).unwrap()).unwrap()
}

fn verifier() -> JwtVerifier {
    JwtVerifier::new(&config(), &jwks(), "jwks.json").unwrap()
}

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap()
}

fn claims(overrides: Value) -> Value {
    let now = get_current_timestamp();
    let mut claims = json!({"iss": "https://login.acme.example/", "aud": "takt", "sub": "mes-plant1010", "iat": now, "nbf": now, "exp": now + 300});
    claims
        .as_object_mut()
        .unwrap()
        .extend(overrides.as_object().unwrap().clone());
    claims
}

fn es256(kid: &str, key: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.into());
    encode(
        &header,
        claims,
        &EncodingKey::from_ec_pem(&pem(key)).unwrap(),
    )
    .unwrap()
}

#[test]
fn valid_tokens_name_their_principal() {
    let v = verifier();
    assert_eq!(
        v.principal_name(&es256(
            "acme-idp-es256",
            "idp-es256.pem",
            &claims(json!({}))
        ))
        .as_deref(),
        Some("mes-plant1010")
    );
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("acme-idp-rs256".into());
    let rs = encode(
        &header,
        &claims(json!({"sub": "erp-central"})),
        &EncodingKey::from_rsa_pem(&pem("idp-rs256.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(v.principal_name(&rs).as_deref(), Some("erp-central"));
    // Within the 30 s leeway.
    let just_expired = claims(json!({"exp": get_current_timestamp() - 10}));
    assert!(
        v.principal_name(&es256("acme-idp-es256", "idp-es256.pem", &just_expired))
            .is_some()
    );
}

#[test]
fn invalid_tokens_name_nobody() {
    let v = verifier();
    let now = get_current_timestamp();
    let cases = [
        (
            "expired",
            es256(
                "acme-idp-es256",
                "idp-es256.pem",
                &claims(json!({"exp": now - 120})),
            ),
        ),
        (
            "not yet valid",
            es256(
                "acme-idp-es256",
                "idp-es256.pem",
                &claims(json!({"nbf": now + 600})),
            ),
        ),
        (
            "wrong issuer",
            es256(
                "acme-idp-es256",
                "idp-es256.pem",
                &claims(json!({"iss": "https://evil.example/"})),
            ),
        ),
        (
            "wrong audience",
            es256(
                "acme-idp-es256",
                "idp-es256.pem",
                &claims(json!({"aud": "another-app"})),
            ),
        ),
        (
            "forged with another key",
            es256("acme-idp-es256", "attacker-es256.pem", &claims(json!({}))),
        ),
        (
            "unknown kid",
            es256("rotated-away", "idp-es256.pem", &claims(json!({}))),
        ),
        (
            "no principal claim",
            es256(
                "acme-idp-es256",
                "idp-es256.pem",
                &claims(json!({"sub": null})),
            ),
        ),
        (
            "no exp",
            es256("acme-idp-es256", "idp-es256.pem", &{
                let mut c = claims(json!({}));
                c.as_object_mut().unwrap().remove("exp");
                c
            }),
        ),
    ];
    for (why, token) in cases {
        assert_eq!(v.principal_name(&token), None, "{why}");
    }
}

#[test]
fn alg_none_and_algorithm_confusion_are_refused() {
    let v = verifier();
    let part = |value: Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let none = format!(
        "{}.{}.",
        part(json!({"alg": "none", "typ": "JWT"})),
        part(claims(json!({})))
    );
    assert_eq!(v.principal_name(&none), None);

    // HS256 "signed" with the RSA public key's modulus as the HMAC secret.
    let modulus = jwks()["keys"][1]["n"].as_str().unwrap().to_owned();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("acme-idp-rs256".into());
    let confused = encode(
        &header,
        &claims(json!({})),
        &EncodingKey::from_secret(modulus.as_bytes()),
    )
    .unwrap();
    assert_eq!(v.principal_name(&confused), None);
}

#[test]
fn only_asymmetric_algorithms_can_be_configured() {
    let mut hmac = config();
    hmac.algorithms = vec!["HS256".into()];
    let err = JwtVerifier::new(&hmac, &jwks(), "jwks.json")
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"HS256\" is not allowed"), "{err}");
    let err = JwtVerifier::new(&config(), &json!({"keys": []}), "jwks.json")
        .unwrap_err()
        .to_string();
    assert!(err.contains("holds no keys"), "{err}");
    let mut eddsa_only = config();
    eddsa_only.algorithms = vec!["EdDSA".into()];
    let err = JwtVerifier::new(&eddsa_only, &jwks(), "jwks.json")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no key in the JWKS fits the configured algorithms [\"EdDSA\"]"),
        "{err}"
    );
}

#[test]
fn a_deployment_with_auth_jwt_accepts_tokens_for_its_principals() {
    let acme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme");
    let dir = tempfile::tempdir().unwrap();
    for sub in ["systems", "operators", "interfaces", "mappings"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for entry in std::fs::read_dir(acme.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            // mappings/ also holds the mappings' fixture directories.
            if path.is_file() {
                std::fs::copy(&path, dir.path().join(sub).join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    std::fs::copy(fixtures().join("jwks.json"), dir.path().join("jwks.json")).unwrap();
    let interface = dir.path().join("interfaces/mes1010-production.toml");
    let text = std::fs::read_to_string(&interface).unwrap();
    std::fs::write(&interface, &text[..text.find("[native]").unwrap()]).unwrap();
    std::fs::write(
        dir.path().join("takt.toml"),
        "[auth.jwt]\nissuer = \"https://login.acme.example/\"\naudience = \"takt\"\njwks_file = \"jwks.json\"\nalgorithms = [\"ES256\"]\n",
    )
    .unwrap();
    let principals = Principals::from_deployment(&Deployment::load(dir.path()).unwrap()).unwrap();
    let token = es256("acme-idp-es256", "idp-es256.pem", &claims(json!({})));
    assert_eq!(
        principals.authenticate(&token).unwrap().name,
        "mes-plant1010"
    );
    let stranger = es256(
        "acme-idp-es256",
        "idp-es256.pem",
        &claims(json!({"sub": "nobody"})),
    );
    assert!(
        principals.authenticate(&stranger).is_none(),
        "a valid token for an unknown principal proves nothing"
    );
    assert_eq!(
        principals
            .authenticate("acme-demo-erp-central")
            .unwrap()
            .name,
        "erp-central",
        "API keys still work"
    );
}
