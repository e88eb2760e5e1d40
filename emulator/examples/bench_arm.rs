//! ARM control-plane benchmark: GET and PUT of one session pool against a running emulator
//! over HTTPS with keep-alive, N concurrent workers, printing requests/s, p50 and p99.
//!
//! Run through `scripts/bench-arm`, which builds the release binary, starts the emulator on
//! `127.0.0.1:0` and passes its ready line. By hand:
//!
//! ```text
//! cargo run --release -p sessions-emulator --example bench_arm -- \
//!     --endpoint https://127.0.0.1:7443 --ca ~/.local/share/sessions-emulator/ca.pem \
//!     [--workers 8] [--seconds 5]
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sessions_emulator::defaults;

struct Args {
    endpoint: String,
    ca: Option<String>,
    workers: usize,
    seconds: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        endpoint: String::new(),
        ca: None,
        workers: 8,
        seconds: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--endpoint" => a.endpoint = value()?,
            "--ca" => a.ca = Some(value()?).filter(|s| !s.is_empty()),
            "--workers" => a.workers = value()?.parse().map_err(|e| format!("--workers: {e}"))?,
            "--seconds" => a.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            other => {
                return Err(format!(
                "unknown flag {other}; use --endpoint URL [--ca FILE] [--workers N] [--seconds S]"
            ))
            }
        }
    }
    if a.endpoint.is_empty() {
        return Err("--endpoint is required".into());
    }
    Ok(a)
}

fn client(ca: Option<&str>) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true);
    if let Some(path) = ca {
        let pem = std::fs::read(path).map_err(|e| format!("cannot read CA {path}: {e}"))?;
        let cert =
            reqwest::Certificate::from_pem(&pem).map_err(|e| format!("bad CA {path}: {e}"))?;
        b = b.add_root_certificate(cert);
    }
    b.build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

async fn token(c: &reqwest::Client, endpoint: &str) -> Result<String, String> {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", defaults::CLIENT_ID),
        ("client_secret", defaults::CLIENT_SECRET),
        ("scope", "https://management.azure.com/.default"),
    ];
    let url = format!("{endpoint}/{}/oauth2/v2.0/token", defaults::TENANT_ID);
    let v: Value = c
        .post(url)
        .form(&form)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    v["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no access_token in {v}"))
}

fn pool_body(max: i64) -> Value {
    json!({
        "location": "eastus",
        "properties": {
            "environmentId": defaults::environment_id(),
            "poolManagementType": "Dynamic",
            "containerType": "CustomContainer",
            "scaleConfiguration": {"maxConcurrentSessions": max, "readySessionInstances": 1},
            "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}},
            "customContainerTemplate": {
                "containers": [{"name": "app", "image": "bench.local/app:v1", "resources": {"cpu": 0.25, "memory": "0.5Gi"}}],
                "ingress": {"targetPort": 8080}
            }
        }
    })
}

struct Result_ {
    name: &'static str,
    ok: usize,
    errors: usize,
    secs: f64,
    lat_us: Vec<u64>,
}

async fn run(
    name: &'static str,
    c: &reqwest::Client,
    url: &str,
    tok: &str,
    put: bool,
    workers: usize,
    secs: u64,
) -> Result_ {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (c, url, tok, stop) = (c.clone(), url.to_string(), tok.to_string(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(100_000);
            let (mut ok, mut errors, mut i) = (0usize, 0usize, 0i64);
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let t = Instant::now();
                let req = if put {
                    c.put(&url).json(&pool_body(2 + (w as i64 + i) % 50))
                } else {
                    c.get(&url)
                };
                match req.bearer_auth(&tok).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        ok += 1;
                        lat.push(t.elapsed().as_micros() as u64);
                    }
                    _ => errors += 1,
                }
            }
            (ok, errors, lat)
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut r = Result_ {
        name,
        ok: 0,
        errors: 0,
        secs: 0.0,
        lat_us: Vec::new(),
    };
    for t in tasks {
        if let Ok((ok, errors, lat)) = t.await {
            r.ok += ok;
            r.errors += errors;
            r.lat_us.extend(lat);
        }
    }
    r.secs = start.elapsed().as_secs_f64();
    r.lat_us.sort_unstable();
    r
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench_arm: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match bench(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_arm: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn bench(args: Args) -> Result<(), String> {
    let c = client(args.ca.as_deref())?;
    let tok = token(&c, &args.endpoint).await?;
    let url = format!(
        "{}/subscriptions/{}/resourceGroups/{}/providers/Microsoft.App/sessionPools/benchpool?api-version=2026-07-01",
        args.endpoint,
        defaults::SUBSCRIPTION_ID,
        defaults::RESOURCE_GROUP
    );
    let r = c
        .put(&url)
        .bearer_auth(&tok)
        .json(&pool_body(10))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!(
            "creating the bench pool answered {}: {}",
            r.status(),
            r.text().await.unwrap_or_default()
        ));
    }
    // Warm up connections.
    let _ = run("warmup", &c, &url, &tok, false, args.workers, 1).await;
    let results = [
        run(
            "GET sessionPool",
            &c,
            &url,
            &tok,
            false,
            args.workers,
            args.seconds,
        )
        .await,
        run(
            "PUT sessionPool",
            &c,
            &url,
            &tok,
            true,
            args.workers,
            args.seconds,
        )
        .await,
    ];
    println!(
        "ARM control plane: {} workers, {} s each, HTTPS keep-alive ({})",
        args.workers, args.seconds, args.endpoint
    );
    println!("| operation       | requests | errors | requests/s | p50 ms | p99 ms |");
    println!("|-----------------|---------:|-------:|-----------:|-------:|-------:|");
    for r in &results {
        println!(
            "| {:<15} | {:>8} | {:>6} | {:>10.0} | {:>6.2} | {:>6.2} |",
            r.name,
            r.ok,
            r.errors,
            r.ok as f64 / r.secs,
            pct(&r.lat_us, 0.50),
            pct(&r.lat_us, 0.99)
        );
    }
    let _ = c.delete(&url).bearer_auth(&tok).send().await;
    Ok(())
}
