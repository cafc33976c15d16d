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
fn code_of(error: &anyhow::Error) -> &str {
    error
        .chain()
        .find_map(|cause| {
            if let Some(e) = cause.downcast_ref::<takt_core::Error>() {
                return Some(e.code().as_str());
            }
            if let Some(e) = cause.downcast_ref::<takt_model::Error>() {
                return Some(e.code().as_str());
            }
            if let Some(e) = cause.downcast_ref::<crate::admin::AdminError>() {
                return Some(e.code());
            }
            cause
                .downcast_ref::<std::io::Error>()
                .map(|_| takt_model::ErrorCode::Io.as_str())
        })
        .unwrap_or("error")
}

/// Prints rows under a header, each column as wide as its widest cell; the
/// last column is not padded (it may be long: a reason, a detail).
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let render = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.zip(&widths).enumerate() {
            if i + 1 == widths.len() {
                text.push_str(cell);
            } else {
                let pad = width.saturating_sub(cell.chars().count());
                text.push_str(cell);
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        text.trim_end().to_owned()
    };
    line(format_args!("{}", render(&mut header.iter().copied())));
    for row in rows {
        line(format_args!(
            "{}",
            render(&mut row.iter().map(String::as_str))
        ));
    }
}

/// A Unix-milliseconds instant as `2026-11-20 08:15:31.204 UTC`.
pub fn time_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || format!("{ms} ms"),
        |t| t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string(),
    )
}

/// A span for people: `850 ms`, `12.3 s`, `4 min 05 s`, `3 h 12 min`, `2 d 4 h`.
pub fn duration_ms(ms: i64) -> String {
    let ms = ms.max(0);
    let secs = ms / 1000;
    match secs {
        0 => format!("{ms} ms"),
        1..60 => format!("{:.1} s", ms as f64 / 1000.0),
        60..3600 => format!("{} min {:02} s", secs / 60, secs % 60),
        3600..86400 => format!("{} h {:02} min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} d {} h", secs / 86400, secs % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::{duration_ms, time_ms};

    #[test]
    fn spans_and_instants_read_well() {
        assert_eq!(duration_ms(-5), "0 ms");
        assert_eq!(duration_ms(850), "850 ms");
        assert_eq!(duration_ms(12_345), "12.3 s");
        assert_eq!(duration_ms(245_000), "4 min 05 s");
        assert_eq!(duration_ms(11_520_000), "3 h 12 min");
        assert_eq!(duration_ms(187_200_000), "2 d 4 h");
        assert_eq!(time_ms(1_795_162_531_204), "2026-11-20 08:15:31.204 UTC");
    }
}
