//! The `azuresessions_stop_session` action and the `azuresessions_sessions` data source over
//! the real gRPC interface (Terraform 1.11 here cannot run actions) against the in-process
//! emulator's data plane: a session is allocated, listed, stopped through InvokeAction (progress
//! events, then exactly one Completed), and is gone from the list afterwards.

use std::time::Duration;

use sessions_emulator::testing::TestServer;
use terraform_provider_azuresessions::actions::stop_session;
use terraform_provider_azuresessions::data_sources::sessions;
use terraform_provider_azuresessions::plugin::codec::decode_dynamic;
use terraform_provider_azuresessions::plugin::proto::tfplugin6 as pb;
use terraform_provider_azuresessions::plugin::Value;
use tonic::transport::Channel;

use crate::support::acc::{configured_client, make_pool};
use crate::support::grpc::{dv, errors};

async fn list_ids(
    client: &mut pb::provider_client::ProviderClient<Channel>,
    endpoint: &str,
) -> Vec<String> {
    let schema = sessions::schema();
    let cfg = Value::object([
        ("pool_management_endpoint", Value::from(endpoint)),
        ("session_pool_id", Value::Null),
    ]);
    let resp = client
        .read_data_source(pb::read_data_source::Request {
            type_name: sessions::TYPE_NAME.into(),
            config: dv(&cfg, &schema),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        errors(&resp.diagnostics).is_empty(),
        "{:?}",
        errors(&resp.diagnostics)
    );
    let state = decode_dynamic(resp.state.as_ref(), &schema.implied_type()).unwrap();
    state
        .get("sessions")
        .as_list()
        .unwrap_or(&[])
        .iter()
        .filter_map(|s| s.get("identifier").as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_session_action_and_sessions_data_source_over_grpc() {
    let srv = TestServer::start().await;
    let (handle, mut client) = configured_client(&srv, "1.14.0").await;

    let endpoint = make_pool(&srv, "grpcpool").await;
    // Allocate a session by sending it a request.
    let r = srv
        .client
        .get(format!("{endpoint}/health?identifier=user-0042"))
        .bearer_auth(srv.dataplane_token())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "proxied request: {}", r.status());
    assert!(list_ids(&mut client, &endpoint)
        .await
        .contains(&"user-0042".to_string()));

    // PlanAction rejects a bad identifier with its attribute path.
    let aschema = stop_session::schema();
    let bad = Value::object([
        ("pool_management_endpoint", Value::from(endpoint.as_str())),
        ("session_pool_id", Value::Null),
        ("identifier", Value::from("no spaces allowed")),
    ]);
    let resp = client
        .plan_action(pb::plan_action::Request {
            action_type: stop_session::TYPE_NAME.into(),
            config: dv(&bad, &aschema),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let d = resp.diagnostics.first().expect("a diagnostic");
    let step = d
        .attribute
        .as_ref()
        .and_then(|a| a.steps.first())
        .and_then(|s| s.selector.clone());
    assert_eq!(
        step,
        Some(pb::attribute_path::step::Selector::AttributeName(
            "identifier".into()
        ))
    );

    // InvokeAction: progress events, then exactly one Completed without errors, last.
    let good = Value::object([
        ("pool_management_endpoint", Value::from(endpoint.as_str())),
        ("session_pool_id", Value::Null),
        ("identifier", Value::from("user-0042")),
    ]);
    let mut stream = client
        .invoke_action(pb::invoke_action::Request {
            action_type: stop_session::TYPE_NAME.into(),
            config: dv(&good, &aschema),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut events = Vec::new();
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(60), stream.message())
        .await
        .unwrap()
        .unwrap()
    {
        events.push(ev.r#type.expect("event type"));
    }
    use pb::invoke_action::event::Type;
    let completed: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Type::Completed(_)))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        completed,
        vec![events.len() - 1],
        "exactly one Completed, last: {events:?}"
    );
    assert!(
        events.iter().any(|e| matches!(e, Type::Progress(_))),
        "{events:?}"
    );
    if let Some(Type::Completed(c)) = events.last() {
        assert!(
            errors(&c.diagnostics).is_empty(),
            "{:?}",
            errors(&c.diagnostics)
        );
    }
    assert!(
        !list_ids(&mut client, &endpoint)
            .await
            .contains(&"user-0042".to_string()),
        "session stopped"
    );

    handle.shutdown().await;
    srv.stop().await;
}
