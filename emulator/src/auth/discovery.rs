//! OpenID discovery documents, JWKS and MSAL instance discovery, as Azure identity libraries
//! fetch them when the authority host points at the emulator.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::AuthContext;

fn host_of(endpoint: &str) -> String {
    endpoint
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(endpoint)
        .trim_end_matches('/')
        .to_string()
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub async fn openid_configuration<S: AuthContext>(
    State(state): State<S>,
    Path(tenant): Path<String>,
) -> Json<Value> {
    let ep = state.endpoint();
    let tid = crate::defaults::TENANT_ID;
    let _ = tenant;
    Json(json!({
        "token_endpoint": format!("{ep}/{tid}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{ep}/{tid}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": state.tokens().issuer(),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{ep}/oidc/userinfo"),
        "authorization_endpoint": format!("{ep}/{tid}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{ep}/{tid}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{ep}/{tid}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "azp", "ver"],
        "tenant_region_scope": "NA",
        "cloud_instance_name": host_of(ep),
        "cloud_graph_host_name": host_of(ep),
        "msgraph_host": host_of(ep),
        "rbac_url": ep,
    }))
}

/// JWKS: `GET /{tenant}/discovery/v2.0/keys`.
pub async fn jwks<S: AuthContext>(State(state): State<S>) -> Json<Value> {
    Json(json!({ "keys": [state.tokens().key().jwk()] }))
}

/// MSAL instance discovery: `GET /common/discovery/instance`.
pub async fn instance_discovery<S: AuthContext>(State(state): State<S>) -> Json<Value> {
    let ep = state.endpoint();
    let host = host_of(ep);
    Json(json!({
        "tenant_discovery_endpoint": format!("{ep}/{}/v2.0/.well-known/openid-configuration", crate::defaults::TENANT_ID),
        "api-version": "1.1",
        "metadata": [{
            "preferred_network": host,
            "preferred_cache": host,
            "aliases": [host],
        }],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_is_extracted() {
        assert_eq!(host_of("https://127.0.0.1:7443"), "127.0.0.1:7443");
        assert_eq!(host_of("localhost/"), "localhost");
    }
}
