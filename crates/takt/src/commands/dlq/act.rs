//! `takt dlq redrive` and `takt dlq discard`: named messages, or with
//! `--all-matching` every dead-lettered or in-doubt message the filters
//! match, listed and acted on in chunks of at most 1,000 per subscription.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Search;
use crate::Outcome;
use crate::admin::AdminClient;
use crate::cli::Selection;
use crate::output::Output;

/// The hub takes at most this many messages per action.
const CHUNK: usize = 1000;

/// What the hub did with one message.
#[derive(Debug, Deserialize, Serialize)]
struct Done {
    #[serde(default)]
    subscription: String,
    seq: i64,
    /// `redriven`, `discarded`, `skipped` or `not_found`.
    outcome: String,
    /// The message's state afterwards.
    state: Option<String>,
}

#[derive(Deserialize)]
struct Answer {
    results: Vec<Done>,
}

/// Redrives (`discard` none) or discards (with its reason) the selected
/// messages. Exit code 1 when a named message has no record.
pub fn run(
    client: &AdminClient,
    selection: &Selection,
    discard: Option<&str>,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let mut report = Report {
        out,
        done: Vec::new(),
    };
    match &selection.target {
        Some(subscription) if !selection.all_matching => {
            // The hub would act on a message named twice in one request twice
            // (two audit entries, and the key's hold counted twice).
            let mut seen = HashSet::new();
            let seqs: Vec<i64> = selection
                .seqs
                .iter()
                .copied()
                .filter(|seq| seen.insert(*seq))
                .collect();
            for chunk in seqs.chunks(CHUNK) {
                report.add(act(client, subscription, chunk, discard)?);
            }
        }
        _ => act_on_matches(client, selection, discard, &mut report)?,
    }
    report.finish(discard.is_some())
}

/// Lists the matches page by page (a page holds at most 1,000) and acts on
/// each page's messages, one request per subscription.
fn act_on_matches(
    client: &AdminClient,
    selection: &Selection,
    discard: Option<&str>,
    report: &mut Report<'_>,
) -> anyhow::Result<()> {
    let states = ["dead_lettered".to_owned(), "in_doubt".to_owned()];
    let search = Search {
        filters: &selection.filters,
        reason_contains: selection.reason_contains.as_deref(),
        states: &states,
        limit: None,
        page_size: selection.page_size,
    };
    super::pages(client, &search, |page| {
        let mut by_subscription: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for item in page {
            let (Some(subscription), Some(seq)) =
                (item["subscription"].as_str(), item["seq"].as_i64())
            else {
                anyhow::bail!("the hub listed a record without subscription and seq: {item}");
            };
            by_subscription
                .entry(subscription.to_owned())
                .or_default()
                .push(seq);
        }
        for (subscription, seqs) in &by_subscription {
            report.add(act(client, subscription, seqs, discard)?);
        }
        Ok(())
    })
}

/// One `POST /v1/deliveries/{subscription}/redrive|discard`.
fn act(
    client: &AdminClient,
    subscription: &str,
    seqs: &[i64],
    discard: Option<&str>,
) -> anyhow::Result<Vec<Done>> {
    let (verb, body) = match discard {
        Some(reason) => ("discard", json!({"seqs": seqs, "reason": reason})),
        None => ("redrive", json!({"seqs": seqs})),
    };
    let answer: Value = client.post(&["v1", "deliveries", subscription, verb], &body)?;
    let mut results = serde_json::from_value::<Answer>(answer)?.results;
    for done in &mut results {
        subscription.clone_into(&mut done.subscription);
    }
    Ok(results)
}

/// Results as they come: printed at once as text (so a long run shows
/// progress and an error midway leaves what was done on screen), or kept
/// for one JSON document.
struct Report<'a> {
    out: &'a Output,
    done: Vec<Done>,
}

impl Report<'_> {
    fn add(&mut self, results: Vec<Done>) {
        if !self.out.is_json() {
            for d in &results {
                crate::say!("{} {}: {}", d.subscription, d.seq, describe(d));
            }
        }
        self.done.extend(results);
    }

    fn finish(self, discard: bool) -> anyhow::Result<Outcome> {
        let acted = if discard { "discarded" } else { "redriven" };
        let count = |outcome: &str| self.done.iter().filter(|d| d.outcome == outcome).count();
        let (acted_n, skipped, not_found) = (count(acted), count("skipped"), count("not_found"));
        if self.out.is_json() {
            self.out.json(&json!({
                "results": self.done,
                "counts": {acted: acted_n, "skipped": skipped, "not_found": not_found},
            }))?;
        } else if self.done.is_empty() {
            crate::say!("no dead-lettered or in-doubt message matches");
        } else {
            crate::say!("{acted} {acted_n}, skipped {skipped}, not found {not_found}");
        }
        Ok(if not_found > 0 {
            Outcome::Failed
        } else {
            Outcome::Passed
        })
    }
}

fn describe(d: &Done) -> String {
    match (d.outcome.as_str(), d.state.as_deref()) {
        ("not_found", _) => "not found: the subscription has no record of this message".into(),
        ("skipped", Some(state)) => {
            format!("skipped: it is {state}, not dead-lettered or in doubt")
        }
        (outcome, Some(state)) if outcome != state => format!("{outcome}, now {state}"),
        (outcome, _) => outcome.to_owned(),
    }
}
