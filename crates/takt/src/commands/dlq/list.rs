//! `takt dlq list`: dead-lettered and in-doubt messages (or any state), page after page.

use serde_json::Value;

use super::{Record, Search};
use crate::Outcome;
use crate::admin::AdminClient;
use crate::cli::DlqListArgs;
use crate::output::{Output, duration_ms, table};

/// Lists the records `args` select: a table, or with `--json` an array of
/// the hub's record objects.
pub fn run(client: &AdminClient, args: &DlqListArgs, out: &Output) -> anyhow::Result<Outcome> {
    let search = Search {
        filters: &args.filters,
        reason_contains: args.reason_contains.as_deref(),
        states: &args.state,
        limit: args.limit,
        page_size: args.page_size,
    };
    let mut items: Vec<Value> = Vec::new();
    super::pages(client, &search, |page| {
        items.extend(page);
        Ok(())
    })?;
    if out.is_json() {
        out.json(&items)?;
        return Ok(Outcome::Passed);
    }
    let records = items
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<Vec<Record>, _>>()?;
    if records.is_empty() {
        crate::say!("no {} message matches", args.state.join(" or "));
        return Ok(Outcome::Passed);
    }
    print_table(&records);
    let noun = if records.len() == 1 {
        "message"
    } else {
        "messages"
    };
    crate::say!("{} {noun}", records.len());
    Ok(Outcome::Passed)
}

fn print_table(records: &[Record]) {
    let now = chrono::Utc::now().timestamp_millis();
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                r.subscription.clone(),
                r.seq.to_string(),
                r.state.clone(),
                r.contract.clone(),
                r.site.clone(),
                r.key.clone(),
                r.attempts.to_string(),
                duration_ms(now - r.updated_at_ms),
                super::one_line(&r.reason),
            ]
        })
        .collect();
    table(
        &[
            "SUBSCRIPTION",
            "SEQ",
            "STATE",
            "TYPE",
            "SITE",
            "KEY",
            "ATTEMPTS",
            "SINCE",
            "REASON",
        ],
        &rows,
    );
}
