//! Running one scenario through the code that serves Slack: the export imported into a scratch
//! store, then the briefing agent or click-to-context, exactly as `chief brief --export` and
//! `chief context --export` do. What it returns is everything the scorer needs, read from the
//! store before it is thrown away.

use std::collections::HashSet;
use std::path::Path;

use chrono::{Datelike, Duration as Days};

use super::scenario::{Kind, Scenario};
use super::score::{Unit, words};
use crate::config::Config;
use crate::features::briefing::cli::{BriefArgs, brief_in};
use crate::features::explain::cli::explain_in;
use crate::model::domain::{Message, SourceLink};
use crate::model::events::User;
use crate::platform::db::llm::{CallRecord, list_calls};
use crate::platform::db::{TempDb, directory, messages};
use crate::slack::web::FALLBACK_WORKSPACE_URL;

/// What chief wrote for a scenario, and what it could have known.
#[derive(Debug, Default)]
pub struct Written {
    pub units: Vec<Unit>,
    /// The guardrail's verdict (briefings).
    pub verdict: Option<String>,
    /// The messages the reader could see and chief could have drawn on.
    pub visible: Vec<Message>,
    pub reader: Option<User>,
    /// Folded words of every person's and channel's name: not content, not inventions.
    pub names: HashSet<String>,
    /// Numbers a date may be written with (day numbers of the days around the briefing, the year).
    pub date_numbers: Vec<u32>,
    /// Every model call the run made, oldest first.
    pub calls: Vec<CallRecord>,
}

/// Runs one scenario with `config`'s model settings (none: the extractive engine).
pub async fn run(
    scenario: &Scenario,
    config: &Config,
    suite: &Path,
    fixtures: &Path,
) -> anyhow::Result<Written> {
    let export = scenario.export_path(suite, fixtures);
    let scratch = TempDb::new().await?;
    let made = match scenario.kind {
        Kind::Briefing => briefing(&scratch, scenario, config, &export).await,
        Kind::Explain => explanation(&scratch, scenario, config, &export).await,
    };
    scratch.db.close().await;
    made
}

fn unit_sources(sources: &[SourceLink]) -> Vec<(String, String)> {
    sources
        .iter()
        .map(|s| (s.channel.clone(), s.ts.clone()))
        .collect()
}

async fn briefing(
    scratch: &TempDb,
    scenario: &Scenario,
    config: &Config,
    export: &Path,
) -> anyhow::Result<Written> {
    let args = BriefArgs {
        export: export.to_path_buf(),
        user: scenario.reader.clone(),
        date: scenario.date,
        json: false,
        workspace_url: FALLBACK_WORKSPACE_URL.to_string(),
    };
    let made = brief_in(scratch, config.clone(), &args).await?;
    let team = made.briefing.team_id.clone();
    let units = made
        .briefing
        .stories
        .iter()
        .map(|s| Unit {
            title: s.title.clone(),
            text: s.summary.clone(),
            sources: unit_sources(&s.sources),
        })
        .collect();
    let (start, end) = made.window;
    let visible = messages::visible_to(&scratch.db, &team, &scenario.reader, start, end).await?;
    let date_numbers = days_around(made.date);
    finish(
        scratch,
        &team,
        scenario,
        units,
        visible,
        date_numbers,
        made.verdict,
    )
    .await
}

async fn explanation(
    scratch: &TempDb,
    scenario: &Scenario,
    config: &Config,
    export: &Path,
) -> anyhow::Result<Written> {
    let (channel, ts) = (
        scenario.channel.as_deref().unwrap_or_default(),
        scenario.ts.as_deref().unwrap_or_default(),
    );
    let made = explain_in(scratch, config, export, channel, ts, Some(&scenario.reader)).await?;
    let e = &made.explanation;
    let units = vec![Unit {
        title: e.title.clone(),
        text: e.paragraphs.join("\n"),
        sources: unit_sources(&e.sources),
    }];
    // Whatever of the channel the reader can see (the window and the thread are inside it).
    let visible = messages::visible_to(&scratch.db, &made.team_id, &made.user_id, 0, i64::MAX)
        .await?
        .into_iter()
        .filter(|m| m.channel_id == channel)
        .collect();
    let date_numbers = crate::model::domain::ts_to_epoch(ts)
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|at| days_around(at.date_naive()))
        .unwrap_or_default();
    finish(
        scratch,
        &made.team_id,
        scenario,
        units,
        visible,
        date_numbers,
        None,
    )
    .await
}

/// The numbers a date near `day` may be written with: the day numbers from the day before to a
/// week after (a "Thursday" in the sources is written "Thursday 10 December"), and the year.
fn days_around(day: chrono::NaiveDate) -> Vec<u32> {
    (-1..=7)
        .map(|d| (day + Days::days(d)).day())
        .chain([day.year().unsigned_abs()])
        .collect()
}

async fn finish(
    scratch: &TempDb,
    team: &str,
    scenario: &Scenario,
    units: Vec<Unit>,
    visible: Vec<Message>,
    date_numbers: Vec<u32>,
    verdict: Option<String>,
) -> anyhow::Result<Written> {
    let db = &scratch.db;
    let reader = directory::get_user(db, team, &scenario.reader).await?;
    let mut names: HashSet<String> = crate::platform::db::briefings::people_names(db, team)
        .await?
        .iter()
        .flat_map(|n| words(n))
        .collect();
    let channel_ids: Vec<String> = visible
        .iter()
        .map(|m| m.channel_id.clone())
        .chain(
            units
                .iter()
                .flat_map(|u| u.sources.iter().map(|s| s.0.clone())),
        )
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let channel_names = directory::channel_names(db, team, &channel_ids).await?;
    names.extend(channel_names.values().flat_map(|n| words(n)));
    let calls = list_calls(db, 0).await?;
    Ok(Written {
        units,
        verdict,
        visible,
        reader,
        names,
        date_numbers,
        calls,
    })
}
