//! Printing results as text for people or JSON for scripts.

use serde::Serialize;

/// Where command results go, and in which form.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    /// `json` selects machine-readable output.
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// Whether JSON output was asked for.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints a value as pretty JSON on standard output.
    pub fn json<T: Serialize>(&self, value: &T) -> anyhow::Result<()> {
        println!("{}", serde_json::to_string_pretty(value)?);
        Ok(())
    }

    /// Reports an error that stopped the command (exit code 3).
    pub fn error(&self, error: &anyhow::Error) {
        if self.json {
            let code = error
                .downcast_ref::<takt_core::Error>()
                .map_or("error", |e| e.code().as_str());
            let body =
                serde_json::json!({"error": {"code": code, "message": format!("{error:#}")}});
            println!("{body}");
        } else {
            eprintln!("error: {error:#}");
        }
    }
}
