//! `chief eval`: what chief writes, scored against gold written by hand (`eval/README.md`).
//!
//! Every scenario runs through the code that serves Slack — an export imported into a scratch
//! store, then the briefing agent or click-to-context — with one of three engines: the extractive
//! engine (no model, the default), `replay` (hand-written answers of a capable model served over
//! HTTP, see [`replay`]) or `live` (the configured endpoint). The figures go to `QUALITY.md` with
//! the command that produced them; a run of the whole suite is part of `cargo test`.

pub mod drift;
pub mod drive;
pub mod replay;
pub mod scenario;
pub mod score;

use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Value, json};
use tracing::Instrument;
use tracing::{info, info_span, warn};

use self::drive::Written;
use self::scenario::{Kind, Scenario};
use self::score::Evidence;
use crate::config::Config;

/// The model behind a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// No model: the built-in extractive engine.
    Extractive,
    /// The answers stored in `eval/replay/`, served by a local OpenAI-compatible server.
    Replay,
    /// The model endpoint(s) configured in the environment.
    Live,
}

/// Options of `chief eval`.
#[derive(Clone, Debug, clap::Args)]
pub struct EvalArgs {
    #[arg(long, value_enum, default_value = "extractive")]
    pub engine: Engine,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Run only the scenarios whose id contains this.
    #[arg(long)]
    pub only: Option<String>,
    /// The suite (scenarios, synthetic workspaces, replayed answers).
    #[arg(long, default_value = "eval")]
    pub suite: PathBuf,
    /// The real exports' folder (`slack-exports/` inside it); default `$CHIEF_FIXTURES` or
    /// `../shared/fixtures`.
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// Replay: write the prompts that have no stored answer under this folder, to be answered.
    #[arg(long)]
    pub pending: Option<PathBuf>,
    /// Also write the report (JSON) to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Exit non-zero when a figure misses the target issue 14 sets for this engine.
    #[arg(long)]
    pub check: bool,
}

/// What one scenario scored.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ScenarioScore {
    pub id: String,
    pub kind: &'static str,
    pub verdict: Option<String>,
    pub stories: usize,
    pub facts: (usize, usize),
    pub reader_items: (usize, usize),
    /// The `what` of every gold item not carried.
    pub missed: Vec<String>,
    pub contentless: Vec<String>,
    pub duplicates: usize,
    pub invented: Vec<String>,
    pub names_reader: bool,
    pub citations: (usize, usize),
    pub model_calls: u64,
    pub tokens: u64,
    /// Model drafts of the written text, and how many the guardrail rejected.
    pub drafts: (usize, usize),
    /// Stories were chosen, and none reached the reader.
    pub emptied: bool,
    /// Replay: prompts answered and not.
    pub replay: (usize, usize),
    pub titles: Vec<String>,
}

/// The whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub engine: Engine,
    pub scenarios: usize,
    pub metrics: Value,
    pub extra: Value,
    pub per_scenario: Vec<ScenarioScore>,
}

fn score(scenario: &Scenario, written: &Written) -> ScenarioScore {
    let units = &written.units;
    let mut s = ScenarioScore {
        id: scenario.id.clone(),
        kind: match scenario.kind {
            Kind::Briefing => "briefing",
            Kind::Explain => "explain",
        },
        verdict: written.verdict.clone(),
        stories: units.len(),
        titles: units.iter().map(|u| u.title.clone()).collect(),
        ..ScenarioScore::default()
    };
    let tally = |items: &[scenario::Item], missed: &mut Vec<String>| {
        let carried = items
            .iter()
            .filter(|i| {
                let ok = score::carried_by(units, i).is_some();
                if !ok {
                    missed.push(i.what.clone());
                }
                ok
            })
            .count();
        (carried, items.len())
    };
    let mut missed = Vec::new();
    s.facts = tally(&scenario.facts, &mut missed);
    s.reader_items = tally(&scenario.reader_items, &mut missed);
    s.missed = missed;

    s.contentless = units
        .iter()
        .filter(|u| score::is_contentless(u, &written.names))
        .map(|u| u.title.clone())
        .collect();
    s.duplicates = score::duplicates(units, &written.names);
    let evidence = Evidence::new(
        written
            .visible
            .iter()
            .map(|m| m.text.as_str())
            .chain(written.names.iter().map(String::as_str)),
        &written.date_numbers,
    );
    s.invented = units.iter().flat_map(|u| evidence.invented(u)).collect();
    s.invented.extend(
        scenario
            .must_not
            .iter()
            .filter(|i| score::breaks(units, i))
            .map(|i| format!("must not: {}", i.what)),
    );
    let reader = written.reader.as_ref();
    s.names_reader = units.iter().any(|u| {
        score::names_reader(
            &format!("{}\n{}", u.title, u.text),
            reader.and_then(|r| r.real_name.as_deref()),
            reader.and_then(|r| r.display_name.as_deref()),
        )
    });
    let visible: std::collections::HashSet<(&str, &str)> = written
        .visible
        .iter()
        .map(|m| (m.channel_id.as_str(), m.ts.as_str()))
        .collect();
    let cited: Vec<&(String, String)> = units.iter().flat_map(|u| &u.sources).collect();
    s.citations = (
        cited
            .iter()
            .filter(|(c, t)| visible.contains(&(c.as_str(), t.as_str())))
            .count(),
        cited.len(),
    );

    s.model_calls = written.calls.iter().map(|c| c.attempts.max(0) as u64).sum();
    s.tokens = written
        .calls
        .iter()
        .map(|c| (c.prompt_tokens + c.completion_tokens).max(0) as u64)
        .sum();
    s.drafts = drafts(written);
    s.emptied = scenario.kind == Kind::Briefing
        && units.is_empty()
        && written.verdict.as_deref().is_some_and(|v| v != "empty");
    s
}

/// Model drafts of the written text and how many the guardrail rejected: an answered draft
/// followed by another call of its task was rejected (that call is the correction), and so was
/// the last answered draft of a briefing that fell back.
fn drafts(written: &Written) -> (usize, usize) {
    let answered =
        |c: &&crate::platform::db::llm::CallRecord| matches!(c.outcome.as_str(), "ok" | "repaired");
    let (mut total, mut rejected) = (0, 0);
    for task in ["generate_briefing", "explain_context"] {
        let calls: Vec<_> = written.calls.iter().filter(|c| c.task == task).collect();
        for (i, call) in calls.iter().enumerate() {
            if !answered(call) {
                continue;
            }
            total += 1;
            let last = i + 1 == calls.len();
            let fell_back = written
                .verdict
                .as_deref()
                .is_some_and(|v| v.starts_with("fallback") || v.starts_with("uncorrected"));
            if !last || (task == "generate_briefing" && fell_back) {
                rejected += 1;
            }
        }
    }
    (total, rejected)
}

fn ratio(num: usize, den: usize) -> Value {
    if den == 0 {
        Value::Null
    } else {
        json!(((num as f64 / den as f64) * 1000.0).round() / 1000.0)
    }
}

fn aggregate(engine: Engine, scores: Vec<ScenarioScore>) -> Report {
    let briefings: Vec<&ScenarioScore> = scores.iter().filter(|s| s.kind == "briefing").collect();
    let explains: Vec<&ScenarioScore> = scores.iter().filter(|s| s.kind == "explain").collect();
    let sum = |v: &[&ScenarioScore], f: &dyn Fn(&ScenarioScore) -> (usize, usize)| {
        v.iter()
            .map(|s| f(s))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    };
    let facts = sum(&briefings, &|s| s.facts);
    let items = sum(&briefings, &|s| s.reader_items);
    let explain = sum(&explains, &|s| {
        (s.facts.0 + s.reader_items.0, s.facts.1 + s.reader_items.1)
    });
    let all: Vec<&ScenarioScore> = scores.iter().collect();
    let citations = sum(&all, &|s| s.citations);
    let drafts = sum(&all, &|s| (s.drafts.1, s.drafts.0));
    let with_text: Vec<&&ScenarioScore> = all.iter().filter(|s| s.stories > 0).collect();
    let as_you = with_text.iter().filter(|s| !s.names_reader).count();
    let per_briefing = |f: &dyn Fn(&ScenarioScore) -> u64| {
        if briefings.is_empty() {
            Value::Null
        } else {
            let total: u64 = briefings.iter().map(|s| f(s)).sum();
            json!(((total as f64 / briefings.len() as f64) * 10.0).round() / 10.0)
        }
    };
    let metrics = json!({
        "key_fact_recall": ratio(facts.0, facts.1),
        "reader_item_recall": ratio(items.0, items.1),
        "contentless_stories": all.iter().map(|s| s.contentless.len()).sum::<usize>(),
        "duplicate_stories": all.iter().map(|s| s.duplicates).sum::<usize>(),
        "invented_facts": all.iter().map(|s| s.invented.len()).sum::<usize>(),
        "reader_as_you": ratio(as_you, with_text.len()),
        "citations_valid": ratio(citations.0, citations.1),
        "explain_fact_recall": ratio(explain.0, explain.1),
        "guardrail_false_rejects": ratio(drafts.0, drafts.1),
        "model_calls_per_briefing": per_briefing(&|s| s.model_calls),
        "tokens_per_briefing": per_briefing(&|s| s.tokens),
    });
    let extra = json!({
        "briefings": briefings.len(),
        "explanations": explains.len(),
        "stories": briefings.iter().map(|s| s.stories).sum::<usize>(),
        "emptied_briefings": briefings.iter().filter(|s| s.emptied).count(),
        "replay_answered": all.iter().map(|s| s.replay.0).sum::<usize>(),
        "replay_missed": all.iter().map(|s| s.replay.1).sum::<usize>(),
        "facts": [facts.0, facts.1],
        "reader_items": [items.0, items.1],
        "explain_facts": [explain.0, explain.1],
    });
    Report {
        engine,
        scenarios: scores.len(),
        metrics,
        extra,
        per_scenario: scores,
    }
}

/// Why `chief eval` could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Scenarios(#[from] scenario::ScenarioError),
    #[error("no scenario matches")]
    Empty,
    #[error("--engine live needs a model: configure CHIEF_LLM_* (see README)")]
    NoModel,
    #[error("cannot start the replay server: {0}")]
    Replay(std::io::Error),
    #[error("scenario {id}: {error}")]
    Scenario { id: String, error: String },
}

/// Runs the suite and scores it.
pub async fn run(mut config: Config, args: &EvalArgs) -> Result<Report, EvalError> {
    let fixtures = args.fixtures.clone().unwrap_or_else(|| {
        std::env::var_os("CHIEF_FIXTURES")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("../shared/fixtures"))
    });
    let mut scenarios = scenario::load(&args.suite, args.only.as_deref())?;
    if args.engine == Engine::Replay && args.only.is_none() {
        // Replay runs the scenarios whose every prompt has an answer (`replay/scenarios.txt`).
        if let Ok(list) = std::fs::read_to_string(args.suite.join("replay/scenarios.txt")) {
            let ids: Vec<&str> = list
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect();
            scenarios.retain(|s| ids.contains(&s.id.as_str()));
        }
    }
    if scenarios.is_empty() {
        return Err(EvalError::Empty);
    }
    let replay = match args.engine {
        Engine::Extractive => {
            config.llm.deployments.clear();
            None
        }
        Engine::Live => {
            if config.llm.deployments.is_empty() {
                return Err(EvalError::NoModel);
            }
            None
        }
        Engine::Replay => {
            let replay = replay::Replay::start(&args.suite.join("replay"), args.pending.clone())
                .await
                .map_err(EvalError::Replay)?;
            config.llm.deployments = vec![replay_deployment(&replay.server.base_url())];
            // A missing answer is an outage: fall back at once rather than back off and retry.
            config.llm.max_retries = Some(0);
            config.llm.retry_base_ms = Some(1);
            Some(replay)
        }
    };
    let mut scores = Vec::new();
    for scenario in &scenarios {
        if let Some(r) = &replay {
            r.begin(&scenario.id);
        }
        let span = info_span!("eval_scenario", id = %scenario.id);
        let written = drive::run(scenario, &config, &args.suite, &fixtures)
            .instrument(span)
            .await
            .map_err(|e| EvalError::Scenario {
                id: scenario.id.clone(),
                error: format!("{e:#}"),
            })?;
        let mut s = score(scenario, &written);
        if let Some(r) = &replay {
            s.replay = r.counts();
        }
        info!(id = %s.id, facts = ?s.facts, items = ?s.reader_items, "scored");
        scores.push(s);
    }
    let mut report = aggregate(args.engine, scores);
    // The drift set judges the guardrail's check itself, whatever wrote the text: run with the
    // whole suite.
    if args.only.is_none() {
        let all = scenario::load(&args.suite, None)?;
        // Boxed: its import and checks would otherwise make this future too deep to lay out.
        let drift = Box::pin(drift::run(
            &args.suite.join("drift"),
            &all,
            &args.suite,
            &fixtures,
        ))
        .instrument(info_span!("eval_drift"))
        .await
        .map_err(|e| EvalError::Scenario {
            id: "drift".into(),
            error: format!("{e:#}"),
        })?;
        add_drift(&mut report, &drift);
    }
    Ok(report)
}

/// Puts the drift set's scores into the report: the two rates as metrics, the rest as extra.
fn add_drift(report: &mut Report, drift: &drift::DriftScores) {
    report.metrics["faithfulness_detection"] = json!(drift.detection);
    report.metrics["faithfulness_false_alarm"] = json!(drift.false_alarm);
    report.extra["drift_cases"] = json!(drift.cases);
    report.extra["faithfulness_detection_all_checks"] = json!(drift.detection_all_checks);
    report.extra["faithfulness_false_alarm_all_checks"] = json!(drift.false_alarm_all_checks);
    report.extra["drift_detection_by_kind"] = json!(drift.by_kind);
    report.extra["drift_wrong"] = json!(drift.wrong);
    report.extra["drift_outcomes"] = json!(drift.outcomes);
}

fn replay_deployment(base_url: &str) -> crate::config::DeploymentConfig {
    crate::config::DeploymentConfig {
        name: "replay".into(),
        base_url: base_url.into(),
        api_key: None,
        model: "replay".into(),
        azure_api_version: None,
        rpm: 100_000,
        tpm: 100_000_000,
        weight: 1,
        context_tokens: 128_000,
        json_mode: crate::config::JsonMode::JsonSchema,
        temperature: None,
        // The replay server answers at once, many at a time.
        kind: crate::config::DeploymentKind::Hosted,
        max_concurrency: None,
        tokenizer: None,
    }
}

/// The targets issue 14 sets, per engine: `(metric, at least?, bound)`.
pub fn targets(engine: Engine) -> &'static [(&'static str, bool, f64)] {
    match engine {
        Engine::Extractive => &[
            ("reader_item_recall", true, 0.9),
            ("key_fact_recall", true, 0.8),
            ("explain_fact_recall", true, 0.8),
            ("contentless_stories", false, 0.0),
            ("invented_facts", false, 0.0),
            ("citations_valid", true, 1.0),
            ("faithfulness_detection", true, 0.9),
            ("faithfulness_false_alarm", false, 0.05),
        ],
        Engine::Replay => &[
            ("reader_item_recall", true, 0.95),
            ("key_fact_recall", true, 0.9),
            ("guardrail_false_rejects", false, 0.05),
        ],
        Engine::Live => &[],
    }
}

/// The targets this report misses, described.
pub fn misses(report: &Report) -> Vec<String> {
    let mut out: Vec<String> = targets(report.engine)
        .iter()
        .filter_map(|(name, at_least, bound)| {
            let value = report.metrics[*name].as_f64();
            let ok = match value {
                Some(v) if *at_least => v >= *bound,
                Some(v) => v <= *bound,
                None => true,
            };
            (!ok).then(|| {
                format!(
                    "{name} = {} ({} {bound})",
                    report.metrics[*name],
                    if *at_least {
                        "target ≥"
                    } else {
                        "target ≤"
                    }
                )
            })
        })
        .collect();
    if report.engine == Engine::Replay && report.extra["emptied_briefings"].as_u64() != Some(0) {
        out.push(format!(
            "emptied_briefings = {} (target 0)",
            report.extra["emptied_briefings"]
        ));
    }
    out
}

/// The report as a table: the metrics, then what each scenario missed.
pub fn table(report: &Report) -> String {
    let mut out = format!(
        "chief eval — engine {:?}, {} scenarios\n\n",
        report.engine, report.scenarios
    )
    .to_lowercase();
    if let Some(metrics) = report.metrics.as_object() {
        for (name, value) in metrics {
            out.push_str(&format!("{name:<26} {value}\n"));
        }
    }
    out.push('\n');
    if let Some(wrong) = report.extra["drift_wrong"].as_array() {
        for w in wrong {
            let verdict = if w["faithful"].as_bool() == Some(true) {
                "false alarm".to_string()
            } else {
                format!("drift missed ({})", w["drift"].as_str().unwrap_or_default())
            };
            out.push_str(&format!(
                "drift {}: {verdict} {}\n",
                w["id"].as_str().unwrap_or_default(),
                w["found"]
            ));
        }
        if !wrong.is_empty() {
            out.push('\n');
        }
    }
    for s in &report.per_scenario {
        let problems = !s.missed.is_empty()
            || !s.contentless.is_empty()
            || !s.invented.is_empty()
            || s.duplicates > 0
            || s.names_reader
            || s.citations.0 != s.citations.1
            || s.emptied;
        if !problems {
            continue;
        }
        out.push_str(&format!("{} ({}, {} stories)\n", s.id, s.kind, s.stories));
        for m in &s.missed {
            out.push_str(&format!("  missed: {m}\n"));
        }
        for c in &s.contentless {
            out.push_str(&format!("  contentless: {c}\n"));
        }
        if !s.invented.is_empty() {
            out.push_str(&format!("  invented: {}\n", s.invented.join(", ")));
        }
        if s.duplicates > 0 {
            out.push_str(&format!("  duplicates: {}\n", s.duplicates));
        }
        if s.names_reader {
            out.push_str("  names the reader in the third person\n");
        }
        if s.citations.0 != s.citations.1 {
            out.push_str(&format!(
                "  citations valid: {}/{}\n",
                s.citations.0, s.citations.1
            ));
        }
        if s.emptied {
            out.push_str("  emptied: stories were chosen and none was sent\n");
        }
    }
    out
}

/// `chief eval`.
pub async fn run_cli(config: Config, args: EvalArgs) -> anyhow::Result<()> {
    let report = run(config, &args).await?;
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(out) = &args.out {
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(out, &json)?;
    }
    if args.json {
        println!("{json}");
    } else {
        print!("{}", table(&report));
    }
    let misses = misses(&report);
    if !misses.is_empty() {
        warn!(?misses, "targets missed");
        if args.check {
            anyhow::bail!("targets missed: {}", misses.join("; "));
        }
    }
    Ok(())
}
