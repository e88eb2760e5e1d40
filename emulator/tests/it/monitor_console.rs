//! The emulator's own observability surfaces, in process with fake sessions: a pool's console
//! lines in order (`/emulator/v1/consoleLogs`, what `sessions-emulator logs` reads) whatever the
//! diagnostic settings say, and `/metrics` in the Prometheus text format.

use serde_json::Value;
use sessions_emulator::defaults;
use sessions_emulator::testing::TestServer;

use crate::support::monitor::{pool, pool_id, print};

async fn console(srv: &TestServer, query: &str, audience: &str) -> (u16, Value) {
    let resp = srv
        .client
        .get(srv.url(&format!("/emulator/v1/consoleLogs?{query}")))
        .bearer_auth(srv.token_for(audience))
        .send()
        .await
        .expect("consoleLogs");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn logs(page: &Value) -> Vec<String> {
    page["lines"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|l| l["log"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn console_lines_of_a_pool_in_order_and_followed() {
    let srv = TestServer::start().await;
    let ep = pool(&srv, "chatty").await;
    let other = pool(&srv, "quiet").await;
    print(&srv, &ep, "user-1", "stdout", "one").await;
    print(&srv, &ep, "user-2", "stderr", "two").await;
    print(&srv, &other, "user-1", "stdout", "elsewhere").await;
    let arm = defaults::ARM_AUDIENCE;

    // No diagnostic setting exists: the lines are still there for the pool's owner.
    let (s, page) = console(&srv, "pool=chatty", arm).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(logs(&page), ["one", "two"]);
    assert_eq!(page["pool"], pool_id("chatty"));
    let first = &page["lines"][0];
    assert_eq!(
        (&first["identifier"], &first["stream"], &first["container"]),
        (
            &Value::from("user-1"),
            &Value::from("stdout"),
            &Value::from("app")
        ),
        "{first}"
    );
    assert!(
        first["time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{first}"
    );

    // By ARM id, by identifier, newest N.
    let id = url::form_urlencoded::byte_serialize(pool_id("chatty").as_bytes()).collect::<String>();
    let (_, page) = console(&srv, &format!("pool={id}&identifier=user-2"), arm).await;
    assert_eq!(logs(&page), ["two"]);
    let (_, page) = console(&srv, "pool=chatty&limit=1", arm).await;
    assert_eq!(logs(&page), ["two"], "the newest line");

    // Following: only what came after the cursor.
    let cursor = page["cursor"].as_i64().expect("cursor");
    let (_, empty) = console(&srv, &format!("pool=chatty&after={cursor}"), arm).await;
    assert!(logs(&empty).is_empty());
    assert_eq!(empty["cursor"], cursor, "the cursor stays put");
    print(&srv, &ep, "user-1", "stdout", "three").await;
    let (_, page) = console(&srv, &format!("pool=chatty&after={cursor}"), arm).await;
    assert_eq!(logs(&page), ["three"]);

    // `since` counts on the emulator's clock: every line is younger than an hour.
    let (_, page) = console(&srv, "pool=chatty&since=3600", arm).await;
    assert_eq!(logs(&page), ["one", "two", "three"]);
}

#[tokio::test]
async fn console_errors_name_the_parameter() {
    let srv = TestServer::start().await;
    let _ep = pool(&srv, "chatty").await;
    let arm = defaults::ARM_AUDIENCE;
    for (query, status, needle) in [
        ("", 400, "'pool' is required"),
        ("pool=nosuchpool", 404, "nosuchpool"),
        ("pool=chatty&limit=0", 400, "'limit'"),
        ("pool=chatty&limit=abc", 400, "'limit'"),
        ("pool=chatty&since=-5", 400, "'since'"),
        ("pool=chatty&after=x", 400, "'after'"),
        ("pool=%2Fnot%2Fan%2Fid", 400, "'pool'"),
    ] {
        let (s, body) = console(&srv, query, arm).await;
        assert_eq!(s, status, "{query}: {body}");
        let msg = body["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(needle), "{query}: {body}");
    }
    let (s, body) = console(&srv, "pool=chatty", defaults::DATAPLANE_AUDIENCE).await;
    assert_eq!(s, 403, "a data-plane token is refused: {body}");
    let resp = srv
        .client
        .get(srv.url("/emulator/v1/consoleLogs?pool=chatty"))
        .send()
        .await
        .expect("no token");
    assert_eq!(resp.status(), 401);
}

fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(name_and_labels)?
            .strip_prefix(' ')?
            .parse()
            .ok()
    })
}

#[tokio::test]
async fn prometheus_metrics_count_requests_sessions_and_timings() {
    let srv = TestServer::start().await;
    let ep = pool(&srv, "scraped").await;
    print(&srv, &ep, "user-1", "stdout", "hello").await;
    let resp = srv
        .client
        .get(srv.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(resp.status(), 200, "no token needed");
    assert_eq!(
        resp.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = resp.text().await.expect("text");
    for family in [
        "# TYPE sessions_emulator_http_requests_total counter",
        "# TYPE sessions_emulator_sessions gauge",
        "# TYPE sessions_emulator_session_start_seconds histogram",
        "# TYPE sessions_emulator_allocation_seconds histogram",
        "# TYPE sessions_emulator_log_rows_total counter",
    ] {
        assert!(text.contains(family), "{family} missing:\n{text}");
    }
    let put = sample(
        &text,
        "sessions_emulator_http_requests_total{surface=\"arm_session_pools\",method=\"PUT\",status=\"201\"}",
    )
    .or_else(|| {
        sample(
            &text,
            "sessions_emulator_http_requests_total{surface=\"arm_session_pools\",method=\"PUT\",status=\"200\"}",
        )
    });
    assert_eq!(put, Some(1.0), "the pool's PUT is counted:\n{text}");
    assert!(
        sample(
            &text,
            "sessions_emulator_http_requests_total{surface=\"dataplane\",method=\"POST\",status=\"200\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "the data-plane request is counted:\n{text}"
    );
    let rg = defaults::RESOURCE_GROUP;
    assert_eq!(
        sample(
            &text,
            &format!("sessions_emulator_sessions{{pool=\"scraped\",resource_group=\"{rg}\",state=\"Allocated\"}}")
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "sessions_emulator_allocation_seconds_count"),
        Some(1.0),
        "{text}"
    );
    let started = sample(
        &text,
        "sessions_emulator_session_start_seconds_count{kind=\"boot\"}",
    )
    .unwrap_or(0.0)
        + sample(
            &text,
            "sessions_emulator_session_start_seconds_count{kind=\"clone\"}",
        )
        .unwrap_or(0.0);
    assert!(started >= 1.0, "a session start was timed:\n{text}");
    assert!(
        sample(
            &text,
            "sessions_emulator_log_rows_total{stream=\"console\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
}
