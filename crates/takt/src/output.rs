//! Printing results as text for people or JSON for scripts.

use std::io::{ErrorKind, Write};

use serde::Serialize;

/// Writes one line to standard output. When the reader has gone away (e.g.
/// `takt contract asyncapi | head`), the process ends quietly instead of
/// panicking.
pub fn line(text: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(text).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(3);
    }
}

/// `println!` that survives a closed pipe: see [`line`].
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => { $crate::output::line(format_args!($($arg)*)) };
}

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
        line(format_args!("{}", serde_json::to_string_pretty(value)?));
        Ok(())
    }

    /// Reports an error that stopped the command (exit code 3).
    pub fn error(&self, error: &anyhow::Error) {
        if self.json {
            let body = serde_json::json!({"error": {"code": code_of(error), "message": format!("{error:#}")}});
            line(format_args!(
                "{}",
                serde_json::to_string_pretty(&body).unwrap_or_default()
            ));
        } else {
            eprintln!("error: {error:#}");
        }
    }
}

/// The stable code of the first Takt error in the chain; `io` for a file
/// problem; `error` for anything else.
fn code_of(error: &anyhow::Error) -> &'static str {
    error
        .chain()
        .find_map(|cause| {
            if let Some(e) = cause.downcast_ref::<takt_core::Error>() {
                return Some(e.code().as_str());
            }
            if let Some(e) = cause.downcast_ref::<takt_model::Error>() {
                return Some(e.code().as_str());
            }
            cause
                .downcast_ref::<std::io::Error>()
                .map(|_| takt_model::ErrorCode::Io.as_str())
        })
        .unwrap_or("error")
}
