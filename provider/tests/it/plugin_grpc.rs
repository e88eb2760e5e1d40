//! In-process gRPC tests of the tfplugin6 service: the test provider from `support::test_provider`
//! served on a unix socket by `serve_reattach`, driven by the generated tonic client.

use std::sync::Arc;
use std::time::Duration;

use terraform_provider_azuresessions::plugin::proto::go_plugin as gp;
use terraform_provider_azuresessions::plugin::proto::tfplugin6 as pb;
use terraform_provider_azuresessions::plugin::serve::{serve_reattach, ReattachHandle};
use terraform_provider_azuresessions::plugin::{AttributePath, Value};

use crate::support::grpc::*;
use crate::support::test_provider::*;

type Client = pb::provider_client::ProviderClient<tonic::transport::Channel>;

async fn start() -> (ReattachHandle, Client, Arc<tokio::sync::Notify>) {
    let provider = TestProvider::default();
    let started = provider.started.clone();
    let handle = serve_reattach(Arc::new(provider)).await.expect("serve");
    let ch = unix_channel(handle.socket()).await;
    (
        handle,
        pb::provider_client::ProviderClient::new(ch),
        started,
    )
}

fn caps(write_only: bool) -> Option<pb::ClientCapabilities> {
    Some(pb::ClientCapabilities {
        deferral_allowed: false,
        write_only_attributes_allowed: write_only,
    })
}

fn config(name: &str) -> Value {
    Value::object([
        ("name", Value::from(name)),
        ("size", Value::from(3)),
        ("secret", Value::from("s3cret")),
        ("tags", Value::map([("a", Value::from("b"))])),
        (
            "rule",
            Value::List(vec![Value::object([("port", Value::from(80))])]),
        ),
    ])
}

async fn configure(c: &mut Client) {
    let schema = terraform_provider_azuresessions::plugin::Schema::new(
        0,
        terraform_provider_azuresessions::plugin::Block::new().attribute(
            terraform_provider_azuresessions::plugin::Attribute::string("endpoint").optional(),
        ),
    );
    let r = c
        .configure_provider(pb::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: dv(&Value::object([("endpoint", Value::from("emu"))]), &schema),
            client_capabilities: caps(true),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
}

#[tokio::test]
async fn metadata_and_schema() {
    let (h, mut c, _) = start().await;
    let m = c
        .get_metadata(pb::get_metadata::Request {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(m.resources[0].type_name, "azuresessions_test_thing");
    assert_eq!(m.data_sources[0].type_name, "azuresessions_test_echo");
    assert_eq!(m.actions[0].type_name, "azuresessions_test_notify");
    let s = c
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    let caps = s.server_capabilities.unwrap();
    assert!(!caps.plan_destroy && caps.get_provider_schema_optional);
    let thing = &s.resource_schemas["azuresessions_test_thing"];
    assert_eq!(thing.version, 1);
    let block = thing.block.as_ref().unwrap();
    let secret = block
        .attributes
        .iter()
        .find(|a| a.name == "secret")
        .unwrap();
    assert!(secret.write_only && secret.sensitive);
    assert!(s.action_schemas.contains_key("azuresessions_test_notify"));
    assert!(s
        .data_source_schemas
        .contains_key("azuresessions_test_echo"));
    h.shutdown().await;
}

#[tokio::test]
async fn validation_reports_attribute_paths() {
    let (h, mut c, _) = start().await;
    let pschema = TestProvider::default();
    let ps = terraform_provider_azuresessions::plugin::Provider::schema(&pschema);
    let r = c
        .validate_provider_config(pb::validate_provider_config::Request {
            config: dv(&Value::object([("endpoint", Value::from("bad"))]), &ps),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(errors(&r.diagnostics).len(), 1);
    let path = r.diagnostics[0].attribute.as_ref().unwrap();
    assert_eq!(
        AttributePath::from_proto(path),
        AttributePath::attr("endpoint")
    );

    let mut cfg = config("a");
    cfg.set_attr("size", Value::from(-1));
    let r = c
        .validate_resource_config(pb::validate_resource_config::Request {
            type_name: "azuresessions_test_thing".into(),
            config: dv(&cfg, &thing_schema()),
            client_capabilities: caps(true),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&r.diagnostics)[0].contains("size"));

    // Write-only attributes need a Terraform that allows them.
    let r = c
        .validate_resource_config(pb::validate_resource_config::Request {
            type_name: "azuresessions_test_thing".into(),
            config: dv(&config("a"), &thing_schema()),
            client_capabilities: caps(false),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        errors(&r.diagnostics)[0].contains("write-only"),
        "{:?}",
        r.diagnostics
    );

    // Unknown values in config are fine for validation.
    let mut cfg = config("a");
    cfg.set_attr("size", Value::unknown());
    let r = c
        .validate_resource_config(pb::validate_resource_config::Request {
            type_name: "azuresessions_test_thing".into(),
            config: dv(&cfg, &thing_schema()),
            client_capabilities: caps(true),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);

    let r = c
        .validate_resource_config(pb::validate_resource_config::Request {
            type_name: "azuresessions_nope".into(),
            config: None,
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&r.diagnostics)[0].contains("azuresessions_test_thing"));
    h.shutdown().await;
}

#[tokio::test]
async fn plan_apply_read_import_lifecycle() {
    let (h, mut c, _) = start().await;
    configure(&mut c).await;
    let s = thing_schema();
    let t = "azuresessions_test_thing".to_string();

    // Create plan: computed id unknown, write-only nulled.
    let plan = c
        .plan_resource_change(pb::plan_resource_change::Request {
            type_name: t.clone(),
            prior_state: dv(&Value::Null, &s),
            proposed_new_state: dv(&config("a"), &s),
            config: dv(&config("a"), &s),
            client_capabilities: caps(true),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
    let planned = val(plan.planned_state.as_ref(), &s);
    assert!(planned.get("id").is_unknown());
    assert!(planned.get("secret").is_null());
    assert_eq!(planned.get("size").as_i64(), Some(3));

    // Apply create.
    let applied = c
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: t.clone(),
            prior_state: dv(&Value::Null, &s),
            planned_state: plan.planned_state.clone(),
            config: dv(&config("a"), &s),
            planned_private: plan.planned_private.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        errors(&applied.diagnostics).is_empty(),
        "{:?}",
        applied.diagnostics
    );
    // The resource's warning comes through and shows the configured provider data.
    assert!(applied.diagnostics[0].detail.contains("emu"));
    let state = val(applied.new_state.as_ref(), &s);
    assert_eq!(state.get("id").as_str(), Some("things/a"));
    assert!(state.get("secret").is_null());
    assert_eq!(applied.private, b"p1");

    // Update plan with a force-new change lists the path.
    let plan2 = c
        .plan_resource_change(pb::plan_resource_change::Request {
            type_name: t.clone(),
            prior_state: applied.new_state.clone(),
            proposed_new_state: dv(
                &{
                    let mut v = config("b");
                    v.set_attr("id", Value::from("things/a"));
                    v
                },
                &s,
            ),
            config: dv(&config("b"), &s),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let rr: Vec<AttributePath> = plan2
        .requires_replace
        .iter()
        .map(AttributePath::from_proto)
        .collect();
    assert_eq!(rr, vec![AttributePath::attr("name")]);

    // Read keeps the state and private bytes; a vanished object reads as null.
    let read = c
        .read_resource(pb::read_resource::Request {
            type_name: t.clone(),
            current_state: applied.new_state.clone(),
            private: applied.private.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(val(read.new_state.as_ref(), &s), state);
    assert_eq!(read.private, b"p1");
    let mut gone = state.clone();
    gone.set_attr("name", Value::from("gone"));
    let read = c
        .read_resource(pb::read_resource::Request {
            type_name: t.clone(),
            current_state: dv(&gone, &s),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(val(read.new_state.as_ref(), &s).is_null());

    // Upgrade from stored JSON (the same version) re-encodes msgpack.
    let up = c
        .upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: t.clone(),
            version: 1,
            raw_state: Some(pb::RawState {
                json:
                    br#"{"id":"things/a","name":"a","size":3,"secret":null,"tags":null,"rule":[]}"#
                        .to_vec(),
                flatmap: Default::default(),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(up.diagnostics.is_empty(), "{:?}", up.diagnostics);
    let upgraded = val(up.upgraded_state.as_ref(), &s);
    assert_eq!(upgraded.get("id").as_str(), Some("things/a"));
    assert!(!up.upgraded_state.unwrap().msgpack.is_empty());
    let up = c
        .upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: t.clone(),
            version: 7,
            raw_state: Some(pb::RawState {
                json: b"{}".to_vec(),
                flatmap: Default::default(),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&up.diagnostics)[0].contains("newer provider"));

    // Import.
    let imp = c
        .import_resource_state(pb::import_resource_state::Request {
            type_name: t.clone(),
            id: "things/zz".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let st = val(imp.imported_resources[0].state.as_ref(), &s);
    assert_eq!(st.get("name").as_str(), Some("zz"));
    let imp = c
        .import_resource_state(pb::import_resource_state::Request {
            type_name: t.clone(),
            id: "bogus".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&imp.diagnostics)[0].contains("things/<name>"));

    // Destroy: planned null in apply returns null.
    let del = c
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: t.clone(),
            prior_state: applied.new_state.clone(),
            planned_state: dv(&Value::Null, &s),
            config: dv(&Value::Null, &s),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(del.diagnostics.is_empty());
    assert!(val(del.new_state.as_ref(), &s).is_null());
    h.shutdown().await;
}

/// A create that fails after the object exists answers with the new state *and* the error, so
/// Terraform keeps the object (tainted) instead of losing track of it.
#[tokio::test]
async fn failed_create_returns_state_with_the_error() {
    let (h, mut c, _) = start().await;
    configure(&mut c).await;
    let s = thing_schema();
    let t = "azuresessions_test_thing".to_string();
    let mut planned = config("half");
    planned.set_attr("id", Value::unknown());
    planned.set_attr("secret", Value::Null);
    let applied = c
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: t,
            prior_state: dv(&Value::Null, &s),
            planned_state: dv(&planned, &s),
            config: dv(&config("half"), &s),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        errors(&applied.diagnostics),
        vec!["Half created: the thing exists but did not finish".to_string()]
    );
    let state = val(applied.new_state.as_ref(), &s);
    assert_eq!(state.get("id").as_str(), Some("things/half"));
    assert!(
        state.get("secret").is_null(),
        "write-only stays out of state"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn unconfigured_provider_gives_clear_error() {
    let (h, mut c, _) = start().await;
    let s = thing_schema();
    let r = c
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: "azuresessions_test_thing".into(),
            prior_state: dv(&Value::Null, &s),
            planned_state: dv(&config("a"), &s),
            config: dv(&config("a"), &s),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&r.diagnostics)[0].contains("not configured"));
    assert!(r.new_state.is_none());
    h.shutdown().await;
}

#[tokio::test]
async fn garbage_dynamic_values_are_diagnostics() {
    let (h, mut c, _) = start().await;
    let r = c
        .plan_resource_change(pb::plan_resource_change::Request {
            type_name: "azuresessions_test_thing".into(),
            proposed_new_state: Some(pb::DynamicValue {
                msgpack: vec![0x92, 0x01],
                json: vec![],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        errors(&r.diagnostics)[0].contains("Invalid proposed state"),
        "{:?}",
        r.diagnostics
    );
    h.shutdown().await;
}

#[tokio::test]
async fn data_source_reads() {
    let (h, mut c, _) = start().await;
    let s = terraform_provider_azuresessions::plugin::DataSource::schema(&Echo);
    let cfg = Value::object([("input", Value::from("hi"))]);
    let v = c
        .validate_data_resource_config(pb::validate_data_resource_config::Request {
            type_name: "azuresessions_test_echo".into(),
            config: dv(&cfg, &s),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(v.diagnostics.is_empty());
    let r = c
        .read_data_source(pb::read_data_source::Request {
            type_name: "azuresessions_test_echo".into(),
            config: dv(&cfg, &s),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(val(r.state.as_ref(), &s).get("output").as_str(), Some("HI"));
    h.shutdown().await;
}

async fn invoke(c: &mut Client, message: &str) -> Vec<pb::invoke_action::Event> {
    let s = terraform_provider_azuresessions::plugin::Action::schema(&Notify2);
    let mut stream = c
        .invoke_action(pb::invoke_action::Request {
            action_type: "azuresessions_test_notify".into(),
            config: dv(&Value::object([("message", Value::from(message))]), &s),
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    let mut events = Vec::new();
    while let Some(ev) = stream.message().await.unwrap() {
        events.push(ev);
    }
    events
}

#[tokio::test]
async fn actions_validate_plan_and_stream_exactly_one_completed() {
    use pb::invoke_action::event::Type as Ev;
    let (h, mut c, _) = start().await;
    let s = terraform_provider_azuresessions::plugin::Action::schema(&Notify2);
    let v = c
        .validate_action_config(pb::validate_action_config::Request {
            type_name: "azuresessions_test_notify".into(),
            config: dv(&Value::object([("message", Value::unknown())]), &s),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(v.diagnostics.is_empty());
    let p = c
        .plan_action(pb::plan_action::Request {
            action_type: "azuresessions_test_notify".into(),
            config: dv(&Value::object([("message", Value::unknown())]), &s),
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(p.diagnostics.is_empty());

    for (msg, fails) in [("hello", false), ("fail", true)] {
        let events = invoke(&mut c, msg).await;
        assert_eq!(events.len(), 3, "{events:?}");
        assert!(
            matches!(&events[0].r#type, Some(Ev::Progress(p)) if p.message == format!("sending {msg}"))
        );
        assert!(matches!(&events[1].r#type, Some(Ev::Progress(_))));
        let Some(Ev::Completed(done)) = &events[2].r#type else {
            panic!("last event must be Completed: {events:?}");
        };
        assert_eq!(!errors(&done.diagnostics).is_empty(), fails);
    }

    // An unknown action type still ends with exactly one Completed carrying the error.
    let mut stream = c
        .invoke_action(pb::invoke_action::Request {
            action_type: "azuresessions_nope".into(),
            config: None,
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    let mut events = Vec::new();
    while let Some(ev) = stream.message().await.unwrap() {
        events.push(ev);
    }
    assert_eq!(events.len(), 1);
    assert!(matches!(&events[0].r#type, Some(Ev::Completed(d)) if !d.diagnostics.is_empty()));
    h.shutdown().await;
}

#[tokio::test]
async fn stop_provider_cancels_in_flight_apply() {
    let (h, mut c, started) = start().await;
    configure(&mut c).await;
    let s = thing_schema();
    let mut c2 = c.clone();
    let cfg = config("slow");
    let (p, cf) = (dv(&cfg, &s), dv(&cfg, &s));
    let apply = tokio::spawn(async move {
        c2.apply_resource_change(pb::apply_resource_change::Request {
            type_name: "azuresessions_test_thing".into(),
            prior_state: dv(&Value::Null, &thing_schema()),
            planned_state: p,
            config: cf,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
    });
    tokio::time::timeout(Duration::from_secs(10), started.notified())
        .await
        .expect("the slow create started");
    let r = c
        .stop_provider(pb::stop_provider::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(r.error.is_empty());
    let out = tokio::time::timeout(Duration::from_secs(10), apply)
        .await
        .expect("apply returned after StopProvider")
        .unwrap();
    assert!(errors(&out.diagnostics)[0].contains("Cancelled"));
    h.shutdown().await;
}

#[tokio::test]
async fn unsupported_features_answer_cleanly() {
    let (h, mut c, _) = start().await;
    let f = c
        .get_functions(pb::get_functions::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(f.functions.is_empty() && f.diagnostics.is_empty());
    let ids = c
        .get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(ids.identity_schemas.is_empty());
    let e = c
        .validate_ephemeral_resource_config(pb::validate_ephemeral_resource_config::Request {
            type_name: "azuresessions_x".into(),
            config: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&e.diagnostics)[0].contains("not offer"));
    let m = c
        .move_resource_state(pb::move_resource_state::Request::default())
        .await
        .unwrap()
        .into_inner();
    assert!(!m.diagnostics.is_empty());
    let cf = c
        .call_function(pb::call_function::Request {
            name: "f".into(),
            arguments: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(cf.error.is_some());
    let list = c
        .list_resource(pb::list_resource::Request::default())
        .await
        .unwrap_err();
    assert_eq!(list.code(), tonic::Code::Unimplemented);
    h.shutdown().await;
}

#[tokio::test]
async fn controller_shutdown_stops_the_server() {
    let (h, c, _) = start().await;
    let ch = unix_channel(h.socket()).await;
    let mut ctl = gp::grpc_controller_client::GrpcControllerClient::new(ch.clone());
    let mut stdio = gp::grpc_stdio_client::GrpcStdioClient::new(ch);
    let mut stream = stdio.stream_stdio(()).await.unwrap().into_inner();
    ctl.shutdown(gp::Empty {}).await.unwrap();
    // The stdio stream ends once the server shuts down.
    let end = tokio::time::timeout(Duration::from_secs(5), stream.message()).await;
    assert!(matches!(end, Ok(Ok(None)) | Ok(Err(_))), "{end:?}");
    drop(c);
    h.shutdown().await;
}
