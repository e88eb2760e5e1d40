//! Property tests of `Microsoft.App/sessionPools` through the HTTP routes: arbitrary bodies and
//! api-versions never produce a 500 (or a panic), and valid pools round-trip through PUT/GET
//! unchanged except for read-only fields.

use crate::support::pools::*;
use proptest::prelude::*;
use reqwest::Method;
use serde_json::{json, Map, Value};
use sessions_emulator::arm::session_pools::version::API_VERSIONS;
use sessions_emulator::testing::TestServer;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-zA-Z0-9 ._/-]{0,12}".prop_map(Value::from),
        Just(json!("Dynamic")),
        Just(json!("CustomContainer")),
        Just(json!(sessions_emulator::defaults::environment_id())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("location".to_string()),
            Just("properties".to_string()),
            Just("identity".to_string()),
            Just("tags".to_string()),
            Just("scaleConfiguration".to_string()),
            Just("customContainerTemplate".to_string()),
            Just("containers".to_string()),
            Just("probes".to_string()),
            Just("secrets".to_string()),
            Just("dynamicPoolConfiguration".to_string()),
            Just("lifecycleConfiguration".to_string()),
            Just("environmentId".to_string()),
            Just("type".to_string()),
            Just("httpGet".to_string()),
            "[a-zA-Z]{1,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys, inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A valid body with mutations at known paths, so many cases pass the parser and reach the rules.
fn mutated_valid() -> impl Strategy<Value = Value> {
    let paths = prop_oneof![
        Just("/properties/scaleConfiguration/maxConcurrentSessions"),
        Just("/properties/scaleConfiguration/readySessionInstances"),
        Just("/properties/dynamicPoolConfiguration/lifecycleConfiguration"),
        Just("/properties/customContainerTemplate/containers/0/probes/0"),
        Just("/properties/customContainerTemplate/containers/0/env"),
        Just("/properties/customContainerTemplate/ingress/targetPort"),
        Just("/properties/secrets"),
        Just("/identity"),
        Just("/properties/managedIdentitySettings"),
        Just("/location"),
    ];
    prop::collection::vec((paths, arb_json()), 1..4).prop_map(|edits| {
        let mut body = valid_pool();
        for (ptr, value) in edits {
            if let Some(slot) = body.pointer_mut(ptr) {
                *slot = value;
            }
        }
        body
    })
}

fn arb_version() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(API_VERSIONS.to_vec()).prop_map(str::to_string),
        "[0-9a-z-]{0,20}",
    ]
}

#[test]
fn arbitrary_requests_never_answer_500() {
    let rt = runtime();
    let srv = rt.block_on(TestServer::start());
    let config = ProptestConfig {
        cases: 160,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(body in prop_oneof![arb_json(), mutated_valid()], v in arb_version(), method in 0..3u8)| {
        let (status, resp) = rt.block_on(async {
            let method = [Method::PUT, Method::PATCH, Method::GET][method as usize].clone();
            let url = format!("{}?api-version={}", pool_path("proppool"), v);
            call(&srv, method, &url, Some(&body)).await
        });
        prop_assert!(status < 500, "status {status} for {body}: {resp}");
        if status >= 400 {
            prop_assert!(resp["error"]["code"].is_string(), "ARM error body expected, got {resp}");
        }
    });
}

fn arb_valid_pool() -> impl Strategy<Value = Value> {
    (
        1..=600i32,
        any::<prop::sample::Index>(),
        300..=3600i32,
        any::<bool>(),
        1..=65535i32,
        prop::option::of("[a-z]{1,6}"),
        any::<bool>(),
    )
        .prop_map(|(max, ready_ix, cooldown, egress, port, tag, exit)| {
            let mut b = valid_pool();
            let ready = if max > 1 {
                1 + ready_ix.index((max - 1) as usize) as i32
            } else {
                1
            };
            let max = if max == 1 { 2 } else { max };
            b["properties"]["scaleConfiguration"] =
                json!({"maxConcurrentSessions": max, "readySessionInstances": ready.min(max - 1)});
            b["properties"]["dynamicPoolConfiguration"]["lifecycleConfiguration"] = if exit {
                json!({"lifecycleType": "OnContainerExit", "maxAlivePeriodInSeconds": cooldown})
            } else {
                json!({"lifecycleType": "Timed", "cooldownPeriodInSeconds": cooldown})
            };
            b["properties"]["sessionNetworkConfiguration"]["status"] = json!(if egress {
                "EgressEnabled"
            } else {
                "EgressDisabled"
            });
            b["properties"]["customContainerTemplate"]["ingress"]["targetPort"] = json!(port);
            if let Some(t) = tag {
                b["tags"] = json!({ t: "v" });
            }
            b
        })
}

/// The writable view of a response: read-only fields removed, secret values removed.
fn writable(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        for k in ["id", "name", "type", "systemData"] {
            m.remove(k);
        }
    }
    if let Some(p) = v.get_mut("properties").and_then(Value::as_object_mut) {
        for k in ["provisioningState", "nodeCount", "poolManagementEndpoint"] {
            p.remove(k);
        }
    }
    if let Some(id) = v.get_mut("identity").and_then(Value::as_object_mut) {
        id.remove("principalId");
        id.remove("tenantId");
    }
    if let Some(secrets) = v
        .pointer_mut("/properties/secrets")
        .and_then(Value::as_array_mut)
    {
        for s in secrets {
            if let Some(o) = s.as_object_mut() {
                o.remove("value");
            }
        }
    }
    v
}

#[test]
fn valid_pools_round_trip_through_put_and_get() {
    let rt = runtime();
    let srv = rt.block_on(TestServer::start());
    let config = ProptestConfig {
        cases: 40,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(body in arb_valid_pool())| {
        let (put_status, got) = rt.block_on(async {
            let url = at(&pool_path("roundtrip"), V);
            let (s, _) = call(&srv, Method::PUT, &url, Some(&body)).await;
            let (_, got) = call(&srv, Method::GET, &url, None).await;
            (s, got)
        });
        prop_assert!(put_status == 200 || put_status == 201, "PUT answered {put_status}");
        prop_assert_eq!(writable(got), writable(body));
    });
}
