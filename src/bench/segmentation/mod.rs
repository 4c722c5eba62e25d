//! `chief bench segmentation`: measures the segmenter on human-annotated IRC chat.
//!
//! Runs the segmenter and two baselines on the Kummerfeld et al. (2019) Ubuntu IRC dev and test
//! samples (and optionally the 2023 new-domain samples) and scores them with the paper's
//! conversation metrics ([`metrics`]). Every method sees the whole log, context lines
//! included, and is scored on the annotated lines only. System lines (joins, quits, nick changes)
//! are kept in the evaluation, as the paper does, and each is its own conversation for every method
//! (annotators linked almost all of them to themselves).
//!
//! Methods:
//! * `segmenter` — [`Segmenter`] with the given parameters (defaults tuned on dev);
//! * `time-gap` — a new conversation whenever the gap to the previous message exceeds a threshold,
//!   the threshold chosen on dev (best one-to-one);
//! * `previous` — the paper's baseline: every message continues the previous non-system message,
//!   so all chat is one conversation.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub mod irc;
pub mod metrics;

use self::irc::{IrcError, Sample};
use self::metrics::{ConversationScores, SampleClusters};
use crate::ai::segment::{ChatMessage, SegmentParams, Segmenter};

/// Where the corpus sits inside the shared fixtures.
const FIXTURE_DATA: &str = "shared/fixtures/chat-labels/irc-disentanglement/data";

/// Time-gap thresholds tried on dev (seconds).
const TIME_GAP_GRID: &[i64] = &[0, 60, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 3600];

/// A split of the corpus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    /// Ubuntu development samples (10 × 250 annotated messages); used for tuning.
    Dev,
    /// Ubuntu test samples (10 × 500 annotated messages).
    Test,
    /// The 2023 samples from other channels (mediawiki, rust, stripe, ubuntu-meeting).
    NewDomains,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Dev => "dev",
            Split::Test => "test",
            Split::NewDomains => "new-domains",
        }
    }

    /// The split's folder under the corpus's `data/`.
    pub fn folder(self, data: &Path) -> PathBuf {
        data.join(self.name())
    }
}

/// A way of grouping messages into conversations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum Method {
    Segmenter { params: SegmentParams },
    TimeGap { threshold_secs: i64 },
    Previous,
}

impl Method {
    pub fn name(&self) -> &'static str {
        match self {
            Method::Segmenter { .. } => "segmenter",
            Method::TimeGap { .. } => "time-gap",
            Method::Previous => "previous",
        }
    }

    fn setting(&self) -> String {
        match self {
            Method::Segmenter { .. } => "tuned on dev".to_string(),
            Method::TimeGap { threshold_secs } => format!("gap > {threshold_secs} s"),
            Method::Previous => "paper baseline".to_string(),
        }
    }
}

/// Errors of a benchmark run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Corpus(#[from] IrcError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the IRC disentanglement data was not found; pass --data PATH (the corpus's data/ folder)"
    )]
    NoData,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// The corpus's `data/` folder (holding `dev/`, `test/`, `new-domains/`).
    pub data: PathBuf,
    /// Splits to report; dev is always loaded to tune the time-gap baseline.
    pub splits: Vec<Split>,
    pub params: SegmentParams,
}

/// One method's scores on one split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MethodResult {
    pub method: String,
    pub setting: String,
    pub scores: ConversationScores,
    /// Wall time grouping the split's messages (not scoring them); depends on the build profile.
    pub grouping_ms: f64,
    /// Messages grouped (context lines included).
    pub messages_grouped: usize,
}

/// All methods on one split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitResult {
    pub split: String,
    pub samples: usize,
    pub results: Vec<MethodResult>,
}

/// A row of the paper's Table 4 (Ubuntu test), in percent, for context.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaperRow {
    pub system: String,
    pub scaled_vi: f64,
    pub one_to_one: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// The benchmark's output, written as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub data: String,
    pub segmenter_params: SegmentParams,
    /// The time-gap threshold chosen on dev.
    pub time_gap_threshold_secs: i64,
    pub splits: Vec<SplitResult>,
    /// Kummerfeld et al. (2019), Table 4: conversation results on the Ubuntu test set (percent).
    pub paper_ubuntu_test: Vec<PaperRow>,
}

/// Finds the corpus in the shared fixtures, looking upwards from the working directory and from
/// this crate's source folder (worktrees and CI checkouts sit at different depths).
pub fn find_default_data_dir() -> Option<PathBuf> {
    let mut starts: Vec<PathBuf> = Vec::new();
    if let Ok(dir) = std::env::current_dir() {
        starts.push(dir);
    }
    starts.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    starts.iter().find_map(|start| {
        start
            .ancestors()
            .map(|dir| dir.join(FIXTURE_DATA))
            .find(|candidate| candidate.join("dev").is_dir())
    })
}

/// Runs every method on the requested splits.
pub fn run(options: &BenchOptions) -> Result<Report, BenchError> {
    let _span = tracing::info_span!("bench_segmentation", data = %options.data.display()).entered();
    let dev = irc::load_dir(&Split::Dev.folder(&options.data))?;
    let (threshold, _) = tune_time_gap(&dev);
    let methods = [
        Method::Segmenter {
            params: options.params.clone(),
        },
        Method::TimeGap {
            threshold_secs: threshold,
        },
        Method::Previous,
    ];
    let mut splits = Vec::new();
    for &split in &options.splits {
        let loaded;
        let samples = if split == Split::Dev {
            &dev
        } else {
            loaded = irc::load_dir(&split.folder(&options.data))?;
            &loaded
        };
        let results = methods
            .iter()
            .map(|method| {
                let (scores, elapsed) = evaluate_timed(samples, method);
                MethodResult {
                    method: method.name().to_string(),
                    setting: method.setting(),
                    scores,
                    grouping_ms: elapsed.as_secs_f64() * 1000.0,
                    messages_grouped: samples.iter().map(|s| s.lines.len()).sum(),
                }
            })
            .collect();
        splits.push(SplitResult {
            split: split.name().to_string(),
            samples: samples.len(),
            results,
        });
    }
    Ok(Report {
        data: options.data.display().to_string(),
        segmenter_params: options.params.clone(),
        time_gap_threshold_secs: threshold,
        splits,
        paper_ubuntu_test: paper_rows(),
    })
}

/// Writes the report as pretty JSON, creating the folder.
pub fn write_report(report: &Report, path: &Path) -> Result<(), BenchError> {
    let write_err = |source| BenchError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(write_err)?;
    }
    let json = serde_json::to_string_pretty(report)
        .map_err(std::io::Error::other)
        .map_err(write_err)?;
    std::fs::write(path, json + "\n").map_err(write_err)
}

/// Scores a method on samples (pooled, as the paper's script does for a split).
pub fn evaluate(samples: &[Sample], method: &Method) -> ConversationScores {
    evaluate_timed(samples, method).0
}

/// [`evaluate`], also returning the time spent grouping (prediction only).
fn evaluate_timed(samples: &[Sample], method: &Method) -> (ConversationScores, Duration) {
    let mut grouping = Duration::ZERO;
    let clusters: Vec<SampleClusters> = samples
        .iter()
        .map(|sample| {
            let started = Instant::now();
            let predicted = predict(sample, method);
            grouping += started.elapsed();
            SampleClusters {
                gold: sample.gold_clusters(),
                predicted,
            }
        })
        .collect();
    (metrics::score(&clusters), grouping)
}

/// A method's conversations over all lines of a sample (line numbers). System lines are
/// singletons; every other line is grouped by the method.
pub fn predict(sample: &Sample, method: &Method) -> Vec<Vec<usize>> {
    let chat: Vec<&irc::IrcLine> = sample.lines.iter().filter(|l| !l.is_system()).collect();
    let mut clusters: Vec<Vec<usize>> = sample
        .lines
        .iter()
        .filter(|l| l.is_system())
        .map(|l| vec![l.index])
        .collect();
    match method {
        Method::Segmenter { params } => {
            let messages: Vec<ChatMessage> = chat.iter().map(|l| l.to_chat_message()).collect();
            let labels = Segmenter::new(params.clone()).assign(&messages);
            let groups = labels.iter().copied().max().map_or(0, |m| m + 1);
            let mut grouped = vec![Vec::new(); groups];
            for (line, label) in chat.iter().zip(labels) {
                grouped[label].push(line.index);
            }
            clusters.extend(grouped.into_iter().filter(|g| !g.is_empty()));
        }
        Method::TimeGap { threshold_secs } => {
            let mut current: Vec<usize> = Vec::new();
            let mut last_time = None;
            for line in &chat {
                if last_time.is_some_and(|t| line.time - t > *threshold_secs) {
                    clusters.push(std::mem::take(&mut current));
                }
                current.push(line.index);
                last_time = Some(line.time);
            }
            if !current.is_empty() {
                clusters.push(current);
            }
        }
        Method::Previous => {
            if !chat.is_empty() {
                clusters.push(chat.iter().map(|l| l.index).collect());
            }
        }
    }
    clusters
}

/// Chooses the time-gap threshold with the best one-to-one on the given (dev) samples; ties go to
/// the better scaled VI, then to the smaller threshold.
pub fn tune_time_gap(dev: &[Sample]) -> (i64, ConversationScores) {
    let mut best: Option<(i64, ConversationScores)> = None;
    for &threshold_secs in TIME_GAP_GRID {
        let scores = evaluate(dev, &Method::TimeGap { threshold_secs });
        let better = best.as_ref().is_none_or(|(_, b)| {
            (scores.one_to_one, scores.scaled_vi) > (b.one_to_one, b.scaled_vi)
        });
        if better {
            best = Some((threshold_secs, scores));
        }
    }
    best.unwrap_or_default()
}

/// The objective weight tuning maximises: the mean of the three headline metrics.
pub fn objective(scores: &ConversationScores) -> f64 {
    (scores.scaled_vi + scores.one_to_one + scores.f1) / 3.0
}

/// Coordinate ascent over the segmenter's weights on the given (dev) samples: each round tries
/// scaling every weight up and down and keeps any change that improves [`objective`].
/// Used to produce the defaults; run with `chief bench segmentation --tune`.
pub fn tune_segmenter(dev: &[Sample], start: SegmentParams, rounds: usize) -> (SegmentParams, f64) {
    let eval = |params: &SegmentParams| {
        objective(&evaluate(
            dev,
            &Method::Segmenter {
                params: params.clone(),
            },
        ))
    };
    let mut best = start;
    let mut best_score = eval(&best);
    let steps = [0.25, 0.5, 1.0];
    for round in 0..rounds {
        let mut improved = false;
        for field in 0..WEIGHT_FIELDS {
            for &step in &steps {
                for sign in [1.0, -1.0] {
                    let mut candidate = best.clone();
                    let value = weight_mut(&mut candidate, field);
                    *value += sign * step;
                    let score = eval(&candidate);
                    if score > best_score + 1e-9 {
                        best = candidate;
                        best_score = score;
                        improved = true;
                    }
                }
            }
        }
        tracing::info!(round, best_score, "tuning round");
        if !improved {
            break;
        }
    }
    (best, best_score)
}

const WEIGHT_FIELDS: usize = 23;

fn weight_mut(p: &mut SegmentParams, field: usize) -> &mut f64 {
    match field {
        0 => &mut p.addressed_author,
        1 => &mut p.addressed_latest,
        2 => &mut p.named_author,
        3 => &mut p.addressed_back,
        4 => &mut p.same_author,
        5 => &mut p.same_author_addressing,
        6 => &mut p.addressed_other,
        7 => &mut p.lexical,
        8 => &mut p.answers_question,
        9 => &mut p.gap_penalty,
        10 => &mut p.distance_penalty,
        11 => &mut p.new_bias,
        12 => &mut p.new_unaddressed,
        13 => &mut p.new_question,
        14 => &mut p.addressed_back_latest,
        15 => &mut p.author_in_discussion,
        16 => &mut p.addressee_in_discussion,
        17 => &mut p.adjacent,
        18 => &mut p.distance_linear,
        19 => &mut p.new_greeting,
        20 => &mut p.new_opener,
        21 => &mut p.new_length,
        _ => &mut p.to_greeting,
    }
}

/// Kummerfeld et al. (2019), Table 4 (Ubuntu test, conversation metrics, percent).
pub fn paper_rows() -> Vec<PaperRow> {
    let row = |system: &str, scaled_vi, one_to_one, precision, recall, f1| PaperRow {
        system: system.to_string(),
        scaled_vi,
        one_to_one,
        precision,
        recall,
        f1,
    };
    vec![
        row("Previous", 66.1, 27.6, 0.0, 0.0, 0.0),
        row("Lowe et al. (2017) heuristic", 80.6, 53.7, 10.8, 7.6, 8.9),
        row("Elsner & Charniak (2008)", 82.1, 51.4, 12.1, 21.5, 15.5),
        row("Linear (Kummerfeld et al.)", 88.9, 69.5, 19.3, 24.9, 21.8),
        row(
            "Feedforward (Kummerfeld et al.)",
            91.3,
            75.6,
            34.6,
            38.0,
            36.2,
        ),
        row("x10 vote (Kummerfeld et al.)", 91.5, 76.0, 36.3, 39.7, 38.0),
    ]
}

/// The report as a Markdown table (percentages), ready for BENCHMARKS.md.
pub fn render_table(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(
        "| split | method | setting | 1−VI | 1-1 | P | R | F1 | conversations (pred/gold) | messages | grouping ms |\n",
    );
    out.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for split in &report.splits {
        for result in &split.results {
            let s = &result.scores;
            out.push_str(&format!(
                "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {}/{} | {} | {:.0} |\n",
                split.split,
                result.method,
                result.setting,
                100.0 * s.scaled_vi,
                100.0 * s.one_to_one,
                100.0 * s.precision,
                100.0 * s.recall,
                100.0 * s.f1,
                s.predicted_conversations,
                s.gold_conversations,
                s.messages,
                result.grouping_ms,
            ));
        }
    }
    out
}
