//! `takt catalog propose|diff|approve|reject|activate|rollback|history|proposals`:
//! the governed changes of a running hub's catalog, through its admin API
//! (`/v1/catalog/proposals`, `/v1/catalog/versions`, `/v1/catalog/rollback`).

use anyhow::Context;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Outcome;
use crate::admin::AdminClient;
use crate::cli::{
    ApproveArgs, HubArgs, ProposalIdArgs, ProposalsArgs, ProposeArgs, RejectArgs, RollbackArgs,
};
use crate::output::{Output, table, time_ms};

#[derive(Deserialize)]
struct Proposal {
    id: i64,
    title: String,
    base_version: i64,
    state: String,
    proposer: String,
    created_at_ms: i64,
    decided_by: Option<String>,
    comment: Option<String>,
    activated_version: Option<i64>,
}

#[derive(Deserialize)]
struct Version {
    version: i64,
    kind: String,
    principal: String,
    created_at_ms: i64,
    note: String,
    digest: String,
}

#[derive(Deserialize)]
struct Review {
    proposal: Proposal,
    diff: String,
    active_version: i64,
    conflicts: Vec<String>,
}

fn proposal_path(id: i64, action: &str) -> Vec<String> {
    let mut path = vec![
        "v1".into(),
        "catalog".into(),
        "proposals".into(),
        id.to_string(),
    ];
    if !action.is_empty() {
        path.push(action.into());
    }
    path
}

/// Calls `POST` on `path` and prints the answer: JSON as it came, or `summary` of it.
fn post(
    client: &AdminClient,
    path: &[String],
    body: &Value,
    out: &Output,
    summary: impl FnOnce(Value) -> anyhow::Result<()>,
) -> anyhow::Result<Outcome> {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let answer = client.post(&path, body)?;
    if out.is_json() {
        out.json(&answer)?;
    } else {
        summary(answer)?;
    }
    Ok(Outcome::Passed)
}

fn describe(p: &Proposal) -> String {
    let decided = p
        .decided_by
        .as_deref()
        .map(|by| format!(" by {by}"))
        .unwrap_or_default();
    let version = p
        .activated_version
        .map(|v| format!(" as version {v}"))
        .unwrap_or_default();
    format!(
        "proposal {} ({}): {}{decided}{version}",
        p.id, p.title, p.state
    )
}

pub fn propose(args: &ProposeArgs, out: &Output) -> anyhow::Result<Outcome> {
    let files = takt_core::catalog::snapshot::read(&args.dir)
        .with_context(|| format!("cannot read the catalog of {}", args.dir.display()))?;
    let client = AdminClient::new(&args.admin)?;
    let mut body = json!({"title": args.title, "files": files});
    if let Some(base) = args.base {
        body["base_version"] = json!(base);
    }
    post(
        &client,
        &["v1".into(), "catalog".into(), "proposals".into()],
        &body,
        out,
        |answer| {
            let p: Proposal = serde_json::from_value(answer)?;
            crate::say!(
                "proposal {} recorded against catalog version {}; review it with `takt catalog diff {}`, then an approver runs `takt catalog approve {}`",
                p.id,
                p.base_version,
                p.id,
                p.id
            );
            Ok(())
        },
    )
}

pub fn diff(args: &ProposalIdArgs, out: &Output) -> anyhow::Result<Outcome> {
    let client = AdminClient::new(&args.admin)?;
    let path = proposal_path(args.id, "");
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let answer = client.get(&path, &[])?;
    if out.is_json() {
        out.json(&answer)?;
        return Ok(Outcome::Passed);
    }
    let review: Review = serde_json::from_value(answer)?;
    let p = &review.proposal;
    crate::say!("{}", describe(p));
    crate::say!(
        "proposed by {} on {} against version {}; version {} is active",
        p.proposer,
        time_ms(p.created_at_ms),
        p.base_version,
        review.active_version
    );
    if let Some(comment) = &p.comment {
        crate::say!("comment: {comment}");
    }
    if !review.conflicts.is_empty() {
        crate::say!(
            "conflicts: {} changed in the active version since; propose again to activate",
            review.conflicts.join(", ")
        );
    }
    print!("{}", printable(&review.diff));
    Ok(Outcome::Passed)
}

/// `text` with control characters other than newline and tab shown as
/// `\u{..}` escapes: a file cannot move the cursor or rewrite lines of the
/// diff an approver reads.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

pub fn approve(args: &ApproveArgs, out: &Output) -> anyhow::Result<Outcome> {
    let client = AdminClient::new(&args.proposal.admin)?;
    let mut body = json!({});
    if let Some(comment) = &args.comment {
        body["comment"] = json!(comment);
    }
    let path = proposal_path(args.proposal.id, "approve");
    post(&client, &path, &body, out, |answer| {
        let p: Proposal = serde_json::from_value(answer)?;
        crate::say!(
            "{}; activate it with `takt catalog activate {}`",
            describe(&p),
            p.id
        );
        Ok(())
    })
}

pub fn reject(args: &RejectArgs, out: &Output) -> anyhow::Result<Outcome> {
    let client = AdminClient::new(&args.proposal.admin)?;
    let path = proposal_path(args.proposal.id, "reject");
    post(
        &client,
        &path,
        &json!({"reason": args.reason}),
        out,
        |answer| {
            let p: Proposal = serde_json::from_value(answer)?;
            crate::say!("{}", describe(&p));
            Ok(())
        },
    )
}

pub fn activate(args: &ProposalIdArgs, out: &Output) -> anyhow::Result<Outcome> {
    let client = AdminClient::new(&args.admin)?;
    let path = proposal_path(args.id, "activate");
    post(&client, &path, &json!({}), out, |answer| {
        let v: Version = serde_json::from_value(answer)?;
        crate::say!("catalog version {} is active: {}", v.version, v.note);
        Ok(())
    })
}

pub fn rollback(args: &RollbackArgs, out: &Output) -> anyhow::Result<Outcome> {
    let client = AdminClient::new(&args.admin)?;
    let mut body = json!({"version": args.version});
    if let Some(reason) = &args.reason {
        body["reason"] = json!(reason);
    }
    let path = ["v1".into(), "catalog".into(), "rollback".into()];
    post(&client, &path, &body, out, |answer| {
        let v: Version = serde_json::from_value(answer)?;
        crate::say!("catalog version {} is active: {}", v.version, v.note);
        Ok(())
    })
}

pub fn history(args: &HubArgs, out: &Output) -> anyhow::Result<Outcome> {
    let client = AdminClient::new(&args.admin)?;
    let answer = client.get(&["v1", "catalog", "versions"], &[])?;
    if out.is_json() {
        out.json(&answer)?;
        return Ok(Outcome::Passed);
    }
    let versions: Vec<Version> = serde_json::from_value(answer["versions"].clone())?;
    let rows: Vec<Vec<String>> = versions
        .iter()
        .enumerate()
        .map(|(n, v)| {
            vec![
                format!("{}{}", v.version, if n == 0 { " (active)" } else { "" }),
                v.kind.clone(),
                v.principal.clone(),
                time_ms(v.created_at_ms),
                v.digest.chars().take(12).collect(),
                v.note.clone(),
            ]
        })
        .collect();
    table(&["VERSION", "HOW", "BY", "WHEN", "DIGEST", "NOTE"], &rows);
    Ok(Outcome::Passed)
}

pub fn proposals(args: &ProposalsArgs, out: &Output) -> anyhow::Result<Outcome> {
    let client = AdminClient::new(&args.admin)?;
    let query: Vec<(&str, String)> = args.state.iter().map(|s| ("state", s.clone())).collect();
    let answer = client.get(&["v1", "catalog", "proposals"], &query)?;
    if out.is_json() {
        out.json(&answer)?;
        return Ok(Outcome::Passed);
    }
    let list: Vec<Proposal> = serde_json::from_value(answer["proposals"].clone())?;
    if list.is_empty() {
        crate::say!("no proposals");
        return Ok(Outcome::Passed);
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|p| {
            vec![
                p.id.to_string(),
                p.state.clone(),
                p.proposer.clone(),
                p.decided_by.clone().unwrap_or_default(),
                time_ms(p.created_at_ms),
                p.title.clone(),
            ]
        })
        .collect();
    table(
        &["ID", "STATE", "PROPOSER", "DECIDED BY", "PROPOSED", "TITLE"],
        &rows,
    );
    Ok(Outcome::Passed)
}
