//! The step-by-step report of the image check: one line per step as it ends (`ok`, `FAIL`,
//! `skip`), its time and what it found; a failure's explanation indented below it.

use std::io::Write;
use std::time::Duration;

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It passed.
    Pass,
    /// It failed.
    Fail,
    /// It was not run (an earlier step failed).
    Skip,
}

/// One finished step.
#[derive(Debug, Clone)]
pub struct Step {
    /// What was checked.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// How long it took.
    pub elapsed: Duration,
    /// What it found, or what is wrong and how to fix it.
    pub detail: String,
}

/// The steps so far; prints each as it is recorded.
#[derive(Debug, Default)]
pub struct Report {
    /// Every step in order.
    pub steps: Vec<Step>,
}

impl Report {
    /// Records and prints a step.
    pub fn record(
        &mut self,
        name: &str,
        outcome: Outcome,
        elapsed: Duration,
        detail: impl Into<String>,
    ) {
        let step = Step {
            name: name.to_string(),
            outcome,
            elapsed,
            detail: detail.into(),
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", line(&step));
        let _ = out.flush();
        self.steps.push(step);
    }

    /// A passed step.
    pub fn pass(&mut self, name: &str, elapsed: Duration, detail: impl Into<String>) {
        self.record(name, Outcome::Pass, elapsed, detail);
    }

    /// A failed step.
    pub fn fail(&mut self, name: &str, elapsed: Duration, detail: impl Into<String>) {
        self.record(name, Outcome::Fail, elapsed, detail);
    }

    /// Steps not run, with why.
    pub fn skip_rest(&mut self, names: &[&str], why: &str) {
        for n in names {
            if !self.steps.iter().any(|s| s.name == *n) {
                self.record(n, Outcome::Skip, Duration::ZERO, why);
            }
        }
    }

    /// No step failed.
    pub fn passed(&self) -> bool {
        self.steps.iter().all(|s| s.outcome != Outcome::Fail)
    }

    /// `N passed, N failed[, N skipped]`.
    pub fn summary(&self) -> String {
        let count = |o| self.steps.iter().filter(|s| s.outcome == o).count();
        let mut s = format!(
            "{} passed, {} failed",
            count(Outcome::Pass),
            count(Outcome::Fail)
        );
        let skipped = count(Outcome::Skip);
        if skipped > 0 {
            s.push_str(&format!(", {skipped} skipped"));
        }
        s
    }
}

/// One report line (plus the indented detail of a failure).
pub fn line(s: &Step) -> String {
    let tag = match s.outcome {
        Outcome::Pass => "ok  ",
        Outcome::Fail => "FAIL",
        Outcome::Skip => "skip",
    };
    let time = if s.outcome == Outcome::Skip {
        String::new()
    } else {
        format!(" ({:.1} s)", s.elapsed.as_secs_f64())
    };
    match s.outcome {
        Outcome::Fail => format!(
            "{tag} {}{time}\n  {}",
            s.name,
            s.detail.replace('\n', "\n  ")
        ),
        _ if s.detail.is_empty() => format!("{tag} {}{time}", s.name),
        _ => format!("{tag} {}{time}: {}", s.name, s.detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_summary() {
        let mut r = Report::default();
        r.pass("image loads", Duration::from_millis(1500), "1 layer");
        r.fail(
            "container starts",
            Duration::from_secs(2),
            "exited\n  fix: x",
        );
        r.skip_rest(&["image loads", "stopSession"], "not run");
        assert_eq!(line(&r.steps[0]), "ok   image loads (1.5 s): 1 layer");
        assert_eq!(
            line(&r.steps[1]),
            "FAIL container starts (2.0 s)\n  exited\n    fix: x"
        );
        assert_eq!(line(&r.steps[2]), "skip stopSession: not run");
        assert_eq!(r.summary(), "1 passed, 1 failed, 1 skipped");
        assert!(!r.passed());
    }
}
