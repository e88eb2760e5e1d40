//! Deleting what a run created: at the end of every run (also after a failure or Ctrl-C) the
//! resources the cases tracked, and with `sessions-conformance cleanup --run-id ID` whatever
//! a killed run left, found by the run tag every created resource carries.

use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::Method;
use serde_json::Value;

use super::{Created, Scope, Target, RUN_TAG};
use crate::http::{self, Req};

/// The resource types a run creates, with the api-version to list and delete them.
pub const TYPES: &[(&str, &str)] = &[
    ("Microsoft.App/sessionPools", "2026-07-01"),
    ("Microsoft.App/managedEnvironments", "2025-07-01"),
    ("Microsoft.OperationalInsights/workspaces", "2023-09-01"),
];

/// What a cleanup did with one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// The resource id.
    pub id: String,
    /// `None` when it is gone; otherwise why it may not be.
    pub problem: Option<String>,
}

/// Deletes `items` (all at once) and waits until each reads 404, at most `limit` in all.
pub async fn delete_all(target: &Target, items: Vec<Created>, limit: Duration) -> Vec<Deleted> {
    let deadline = Instant::now() + limit;
    join_all(
        items
            .into_iter()
            .map(|c| async move { delete_one(target, &c, deadline).await }),
    )
    .await
}

async fn delete_one(target: &Target, c: &Created, deadline: Instant) -> Deleted {
    let problem = async {
        let token = target.token(Scope::Arm).await.map_err(|e| e.to_string())?;
        let url = target.arm_url(&format!("{}?api-version={}", c.id, c.api_version));
        let (res, _) = http::send(
            &target.client,
            Req::new(Method::DELETE, &url).bearer(&token),
        )
        .await;
        let resp = res?;
        if ![200, 202, 204, 404].contains(&resp.status) {
            return Err(format!("DELETE answered {}: {}", resp.status, resp.text()));
        }
        loop {
            let (res, _) =
                http::send(&target.client, Req::new(Method::GET, &url).bearer(&token)).await;
            if res.as_ref().is_ok_and(|r| r.status == 404) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err("still there when the cleanup's time ran out".to_string());
            }
            tokio::time::sleep(Duration::from_millis(if target.is_emulator() {
                200
            } else {
                5000
            }))
            .await;
        }
    }
    .await
    .err();
    Deleted {
        id: c.id.clone(),
        problem,
    }
}

/// Every resource in the target's resource group (and resource groups of the subscription)
/// tagged with run `run_id`.
pub async fn find_tagged(target: &Target, run_id: &str) -> Result<Vec<Created>, String> {
    let token = target.token(Scope::Arm).await.map_err(|e| e.to_string())?;
    let mut found = Vec::new();
    for (ty, v) in TYPES {
        let first = target.arm_url(&format!(
            "{}/providers/{ty}?api-version={v}",
            target.group_path()
        ));
        for item in list_all(target, &token, first).await? {
            if tagged(&item, run_id) {
                if let Some(id) = item["id"].as_str() {
                    found.push(Created {
                        id: id.to_string(),
                        api_version: v.to_string(),
                    });
                }
            }
        }
    }
    let groups = target.arm_url(&format!(
        "/subscriptions/{}/resourcegroups?api-version=2021-04-01",
        target.subscription
    ));
    for item in list_all(target, &token, groups).await? {
        if tagged(&item, run_id) {
            if let Some(id) = item["id"].as_str() {
                found.push(Created {
                    id: id.to_string(),
                    api_version: "2021-04-01".into(),
                });
            }
        }
    }
    Ok(found)
}

fn tagged(item: &Value, run_id: &str) -> bool {
    item["tags"][RUN_TAG].as_str() == Some(run_id)
}

/// Follows `nextLink` from `first` and returns every `value` item.
async fn list_all(target: &Target, token: &str, first: String) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let mut next = Some(first);
    let mut pages = 0;
    while let Some(url) = next.take() {
        pages += 1;
        if pages > 100 {
            return Err(format!("more than 100 pages listing {url}"));
        }
        let (res, _) = http::send(&target.client, Req::new(Method::GET, &url).bearer(token)).await;
        let resp = res?;
        if resp.status == 404 {
            break;
        }
        if resp.status != 200 {
            return Err(format!(
                "GET {url} answered {}: {}",
                resp.status,
                resp.text()
            ));
        }
        if let Some(items) = resp.json["value"].as_array() {
            out.extend(items.iter().cloned());
        }
        next = resp.json["nextLink"].as_str().map(str::to_string);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::auth::Credential;
    use crate::target::{Kind, Sessions, TargetSpec};
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    pub(crate) fn azure_target(server: &str) -> Target {
        Target::new(TargetSpec {
            kind: Kind::Azure,
            arm: server.into(),
            authority: server.into(),
            tenant: "tenant1".into(),
            subscription: "sub1".into(),
            resource_group: "rg1".into(),
            environment_id: "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.App/managedEnvironments/env1".into(),
            location: "westeurope".into(),
            workspace_id: None,
            log_analytics: server.into(),
            sessions: Sessions::Real,
            time_scale: 1.0,
            image: "example.azurecr.io/sample-session:1".into(),
            run_id: "rabc12".into(),
            ca_pem: None,
            credential: Credential::ClientSecret {
                client_id: "app".into(),
                secret: "s".into(),
            },
        })
        .unwrap()
    }

    async fn aad(server: &MockServer) {
        Mock::given(method("POST"))
            .and(path("/tenant1/oauth2/v2.0/token"))
            .respond_with(ResponseTemplate::new(200).set_body_string(
                r#"{"token_type":"Bearer","expires_in":3599,"access_token":"tok"}"#,
            ))
            .mount(server)
            .await;
    }

    /// Recorded shape of ARM's `sessionPools` list by resource group (2025-07-01), trimmed.
    fn pool(name: &str, run: Option<&str>) -> Value {
        let mut tags = serde_json::Map::new();
        if let Some(r) = run {
            tags.insert(RUN_TAG.into(), Value::String(r.into()));
        }
        serde_json::json!({
            "id": format!("/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.App/sessionPools/{name}"),
            "name": name, "type": "Microsoft.App/sessionPools", "location": "West Europe",
            "tags": tags, "properties": {"provisioningState": "Succeeded"}
        })
    }

    #[tokio::test]
    async fn cleanup_finds_the_runs_resources_across_pages_and_deletes_them() {
        let s = MockServer::start().await;
        aad(&s).await;
        let pools = "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.App/sessionPools";
        Mock::given(method("GET"))
            .and(path(pools))
            .and(query_param("$skiptoken", "2"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(
                    serde_json::json!({"value": [pool("scrabc12b", Some("rabc12"))]}),
                ),
            )
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .and(path(pools))
            .and(query_param("api-version", "2026-07-01"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "value": [pool("scrabc12a", Some("rabc12")), pool("other", None), pool("scrzzz", Some("rzzz"))],
                "nextLink": format!("{}{pools}?api-version=2026-07-01&$skiptoken=2", s.uri())
            })))
            .up_to_n_times(1)
            .mount(&s)
            .await;
        for other in [
            "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.App/managedEnvironments",
            "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.OperationalInsights/workspaces",
            "/subscriptions/sub1/resourcegroups",
        ] {
            Mock::given(method("GET"))
                .and(path(other))
                .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": []})))
                .mount(&s)
                .await;
        }
        let t = azure_target(&s.uri());
        let found = find_tagged(&t, "rabc12").await.unwrap();
        let names: Vec<&str> = found
            .iter()
            .map(|c| c.id.rsplit('/').next().unwrap())
            .collect();
        assert_eq!(names, ["scrabc12a", "scrabc12b"]);

        // DELETE answers 202 (Azure's LRO); the GET after it is 404: gone.
        Mock::given(method("DELETE"))
            .respond_with(
                ResponseTemplate::new(202)
                    .insert_header("location", "https://management.azure.com/op")
                    .insert_header("retry-after", "0"),
            )
            .expect(2)
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{pools}/scrabc12a")))
            .respond_with(ResponseTemplate::new(404).set_body_string(
                r#"{"error":{"code":"ResourceNotFound","message":"The Resource 'Microsoft.App/sessionPools/scrabc12a' under resource group 'rg1' was not found."}}"#,
            ))
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{pools}/scrabc12b")))
            .respond_with(ResponseTemplate::new(404))
            .mount(&s)
            .await;
        let done = delete_all(&t, found, Duration::from_secs(20)).await;
        assert!(done.iter().all(|d| d.problem.is_none()), "{done:?}");
    }

    #[tokio::test]
    async fn a_refused_delete_is_reported_with_the_answer() {
        let s = MockServer::start().await;
        aad(&s).await;
        Mock::given(method("DELETE"))
            .respond_with(ResponseTemplate::new(403).set_body_string(
                r#"{"error":{"code":"AuthorizationFailed","message":"The client 'app' does not have authorization to perform action 'Microsoft.App/sessionPools/delete'."}}"#,
            ))
            .mount(&s)
            .await;
        let t = azure_target(&s.uri());
        let done = delete_all(
            &t,
            vec![Created {
                id: "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.App/sessionPools/x"
                    .into(),
                api_version: "2026-07-01".into(),
            }],
            Duration::from_secs(5),
        )
        .await;
        let p = done[0].problem.as_deref().unwrap();
        assert!(
            p.contains("403") && p.contains("AuthorizationFailed"),
            "{p}"
        );
    }
}
