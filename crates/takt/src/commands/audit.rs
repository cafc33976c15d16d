//! `takt audit verify`: walk the audit chain of the configured store.

use serde_json::json;
use takt_core::audit::{VerifyError, verify_store};

use crate::Outcome;
use crate::cli::{Cli, DeploymentArgs};
use crate::output::Output;

pub fn verify(cli: &Cli, args: &DeploymentArgs, out: &Output) -> anyhow::Result<Outcome> {
    let (deployment, _) = super::deployment(cli, args)?;
    let result = super::runtime()?.block_on(async {
        let store = super::open_store(&deployment.server.storage).await?;
        anyhow::Ok(verify_store(store.as_ref()).await)
    })?;
    match result {
        Ok(entries) => {
            if out.is_json() {
                out.json(&json!({"intact": true, "entries": entries}))?;
            } else {
                crate::say!("audit chain intact: {entries} entries verified");
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
