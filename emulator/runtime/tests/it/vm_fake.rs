//! The fake backend behaves like the sample session image: echo, health toggles, logs, exit,
//! stop and kill, and the test knobs.

use std::path::PathBuf;
use std::time::Duration;

use sessions_runtime::image::{ImageConfig, PreparedImage};
use sessions_runtime::vm::fake::{FakeBackend, FakeOptions};
use sessions_runtime::vm::{Backend, ContainerSpec, ExitStatus, LogStream, Session, SessionSpec};

const WAIT: Duration = Duration::from_secs(10);

fn spec(id: &str, env: &[(&str, &str)]) -> SessionSpec {
    SessionSpec {
        session_id: id.into(),
        image: PreparedImage {
            reference: "localhost/sample-session:latest".into(),
            digest: "sha256:fake".into(),
            rootfs: PathBuf::from("/nonexistent"),
            rootfs_bytes: 0,
            config: ImageConfig::default(),
        },
        container: ContainerSpec {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..ContainerSpec::default()
        },
        main_name: "main".into(),
        sidecars: Vec::new(),
        identity: None,
    }
}

async fn started(options: FakeOptions, env: &[(&str, &str)]) -> Session {
    let session = FakeBackend::new(options)
        .start(spec("s-1", env))
        .await
        .expect("start");
    session.wait_running(WAIT).await.expect("running");
    session
}

fn url(session: &Session, path: &str) -> String {
    format!("http://{}{path}", session.addr)
}

#[tokio::test]
async fn echo_reports_request_and_identity() {
    let a = started(FakeOptions::default(), &[]).await;
    let b = FakeBackend::default()
        .start(spec("s-2", &[]))
        .await
        .expect("start");
    b.wait_running(WAIT).await.expect("running");
    let client = reqwest::Client::new();
    let got: serde_json::Value = client
        .get(url(&a, "/some/path?identifier=u1"))
        .header("x-test", "yes")
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(got["method"], "GET");
    assert_eq!(got["path"], "/some/path");
    assert_eq!(got["query"]["identifier"], "u1");
    assert_eq!(got["headers"]["x-test"], "yes");
    assert_eq!(got["kernel"], "fake");
    assert_eq!(got["hostname"], "s-1");
    let other: serde_json::Value = client
        .get(url(&b, "/"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_ne!(got["random"], other["random"]);
}

#[tokio::test]
async fn health_toggles() {
    let s = started(FakeOptions::default(), &[]).await;
    let client = reqwest::Client::new();
    let status = |path: &'static str| {
        let client = client.clone();
        let u = url(&s, path);
        async move {
            client
                .get(u)
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };
    assert_eq!(status("/health").await, 200);
    client
        .post(url(&s, "/unhealthy"))
        .send()
        .await
        .expect("request");
    assert_eq!(status("/health").await, 503);
    assert_eq!(status("/ready").await, 503);
    client
        .post(url(&s, "/healthy"))
        .send()
        .await
        .expect("request");
    assert_eq!(status("/ready").await, 200);
}

#[tokio::test]
async fn logs_arrive_per_stream() {
    let mut s = started(FakeOptions::default(), &[]).await;
    let mut logs = s.logs.take().expect("log receiver");
    let client = reqwest::Client::new();
    client
        .post(url(&s, "/log?stream=stdout&line=hello"))
        .send()
        .await
        .expect("request");
    client
        .post(url(&s, "/log?stream=stderr&line=oops"))
        .send()
        .await
        .expect("request");
    let bad = client
        .post(url(&s, "/log?stream=nope&line=x"))
        .send()
        .await
        .expect("request");
    assert_eq!(bad.status().as_u16(), 400);
    let first = tokio::time::timeout(WAIT, logs.recv())
        .await
        .expect("in time")
        .expect("line");
    let second = tokio::time::timeout(WAIT, logs.recv())
        .await
        .expect("in time")
        .expect("line");
    assert_eq!(
        (first.stream, first.line.as_str()),
        (LogStream::Stdout, "hello")
    );
    assert_eq!(
        (second.stream, second.line.as_str()),
        (LogStream::Stderr, "oops")
    );
}

#[tokio::test]
async fn exit_code_is_reported_after_the_answer() {
    let s = started(FakeOptions::default(), &[]).await;
    let response = reqwest::Client::new()
        .post(url(&s, "/exit?code=7"))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status().as_u16(), 200);
    let status = tokio::time::timeout(WAIT, s.wait_exit())
        .await
        .expect("in time");
    assert_eq!(status, ExitStatus::Code { code: 7 });
    assert!(
        reqwest::get(url(&s, "/")).await.is_err(),
        "port must be closed after exit"
    );
}

#[tokio::test]
async fn stop_and_kill() {
    let s = started(FakeOptions::default(), &[]).await;
    assert_eq!(
        s.control.stop(Duration::from_secs(1)).await,
        ExitStatus::Signal { signal: 15 }
    );
    let k = started(FakeOptions::default(), &[]).await;
    assert_eq!(k.control.kill().await, ExitStatus::Killed);
    assert_eq!(k.control.kill().await, ExitStatus::Killed, "idempotent");
}

#[tokio::test]
async fn knobs_from_env() {
    let s = started(FakeOptions::default(), &[("SESSIONS_FAKE_UNHEALTHY", "1")]).await;
    let got = reqwest::get(url(&s, "/health")).await.expect("request");
    assert_eq!(got.status().as_u16(), 503);

    let s = started(
        FakeOptions::default(),
        &[("SESSIONS_FAKE_EXIT_AFTER_REQUESTS", "2")],
    )
    .await;
    reqwest::get(url(&s, "/")).await.expect("first");
    reqwest::get(url(&s, "/")).await.expect("second");
    let status = tokio::time::timeout(WAIT, s.wait_exit())
        .await
        .expect("in time");
    assert_eq!(status, ExitStatus::Code { code: 0 });

    let options = FakeOptions {
        never_ready: true,
        ..FakeOptions::default()
    };
    let s = started(options, &[]).await;
    client_post(&s, "/healthy").await;
    assert_eq!(
        reqwest::get(url(&s, "/ready"))
            .await
            .expect("request")
            .status()
            .as_u16(),
        503
    );

    let err = FakeBackend::default()
        .start(spec("x", &[("SESSIONS_FAKE_FAIL_START", "1")]))
        .await;
    assert!(err.is_err());
}

#[tokio::test]
async fn ready_delay_holds_running_state() {
    let backend = FakeBackend::new(FakeOptions::default());
    let s = backend
        .start(spec("d", &[("SESSIONS_FAKE_READY_DELAY_MS", "100")]))
        .await
        .expect("start");
    assert_eq!(*s.state.borrow(), sessions_runtime::vm::RunState::Starting);
    s.wait_running(WAIT).await.expect("running after the delay");
}

async fn client_post(s: &Session, path: &str) {
    reqwest::Client::new()
        .post(url(s, path))
        .send()
        .await
        .expect("request");
}

#[tokio::test]
async fn extra_ports_reach_the_same_container() {
    let mut s = spec("s-ports", &[]);
    s.container.extra_ports = vec![9090, 8080, 9090];
    let session = FakeBackend::default().start(s).await.expect("start");
    session.wait_running(WAIT).await.expect("running");
    assert_eq!(session.addr_for(8080), Some(session.addr));
    let other = session.addr_for(9090).expect("port 9090 is forwarded");
    assert_ne!(other, session.addr);
    assert_eq!(session.ports.len(), 2, "{:?}", session.ports);
    assert_eq!(session.addr_for(1234), None);
    let client = reqwest::Client::new();
    let get = |addr: std::net::SocketAddr| {
        let client = client.clone();
        async move {
            client
                .get(format!("http://{addr}/"))
                .send()
                .await
                .expect("request")
                .json::<serde_json::Value>()
                .await
                .expect("json")
        }
    };
    let (a, b) = (get(session.addr).await, get(other).await);
    assert_eq!(a["random"], b["random"], "one container behind both ports");
    session.control.kill().await;
    assert!(
        reqwest::get(format!("http://{other}/")).await.is_err(),
        "the extra port closes with the session"
    );
}
