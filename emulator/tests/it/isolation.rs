//! Two emulators in one process keep to themselves: each has its own signing key (a token of
//! one is refused by the other, before and after the other verified and cached it), its own
//! time scale (a session of the fast one expires while the same session of the slow one lives
//! on), its own pools and its own data-plane connections. Nothing per instance is process-wide.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessions_emulator::defaults::DATAPLANE_AUDIENCE;
use sessions_emulator::testing::TestServer;
use sessions_runtime::clock::TimeScale;

use crate::support::pools::{create, valid_pool};

const DP_API: &str = "2025-02-02-preview";

/// A pool whose sessions end 300 s (scaled) after their last request, with no probes.
fn timed_pool() -> Value {
    let mut body = valid_pool();
    body["properties"]["customContainerTemplate"]["containers"][0]["probes"] = json!([]);
    body["properties"]["scaleConfiguration"] =
        json!({"maxConcurrentSessions": 3, "readySessionInstances": 1});
    body
}

async fn status(srv: &TestServer, token: &str, method: Method, url: &str) -> StatusCode {
    srv.client
        .request(method, url)
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .status()
}

fn endpoint(pool: &Value) -> String {
    pool["properties"]["poolManagementEndpoint"]
        .as_str()
        .expect("poolManagementEndpoint")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_emulators_in_one_process_do_not_interfere() {
    let scale = TimeScale::new(0.01).expect("scale");
    let fast = TestServer::start_with(|c| c.time_scale = scale, None).await;
    let slow = TestServer::start().await;
    assert_eq!(fast.state.pools().scale(), scale);
    assert_eq!(slow.state.pools().scale(), TimeScale::default());

    // Token keys: each emulator accepts its own tokens only.
    let subs = "/subscriptions?api-version=2022-12-01";
    let (fast_arm, slow_arm) = (fast.arm_token(), slow.arm_token());
    assert_eq!(
        status(&fast, &fast_arm, Method::GET, &fast.url(subs)).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&slow, &slow_arm, Method::GET, &slow.url(subs)).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&slow, &fast_arm, Method::GET, &slow.url(subs)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(&fast, &slow_arm, Method::GET, &fast.url(subs)).await,
        StatusCode::UNAUTHORIZED
    );

    // The same pool on both; one session bound to "user" on each.
    let fast_pool = create(&fast, "iso", &timed_pool()).await;
    let slow_pool = create(&slow, "iso", &timed_pool()).await;
    let (fast_ep, slow_ep) = (endpoint(&fast_pool), endpoint(&slow_pool));
    let fast_dp = fast.token_for(DATAPLANE_AUDIENCE);
    let slow_dp = slow.token_for(DATAPLANE_AUDIENCE);
    let session = |ep: &str| format!("{ep}/?identifier=user");
    assert_eq!(
        status(&fast, &fast_dp, Method::GET, &session(&fast_ep)).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&slow, &slow_dp, Method::GET, &session(&slow_ep)).await,
        StatusCode::OK
    );
    // The fast emulator has verified (and cached) its data-plane token; the slow one still
    // refuses it, and the other way round.
    assert_eq!(
        status(&slow, &fast_dp, Method::GET, &session(&slow_ep)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(&fast, &slow_dp, Method::GET, &session(&fast_ep)).await,
        StatusCode::UNAUTHORIZED
    );

    // Time scales: 300 s of cooldown is 3 s on the fast emulator and 300 s on the slow one.
    let get_session =
        |ep: &str| format!("{ep}/.management/getSession?identifier=user&api-version={DP_API}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s = status(&fast, &fast_dp, Method::POST, &get_session(&fast_ep)).await;
        if s == StatusCode::NOT_FOUND {
            break;
        }
        assert_eq!(s, StatusCode::OK);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the fast emulator's session never expired"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        status(&slow, &slow_dp, Method::POST, &get_session(&slow_ep)).await,
        StatusCode::OK,
        "the slow emulator's session lives on"
    );
    fast.stop().await;
    slow.stop().await;
}
