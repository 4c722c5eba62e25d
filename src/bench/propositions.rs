//! `chief bench propositions`: what extracting propositions costs and yields, on real exports.
//!
//! Every channel-day of each export goes through what the digest does before summarising: noise
//! is dropped (`worth_extracting`), the rest is batched by token budget
//! (`features::propositions::BATCH_TOKENS`) — one model call per batch — and the extractive engine
//! extracts (what a model's answer is then compared with in size). Reported: propositions per
//! message and by kind, model calls and prompt tokens per 1,000 messages, and the answer's size.
//! Deterministic: no model, no clock.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::ai::extractive::approx_tokens;
use crate::ai::tasks::propositions::{batches_by_tokens, worth_extracting};
use crate::ai::tasks::{
    ChannelInfo, ChatMessage, ExtractPropositions, MessageRef, PropositionsInput, Task,
};
use crate::features::propositions::BATCH_TOKENS;
use crate::model::domain::ts_to_epoch;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Slack export folders (default: the houston export and eval/'s synthetic workspaces).
    #[arg(long = "export")]
    pub exports: Vec<PathBuf>,
    #[arg(long, default_value = "bench-out/propositions.json")]
    pub out: PathBuf,
}

/// One export's figures.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub export: String,
    pub messages: usize,
    /// Messages sent to extraction (the rest is noise: joins, emoji, bare links).
    pub extracted_messages: usize,
    pub propositions: usize,
    pub propositions_per_message: f64,
    pub by_kind: BTreeMap<String, usize>,
    /// Model calls (batches) per 1,000 messages.
    pub calls_per_1000_messages: f64,
    /// Prompt tokens (instructions + data, estimated) per 1,000 messages.
    pub prompt_tokens_per_1000_messages: f64,
    /// Answer tokens (the propositions' JSON, estimated) per 1,000 messages.
    pub completion_tokens_per_1000_messages: f64,
}

pub fn run(args: &Args) -> anyhow::Result<Vec<Report>> {
    let exports = if args.exports.is_empty() {
        default_exports()
    } else {
        args.exports.clone()
    };
    let mut reports = Vec::new();
    for export in exports {
        reports.push(measure(&export)?);
    }
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&reports)?)?;
    Ok(reports)
}

fn default_exports() -> Vec<PathBuf> {
    let fixtures = std::env::var_os("CHIEF_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/fixtures"));
    let mut out = vec![fixtures.join("slack-exports/houston")];
    if let Ok(entries) = std::fs::read_dir("eval/workspaces") {
        let mut synthetic: Vec<PathBuf> =
            entries.filter_map(Result::ok).map(|e| e.path()).collect();
        synthetic.sort();
        out.extend(synthetic);
    }
    out
}

fn read(path: &Path) -> anyhow::Result<Value> {
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

fn measure(export: &Path) -> anyhow::Result<Report> {
    let users: HashMap<String, String> = read(&export.join("users.json"))?
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| {
            let id = u["id"].as_str()?;
            let name = u["real_name"]
                .as_str()
                .filter(|n| !n.is_empty())
                .or(u["name"].as_str())?;
            Some((id.to_string(), name.to_string()))
        })
        .collect();
    let known: Vec<String> = users.values().cloned().collect();
    let mut report = Report {
        export: export.display().to_string(),
        ..Report::default()
    };
    let (mut calls, mut prompt_tokens, mut answer_tokens) = (0usize, 0usize, 0usize);
    for channel in read(&export.join("channels.json"))?
        .as_array()
        .into_iter()
        .flatten()
    {
        let (Some(id), Some(name)) = (channel["id"].as_str(), channel["name"].as_str()) else {
            continue;
        };
        let Ok(days) = std::fs::read_dir(export.join(name)) else {
            continue;
        };
        let mut days: Vec<PathBuf> = days.filter_map(Result::ok).map(|e| e.path()).collect();
        days.sort();
        for day in days {
            let messages: Vec<ChatMessage> = read(&day)?
                .as_array()
                .into_iter()
                .flatten()
                .filter(|m| m.get("subtype").is_none())
                .filter_map(|m| {
                    let ts = m["ts"].as_str()?;
                    let user = m["user"].as_str()?;
                    Some(ChatMessage {
                        id: MessageRef {
                            channel_id: id.to_string(),
                            ts: ts.to_string(),
                        },
                        author: users.get(user).cloned().unwrap_or_else(|| user.to_string()),
                        author_id: Some(user.to_string()),
                        text: m["text"].as_str().unwrap_or_default().to_string(),
                        posted_at: ts_to_epoch(ts).unwrap_or(0),
                    })
                })
                .collect();
            report.messages += messages.len();
            let worth: Vec<ChatMessage> = messages
                .into_iter()
                .filter(|m| worth_extracting(&m.text))
                .collect();
            report.extracted_messages += worth.len();
            if worth.is_empty() {
                continue;
            }
            let input = PropositionsInput {
                channel: ChannelInfo {
                    id: id.to_string(),
                    name: name.to_string(),
                },
                messages: worth,
                known_people: known.clone(),
                utc_offset_secs: 0,
            };
            for batch in batches_by_tokens(&input, BATCH_TOKENS) {
                calls += 1;
                let prompt = ExtractPropositions.prompt(&batch);
                prompt_tokens += approx_tokens(&prompt.instructions) + approx_tokens(&prompt.data);
                let out = ExtractPropositions.extractive(&batch);
                answer_tokens += approx_tokens(&serde_json::to_string(&out)?);
                report.propositions += out.propositions.len();
                for p in &out.propositions {
                    *report
                        .by_kind
                        .entry(p.kind.as_str().to_string())
                        .or_default() += 1;
                }
            }
        }
    }
    let per_1000 = |n: usize| {
        if report.messages == 0 {
            0.0
        } else {
            (n as f64 * 1000.0 / report.messages as f64).round()
        }
    };
    report.propositions_per_message = if report.messages == 0 {
        0.0
    } else {
        (report.propositions as f64 / report.messages as f64 * 100.0).round() / 100.0
    };
    report.calls_per_1000_messages = per_1000(calls);
    report.prompt_tokens_per_1000_messages = per_1000(prompt_tokens);
    report.completion_tokens_per_1000_messages = per_1000(answer_tokens);
    Ok(report)
}
