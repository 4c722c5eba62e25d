//! `chief runs`: the run inspector — list recent runs, and show one run step by step (input
//! summary, output, guardrail verdict, tokens, source, time), to trace a bad sentence in a
//! briefing back to the step and input that produced it.

use std::fmt::Write as _;

use clap::Subcommand;

use crate::platform::db::jobs::{self, JobRecord};
use crate::platform::db::runs::{
    self as store, RunFilter, RunRecord, RunStatus, RunSummary, StepRecord,
};
use crate::platform::db::{Db, DbError};

/// Lines of an output shown without `--full`.
const OUTPUT_LINES: usize = 12;
/// Characters of an output line shown without `--full`.
const LINE_CHARS: usize = 160;

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List recent runs, newest first.
    List {
        /// How many runs to show.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// Only runs of this kind (e.g. briefing).
        #[arg(long)]
        kind: Option<String>,
        /// Only runs for this Slack user id.
        #[arg(long)]
        user: Option<String>,
        /// Only runs of this team id.
        #[arg(long)]
        team: Option<String>,
        /// Only runs with this status: running, succeeded or failed.
        #[arg(long, value_parser = parse_status)]
        status: Option<RunStatus>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one run with every step.
    Show {
        /// The run id (from `chief runs list`).
        id: i64,
        /// Show whole outputs instead of their first lines.
        #[arg(long)]
        full: bool,
        /// Print JSON (outputs as JSON values, never truncated).
        #[arg(long)]
        json: bool,
    },
}

fn parse_status(s: &str) -> Result<RunStatus, String> {
    RunStatus::parse(s).map_err(|_| format!("{s:?} is not one of running, succeeded, failed"))
}

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("no run with id {0}")]
    NotFound(i64),
}

/// Runs a `chief runs` command and returns what to print.
pub async fn execute(db: &Db, command: RunsCommand) -> Result<String, InspectError> {
    match command {
        RunsCommand::List {
            limit,
            kind,
            user,
            team,
            status,
            json,
        } => {
            let runs = store::list(
                db,
                &RunFilter {
                    team_id: team,
                    user_id: user,
                    kind,
                    status,
                    limit,
                },
            )
            .await?;
            Ok(if json {
                to_json_line(&runs)
            } else {
                format_list(&runs)
            })
        }
        RunsCommand::Show { id, full, json } => {
            let run = store::get(db, id)
                .await?
                .ok_or(InspectError::NotFound(id))?;
            let steps = store::steps(db, id).await?;
            let job = match run.job_id {
                Some(job_id) => jobs::get(db, job_id).await?,
                None => None,
            };
            Ok(if json {
                to_json_line(&run_json(&run, &steps, job.as_ref()))
            } else {
                format_run(&run, &steps, job.as_ref(), full)
            })
        }
    }
}

fn to_json_line<T: serde::Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{e}"));
    text.push('\n');
    text
}

/// The table `chief runs list` prints.
pub fn format_list(runs: &[RunSummary]) -> String {
    if runs.is_empty() {
        return "no runs\n".to_string();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>6}  {:<16}  {:<9}  {:<10}  {:<11}  {:>5}  {:>8}  {:<20}  KEY",
        "ID", "KIND", "STATUS", "TEAM", "USER", "STEPS", "TOKENS", "STARTED (UTC)"
    );
    for r in runs {
        let run = &r.run;
        let _ = writeln!(
            out,
            "{:>6}  {:<16}  {:<9}  {:<10}  {:<11}  {:>5}  {:>8}  {:<20}  {}",
            run.id,
            crate::platform::runs::shorten(&run.kind, 16),
            run.status.as_str(),
            crate::platform::runs::shorten(&run.team_id, 10),
            crate::platform::runs::shorten(run.user_id.as_deref().unwrap_or("-"), 11),
            r.steps,
            r.tokens,
            time(run.created_at),
            run.idempotency_key
        );
    }
    out
}

/// What `chief runs show ID` prints: the run, then each step with its input summary, output
/// (the first lines, unless `full`), verdict, tokens, source and timing.
pub fn format_run(
    run: &RunRecord,
    steps: &[StepRecord],
    job: Option<&JobRecord>,
    full: bool,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "run {}  {}  {}", run.id, run.kind, run.status.as_str());
    let _ = writeln!(
        out,
        "  team {}  user {}  key {}",
        run.team_id,
        run.user_id.as_deref().unwrap_or("-"),
        run.idempotency_key
    );
    let finished = match run.finished_at {
        Some(at) => format!("  finished {} ({})", time(at), seconds(at - run.created_at)),
        None => String::new(),
    };
    let _ = writeln!(out, "  started {} UTC{finished}", time(run.created_at));
    if let Some(job) = job {
        let _ = writeln!(
            out,
            "  job {}  {}  attempt {}/{}{}",
            job.id,
            job.status.as_str(),
            job.attempts,
            job.max_attempts,
            job.last_error
                .as_deref()
                .map(|e| format!("  last error: {e}"))
                .unwrap_or_default()
        );
    } else if let Some(job_id) = run.job_id {
        let _ = writeln!(out, "  job {job_id} (purged)");
    }
    if let Some(error) = &run.error {
        let _ = writeln!(out, "  error {error}");
    }
    let prompt: i64 = steps.iter().map(|s| s.prompt_tokens).sum();
    let completion: i64 = steps.iter().map(|s| s.completion_tokens).sum();
    let _ = writeln!(
        out,
        "  {} steps, tokens {} prompt + {} completion",
        steps.len(),
        prompt,
        completion
    );
    let used = propositions_used(steps);
    if !used.is_empty() {
        let _ = writeln!(out, "  {} propositions read:", used.len());
        for p in &used {
            let _ = writeln!(out, "   {}", proposition_line(p));
        }
    }
    for step in steps {
        out.push('\n');
        let _ = writeln!(
            out,
            "#{} {}  {}  {}  tokens {}+{}  {} ms  {} attempt{}  at {}",
            step.ordinal,
            step.name,
            step.status.as_str(),
            step.source.as_deref().unwrap_or("-"),
            step.prompt_tokens,
            step.completion_tokens,
            step.duration_ms,
            step.attempts,
            if step.attempts == 1 { "" } else { "s" },
            time_of_day(step.started_at)
        );
        let _ = writeln!(out, "   input   {}", step.input_summary);
        if let Some(verdict) = &step.verdict {
            let _ = writeln!(out, "   verdict {verdict}");
        }
        if let Some(error) = &step.error {
            let _ = writeln!(out, "   error   {error}");
        }
        if let Some(output) = &step.output {
            let shown = render_output(output, full);
            let mut lines = shown.lines();
            if let Some(first) = lines.next() {
                let _ = writeln!(out, "   output  {first}");
            }
            for line in lines {
                let _ = writeln!(out, "           {line}");
            }
        }
    }
    out
}

/// Pretty JSON; without `full`, the first [`OUTPUT_LINES`] lines, each cut at [`LINE_CHARS`].
fn render_output(output: &str, full: bool) -> String {
    let pretty = serde_json::from_str::<serde_json::Value>(output)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| output.to_string());
    if full {
        return pretty;
    }
    let lines: Vec<&str> = pretty.lines().collect();
    let mut shown: Vec<String> = lines
        .iter()
        .take(OUTPUT_LINES)
        .map(|l| crate::platform::runs::shorten(l, LINE_CHARS))
        .collect();
    if lines.len() > OUTPUT_LINES {
        shown.push(format!(
            "… {} more lines (--full shows all)",
            lines.len() - OUTPUT_LINES
        ));
    }
    shown.join("\n")
}

/// The JSON `chief runs show ID --json` prints: the run, its job, and its steps with outputs as
/// JSON values.
pub fn run_json(
    run: &RunRecord,
    steps: &[StepRecord],
    job: Option<&JobRecord>,
) -> serde_json::Value {
    let propositions = propositions_used(steps);
    let steps: Vec<serde_json::Value> = steps
        .iter()
        .map(|step| {
            let mut value = serde_json::to_value(step).unwrap_or_default();
            if let (Some(output), Some(obj)) = (&step.output, value.as_object_mut()) {
                let parsed = serde_json::from_str(output)
                    .unwrap_or_else(|_| serde_json::Value::String(output.clone()));
                obj.insert("output".into(), parsed);
            }
            value
        })
        .collect();
    serde_json::json!({ "run": run, "job": job, "steps": steps, "propositions": propositions })
}

/// The propositions a run's steps read, in order of first appearance: every `propositions` list
/// of statements found in a step's recorded output (a briefing's stories carry their discussions'
/// propositions; an explanation's gathered conversation carries its messages'). Read as plain
/// JSON: the run store knows no task types.
pub fn propositions_used(steps: &[StepRecord]) -> Vec<serde_json::Value> {
    fn walk(v: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, x) in map {
                    match (k.as_str(), x) {
                        ("propositions", serde_json::Value::Array(items)) => {
                            for p in items {
                                if p.get("statement").is_some() && !out.contains(p) {
                                    out.push(p.clone());
                                }
                            }
                        }
                        _ => walk(x, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for step in steps {
        if let Some(v) = step
            .output
            .as_deref()
            .and_then(|o| serde_json::from_str::<serde_json::Value>(o).ok())
        {
            walk(&v, &mut out);
        }
    }
    out
}

/// `request → Dana, due 2026-02-12: Priya asks Dana to review the plan  [C1/1770…]`.
fn proposition_line(p: &serde_json::Value) -> String {
    let s = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    let mut head = if s("kind").is_empty() {
        "fyi".to_string()
    } else {
        s("kind").to_string()
    };
    if s("polarity") == "negative" {
        head.push_str(" (not)");
    }
    if !s("addressee").is_empty() {
        head.push_str(&format!(" → {}", s("addressee")));
    }
    if !s("due").is_empty() {
        head.push_str(&format!(", due {}", s("due")));
    }
    let refs: Vec<String> = p
        .get("sources")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .map(|r| {
                    format!(
                        "{}/{}",
                        r.get("channel_id").and_then(|v| v.as_str()).unwrap_or("?"),
                        r.get("ts").and_then(|v| v.as_str()).unwrap_or("?")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!("{head}: {}  [{}]", s("statement"), refs.join(" "))
}

fn time(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| epoch.to_string())
}

fn time_of_day(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_else(|| epoch.to_string())
}

fn seconds(secs: i64) -> String {
    if secs < 120 {
        format!("{secs} s")
    } else {
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_outputs_are_cut_unless_full() {
        let output = serde_json::to_string(&(0..40).collect::<Vec<_>>()).unwrap();
        let short = render_output(&output, false);
        assert_eq!(short.lines().count(), OUTPUT_LINES + 1);
        assert!(short.ends_with("… 30 more lines (--full shows all)"));
        assert_eq!(render_output(&output, true).lines().count(), 42);
        let wide = serde_json::to_string(&"x".repeat(500)).unwrap();
        assert!(render_output(&wide, false).chars().count() <= LINE_CHARS);
    }

    #[test]
    fn non_json_output_is_shown_as_is() {
        assert_eq!(render_output("plain text", false), "plain text");
    }
}
