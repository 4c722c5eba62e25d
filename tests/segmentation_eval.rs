//! Smoke test of `chief bench segmentation` on one real, human-annotated IRC sample.

mod common;

use std::path::PathBuf;

use chief::ai::segment::SegmentParams;
use chief::bench::segmentation::irc;
use chief::bench::segmentation::{self as eval, Method, Split};

fn data_dir() -> PathBuf {
    common::fixtures().join("chat-labels/irc-disentanglement/data")
}

#[test]
fn the_segmenter_beats_the_time_gap_baseline_on_a_dev_sample() {
    let data = data_dir();
    let sample = irc::load_sample(&Split::Dev.folder(&data), "2004-11-15_03").expect("dev sample");
    let samples = [sample];
    let (threshold, gap_scores) = eval::tune_time_gap(&samples);
    let ours = eval::evaluate(
        &samples,
        &Method::Segmenter {
            params: SegmentParams::default(),
        },
    );
    let previous = eval::evaluate(&samples, &Method::Previous);
    for scores in [&ours, &gap_scores, &previous] {
        for value in [
            scores.scaled_vi,
            scores.one_to_one,
            scores.precision,
            scores.recall,
            scores.f1,
        ] {
            assert!(
                (0.0..=1.0).contains(&value),
                "{value} out of range in {scores:?}"
            );
        }
        assert_eq!(scores.messages, 250, "the 250 annotated lines are scored");
    }
    println!(
        "segmenter {ours:?}\ntime-gap (> {threshold} s) {gap_scores:?}\nprevious {previous:?}"
    );
    assert!(
        ours.one_to_one >= gap_scores.one_to_one,
        "segmenter 1-1 {} < time-gap 1-1 {}",
        ours.one_to_one,
        gap_scores.one_to_one
    );
}

#[test]
fn gold_conversations_match_the_corpus_cluster_files() {
    let data = data_dir();
    for split in [Split::Dev, Split::Test] {
        let file = data.join(format!("gold.{}.clusters.txt", split.name()));
        let expected = irc::parse_clusters_file(&std::fs::read_to_string(file).expect("gold file"));
        let samples = irc::load_dir(&split.folder(&data)).expect("split loads");
        assert_eq!(samples.len(), expected.len());
        for sample in &samples {
            assert_eq!(
                sample.gold_clusters(),
                expected[&sample.name],
                "gold conversations of {}",
                sample.name
            );
        }
    }
}

#[test]
fn the_report_is_written_as_json() {
    let data = data_dir();
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("nested/segmentation.json");
    let report = eval::run(&eval::BenchOptions {
        data,
        splits: vec![Split::Dev],
        params: SegmentParams::default(),
    })
    .expect("bench runs");
    eval::write_report(&report, &out).expect("report written");
    let parsed: eval::Report =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read back")).expect("json");
    assert_eq!(parsed.splits.len(), 1);
    assert_eq!(
        parsed.time_gap_threshold_secs,
        report.time_gap_threshold_secs
    );
    let methods: Vec<&str> = report.splits[0]
        .results
        .iter()
        .map(|r| r.method.as_str())
        .collect();
    assert_eq!(methods, vec!["segmenter", "time-gap", "previous"]);
    assert!(eval::render_table(&report).contains("| dev | segmenter |"));
}
