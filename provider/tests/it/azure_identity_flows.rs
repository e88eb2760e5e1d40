//! The wire shape of every credential flow, through the same `AuthSettings::build` the provider
//! uses, against `wiremock` (HTTP flows) or a recording executor (CLI flows):
//!
//! - `azure_identity` flows: their HTTPS requests go through a transport that sends them to
//!   the mock server unchanged except for scheme and host (so the authority host can stay
//!   `https://` as `azure_identity` requires, and IMDS can stay at 169.254.169.254);
//! - our own flows (plain-HTTP authority host, `ARM_MSI_ENDPOINT`): straight to the mock.

use std::ffi::OsStr;
use std::io;
use std::process::Output;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use azure_core::http::{AsyncRawResponse, HttpClient, Request};
use terraform_provider_azuresessions::azure::auth::settings::AuthSettings;
use terraform_provider_azuresessions::azure::auth::{ARM_SCOPE, DATAPLANE_SCOPE};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Sends every request to `to` (scheme, host, port), keeping path, query, headers and body.
#[derive(Debug)]
struct Redirect {
    to: url::Url,
    inner: reqwest::Client,
}

#[async_trait]
impl HttpClient for Redirect {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let mut req = request.clone();
        let url = req.url_mut();
        url.set_scheme(self.to.scheme()).expect("scheme");
        url.set_host(self.to.host_str()).expect("host");
        url.set_port(self.to.port()).expect("port");
        self.inner.execute_request(&req).await
    }
}

fn redirect(server: &MockServer) -> Arc<dyn HttpClient> {
    Arc::new(Redirect {
        to: url::Url::parse(&server.uri()).unwrap(),
        inner: reqwest::Client::new(),
    })
}

fn entra_token(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token
    }))
}

fn settings(server: &MockServer) -> AuthSettings {
    AuthSettings {
        tenant_id: Some("00000000-0000-0000-0000-0000000000aa".into()),
        client_id: Some("client-1".into()),
        authority_host: Some("https://login.example".into()),
        transport: Some(redirect(server)),
        ..Default::default()
    }
}

const TENANT_TOKEN_PATH: &str = "/00000000-0000-0000-0000-0000000000aa/oauth2/v2.0/token";

async fn token(s: &AuthSettings, scope: &str) -> Result<String, String> {
    let src = s.build(reqwest::Client::new()).map_err(|e| e.to_string())?;
    src.token(scope)
        .await
        .map(|t| t.secret)
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn client_secret_wire_shape_and_rejection() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TENANT_TOKEN_PATH))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("client_id=client-1"))
        .and(body_string_contains("client_secret=s%26cret"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains(
            "scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
        ))
        .respond_with(entra_token("secret-tok"))
        .expect(1)
        .mount(&server)
        .await;
    let mut s = settings(&server);
    s.client_secret = Some("s&cret".into());
    assert_eq!(s.flow_name().unwrap(), "client secret");
    assert_eq!(token(&s, ARM_SCOPE).await.unwrap(), "secret-tok");

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.",
            "error_codes": [7000215]
        })))
        .mount(&server)
        .await;
    let mut s = settings(&server);
    s.client_secret = Some("wrong".into());
    let e = token(&s, ARM_SCOPE).await.unwrap_err();
    assert!(
        e.contains("client secret") && e.contains("AADSTS7000215"),
        "{e}"
    );
}

#[tokio::test]
async fn oidc_token_wire_shape() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TENANT_TOKEN_PATH))
        .and(body_string_contains(
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
        ))
        .and(body_string_contains("client_assertion=federated.jwt.token"))
        .and(body_string_contains("client_id=client-1"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(entra_token("oidc-tok"))
        .expect(1)
        .mount(&server)
        .await;
    let mut s = settings(&server);
    s.use_oidc = Some(true);
    s.oidc_token = Some("federated.jwt.token".into());
    assert_eq!(token(&s, ARM_SCOPE).await.unwrap(), "oidc-tok");
}

/// The client assertion of the last token request `server` received, decoded (header, claims).
async fn last_assertion(server: &MockServer) -> (serde_json::Value, serde_json::Value) {
    use base64::Engine as _;
    let reqs = server.received_requests().await.expect("recorded requests");
    let body = String::from_utf8(reqs.last().expect("a token request").body.clone()).unwrap();
    let jwt = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "client_assertion")
        .map(|(_, v)| v.into_owned())
        .expect("client_assertion in the form");
    let part = |i: usize| -> serde_json::Value {
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(i).unwrap())
            .unwrap();
        serde_json::from_slice(&b).unwrap()
    };
    (part(0), part(1))
}

/// azurerm's client certificate (PKCS#12 file + password): a signed assertion naming the
/// certificate by thumbprint, for the token endpoint, through `azure_identity` (HTTPS
/// authority) and through our own request (plain-HTTP authority).
#[tokio::test]
async fn client_certificate_wire_shape() {
    let pfx = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sp.pfx");
    for https in [true, false] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(TENANT_TOKEN_PATH))
            .and(body_string_contains(
                "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
            ))
            .and(body_string_contains("client_id=client-1"))
            .and(body_string_contains("grant_type=client_credentials"))
            .respond_with(entra_token("cert-tok"))
            .expect(1)
            .mount(&server)
            .await;
        let mut s = if https {
            settings(&server)
        } else {
            AuthSettings {
                tenant_id: Some("00000000-0000-0000-0000-0000000000aa".into()),
                client_id: Some("client-1".into()),
                authority_host: Some(server.uri()),
                ..Default::default()
            }
        };
        s.client_certificate_path = Some(pfx.into());
        s.client_certificate_password = Some("test-password".into());
        s.client_secret = None;
        assert_eq!(s.flow_name().unwrap(), "client certificate");
        assert_eq!(
            token(&s, ARM_SCOPE).await.unwrap(),
            "cert-tok",
            "https={https}"
        );
        let (header, claims) = last_assertion(&server).await;
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["x5t"], "-n-IuIbYO02xaqfHo_DeMlOkFZ4");
        let authority = if https {
            "https://login.example".to_string()
        } else {
            server.uri()
        };
        assert_eq!(
            claims["aud"],
            format!("{authority}{TENANT_TOKEN_PATH}"),
            "https={https}"
        );
        assert_eq!(claims["iss"], "client-1");
        assert_eq!(claims["sub"], "client-1");
    }
    // A wrong password is an error naming the setting, before any request.
    let server = MockServer::start().await;
    let mut s = settings(&server);
    s.client_certificate_path = Some(pfx.into());
    s.client_certificate_password = Some("wrong".into());
    let e = token(&s, ARM_SCOPE).await.unwrap_err();
    assert!(e.contains("client_certificate_password"), "{e}");
}

#[tokio::test]
async fn workload_identity_token_file_wire_shape() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TENANT_TOKEN_PATH))
        .and(body_string_contains("client_assertion=from-the-file"))
        .and(body_string_contains(
            "scope=https%3A%2F%2Fdynamicsessions.io%2F.default",
        ))
        .respond_with(entra_token("wi-tok"))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "from-the-file").unwrap();
    let mut s = settings(&server);
    s.use_aks_workload_identity = Some(true);
    s.oidc_token_file = Some(file);
    assert_eq!(token(&s, DATAPLANE_SCOPE).await.unwrap(), "wi-tok");
}

/// GitHub Actions: the federated token is requested from the job's OIDC endpoint (our
/// request), then exchanged by `azure_identity`.
#[tokio::test]
async fn oidc_request_github_actions_wire_shape() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/_apis/idtoken"))
        .and(query_param("api-version", "2.0"))
        .and(query_param("audience", "api://AzureADTokenExchange"))
        .and(header("authorization", "Bearer gh-request-token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"count": 1, "value": "gh.federated.jwt"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TENANT_TOKEN_PATH))
        .and(body_string_contains("client_assertion=gh.federated.jwt"))
        .respond_with(entra_token("gh-tok"))
        .expect(1)
        .mount(&server)
        .await;
    let mut s = settings(&server);
    s.use_oidc = Some(true);
    s.oidc_request_url = Some(format!("{}/_apis/idtoken?api-version=2.0", server.uri()));
    s.oidc_request_token = Some("gh-request-token".into());
    assert_eq!(s.flow_name().unwrap(), "OIDC");
    assert_eq!(token(&s, ARM_SCOPE).await.unwrap(), "gh-tok");
}

/// Azure Pipelines: `azure_identity`'s pipelines credential (its OIDC endpoint comes from
/// `SYSTEM_OIDCREQUESTURI`, which the pipeline sets).
#[tokio::test]
async fn azure_pipelines_wire_shape() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oidc/request"))
        .and(query_param("api-version", "7.1"))
        .and(query_param("serviceConnectionId", "service-connection-1"))
        .and(header("authorization", "Bearer system-access-token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"oidcToken": "ado.federated.jwt"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TENANT_TOKEN_PATH))
        .and(body_string_contains("client_assertion=ado.federated.jwt"))
        .respond_with(entra_token("ado-tok"))
        .expect(1)
        .mount(&server)
        .await;
    let result = {
        let _g = ENV.lock().await;
        std::env::set_var(
            "SYSTEM_OIDCREQUESTURI",
            "https://dev.azure.example/oidc/request",
        );
        let mut s = settings(&server);
        s.use_oidc = Some(true);
        s.ado_service_connection_id = Some("service-connection-1".into());
        s.oidc_request_token = Some("system-access-token".into());
        let t = token(&s, ARM_SCOPE).await;
        std::env::remove_var("SYSTEM_OIDCREQUESTURI");
        t
    };
    assert_eq!(result.unwrap(), "ado-tok");
}

/// Managed identity reads its endpoint from the process environment (as `azure_identity`
/// does): the tests that change it take turns.
static ENV: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn msi_token(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "access_token": token, "expires_on": "1893456000", "resource": "https://management.azure.com",
        "token_type": "Bearer"
    }))
}

#[tokio::test]
async fn managed_identity_imds_wire_shape() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/metadata/identity/oauth2/token"))
        .and(header("metadata", "true"))
        .and(query_param("api-version", "2019-08-01"))
        .and(query_param("resource", "https://management.azure.com"))
        .and(query_param("client_id", "client-1"))
        .respond_with(msi_token("imds-tok"))
        .expect(1)
        .mount(&server)
        .await;
    let token_result = {
        let _g = ENV.lock().await;
        for k in [
            "IDENTITY_ENDPOINT",
            "IDENTITY_HEADER",
            "MSI_ENDPOINT",
            "MSI_SECRET",
        ] {
            std::env::remove_var(k);
        }
        let mut s = settings(&server);
        s.use_msi = Some(true);
        s.build(reqwest::Client::new()).unwrap()
    };
    assert_eq!(
        token_result.token(ARM_SCOPE).await.unwrap().secret,
        "imds-tok"
    );
}

#[tokio::test]
async fn managed_identity_app_service_wire_shape() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/msi/token"))
        .and(header("x-identity-header", "the-identity-header"))
        .and(query_param("api-version", "2019-08-01"))
        .and(query_param("resource", "https://management.azure.com"))
        .and(query_param("client_id", "client-1"))
        .respond_with(msi_token("appservice-tok"))
        .expect(1)
        .mount(&server)
        .await;
    let src = {
        let _g = ENV.lock().await;
        std::env::set_var("IDENTITY_ENDPOINT", format!("{}/msi/token", server.uri()));
        std::env::set_var("IDENTITY_HEADER", "the-identity-header");
        let mut s = settings(&server);
        s.use_msi = Some(true);
        let src = s.build(reqwest::Client::new()).unwrap();
        let t = src.token(ARM_SCOPE).await;
        std::env::remove_var("IDENTITY_ENDPOINT");
        std::env::remove_var("IDENTITY_HEADER");
        t
    };
    assert_eq!(src.unwrap().secret, "appservice-tok");
}

/// `ARM_MSI_ENDPOINT`: our own request, IMDS protocol at that endpoint.
#[tokio::test]
async fn managed_identity_custom_endpoint_wire_shape() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/custom/token"))
        .and(header("Metadata", "true"))
        .and(query_param("api-version", "2018-02-01"))
        .and(query_param("resource", "https://management.azure.com/"))
        .and(query_param("client_id", "client-1"))
        .respond_with(msi_token("custom-tok"))
        .expect(1)
        .mount(&server)
        .await;
    let s = AuthSettings {
        client_id: Some("client-1".into()),
        use_msi: Some(true),
        msi_endpoint: Some(format!("{}/custom/token", server.uri())),
        ..Default::default()
    };
    assert_eq!(token(&s, ARM_SCOPE).await.unwrap(), "custom-tok");
}

/// A plain-HTTP authority host (the emulator's `--http` mode): our own client-credentials
/// request, same wire shape.
#[tokio::test]
async fn plain_http_authority_wire_shape() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TENANT_TOKEN_PATH))
        .and(body_string_contains("client_secret=s3cret"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(entra_token("http-tok"))
        .expect(1)
        .mount(&server)
        .await;
    let s = AuthSettings {
        tenant_id: Some("00000000-0000-0000-0000-0000000000aa".into()),
        client_id: Some("client-1".into()),
        client_secret: Some("s3cret".into()),
        authority_host: Some(server.uri()),
        ..Default::default()
    };
    assert_eq!(token(&s, ARM_SCOPE).await.unwrap(), "http-tok");
}

/// Runs nothing: records the command and answers with canned output.
#[derive(Debug)]
struct Recorder {
    commands: Mutex<Vec<Vec<String>>>,
    stdout: String,
    stderr: String,
    code: i32,
}

impl Recorder {
    fn new(stdout: &str, stderr: &str, code: i32) -> Arc<Recorder> {
        Arc::new(Recorder {
            commands: Mutex::new(Vec::new()),
            stdout: stdout.into(),
            stderr: stderr.into(),
            code,
        })
    }

    fn last(&self) -> Vec<String> {
        self.commands
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or_default()
    }
}

#[async_trait]
impl azure_identity::Executor for Recorder {
    async fn run(&self, program: &OsStr, args: &[&OsStr]) -> io::Result<Output> {
        use std::os::unix::process::ExitStatusExt;
        let mut cmd = vec![program.to_string_lossy().to_string()];
        cmd.extend(args.iter().map(|a| a.to_string_lossy().to_string()));
        self.commands.lock().unwrap().push(cmd);
        Ok(Output {
            status: std::process::ExitStatus::from_raw(self.code << 8),
            stdout: self.stdout.clone().into_bytes(),
            stderr: self.stderr.clone().into_bytes(),
        })
    }
}

#[tokio::test]
async fn azure_cli_command_shape_and_failure() {
    let rec = Recorder::new(
        r#"{"accessToken":"cli-tok","expiresOn":"2030-01-01 00:00:00.000000","expires_on":1893456000,"tokenType":"Bearer"}"#,
        "",
        0,
    );
    let s = AuthSettings {
        tenant_id: Some("00000000-0000-0000-0000-0000000000aa".into()),
        executor: Some(rec.clone()),
        ..Default::default()
    };
    assert_eq!(s.flow_name().unwrap(), "Azure CLI");
    assert_eq!(token(&s, ARM_SCOPE).await.unwrap(), "cli-tok");
    let cmd = rec.last();
    assert_eq!(cmd[0], "/bin/sh", "{cmd:?}");
    assert_eq!(
        cmd.last().unwrap(),
        "cd /bin && az account get-access-token -o json --scope https://management.azure.com/.default --tenant 00000000-0000-0000-0000-0000000000aa"
    );

    let failing = Recorder::new("", "ERROR: Please run 'az login' to setup account.", 1);
    let s = AuthSettings {
        executor: Some(failing),
        ..Default::default()
    };
    let e = token(&s, ARM_SCOPE).await.unwrap_err();
    assert!(e.contains("Azure CLI") && e.contains("az login"), "{e}");
}

#[tokio::test]
async fn azure_developer_cli_command_shape() {
    let rec = Recorder::new(
        r#"{"token":"azd-tok","expiresOn":"2030-01-01T00:00:00Z"}"#,
        "",
        0,
    );
    let s = AuthSettings {
        use_azd: Some(true),
        executor: Some(rec.clone()),
        ..Default::default()
    };
    assert_eq!(s.flow_name().unwrap(), "Azure Developer CLI");
    assert_eq!(token(&s, DATAPLANE_SCOPE).await.unwrap(), "azd-tok");
    assert_eq!(
        rec.last().last().unwrap(),
        "cd /bin && azd auth token -o json --no-prompt --scope https://dynamicsessions.io/.default"
    );
}
