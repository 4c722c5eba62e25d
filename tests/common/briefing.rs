//! The briefing tests' world: a workspace seeded in a real store, a fake Slack, and a
//! local OpenAI-compatible model server answering every task with valid JSON.

use std::sync::Arc;

use chief::ai::tasks::{
    BriefingInput, ConsolidateInput, ConsolidateTopics, Discussion, GenerateBriefing, GroupTopics,
    RankForUser, RankInput, SummarizeDiscussion, Task,
};
use chief::config::{Config, DeploymentConfig};
use chief::features::context::Context;
use chief::model::events::{PostedMessage, User};
use chief::model::settings::{DeliveryDays, DeliveryTime};
use chief::platform::db::{Db, directory, messages};
use chief::testkit::fake_slack::{FakeSlack, RecordedCall};
use chief::testkit::model_server::{LocalLlm, Reply, SeenRequest};
use chief::testkit::scratch::ScratchDb;
use serde_json::Value;

pub const TEAM: &str = "T0BRIEF";

/// The seeded people and channels (the agent tests and the end-to-end test share them).
pub const ANA: &str = "U0ANA";
pub const BEN: &str = "U0BEN";
pub const CAT: &str = "U0CAT";
pub const DAN: &str = "U0DAN";
pub const ENG: &str = "C0ENG";
pub const OPS: &str = "C0OPS";
pub const DESIGN: &str = "C0DESIGN";
pub const EXEC: &str = "G0EXEC";

/// The harness configuration (scratch database, fake Slack), with `llm` (if any) as the model under
/// the briefing's budgets: a briefing's inputs are larger than one task's, and its waits shorter.
pub fn config(url: &str, slack: &FakeSlack, llm: Option<&LocalLlm>) -> Config {
    let mut config = super::config(url, slack);
    if let Some(llm) = llm {
        super::model::use_model(&mut config, llm);
        config.llm.deployments = vec![deployment(&llm.base_url())];
        config.llm.timeout_secs = Some(5);
        config.llm.deadline_secs = Some(20);
        config.llm.max_retries = Some(1);
        config.llm.background_wait_secs = Some(2);
        config.llm.interactive_wait_secs = Some(2);
    }
    config
}

/// A local model that answers every task with valid JSON ([`valid_json_responder`]).
pub async fn valid_json_model() -> LocalLlm {
    LocalLlm::builder()
        .responder(valid_json_responder)
        .start()
        .await
        .expect("local model server")
}

/// The configuration of `chief brief --export` (a scratch database, no Slack) with `llm` as the
/// model, under a briefing's deadline.
pub fn export_config(llm: &LocalLlm) -> Config {
    let mut config = Config::for_database("sqlite::memory:");
    config.llm.deployments = vec![deployment(&llm.base_url())];
    config.llm.deadline_secs = Some(20);
    config
}

/// The harness deployment with room for a day's conversations.
pub fn deployment(base_url: &str) -> DeploymentConfig {
    DeploymentConfig {
        rpm: 6_000,
        tpm: 10_000_000,
        context_tokens: 64_000,
        ..super::model::deployment(base_url)
    }
}

/// chief's context over a scratch database (no HTTP server: the test drives the agents).
pub struct World {
    pub scratch: ScratchDb,
    pub slack: FakeSlack,
    pub ctx: Arc<Context>,
}

impl World {
    pub fn db(&self) -> &Db {
        &self.scratch.db
    }

    /// The DMs posted so far.
    pub fn dms(&self) -> Vec<RecordedCall> {
        self.slack.calls("chat.postMessage")
    }
}

pub async fn world(scratch: ScratchDb, llm: Option<&LocalLlm>) -> World {
    super::init();
    let slack = FakeSlack::start().await.expect("fake Slack starts");
    let ctx = Context::new(config(&scratch.url, &slack, llm), scratch.db.clone());
    World {
        scratch,
        slack,
        ctx,
    }
}

pub async fn add_user(db: &Db, id: &str, name: &str, tz: &str) {
    directory::upsert_user(
        db.pool(),
        TEAM,
        &User {
            user_id: id.into(),
            name: Some(
                name.split_whitespace()
                    .next()
                    .unwrap_or(name)
                    .to_lowercase(),
            ),
            display_name: Some(name.into()),
            real_name: Some(name.into()),
            tz: Some(tz.into()),
            tz_offset: None,
            locale: Some("en-US".into()),
            is_bot: false,
            deleted: false,
        },
        1,
    )
    .await
    .expect("user stored");
}

pub async fn add_channel(db: &Db, id: &str, name: &str, private: bool, members: &[&str]) {
    super::add_channel(db, TEAM, id, name, private, members).await;
}

/// Stores a message posted at `at` (seconds) with sequence `seq`; returns its ts.
pub async fn post(
    db: &Db,
    channel: &str,
    at: i64,
    seq: u32,
    user: &str,
    text: &str,
    thread_ts: Option<&str>,
) -> String {
    let ts = format!("{at}.{seq:06}");
    let m = PostedMessage {
        channel_id: channel.into(),
        ts: ts.clone(),
        thread_ts: thread_ts.map(str::to_string),
        user_id: Some(user.into()),
        bot_id: None,
        subtype: None,
        text: text.into(),
        mentions: vec![],
        posted_at: at,
        edited_at: None,
        reply_count: None,
        channel_private: None,
        reactions: vec![],
    };
    let mut conn = db.pool().acquire().await.expect("a connection");
    messages::upsert(&mut conn, TEAM, &m, messages::Source::Event)
        .await
        .expect("message stored");
    ts
}

/// Makes the user's briefing due now: a fixed delivery time at the current local minute, every
/// day a delivery day, and an activity now (which creates their agent and plans the day).
pub async fn due_now(ctx: &Context, user: &str) {
    use chief::model::activity::{ActivitySource, ScheduleRules};
    use chief::platform::db::profile;
    let now = chief::platform::db::now();
    let rules = ScheduleRules::default();
    let agent = profile::ensure_agent(&ctx.db, TEAM, user).await.unwrap();
    if agent.tz.is_none()
        && let Some(u) = directory::get_user(&ctx.db, TEAM, user).await.unwrap()
    {
        profile::set_timezone(
            &ctx.db,
            TEAM,
            user,
            u.tz.as_deref(),
            u.tz_offset,
            now,
            &rules,
        )
        .await
        .unwrap();
    }
    deliver_every_day_at_this_minute(ctx, TEAM, user).await;
    profile::record_activity(
        &ctx.db,
        TEAM,
        user,
        now - 7200,
        ActivitySource::Message,
        now,
        &rules,
    )
    .await
    .unwrap();
}

/// Sets the user's delivery time to the current local minute, every day (their agent exists).
pub async fn deliver_every_day_at_this_minute(ctx: &Context, team: &str, user: &str) {
    use chief::model::activity::ScheduleRules;
    use chief::platform::db::profile;
    let now = chief::platform::db::now();
    let agent = profile::get_agent(&ctx.db, team, user)
        .await
        .unwrap()
        .unwrap();
    let tz = profile::user_tz(&ctx.db, &agent).await.unwrap();
    let local = tz.local(now).time();
    profile::update_settings(&ctx.db, team, user, now, &ScheduleRules::default(), |s| {
        s.delivery_time = DeliveryTime::Fixed(
            chrono::NaiveTime::from_hms_opt(
                chrono::Timelike::hour(&local),
                chrono::Timelike::minute(&local),
                0,
            )
            .unwrap(),
        );
        s.delivery_days = DeliveryDays::parse("every day").unwrap();
    })
    .await
    .unwrap();
}

/// Runs due jobs until none is left.
pub async fn drain_jobs(ctx: &Context) -> usize {
    let registry = chief::app::registry().unwrap();
    let mut n = 0;
    while chief::platform::jobs::worker::try_execute_one(ctx, &registry)
        .await
        .unwrap()
        .is_some()
    {
        n += 1;
    }
    n
}

/// The task a model request is for, from the output schema's title.
pub fn task_of(req: &SeenRequest) -> String {
    req.schema()
        .and_then(|s| s.get("title"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// A model that answers every task with valid JSON: the extractive engine's answer for the data
/// it was sent (so validation passes and the pipeline is exercised end to end through HTTP).
pub fn valid_json_responder(req: &SeenRequest) -> Reply {
    let Some(data) = req.data() else {
        return Reply::json(serde_json::json!({}));
    };
    let Ok(mut data) = serde_json::from_str::<Value>(data) else {
        return Reply::json(serde_json::json!({}));
    };
    // Prompts show propositions as lines; the inputs are rebuilt without them.
    drop_proposition_lines(&mut data);
    let answer = match task_of(req).as_str() {
        "PropositionsOutput" => serde_json::from_value::<chief::ai::tasks::PropositionsInput>(data)
            .map(|i| serde_json::to_value(chief::ai::tasks::ExtractPropositions.extractive(&i))),
        "DiscussionSummary" => serde_json::from_value::<Discussion>(data)
            .map(|i| serde_json::to_value(SummarizeDiscussion::default().extractive(&i))),
        "ConsolidateOutput" => serde_json::from_value::<ConsolidateInput>(data["input"].clone())
            .map(|i| serde_json::to_value(ConsolidateTopics::default().extractive(&i))),
        "Grouping" => serde_json::from_value::<ConsolidateInput>(data["input"].clone())
            .map(|i| serde_json::to_value(GroupTopics::default().extractive(&i))),
        "RankOutput" => serde_json::from_value::<RankInput>(data)
            .map(|i| serde_json::to_value(RankForUser::default().extractive(&i))),
        "Briefing" => serde_json::from_value::<BriefingInput>(data)
            .map(|i| serde_json::to_value(GenerateBriefing.extractive(&i))),
        "Explainer" => serde_json::from_value::<chief::ai::tasks::ExplainInput>(data)
            .map(|i| serde_json::to_value(chief::ai::tasks::ExplainContext.extractive(&i))),
        _ => return Reply::json(serde_json::json!({})),
    };
    match answer {
        Ok(Ok(v)) => Reply::json(v),
        _ => Reply::json(serde_json::json!({})),
    }
}

/// Empties every `propositions` list of prompt lines (strings) in a prompt's data.
pub fn drop_proposition_lines(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                if k == "propositions"
                    && x.as_array().is_some_and(|a| a.iter().all(Value::is_string))
                {
                    *x = Value::Array(vec![]);
                } else {
                    drop_proposition_lines(x);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(drop_proposition_lines),
        _ => {}
    }
}

/// Counts of model requests per task (by schema title).
pub fn requests_by_task(llm: &LocalLlm) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for r in llm.requests() {
        *counts.entry(task_of(&r)).or_default() += 1;
    }
    counts
}

/// The text of a DM's blocks, flattened (for "does X appear anywhere").
pub fn dm_text(call: &RecordedCall) -> String {
    let blocks = call.json_param("blocks").unwrap_or(Value::Null);
    format!("{} {}", call.param("text").unwrap_or_default(), blocks)
}
