//! The log store under load (not a test: numbers only).
//!
//! 1. Ingest: ROWS console lines sent as a chatty session's supervisor sends them, routed to a
//!    workspace, into a file-backed store (WAL, `synchronous=FULL`): rows/s until all are
//!    durable and queryable.
//! 2. Start-up: reopening the store (the rows are read back into memory).
//! 3. Queries over those rows through the real store-backed source
//!    (`WorkspaceSource`): wall-clock p50/p95 and CPU p50 per query.
//!
//! `cargo run --release -p sessions-runtime --example bench_logstore [-- ROWS [RUNS]]`

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sessions_kql::{tables, DateTime, Engine, QueryOptions};
use sessions_runtime::clock::{ManualClock, SharedClock};
use sessions_runtime::logstore::origin::Origin;
use sessions_runtime::logstore::routes::{RouteTableBuilder, StreamKind, Table};
use sessions_runtime::logstore::scan::WorkspaceView;
use sessions_runtime::logstore::{ticks, Limits, LogStore, Record};
use sessions_runtime::store::Store;
use time::OffsetDateTime;

const ENV: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/env-prod";
const WS: &str = "11111111-2222-3333-4444-555555555555";

fn main() {
    let mut args = std::env::args().skip(1);
    let rows: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(21);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let now = OffsetDateTime::from_unix_timestamp(1_714_608_000).expect("time");
    let clock: SharedClock = Arc::new(ManualClock::new(now));
    let limits = Limits {
        max_rows: [rows.max(1), 250_000, 250_000],
        ..Limits::default()
    };
    let routes = || {
        let mut b = RouteTableBuilder::new();
        b.workspace(WS, 30)
            .environment_route(ENV, StreamKind::Console, WS, Table::Console);
        b
    };

    // 1. Ingest.
    let (ingest, cpu_ingest) = {
        let store = Store::open(dir.path()).expect("store");
        let logs = LogStore::open(&store, clock.clone(), limits).expect("log store");
        logs.install_routes(routes(), 0);
        let records = records(rows, now);
        let started = Instant::now();
        let cpu = process_cpu();
        for r in records {
            logs.send(r);
        }
        rt.block_on(logs.flush());
        (started.elapsed(), process_cpu().saturating_sub(cpu))
    };
    // 2. Reopen.
    let started = Instant::now();
    let store = Store::open(dir.path()).expect("reopen");
    let logs = LogStore::open(&store, clock.clone(), limits).expect("log store");
    let load = started.elapsed();
    logs.install_routes(routes(), 0);
    let (held, bytes) = logs.held()[0];
    let db_bytes = std::fs::metadata(dir.path().join("emulator.db")).map_or(0, |m| m.len())
        + std::fs::metadata(dir.path().join("emulator.db-wal")).map_or(0, |m| m.len());

    println!(
        "Log store: {rows} console lines of a chatty session, file-backed (WAL, synchronous=FULL)"
    );
    println!();
    println!("| measure | value |");
    println!("|---|---:|");
    println!(
        "| ingest (send -> durable and queryable) | {:.0} rows/s ({:.2} s; process CPU {:.2} s) |",
        rows as f64 / ingest.as_secs_f64(),
        ingest.as_secs_f64(),
        cpu_ingest.as_secs_f64()
    );
    println!(
        "| start-up load of {held} rows | {:.2} s |",
        load.as_secs_f64()
    );
    println!(
        "| memory held | {:.0} MiB ({:.0} bytes/row) |",
        bytes as f64 / 1048576.0,
        bytes as f64 / held.max(1) as f64
    );
    println!(
        "| database on disk | {:.0} MiB |",
        db_bytes as f64 / 1048576.0
    );
    println!();

    // 3. Queries.
    let source = logs.workspace(WorkspaceView {
        customer_id: WS.into(),
        retention_days: 30,
        now,
    });
    let catalog = tables::catalog();
    let engine = Engine::new(&catalog, &source);
    let opts = QueryOptions::at(DateTime(ticks(now)));
    let queries = [
        ("filtered take 100", "AppEnvSessionConsoleLogs | where SessionPoolName == \"pool-7\" and Stream == \"stderr\" | take 100"),
        ("summarize count() by bin(1m)", "AppEnvSessionConsoleLogs | summarize count() by bin(TimeGenerated, 1m)"),
        ("search \"text\"", "search \"text\""),
        ("docs: last hour, newest 100", "AppEnvSessionConsoleLogs | where TimeGenerated > ago(1h) | order by TimeGenerated desc | take 100"),
        ("where Log has \"error\" | count", "AppEnvSessionConsoleLogs | where Log has \"error\" | count"),
        ("count by pool, stream", "AppEnvSessionConsoleLogs | summarize count() by SessionPoolName, Stream"),
        ("top 10 sessions by lines", "AppEnvSessionConsoleLogs | summarize n = count() by SessionId | top 10 by n"),
    ];
    println!("Query latency over {held} rows through the store-backed source ({runs} runs each)");
    println!();
    println!("| query                            |   p50 ms |   p95 ms | CPU p50 ms | rows out |");
    println!("|----------------------------------|---------:|---------:|-----------:|---------:|");
    for (name, q) in queries {
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

/// `rows` console lines over the 24 hours before `now`: 20 pools, 2,000 sessions, a fifth on
/// stderr, about 1% mentioning "text" and 2% an error (the same mix as `bench_kql`).
fn records(rows: usize, now: OffsetDateTime) -> Vec<Record> {
    let origins: Vec<Arc<Origin>> = (0..20)
        .map(|i| {
            Arc::new(Origin {
                pool_id: format!("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.App/sessionPools/pool-{i}"),
                environment_id: ENV.into(),
                location: "eastus".into(),
                tenant_id: "t".into(),
                container_name: "main".into(),
                container_image: "myregistry.azurecr.io/agent-sandbox:1.4.2".into(),
            })
        })
        .collect();
    let ids: Vec<Arc<str>> = (0..2000)
        .map(|i| Arc::from(format!("user-{i:04}")))
        .collect();
    let pods: Vec<Arc<str>> = (0..2000)
        .map(|i| Arc::from(format!("pod-{i:04}-7f9c")))
        .collect();
    let step = 86_400_000_000_000i128 / rows.max(1) as i128;
    let start = now.unix_timestamp_nanos() - step * rows as i128;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    (0..rows)
        .map(|r| {
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
            Record {
                stream: StreamKind::Console,
                time: OffsetDateTime::from_unix_timestamp_nanos(start + step * r as i128)
                    .expect("time"),
                origin: origins[session % 20].clone(),
                pod: pods[session].clone(),
                identifier: Some(ids[session].clone()),
                tag: Cow::Borrowed(if err { "stderr" } else { "stdout" }),
                level: "",
                log,
            }
        })
        .collect()
}

fn thread_cpu() -> Duration {
    cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

fn process_cpu() -> Duration {
    cpu_clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn cpu_clock(id: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant libc defines.
    let rc = unsafe { libc::clock_gettime(id, &mut ts) };
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
