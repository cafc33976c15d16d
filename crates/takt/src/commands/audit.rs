//! `takt audit verify`: walk the audit chain of the configured store.

use serde_json::json;
use takt_core::audit::{VerifyError, verify_store};

use crate::Outcome;
use crate::cli::DeploymentArgs;
use crate::output::Output;

pub fn verify(args: &DeploymentArgs, out: &Output) -> anyhow::Result<Outcome> {
    let deployment = super::load_deployment(args)?;
    if let takt_model::config::StorageConfig::Sqlite { path, .. } = &deployment.server.storage {
        // Opening would create an empty database and "verify" it.
        anyhow::ensure!(
            path.exists(),
            "no database at {}: nothing to verify (check --db or the storage path in takt.toml)",
            path.display()
        );
    }
    let result = super::runtime()?.block_on(async {
        let store = super::open_store(&deployment.server.storage).await?;
        anyhow::Ok(verify_store(store.as_ref()).await)
    })?;
    match result {
        Ok(entries) => {
            if out.is_json() {
                out.json(&json!({"intact": true, "entries": entries}))?;
            } else {
                let noun = if entries == 1 { "entry" } else { "entries" };
                crate::say!("audit chain intact: {entries} {noun} verified");
            }
            Ok(Outcome::Passed)
        }
        Err(VerifyError::Tampered(tamper)) => {
            if out.is_json() {
                out.json(
                    &json!({"intact": false, "problem": tamper, "detail": tamper.to_string()}),
                )?;
            } else {
                crate::say!("AUDIT CHAIN BROKEN: {tamper}");
            }
            Ok(Outcome::Failed)
        }
        Err(VerifyError::Store(e)) => Err(e.into()),
    }
}
