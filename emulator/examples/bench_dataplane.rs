//! Data-plane benchmark (run by `scripts/bench-dataplane`; prints one table, asserts nothing).
//!
//! Side by side, against one session of an in-process emulator (fake backend by default):
//! (a) direct requests to the session's forwarded port, (b) the same through the pool data
//! plane with the identifier already bound, (c) first requests with new identifiers (allocation
//! from the ready set), (d) the same session behind nginx as a plain reverse proxy (skipped when
//! `nginx` is not installed). Latency: sequential requests on one keep-alive connection;
//! throughput: `CONCURRENCY` parallel connections for `DURATION`.
//!
//! Fairness: (a), (b) and (d) use the same client code (one hyper client per row, keep-alive,
//! `TCP_NODELAY`), the same request (`GET /` with the same data-plane `Authorization` header, so
//! every row carries the same bytes; nginx and the session ignore it), the same number of
//! requests, warm-up and concurrency, and the same upstream: the one bound session at its
//! forwarded address. nginx runs one worker with an upstream keep-alive pool and no buffering,
//! i.e. configured as a low-latency plain reverse proxy. The emulator (with its fake sessions)
//! runs on a runtime of its own, apart from the client's, as it would in its own process: no
//! row shares the client's threads with the server side.
//!
//! Environment: `BENCH_REQUESTS` (default 2000), `BENCH_NEW_IDS` (default 200; 3 with qemu),
//! `BENCH_SECONDS` (default 3), `BENCH_CONCURRENCY` (default 32), `BENCH_BACKEND` (`fake`, or
//! `qemu`: sessions are microVMs of the sample image built into the emulator), `RUST_LOG` (e.g.
//! `sessions_emulator::dataplane=debug`: per-request timings on stderr).

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sessions_emulator::dataplane::{pool_endpoint, pool_id};
use sessions_emulator::defaults::DATAPLANE_AUDIENCE;
use sessions_emulator::testing::TestServer;
use sessions_runtime::pool::logs::PoolContext;
use sessions_runtime::pool::spec::PoolSpec;

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn client(max_idle: usize) -> HttpClient {
    let mut c = HttpConnector::new();
    c.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(max_idle)
        .build(c)
}

async fn once(c: &HttpClient, url: &str, token: Option<&str>) -> Result<u16, String> {
    let mut b = http::Request::get(url);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let req = b.body(Empty::new()).map_err(|e| e.to_string())?;
    let resp = c.request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    resp.into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(status)
}

struct Row {
    name: &'static str,
    p50: Duration,
    p99: Duration,
    rps: Option<f64>,
    errors: usize,
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn latency(c: &HttpClient, urls: &[String], token: Option<&str>) -> (Vec<Duration>, usize) {
    let mut v = Vec::with_capacity(urls.len());
    let mut errors = 0;
    for u in urls {
        let t = Instant::now();
        match once(c, u, token).await {
            Ok(200) => v.push(t.elapsed()),
            _ => errors += 1,
        }
    }
    v.sort();
    (v, errors)
}

async fn throughput(url: &str, token: Option<&str>, conc: usize, dur: Duration) -> f64 {
    let c = client(conc);
    let deadline = Instant::now() + dur;
    let tasks: Vec<_> = (0..conc)
        .map(|_| {
            let c = c.clone();
            let url = url.to_string();
            let token = token.map(str::to_string);
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    if once(&c, &url, token.as_deref()).await == Ok(200) {
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap_or(0);
    }
    total as f64 / dur.as_secs_f64()
}

async fn bench_fixed(
    name: &'static str,
    url: &str,
    token: Option<&str>,
    n: usize,
    conc: usize,
    dur: Duration,
) -> Row {
    let c = client(4);
    let urls: Vec<String> = std::iter::repeat_n(url.to_string(), n).collect();
    let _ = latency(&c, &urls[..n.min(100)], token).await; // warm-up
    let (v, errors) = latency(&c, &urls, token).await;
    let rps = throughput(url, token, conc, dur).await;
    Row {
        name,
        p50: pct(&v, 0.5),
        p99: pct(&v, 0.99),
        rps: Some(rps),
        errors,
    }
}

struct Nginx {
    child: std::process::Child,
    _dir: tempfile::TempDir,
    port: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // nginx's worker outlives a killed master, so kill the process group made at spawn.
        if let Ok(pgid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) on -pgid only signals the process group created for this nginx.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Option<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()
        .map(|a| a.port())
}

async fn start_nginx(upstream: SocketAddr) -> Option<Nginx> {
    let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())?;
    let dir = tempfile::tempdir().ok()?;
    let port = free_port()?;
    let d = dir.path().display();
    let conf = format!(
        "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
         upstream s {{ server {upstream}; keepalive 64; }}\n\
         server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://s; proxy_http_version 1.1;\n\
         proxy_set_header Connection \"\"; proxy_buffering off; proxy_request_buffering off; }} }}\n}}\n"
    );
    let path = dir.path().join("nginx.conf");
    std::fs::write(&path, conf).ok()?;
    let child = std::process::Command::new(bin)
        .process_group(0)
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let ng = Nginx {
        child,
        _dir: dir,
        port,
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(ng);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// The sample session image in the qemu backend's image store (seeded at start-up from the
/// binary built into the emulator; seeded again here should it be missing); returns its reference.
fn load_sample_image(srv: &TestServer) -> Result<String, String> {
    use sessions_runtime::image::sample;
    let vm_dir = sessions_emulator::wiring::vm_dir(srv.state.config());
    let store = sessions_runtime::image::ImageStore::open(&vm_dir).map_err(|e| e.to_string())?;
    match sample::seed(&store, sample::SeedMode::Always).map_err(|e| e.to_string())? {
        sample::Seeding::NotEmbedded => Err(sessions_guest::ABSENT.to_string()),
        _ => Ok(sample::REFERENCE.to_string()),
    }
}

#[tokio::main]
async fn main() {
    if std::env::var_os("RUST_LOG").is_some() {
        // Profiling aid: e.g. RUST_LOG=sessions_emulator::dataplane=debug shows per-request
        // timings (allocation wait, upstream connect, total) on stderr.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    let n = env_num("BENCH_REQUESTS", 2000) as usize;
    let new_ids = env_num("BENCH_NEW_IDS", 200) as u32;
    let dur = Duration::from_secs(env_num("BENCH_SECONDS", 3));
    let conc = env_num("BENCH_CONCURRENCY", 32) as usize;

    let qemu = std::env::var("BENCH_BACKEND").is_ok_and(|b| b == "qemu");
    let new_ids = if qemu {
        env_num("BENCH_NEW_IDS", 3) as u32
    } else {
        new_ids
    };
    // The emulator runs on its own runtime (its own threads), as it would in its own process;
    // the client below runs on this one. nginx is a process of its own too.
    let server_rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("emulator")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench: could not start the emulator runtime: {e}");
            std::process::exit(1);
        }
    };
    let (sub, rg, name) = (
        "00000000-0000-4000-8000-000000000001",
        "bench-rg",
        "benchpool",
    );
    let started = server_rt.spawn(async move {
        let srv = if qemu {
            TestServer::start_with(
                |c| c.backend = sessions_emulator::config::BackendKind::Qemu,
                None,
            )
            .await
        } else {
            TestServer::start().await
        };
        let image = if qemu {
            load_sample_image(&srv)?
        } else {
            "bench:1".to_string()
        };
        let ctx = PoolContext::new(pool_id(sub, rg, name));
        let pool = srv
            .state
            .pools()
            .apply(ctx, PoolSpec::simple(&image, 8080, 600, new_ids + 1));
        let _ = pool.wait_provisioned().await;
        Ok::<_, String>((srv, pool))
    });
    let (srv, pool) = match started.await {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            eprintln!("bench: {e}");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("bench: the emulator did not start: {e}");
            std::process::exit(1);
        }
    };
    let ep = pool_endpoint(&srv.endpoint, &pool_id(sub, rg, name));
    let token = srv.token_for(DATAPLANE_AUDIENCE);
    let c = client(4);
    let bound = format!("{ep}/?identifier=bench-bound");
    if once(&c, &bound, Some(&token)).await != Ok(200) {
        eprintln!("bench: the data plane did not answer 200; is the emulator healthy?");
        std::process::exit(1);
    }
    let _ = tokio::time::timeout(
        Duration::from_secs(10),
        pool.wait_for(|s| s.bindings.contains_key("bench-bound")),
    )
    .await;
    let Some((_, addr)) = pool.route("bench-bound") else {
        eprintln!("bench: the bound session has no address");
        std::process::exit(1);
    };
    let mut rows = Vec::new();
    rows.push(
        bench_fixed(
            "(a) direct to session port",
            &format!("http://{addr}/"),
            Some(&token),
            n,
            conc,
            dur,
        )
        .await,
    );
    rows.push(bench_fixed("(b) data plane, bound", &bound, Some(&token), n, conc, dur).await);
    let urls: Vec<String> = (0..new_ids)
        .map(|i| format!("{ep}/?identifier=bench-new-{i:05}"))
        .collect();
    let (v, errors) = latency(&c, &urls, Some(&token)).await;
    rows.push(Row {
        name: "(c) data plane, new identifier",
        p50: pct(&v, 0.5),
        p99: pct(&v, 0.99),
        rps: None,
        errors,
    });
    match start_nginx(addr).await {
        Some(ng) => {
            let url = format!("http://127.0.0.1:{}/", ng.port);
            rows.push(
                bench_fixed("(d) nginx reverse proxy", &url, Some(&token), n, conc, dur).await,
            );
        }
        None => eprintln!("bench: nginx not found or did not start; row (d) skipped"),
    }
    println!(
        "\ndata plane benchmark (backend: {}, {n} sequential requests, {conc} connections x {}s)",
        srv.state.pools().backend_kind(),
        dur.as_secs()
    );
    println!("| case | p50 | p99 | req/s | errors |");
    println!("|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {:.3} ms | {:.3} ms | {} | {} |",
            r.name,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3,
            r.rps
                .map(|x| format!("{x:.0}"))
                .unwrap_or_else(|| "-".into()),
            r.errors
        );
    }
    if let (Some(a), Some(b)) = (rows.first(), rows.get(1)) {
        println!(
            "\n(b) - (a) p50: {:+.3} ms (target <= 1 ms)",
            (b.p50.as_secs_f64() - a.p50.as_secs_f64()) * 1e3
        );
    }
    if let (Some(b), Some(d)) = (rows.get(1), rows.get(3)) {
        println!(
            "(b) / (d) p50: {:.2}x, p99: {:.2}x (target <= 1.2x)",
            b.p50.as_secs_f64() / d.p50.as_secs_f64().max(1e-9),
            b.p99.as_secs_f64() / d.p99.as_secs_f64().max(1e-9)
        );
    }
    if let Some(c) = rows.get(2) {
        println!(
            "(c) p50: {:.3} ms (target <= 5 ms fake, <= 10 ms qemu)",
            c.p50.as_secs_f64() * 1e3
        );
    }
    let _ = server_rt
        .spawn(async move {
            srv.state.pools().shutdown().await;
            drop(srv);
        })
        .await;
    server_rt.shutdown_background();
}
