//! What every call cost: one row in `llm_calls` and the Prometheus metrics, plus the table
//! `chief usage` prints.
//!
//! Metrics (all counters unless noted):
//! * `chief_llm_calls_total{task,deployment,outcome}` — gateway calls; `deployment` is `cache` for
//!   cache hits and `extractive` when the extractive engine answered;
//! * `chief_llm_tokens_total{task,kind}` — `kind` is `prompt` or `completion`;
//! * `chief_llm_requests_total{deployment,result}` — HTTP requests to models (`ok`, `invalid`,
//!   `429`, `500`, `timeout`, `network`, `bad_response`…);
//! * `chief_llm_fallbacks_total{task,reason}` — calls the extractive engine answered, and why;
//! * `chief_llm_call_seconds{task}` (histogram) — wall time of a call, queueing included.

use std::time::Duration;

use tracing::warn;

use super::{Attempt, AttemptResult, CallOptions, FallbackReason, Outcome, TokenUsage};
use crate::platform::db::llm::{self as repo, CallRecord, UsageRow};
use crate::platform::db::{Db, DbError};

/// Everything recorded about one call.
pub(crate) struct Summary<'a> {
    pub task: &'static str,
    pub options: &'a CallOptions,
    pub deployment: Option<String>,
    pub outcome: Outcome,
    pub cache_hit: bool,
    pub tokens: TokenUsage,
    pub latency: Duration,
    pub reason: Option<FallbackReason>,
    pub trail: &'a [Attempt],
}

/// Writes the metrics and the accounting row. A failed write is logged, never returned: losing
/// one row of accounting must not cost the caller its answer.
pub(crate) async fn record(db: &Db, s: Summary<'_>) {
    let deployment_label = if s.cache_hit {
        "cache".to_string()
    } else if s.outcome == Outcome::Fallback {
        "extractive".to_string()
    } else {
        s.deployment.clone().unwrap_or_else(|| "none".into())
    };
    metrics::counter!("chief_llm_calls_total",
        "task" => s.task, "deployment" => deployment_label, "outcome" => s.outcome.as_str())
    .increment(1);
    metrics::counter!("chief_llm_tokens_total", "task" => s.task, "kind" => "prompt")
        .increment(s.tokens.prompt);
    metrics::counter!("chief_llm_tokens_total", "task" => s.task, "kind" => "completion")
        .increment(s.tokens.completion);
    metrics::histogram!("chief_llm_call_seconds", "task" => s.task).record(s.latency.as_secs_f64());
    if s.outcome == Outcome::Fallback
        && let Some(reason) = s.reason
    {
        metrics::counter!("chief_llm_fallbacks_total", "task" => s.task, "reason" => reason.as_str())
            .increment(1);
    }
    for attempt in s.trail {
        let result = match &attempt.result {
            AttemptResult::Ok => "ok".to_string(),
            AttemptResult::Invalid(_) => "invalid".to_string(),
            AttemptResult::Error(e) => e.label(),
        };
        metrics::counter!("chief_llm_requests_total",
            "deployment" => attempt.deployment.clone(), "result" => result)
        .increment(1);
    }

    let now = crate::platform::db::now();
    let row = CallRecord {
        task: s.task.to_string(),
        team_id: s.options.team_id.clone(),
        user_id: s.options.user_id.clone(),
        deployment: s.deployment,
        priority: s.options.priority.as_str().to_string(),
        outcome: s.outcome.as_str().to_string(),
        cache_hit: s.cache_hit,
        attempts: i32::try_from(s.trail.len()).unwrap_or(i32::MAX),
        prompt_tokens: i64::try_from(s.tokens.prompt).unwrap_or(i64::MAX),
        completion_tokens: i64::try_from(s.tokens.completion).unwrap_or(i64::MAX),
        latency_ms: i64::try_from(s.latency.as_millis()).unwrap_or(i64::MAX),
        fallback_reason: s.reason.map(|r| r.as_str().to_string()),
        trail: s
            .trail
            .iter()
            .map(Attempt::label)
            .collect::<Vec<_>>()
            .join(" "),
        day: utc_day(now),
        created_at: now,
    };
    // Bounded, like everything on the call path: a stuck database must not hang the caller.
    match tokio::time::timeout(Duration::from_secs(10), repo::insert_call(db, &row)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => warn!(error = %e, task = s.task, "could not record an LLM call"),
        Err(_) => warn!(task = s.task, "recording an LLM call timed out"),
    }
}

/// `YYYY-MM-DD` of an epoch time, in UTC.
pub fn utc_day(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// The epoch second the UTC day of `epoch` began (Unix days are exactly 86,400 s).
pub fn utc_day_start(epoch: i64) -> i64 {
    epoch - epoch.rem_euclid(86_400)
}

/// Totals of the last `days` UTC days (today included), for `chief usage`.
pub async fn usage_report(db: &Db, days: u32) -> Result<Vec<UsageRow>, DbError> {
    let since =
        utc_day_start(crate::platform::db::now()) - i64::from(days.saturating_sub(1)) * 86_400;
    repo::usage(db, since).await
}

/// `busy 3, deadline 1` (or `-`): why the extractive engine answered.
fn why(reasons: &[(String, i64)]) -> String {
    if reasons.is_empty() {
        return "-".into();
    }
    reasons
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The report as an aligned text table with a total line: per task, how many calls the model
/// answered, the cache, the extractive engine (and why), and what they cost.
pub fn usage_table(rows: &[UsageRow]) -> String {
    let header = [
        "DAY",
        "TEAM",
        "TASK",
        "CALLS",
        "MODEL",
        "CACHED",
        "EXTRACTIVE",
        "FAILED",
        "REQUESTS",
        "REPAIRED",
        "PROMPT_TOK",
        "COMPL_TOK",
        "TOTAL_TOK",
        "TOK_SHARE",
        "EXTRACTIVE_WHY",
    ];
    // Each row's share of all tokens: what proposition extraction costs beside the briefings.
    let all_tokens: i64 = rows
        .iter()
        .map(|r| r.prompt_tokens + r.completion_tokens)
        .sum();
    let share = |r: &UsageRow| {
        if all_tokens <= 0 {
            "-".to_string()
        } else {
            format!(
                "{:.1}%",
                (r.prompt_tokens + r.completion_tokens) as f64 * 100.0 / all_tokens as f64
            )
        }
    };
    let mut total = UsageRow {
        day: "TOTAL".into(),
        ..Default::default()
    };
    let mut lines: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    let line = |r: &UsageRow| {
        vec![
            r.day.clone(),
            r.team_id.clone(),
            r.task.clone(),
            r.calls.to_string(),
            r.model.to_string(),
            r.cache_hits.to_string(),
            r.fallbacks.to_string(),
            r.failed.to_string(),
            r.requests.to_string(),
            r.repaired.to_string(),
            r.prompt_tokens.to_string(),
            r.completion_tokens.to_string(),
            (r.prompt_tokens + r.completion_tokens).to_string(),
            share(r),
            why(&r.fallback_reasons),
        ]
    };
    for r in rows {
        lines.push(line(r));
        total.add(r);
    }
    lines.push(line(&total));
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for l in &lines {
        let cells: Vec<String> = l
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                // Text columns left-aligned, numbers right-aligned.
                if c < 3 || c == header.len() - 1 {
                    format!("{cell:<w$}", w = widths[c])
                } else {
                    format!("{cell:>w$}", w = widths[c])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc() {
        assert_eq!(utc_day(0), "1970-01-01");
        assert_eq!(utc_day_start(86_400 * 3 + 5), 86_400 * 3);
    }

    #[test]
    fn the_usage_table_is_aligned_and_totalled() {
        let row = |team: &str, calls| UsageRow {
            day: "2026-05-01".into(),
            team_id: team.into(),
            task: "summarize".into(),
            calls,
            requests: calls,
            prompt_tokens: 100,
            completion_tokens: 20,
            fallbacks: 2,
            fallback_reasons: if team == "T1" {
                vec![("busy".into(), 2)]
            } else {
                vec![("busy".into(), 2), ("deadline".into(), 1)]
            },
            ..Default::default()
        };
        let table = usage_table(&[row("T1", 2), row("T2", 3)]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("DAY"));
        assert!(lines[3].starts_with("TOTAL"));
        assert!(lines[3].contains(" 240 "), "{table}");
        assert!(lines[3].contains(" 5 "), "{table}");
        assert!(lines[3].ends_with("busy 4, deadline 1"), "{table}");
    }
}
