//! Runs selected cases one after the other against a target: skips what the target cannot
//! do (saying why), bounds each case's time, turns a panic into a failure, prints a progress
//! line per case, and deletes what the run created at the end, also after Ctrl-C.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use crate::case::{Case, Ctx, Failure, Needs};
use crate::report::{CaseReport, Outcome, RunReport};
use crate::target::{cleanup, Sessions, Target};

/// How long one case may take before it is failed.
pub const CASE_LIMIT: Duration = Duration::from_secs(600);

/// Why `case` cannot run on `target`, if it cannot.
pub fn skip_reason(case: &Case, target: &Target) -> Option<String> {
    let sessions = matches!(case.needs, Needs::Sessions | Needs::Vm | Needs::Workspace);
    if sessions && !target.is_emulator() && target.image.is_empty() {
        return Some(
            "needs --image: the sample session image (`make session-image`) pushed to a \
             registry the pools can pull"
                .into(),
        );
    }
    match case.needs {
        Needs::Vm if target.sessions == Sessions::Fake => Some(
            "needs real sessions: the emulator runs the fake backend (use --backend qemu)".into(),
        ),
        Needs::Workspace if target.workspace_id.is_none() => {
            Some("needs a Log Analytics workspace: pass --workspace ID".into())
        }
        _ => None,
    }
}

/// Runs one case.
pub async fn run_case(case: &Case, target: Arc<Target>) -> CaseReport {
    let started = Instant::now();
    let mut report = CaseReport {
        suite: case.suite.to_string(),
        name: case.name.to_string(),
        purpose: case.purpose.to_string(),
        outcome: Outcome::Passed,
        message: None,
        exchange: None,
        deviations: Vec::new(),
        millis: 0,
    };
    if let Some(why) = skip_reason(case, &target) {
        report.outcome = Outcome::Skipped;
        report.message = Some(why);
        return report;
    }
    let ctx = Ctx::new(target, &case.id());
    let fut = (case.run)(ctx.clone());
    let result = match tokio::time::timeout(CASE_LIMIT, tokio::spawn(fut)).await {
        Ok(Ok(r)) => r,
        Ok(Err(join)) => Err(Failure::Fail(format!(
            "the case panicked: {}",
            panic_text(join)
        ))),
        Err(_) => Err(Failure::Fail(format!(
            "the case took longer than {} s",
            CASE_LIMIT.as_secs()
        ))),
    };
    report.millis = started.elapsed().as_millis() as u64;
    report.deviations = ctx.deviations();
    match result {
        Ok(()) => {}
        Err(Failure::Skip(why)) => {
            report.outcome = Outcome::Skipped;
            report.message = Some(why);
        }
        Err(Failure::Fail(msg)) => {
            report.outcome = Outcome::Failed;
            report.message = Some(msg);
            report.exchange = ctx.last_exchange();
        }
    }
    report
}

fn panic_text(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(p) => p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "(no message)".into()),
        Err(e) => e.to_string(),
    }
}

/// Runs `cases` in order, printing progress to stdout; stops early on Ctrl-C. Deletes every
/// tracked resource at the end.
pub async fn run(cases: &[Case], target: Arc<Target>) -> RunReport {
    let started_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut out = tokio::io::stdout();
    let _ = out
        .write_all(
            format!(
                "sessions-conformance: {} cases against {} (run id {})\n",
                cases.len(),
                target.describe(),
                target.run_id
            )
            .as_bytes(),
        )
        .await;
    let mut reports = Vec::new();
    let mut interrupted = false;
    let ctrl_c = stop_signal();
    tokio::pin!(ctrl_c);
    for (i, case) in cases.iter().enumerate() {
        let r = tokio::select! {
            r = run_case(case, target.clone()) => r,
            _ = &mut ctrl_c => {
                interrupted = true;
                let _ = out.write_all(b"\ninterrupted (SIGINT or SIGTERM): deleting what the run created\n").await;
                break;
            }
        };
        let _ = out
            .write_all(format!("{}\n", r.progress(i + 1, cases.len())).as_bytes())
            .await;
        let _ = out.flush().await;
        reports.push(r);
    }
    let cleanup_problems = clean(&target).await;
    RunReport {
        target: target.describe(),
        run_id: target.run_id.clone(),
        started_at,
        cases: reports,
        cleanup_problems,
        interrupted,
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (what CI systems send a cancelled job).
async fn stop_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// Deletes what the run tracked; returns the problems, one line each.
pub async fn clean(target: &Target) -> Vec<String> {
    let items = target.take_created();
    if items.is_empty() {
        return Vec::new();
    }
    let limit = if target.is_emulator() {
        Duration::from_secs(120)
    } else {
        Duration::from_secs(1800)
    };
    cleanup::delete_all(target, items, limit)
        .await
        .into_iter()
        .filter_map(|d| d.problem.map(|p| format!("{}: {p}", d.id)))
        .collect()
}
