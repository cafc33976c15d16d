//! Editing TOML text in place, by the spans the parser reports, so that a
//! scaffolded file keeps its source's layout and comments.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Replaces `from` by `to` wherever it is not part of a longer number:
/// `mes-plant1010` and `site:1010:mes` change, `4901010` does not.
pub fn replace_code(text: &str, from: &str, to: &str) -> String {
    if from.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + from.len()..].chars().next();
        let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
        out.push_str(&rest[..at]);
        out.push_str(if digit(before) || digit(after) {
            from
        } else {
            to
        });
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

/// A TOML basic string holding `text`.
pub fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Replacements of byte ranges of one text, applied together.
#[derive(Debug, Default)]
pub struct Edits {
    edits: Vec<(Range<usize>, String)>,
}

impl Edits {
    /// Replaces `range` by `text`.
    pub fn replace(&mut self, range: Range<usize>, text: String) {
        self.edits.push((range, text));
    }

    /// Inserts `text` at `at`.
    pub fn insert(&mut self, at: usize, text: String) {
        self.edits.push((at..at, text));
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// `text` with every edit applied (edits must not overlap).
    pub fn apply(mut self, text: &str) -> String {
        self.edits
            .sort_by_key(|(range, _)| (range.start, range.end));
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (range, replacement) in self.edits {
            if range.start < at {
                continue;
            }
            out.push_str(&text[at..range.start]);
            out.push_str(&replacement);
            at = range.end;
        }
        out.push_str(&text[at..]);
        out
    }
}

/// A string value of a document: its dotted key path, span and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringValue {
    /// E.g. `sync.connector.url` or `producers` (array items share their array's path).
    pub path: String,
    /// The literal, quotes included.
    pub span: Range<usize>,
    /// Its value.
    pub value: String,
}

/// Every string value of `table`, in document order.
pub fn strings(table: &DeTable<'_>) -> Vec<StringValue> {
    let mut found = Vec::new();
    walk_table(table, "", &mut found);
    found.sort_by_key(|s| s.span.start);
    found
}

fn walk_table(table: &DeTable<'_>, prefix: &str, found: &mut Vec<StringValue>) {
    for (key, value) in table.iter() {
        let path = if prefix.is_empty() {
            key.get_ref().to_string()
        } else {
            format!("{prefix}.{}", key.get_ref())
        };
        walk_value(value, &path, found);
    }
}

fn walk_value(value: &Spanned<DeValue<'_>>, path: &str, found: &mut Vec<StringValue>) {
    match value.get_ref() {
        DeValue::String(text) => found.push(StringValue {
            path: path.to_owned(),
            span: value.span(),
            value: text.to_string(),
        }),
        DeValue::Array(items) => {
            for item in items.iter() {
                walk_value(item, path, found);
            }
        }
        DeValue::Table(table) => walk_table(table, path, found),
        _ => {}
    }
}

/// The array at a dotted `path` (tables only, no array of tables).
pub fn array_at<'a, 'i>(table: &'a DeTable<'i>, path: &str) -> Option<&'a [Spanned<DeValue<'i>>]> {
    let mut current = table;
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        let value = current.get(key)?;
        match value.get_ref() {
            DeValue::Table(inner) if keys.peek().is_some() => current = inner,
            DeValue::Array(items) if keys.peek().is_none() => return Some(items),
            _ => return None,
        }
    }
    None
}

/// The string at a dotted `path`, if there is one.
pub fn string_at(table: &DeTable<'_>, path: &str) -> Option<String> {
    let (parents, last) = match path.rsplit_once('.') {
        Some((parents, last)) => (Some(parents), last),
        None => (None, path),
    };
    let mut current = table;
    for key in parents.into_iter().flat_map(|p| p.split('.')) {
        match current.get(key)?.get_ref() {
            DeValue::Table(inner) => current = inner,
            _ => return None,
        }
    }
    current.get(last)?.get_ref().as_str().map(str::to_owned)
}

/// An insertion that appends, to the string array at `path`, what `rename`
/// maps its items to, except what the array already holds; returns what it adds.
pub fn append_for(
    table: &DeTable<'_>,
    path: &str,
    rename: impl Fn(&str) -> Option<String>,
    edits: &mut Edits,
) -> Vec<String> {
    let Some(items) = array_at(table, path) else {
        return Vec::new();
    };
    let present: Vec<&str> = items.iter().filter_map(|i| i.get_ref().as_str()).collect();
    let mut added: Vec<String> = Vec::new();
    for new in present.iter().filter_map(|item| rename(item)) {
        if !present.contains(&new.as_str()) && !added.contains(&new) {
            added.push(new);
        }
    }
    if let (Some(last), false) = (items.last(), added.is_empty()) {
        let text: Vec<String> = added
            .iter()
            .map(|a| format!(", {}", toml_string(a)))
            .collect();
        edits.insert(last.span().end, text.concat());
    }
    added
}

/// The byte ranges of whole-line comments (`# …`) outside string values.
pub fn comment_lines(text: &str, strings: &[StringValue]) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let end = start + line.len();
        let inside = strings
            .iter()
            .any(|s| s.span.start < start && s.span.end > start);
        if line.trim_start().starts_with('#') && !inside {
            found.push(start..end);
        }
        start = end;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plant_codes_are_replaced_only_as_whole_numbers() {
        assert_eq!(
            replace_code(
                "mes-plant1010 site:1010:x 4901010 10100 1010",
                "1010",
                "3030"
            ),
            "mes-plant3030 site:3030:x 4901010 10100 3030"
        );
        assert_eq!(
            replace_code("MES1010_TOKEN", "1010", "3030"),
            "MES3030_TOKEN"
        );
    }

    #[test]
    fn strings_are_found_with_their_paths_and_edited_in_place() {
        let text = "# plant 1010\nname = \"mes1010\"\nsites = [\"1010\", \"2020\"]\n\n[sync.connector]\nurl = \"http://h/x\" # keep\n";
        let table = DeTable::parse(text).unwrap();
        let found = strings(table.get_ref());
        let paths: Vec<&str> = found.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(paths, ["name", "sites", "sites", "sync.connector.url"]);
        assert_eq!(&text[found[0].span.clone()], "\"mes1010\"");
        assert_eq!(
            string_at(table.get_ref(), "sync.connector.url").as_deref(),
            Some("http://h/x")
        );
        let mut edits = Edits::default();
        let added = append_for(
            table.get_ref(),
            "sites",
            |s| (s == "1010").then(|| "3030".to_owned()),
            &mut edits,
        );
        assert_eq!(added, ["3030"]);
        edits.replace(found[3].span.clone(), toml_string("https://todo.invalid/x"));
        let edited = edits.apply(text);
        assert!(
            edited.contains("sites = [\"1010\", \"2020\", \"3030\"]"),
            "{edited}"
        );
        assert!(
            edited.contains("url = \"https://todo.invalid/x\" # keep"),
            "{edited}"
        );
        let comments = comment_lines(text, &found);
        assert_eq!((comments.len(), comments[0].clone()), (1, 0..13));
        assert_eq!(toml_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }
}
