//! The log store through its own API: a workspace's source answers every query exactly as an
//! in-memory table holding the rows routed to it (pushdown never changes an answer), routing
//! by route table at send time, the row cap (memory and disk agree), long lines, and rows,
//! origins and route sets surviving a reopen of the database.

use std::borrow::Cow;
use std::sync::Arc;

use proptest::prelude::*;
use sessions_kql::{tables, DateTime, Engine, MemorySource, QueryOptions, Value};
use sessions_runtime::clock::{ManualClock, SharedClock};
use sessions_runtime::logstore::origin::Origin;
use sessions_runtime::logstore::routes::{RouteTableBuilder, StreamKind, Table};
use sessions_runtime::logstore::scan::WorkspaceView;
use sessions_runtime::logstore::{ticks, Limits, LogStore, Record};
use sessions_runtime::store::Store;
use time::OffsetDateTime;

const ENV_A: &str =
    "/subscriptions/S1/resourceGroups/RG/providers/Microsoft.App/managedEnvironments/EnvA";
const ENV_B: &str =
    "/subscriptions/S1/resourceGroups/RG/providers/Microsoft.App/managedEnvironments/EnvB";
const WS: &str = "w1";

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_714_560_000).expect("time")
}

fn origin(pool: usize, env: &str) -> Arc<Origin> {
    Arc::new(Origin {
        pool_id: format!(
            "/subscriptions/S1/resourceGroups/RG/providers/Microsoft.App/sessionPools/pool{pool}"
        ),
        environment_id: env.to_string(),
        location: "eastus".into(),
        tenant_id: "t".into(),
        container_name: "main".into(),
        container_image: "img:1".into(),
    })
}

#[derive(Clone, Debug)]
struct Line {
    pool: usize,
    routed: bool,
    stderr: bool,
    identifier: Option<usize>,
    secs_ago: i64,
    log: String,
}

fn line() -> impl Strategy<Value = Line> {
    (
        0usize..3,
        proptest::bool::weighted(0.7),
        any::<bool>(),
        proptest::option::of(0usize..4),
        0i64..7200,
        prop_oneof![
            Just("GET /api 200".to_string()),
            Just("error: connection reset".to_string()),
            Just("wrote 12 bytes of text".to_string()),
            "[a-z ]{0,12}",
        ],
    )
        .prop_map(|(pool, routed, stderr, identifier, secs_ago, log)| Line {
            pool,
            routed,
            stderr,
            identifier,
            secs_ago,
            log,
        })
}

fn open(store: &Store, limits: Limits) -> LogStore {
    let clock: SharedClock = Arc::new(ManualClock::new(now()));
    let logs = LogStore::open(store, clock, limits).expect("log store");
    let mut b = RouteTableBuilder::new();
    b.workspace(WS, 30)
        .environment_route(ENV_A, StreamKind::Console, WS, Table::Console);
    logs.install_routes(b, 0);
    logs
}

fn record(l: &Line) -> Record {
    Record {
        stream: StreamKind::Console,
        time: now() - time::Duration::seconds(l.secs_ago),
        origin: origin(l.pool, if l.routed { ENV_A } else { ENV_B }),
        pod: Arc::from(format!("pod-{}", l.pool * 10 + l.identifier.unwrap_or(9))),
        identifier: l.identifier.map(|i| Arc::from(format!("u{i}"))),
        tag: Cow::Borrowed(if l.stderr { "stderr" } else { "stdout" }),
        level: "",
        log: l.log.clone(),
    }
}

/// What the console table of `WS` must hold for `lines`, built independently.
fn expected(lines: &[Line]) -> MemorySource {
    let catalog = tables::catalog();
    let mut m = MemorySource::new(&catalog);
    for l in lines.iter().filter(|l| l.routed) {
        let r = record(l);
        let t = DateTime(ticks(r.time));
        m.insert(
            tables::CONSOLE_LOGS,
            &[
                ("TenantId", Value::str(WS)),
                ("TimeGenerated", Value::DateTime(t)),
                ("SessionPoolName", Value::str(&format!("pool{}", l.pool))),
                (
                    "SessionId",
                    Value::str(r.identifier.as_deref().unwrap_or("")),
                ),
                ("PodName", Value::str(&r.pod)),
                ("ContainerName", Value::str("main")),
                ("ContainerImage", Value::str("img:1")),
                ("Stream", Value::str(&r.tag)),
                ("Log", Value::str(&l.log)),
                ("OperationName", Value::str("ContainerConsoleLog")),
                ("Location", Value::str("eastus")),
                ("EnvironmentName", Value::str("EnvA")),
                ("SourceSystem", Value::str("Azure")),
                ("Type", Value::str(tables::CONSOLE_LOGS)),
                ("_ResourceId", Value::str(&ENV_A.to_ascii_lowercase())),
                ("_SubscriptionId", Value::str("S1")),
                ("_BilledSize", Value::Real(l.log.len() as f64)),
                ("_IsBillable", Value::str("True")),
            ],
        )
        .expect("row");
    }
    m
}

const QUERIES: [&str; 14] = [
    "AppEnvSessionConsoleLogs | project TimeGenerated, Log, SessionId, PodName, Stream",
    "AppEnvSessionConsoleLogs | where SessionPoolName == 'pool1' | project Log, SessionId",
    "AppEnvSessionConsoleLogs | where Log has 'error' | count",
    "search \"error\" | project Log",
    "search \"pool2\" | count",
    "AppEnvSessionConsoleLogs | where Stream == 'stderr' and TimeGenerated > ago(30m) | project Log",
    "AppEnvSessionConsoleLogs | summarize count() by bin(TimeGenerated, 1m), SessionPoolName",
    "AppEnvSessionConsoleLogs | take 3 | count",
    "AppEnvSessionConsoleLogs | where Log contains 'bytes' or Stream =~ 'STDERR' | project Log",
    "AppEnvSessionConsoleLogs | where SessionId !in ('u1') | where PodName startswith 'pod-1' | project Log",
    "AppEnvSessionConsoleLogs | where isnotempty(SessionId) | summarize dcount(SessionId)",
    "AppEnvSessionConsoleLogs | where _BilledSize > 10 | project Log",
    "AppEnvSessionConsoleLogs | where TenantId == 'w1' and Type == 'AppEnvSessionConsoleLogs' and _ResourceId endswith 'enva' | count",
    "AppEnvSessionConsoleLogs | order by TimeGenerated desc | take 5 | project TimeGenerated",
];

fn sorted(mut rows: Vec<Vec<Value>>) -> Vec<String> {
    let mut out: Vec<String> = rows.drain(..).map(|r| format!("{r:?}")).collect();
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_workspace_answers_like_a_table_of_its_routed_rows(lines in proptest::collection::vec(line(), 0..120)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        let store = Store::in_memory().expect("store");
        let logs = open(&store, Limits::default());
        for l in &lines {
            logs.send(record(l));
        }
        rt.block_on(logs.flush());
        let source = logs.workspace(WorkspaceView { customer_id: WS.into(), retention_days: 30, now: now() });
        let memory = expected(&lines);
        let catalog = tables::catalog();
        let opts = QueryOptions::at(DateTime(ticks(now())));
        for q in QUERIES {
            let got = Engine::new(&catalog, &source).query(q, &opts).expect("store-backed query");
            let want = Engine::new(&catalog, &memory).query(q, &opts).expect("in-memory query");
            prop_assert_eq!(&got.columns, &want.columns, "{}", q);
            if q.contains("order by") {
                prop_assert_eq!(&got.rows, &want.rows, "{}", q);
            } else {
                prop_assert_eq!(sorted(got.rows), sorted(want.rows), "{}", q);
            }
        }
    }
}

#[tokio::test]
async fn the_row_cap_drops_the_oldest_rows_in_memory_and_on_disk() {
    let store = Store::in_memory().expect("store");
    let limits = Limits {
        max_rows: [20_000, 100, 100],
        ..Limits::default()
    };
    let logs = open(&store, limits);
    let l = Line {
        pool: 0,
        routed: true,
        stderr: false,
        identifier: Some(1),
        secs_ago: 5,
        log: "x".into(),
    };
    for i in 0..50_000 {
        let mut r = record(&l);
        r.log = format!("line {i}");
        logs.send(r);
    }
    logs.flush().await;
    let held = logs.held()[0].0;
    assert!((20_000 - 16_384..=20_000).contains(&held), "{held}");
    let on_disk: i64 = store
        .call_blocking(|c| Ok(c.query_row("SELECT count(*) FROM log_console", [], |r| r.get(0))?))
        .expect("count");
    assert_eq!(on_disk as usize, held);
    assert_eq!(
        logs.stats().dropped[0].load(std::sync::atomic::Ordering::Relaxed) as usize,
        50_000 - held
    );
    let source = logs.workspace(WorkspaceView {
        customer_id: WS.into(),
        retention_days: 30,
        now: now(),
    });
    let count = |q: &str| {
        Engine::new(&tables::catalog(), &source)
            .query(q, &QueryOptions::at(DateTime(ticks(now()))))
            .expect("query")
            .rows
    };
    assert_eq!(
        count("AppEnvSessionConsoleLogs | where Log == 'line 49999' | count"),
        vec![vec![Value::Long(1)]],
        "the newest rows stay"
    );
    assert_eq!(
        count("AppEnvSessionConsoleLogs | where Log == 'line 0' | count"),
        vec![vec![Value::Long(0)]],
        "the oldest rows go"
    );
}

#[tokio::test]
async fn long_lines_are_cut() {
    let store = Store::in_memory().expect("store");
    let logs = open(
        &store,
        Limits {
            max_line_bytes: 100,
            ..Limits::default()
        },
    );
    let l = Line {
        pool: 0,
        routed: true,
        stderr: false,
        identifier: None,
        secs_ago: 1,
        log: "y".repeat(1000),
    };
    logs.send(record(&l));
    logs.flush().await;
    let source = logs.workspace(WorkspaceView {
        customer_id: WS.into(),
        retention_days: 30,
        now: now(),
    });
    let r = Engine::new(&tables::catalog(), &source)
        .query(
            "AppEnvSessionConsoleLogs | project n = strlen(Log)",
            &QueryOptions::at(DateTime(ticks(now()))),
        )
        .expect("query");
    assert_eq!(
        r.rows,
        vec![vec![Value::Long(98)]],
        "97 bytes and a 3-byte ellipsis"
    );
}

#[tokio::test]
async fn rows_and_routes_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("dir");
    let lines: Vec<Line> = (0..40)
        .map(|i| Line {
            pool: i % 3,
            routed: i % 4 != 0,
            stderr: i % 2 == 0,
            identifier: Some(i % 4),
            secs_ago: 100 - i as i64,
            log: format!("l{i}"),
        })
        .collect();
    let query = "AppEnvSessionConsoleLogs | order by TimeGenerated asc | project Log, SessionPoolName, PodName, Stream";
    let opts = QueryOptions::at(DateTime(ticks(now())));
    let before = {
        let store = Store::open(dir.path()).expect("store");
        let logs = open(&store, Limits::default());
        for l in &lines {
            logs.send(record(l));
        }
        logs.flush().await;
        let source = logs.workspace(WorkspaceView {
            customer_id: WS.into(),
            retention_days: 30,
            now: now(),
        });
        Engine::new(&tables::catalog(), &source)
            .query(query, &opts)
            .expect("before")
    };
    assert_eq!(before.rows.len(), 30);
    let store = Store::open(dir.path()).expect("reopen");
    let logs = open(&store, Limits::default());
    let source = logs.workspace(WorkspaceView {
        customer_id: WS.into(),
        retention_days: 30,
        now: now(),
    });
    let after = Engine::new(&tables::catalog(), &source)
        .query(query, &opts)
        .expect("after");
    assert_eq!(after, before);
    // New rows continue after the loaded ones.
    logs.send(record(&Line {
        pool: 1,
        routed: true,
        stderr: false,
        identifier: None,
        secs_ago: 0,
        log: "new".into(),
    }));
    logs.flush().await;
    let n = Engine::new(&tables::catalog(), &source)
        .query("AppEnvSessionConsoleLogs | count", &opts)
        .expect("count");
    assert_eq!(n.rows, vec![vec![Value::Long(31)]]);
}
