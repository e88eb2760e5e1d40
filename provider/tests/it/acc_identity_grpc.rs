//! Resource identity (tfplugin6 6.9+, Terraform 1.12+) and provider functions over the real
//! gRPC interface against the in-process emulator (the installed Terraform 1.11 has no
//! identity): both resources publish an identity schema; read, plan, apply and import return
//! the identity; a pool and a diagnostic setting import by identity; a stored identity
//! upgrades; GetFunctions/CallFunction answer, with argument errors.

use serde_json::json;
use sessions_emulator::defaults;
use sessions_emulator::testing::TestServer;
use terraform_provider_azuresessions::plugin::codec::{decode_dynamic, encode_dynamic};
use terraform_provider_azuresessions::plugin::model::Model;
use terraform_provider_azuresessions::plugin::proto::tfplugin6 as pb;
use terraform_provider_azuresessions::plugin::{Type, Value};
use terraform_provider_azuresessions::resources::diagnostic_setting::{
    self, DiagnosticSettingIdentity,
};
use terraform_provider_azuresessions::resources::session_pool::model::SessionPoolIdentity;
use terraform_provider_azuresessions::resources::session_pool::{self, schema};

use crate::support::acc::{configured_client, make_pool, pool_path};
use crate::support::grpc::{dv, errors, val};

type Client = pb::provider_client::ProviderClient<tonic::transport::Channel>;

fn identity_type(resp: &pb::get_resource_identity_schemas::Response, t: &str) -> Type {
    let s = &resp.identity_schemas[t];
    Type::Object(
        s.identity_attributes
            .iter()
            .map(|a| (a.name.clone(), Type::from_json_bytes(&a.r#type).unwrap()))
            .collect(),
    )
}

fn identity_value(d: Option<&pb::ResourceIdentityData>, ty: &Type) -> Value {
    let dv = d
        .and_then(|d| d.identity_data.as_ref())
        .expect("an identity");
    decode_dynamic(Some(dv), ty).unwrap()
}

fn identity_data(v: &Value, ty: &Type) -> Option<pb::ResourceIdentityData> {
    Some(pb::ResourceIdentityData {
        identity_data: Some(encode_dynamic(v, ty).unwrap()),
    })
}

async fn import_by_identity(
    c: &mut Client,
    type_name: &str,
    identity: Option<pb::ResourceIdentityData>,
) -> pb::import_resource_state::Response {
    c.import_resource_state(pb::import_resource_state::Request {
        type_name: type_name.into(),
        id: String::new(),
        identity,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_identity_over_grpc() {
    let srv = TestServer::start().await;
    let (handle, mut c) = configured_client(&srv, "1.12.0").await;
    make_pool(&srv, "identitypool").await;
    let pool_id = pool_path("identitypool");

    let schemas = c
        .get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {})
        .await
        .unwrap()
        .into_inner();
    let pool_schema = &schemas.identity_schemas[session_pool::TYPE_NAME];
    let attrs: Vec<(&str, bool, bool)> = pool_schema
        .identity_attributes
        .iter()
        .map(|a| {
            (
                a.name.as_str(),
                a.required_for_import,
                a.optional_for_import,
            )
        })
        .collect();
    assert_eq!(
        attrs,
        vec![
            ("subscription_id", false, true),
            ("resource_group_name", true, false),
            ("name", true, false),
        ]
    );
    assert!(schemas
        .identity_schemas
        .contains_key(diagnostic_setting::TYPE_NAME));
    let pool_ty = identity_type(&schemas, session_pool::TYPE_NAME);
    let diag_ty = identity_type(&schemas, diagnostic_setting::TYPE_NAME);

    // Import by identity (subscription left out: the provider's) -> state + identity.
    let identity = SessionPoolIdentity {
        resource_group_name: defaults::RESOURCE_GROUP.into(),
        name: "identitypool".into(),
        ..Default::default()
    }
    .encode();
    let imported = import_by_identity(
        &mut c,
        session_pool::TYPE_NAME,
        identity_data(&identity, &pool_ty),
    )
    .await;
    assert!(
        errors(&imported.diagnostics).is_empty(),
        "{:?}",
        imported.diagnostics
    );
    let r = &imported.imported_resources[0];
    let s = schema::schema();
    let stub = val(r.state.as_ref(), &s);
    assert_eq!(stub.get("id").as_str(), Some(pool_id.as_str()));
    let want = Value::object([
        ("subscription_id", Value::from(defaults::SUBSCRIPTION_ID)),
        ("resource_group_name", Value::from(defaults::RESOURCE_GROUP)),
        ("name", Value::from("identitypool")),
    ]);
    assert_eq!(identity_value(r.identity.as_ref(), &pool_ty), want);

    // Read fills the state and returns the same identity.
    let read = c
        .read_resource(pb::read_resource::Request {
            type_name: session_pool::TYPE_NAME.into(),
            current_state: r.state.clone(),
            current_identity: r.identity.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        errors(&read.diagnostics).is_empty(),
        "{:?}",
        read.diagnostics
    );
    assert_eq!(identity_value(read.new_identity.as_ref(), &pool_ty), want);
    let state = val(read.new_state.as_ref(), &s);
    assert_eq!(state.get("max_concurrent_sessions").as_i64(), Some(3));

    // Plan (no change) carries the identity too.
    let mut config = state.clone();
    for k in [
        "id",
        "pool_management_endpoint",
        "node_count",
        "provisioning_state",
    ] {
        config.set_attr(k, Value::Null);
    }
    let plan = c
        .plan_resource_change(pb::plan_resource_change::Request {
            type_name: session_pool::TYPE_NAME.into(),
            prior_state: read.new_state.clone(),
            proposed_new_state: read.new_state.clone(),
            config: dv(&config, &s),
            prior_identity: read.new_identity.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        errors(&plan.diagnostics).is_empty(),
        "{:?}",
        plan.diagnostics
    );
    assert_eq!(
        identity_value(plan.planned_identity.as_ref(), &pool_ty),
        want
    );
    assert_eq!(val(plan.planned_state.as_ref(), &s), state);

    // An incomplete identity is a clear error.
    let bad = import_by_identity(
        &mut c,
        session_pool::TYPE_NAME,
        identity_data(
            &SessionPoolIdentity {
                name: "identitypool".into(),
                ..Default::default()
            }
            .encode(),
            &pool_ty,
        ),
    )
    .await;
    assert!(
        errors(&bad.diagnostics)
            .iter()
            .any(|e| e.contains("resource_group_name")),
        "{:?}",
        bad.diagnostics
    );

    // A stored identity (JSON) upgrades to the current one.
    let up = c
        .upgrade_resource_identity(pb::upgrade_resource_identity::Request {
            type_name: session_pool::TYPE_NAME.into(),
            version: 0,
            raw_identity: Some(pb::RawState {
                json: serde_json::to_vec(&json!({
                    "subscription_id": defaults::SUBSCRIPTION_ID,
                    "resource_group_name": defaults::RESOURCE_GROUP,
                    "name": "identitypool"
                }))
                .unwrap(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&up.diagnostics).is_empty(), "{:?}", up.diagnostics);
    assert_eq!(
        identity_value(up.upgraded_identity.as_ref(), &pool_ty),
        want
    );

    // Diagnostic setting: create through apply, then import by identity.
    let ds = diagnostic_setting::schema();
    let ws = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.OperationalInsights/workspaces/{}",
        defaults::SUBSCRIPTION_ID,
        defaults::RESOURCE_GROUP,
        defaults::WORKSPACE
    );
    let cfg = Value::object([
        ("name", Value::from("metrics")),
        ("target_resource_id", Value::from(pool_id.as_str())),
        ("log_analytics_workspace_id", Value::from(ws.as_str())),
        (
            "enabled_metric",
            Value::Set(vec![Value::object([(
                "category",
                Value::from("AllMetrics"),
            )])]),
        ),
    ]);
    let plan = c
        .plan_resource_change(pb::plan_resource_change::Request {
            type_name: diagnostic_setting::TYPE_NAME.into(),
            prior_state: dv(&Value::Null, &ds),
            proposed_new_state: dv(&cfg, &ds),
            config: dv(&cfg, &ds),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        errors(&plan.diagnostics).is_empty(),
        "{:?}",
        plan.diagnostics
    );
    let diag_want = DiagnosticSettingIdentity {
        target_resource_id: pool_id.as_str().into(),
        name: "metrics".into(),
    }
    .encode();
    assert_eq!(
        identity_value(plan.planned_identity.as_ref(), &diag_ty),
        diag_want
    );
    let applied = c
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: diagnostic_setting::TYPE_NAME.into(),
            prior_state: dv(&Value::Null, &ds),
            planned_state: plan.planned_state.clone(),
            config: dv(&cfg, &ds),
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
    assert_eq!(
        identity_value(applied.new_identity.as_ref(), &diag_ty),
        diag_want
    );
    let imported = import_by_identity(
        &mut c,
        diagnostic_setting::TYPE_NAME,
        identity_data(&diag_want, &diag_ty),
    )
    .await;
    assert!(
        errors(&imported.diagnostics).is_empty(),
        "{:?}",
        imported.diagnostics
    );
    let stub = val(imported.imported_resources[0].state.as_ref(), &ds);
    assert_eq!(
        stub.get("id").as_str(),
        Some(format!("{pool_id}|metrics").as_str())
    );

    handle.shutdown().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_functions_over_grpc() {
    let srv = TestServer::start().await;
    let (handle, mut c) = configured_client(&srv, "1.8.0").await;
    let fns = c
        .get_functions(pb::get_functions::Request {})
        .await
        .unwrap()
        .into_inner()
        .functions;
    let mut names: Vec<&String> = fns.keys().collect();
    names.sort();
    assert_eq!(names, vec!["parse_session_pool_id", "session_pool_id"]);
    let parse = &fns["parse_session_pool_id"];
    let ret = Type::from_json_bytes(&parse.r#return.as_ref().unwrap().r#type).unwrap();

    let id = pool_path("p1");
    let arg = encode_dynamic(&Value::from(id.as_str()), &Type::String).unwrap();
    let resp = c
        .call_function(pb::call_function::Request {
            name: "parse_session_pool_id".into(),
            arguments: vec![arg],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(resp.error.is_none(), "{:?}", resp.error);
    let parts = decode_dynamic(resp.result.as_ref(), &ret).unwrap();
    assert_eq!(parts.get("name").as_str(), Some("p1"));

    let bad = c
        .call_function(pb::call_function::Request {
            name: "parse_session_pool_id".into(),
            arguments: vec![encode_dynamic(&Value::from("nope"), &Type::String).unwrap()],
        })
        .await
        .unwrap()
        .into_inner();
    let e = bad.error.expect("an error");
    assert_eq!(e.function_argument, Some(0));
    assert!(e.text.contains("not a session pool id"), "{}", e.text);

    let built = c
        .call_function(pb::call_function::Request {
            name: "session_pool_id".into(),
            arguments: ["s", "rg", "p1"]
                .iter()
                .map(|x| encode_dynamic(&Value::from(*x), &Type::String).unwrap())
                .collect(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        decode_dynamic(built.result.as_ref(), &Type::String)
            .unwrap()
            .as_str(),
        Some("/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/sessionPools/p1")
    );
    let unknown = c
        .call_function(pb::call_function::Request {
            name: "nope".into(),
            arguments: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(unknown
        .error
        .unwrap()
        .text
        .contains("parse_session_pool_id"));
    handle.shutdown().await;
    srv.stop().await;
}
