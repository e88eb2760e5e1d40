//! What a run reports: a progress line per case as it finishes, a summary (time per suite,
//! the known deviations seen, and last the line `N passed, N failed[, N skipped]`), and on
//! request the same results as JUnit XML ([`junit`]) and JSON ([`json`]).

pub mod json;
pub mod junit;

use std::fmt::Write as _;

use serde::Serialize;

use crate::case::DeviationSeen;
use crate::http::Exchange;

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// As expected (possibly with known deviations, listed in `deviations`).
    Passed,
    /// Not as expected.
    Failed,
    /// Not run: `message` says why.
    Skipped,
}

/// One case's result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseReport {
    /// Suite.
    pub suite: String,
    /// Case name.
    pub name: String,
    /// One-line purpose.
    pub purpose: String,
    /// Outcome.
    pub outcome: Outcome,
    /// Failure or skip reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The request and response that failed (failures only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Exchange>,
    /// Known deviations seen (emulator only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deviations: Vec<DeviationSeen>,
    /// Run time in milliseconds.
    pub millis: u64,
}

impl CaseReport {
    /// `suite/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.suite, self.name)
    }

    /// The progress line printed when the case ends, then (failures) the message and the
    /// exchange that failed.
    pub fn progress(&self, index: usize, total: usize) -> String {
        let width = total.to_string().len();
        let head = format!("[{index:>width$}/{total}] {}", self.id());
        let secs = self.millis as f64 / 1000.0;
        let mut out = match self.outcome {
            Outcome::Passed if self.deviations.is_empty() => format!("{head} ... ok ({secs:.1} s)"),
            Outcome::Passed => format!(
                "{head} ... ok, known deviation {} ({secs:.1} s)",
                self.deviations
                    .iter()
                    .map(|d| format!("`{}`: {}", d.id, d.observed))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Outcome::Skipped => format!(
                "{head} ... skipped: {}",
                self.message.as_deref().unwrap_or("")
            ),
            Outcome::Failed => format!(
                "{head} ... FAILED ({secs:.1} s): {}",
                self.message.as_deref().unwrap_or("")
            ),
        };
        if self.outcome == Outcome::Failed {
            if let Some(ex) = &self.exchange {
                out.push_str("\n  the request and response that failed:\n");
                out.push_str(ex.to_string().trim_end());
            }
        }
        out
    }
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// What ran against (`emulator https://127.0.0.1:... (...)`).
    pub target: String,
    /// The run id (names and tags of created resources).
    pub run_id: String,
    /// Start time, RFC 3339.
    pub started_at: String,
    /// Every case, in run order.
    pub cases: Vec<CaseReport>,
    /// Cleanup problems (resources that may be left).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cleanup_problems: Vec<String>,
    /// Whether the run was interrupted (Ctrl-C).
    pub interrupted: bool,
}

/// Counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Skipped.
    pub skipped: usize,
    /// Passed with known deviations.
    pub deviations: usize,
}

impl RunReport {
    /// Counts over `cases`.
    pub fn counts(&self) -> Counts {
        count(self.cases.iter())
    }

    /// Per suite, in run order: (suite, counts, milliseconds).
    pub fn suites(&self) -> Vec<(String, Counts, u64)> {
        let mut out: Vec<(String, Counts, u64)> = Vec::new();
        for c in &self.cases {
            if !out.iter().any(|(s, _, _)| s == &c.suite) {
                let of: Vec<&CaseReport> =
                    self.cases.iter().filter(|x| x.suite == c.suite).collect();
                let millis = of.iter().map(|x| x.millis).sum();
                out.push((c.suite.clone(), count(of.into_iter()), millis));
            }
        }
        out
    }

    /// The summary printed at the end: time per suite, deviations seen, skips with reasons,
    /// failures, and last `N passed, N failed[, N skipped]`.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "\nsuite            passed  failed  skipped    time");
        for (suite, c, millis) in self.suites() {
            let _ = writeln!(
                out,
                "{suite:<16} {:>6}  {:>6}  {:>7}  {:>5.1} s",
                c.passed,
                c.failed,
                c.skipped,
                millis as f64 / 1000.0
            );
        }
        let devs: Vec<&CaseReport> = self
            .cases
            .iter()
            .filter(|c| !c.deviations.is_empty())
            .collect();
        if !devs.is_empty() {
            let _ = writeln!(
                out,
                "\nknown deviations from Azure seen (conformance/DEVIATIONS.md):"
            );
            for c in devs {
                for d in &c.deviations {
                    let _ = writeln!(out, "  {}: `{}`: {}", c.id(), d.id, d.observed);
                }
            }
        }
        let failed: Vec<&CaseReport> = self
            .cases
            .iter()
            .filter(|c| c.outcome == Outcome::Failed)
            .collect();
        if !failed.is_empty() {
            let _ = writeln!(out, "\nfailed:");
            for c in failed {
                let _ = writeln!(out, "  {}: {}", c.id(), c.message.as_deref().unwrap_or(""));
            }
        }
        for p in &self.cleanup_problems {
            let _ = writeln!(out, "cleanup: {p}");
        }
        if !self.cleanup_problems.is_empty() {
            let _ = writeln!(
                out,
                "run `sessions-conformance cleanup --run-id {}` (same target flags) to retry",
                self.run_id
            );
        }
        if self.interrupted {
            let _ = writeln!(out, "interrupted: the cases not run are not counted");
        }
        let c = self.counts();
        let _ = write!(out, "\n{} passed, {} failed", c.passed, c.failed);
        if c.skipped > 0 {
            let _ = write!(out, ", {} skipped", c.skipped);
        }
        out
    }

    /// 0 without failures (and not interrupted), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.counts().failed == 0 && !self.interrupted {
            0
        } else {
            1
        }
    }
}

fn count<'a>(cases: impl Iterator<Item = &'a CaseReport>) -> Counts {
    let mut c = Counts::default();
    for x in cases {
        match x.outcome {
            Outcome::Passed => {
                c.passed += 1;
                if !x.deviations.is_empty() {
                    c.deviations += 1;
                }
            }
            Outcome::Failed => c.failed += 1,
            Outcome::Skipped => c.skipped += 1,
        }
    }
    c
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A run with one case of each kind, for the writers' tests.
    pub(crate) fn sample() -> RunReport {
        let case = |suite: &str, name: &str, outcome, message: Option<&str>| CaseReport {
            suite: suite.into(),
            name: name.into(),
            purpose: format!("{name} works"),
            outcome,
            message: message.map(str::to_string),
            exchange: None,
            deviations: vec![],
            millis: 1500,
        };
        let mut failed = case(
            "arm",
            "crud",
            Outcome::Failed,
            Some("PUT: expected status 201, got 500 <&>"),
        );
        failed.exchange = Some(Exchange {
            method: "PUT".into(),
            url: "https://127.0.0.1:1/x?api-version=1".into(),
            request_headers: vec![("authorization".into(), "Bearer [token]".into())],
            request_body: Some(r#"{"location":"eastus"}"#.into()),
            status: Some(500),
            response_headers: vec![],
            response_body: r#"{"error":{"code":"InternalServerError"}}"#.into(),
            error: None,
            millis: 12,
        });
        let mut dev = case("dataplane", "capacity", Outcome::Passed, None);
        dev.deviations = vec![DeviationSeen {
            id: "capacity-429".into(),
            observed: "429 SessionPoolCapacityExceeded".into(),
        }];
        RunReport {
            target: "emulator https://127.0.0.1:1 (fake sessions, time scale 1)".into(),
            run_id: "rabc12".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            cases: vec![
                case("arm", "lists", Outcome::Passed, None),
                failed,
                dev,
                case(
                    "isolation",
                    "kernels",
                    Outcome::Skipped,
                    Some("needs real sessions (--backend qemu)"),
                ),
            ],
            cleanup_problems: vec![],
            interrupted: false,
        }
    }

    #[test]
    fn the_summary_ends_with_the_counts_and_lists_deviations_and_failures() {
        let r = sample();
        let s = r.summary();
        assert!(s.ends_with("\n2 passed, 1 failed, 1 skipped"), "{s}");
        assert!(s.contains("dataplane/capacity: `capacity-429`"), "{s}");
        assert!(s.contains("failed:\n  arm/crud: PUT"), "{s}");
        assert_eq!(r.exit_code(), 1);
        let mut ok = r.clone();
        ok.cases.retain(|c| c.outcome == Outcome::Passed);
        assert!(ok.summary().ends_with("\n2 passed, 0 failed"));
        assert_eq!(ok.exit_code(), 0);
        assert_eq!(
            r.suites()[0],
            (
                "arm".to_string(),
                Counts {
                    passed: 1,
                    failed: 1,
                    skipped: 0,
                    deviations: 0
                },
                3000
            )
        );
    }

    #[test]
    fn a_failing_progress_line_carries_the_request_and_response() {
        let r = sample();
        let p = r.cases[1].progress(2, 4);
        assert!(
            p.starts_with("[2/4] arm/crud ... FAILED (1.5 s): PUT"),
            "{p}"
        );
        assert!(
            p.contains("  > PUT https://127.0.0.1:1/x?api-version=1"),
            "{p}"
        );
        assert!(p.contains("  < 500"), "{p}");
        assert!(r.cases[3]
            .progress(4, 4)
            .ends_with("skipped: needs real sessions (--backend qemu)"));
        assert!(r.cases[2]
            .progress(3, 4)
            .contains("known deviation `capacity-429`"));
    }
}
