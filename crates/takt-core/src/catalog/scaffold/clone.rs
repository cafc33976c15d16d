//! Clones of a plant's own systems, interfaces and subscriptions, and of
//! the mapping and schema files they name.

use std::fs;
use std::path::Path;

use toml::de::DeTable;

use super::edit::{Edits, comment_lines, replace_code, strings, toml_string};
use super::{Action, PLACEHOLDER_HOST, PlantRequest, ScaffoldFile, read, refused};
use crate::catalog::fixtures::fixtures_dir;
use crate::deployment::Deployment;
use crate::{Error, Result};

/// Fields that name a file of the deployment: copied when their path
/// carries the plant code.
const FILE_FIELDS: [&str; 5] = [
    "native.mapping",
    "native.schema",
    "mapping",
    "sync.request_mapping",
    "sync.response_mapping",
];

/// Fields holding the address of a system: never cloned, since the new
/// plant's system lives elsewhere.
const URL_FIELDS: [&str; 2] = ["connector.url", "sync.connector.url"];
const HOST_FIELDS: [&str; 1] = ["connector.host"];

/// Where the files are, and which plant becomes which.
pub(super) struct Context<'a> {
    pub(super) root: &'a Path,
    pub(super) request: PlantRequest<'a>,
}

impl Context<'_> {
    fn replace(&self, text: &str) -> String {
        replace_code(text, self.request.from, self.request.plant)
    }

    fn header(&self, source: &str, todos: &[String]) -> String {
        let PlantRequest { plant, from } = self.request;
        let mut header = format!(
            "# Scaffolded for plant {plant} from {source} by\n# `takt catalog scaffold plant {plant} --from {from}`: {from} became {plant} throughout.\n"
        );
        for todo in todos {
            header.push_str(&format!("# TODO: {todo}\n"));
        }
        header
    }
}

/// The new plant's copy of system `old`: acting for the new plant only, and
/// without API keys (a TODO says how to add one).
pub(super) fn system(
    deployment: &Deployment,
    context: &Context<'_>,
    old: &str,
    new: &str,
) -> Result<ScaffoldFile> {
    let source = format!("systems/{old}.toml");
    let config = deployment
        .systems
        .get(old)
        .ok_or_else(|| refused(format!("no system {old}")))?;
    let plant = context.request.plant;
    let todos = [
        "check the description, owner and contact".to_owned(),
        format!("add {new}'s API key (at the end of this file)"),
    ];
    let mut text = context.header(&source, &todos);
    for (key, value) in [
        ("name", new.to_owned()),
        ("description", context.replace(&config.description)),
        ("owner", context.replace(&config.owner)),
        ("contact", context.replace(&config.contact)),
    ] {
        text.push_str(&format!("{key} = {}\n", toml_string(&value)));
    }
    text.push_str(&format!("sites = [{}]\n", toml_string(plant)));
    text.push_str(&format!(
        "\n# TODO: {new} has no API key yet, so it cannot send. Run `takt key new`,\n# give the key to the system's administrators, and paste the [[credentials]]\n# block it prints here (only the key's SHA-256 is kept, never the key).\n"
    ));
    Ok(ScaffoldFile {
        path: format!("systems/{new}.toml"),
        action: Action::New,
        source,
        notes: vec![format!("acts for {plant} only; no API key yet")],
        todos: count_todos(&text),
        text,
    })
}

fn count_todos(text: &str) -> usize {
    text.lines().filter(|l| l.contains("TODO")).count()
}

/// `scheme://todo.invalid/path`: the address's path kept, its host replaced.
fn placeholder_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let path = rest.find('/').map_or("", |at| &rest[at..]);
    format!("{scheme}://{PLACEHOLDER_HOST}{path}")
}

/// The clone of the interface or subscription file `source` as `target`,
/// followed by copies of the files it names whose paths change.
pub(super) fn file(context: &Context<'_>, source: &str, target: &str) -> Result<Vec<ScaffoldFile>> {
    let text = read(context.root, source)?;
    let path = context.root.join(source);
    let table = DeTable::parse(&text).map_err(|e| Error::toml(&path, &text, &e))?;
    let values = strings(table.get_ref());
    let mut edits = Edits::default();
    let mut todos = Vec::new();
    let mut copies = Vec::new();
    for value in &values {
        let field = value.path.as_str();
        let new = if URL_FIELDS.contains(&field) {
            todos.push(format!(
                "set {field}: it points at {PLACEHOLDER_HOST} until you do (was {})",
                value.value
            ));
            placeholder_url(&value.value)
        } else if HOST_FIELDS.contains(&field) {
            todos.push(format!(
                "set {field}: it is {PLACEHOLDER_HOST} until you do (was {})",
                value.value
            ));
            PLACEHOLDER_HOST.to_owned()
        } else {
            let new = context.replace(&value.value);
            if FILE_FIELDS.contains(&field) && new != value.value {
                copies.push((value.value.clone(), new.clone()));
            }
            new
        };
        if new != value.value {
            edits.replace(value.span.clone(), toml_string(&new));
        }
    }
    for range in comment_lines(&text, &values) {
        let line = &text[range.clone()];
        let new = context.replace(line);
        if new != line {
            edits.replace(range, new);
        }
    }
    let body = edits.apply(&text);
    let mut notes = vec![format!("cloned from {source}")];
    notes.extend(todos.iter().map(|t| format!("TODO: {t}")));
    let text = context.header(source, &todos) + &body;
    let mut files = vec![ScaffoldFile {
        path: target.to_owned(),
        action: Action::New,
        source: source.to_owned(),
        notes,
        todos: count_todos(&text),
        text,
    }];
    for (old, new) in copies {
        files.extend(copy_with_fixtures(context, &old, &new)?);
    }
    Ok(files)
}

/// A copy of the file `old` as `new`, the plant code replaced, and of its
/// fixtures when it is a mapping that has some.
fn copy_with_fixtures(context: &Context<'_>, old: &str, new: &str) -> Result<Vec<ScaffoldFile>> {
    let PlantRequest { plant, from } = context.request;
    let note = format!(
        "copied with {from} replaced by {plant}: check that plant {plant}'s system sends the same format"
    );
    let copy = |old: String, new: String, text: String| ScaffoldFile {
        path: new,
        action: Action::New,
        source: old,
        notes: vec![note.clone()],
        todos: 0,
        text,
    };
    let mut files = vec![copy(
        old.to_owned(),
        new.to_owned(),
        context.replace(&read(context.root, old)?),
    )];
    let (old_dir, new_dir) = (fixtures_dir(old), fixtures_dir(new));
    let dir = context.root.join(&old_dir);
    if !old.ends_with(".jq") || !dir.is_dir() {
        return Ok(files);
    }
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map_err(|e| Error::io(&dir, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let source = format!("{old_dir}/{name}");
        let text = context.replace(&read(context.root, &source)?);
        let target = format!("{new_dir}/{}", context.replace(&name));
        files.push(copy(source, target, text));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::placeholder_url;

    #[test]
    fn addresses_keep_their_path_and_lose_their_host() {
        assert_eq!(
            placeholder_url("http://127.0.0.1:9110/mes/orders/release"),
            "http://todo.invalid/mes/orders/release"
        );
        assert_eq!(
            placeholder_url("amqp://rabbit:5672/%2f"),
            "amqp://todo.invalid/%2f"
        );
        assert_eq!(
            placeholder_url("https://erp.example.com"),
            "https://todo.invalid"
        );
    }
}
