//! The briefing agent on a seeded workspace: shared digests (each channel window summarised
//! once, whoever reads it), feedback changing the next day's ranking, a crashed run resuming
//! without redoing its steps, the guardrail's corrective regeneration and extractive fallback,
//! on-demand editions, quiet days, and exactly one DM when two workers race on one database.

#[macro_use]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chief::ai::llm::Priority;
use chief::features::briefing::agent::{self, PrepareRequest, WindowRule};
use chief::features::briefing::{delivery, feedback};
use chief::features::context::Context;
use chief::platform::db::briefings::{self, BriefingRow, Status};
use chief::platform::db::{Db, runs};
use chief::slack::blocks::actions;
use chief::slack::interactions::ActionClick;
use chief::testkit::model_server::{LocalLlm, Reply};
use chief::testkit::scratch::ScratchDb;
use chrono::NaiveDate;
use serde_json::json;

use common::Backend;
use common::briefing::*;

/// Two whole UTC days ending at the last full hour: day 1 and day 2.
fn days() -> [(NaiveDate, i64, i64); 2] {
    let now = chief::platform::db::now();
    let end = now - now.rem_euclid(86_400);
    let d1 = end - 2 * 86_400;
    let date = |t: i64| chrono::DateTime::from_timestamp(t, 0).unwrap().date_naive();
    [
        (date(d1), d1, d1 + 86_400),
        (date(end - 86_400), end - 86_400, end),
    ]
}

async fn seed(db: &Db) {
    add_user(db, ANA, "Ana Lima", "UTC").await;
    add_user(db, BEN, "Ben Okafor", "UTC").await;
    add_user(db, CAT, "Cat Duarte", "UTC").await;
    add_user(db, DAN, "Dan Reyes", "UTC").await;
    add_channel(db, ENG, "eng", false, &[ANA, BEN, CAT]).await;
    add_channel(db, OPS, "ops", false, &[ANA, BEN, DAN]).await;
    add_channel(db, DESIGN, "design", false, &[ANA, CAT]).await;
    add_channel(db, EXEC, "exec", true, &[BEN, DAN]).await;
}

/// One day of conversations starting at `start`.
async fn conversations(db: &Db, start: i64) {
    let at = |minute: i64| start + 3_600 + minute * 60;
    let lines: [(&str, i64, &str, &str); 11] = [
        (
            ENG,
            0,
            BEN,
            "The Postgres migration of the billing database starts on Thursday night.",
        ),
        (
            ENG,
            2,
            CAT,
            "I reviewed the Postgres migration runbook for the billing database, the rollback steps look fine.",
        ),
        (
            ENG,
            4,
            BEN,
            "Good, the Postgres migration keeps the billing database read-only for an hour.",
        ),
        (
            OPS,
            6,
            DAN,
            "Ops will pause deploys during the Postgres migration of the billing database.",
        ),
        (
            OPS,
            8,
            BEN,
            "Thanks Dan, the Postgres migration runbook links the billing database dashboards.",
        ),
        (
            DESIGN,
            40,
            CAT,
            "The onboarding flow mockups are ready, the new signup screens are in Figma.",
        ),
        (
            DESIGN,
            42,
            CAT,
            "The onboarding flow now skips the team invite step for solo signups.",
        ),
        (
            ENG,
            80,
            BEN,
            "The flaky integration tests in CI failed three times on the payments service.",
        ),
        (
            ENG,
            82,
            CAT,
            "The payments service integration tests need a fixed seed, I will look at the flaky CI job.",
        ),
        (
            EXEC,
            90,
            BEN,
            "Confidential: the Zephyrsoft acquisition closes next month.",
        ),
        (
            EXEC,
            92,
            DAN,
            "Zephyrsoft acquisition budget approved by the board.",
        ),
    ];
    for (channel, minute, user, text) in lines {
        post(db, channel, at(minute), 100, user, text, None).await;
    }
}

async fn prepare(ctx: &Context, user: &str, day: (NaiveDate, i64, i64)) -> BriefingRow {
    agent::prepare_with(
        ctx,
        &PrepareRequest {
            team_id: TEAM.into(),
            user_id: user.into(),
            local_date: day.0,
            edition: String::new(),
            window: WindowRule::Fixed {
                start: day.1,
                end: day.2,
            },
            priority: Priority::Background,
            now: day.2,
        },
    )
    .await
    .expect("the briefing is prepared")
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_channel_window_is_summarised_once_whoever_reads_it() {
    let llm = valid_json_model().await;
    let w = world(ScratchDb::test_sqlite().await, Some(&llm)).await;
    seed(w.db()).await;
    let [day, _] = days();
    conversations(w.db(), day.1).await;

    let ana = prepare(&w.ctx, ANA, day).await;
    let after_ana = requests_by_task(&llm);
    let ben = prepare(&w.ctx, BEN, day).await;
    let cat = prepare(&w.ctx, CAT, day).await;
    let after_all = requests_by_task(&llm);

    // One digest per channel window, whatever the number of readers.
    let mut discussions = 0;
    for channel in [ENG, OPS, DESIGN, EXEC] {
        let digests = briefings::digests_of_channel(w.db(), TEAM, channel)
            .await
            .unwrap();
        assert_eq!(digests.len(), 1, "{channel}: {digests:?}");
        let summaries: Vec<serde_json::Value> =
            serde_json::from_str(&digests[0].summaries).unwrap();
        discussions += summaries.len();
    }
    // Every discussion went to the model exactly once: #eng and #ops were read by two or three
    // people, summarised once; only Ben's private #exec was new after Ana.
    assert_eq!(after_all["DiscussionSummary"], discussions, "{after_all:?}");
    let exec_digest = &briefings::digests_of_channel(w.db(), TEAM, EXEC)
        .await
        .unwrap()[0];
    let exec_discussions = serde_json::from_str::<Vec<serde_json::Value>>(&exec_digest.summaries)
        .unwrap()
        .len();
    assert_eq!(
        after_all["DiscussionSummary"] - after_ana["DiscussionSummary"],
        exec_discussions
    );
    // Ranking and text are per reader.
    assert_eq!(after_all["RankOutput"], 3);
    assert_eq!(after_all["Briefing"], 3);
    // The later readers' runs record the digest as reused.
    let steps = runs::steps(w.db(), cat.run_id.unwrap()).await.unwrap();
    let eng = steps
        .iter()
        .find(|s| s.name == format!("digest:{ENG}"))
        .unwrap();
    assert_eq!(eng.source.as_deref(), Some("cache"));
    // Privacy: only Ben (in #exec) hears of Zephyrsoft.
    for row in [&ana, &cat] {
        let text = serde_json::to_string(&row.briefing).unwrap();
        assert!(
            !text.contains("Zephyrsoft") && !text.contains(EXEC),
            "{text}"
        );
    }
    assert!(
        serde_json::to_string(&ben.briefing).unwrap().contains(EXEC)
            || ben.briefing.stories.len() == 3
    );
}

#[tokio::test]
async fn feedback_changes_the_next_days_ranking() {
    let w = world(ScratchDb::test_sqlite().await, None).await;
    seed(w.db()).await;
    let [day1, day2] = days();
    conversations(w.db(), day1.1).await;
    conversations(w.db(), day2.1).await;

    let first = prepare(&w.ctx, ANA, day1).await;
    for s in &first.briefing.stories {
        println!("day 1: {} {:?}", s.title, s.topics);
    }
    assert_eq!(first.briefing.stories.len(), 3, "{:#?}", first.briefing);
    let top = first.briefing.stories[0].clone();
    let last = first.briefing.stories[2].clone();
    let sent = delivery::send(&w.ctx, &first).await.unwrap();
    let delivery::Outcome::Delivered { channel, ts } = sent else {
        panic!("not delivered: {sent:?}");
    };

    let click = |action: &str, story: &str| ActionClick {
        team_id: TEAM.into(),
        user_id: ANA.into(),
        action_id: action.into(),
        value: Some(json!({"story": story, "action": "x"}).to_string()),
        selected: vec![],
        channel_id: Some(channel.clone()),
        message_ts: Some(ts.clone()),
        view_id: None,
        view_hash: None,
        trigger_id: None,
        response_url: None,
    };
    feedback::on_action(&w.ctx, &click(actions::LESS_LIKE_THIS, &top.id))
        .await
        .unwrap();
    feedback::on_action(&w.ctx, &click(actions::MORE_LIKE_THIS, &last.id))
        .await
        .unwrap();
    // Clicking twice counts once.
    feedback::on_action(&w.ctx, &click(actions::MORE_LIKE_THIS, &last.id))
        .await
        .unwrap();
    // Acknowledged in place: the DM's buttons became lines.
    let updates = w.slack.calls("chat.update");
    assert_eq!(updates.len(), 3);
    let blocks = updates[2].json_param("blocks").unwrap().to_string();
    assert!(
        blocks.contains("Got it — less like this") && blocks.contains("Got it — more like this"),
        "{blocks}"
    );
    assert_eq!(updates[2].param("ts").as_deref(), Some(ts.as_str()));

    // The next day, with the same conversations: the liked topic leads, the disliked one is gone.
    let second = prepare(&w.ctx, ANA, day2).await;
    for s in &second.briefing.stories {
        println!("day 2: {} {:?}", s.title, s.topics);
    }
    let next_top = &second.briefing.stories[0];
    assert!(
        next_top.topics.iter().any(|t| last.topics.contains(t)),
        "liked {:?} should lead: {:#?}",
        last.topics,
        second.briefing
    );
    assert!(
        second
            .briefing
            .stories
            .iter()
            .all(|s| !s.topics.iter().any(|t| top.topics.first() == Some(t))),
        "disliked {:?} left out: {:#?}",
        top.topics,
        second.briefing
    );
}

/// Story ids come from the stories' sources, never from the model (it only groups summaries):
/// two days' briefings share no id, so "More like this" on yesterday's story, clicked where
/// chief cannot tell the message (no channel or ts in the click), lands on yesterday's briefing.
#[tokio::test]
async fn story_ids_are_stable_and_feedback_finds_the_right_day() {
    let llm = valid_json_model().await;
    let w = world(ScratchDb::test_sqlite().await, Some(&llm)).await;
    seed(w.db()).await;
    let [day1, day2] = days();
    conversations(w.db(), day1.1).await;
    conversations(w.db(), day2.1).await;
    let first = prepare(&w.ctx, ANA, day1).await;
    let second = prepare(&w.ctx, ANA, day2).await;
    assert!(requests_by_task(&llm)["Grouping"] >= 2);
    let ids = |row: &BriefingRow| -> Vec<String> {
        row.briefing.stories.iter().map(|s| s.id.clone()).collect()
    };
    assert!(!ids(&first).is_empty() && !ids(&second).is_empty());
    for id in ids(&first) {
        assert!(id.starts_with("story-") && id.len() == 18, "{id}");
        assert!(!ids(&second).contains(&id), "{id} on both days");
    }
    let story = first.briefing.stories[0].id.clone();
    let click = ActionClick {
        team_id: TEAM.into(),
        user_id: ANA.into(),
        action_id: actions::MORE_LIKE_THIS.into(),
        value: Some(json!({"story": story, "action": "more"}).to_string()),
        selected: vec![],
        channel_id: None,
        message_ts: None,
        view_id: None,
        view_hash: None,
        trigger_id: None,
        response_url: None,
    };
    feedback::on_action(&w.ctx, &click).await.unwrap();
    let day1_row = briefings::get(w.db(), TEAM, ANA, day1.0, "")
        .await
        .unwrap()
        .unwrap();
    let day2_row = briefings::get(w.db(), TEAM, ANA, day2.0, "")
        .await
        .unwrap()
        .unwrap();
    assert!(day1_row.acks.contains_key(&story), "{:?}", day1_row.acks);
    assert!(day2_row.acks.is_empty(), "{:?}", day2_row.acks);
    // The same day prepared again (another edition) gives the same ids.
    let again = agent::prepare_with(
        &w.ctx,
        &PrepareRequest {
            edition: "now:1".into(),
            window: WindowRule::Fixed {
                start: day1.1,
                end: day1.2,
            },
            ..PrepareRequest::daily(TEAM, ANA, day1.0, day1.2)
        },
    )
    .await
    .unwrap();
    assert_eq!(ids(&again), ids(&first));
}

#[tokio::test]
async fn a_crashed_run_resumes_without_redoing_its_steps() {
    let hang = Arc::new(AtomicBool::new(true));
    let hanging = hang.clone();
    let llm = LocalLlm::builder()
        .responder(move |req| {
            let reply = valid_json_responder(req);
            if task_of(req) == "Briefing" && hanging.load(Ordering::SeqCst) {
                reply.delayed(Duration::from_secs(30))
            } else {
                reply
            }
        })
        .start()
        .await
        .unwrap();
    let scratch = ScratchDb::test_sqlite().await;
    let slack = chief::testkit::fake_slack::FakeSlack::start()
        .await
        .expect("fake Slack starts");
    let mut config = config(&scratch.url, &slack, Some(&llm));
    // No response cache: what is not redone is not redone because the run recorded it.
    config.llm.cache_ttl_secs = Some(0);
    common::init();
    let ctx = Context::new(config, scratch.db.clone());
    seed(&scratch.db).await;
    let [day, _] = days();
    conversations(&scratch.db, day.1).await;

    // The process "dies" while the model writes the text.
    let interrupted = tokio::time::timeout(Duration::from_secs(3), prepare(&ctx, ANA, day)).await;
    assert!(interrupted.is_err(), "the run was cut short");
    let before = requests_by_task(&llm);
    assert_eq!(before["RankOutput"], 1);
    assert_eq!(before["Grouping"], 1);
    assert_eq!(before["Briefing"], 1);

    hang.store(false, Ordering::SeqCst);
    let row = prepare(&ctx, ANA, day).await;
    let after = requests_by_task(&llm);
    assert_eq!(
        after["DiscussionSummary"], before["DiscussionSummary"],
        "digests not redone"
    );
    assert_eq!(after["Grouping"], 1, "consolidation not redone");
    assert_eq!(after["RankOutput"], 1, "ranking not redone");
    assert_eq!(after["Briefing"], 2, "only the interrupted step ran again");
    assert!(!row.briefing.stories.is_empty());
    let run = runs::get(&scratch.db, row.run_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, runs::RunStatus::Succeeded);
    let steps = runs::steps(&scratch.db, run.id).await.unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    for expected in [
        "window",
        "consolidate",
        "rank",
        "generate",
        "guardrail",
        "compose",
    ] {
        assert_eq!(
            names.iter().filter(|n| **n == expected).count(),
            1,
            "{names:?}"
        );
    }
    let compose = steps.iter().find(|s| s.name == "compose").unwrap();
    assert_eq!(compose.verdict.as_deref(), Some("pass"));
}

/// A model that invents a name in its first sentence (`times` times, then answers properly).
fn inventing(times: usize) -> impl Fn(&chief::testkit::model_server::SeenRequest) -> Reply {
    let count = std::sync::atomic::AtomicUsize::new(0);
    move |req| {
        let reply = valid_json_responder(req);
        if task_of(req) != "Briefing" || count.fetch_add(1, Ordering::SeqCst) >= times {
            return reply;
        }
        let mut data: serde_json::Value = serde_json::from_str(req.data().unwrap()).unwrap();
        common::briefing::drop_proposition_lines(&mut data);
        let input: chief::ai::tasks::BriefingInput = serde_json::from_value(data).unwrap();
        let mut b = chief::ai::tasks::Task::extractive(&chief::ai::tasks::GenerateBriefing, &input);
        if let Some(s) = b.items.first_mut().and_then(|i| i.sentences.first_mut()) {
            s.text = format!("Yesterday Marcus Wellington signed off on it. {}", s.text);
        }
        Reply::json(serde_json::to_value(b).unwrap())
    }
}

async fn guarded(times: usize) -> (BriefingRow, String) {
    let llm = LocalLlm::builder()
        .responder(inventing(times))
        .start()
        .await
        .unwrap();
    let w = world(ScratchDb::test_sqlite().await, Some(&llm)).await;
    seed(w.db()).await;
    let [day, _] = days();
    conversations(w.db(), day.1).await;
    let row = prepare(&w.ctx, ANA, day).await;
    delivery::send(&w.ctx, &row).await.unwrap();
    let dms = w.dms();
    assert_eq!(dms.len(), 1);
    (row, dm_text(&dms[0]))
}

#[tokio::test]
async fn an_invented_name_is_corrected_and_never_reaches_slack() {
    let (row, text) = guarded(1).await;
    let verdict = row.verdict.unwrap();
    assert!(verdict.starts_with("corrected: invented name"), "{verdict}");
    assert!(verdict.contains("Wellington"), "{verdict}");
    assert!(
        !text.contains("Marcus") && !text.contains("Wellington"),
        "{text}"
    );
}

#[tokio::test]
async fn a_model_that_keeps_inventing_falls_back_to_the_extractive_text() {
    let (row, text) = guarded(usize::MAX).await;
    let verdict = row.verdict.unwrap();
    assert!(verdict.starts_with("fallback: invented name"), "{verdict}");
    assert!(
        !text.contains("Marcus") && !text.contains("Wellington"),
        "{text}"
    );
    assert!(!row.briefing.stories.is_empty());
}

/// Issue 14's wiped briefing: the model's briefing is rejected once (an invented name), the
/// corrected call finds no model (HTTP 503, so the gateway answers extractively with the
/// critique), and that extractive text fails too (the model's discussion titles carry a number
/// no message gives). The fallback used to drop every section a violation touched and said
/// "Nothing needs you" while Ben's request to the reader was open. Now only what fails is
/// replaced: the request stays, cited.
#[tokio::test]
async fn a_rejected_answer_and_an_unavailable_correction_never_wipe_the_briefing() {
    let briefing_calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let calls = briefing_calls.clone();
    let invent = inventing(1);
    let llm = LocalLlm::builder()
        .responder(move |req| match task_of(req).as_str() {
            "Briefing" if calls.fetch_add(1, Ordering::SeqCst) >= 1 => Reply::status(503),
            "Briefing" => invent(req),
            "DiscussionSummary" => {
                let chief::testkit::model_server::ReplyBody::Content(content) =
                    valid_json_responder(req).body
                else {
                    return valid_json_responder(req);
                };
                let mut summary: serde_json::Value = serde_json::from_str(&content).unwrap();
                let title = summary["title"].as_str().unwrap_or("").to_string();
                summary["title"] = json!(format!("{title} for 40 people"));
                Reply::json(summary)
            }
            _ => valid_json_responder(req),
        })
        .start()
        .await
        .unwrap();
    let w = world(ScratchDb::test_sqlite().await, Some(&llm)).await;
    seed(w.db()).await;
    let [day, _] = days();
    conversations(w.db(), day.1).await;
    let request = post(
        w.db(),
        ENG,
        day.1 + 3_600 + 84 * 60,
        100,
        BEN,
        "Ana, could you review the payments service runbook before Friday?",
        None,
    )
    .await;
    let row = prepare(&w.ctx, ANA, day).await;
    let verdict = row.verdict.clone().unwrap();
    assert!(verdict.starts_with("fallback: "), "{verdict}");
    assert!(briefing_calls.load(Ordering::SeqCst) >= 2);
    delivery::send(&w.ctx, &row).await.unwrap();
    let text = dm_text(&w.dms()[0]);
    assert!(!row.briefing.stories.is_empty(), "{text}");
    assert!(!text.contains("Nothing needs"), "{text}");
    assert!(
        !text.contains("Marcus") && !text.contains("40 people"),
        "{text}"
    );
    let story = row
        .briefing
        .stories
        .iter()
        .find(|s| s.sources.iter().any(|src| src.ts == request))
        .unwrap_or_else(|| panic!("the request is cited: {:#?}", row.briefing.stories));
    assert!(story.summary.contains("review"), "{story:#?}");
    // Every step of the loop is in the run, the repair included.
    let steps = runs::steps(w.db(), row.run_id.unwrap()).await.unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    for step in [
        "generate",
        "guardrail",
        "generate:corrected",
        "guardrail:corrected",
        "generate:extractive",
        "guardrail:extractive",
        "guardrail:repaired",
    ] {
        assert!(names.contains(&step), "{step} in {names:?}");
    }
    // The writer was given the request itself to cite.
    let writer = llm
        .requests()
        .into_iter()
        .find(|r| task_of(r) == "Briefing")
        .unwrap();
    assert!(
        writer
            .data()
            .unwrap()
            .contains("could you review the payments service runbook"),
        "{}",
        writer.data().unwrap()
    );
    let repaired = steps
        .iter()
        .find(|s| s.name == "guardrail:repaired")
        .unwrap();
    assert_eq!(repaired.verdict.as_deref(), Some("pass"));
}

#[tokio::test]
async fn on_demand_editions_and_quiet_days() {
    let w = world(ScratchDb::test_sqlite().await, None).await;
    seed(w.db()).await;
    // Messages in the last hours: `/chief briefing` covers the last 24 hours up to now.
    let now = chief::platform::db::now();
    conversations(w.db(), now - 5 * 3_600).await;
    chief::features::briefing::request_now(&w.ctx, TEAM, ANA)
        .await
        .unwrap();
    chief::features::briefing::request_now(&w.ctx, TEAM, ANA)
        .await
        .unwrap();
    assert_eq!(w.dms().len(), 2, "each request is a fresh edition");
    let recent = briefings::recent(w.db(), TEAM, ANA, 5).await.unwrap();
    let editions: Vec<&str> = recent.iter().map(|r| r.edition.as_str()).collect();
    assert!(
        editions.contains(&"now:1") && editions.contains(&"now:2"),
        "{editions:?}"
    );
    assert!(recent.iter().all(|r| r.status == Status::Delivered));
    assert_eq!(
        chief::features::briefing::latest(&w.ctx, TEAM, ANA)
            .await
            .unwrap()
            .unwrap()
            .stories
            .len(),
        recent[0].briefing.stories.len()
    );

    // A person in no channel has a quiet day.
    add_user(w.db(), "U0EVE", "Eve Park", "UTC").await;
    let [day, _] = days();
    let quiet = prepare(&w.ctx, "U0EVE", day).await;
    assert!(quiet.briefing.stories.is_empty());
    assert_eq!(
        quiet.status,
        Status::Prepared,
        "a quiet day sends a short note by default"
    );
    delivery::send(&w.ctx, &quiet).await.unwrap();
    let note = w.dms().last().map(dm_text).unwrap();
    assert!(note.contains("nothing needs you"), "{note}");

    add_user(w.db(), "U0FAY", "Fay Chen", "UTC").await;
    chief::platform::db::profile::update_settings(
        w.db(),
        TEAM,
        "U0FAY",
        now,
        &chief::model::activity::ScheduleRules::default(),
        |s| s.quiet_day = chief::model::settings::QuietDay::Nothing,
    )
    .await
    .unwrap();
    let silent = prepare(&w.ctx, "U0FAY", day).await;
    assert_eq!(silent.status, Status::Skipped);
    let before = w.dms().len();
    delivery::send(&w.ctx, &silent).await.unwrap();
    assert_eq!(
        w.dms().len(),
        before,
        "nothing sent on a quiet day when asked"
    );
}

// ---------------------------------------------------------------------------------------------
// Two workers, one database: one DM.

on_both_backends!(backend: two_workers_send_one_dm);

async fn two_workers_send_one_dm(backend: Backend) {
    let w = world(backend.scratch().await, None).await;
    seed(w.db()).await;
    let [_, day] = days();
    conversations(w.db(), day.1).await;
    due_now(&w.ctx, ANA).await;
    // A second chief process: its own pool and instance id, the same database and Slack.
    let db2 = Db::connect(&w.scratch.url).await.unwrap();
    let ctx2 = Context::new(config(&w.scratch.url, &w.slack, None), db2);
    let date = delivery::local_today(&w.ctx, TEAM, ANA).await.unwrap();
    let (a, b, c, d) = tokio::join!(
        chief::features::briefing::deliver(&w.ctx, TEAM, ANA, date),
        chief::features::briefing::deliver(&ctx2, TEAM, ANA, date),
        async {
            chief::features::briefing::schedule::tick(&w.ctx, chief::platform::db::now())
                .await
                .unwrap();
            drain_jobs(&w.ctx).await
        },
        async {
            chief::features::briefing::schedule::tick(&ctx2, chief::platform::db::now())
                .await
                .unwrap();
            drain_jobs(&ctx2).await
        },
    );
    a.unwrap();
    b.unwrap();
    let _ = (c, d);
    // Retries and restarts later: still one.
    chief::features::briefing::deliver(&ctx2, TEAM, ANA, date)
        .await
        .unwrap();
    chief::features::briefing::schedule::tick(&ctx2, chief::platform::db::now())
        .await
        .unwrap();
    drain_jobs(&ctx2).await;
    assert_eq!(w.dms().len(), 1, "{:?}", w.dms());
    let row = briefings::get(w.db(), TEAM, ANA, date, "")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, Status::Delivered);
    // The agent planned the next day.
    let agent = chief::platform::db::profile::get_agent(w.db(), TEAM, ANA)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(agent.last_briefing_date, Some(date));
}

// ---------------------------------------------------------------------------------------------
// Slack's answers to the post.

#[tokio::test]
async fn slack_failures_retry_skip_or_suspend() {
    use chief::testkit::fake_slack::Reply as SlackReply;
    let w = world(ScratchDb::test_sqlite().await, None).await;
    seed(w.db()).await;
    let [day, _] = days();
    conversations(w.db(), day.1).await;

    // Slack down: the claim is given back, the error is retryable, the next attempt sends it.
    let ana = prepare(&w.ctx, ANA, day).await;
    w.slack.script(
        "chat.postMessage",
        [SlackReply::Raw {
            status: 503,
            body: "unavailable".into(),
        }],
    );
    let err = delivery::send(&w.ctx, &ana).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    let again = briefings::get_by_id(w.db(), ana.id).await.unwrap().unwrap();
    assert_eq!(again.status, Status::Prepared);
    assert!(matches!(
        delivery::send(&w.ctx, &again).await.unwrap(),
        delivery::Outcome::Delivered { .. }
    ));

    // The user cannot be DMed: skipped with the reason, never retried.
    let ben = prepare(&w.ctx, BEN, day).await;
    w.slack.script(
        "conversations.open",
        [SlackReply::Error("user_not_found".into())],
    );
    let outcome = delivery::send(&w.ctx, &ben).await.unwrap();
    assert!(
        matches!(&outcome, delivery::Outcome::Skipped(r) if r.contains("user_not_found")),
        "{outcome:?}"
    );
    let ben = briefings::get_by_id(w.db(), ben.id).await.unwrap().unwrap();
    assert_eq!(ben.status, Status::Skipped);
    assert_eq!(
        delivery::send(&w.ctx, &ben).await.unwrap(),
        delivery::Outcome::AlreadyDone(Status::Skipped)
    );

    // The token was revoked: the team is suspended, the briefing skipped.
    let cat = prepare(&w.ctx, CAT, day).await;
    w.slack.script(
        "chat.postMessage",
        [SlackReply::Error("invalid_auth".into())],
    );
    let outcome = delivery::send(&w.ctx, &cat).await.unwrap();
    assert!(
        matches!(outcome, delivery::Outcome::Skipped(_)),
        "{outcome:?}"
    );
    assert!(
        chief::features::ingest::directory::is_suspended(&w.ctx, TEAM)
            .await
            .unwrap()
    );
    let before = w.dms().len();
    let dan = chief::features::briefing::deliver(&w.ctx, TEAM, DAN, day.0).await;
    assert!(dan.is_ok());
    assert_eq!(w.dms().len(), before, "a suspended team gets no DM");
    // Calls Slack saw: Ana's failed post, her successful one, Cat's refused one.
    assert_eq!(w.dms().len(), 3);
}

// ---------------------------------------------------------------------------------------------
// The interest agent.

#[tokio::test]
async fn a_redelivered_event_counts_once() {
    use chief::model::events::DomainEvent;
    use chief::model::interest::HalfLife;
    use chief::platform::bus::BusEvent;
    let w = world(ScratchDb::test_sqlite().await, None).await;
    seed(w.db()).await;
    let at = chief::platform::db::now() - 600;
    let ts = post(
        w.db(),
        DESIGN,
        at,
        1,
        CAT,
        "The onboarding flow mockups are ready in Figma.",
        None,
    )
    .await;
    let reaction = BusEvent {
        id: 42,
        team_id: TEAM.into(),
        created_at: at,
        event: DomainEvent::ReactionAdded {
            channel_id: DESIGN.into(),
            message_ts: ts.clone(),
            user_id: ANA.into(),
            reaction: "eyes".into(),
            at,
        },
    };
    chief::features::briefing::interest::handle(&w.ctx, &reaction)
        .await
        .unwrap();
    let once = chief::platform::db::profile::load_profile(w.db(), TEAM, ANA, HalfLife::default())
        .await
        .unwrap();
    chief::features::briefing::interest::handle(&w.ctx, &reaction)
        .await
        .unwrap();
    let twice = chief::platform::db::profile::load_profile(w.db(), TEAM, ANA, HalfLife::default())
        .await
        .unwrap();
    let now = chief::platform::db::now();
    assert!(!once.top(5, now).is_empty());
    assert_eq!(once.top(5, now), twice.top(5, now));
    // Author and reactor are now close, both ways.
    assert_eq!(once.close_people(1, now)[0].0, CAT);
    let cat = chief::platform::db::profile::load_profile(w.db(), TEAM, CAT, HalfLife::default())
        .await
        .unwrap();
    assert_eq!(cat.close_people(1, now)[0].0, ANA);
    assert!(
        cat.top(5, now).is_empty(),
        "being reacted to says nothing of Cat's interests"
    );
    let origins = briefings::origins(w.db(), TEAM, ANA).await.unwrap();
    assert!(origins.values().all(|o| o == "reacted"), "{origins:?}");

    // Someone not in the channel reacting (a stale event) learns nothing.
    let outsider = BusEvent {
        id: 43,
        event: DomainEvent::ReactionAdded {
            channel_id: DESIGN.into(),
            message_ts: ts,
            user_id: DAN.into(),
            reaction: "eyes".into(),
            at,
        },
        ..reaction
    };
    chief::features::briefing::interest::handle(&w.ctx, &outsider)
        .await
        .unwrap();
    let dan = chief::platform::db::profile::load_profile(w.db(), TEAM, DAN, HalfLife::default())
        .await
        .unwrap();
    assert!(dan.top(5, now).is_empty());

    // A mention and a reply.
    let parent = post(
        w.db(),
        ENG,
        at,
        2,
        BEN,
        "Who owns the billing export job?",
        None,
    )
    .await;
    let reply = chief::model::events::PostedMessage {
        channel_id: ENG.into(),
        ts: format!("{}.000003", at + 60),
        thread_ts: Some(parent.clone()),
        user_id: Some(CAT.into()),
        bot_id: None,
        subtype: None,
        text: "Ana Lima owns the billing export job since March.".into(),
        mentions: vec![ANA.into()],
        posted_at: at + 60,
        edited_at: None,
        reply_count: None,
        channel_private: None,
        reactions: vec![],
    };
    let event = BusEvent {
        id: 44,
        team_id: TEAM.into(),
        created_at: at + 60,
        event: DomainEvent::MessagePosted(reply),
    };
    chief::features::briefing::interest::handle(&w.ctx, &event)
        .await
        .unwrap();
    let ana = chief::platform::db::profile::load_profile(w.db(), TEAM, ANA, HalfLife::default())
        .await
        .unwrap();
    assert!(
        ana.score_of("billing export job", now) > 0.0
            || ana.top(10, now).iter().any(|(t, _)| t.contains("billing")),
        "{:?}",
        ana.top(10, now)
    );
    let ben = chief::platform::db::profile::load_profile(w.db(), TEAM, BEN, HalfLife::default())
        .await
        .unwrap();
    assert_eq!(ben.close_people(1, now)[0].0, CAT, "answered by Cat");
}

/// A reader five hours behind UTC (America/Chicago in June) is asked at 9 pm on Tuesday, their
/// time — already Wednesday in UTC — for something "tomorrow at 2pm": their briefing says
/// Wednesday, as they read it. The shared digest is made in the reader's offset (the team has no
/// default time zone: before, it was made in UTC and said Thursday).
#[tokio::test]
async fn a_reader_behind_utc_reads_dates_in_their_own_time_zone() {
    let w = world(Backend::Sqlite.scratch().await, None).await;
    let db = w.db();
    add_user(db, ANA, "Ana Lima", "America/Chicago").await;
    add_user(db, BEN, "Ben Okafor", "America/Chicago").await;
    add_channel(db, ENG, "eng", false, &[ANA, BEN]).await;
    // Tuesday 9 June 2026, 00:00 in Chicago (UTC−5) is 05:00 UTC.
    let start = 1_780_981_200;
    let ask = start + 21 * 3600;
    post(
        db,
        ENG,
        ask - 600,
        1,
        BEN,
        "The quarterly budget report for the finance review is almost ready.",
        None,
    )
    .await;
    post(
        db,
        ENG,
        ask,
        2,
        BEN,
        "Ana, can you send me the quarterly budget report tomorrow at 2pm?",
        None,
    )
    .await;
    let date = NaiveDate::from_ymd_opt(2026, 6, 9).unwrap();
    let row = prepare(&w.ctx, ANA, (date, start, start + 86_400)).await;
    let text = format!("{:?}", row.briefing);
    println!("{text}");
    assert!(text.contains("Wednesday 10 June"), "{text}");
    assert!(!text.contains("Thursday 11 June"), "{text}");
}
