//! Loading and checking a deployment directory (see `takt_model::config`).
//!
//! Each file is parsed into its typed struct (unknown fields are errors);
//! then references are checked: a file's name matches its `name`, principal
//! names are unique, interfaces name known systems and contracts, credential
//! hashes are well formed and unique. Errors name the file and the field.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use takt_model::catalog::LifecycleFile;
use takt_model::config::{Credential, InterfaceConfig, OperatorConfig, ServerConfig, SystemConfig};
use takt_model::delivery::SubscriptionConfig;

use crate::registry::Registry;
use crate::{Error, Result};

mod conversions;
mod governance;
mod lifecycle;
mod subscriptions;
mod sync;

pub use conversions::ConversionSource;
pub use subscriptions::URL_PLACEHOLDERS;
pub use sync::SyncMappings;

/// Everything a deployment directory configures.
#[derive(Debug, Clone, Default)]
pub struct Deployment {
    /// The directory, when one was given.
    pub root: Option<PathBuf>,
    /// `takt.toml` (defaults when absent).
    pub server: ServerConfig,
    /// `systems/*.toml`, by name.
    pub systems: BTreeMap<String, SystemConfig>,
    /// `operators/*.toml`, by name.
    pub operators: BTreeMap<String, OperatorConfig>,
    /// `interfaces/*.toml`, by name.
    pub interfaces: BTreeMap<String, InterfaceConfig>,
    /// `policies/*.rego` as (file, text).
    pub policies: Vec<(String, String)>,
    /// The native mappings and schemas of interfaces that have `[native]`, by interface.
    pub natives: BTreeMap<String, NativeSource>,
    /// The JWKS named by `[auth.jwt] jwks_file`: (file, content).
    pub jwks: Option<(String, serde_json::Value)>,
    /// `subscriptions/*.toml`, by name: outbound interfaces.
    pub subscriptions: BTreeMap<String, SubscriptionConfig>,
    /// The jq mappings of subscriptions that have one, as (file, program), by subscription.
    pub subscription_mappings: BTreeMap<String, (String, String)>,
    /// The jq mappings of interfaces' `[sync]` tables, by interface.
    pub sync_mappings: BTreeMap<String, SyncMappings>,
    /// `lifecycle.toml`: deprecated and retired contract versions.
    pub lifecycle: LifecycleFile,
    /// `conversions.toml` with its programs: contract types delivered as others.
    pub conversions: Vec<ConversionSource>,
}

/// The files behind an interface's `[native]` section, read at load time.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeSource {
    /// The canonical contract produced.
    pub contract: String,
    /// The mapping file, for messages.
    pub mapping_origin: String,
    /// The jq program.
    pub mapping: String,
    /// The native schema file, if any, and its content.
    pub schema: Option<(String, serde_json::Value)>,
}

fn config_error(origin: &Path, reason: impl Into<String>) -> Error {
    Error::Config {
        origin: origin.display().to_string(),
        reason: reason.into(),
    }
}

/// The `.toml` (or other `extension`) files directly in `dir`, sorted; none if it does not exist.
fn files_in(dir: &Path, extension: &str) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let entries = fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.extension().and_then(|e| e.to_str()) == Some(extension) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn parse<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    toml::from_str(&text).map_err(|e| Error::toml(path, &text, &e))
}

/// Parses every file of one kind, checking that each file is named after its `name`.
fn named<T: DeserializeOwned>(
    dir: &Path,
    name_of: impl Fn(&T) -> &str,
) -> Result<BTreeMap<String, T>> {
    let mut found = BTreeMap::new();
    for path in files_in(dir, "toml")? {
        let item: T = parse(&path)?;
        let name = name_of(&item).to_owned();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if stem != name {
            return Err(config_error(
                &path,
                format!(
                    "field `name` is {name:?} but the file is named {stem:?}: name the file {name}.toml"
                ),
            ));
        }
        found.insert(name, item);
    }
    Ok(found)
}

/// Reads the mapping and schema files named by `[native]` sections.
fn read_natives(
    dir: &Path,
    interfaces: &BTreeMap<String, InterfaceConfig>,
) -> Result<BTreeMap<String, NativeSource>> {
    let mut natives = BTreeMap::new();
    for interface in interfaces.values() {
        let Some(native) = &interface.native else {
            continue;
        };
        let file = dir
            .join("interfaces")
            .join(format!("{}.toml", interface.name));
        // Files are named relative to the deployment directory: messages that
        // reach clients (mapping failures) never show server paths.
        let read = |relative: &Path, field: &str| {
            let path = dir.join(relative);
            fs::read_to_string(&path)
                .map(|text| (relative.display().to_string(), text))
                .map_err(|e| {
                    config_error(
                        &file,
                        format!(
                            "field `native.{field}`: cannot read {}: {e}",
                            path.display()
                        ),
                    )
                })
        };
        let (mapping_origin, mapping) = read(&native.mapping, "mapping")?;
        let schema = match &native.schema {
            None => None,
            Some(relative) => {
                let (origin, text) = read(relative, "schema")?;
                let value = serde_json::from_str(&text).map_err(|e| {
                    config_error(Path::new(&origin), format!("not valid JSON: {e}"))
                })?;
                Some((origin, value))
            }
        };
        natives.insert(
            interface.name.clone(),
            NativeSource {
                contract: native.contract.clone(),
                mapping_origin,
                mapping,
                schema,
            },
        );
    }
    Ok(natives)
}

impl Deployment {
    /// Loads a deployment directory. Missing parts are simply empty.
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(config_error(dir, "is not a directory"));
        }
        let server_file = dir.join("takt.toml");
        let server = if server_file.exists() {
            parse(&server_file)?
        } else {
            ServerConfig::default()
        };
        let jwks = match &server.auth.jwt {
            None => None,
            Some(jwt) => {
                let path = dir.join(&jwt.jwks_file);
                let text = fs::read_to_string(&path).map_err(|e| {
                    config_error(
                        &server_file,
                        format!(
                            "field `auth.jwt.jwks_file`: cannot read {}: {e}",
                            path.display()
                        ),
                    )
                })?;
                let value = serde_json::from_str(&text)
                    .map_err(|e| config_error(&path, format!("not valid JSON: {e}")))?;
                Some((path.display().to_string(), value))
            }
        };
        Self::load_catalog(dir, server, jwks)
    }

    /// This deployment's process settings (`takt.toml` and its JWKS) with
    /// the catalog read from `dir` instead: how the governed catalog loads
    /// a catalog version written out to a directory of its own.
    pub fn with_catalog(&self, dir: &Path) -> Result<Self> {
        Self::load_catalog(dir, self.server.clone(), self.jwks.clone())
    }

    fn load_catalog(
        dir: &Path,
        server: ServerConfig,
        jwks: Option<(String, serde_json::Value)>,
    ) -> Result<Self> {
        let mut policies = Vec::new();
        for path in files_in(&dir.join("policies"), "rego")? {
            let text = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            policies.push((path.display().to_string(), text));
        }
        let interfaces = named(&dir.join("interfaces"), |i: &InterfaceConfig| &i.name)?;
        let natives = read_natives(dir, &interfaces)?;
        let sync_mappings = sync::read_mappings(dir, &interfaces)?;
        let subscriptions = named(&dir.join("subscriptions"), |s: &SubscriptionConfig| &s.name)?;
        let subscription_mappings = subscriptions::read_mappings(dir, &subscriptions)?;
        let lifecycle_file = dir.join("lifecycle.toml");
        let lifecycle = if lifecycle_file.exists() {
            parse(&lifecycle_file)?
        } else {
            LifecycleFile::default()
        };
        let deployment = Self {
            root: Some(dir.to_owned()),
            lifecycle,
            conversions: conversions::read(dir)?,
            server,
            systems: named(&dir.join("systems"), |s: &SystemConfig| &s.name)?,
            operators: named(&dir.join("operators"), |o: &OperatorConfig| &o.name)?,
            interfaces,
            policies,
            natives,
            jwks,
            subscriptions,
            subscription_mappings,
            sync_mappings,
        };
        deployment.check_principals()?;
        Ok(deployment)
    }

    /// The deployment's own contracts directory, when it has one.
    pub fn contracts_dir(&self) -> Option<PathBuf> {
        self.root
            .as_ref()
            .map(|r| r.join("contracts"))
            .filter(|d| d.is_dir())
    }

    fn file(&self, kind: &str, name: &str) -> PathBuf {
        self.root
            .clone()
            .unwrap_or_default()
            .join(kind)
            .join(format!("{name}.toml"))
    }

    fn check_principals(&self) -> Result<()> {
        let mut hashes = BTreeSet::new();
        let principals = self
            .systems
            .values()
            .map(|s| ("systems", s.name.as_str(), &s.credentials))
            .chain(
                self.operators
                    .values()
                    .map(|o| ("operators", o.name.as_str(), &o.credentials)),
            );
        for (kind, name, credentials) in principals {
            let file = self.file(kind, name);
            if kind == "operators" && self.systems.contains_key(name) {
                return Err(config_error(
                    &file,
                    format!(
                        "field `name`: {name:?} is also a system; principal names must be unique"
                    ),
                ));
            }
            for Credential::ApiKey { id, sha256 } in credentials {
                let well_formed = sha256.len() == 64
                    && sha256
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                if !well_formed {
                    return Err(config_error(
                        &file,
                        format!(
                            "credential {id:?}: field `sha256` must be 64 lowercase hex digits (the SHA-256 of the key)"
                        ),
                    ));
                }
                if !hashes.insert(sha256.clone()) {
                    return Err(config_error(
                        &file,
                        format!("credential {id:?}: the same key is configured twice"),
                    ));
                }
            }
        }
        if let Some(system) = self.systems.values().find(|s| s.sites.is_empty()) {
            return Err(config_error(
                &self.file("systems", &system.name),
                "field `sites` is empty: list the plants it acts for, or \"*\"",
            ));
        }
        Ok(())
    }

    /// Checks that interfaces and subscriptions name known systems and
    /// registered contracts, and that their mappings compile (`[sync]`
    /// tables included): the first problem of [`Deployment::problems`].
    pub fn check(&self, registry: &Registry) -> Result<()> {
        match self.problems(registry).into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }

    /// Every problem [`Deployment::check`] finds, the first of each
    /// subscription, interface and of `lifecycle.toml`: `takt check`
    /// reports them all at once.
    pub fn problems(&self, registry: &Registry) -> Vec<Error> {
        let mut found: Vec<Error> = self
            .subscriptions
            .values()
            .filter_map(|s| self.check_subscription(s, registry).err())
            .collect();
        found.extend(self.check_lifecycle(registry).err());
        found.extend(self.check_conversions(registry).err());
        found.extend(
            self.interfaces
                .values()
                .filter_map(|i| self.check_interface(i, registry).err()),
        );
        found
    }

    fn check_interface(&self, interface: &InterfaceConfig, registry: &Registry) -> Result<()> {
        let file = self.file("interfaces", &interface.name);
        for (field, systems) in [
            ("producers", &interface.producers),
            ("consumers", &interface.consumers),
        ] {
            if let Some(unknown) = systems.iter().find(|s| !self.systems.contains_key(*s)) {
                return Err(config_error(
                    &file,
                    format!(
                        "field `{field}`: unknown system {unknown:?}; systems are defined in systems/<name>.toml"
                    ),
                ));
            }
        }
        if let Some(unknown) = interface
            .contracts
            .iter()
            .find(|c| registry.contract(c).is_none())
        {
            return Err(config_error(
                &file,
                format!(
                    "field `contracts`: unknown contract {unknown:?}; `takt contract list` shows the known ones"
                ),
            ));
        }
        if let Some(native) = &interface.native
            && !interface.contracts.contains(&native.contract)
        {
            return Err(config_error(
                &file,
                format!(
                    "field `native.contract`: {:?} is not one of this interface's contracts",
                    native.contract
                ),
            ));
        }
        if let Some(limit) = interface.rate_limit
            && (limit.per_second == 0 || limit.burst == 0)
        {
            return Err(config_error(
                &file,
                "field `rate_limit`: per_second and burst must be at least 1",
            ));
        }
        self.check_governance(interface, registry)?;
        self.check_sync(interface, registry)
    }
}

#[cfg(test)]
mod tests;
