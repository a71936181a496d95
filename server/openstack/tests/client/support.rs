//! A fake OpenStack on 127.0.0.1:0 that answers Keystone with the published project-scoped
//! token (its catalog rewritten to point here) and serves canned bodies at the real API paths.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tidings_openstack::{Client, ClientConfig};

/// The project the published token is scoped to (the home project).
pub const ADMIN_PROJECT: &str = "a6944d763bf64ee6a275f1263fae0352";
/// Where Keystone lives on the fake cloud.
pub const AUTH_PATH: &str = "/identity/v3/auth/tokens";

/// The text of a fixture under `tests/fixtures/openstack/`.
pub fn fixture(path: &str) -> String {
    let full = format!(
        "{}/../../tests/fixtures/openstack/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {full}: {e}"))
}

/// One canned answer.
#[derive(Clone)]
pub struct Reply {
    status: StatusCode,
    body: String,
    hang: bool,
}

impl Reply {
    /// 200 with a body.
    pub fn ok(body: impl Into<String>) -> Self {
        Self::status(200, body)
    }

    /// 200 with a fixture's body.
    pub fn fixture(path: &str) -> Self {
        Self::ok(fixture(path))
    }

    /// Any status with a body.
    pub fn status(status: u16, body: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap(),
            body: body.into(),
            hang: false,
        }
    }

    /// Never answers.
    pub fn hang() -> Self {
        Self {
            hang: true,
            ..Self::status(200, "")
        }
    }
}

/// A request the fake cloud received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub token: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

impl Recorded {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Shared {
    base: String,
    routes: Mutex<HashMap<(Method, String), VecDeque<Reply>>>,
    log: Mutex<Vec<Recorded>>,
    tokens_issued: AtomicUsize,
}

/// The running fake cloud.
pub struct FakeCloud {
    /// `http://127.0.0.1:port`.
    pub base: String,
    shared: Arc<Shared>,
}

impl FakeCloud {
    /// Binds port 0 and serves until the test ends.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            base: base.clone(),
            ..Shared::default()
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, shared }
    }

    /// Queues an answer for `method path`; the last queued answer repeats.
    pub fn on(&self, method: Method, path: &str, reply: Reply) -> &Self {
        self.shared
            .routes
            .lock()
            .unwrap()
            .entry((method, path.to_owned()))
            .or_default()
            .push_back(reply);
        self
    }

    /// Queues a 200 with a fixture body for `GET path`.
    pub fn get(&self, path: &str, fixture_path: &str) -> &Self {
        self.on(Method::GET, path, Reply::fixture(fixture_path))
    }

    /// Requests received, Keystone's token requests excluded.
    pub fn requests(&self) -> Vec<Recorded> {
        let log = self.shared.log.lock().unwrap();
        log.iter()
            .filter(|r| r.path != AUTH_PATH)
            .cloned()
            .collect()
    }

    /// Keystone token requests received.
    pub fn auth_requests(&self) -> Vec<Recorded> {
        let log = self.shared.log.lock().unwrap();
        log.iter()
            .filter(|r| r.path == AUTH_PATH)
            .cloned()
            .collect()
    }

    /// The configuration of a client of this cloud, with short time-outs for tests.
    pub fn config(&self) -> ClientConfig {
        let mut config = ClientConfig::new(
            format!("{}/identity/v3", self.base),
            "admin",
            "s3cret",
            "admin",
        );
        config.timeout = Duration::from_secs(2);
        config.retry_backoff = Duration::from_millis(10);
        config
    }

    /// A client of this cloud.
    pub fn client(&self) -> Client {
        Client::new(self.config()).unwrap()
    }
}

/// Path of a Nova resource in the home project's endpoint.
pub fn nova(rest: &str) -> String {
    format!("/compute/v2.1/{ADMIN_PROJECT}{rest}")
}

/// Path of a Cinder resource in the home project's endpoint.
pub fn cinder(rest: &str) -> String {
    format!("/volume/v3/{ADMIN_PROJECT}{rest}")
}

/// Path of a Glance resource.
pub fn glance(rest: &str) -> String {
    format!("/image{rest}")
}

/// Path of a Neutron resource.
pub fn neutron(rest: &str) -> String {
    format!("/network{rest}")
}

/// The published admin token with its catalog pointed at `base`: compute, image and network
/// endpoints are moved under `/compute`, `/image` and `/network`, and the `volumev2` entry is
/// turned into a `volumev3` one under `/volume/v3/{project}`.
pub fn token_body(base: &str, project_id: Option<&str>) -> String {
    let body = fixture("keystone/admin/auth-password-project-scoped-response.json")
        .replace("http://23.253.248.171:8774", &format!("{base}/compute"))
        .replace(
            "http://23.253.248.171:8776/v2/",
            &format!("{base}/volume/v3/"),
        )
        .replace("\"volumev2\"", "\"volumev3\"")
        .replace("http://23.253.248.171:9292", &format!("{base}/image"))
        .replace("http://23.253.248.171:9696", &format!("{base}/network"))
        .replace("http://example.com/identity", &format!("{base}/identity"));
    match project_id {
        Some(id) => body.replace(ADMIN_PROJECT, id),
        None => body,
    }
}

fn reply_for(shared: &Shared, method: &Method, path: &str) -> Option<Reply> {
    let mut routes = shared.routes.lock().unwrap();
    let queue = routes.get_mut(&(method.clone(), path.to_owned()))?;
    if queue.len() > 1 {
        queue.pop_front()
    } else {
        queue.front().cloned()
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let recorded = Recorded {
        method: method.clone(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        token: header("x-auth-token"),
        content_type: header("content-type"),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    shared.log.lock().unwrap().push(recorded.clone());
    if method == Method::POST && uri.path() == AUTH_PATH {
        return issue_token(&shared, &recorded);
    }
    let Some(reply) = reply_for(&shared, &method, uri.path()) else {
        let body =
            r#"{"itemNotFound": {"code": 404, "message": "The resource could not be found."}}"#;
        return (StatusCode::NOT_FOUND, body).into_response();
    };
    if reply.hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    let headers = [("content-type", "application/json")];
    (reply.status, headers, reply.body).into_response()
}

/// Keystone: a canned answer when one is queued, else the published token for the requested
/// scope; the token id goes in `X-Subject-Token` as Keystone does.
fn issue_token(shared: &Shared, request: &Recorded) -> Response {
    let n = shared.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
    let reply = reply_for(shared, &Method::POST, AUTH_PATH).unwrap_or_else(|| {
        let scope = request.json()["auth"]["scope"]["project"]["id"]
            .as_str()
            .map(str::to_owned);
        Reply::status(201, token_body(&shared.base, scope.as_deref()))
    });
    let token = format!("token-{n}");
    let headers = [
        ("content-type", "application/json".to_owned()),
        ("x-subject-token", token),
    ];
    (reply.status, headers, reply.body).into_response()
}

/// A bare HTTP server whose first connection is dropped after the request is read; later
/// connections get `body` with a 200. Returns its address and a connection counter.
pub async fn flaky_server(body: &'static str) -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let mut buffer = vec![0u8; 8192];
            let mut read = 0;
            while !buffer[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buffer[read..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => read += k,
                }
            }
            if n == 0 {
                drop(socket);
                continue;
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    (address, connections)
}
