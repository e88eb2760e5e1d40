//! `GET /metrics`: the emulator's own counters in the Prometheus text format (0.0.4), for a
//! scraper or a human with `curl`. Not an Azure surface: no token is asked (the emulator binds
//! loopback unless told otherwise, and nothing here is secret).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `sessions_emulator_http_requests_total` | counter | `surface` (see [`surface`]), `method`, `status` |
//! | `sessions_emulator_sessions` | gauge | `pool`, `resource_group`, `state` (`Booting`, `Ready`, `Allocated`, `Stopping`) |
//! | `sessions_emulator_pools` | gauge | none |
//! | `sessions_emulator_session_start_seconds` | histogram | `kind` (`boot`: started from scratch, `clone`: from a template snapshot); backend start until ready |
//! | `sessions_emulator_allocation_seconds` | histogram | none: an identifier's allocation, request until bound |
//! | `sessions_emulator_log_rows_total` | counter | `stream` (`console`, `lifecycle`, `pool_events`): rows stored |
//! | `sessions_emulator_log_rows_dropped_total` | counter | `stream`: rows dropped by the row cap or retention |
//! | `sessions_emulator_log_rows_held` | gauge | `stream`: rows held now |
//! | `sessions_emulator_log_lines_truncated_total` | counter | none: console lines cut at the line cap |
//! | `sessions_emulator_log_write_failures_total` | counter | none: batches SQLite refused |
//!
//! Request counts are process-wide; [`record_request`] is called by the server for every
//! request of every listener (pool origins included).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{header, Method};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use parking_lot::Mutex;
use sessions_runtime::pool::session::SessionState;
use sessions_runtime::telemetry::{self, Histogram};

use crate::state::AppState;

/// Content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

type RequestKey = (&'static str, &'static str, u16);

fn requests() -> &'static Mutex<BTreeMap<RequestKey, u64>> {
    static R: OnceLock<Mutex<BTreeMap<RequestKey, u64>>> = OnceLock::new();
    R.get_or_init(Default::default)
}

/// Which surface a request path belongs to (a small, fixed set of label values).
pub fn surface(path: &str) -> &'static str {
    let lower = path.to_ascii_lowercase();
    let p = lower.as_str();
    if p == "/health" {
        "health"
    } else if p == "/metrics" {
        "metrics"
    } else if p.starts_with("/v1/workspaces") || p.starts_with("/v1/query") {
        "log_analytics_query"
    } else if p.starts_with("/emulator/") {
        "emulator"
    } else if p.starts_with("/pools/") {
        "dataplane"
    } else if p.contains("/oauth2/") {
        "token"
    } else if p.contains("/.well-known/") || p.contains("/discovery/") {
        "discovery"
    } else if p.contains("/providers/microsoft.insights/metric") {
        "azure_monitor_metrics"
    } else if p.contains("/providers/microsoft.insights/diagnosticsettings") {
        "arm_diagnostic_settings"
    } else if p.contains("/providers/microsoft.app/sessionpools") {
        "arm_session_pools"
    } else if p.contains("/providers/microsoft.app/managedenvironments") {
        "arm_managed_environments"
    } else if p.contains("/providers/microsoft.operationalinsights/workspaces") {
        "arm_workspaces"
    } else if p.starts_with("/subscriptions") || p.starts_with("/providers") {
        "arm_other"
    } else {
        "other"
    }
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::PUT => "PUT",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts one answered request.
pub fn record_request(surface: &'static str, method: &Method, status: u16) {
    *requests()
        .lock()
        .entry((surface, method_label(method), status))
        .or_default() += 1;
}

/// The route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], render(&state))
}

/// The whole exposition.
pub fn render(state: &AppState) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "sessions_emulator_http_requests_total",
        "counter",
        "HTTP requests answered, by surface, method and status.",
    );
    for ((surface, method, status), n) in requests().lock().iter() {
        let _ = writeln!(
            out,
            "sessions_emulator_http_requests_total{{surface=\"{surface}\",method=\"{method}\",status=\"{status}\"}} {n}"
        );
    }

    let pools = state.pools().pools();
    header(
        &mut out,
        "sessions_emulator_pools",
        "gauge",
        "Session pools running.",
    );
    let _ = writeln!(out, "sessions_emulator_pools {}", pools.len());
    header(
        &mut out,
        "sessions_emulator_sessions",
        "gauge",
        "Sessions that have not ended, by pool and state.",
    );
    for h in &pools {
        let snap = h.snapshot();
        let ctx = h.context();
        for st in [
            SessionState::Booting,
            SessionState::Ready,
            SessionState::Allocated,
        ]
        .iter()
        .map(SessionState::name)
        .chain(["Stopping"])
        {
            let n = snap
                .sessions
                .iter()
                .filter(|s| s.state.name() == st)
                .count();
            let _ = writeln!(
                out,
                "sessions_emulator_sessions{{pool=\"{}\",resource_group=\"{}\",state=\"{st}\"}} {n}",
                escape(ctx.name()),
                escape(ctx.resource_group()),
            );
        }
    }

    let t = telemetry::global();
    header(
        &mut out,
        "sessions_emulator_session_start_seconds",
        "histogram",
        "Seconds from backend start until a session is ready, cold boots and template clones.",
    );
    histogram(
        &mut out,
        "sessions_emulator_session_start_seconds",
        "kind=\"boot\"",
        &t.boot,
    );
    histogram(
        &mut out,
        "sessions_emulator_session_start_seconds",
        "kind=\"clone\"",
        &t.clone,
    );
    header(
        &mut out,
        "sessions_emulator_allocation_seconds",
        "histogram",
        "Seconds to bind an identifier to a session (request until bound).",
    );
    histogram(
        &mut out,
        "sessions_emulator_allocation_seconds",
        "",
        &t.allocation,
    );

    if let Some(logs) = state.pools().logs() {
        let stats = logs.stats();
        let streams = ["console", "lifecycle", "pool_events"];
        let held = logs.held();
        header(
            &mut out,
            "sessions_emulator_log_rows_total",
            "counter",
            "Log rows stored, by stream.",
        );
        for (i, s) in streams.iter().enumerate() {
            let _ = writeln!(
                out,
                "sessions_emulator_log_rows_total{{stream=\"{s}\"}} {}",
                stats.written[i].load(Ordering::Relaxed)
            );
        }
        header(
            &mut out,
            "sessions_emulator_log_rows_dropped_total",
            "counter",
            "Log rows dropped by the row cap or retention, by stream.",
        );
        for (i, s) in streams.iter().enumerate() {
            let _ = writeln!(
                out,
                "sessions_emulator_log_rows_dropped_total{{stream=\"{s}\"}} {}",
                stats.dropped[i].load(Ordering::Relaxed)
            );
        }
        header(
            &mut out,
            "sessions_emulator_log_rows_held",
            "gauge",
            "Log rows held now, by stream.",
        );
        for (i, s) in streams.iter().enumerate() {
            let _ = writeln!(
                out,
                "sessions_emulator_log_rows_held{{stream=\"{s}\"}} {}",
                held[i].0
            );
        }
        header(
            &mut out,
            "sessions_emulator_log_lines_truncated_total",
            "counter",
            "Console lines cut at the line length cap.",
        );
        let _ = writeln!(
            out,
            "sessions_emulator_log_lines_truncated_total {}",
            stats.truncated.load(Ordering::Relaxed)
        );
        header(
            &mut out,
            "sessions_emulator_log_write_failures_total",
            "counter",
            "Log batches the database refused (kept in memory only).",
        );
        let _ = writeln!(
            out,
            "sessions_emulator_log_write_failures_total {}",
            stats.write_failures.load(Ordering::Relaxed)
        );
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn histogram(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    let s = h.snapshot();
    let sep = if labels.is_empty() { "" } else { "," };
    for (bound, n) in &s.buckets {
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", s.count);
    let braces = if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    };
    let _ = writeln!(out, "{name}_sum{braces} {}", s.sum);
    let _ = writeln!(out, "{name}_count{braces} {}", s.count);
}

/// Escapes a label value (backslash, quote, newline).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surfaces() {
        for (p, s) in [
            ("/health", "health"),
            ("/v1/workspaces/x/query", "log_analytics_query"),
            ("/t/oauth2/v2.0/token", "token"),
            ("/pools/s/rg/p/code/execute", "dataplane"),
            ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/sessionPools/p", "arm_session_pools"),
            ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/sessionPools/p/providers/Microsoft.Insights/metrics", "azure_monitor_metrics"),
            ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/e/providers/microsoft.insights/diagnosticSettings/d", "arm_diagnostic_settings"),
            ("/subscriptions/s", "arm_other"),
            ("/emulator/v1/consoleLogs", "emulator"),
            ("/favicon.ico", "other"),
        ] {
            assert_eq!(surface(p), s, "{p}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn histogram_lines() {
        let h = Histogram::default();
        h.observe(std::time::Duration::from_millis(3));
        let mut out = String::new();
        histogram(&mut out, "x_seconds", "kind=\"boot\"", &h);
        assert!(
            out.contains("x_seconds_bucket{kind=\"boot\",le=\"0.005\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("x_seconds_bucket{kind=\"boot\",le=\"0.0025\"} 0\n"),
            "{out}"
        );
        assert!(
            out.contains("x_seconds_bucket{kind=\"boot\",le=\"+Inf\"} 1\n"),
            "{out}"
        );
        assert!(out.contains("x_seconds_count{kind=\"boot\"} 1\n"), "{out}");
        let mut out = String::new();
        histogram(&mut out, "y_seconds", "", &h);
        assert!(out.contains("y_seconds_bucket{le=\"+Inf\"} 1\n"), "{out}");
        assert!(out.contains("y_seconds_sum 0.003\n"), "{out}");
    }
}
