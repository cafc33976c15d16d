//! The file connector: a line per message in rolling NDJSON or CSV files,
//! dropped into a directory that a legacy system reads.
//!
//! A file is written under a hidden temporary name (`.<name>.part`) and is
//! renamed to its final name only when it is complete (by record count, size
//! or age, or when the hub stops), so a reader never sees half a file. Each
//! line is on disk (fsync) before its message counts as delivered. A `.part`
//! file left by a crash holds only acknowledged lines plus, at most, one torn
//! line that was never acknowledged: at start-up the torn line is cut off and
//! the file is completed, so those messages are neither lost nor doubled by
//! the connector (the engine resends what it had not recorded as delivered).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use takt_core::delivery::AttemptOutcome;
use takt_core::store::BoxFuture;
use takt_model::delivery::{FileConnector, FileFormat, SubscriptionConfig};

use super::DeliveryError;
use super::connector::{Connector, Outgoing, Report, config_error};

/// A directory of rolling files, ready to write.
pub struct FileDelivery {
    config: FileConnector,
    state: Arc<Mutex<Files>>,
    roller: tokio::task::JoinHandle<()>,
}

/// The open file and what decides when it is complete.
struct Files {
    config: FileConnector,
    prefix: String,
    open: Option<OpenFile>,
    /// Tells apart files completed within the same millisecond.
    serial: u64,
}

struct OpenFile {
    file: File,
    part: PathBuf,
    name: PathBuf,
    records: u64,
    bytes: u64,
    opened: Instant,
}

impl FileDelivery {
    /// Creates the directory if needed and completes `.part` files a crash
    /// left behind (needs a tokio runtime, for the task that completes files
    /// by age).
    pub fn new(
        subscription: &SubscriptionConfig,
        config: &FileConnector,
    ) -> Result<Self, DeliveryError> {
        let fail = |reason: String| config_error(subscription, "connector.dir", reason);
        fs::create_dir_all(&config.dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", config.dir.display())))?;
        let prefix = config
            .prefix
            .clone()
            .unwrap_or_else(|| subscription.name.clone());
        let header = config.format == FileFormat::Csv && config.header;
        recover(&config.dir, &prefix, header).map_err(|e| {
            fail(format!(
                "cannot complete files left in {}: {e}",
                config.dir.display()
            ))
        })?;
        let state = Arc::new(Mutex::new(Files {
            config: config.clone(),
            prefix,
            open: None,
            serial: 0,
        }));
        let roller = tokio::spawn(roll_by_age(Arc::downgrade(&state)));
        Ok(Self {
            config: config.clone(),
            state,
            roller,
        })
    }

    fn files(state: &Mutex<Files>) -> MutexGuard<'_, Files> {
        // A panic while writing leaves the state usable: the next write
        // checks the file it finds.
        state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Connector for FileDelivery {
    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Report> {
        Box::pin(async move {
            // Rendered without the lock, which a write holds through its fsync.
            let line = render(&self.config, &message.body);
            let line = match line {
                Ok(line) => line,
                Err(reason) => return refused(reason),
            };
            let state = self.state.clone();
            let written =
                tokio::task::spawn_blocking(move || Self::files(&state).append(&line)).await;
            match written {
                Ok(Ok(name)) => Report {
                    outcome: AttemptOutcome::Answered {
                        status: 200,
                        retry_after_ms: None,
                    },
                    response: format!("written to {}", name.display()),
                },
                Ok(Err(e)) => Report {
                    outcome: e,
                    response: String::new(),
                },
                Err(e) => Report {
                    outcome: AttemptOutcome::NoAnswer {
                        reason: format!("the file writer stopped: {e}"),
                    },
                    response: String::new(),
                },
            }
        })
    }
}

impl Drop for FileDelivery {
    /// A stopping hub completes the open file, so nothing waits for the next start.
    fn drop(&mut self) {
        self.roller.abort();
        if let Err(e) = Self::files(&self.state).complete() {
            tracing::warn!(error = %e, "cannot complete the open file at shutdown");
        }
    }
}

fn refused(reason: String) -> Report {
    Report {
        outcome: AttemptOutcome::Answered {
            status: 422,
            retry_after_ms: None,
        },
        response: reason,
    }
}

/// The message as one line of the file, ending in a line break.
fn render(config: &FileConnector, body: &[u8]) -> Result<Vec<u8>, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the mapped message is not JSON: {e}"))?;
    match config.format {
        FileFormat::Ndjson => {
            let mut line = serde_json::to_vec(&value).map_err(|e| e.to_string())?;
            line.push(b'\n');
            Ok(line)
        }
        FileFormat::Csv => {
            let mut fields = Vec::with_capacity(config.columns.len());
            for column in &config.columns {
                let field = match value.pointer(&column.pointer) {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                };
                if field.contains(['\n', '\r']) {
                    return Err(format!(
                        "column {:?} ({}) holds a line break, which CSV readers of legacy systems split; map it away",
                        column.name, column.pointer
                    ));
                }
                fields.push(field);
            }
            csv_line(config, &fields)
        }
    }
}

fn csv_line(config: &FileConnector, fields: &[String]) -> Result<Vec<u8>, String> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(u8::try_from(config.delimiter).map_err(|e| e.to_string())?)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    writer.write_record(fields).map_err(|e| e.to_string())?;
    writer.into_inner().map_err(|e| e.to_string())
}

impl Files {
    /// Appends one line durably; completes the file when it is full.
    /// Returns the final name of the file the line went into.
    fn append(&mut self, line: &[u8]) -> Result<PathBuf, AttemptOutcome> {
        if self.open.is_none() {
            self.open = Some(self.create().map_err(|e| AttemptOutcome::NotSent {
                reason: format!("cannot create a file in {}: {e}", self.config.dir.display()),
            })?);
        }
        let Some(open) = self.open.as_mut() else {
            unreachable!("a file was just opened")
        };
        if let Err(e) = write_durably(&mut open.file, line) {
            // Take the torn line back so the file holds only whole lines.
            let part = open.part.display().to_string();
            let length = open.bytes;
            if open
                .file
                .set_len(length)
                .and_then(|()| open.file.sync_data())
                .is_ok()
            {
                return Err(AttemptOutcome::NotSent {
                    reason: format!("cannot write {part}: {e}"),
                });
            }
            // Left as it is: the next start cuts the torn line off.
            self.open = None;
            return Err(AttemptOutcome::NoAnswer {
                reason: format!("write to {part} failed half-way: {e}"),
            });
        }
        open.records += 1;
        open.bytes += line.len() as u64;
        let name = open.name.clone();
        if open.records >= self.config.roll_records || open.bytes >= self.config.roll_bytes {
            // The line is on disk: a failed rename is retried by the roller
            // and at the next start, it does not undo the delivery.
            if let Err(e) = self.complete() {
                tracing::warn!(file = %name.display(), error = %e, "cannot complete a full file");
            }
        }
        Ok(name)
    }

    fn create(&mut self) -> std::io::Result<OpenFile> {
        self.serial += 1;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let file_name = format!(
            "{}-{stamp}-{:04}.{}",
            self.prefix,
            self.serial % 10_000,
            self.config.format.extension()
        );
        let name = self.config.dir.join(&file_name);
        let part = self.config.dir.join(format!(".{file_name}.part"));
        // Append mode: after a torn line is cut off (`set_len`), the next
        // line goes at the new end, not after a gap.
        let mut file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&part)?;
        let mut bytes = 0;
        if self.config.format == FileFormat::Csv && self.config.header {
            let names: Vec<String> = self.config.columns.iter().map(|c| c.name.clone()).collect();
            let header = csv_line(&self.config, &names).map_err(std::io::Error::other)?;
            write_durably(&mut file, &header)?;
            bytes = header.len() as u64;
        }
        Ok(OpenFile {
            file,
            part,
            name,
            records: 0,
            bytes,
            opened: Instant::now(),
        })
    }

    /// Renames the open file to its final name, if one is open.
    fn complete(&mut self) -> std::io::Result<()> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        if let Err(e) = publish(&open.part, &open.name) {
            self.open = Some(open);
            return Err(e);
        }
        Ok(())
    }

    fn complete_if_old(&mut self) {
        let old = self.open.as_ref().is_some_and(|open| {
            open.opened.elapsed() >= Duration::from_secs(self.config.roll_secs)
        });
        if old && let Err(e) = self.complete() {
            tracing::warn!(error = %e, "cannot complete a file by age");
        }
    }
}

fn write_durably(file: &mut File, bytes: &[u8]) -> std::io::Result<()> {
    file.write_all(bytes)?;
    file.sync_data()
}

/// Makes a complete `.part` file visible under its final name, durably.
fn publish(part: &Path, name: &Path) -> std::io::Result<()> {
    File::open(part)?.sync_all()?;
    fs::rename(part, name)?;
    if let Some(dir) = name.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

async fn roll_by_age(state: std::sync::Weak<Mutex<Files>>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(state) = state.upgrade() else {
            return;
        };
        let _ = tokio::task::spawn_blocking(move || FileDelivery::files(&state).complete_if_old())
            .await;
    }
}

/// Completes the `.part` files of `prefix` in `dir` left by a crash: a torn
/// last line is cut off (it was never acknowledged); a file left with no
/// line (or only its CSV header) is removed.
fn recover(dir: &Path, prefix: &str, header: bool) -> std::io::Result<()> {
    let start = format!(".{prefix}-");
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(name) = file_name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".part"))
            .filter(|_| file_name.starts_with(&start))
        else {
            continue;
        };
        let mut file = OpenOptions::new().read(true).write(true).open(&path)?;
        let mut content = Vec::new();
        file.read_to_end(&mut content)?;
        let whole = content
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let lines = content[..whole].iter().filter(|b| **b == b'\n').count();
        let header_only = header && lines <= 1;
        if whole == 0 || header_only {
            fs::remove_file(&path)?;
            continue;
        }
        file.set_len(whole as u64)?;
        tracing::info!(file = %name, "completing a file left by an earlier run");
        publish(&path, &dir.join(name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use takt_model::delivery::ConnectorConfig;

    use super::*;

    fn csv_config(extra: &str) -> FileConnector {
        let text = format!(
            "kind = \"file\"\ndir = \"out\"\nformat = \"csv\"\ncolumns = [{{ name = \"material\", pointer = \"/MATNR\" }}, {{ name = \"qty\", pointer = \"/MENGE\" }}, {{ name = \"n\", pointer = \"/n\" }}]\n{extra}"
        );
        match toml::from_str(&text).unwrap() {
            ConnectorConfig::File(file) => file,
            _ => unreachable!(),
        }
    }

    #[test]
    fn csv_lines_quote_what_needs_quoting() {
        let config = csv_config("delimiter = \";\"");
        let line = render(&config, br#"{"MATNR":"RM;4711","MENGE":"25","n":3}"#).unwrap();
        assert_eq!(line, b"\"RM;4711\";25;3\n");
        let missing = render(&config, br#"{"MATNR":"a \"b\""}"#).unwrap();
        assert_eq!(missing, b"\"a \"\"b\"\"\";;\n");
        let broken = render(&config, br#"{"MATNR":"two\nlines"}"#).unwrap_err();
        assert!(broken.contains("material"), "{broken}");
        assert!(
            render(&config, b"not json")
                .unwrap_err()
                .contains("not JSON")
        );
    }

    #[test]
    fn recovery_cuts_a_torn_line_and_completes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir
            .path()
            .join(".erp-20261202T000000.000Z-0001.ndjson.part");
        fs::write(&part, b"{\"a\":1}\n{\"a\":2}\n{\"a\":").unwrap();
        let empty = dir.path().join(".erp-20261202T000000.000Z-0002.csv.part");
        fs::write(&empty, b"material,qty\n").unwrap();
        let other = dir.path().join(".other-1.ndjson.part");
        fs::write(&other, b"{}").unwrap();
        recover(dir.path(), "erp", true).unwrap();
        let done = dir.path().join("erp-20261202T000000.000Z-0001.ndjson");
        assert_eq!(fs::read(done).unwrap(), b"{\"a\":1}\n{\"a\":2}\n");
        assert!(!part.exists() && !empty.exists());
        assert!(other.exists(), "another subscription's file is left alone");
        // Without a header line, one record is a delivered message: kept.
        let one = dir.path().join(".plain-20261202T000000.000Z-0001.csv.part");
        fs::write(&one, b"A;1\n").unwrap();
        recover(dir.path(), "plain", false).unwrap();
        let kept = dir.path().join("plain-20261202T000000.000Z-0001.csv");
        assert_eq!(fs::read(kept).unwrap(), b"A;1\n");
    }
}
