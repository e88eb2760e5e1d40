//! The run as JSON (`--json FILE`): `{target, runId, startedAt, interrupted, summary:
//! {passed, failed, skipped, deviations}, suites: [{name, passed, failed, skipped, millis}],
//! cases: [{suite, name, purpose, outcome, message?, exchange?, deviations?, millis}]}`.

use serde_json::{json, Value};

use super::RunReport;

/// The report as a JSON value.
pub fn render(r: &RunReport) -> Value {
    let c = r.counts();
    json!({
        "target": r.target,
        "runId": r.run_id,
        "startedAt": r.started_at,
        "interrupted": r.interrupted,
        "summary": c,
        "suites": r.suites().into_iter().map(|(name, c, millis)| json!({
            "name": name, "passed": c.passed, "failed": c.failed, "skipped": c.skipped,
            "deviations": c.deviations, "millis": millis,
        })).collect::<Vec<_>>(),
        "cases": r.cases,
        "cleanupProblems": r.cleanup_problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    #[test]
    fn json_of_a_sample_run() {
        insta::assert_json_snapshot!(render(&sample()));
    }
}
