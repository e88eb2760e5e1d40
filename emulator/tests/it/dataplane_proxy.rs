//! The pool data plane over HTTP with the fake backend: proxying, binding, header rules, auth,
//! 429, the `.management/*` API and paging, big streamed bodies, concurrency, isolation.

use std::time::Duration;

use serde_json::Value;
use sessions_emulator::dataplane::{pool_endpoint, pool_id};
use sessions_emulator::defaults::{ARM_AUDIENCE, DATAPLANE_AUDIENCE};
use sessions_emulator::testing::TestServer;
use sessions_runtime::pool::core::Provisioning;
use sessions_runtime::pool::logs::PoolContext;
use sessions_runtime::pool::spec::PoolSpec;

const API: &str = "2025-02-02-preview";
const WAIT: Duration = Duration::from_secs(20);

struct Pool {
    srv: TestServer,
    ep: String,
    token: String,
}

async fn pool_with(name: &str, max: u32, ready: u32) -> Pool {
    let srv = TestServer::start().await;
    let (sub, rg) = ("00000000-0000-4000-8000-000000000001", "dp-rg");
    let ctx = PoolContext {
        resource_id: pool_id(sub, rg, name),
        location: "eastus".into(),
        environment_id: "/env".into(),
        tenant_id: "t".into(),
    };
    let handle = srv
        .state
        .pools()
        .apply(ctx, PoolSpec::simple("img:1", 8080, max, ready));
    assert_eq!(
        tokio::time::timeout(WAIT, handle.wait_provisioned()).await,
        Ok(Provisioning::Succeeded)
    );
    let ep = pool_endpoint(&srv.endpoint, &pool_id(sub, rg, name));
    let token = srv.token_for(DATAPLANE_AUDIENCE);
    Pool { srv, ep, token }
}

impl Pool {
    fn get(&self, path_and_query: &str) -> reqwest::RequestBuilder {
        self.srv
            .client
            .get(format!("{}{path_and_query}", self.ep))
            .bearer_auth(&self.token)
    }

    fn post(&self, path_and_query: &str) -> reqwest::RequestBuilder {
        self.srv
            .client
            .post(format!("{}{path_and_query}", self.ep))
            .bearer_auth(&self.token)
    }

    async fn json(&self, path_and_query: &str) -> (u16, Value) {
        let r = self.get(path_and_query).send().await.expect("send");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn dataplane_proxies_binds_and_reuses_sessions() {
    let p = pool_with("proxy", 5, 2).await;
    let (s, a) = p
        .json("/api/x?identifier=user-1&api-version=2025-02-02-preview&keep=1")
        .await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["path"], "/api/x");
    assert_eq!(a["query"], serde_json::json!({"keep": "1"}));
    let (_, again) = p.json("/other?identifier=user-1").await;
    assert_eq!(
        a["hostname"], again["hostname"],
        "same identifier, same session"
    );
    let (_, b) = p.json("/?identifier=user-2").await;
    assert_ne!(
        a["hostname"], b["hostname"],
        "another identifier, another session"
    );
    let (_, root) = p.json("?identifier=user-2").await;
    assert_eq!(root["path"], "/");
}

#[tokio::test]
async fn dataplane_strips_auth_and_hop_by_hop_and_adds_forwarded_headers() {
    let p = pool_with("headers", 5, 1).await;
    let r = p
        .get("/h?identifier=hdrs")
        .header("Connection", "x-hop")
        .header("x-hop", "1")
        .header("x-custom", "kept")
        .send()
        .await
        .expect("send");
    let body: Value = r.json().await.expect("json");
    let h = &body["headers"];
    assert!(h.get("authorization").is_none(), "{h}");
    assert!(h.get("x-hop").is_none(), "{h}");
    assert_eq!(h["x-custom"], "kept");
    assert_eq!(h["x-forwarded-proto"], "http");
    assert!(
        h["x-forwarded-host"]
            .as_str()
            .is_some_and(|v| v.starts_with("127.0.0.1:")),
        "{h}"
    );
}

#[tokio::test]
async fn dataplane_rejects_bad_identifiers_with_target_and_trace() {
    let p = pool_with("ident", 5, 1).await;
    for q in ["/?identifier=abc", "/", "/?identifier=has%20space"] {
        let (s, e) = p.json(q).await;
        assert_eq!(s, 400, "{q}");
        assert_eq!(e["error"]["code"], "SessionRequestValidationFailed");
        assert_eq!(e["error"]["target"], "identifier");
        assert!(e["error"]["traceId"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
    }
}

#[tokio::test]
async fn dataplane_auth_failures() {
    let p = pool_with("auth", 5, 1).await;
    let url = format!("{}/?identifier=abcd", p.ep);
    let none = p.srv.client.get(&url).send().await.expect("send");
    assert_eq!(none.status(), 401);
    let bad = p
        .srv
        .client
        .get(&url)
        .bearer_auth("not-a-jwt")
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status(), 401);
    let arm = p.srv.token_for(ARM_AUDIENCE);
    let wrong = p
        .srv
        .client
        .get(&url)
        .bearer_auth(arm)
        .send()
        .await
        .expect("send");
    assert_eq!(wrong.status(), 403);
    let body: Value = wrong.json().await.expect("json");
    assert!(body["error"]["traceId"].is_string());
}

#[tokio::test]
async fn dataplane_unknown_pool_is_404() {
    let p = pool_with("known", 5, 1).await;
    let url = p.ep.replace("/known", "/unknown");
    let r = p
        .srv
        .client
        .get(format!("{url}/?identifier=abcd"))
        .bearer_auth(&p.token)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn dataplane_full_pool_is_429_and_recovers_after_stop() {
    let p = pool_with("full", 2, 1).await;
    assert_eq!(p.json("/?identifier=aaaa").await.0, 200);
    assert_eq!(p.json("/?identifier=bbbb").await.0, 200);
    let r = p.get("/?identifier=cccc").send().await.expect("send");
    assert_eq!(r.status(), 429);
    assert_eq!(
        r.headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap_or("")),
        Some("1")
    );
    let stop = p
        .post(&format!(
            "/.management/stopSession?api-version={API}&identifier=aaaa"
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(stop.status(), 200);
    assert_eq!(
        stop.text().await.expect("text"),
        "Session aaaa in session pool full stopped."
    );
    assert_eq!(p.json("/?identifier=cccc").await.0, 200);
}

#[tokio::test]
async fn dataplane_management_get_stop_and_errors() {
    let p = pool_with("mgmt", 5, 1).await;
    assert_eq!(p.json("/?identifier=mgmt-user").await.0, 200);
    let r = p
        .post(&format!(
            "/.management/getSession?identifier=mgmt-user&api-version={API}"
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["identifier"], "mgmt-user");
    for k in ["etag", "expiresAt", "createdAt", "lastAccessedAt"] {
        assert!(v[k].is_string(), "{k} in {v}");
    }
    let missing = p
        .post(&format!(
            "/.management/stopSession?identifier=nobody&api-version={API}"
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(missing.status(), 404);
    let e: Value = missing.json().await.expect("json");
    assert_eq!(e["error"]["code"], "SessionNotFound");
    let no_version = p
        .post("/.management/getSession?identifier=mgmt-user")
        .send()
        .await
        .expect("send");
    assert_eq!(no_version.status(), 400);
    let e: Value = no_version.json().await.expect("json");
    assert_eq!(e["error"]["target"], "api-version");
    let unknown = p
        .post(&format!("/.management/nope?api-version={API}"))
        .send()
        .await
        .expect("send");
    assert_eq!(unknown.status(), 400);
    let e: Value = unknown.json().await.expect("json");
    assert_eq!(e["error"]["code"], "SessionRequestNotSupported");
    let get = p
        .get(&format!("/.management/listSessions?api-version={API}"))
        .send()
        .await
        .expect("send");
    assert_eq!(get.status(), 400);
}

#[tokio::test]
async fn dataplane_list_sessions_pages_of_300() {
    let p = pool_with("paging", 400, 20).await;
    let ids: Vec<String> = (0..301).map(|i| format!("user-{i:04}")).collect();
    for chunk in ids.chunks(25) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|id| p.get(&format!("/?identifier={id}")).send())
            .collect();
        for r in futures::future::join_all(tasks).await {
            assert_eq!(r.expect("send").status(), 200);
        }
    }
    let r = p
        .post(&format!("/.management/listSessions?api-version={API}"))
        .send()
        .await
        .expect("send");
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["value"].as_array().map(Vec::len), Some(300));
    // `count` is the page's count (issue 12: it used to pin the total, 301).
    assert_eq!(v["count"], 300);
    assert_eq!(v["sessions"], v["value"]);
    let next = v["nextLink"].as_str().expect("nextLink").to_string();
    assert!(
        next.starts_with(&p.ep) && next.contains("skip=300"),
        "{next}"
    );
    let r = p
        .srv
        .client
        .post(&next)
        .bearer_auth(&p.token)
        .send()
        .await
        .expect("send");
    let v2: Value = r.json().await.expect("json");
    assert_eq!(v2["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(v2["count"], 1);
    assert!(v2["nextLink"].is_null());
}

#[tokio::test]
async fn dataplane_streams_a_body_of_several_megabytes() {
    let p = pool_with("stream", 5, 1).await;
    let body: Vec<u8> = (0..8 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let r = p
        .post("/echo?identifier=big-body")
        .body(body.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let got = r.bytes().await.expect("bytes");
    assert_eq!(got.len(), body.len());
    assert!(got.as_ref() == body.as_slice());
}

#[tokio::test]
async fn dataplane_concurrent_requests_to_one_and_many_sessions() {
    let p = pool_with("conc", 20, 5).await;
    let one: Vec<_> = (0..32)
        .map(|_| p.get("/?identifier=shared-one").send())
        .collect();
    let mut hosts = std::collections::HashSet::new();
    for r in futures::future::join_all(one).await {
        let v: Value = r.expect("send").json().await.expect("json");
        hosts.insert(v["hostname"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(hosts.len(), 1);
    let many: Vec<_> = (0..10)
        .map(|i| p.get(&format!("/?identifier=many-{i:02}")).send())
        .collect();
    let mut hosts = std::collections::HashSet::new();
    for r in futures::future::join_all(many).await {
        let v: Value = r.expect("send").json().await.expect("json");
        hosts.insert(v["hostname"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(hosts.len(), 10, "every identifier its own session");
}

#[tokio::test]
async fn dataplane_session_a_cannot_reach_session_b_by_identifier() {
    let p = pool_with("isolation", 5, 2).await;
    let (_, a) = p.json("/?identifier=tenant-a").await;
    // The identifier alone selects the session: any attempt to name another one in the query
    // or headers is ignored.
    let (_, a2) = p.json("/?identifier=tenant-a&identifier=tenant-b").await;
    assert_eq!(a["hostname"], a2["hostname"]);
    let (_, b) = p.json("/?identifier=tenant-b").await;
    assert_ne!(a["hostname"], b["hostname"]);
    assert_ne!(a["random"], b["random"]);
}

#[tokio::test]
async fn dataplane_console_lines_and_lifecycle_rows_are_persisted() {
    let p = pool_with("consolelogs", 5, 1).await;
    let r = p
        .post("/log?identifier=logger-1&stream=stderr&line=hello-from-container")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let store = p.srv.state.store().clone();
    let logs = p.srv.state.pools().logs().expect("log store").clone();
    let key = p
        .srv
        .state
        .pools()
        .pools()
        .iter()
        .map(|h| h.context().key().to_string())
        .find(|k| k.ends_with("/consolelogs"))
        .expect("the pool");
    let mut found = None;
    for _ in 0..200 {
        logs.flush().await;
        let page = logs.console_lines(&sessions_runtime::logstore::tail::TailFilter {
            pool_key: key.clone(),
            limit: 1000,
            ..Default::default()
        });
        let row = page
            .lines
            .iter()
            .find(|l| l.log == "hello-from-container")
            .map(|l| {
                (
                    l.stream.clone(),
                    Some(l.identifier.clone()).filter(|i| !i.is_empty()),
                    l.container.clone(),
                )
            });
        if row.is_some() {
            found = row;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        found,
        Some((
            "stderr".to_string(),
            Some("logger-1".to_string()),
            "main".to_string()
        ))
    );
    let allocated: i64 = store
        .call(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM log_lifecycle WHERE tag = 'SessionAllocated' AND identifier = 'logger-1'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .expect("query");
    assert_eq!(allocated, 1);
}
