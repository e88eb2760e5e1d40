//! Query latency of the KQL engine over 1,000,000 `AppEnvSessionConsoleLogs` rows held in the
//! in-memory source. Prints one table: wall-clock p50/p95 over repeated runs, and the p50 of
//! the CPU time the query used (which other work on a busy machine does not inflate). Not a
//! test: numbers only.
//!
//! `cargo run --release -p sessions-kql --example bench_kql [-- ROWS [RUNS [NAME-FILTER]]]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use sessions_kql::{tables, DateTime, Engine, MemorySource, QueryOptions, Timespan, Value};

fn main() {
    let mut args = std::env::args().skip(1);
    let rows: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(21);
    let only = args.next().unwrap_or_default();

    let now = DateTime::parse("2024-05-02T00:00:00Z").expect("valid time");
    let catalog = tables::catalog();
    let started = Instant::now();
    let source = load(&catalog, rows, now);
    let load_time = started.elapsed();
    let engine = Engine::new(&catalog, &source);
    let opts = QueryOptions::at(now);

    let queries = [
        ("filtered take 100", "AppEnvSessionConsoleLogs | where SessionPoolName == \"pool-7\" and Stream == \"stderr\" | take 100"),
        ("summarize count() by bin(1m)", "AppEnvSessionConsoleLogs | summarize count() by bin(TimeGenerated, 1m)"),
        ("search \"text\"", "search \"text\""),
        ("docs: last hour, newest 100", "AppEnvSessionConsoleLogs | where TimeGenerated > ago(1h) | order by TimeGenerated desc | take 100"),
        ("where Log has \"error\" | count", "AppEnvSessionConsoleLogs | where Log has \"error\" | count"),
        ("count by pool, stream", "AppEnvSessionConsoleLogs | summarize count() by SessionPoolName, Stream"),
        ("top 10 sessions by lines", "AppEnvSessionConsoleLogs | summarize n = count() by SessionId | top 10 by n"),
    ];

    println!("KQL query latency over {rows} AppEnvSessionConsoleLogs rows (in-memory source, loaded in {:.1} s, {runs} runs each)", load_time.as_secs_f64());
    println!();
    println!("| query                            |   p50 ms |   p95 ms | CPU p50 ms | rows out |");
    println!("|----------------------------------|---------:|---------:|-----------:|---------:|");
    for (name, q) in queries
        .into_iter()
        .filter(|(n, _)| n.contains(only.as_str()))
    {
        let mut times = Vec::with_capacity(runs);
        let mut cpu = Vec::with_capacity(runs);
        let mut out = 0;
        for i in 0..runs + 2 {
            let (t, c) = (Instant::now(), thread_cpu());
            let r = engine
                .query(q, &opts)
                .unwrap_or_else(|e| panic!("{q}: {e}"));
            let (elapsed, cpu_time) = (t.elapsed(), thread_cpu().saturating_sub(c));
            out = r.rows.len();
            if i >= 2 {
                times.push(elapsed);
                cpu.push(cpu_time);
            }
        }
        times.sort();
        cpu.sort();
        println!(
            "| {name:<32} | {:>8.1} | {:>8.1} | {:>10.1} | {out:>8} |",
            ms(percentile(&times, 50)),
            ms(percentile(&times, 95)),
            ms(percentile(&cpu, 50))
        );
    }
}

/// CPU time this thread has used (wall time alone misleads on a shared, busy machine).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant libc defines.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let i = ((sorted.len() * p).div_ceil(100))
        .saturating_sub(1)
        .min(sorted.len() - 1);
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `rows` console lines over the 24 hours before `now`: 20 pools, 2,000 sessions, a fifth on
/// stderr, about 1% mentioning "text" and 2% an error.
fn load(catalog: &sessions_kql::Catalog, rows: usize, now: DateTime) -> MemorySource {
    let schema = catalog.table(tables::CONSOLE_LOGS).expect("console table");
    let mut source = MemorySource::new(catalog);
    let s = |x: &str| Value::String(Arc::from(x));
    let pools: Vec<Value> = (0..20).map(|i| s(&format!("pool-{i}"))).collect();
    let sessions: Vec<Value> = (0..2000).map(|i| s(&format!("user-{i:04}"))).collect();
    let pods: Vec<Value> = (0..2000).map(|i| s(&format!("pod-{i:04}-7f9c"))).collect();
    let (stdout, stderr) = (s("stdout"), s("stderr"));
    let fixed = [
        ("TenantId", s("11111111-2222-3333-4444-555555555555")),
        ("ContainerName", s("main")),
        ("ContainerImage", s("myregistry.azurecr.io/agent-sandbox:1.4.2")),
        ("OperationName", s("ContainerConsoleLog")),
        ("Location", s("eastus")),
        ("EnvironmentName", s("env-prod")),
        ("SourceSystem", s("Azure")),
        ("Type", s(tables::CONSOLE_LOGS)),
        ("_ResourceId", s("/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg/providers/microsoft.app/managedenvironments/env-prod")),
        ("_SubscriptionId", s("00000000-0000-0000-0000-000000000001")),
        ("_IsBillable", s("true")),
    ];
    let idx = |n: &str| schema.index_of(n).expect("column");
    let step = Timespan(24 * 3600 * 10_000_000 / rows.max(1) as i64);
    let start = now.0 - step.0 * rows as i64;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for r in 0..rows {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let session = (rng % 2000) as usize;
        let err = (rng >> 24) % 5 == 0;
        let log = match (rng >> 40) % 100 {
            0 => format!("wrote {} bytes of text to the client", rng % 4096),
            1 | 2 => format!(
                "error: request {} failed: connection reset by peer",
                rng % 100_000
            ),
            _ => format!("GET /api/items/{} 200 {}ms", rng % 100_000, rng % 250),
        };
        let mut row = vec![Value::Null; schema.columns.len()];
        for (name, v) in &fixed {
            row[idx(name)] = v.clone();
        }
        row[idx("TimeGenerated")] = Value::DateTime(DateTime(start + step.0 * r as i64));
        row[idx("SessionPoolName")] = pools[session % 20].clone();
        row[idx("SessionId")] = sessions[session].clone();
        row[idx("PodName")] = pods[session].clone();
        row[idx("Stream")] = if err { stderr.clone() } else { stdout.clone() };
        row[idx("_BilledSize")] = Value::Real(log.len() as f64);
        row[idx("Log")] = Value::from(log);
        source
            .push_row(tables::CONSOLE_LOGS, row)
            .expect("row fits the schema");
    }
    source
}
