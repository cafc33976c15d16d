//! `takt dlq show SUBSCRIPTION SEQ`: one message's record, attempt history
//! and the destination's last answer.

use super::Record;
use crate::Outcome;
use crate::admin::AdminClient;
use crate::output::{Output, duration_ms, table, time_ms};

/// Shows one record; the hub's 404 (no record) is an error like any problem.
pub fn run(
    client: &AdminClient,
    subscription: &str,
    seq: i64,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let seq_text = seq.to_string();
    let body = client.get(&["v1", "deliveries", subscription, &seq_text], &[])?;
    if out.is_json() {
        out.json(&body)?;
        return Ok(Outcome::Passed);
    }
    let record: Record = serde_json::from_value(body)?;
    print_record(&record);
    crate::say!("");
    print_history(&record);
    Ok(Outcome::Passed)
}

fn print_record(r: &Record) {
    crate::say!("{} {}: {}", r.subscription, r.seq, r.state);
    crate::say!("  id:            {}", r.id);
    crate::say!("  type:          {}", r.contract);
    crate::say!("  site:          {}", r.site);
    let holds = if r.holds_key {
        "  (later messages of this key wait for it)"
    } else {
        ""
    };
    crate::say!("  key:           {}{holds}", r.key);
    crate::say!("  accepted:      {}", time_ms(r.accepted_at_ms));
    crate::say!("  updated:       {}", time_ms(r.updated_at_ms));
    crate::say!("  attempts:      {}", r.attempts);
    if r.state == "pending" {
        crate::say!("  next attempt:  {}", time_ms(r.next_attempt_at_ms));
    }
    if !r.reason.is_empty() {
        crate::say!("  reason:        {}", r.reason);
    }
    match r.last_status {
        Some(status) => crate::say!("  last answer:   {status}"),
        None if r.last_response.is_empty() => crate::say!("  last answer:   none"),
        None => crate::say!("  last answer:"),
    }
    for line in r.last_response.lines() {
        crate::say!("    {line}");
    }
}

fn print_history(r: &Record) {
    if r.history.is_empty() {
        crate::say!("no attempt recorded");
        return;
    }
    let rows: Vec<Vec<String>> = r
        .history
        .iter()
        .map(|a| {
            vec![
                a.attempt.to_string(),
                time_ms(a.started_at_ms),
                duration_ms(a.finished_at_ms - a.started_at_ms),
                a.outcome.clone(),
                a.status.map_or_else(|| "-".to_owned(), |s| s.to_string()),
                super::one_line(&a.detail),
            ]
        })
        .collect();
    table(
        &["ATTEMPT", "STARTED", "TOOK", "OUTCOME", "STATUS", "DETAIL"],
        &rows,
    );
}
