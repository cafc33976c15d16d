//! `takt dlq …`: the dead-letter queue and the in-doubt list of a running
//! hub, through its admin API (`/v1/deliveries`).

mod act;
mod list;
mod show;

use serde::Deserialize;
use serde_json::Value;

use crate::Outcome;
use crate::admin::AdminClient;
use crate::cli::{DlqArgs, DlqCommand, DlqFilters};
use crate::output::Output;

/// Runs one `takt dlq` subcommand against the hub named by `--admin-url`.
pub fn run(args: &DlqArgs, out: &Output) -> anyhow::Result<Outcome> {
    let client = AdminClient::new(&args.admin)?;
    match &args.command {
        DlqCommand::List(list) => list::run(&client, list, out),
        DlqCommand::Show { subscription, seq } => show::run(&client, subscription, *seq, out),
        DlqCommand::Redrive(redrive) => act::run(&client, &redrive.selection, None, out),
        DlqCommand::Discard(discard) => {
            act::run(&client, &discard.selection, Some(&discard.reason), out)
        }
    }
}

/// A delivery record as the admin API shows it.
#[derive(Debug, Deserialize)]
struct Record {
    subscription: String,
    seq: i64,
    id: String,
    #[serde(rename = "type")]
    contract: String,
    site: String,
    key: String,
    state: String,
    holds_key: bool,
    attempts: u32,
    next_attempt_at_ms: i64,
    reason: String,
    last_status: Option<u16>,
    last_response: String,
    accepted_at_ms: i64,
    updated_at_ms: i64,
    /// Only in `GET /v1/deliveries/{subscription}/{seq}`.
    #[serde(default)]
    history: Vec<Attempt>,
}

/// One attempt of a record's history.
#[derive(Debug, Deserialize)]
struct Attempt {
    attempt: u32,
    started_at_ms: i64,
    finished_at_ms: i64,
    outcome: String,
    status: Option<u16>,
    detail: String,
}

/// Which records to read, page after page.
struct Search<'a> {
    filters: &'a DlqFilters,
    reason_contains: Option<&'a str>,
    states: &'a [String],
    /// At most this many records in all; none: every match.
    limit: Option<u64>,
    /// Records per request (the hub takes at most 1,000).
    page_size: u16,
}

impl Search<'_> {
    /// The query parameters of `GET /v1/deliveries`, without `after` and `limit`.
    fn query(&self) -> Vec<(&'static str, String)> {
        let f = self.filters;
        let text = [
            ("subscription", f.subscription.as_deref()),
            ("destination", f.destination.as_deref()),
            ("type", f.contract.as_deref()),
            ("site", f.site.as_deref()),
            ("reason", self.reason_contains),
        ];
        let mut query: Vec<(&'static str, String)> = text
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| (name, v.to_owned())))
            .collect();
        if let Some(secs) = f.older_than_secs {
            query.push(("older_than_secs", secs.to_string()));
        }
        query.push(("state", self.states.join(",")));
        query
    }
}

/// One answer of `GET /v1/deliveries`.
#[derive(Deserialize)]
struct Page {
    items: Vec<Value>,
    next_after: Option<i64>,
}

/// Calls `each` with every page of matching records (as the hub wrote them),
/// following `next_after` until the hub has no more or `limit` is reached.
fn pages(
    client: &AdminClient,
    search: &Search<'_>,
    mut each: impl FnMut(Vec<Value>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut after = 0_i64;
    let mut left = search.limit;
    loop {
        let size = left.map_or(search.page_size.into(), |l| l.min(search.page_size.into()));
        let mut query = search.query();
        query.push(("after", after.to_string()));
        query.push(("limit", size.to_string()));
        let page: Page = serde_json::from_value(client.get(&["v1", "deliveries"], &query)?)?;
        let mut items = page.items;
        if let Some(left) = left.as_mut() {
            items.truncate(usize::try_from(*left).unwrap_or(usize::MAX));
            *left -= items.len() as u64;
        }
        each(items)?;
        match page.next_after {
            // A cursor that does not move would loop for ever.
            Some(next) if next > after && left != Some(0) => after = next,
            _ => return Ok(()),
        }
    }
}

/// A reason or a body on one line, for a table cell.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
