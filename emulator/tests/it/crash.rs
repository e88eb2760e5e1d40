//! Crash safety: SIGKILL the emulator at random moments of PUT/PATCH/DELETE and allocation
//! traffic, restart it on the same data dir, and check that every acknowledged write is
//! there (and every acknowledged delete stays done), that pools refill, and, with QEMU, that
//! no microVM or run dir survives the emulator. Also: a damaged database is refused at start.
//!
//! Rounds and the seed are printed; `CRASH_SEED=N` replays a run.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};
use sessions_emulator::defaults;

use crate::support::figures;
use crate::support::host::{qemu_of, run_dirs, wait_for};
use crate::support::process::{serve_args, EmulatorProcess, BIN};

/// What the test knows about one resource.
#[derive(Debug, Clone, PartialEq)]
enum Known {
    /// The last acknowledged write left it with tag `seq`.
    Present(u64),
    /// The last acknowledged operation deleted it.
    Deleted,
    /// Never acknowledged as existing.
    Never,
}

/// Per resource: what was acknowledged, and what an unanswered request might have done.
#[derive(Debug, Clone)]
struct Entry {
    known: Known,
    pending: Option<Known>,
}

type Ledger = Arc<Mutex<BTreeMap<String, Entry>>>;

fn api(kind: &str) -> &'static str {
    match kind {
        "managedEnvironments" => "2025-07-01",
        _ => "2023-09-01",
    }
}

fn path(kind: &str, name: &str) -> String {
    let ns = if kind == "workspaces" {
        "Microsoft.OperationalInsights"
    } else {
        "Microsoft.App"
    };
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/{ns}/{kind}/{name}?api-version={}",
        defaults::SUBSCRIPTION_ID,
        defaults::RESOURCE_GROUP,
        api(kind)
    )
}

/// One writer: its own resources, one request at a time, every answer recorded.
async fn writer(
    emu_endpoint: String,
    client: reqwest::Client,
    token: String,
    id: usize,
    seed: u64,
    ledger: Ledger,
) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut seq = seed.wrapping_mul(1000);
    loop {
        let kind = if rng.random_bool(0.5) {
            "workspaces"
        } else {
            "managedEnvironments"
        };
        let name = format!("w{id}{kind}{}", rng.random_range(0..4)).to_ascii_lowercase();
        let key = format!("{kind}/{name}");
        seq += 1;
        let op = rng.random_range(0..10);
        let (method, body, outcome) = match op {
            0..=4 => (
                Method::PUT,
                Some(json!({"location": "eastus", "tags": {"seq": seq.to_string()}})),
                Known::Present(seq),
            ),
            5..=7 => (
                Method::PATCH,
                Some(json!({"tags": {"seq": seq.to_string()}})),
                Known::Present(seq),
            ),
            _ => (Method::DELETE, None, Known::Deleted),
        };
        {
            let mut l = ledger.lock().expect("ledger");
            let e = l.entry(key.clone()).or_insert(Entry {
                known: Known::Never,
                pending: None,
            });
            e.pending = Some(outcome.clone());
        }
        let mut req = client
            .request(
                method.clone(),
                format!("{emu_endpoint}{}", path(kind, &name)),
            )
            .bearer_auth(&token);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let Ok(resp) = req.send().await else {
            return; // killed mid-request: the entry stays pending
        };
        let status = resp.status().as_u16();
        if resp.bytes().await.is_err() {
            return;
        }
        let mut l = ledger.lock().expect("ledger");
        let e = l.get_mut(&key).expect("entry");
        e.pending = None;
        match (method, status) {
            (Method::PUT, 200 | 201) | (Method::PATCH, 200 | 202) => e.known = outcome,
            (Method::DELETE, 200 | 202 | 204) => e.known = Known::Deleted,
            // PATCH of a missing resource, and the like: nothing changed.
            (_, 404 | 409) => {}
            (m, s) => panic!("{m} {key}: unexpected {s}"),
        }
    }
}

/// Allocations on the data plane (their sessions are reconciled at restart).
async fn allocator(client: reqwest::Client, ep: String, token: String, round: usize) {
    for i in 0.. {
        let r = client
            .get(format!("{ep}/x?identifier=r{round:03}-{i:06}"))
            .bearer_auth(&token)
            .send()
            .await;
        let Ok(r) = r else { return };
        let _ = r.bytes().await;
        let _ = client
            .post(format!(
                "{ep}/.management/stopSession?api-version=2025-02-02-preview&identifier=r{round:03}-{i:06}"
            ))
            .bearer_auth(&token)
            .send()
            .await;
    }
}

/// Checks every resource of the ledger against the restarted emulator.
async fn verify(emu: &EmulatorProcess, client: &reqwest::Client, ledger: &Ledger) -> usize {
    let token = emu.token(client).await;
    let entries: Vec<(String, Entry)> = ledger
        .lock()
        .expect("ledger")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut checked = 0;
    for (key, e) in entries {
        let (kind, name) = key.split_once('/').expect("key");
        let allowed: Vec<Known> = std::iter::once(e.known.clone())
            .chain(e.pending.clone())
            .collect();
        // A delete acknowledged with 202 finishes in the background: wait for it.
        let deadline = Instant::now() + Duration::from_secs(20);
        let state = loop {
            let (s, b) = emu
                .arm(client, &token, Method::GET, &path(kind, name), None)
                .await;
            let state = match s.as_u16() {
                404 => Known::Deleted,
                200 if b["properties"]["provisioningState"] == "Deleting" => {
                    if allowed.contains(&Known::Deleted) && Instant::now() < deadline {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                    Known::Deleted
                }
                200 => Known::Present(
                    b["tags"]["seq"]
                        .as_str()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0),
                ),
                other => panic!("GET {key} after restart: {other} {b}"),
            };
            break state;
        };
        let ok = allowed.contains(&state)
            || (state == Known::Deleted && allowed.contains(&Known::Never));
        assert!(
            ok,
            "{key}: acknowledged {:?} (unanswered: {:?}), found {state:?} after restart",
            e.known, e.pending
        );
        // What the restart found is now what is known: an unanswered request either happened
        // or did not, and later requests build on the state found.
        let mut l = ledger.lock().expect("ledger");
        if let Some(entry) = l.get_mut(&key) {
            entry.known = state;
            entry.pending = None;
        }
        checked += 1;
    }
    checked
}

fn pool_body(image: &str, ready: u32) -> Value {
    json!({"location": "eastus", "properties": {
        "environmentId": defaults::environment_id(), "poolManagementType": "Dynamic",
        "containerType": "CustomContainer",
        "scaleConfiguration": {"maxConcurrentSessions": 10, "readySessionInstances": ready},
        "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}},
        "customContainerTemplate": {"containers": [{"image": image, "name": "app",
            "resources": {"cpu": 0.25, "memory": "0.5Gi"}}], "ingress": {"targetPort": 8080}}}})
}

/// Waits until the pool reports `nodeCount >= want` (its ready set is back).
async fn wait_refilled(
    emu: &EmulatorProcess,
    client: &reqwest::Client,
    pool: &str,
    want: u64,
    limit: Duration,
) {
    let token = emu.token(client).await;
    let path = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.App/sessionPools/{pool}?api-version=2026-07-01",
        defaults::SUBSCRIPTION_ID,
        defaults::RESOURCE_GROUP
    );
    let deadline = Instant::now() + limit;
    loop {
        let (_, b) = emu.arm(client, &token, Method::GET, &path, None).await;
        if b["properties"]["nodeCount"].as_u64().unwrap_or(0) >= want {
            return;
        }
        assert!(Instant::now() < deadline, "pool {pool} did not refill: {b}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn seed() -> u64 {
    std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(1)
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_sigkill_during_writes_and_allocations_loses_nothing_acknowledged() {
    let rounds = figures::count("CRASH_ROUNDS", 50);
    let seed = seed();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger: Ledger = Arc::new(Mutex::new(BTreeMap::new()));
    let started = Instant::now();
    let mut checked = 0;
    let mut acknowledged_before_kill = 0;
    for round in 0..rounds {
        let emu = EmulatorProcess::start(dir.path(), true);
        let client = emu.client();
        if round > 0 {
            checked += verify(&emu, &client, &ledger).await;
            wait_refilled(&emu, &client, "crashpool", 2, Duration::from_secs(30)).await;
        }
        let ep = emu
            .create_pool(
                &client,
                "crashpool",
                &pool_body("img:1", 2),
                Duration::from_secs(30),
            )
            .await;
        let token = emu.token(&client).await;
        let dp = emu
            .token_for(&client, "https://dynamicsessions.io/.default")
            .await;
        let mut tasks = Vec::new();
        for w in 0..3 {
            tasks.push(tokio::spawn(writer(
                emu.endpoint(),
                client.clone(),
                token.clone(),
                w,
                rng.random(),
                ledger.clone(),
            )));
        }
        tasks.push(tokio::spawn(allocator(client.clone(), ep, dp, round)));
        tokio::time::sleep(Duration::from_millis(rng.random_range(20..400))).await;
        emu.kill();
        for t in tasks {
            let _ = t.await;
        }
        acknowledged_before_kill = ledger
            .lock()
            .expect("ledger")
            .values()
            .filter(|e| e.known != Known::Never)
            .count();
    }
    let emu = EmulatorProcess::start(dir.path(), true);
    let client = emu.client();
    checked += verify(&emu, &client, &ledger).await;
    wait_refilled(&emu, &client, "crashpool", 2, Duration::from_secs(30)).await;
    figures::report(
        "crash::real_sigkill_during_writes_and_allocations_loses_nothing_acknowledged",
        rounds,
        0,
        &format!(
            "{rounds} rounds of SIGKILL during PUT/PATCH/DELETE and allocations (seed {seed}, {:.0?}): {checked} resource checks after restarts, {acknowledged_before_kill} resources acknowledged, 0 lost, pool refilled every time",
            started.elapsed()
        ),
    );
}

/// SIGKILL with microVMs running: every QEMU dies with the emulator (parent-death signal),
/// the next start removes the dead emulator's run dirs, and the pool refills.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_sigkill_with_qemu_sessions_leaves_no_qemu_or_run_dir() {
    let rounds = figures::count("CRASH_QEMU_ROUNDS", 3);
    let seed = seed();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let args = || {
        let mut a = serve_args(dir.path(), true);
        let i = a.iter().position(|x| x == "fake").expect("fake");
        a[i] = "qemu".into();
        a
    };
    let mut killed = Vec::new();
    let mut qemu_killed = 0;
    for round in 0..=rounds {
        let emu = EmulatorProcess::start_with(args());
        let pid = emu.child.id();
        for dead in &killed {
            assert!(
                run_dirs(*dead).is_empty(),
                "run dirs of the killed emulator {dead} survive a restart: {:?}",
                run_dirs(*dead)
            );
        }
        let client = emu.client();
        let ep = emu
            .create_pool(
                &client,
                "crashvm",
                &pool_body("localhost/sample-session:latest", 2),
                Duration::from_secs(300),
            )
            .await;
        wait_refilled(&emu, &client, "crashvm", 2, Duration::from_secs(120)).await;
        if round == rounds {
            break;
        }
        let dp = emu
            .token_for(&client, "https://dynamicsessions.io/.default")
            .await;
        let alloc = tokio::spawn(allocator(client.clone(), ep, dp, round));
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..1500))).await;
        let before = qemu_of(pid).len();
        emu.kill();
        alloc.abort();
        assert!(before > 0, "no QEMU process to take along");
        qemu_killed += before;
        assert!(
            wait_for(Duration::from_secs(10), || qemu_of(pid).is_empty()),
            "QEMU processes outlived the SIGKILLed emulator: {:?}",
            qemu_of(pid)
        );
        killed.push(pid);
    }
    figures::report(
        "crash::real_sigkill_with_qemu_sessions_leaves_no_qemu_or_run_dir",
        rounds,
        0,
        &format!("{rounds} rounds of SIGKILL with QEMU sessions (seed {seed}): {qemu_killed} QEMU processes taken along, 0 left, 0 run dirs left after restart"),
    );
}

/// A database that is empty, garbage or cut short stops the start with what to do: no ready
/// line, no panic, exit code 1.
#[test]
fn damaged_database_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let _emu = EmulatorProcess::start(dir.path(), true);
    }
    let db = dir.path().join("emulator.db");
    let good = std::fs::read(&db).expect("db");
    for (name, bytes, says) in [
        ("empty", Vec::new(), "0 bytes"),
        ("garbage", vec![0x42u8; 16384], "damaged"),
        (
            "truncated",
            good[..good.len().min(4096) / 2].to_vec(),
            "damaged",
        ),
    ] {
        std::fs::write(&db, &bytes).expect("write");
        let _ = std::fs::remove_file(dir.path().join("emulator.db-wal"));
        let _ = std::fs::remove_file(dir.path().join("emulator.db-shm"));
        let out = Command::new(BIN)
            .args(serve_args(dir.path(), true))
            .stdin(Stdio::null())
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: a ready line was printed");
        assert!(
            stderr.contains(says) && stderr.contains("emulator.db"),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
    figures::report(
        "crash::damaged_database_stops_the_start_with_a_clear_error",
        3,
        0,
        "empty, garbage and truncated emulator.db: 3 of 3 refused at start with what to do, 0 panics, 0 empty starts",
    );
}
