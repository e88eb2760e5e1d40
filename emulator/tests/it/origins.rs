//! Pool endpoints are origins (issue 12): each pool's `poolManagementEndpoint` is a port of its
//! own on the emulator's address, so an absolute path resolved against it stays inside the
//! pool; `.management/*` works there and on the path-prefixed alias of the main listener.

use reqwest::Method;
use serde_json::Value;
use sessions_emulator::defaults;
use sessions_emulator::testing::TestServer;

use crate::support::pools::*;

#[tokio::test]
async fn absolute_paths_resolve_inside_the_pool_and_the_alias_still_works() {
    let srv = TestServer::start().await;
    let a = create(&srv, "origina", &valid_pool()).await;
    let b = create(&srv, "originb", &valid_pool()).await;
    let ep_a = a["properties"]["poolManagementEndpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let ep_b = b["properties"]["poolManagementEndpoint"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(ep_a, ep_b, "each pool has its own origin");
    let token = srv.dataplane_token();

    // A relative reference `/api/run` against the endpoint is `{origin}/api/run`.
    let base = reqwest::Url::parse(&format!("{ep_a}/some/page")).unwrap();
    let url = base.join("/api/run?identifier=user-1").unwrap();
    let r = srv
        .client
        .get(url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let echo: Value = r.json().await.unwrap();
    assert_eq!(echo["path"], "/api/run");
    let session_a = echo["hostname"].clone();

    // The alias reaches the same session for the same identifier.
    let alias = format!(
        "{}/pools/{}/{}/origina",
        srv.endpoint,
        defaults::SUBSCRIPTION_ID,
        defaults::RESOURCE_GROUP
    );
    let r = srv
        .client
        .get(format!("{alias}/api/run?identifier=user-1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let echo: Value = r.json().await.unwrap();
    assert_eq!(echo["hostname"], session_a);

    // Pool B's origin is another pool: the same identifier gets another session.
    let r = srv
        .client
        .get(format!("{ep_b}/api/run?identifier=user-1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let echo: Value = r.json().await.unwrap();
    assert_ne!(echo["hostname"], session_a);

    // `.management` on both forms.
    for base in [&ep_a, &alias] {
        let r = srv
            .client
            .post(format!(
                "{base}/.management/listSessions?api-version=2025-02-02-preview"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{base}");
        let list: Value = r.json().await.unwrap();
        assert_eq!(list["count"], 1, "{base}: {list}");
        assert_eq!(list["value"][0]["identifier"], "user-1");
    }
    // Auth is the same on the origin: no token, 401.
    let r = srv
        .client
        .get(format!("{ep_a}/api/run?identifier=user-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_pool_keeps_its_origin_across_updates() {
    let srv = TestServer::start().await;
    let created = create(&srv, "stable", &valid_pool()).await;
    let mut body = valid_pool();
    body["properties"]["scaleConfiguration"]["maxConcurrentSessions"] = 7.into();
    let (s, updated) = call(&srv, Method::PUT, &at(&pool_path("stable"), V), Some(&body)).await;
    assert_eq!(s, 200, "{updated}");
    assert_eq!(
        updated["properties"]["poolManagementEndpoint"],
        created["properties"]["poolManagementEndpoint"]
    );
}
