//! VM benchmark: cold boot and template clone to first HTTP 200, marginal memory per idle
//! clone, and time to have 10 sessions ready, each as median/p95 over several runs, with the
//! accelerator named. Prints one table; never asserts.
//!
//! Tunables: `BENCH_VM_RUNS` (default 5), `BENCH_VM_IDLE` (idle clones measured, default 5),
//! `BENCH_VM_BATCH` (sessions in the batch, default 10), `BENCH_VM_BATCH_RUNS` (default 3),
//! `BENCH_VM_SPARES=0` (no spare clones).
//! Needs `make guest` (static agent + sample session) and scripts/setup's packages.

use std::time::{Duration, Instant};

use sessions_runtime::vm::qemu::{QemuBackend, QemuOptions};
use sessions_runtime::vm::sample::sample_image;
use sessions_runtime::vm::{Backend, ContainerSpec, Session, SessionSpec};

const BOOT: Duration = Duration::from_secs(180);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn spec(image: &sessions_runtime::image::PreparedImage, id: String) -> SessionSpec {
    SessionSpec::new(id, image.clone(), ContainerSpec::default())
}

/// Waits for the container process to start (as the pool does before probing), then polls
/// until the first HTTP 200. Polling earlier would measure slirp, not the VM: a connection
/// made while the guest has no network yet hangs until slirp retransmits its SYN (seconds).
async fn first_200(client: &reqwest::Client, s: &Session) -> anyhow::Result<()> {
    s.wait_running(BOOT).await?;
    let url = format!("http://{}/", s.addr);
    let deadline = Instant::now() + BOOT;
    loop {
        if let Ok(r) = client.get(&url).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            anyhow::bail!("no HTTP 200 from {url} within {BOOT:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    let idx = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[idx.min(v.len() - 1)]
}

fn kib_field(text: &str, field: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn rss_pss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    (
        kib_field(&status, "VmRSS:").unwrap_or(f64::NAN) / 1024.0,
        kib_field(&rollup, "Pss:").unwrap_or(f64::NAN) / 1024.0,
    )
}

fn mem_available_mib() -> f64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    kib_field(&text, "MemAvailable:").unwrap_or(f64::NAN) / 1024.0
}

fn row(name: &str, unit: &str, values: &[f64], target: &str) {
    println!(
        "| {name:<34} | {:>9.1} | {:>9.1} | {:>3} | {unit:<4} | {target:<10} |",
        quantile(values, 0.5),
        quantile(values, 0.95),
        values.len()
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let runs = env_usize("BENCH_VM_RUNS", 5);
    let idle = env_usize("BENCH_VM_IDLE", 5);
    let batch = env_usize("BENCH_VM_BATCH", 10);
    let batch_runs = env_usize("BENCH_VM_BATCH_RUNS", 3);
    let dir = tempfile::tempdir()?;
    let image = sample_image(&dir.path().join("rootfs"))?;
    let mut options = QemuOptions::new(dir.path().join("data"));
    options.spare_clones = std::env::var("BENCH_VM_SPARES").map_or(true, |v| v != "0");
    let backend = QemuBackend::new(options).await?;
    let accel = backend.accel().clone();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()?;
    let mut n = 0u32;
    let mut next_id = || {
        n += 1;
        format!("bench-{n}")
    };

    // Boot media are built (and cached) before timing.
    backend
        .start_with(spec(&image, next_id()), false)
        .await?
        .control
        .kill()
        .await;

    let mut cold = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let s = backend.start_with(spec(&image, next_id()), false).await?;
        first_200(&client, &s).await?;
        cold.push(t.elapsed().as_secs_f64() * 1000.0);
        s.control.kill().await;
    }

    let t = Instant::now();
    backend.prepare(&spec(&image, next_id())).await?;
    let template_ms = t.elapsed().as_secs_f64() * 1000.0;

    let mut clone = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let s = backend.start_with(spec(&image, next_id()), true).await?;
        first_200(&client, &s).await?;
        clone.push(t.elapsed().as_secs_f64() * 1000.0);
        s.control.kill().await;
    }

    let before = mem_available_mib();
    let mut idle_sessions = Vec::new();
    for _ in 0..idle {
        let s = backend.start_with(spec(&image, next_id()), true).await?;
        first_200(&client, &s).await?;
        idle_sessions.push(s);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (mut rss, mut pss) = (Vec::new(), Vec::new());
    for s in &idle_sessions {
        let (r, p) = rss_pss_mib(s.info.host_pid.unwrap_or(0));
        rss.push(r);
        pss.push(p);
    }
    let avail_delta = (before - mem_available_mib()) / idle.max(1) as f64;
    for s in idle_sessions.drain(..) {
        s.control.kill().await;
    }

    let mut batch_ms = Vec::new();
    for _ in 0..batch_runs {
        let t = Instant::now();
        let starts = (0..batch).map(|_| {
            let spec = spec(&image, next_id());
            let backend = &backend;
            let client = &client;
            async move {
                let s = backend.start_with(spec, true).await?;
                first_200(client, &s).await?;
                Ok::<_, anyhow::Error>(s)
            }
        });
        let sessions = futures::future::try_join_all(starts).await?;
        batch_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        for s in sessions {
            s.control.kill().await;
        }
    }

    println!();
    println!(
        "VM benchmark — accelerator: {} ({})",
        accel.accel.as_str(),
        accel.reason
    );
    println!(
        "| {:<34} | {:>9} | {:>9} | {:>3} | {:<4} | {:<10} |",
        "measure", "median", "p95", "n", "unit", "target"
    );
    println!(
        "|{:-<36}|{:-<11}|{:-<11}|{:-<5}|{:-<6}|{:-<12}|",
        "", "", "", "", "", ""
    );
    row("cold boot -> first HTTP 200", "ms", &cold, "<= 2500");
    row("template creation (once)", "ms", &[template_ms], "-");
    row("template clone -> first HTTP 200", "ms", &clone, "<= 200");
    row("idle clone RSS", "MiB", &rss, "-");
    row("idle clone PSS (marginal)", "MiB", &pss, "<= 40");
    row(
        "MemAvailable drop per idle clone",
        "MiB",
        &[avail_delta],
        "<= 40",
    );
    row(
        &format!("{batch} clones -> all HTTP 200"),
        "ms",
        &batch_ms,
        "<= 3000",
    );
    Ok(())
}
