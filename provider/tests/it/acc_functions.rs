//! Provider functions with the real `terraform` binary (1.8+): the documented examples under
//! `examples/functions/` evaluate to the documented values, and a bad argument fails the plan
//! with the function's error.

use crate::support::acc::{first_json, Acc};

fn example(name: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/");
    std::fs::read_to_string(format!("{root}functions/{name}/function.tf")).expect(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_acc_provider_functions() {
    let acc = Acc::reattach().await;
    let work = acc.work();
    let provider = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/provider/provider.tf"
    ))
    .expect("provider.tf");
    acc.write_config(
        &work,
        &format!(
            "{provider}\n{}\n{}\noutput \"round_trip\" {{\n  value = provider::azuresessions::parse_session_pool_id(provider::azuresessions::session_pool_id(\"s\", \"rg\", \"pool1\"))\n}}\n",
            example("parse_session_pool_id"),
            example("session_pool_id")
        ),
    );
    acc.ok(
        &work,
        &["apply", "-input=false", "-no-color", "-auto-approve"],
    )
    .await;
    let out = first_json(&acc.ok(&work, &["output", "-json"]).await);
    assert_eq!(out["pool_resource_group"]["value"], "sessions-dev", "{out}");
    assert_eq!(out["pool_name"]["value"], "quickstart", "{out}");
    assert_eq!(
        out["pool_id"]["value"],
        "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/sessions-dev/providers/Microsoft.App/sessionPools/quickstart"
    );
    assert_eq!(
        out["round_trip"]["value"],
        serde_json::json!({"subscription_id": "s", "resource_group_name": "rg", "name": "pool1"})
    );

    acc.write_config(
        &work,
        &format!(
            "{provider}\noutput \"bad\" {{\n  value = provider::azuresessions::parse_session_pool_id(\"not-an-id\")\n}}\n"
        ),
    );
    let (code, text) = acc.plan_exit(&work, &[]).await;
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("is not a session pool id"), "{text}");
    acc.finish().await;
}
