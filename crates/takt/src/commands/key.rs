//! `takt key new` and `takt key hash`: API keys for systems and operators.

use std::io::Read;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::Outcome;
use crate::cli::KeyCommand;
use crate::output::Output;

pub fn run(command: &KeyCommand, out: &Output) -> anyhow::Result<Outcome> {
    let key = match command {
        KeyCommand::New => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes)
                .map_err(|e| anyhow::anyhow!("no randomness available: {e}"))?;
            format!("takt_{}", hex::encode(bytes))
        }
        KeyCommand::Hash => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            text.trim().to_owned()
        }
    };
    anyhow::ensure!(!key.is_empty(), "no key on standard input");
    let sha256 = hex::encode(Sha256::digest(key.as_bytes()));
    if out.is_json() {
        let shown = matches!(command, KeyCommand::New).then_some(key.as_str());
        out.json(&json!({"key": shown, "sha256": sha256}))?;
    } else {
        if matches!(command, KeyCommand::New) {
            crate::say!("key:    {key}    (give it to the system; it is not stored anywhere)");
        }
        crate::say!("sha256: {sha256}");
        crate::say!(
            "\n[[credentials]]\nkind = \"api_key\"\nid = \"<name>-<date>\"\nsha256 = \"{sha256}\""
        );
    }
    Ok(Outcome::Passed)
}
