//! JUnit XML (`--junit FILE`), the format CI systems read: one `<testsuite>` per suite, one
//! `<testcase classname="{suite}" name="{case}">` per case, `<failure>` with the message and
//! the request and response that failed, `<skipped message="why">`, and known deviations in
//! `<system-out>`.

use std::fmt::Write as _;

use super::{Outcome, RunReport};

/// Escapes text for XML attributes and content.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0 (tab, CR, LF are).
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

fn secs(millis: u64) -> String {
    format!("{:.3}", millis as f64 / 1000.0)
}

/// The report as JUnit XML.
pub fn render(r: &RunReport) -> String {
    let c = r.counts();
    let total_ms: u64 = r.cases.iter().map(|x| x.millis).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"sessions-conformance\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" errors=\"0\" time=\"{}\" timestamp=\"{}\">",
        r.cases.len(),
        c.failed,
        c.skipped,
        secs(total_ms),
        escape(&r.started_at)
    );
    for (suite, sc, millis) in r.suites() {
        let cases: Vec<_> = r.cases.iter().filter(|x| x.suite == suite).collect();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" errors=\"0\" time=\"{}\">",
            escape(&suite),
            cases.len(),
            sc.failed,
            sc.skipped,
            secs(millis)
        );
        let _ = writeln!(
            out,
            "    <properties><property name=\"target\" value=\"{}\"/><property name=\"runId\" value=\"{}\"/></properties>",
            escape(&r.target),
            escape(&r.run_id)
        );
        for case in cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\">",
                escape(&case.suite),
                escape(&case.name),
                secs(case.millis)
            );
            match case.outcome {
                Outcome::Passed => {}
                Outcome::Skipped => {
                    let _ = write!(
                        out,
                        "\n      <skipped message=\"{}\"/>",
                        escape(case.message.as_deref().unwrap_or(""))
                    );
                }
                Outcome::Failed => {
                    let msg = case.message.as_deref().unwrap_or("");
                    let mut detail = msg.to_string();
                    if let Some(ex) = &case.exchange {
                        detail.push_str("\nthe request and response that failed:\n");
                        detail.push_str(&ex.to_string());
                    }
                    let _ = write!(
                        out,
                        "\n      <failure message=\"{}\" type=\"failure\">{}</failure>",
                        escape(msg),
                        escape(&detail)
                    );
                }
            }
            let mut sysout = format!("{}\n", case.purpose);
            for d in &case.deviations {
                let _ = writeln!(
                    sysout,
                    "known deviation `{}` (conformance/DEVIATIONS.md): {}",
                    d.id, d.observed
                );
            }
            let _ = writeln!(
                out,
                "\n      <system-out>{}</system-out>\n    </testcase>",
                escape(&sysout)
            );
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    #[test]
    fn junit_of_a_sample_run() {
        insta::assert_snapshot!(render(&sample()));
    }

    #[test]
    fn escaping_covers_markup_and_control_characters() {
        assert_eq!(escape("a<b>&\"'\u{1}\n"), "a&lt;b&gt;&amp;&quot;&apos;?\n");
    }
}
