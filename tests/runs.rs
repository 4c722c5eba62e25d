//! Durable runs, on SQLite and on PostgreSQL: a run that fails, panics or dies mid-way resumes
//! without redoing its finished steps; a purpose never runs twice; the inspector shows each step.

#[macro_use]
mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chief::features::context::Context;
use chief::platform::db::jobs::{self as jobs_store, JobRecord, JobStatus};
use chief::platform::db::now;
use chief::platform::db::runs::{self as store, StepStatus};
use chief::platform::jobs::worker::{self, Outcome};
use chief::platform::jobs::{EnqueueOptions, Job, JobError, Registry, enqueue};
use chief::platform::runs::inspect::{self, RunsCommand};
use chief::platform::runs::{
    Run, RunError, RunOptions, RunStatus, StepError, StepMeta, StepSource,
};
use chief::testkit::scratch::ScratchDb;
use common::bare_context;
use serde::{Deserialize, Serialize};

on_both_backends!(
    a_failed_run_resumes_without_redoing_finished_steps,
    a_panicking_step_fails_the_run_and_a_resume_completes_it,
    a_run_dropped_mid_way_resumes,
    a_flaky_step_is_retried_alone,
    the_same_purpose_never_creates_a_second_run,
    a_changed_input_runs_the_step_again,
    the_inspector_shows_steps_tokens_verdicts_and_outputs,
    a_run_carried_by_a_job_resumes_after_its_worker_dies,
);

/// Step retries without waiting.
fn fast() -> RunOptions {
    RunOptions {
        step_attempts: 3,
        step_backoff_base: Duration::ZERO,
        ..RunOptions::default()
    }
}

/// How many times each step's closure ran: the "model server call count".
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<HashMap<String, u32>>>);

impl Calls {
    fn hit(&self, step: &str) {
        *self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(step.to_string())
            .or_default() += 1;
    }

    fn get(&self, step: &str) -> u32 {
        self.0.lock().unwrap().get(step).copied().unwrap_or(0)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Summary {
    channel: String,
    text: String,
}

/// A three-step "briefing": summarize two channels, then compose. `compose` fails while
/// `broken` is set.
async fn briefing(ctx: &Context, calls: &Calls, broken: &AtomicBool) -> Result<String, RunError> {
    let run = Run::start_or_resume(&ctx.db, "briefing", "U1:2026-05-01", "T1", Some("U1"))
        .await?
        .with_options(fast());
    let mut summaries = vec![];
    for channel in ["C1", "C2"] {
        let name = format!("summarize:{channel}");
        let summary = run
            .step(&name, &channel, |channel| {
                let name = name.clone();
                async move {
                    calls.hit(&name);
                    Ok::<_, StepError>((
                        Summary {
                            channel: channel.to_string(),
                            text: format!("the team shipped the {channel} release"),
                        },
                        StepMeta::tokens(1200, 80).source(StepSource::Model),
                    ))
                }
            })
            .await?;
        summaries.push(summary);
    }
    let text = run
        .step("compose", &summaries, |summaries| async move {
            calls.hit("compose");
            if broken.load(Ordering::SeqCst) {
                return Err(StepError::permanent("model returned no stories"));
            }
            let text: Vec<_> = summaries.iter().map(|s| s.text.clone()).collect();
            Ok((
                text.join("; "),
                StepMeta::tokens(300, 40)
                    .source(StepSource::Model)
                    .verdict("pass"),
            ))
        })
        .await?;
    run.finish(RunStatus::Succeeded).await?;
    Ok(text)
}

async fn a_failed_run_resumes_without_redoing_finished_steps(scratch: &ScratchDb) {
    let db = &scratch.db;
    let ctx = bare_context(db, &scratch.url);
    let calls = Calls::default();
    let broken = AtomicBool::new(true);

    let err = briefing(&ctx, &calls, &broken).await.unwrap_err();
    assert!(
        matches!(&err, RunError::StepFailed { step, attempts: 1, retryable: false, .. } if step == "compose"),
        "{err}"
    );
    let runs = store::list(
        db,
        &store::RunFilter {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].run.status, RunStatus::Failed);
    assert!(runs[0].run.error.as_deref().unwrap().contains("compose"));

    broken.store(false, Ordering::SeqCst);
    let text = briefing(&ctx, &calls, &broken).await.unwrap();
    assert_eq!(
        text,
        "the team shipped the C1 release; the team shipped the C2 release"
    );
    assert_eq!(
        calls.get("summarize:C1"),
        1,
        "finished steps are not redone"
    );
    assert_eq!(calls.get("summarize:C2"), 1);
    assert_eq!(calls.get("compose"), 2, "only the failed step runs again");

    let run = store::get(db, runs[0].run.id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Succeeded);
    assert!(run.error.is_none() && run.finished_at.is_some());
    let steps = store::steps(db, run.id).await.unwrap();
    let names: Vec<_> = steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["summarize:C1", "summarize:C2", "compose"]);
    assert!(steps.iter().all(|s| s.status == StepStatus::Ok));
    assert_eq!(steps[2].attempts, 2, "attempts add up across resumes");

    // Succeeded: running the agent again replays every step from the record.
    assert_eq!(briefing(&ctx, &calls, &broken).await.unwrap(), text);
    assert_eq!(calls.get("summarize:C1") + calls.get("compose"), 3);
}

async fn a_panicking_step_fails_the_run_and_a_resume_completes_it(scratch: &ScratchDb) {
    let db = &scratch.db;
    let ctx = bare_context(db, &scratch.url);
    let (calls, crash) = (&Calls::default(), &AtomicBool::new(true));
    let attempt = || async {
        let run = Run::start_or_resume(&ctx.db, "context", "M1", "T1", None)
            .await?
            .with_options(fast());
        let first: u32 = run
            .step("extract", "some message", |_| async {
                calls.hit("extract");
                Ok::<_, StepError>((42, StepMeta::default()))
            })
            .await?;
        let second: u32 = run
            .step("rank", &first, |n| async move {
                calls.hit("rank");
                if crash.load(Ordering::SeqCst) {
                    panic!("simulated crash in rank");
                }
                Ok::<_, StepError>((n + 1, StepMeta::default()))
            })
            .await?;
        run.finish(RunStatus::Succeeded).await?;
        Ok::<_, RunError>(second)
    };
    let err = attempt().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("panicked: simulated crash in rank"),
        "{err}"
    );
    assert!(
        !err.is_retryable(),
        "a panic is a bug: not retried in place"
    );
    crash.store(false, Ordering::SeqCst);
    assert_eq!(attempt().await.unwrap(), 43);
    assert_eq!((calls.get("extract"), calls.get("rank")), (1, 2));
}

async fn a_run_dropped_mid_way_resumes(scratch: &ScratchDb) {
    let db = &scratch.db;
    let ctx = bare_context(db, &scratch.url);
    let calls = Calls::default();
    let id = {
        let run = Run::start_or_resume(&ctx.db, "briefing", "U2:2026-05-01", "T1", Some("U2"))
            .await
            .unwrap();
        assert!(!run.is_resumed());
        let _: String = run
            .step("summarize:C1", "C1", |_| async {
                calls.hit("summarize:C1");
                Ok::<_, StepError>(("done".to_string(), StepMeta::default()))
            })
            .await
            .unwrap();
        run.id()
        // The process "dies" here: the run is dropped without finish.
    };
    let run = Run::start_or_resume(&ctx.db, "briefing", "U2:2026-05-01", "T1", Some("U2"))
        .await
        .unwrap();
    assert_eq!(run.id(), id);
    assert!(run.is_resumed());
    assert_eq!(run.record().status, RunStatus::Running);
    let again: String = run
        .step("summarize:C1", "C1", |_| async {
            calls.hit("summarize:C1");
            Ok::<_, StepError>(("redone".to_string(), StepMeta::default()))
        })
        .await
        .unwrap();
    assert_eq!(again, "done", "the recorded output is returned");
    assert_eq!(calls.get("summarize:C1"), 1);
    run.finish(RunStatus::Succeeded).await.unwrap();
}

async fn a_flaky_step_is_retried_alone(scratch: &ScratchDb) {
    let db = &scratch.db;
    let ctx = bare_context(db, &scratch.url);
    let calls = Calls::default();
    let run = Run::start_or_resume(&ctx.db, "briefing", "U3", "T1", Some("U3"))
        .await
        .unwrap()
        .with_options(fast());
    let _: i32 = run
        .step("first", &1, |_| async {
            calls.hit("first");
            Ok::<_, StepError>((1, StepMeta::default()))
        })
        .await
        .unwrap();
    let out: i32 = run
        .step("flaky", &2, |_| async {
            calls.hit("flaky");
            if calls.get("flaky") < 3 {
                return Err(StepError::from("429 Too Many Requests"));
            }
            Ok((2, StepMeta::tokens(10, 5)))
        })
        .await
        .unwrap();
    assert_eq!(out, 2);
    assert_eq!((calls.get("first"), calls.get("flaky")), (1, 3));
    let steps = store::steps(db, run.id()).await.unwrap();
    assert_eq!(steps[1].attempts, 3);
    assert_eq!(steps[1].status, StepStatus::Ok);
    assert!(steps[1].error.is_none());

    // Attempts exhausted: the run fails, retryably (the job queue will resume it later).
    let err = run
        .step("down", &3, |_| async {
            calls.hit("down");
            Err::<(i32, StepMeta), _>(StepError::from("connection refused"))
        })
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        RunError::StepFailed {
            attempts: 3,
            retryable: true,
            ..
        }
    ));
    assert!(err.is_retryable());
    assert_eq!(calls.get("down"), 3);
    let run_row = store::get(db, run.id()).await.unwrap().unwrap();
    assert_eq!(run_row.status, RunStatus::Failed);
    let down = &store::steps(db, run.id()).await.unwrap()[2];
    assert_eq!(down.status, StepStatus::Failed);
    assert_eq!(down.error.as_deref(), Some("connection refused"));
}

async fn the_same_purpose_never_creates_a_second_run(scratch: &ScratchDb) {
    let db = &scratch.db;
    let ctx = bare_context(db, &scratch.url);
    let start = || Run::start_or_resume(&ctx.db, "briefing", "U1:2026-05-01", "T1", Some("U1"));
    let (a, b) = tokio::join!(start(), start());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.id(), b.id());
    assert!(
        a.is_resumed() != b.is_resumed(),
        "exactly one of them created it"
    );
    a.finish(RunStatus::Succeeded).await.unwrap();

    let again = start().await.unwrap();
    assert_eq!(again.id(), b.id());
    assert!(again.is_finished());
    let err = again
        .step("new-step", &(), |_| async {
            Ok::<_, StepError>(((), StepMeta::default()))
        })
        .await
        .unwrap_err();
    assert!(matches!(err, RunError::Finished { .. }), "{err}");

    // Another kind, team or key is another purpose.
    let other_kind = Run::start_or_resume(&ctx.db, "context", "U1:2026-05-01", "T1", None)
        .await
        .unwrap();
    let other_team = Run::start_or_resume(&ctx.db, "briefing", "U1:2026-05-01", "T2", Some("U1"))
        .await
        .unwrap();
    assert!(!other_kind.is_resumed() && !other_team.is_resumed());
    let all = store::list(
        db,
        &store::RunFilter {
            limit: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(all.len(), 3);

    // Retention purges finished runs only.
    assert_eq!(store::purge_finished(db, now() + 10).await.unwrap(), 1);
    assert!(store::get(db, b.id()).await.unwrap().is_none());
    assert!(store::get(db, other_kind.id()).await.unwrap().is_some());
}

async fn a_changed_input_runs_the_step_again(scratch: &ScratchDb) {
    let db = &scratch.db;
    let ctx = bare_context(db, &scratch.url);
    let calls = Calls::default();
    let step = |run: &Run, input: Vec<&'static str>| {
        let calls = calls.clone();
        let run_id = run.id();
        async move {
            let _ = run_id;
            calls.hit("summarize");
            Ok::<_, StepError>((input.len(), StepMeta::default()))
        }
    };
    let run = Run::start_or_resume(&ctx.db, "briefing", "U4", "T1", None)
        .await
        .unwrap();
    let n: usize = run
        .step("summarize", &["m1", "m2"], |i| step(&run, i.to_vec()))
        .await
        .unwrap();
    assert_eq!(n, 2);
    drop(run);
    let run = Run::start_or_resume(&ctx.db, "briefing", "U4", "T1", None)
        .await
        .unwrap();
    let n: usize = run
        .step("summarize", &["m1", "m2", "m3"], |i| step(&run, i.to_vec()))
        .await
        .unwrap();
    assert_eq!(
        n, 3,
        "a late message changed the input: the step runs again"
    );
    let n: usize = run
        .step("summarize", &["m1", "m2"], |i| step(&run, i.to_vec()))
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(calls.get("summarize"), 2);
}

async fn the_inspector_shows_steps_tokens_verdicts_and_outputs(scratch: &ScratchDb) {
    let db = &scratch.db;
    let ctx = bare_context(db, &scratch.url);
    let calls = Calls::default();
    briefing(&ctx, &calls, &AtomicBool::new(false))
        .await
        .unwrap();
    let id = store::list(
        db,
        &store::RunFilter {
            limit: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap()[0]
        .run
        .id;

    let shown = inspect::execute(
        db,
        RunsCommand::Show {
            id,
            full: false,
            json: false,
        },
    )
    .await
    .unwrap();
    println!("{shown}");
    for expected in [
        &format!("run {id}  briefing  succeeded") as &str,
        "team T1  user U1  key U1:2026-05-01",
        "3 steps, tokens 2700 prompt + 200 completion",
        "#0 summarize:C1  ok  model  tokens 1200+80",
        "#1 summarize:C2  ok  model",
        "#2 compose  ok  model  tokens 300+40",
        "input   \"C1\"",
        "verdict pass",
        "\"text\": \"the team shipped the C1 release\"",
        "output  \"the team shipped the C1 release; the team shipped the C2 release\"",
    ] {
        assert!(
            shown.contains(expected),
            "missing {expected:?} in:\n{shown}"
        );
    }

    let listed = inspect::execute(
        db,
        RunsCommand::List {
            limit: 10,
            kind: Some("briefing".into()),
            user: Some("U1".into()),
            team: None,
            status: None,
            json: false,
        },
    )
    .await
    .unwrap();
    println!("{listed}");
    assert!(listed.contains("briefing") && listed.contains("succeeded"));
    assert!(listed.contains("2900"), "token total: {listed}");
    let none = inspect::execute(
        db,
        RunsCommand::List {
            limit: 10,
            kind: None,
            user: Some("U-nobody".into()),
            team: None,
            status: None,
            json: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(none, "no runs\n");

    let json: serde_json::Value = serde_json::from_str(
        &inspect::execute(
            db,
            RunsCommand::Show {
                id,
                full: false,
                json: true,
            },
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(json["run"]["status"], "succeeded");
    assert_eq!(json["steps"][0]["output"]["channel"], "C1");
    assert_eq!(json["steps"][2]["verdict"], "pass");
    assert_eq!(json["steps"][2]["prompt_tokens"], 300);

    let missing = inspect::execute(
        db,
        RunsCommand::Show {
            id: id + 1000,
            full: false,
            json: false,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(missing.to_string(), format!("no run with id {}", id + 1000));
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct BriefUser {
    user: String,
    day: String,
}

/// A job that composes a run: summarize (a "model call"), then post. While `hang` is set, the
/// post step never finishes — the process is about to be killed.
#[derive(Clone, Default)]
struct BriefingJob {
    calls: Calls,
    hang: Arc<AtomicBool>,
    /// Signalled when the post step has started (the moment process A is killed).
    posting: Arc<tokio::sync::Notify>,
}

impl Job for BriefingJob {
    type Ctx = Context;
    const NAME: &'static str = "test_briefing";
    type Payload = BriefUser;

    async fn run(&self, ctx: &Context, p: BriefUser, job: &JobRecord) -> Result<(), JobError> {
        let key = format!("{}:{}", p.user, p.day);
        let run =
            Run::start_or_resume(&ctx.db, "briefing", &key, &job.team_id, Some(&p.user)).await?;
        if run.is_finished() {
            return Ok(());
        }
        run.link_job(job.id).await?;
        let summary: String = run
            .step("summarize", &p.day, |day| async move {
                self.calls.hit("model");
                Ok::<_, StepError>((
                    format!("what happened on {day}"),
                    StepMeta::tokens(500, 50).source(StepSource::Model),
                ))
            })
            .await?;
        let _posted: String = run
            .step("post", &summary, |_| async {
                self.calls.hit("post");
                if self.hang.load(Ordering::SeqCst) {
                    self.posting.notify_one();
                    futures::future::pending::<()>().await;
                }
                Ok::<_, StepError>(("1714550000.000100".to_string(), StepMeta::default()))
            })
            .await?;
        run.finish(RunStatus::Succeeded).await?;
        Ok(())
    }
}

async fn a_run_carried_by_a_job_resumes_after_its_worker_dies(scratch: &ScratchDb) {
    let db = &scratch.db;
    let ctx = bare_context(db, &scratch.url);
    let job = BriefingJob::default();
    let registry = Registry::new().with(job.clone()).unwrap();
    let payload = BriefUser {
        user: "U1".into(),
        day: "2026-05-01".into(),
    };
    let enqueued = enqueue::<BriefingJob>(
        db,
        "T1",
        &payload,
        EnqueueOptions::default()
            .idempotency_key("briefing:U1:2026-05-01")
            .run_at(now() - 300),
    )
    .await
    .unwrap();

    // Process A claimed the job two minutes ago (its lease has run out since), summarized, and
    // was killed while posting.
    let claimed = jobs_store::claim(db, "process-a", &[BriefingJob::NAME], now() - 120, 60)
        .await
        .unwrap()
        .unwrap();
    job.hang.store(true, Ordering::SeqCst);
    let handler = registry.get(BriefingJob::NAME).unwrap();
    tokio::select! {
        _ = handler.run_record(&ctx, &claimed) => panic!("the post step hangs"),
        _ = job.posting.notified() => {} // process A is killed here: its future is dropped
    }
    assert_eq!(job.calls.get("model"), 1);
    let run_id = store::list(
        db,
        &store::RunFilter {
            limit: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap()[0]
        .run
        .id;
    let steps = store::steps(db, run_id).await.unwrap();
    let states: Vec<_> = steps.iter().map(|s| (s.name.as_str(), s.status)).collect();
    assert_eq!(
        states,
        [("summarize", StepStatus::Ok), ("post", StepStatus::Running)],
        "the inspector shows where the dead process stopped"
    );

    // Process B: the expired lease makes the job claimable; the run resumes.
    job.hang.store(false, Ordering::SeqCst);
    let executed = worker::try_execute_one(&ctx, &registry)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(executed.outcome, Outcome::Done);
    assert_eq!(executed.job.id, enqueued.job.id);
    assert_eq!(executed.job.attempts, 2);
    assert_eq!(job.calls.get("model"), 1, "the model is not called again");
    assert_eq!(
        jobs_store::get(db, enqueued.job.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        JobStatus::Done
    );
    let runs = store::list(
        db,
        &store::RunFilter {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].run.status, RunStatus::Succeeded);
    assert_eq!(runs[0].run.job_id, Some(enqueued.job.id));
    let shown = inspect::format_run(
        &runs[0].run,
        &store::steps(db, runs[0].run.id).await.unwrap(),
        Some(&jobs_store::get(db, enqueued.job.id).await.unwrap().unwrap()),
        false,
    );
    assert!(
        shown.contains(&format!("job {}  done  attempt 2/5", enqueued.job.id)),
        "{shown}"
    );
}
