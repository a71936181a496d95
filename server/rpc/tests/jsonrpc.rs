//! JSON-RPC 2.0 through jsonrpsee, checked with jsonrpsee's own clients (HTTP and WebSocket)
//! and raw HTTP for the envelopes a client library would hide, over a small domain-free
//! registry.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use jsonrpsee::client_transport::ws::WsTransportClientBuilder;
use jsonrpsee::core::client::{
    ClientT, ReceivedMessage, Subscription, SubscriptionClientT, TransportReceiverT,
    TransportSenderT,
};
use jsonrpsee::core::params::{BatchRequestBuilder, ObjectParams};
use jsonrpsee::core::{ClientError, client::Error};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use serde::Deserialize;
use serde_json::{Value, json};
use specta::Type;
use tidings_rpc::{
    Ctx, Event, EventStream, JsonRpcConfig, Notice, Registry, RpcError, jsonrpc_router,
};
use tidings_rpc_test_support::fixtures::{Created, crash, get_all, get_by_id};
use tidings_rpc_test_support::{client, counted_in, parse_json, serve, wait_for};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_util::sync::CancellationToken;

#[derive(Deserialize, Type)]
#[serde(rename_all = "camelCase")]
struct WatchInput {
    #[serde(default)]
    #[specta(optional)]
    prefix: Option<String>,
}

#[derive(Clone)]
struct State {
    created: Arc<AtomicU64>,
    /// Open `things.watch` streams.
    watching: Arc<AtomicUsize>,
    notices: broadcast::Sender<Arc<Notice>>,
}

impl State {
    fn new() -> Self {
        Self {
            created: Arc::default(),
            watching: Arc::default(),
            notices: broadcast::channel(16).0,
        }
    }
}

fn registry() -> Registry<State> {
    let mut r = Registry::new();
    r.query("things.getAll", get_all);
    r.query("things.getById", get_by_id);
    r.query("things.big", |_: Ctx<State>, _: ()| async {
        Ok("x".repeat(100_000))
    });
    r.query("things.client", |ctx: Ctx<State>, _: ()| async move {
        let agent = ctx.meta.headers.get("x-client");
        Ok(agent.and_then(|v| v.to_str().ok()).map(str::to_owned))
    });
    r.mutation(
        "things.create",
        |ctx: Ctx<State>, input: Created| async move {
            let id = ctx.state.created.fetch_add(1, Ordering::SeqCst) + 1;
            let notice =
                Notice::new(Some(id.to_string().into()), &input).map_err(RpcError::internal)?;
            let _ = ctx.state.notices.send(Arc::new(notice));
            Ok(input)
        },
    );
    r.query("debug.crash", crash);
    r.subscription::<Option<WatchInput>, Created, _, _>("things.watch", watch);
    r
}

async fn watch(ctx: Ctx<State>, input: Option<WatchInput>) -> Result<EventStream, RpcError> {
    if input.as_ref().and_then(|i| i.prefix.as_deref()) == Some("forbidden") {
        return Err(RpcError::new(
            tidings_rpc::ErrorCode::Forbidden,
            "not yours",
        ));
    }
    let notices = BroadcastStream::new(ctx.state.notices.subscribe())
        .filter_map(|n| std::future::ready(n.ok().map(Event::Notice)));
    Ok(counted_in(&ctx.state.watching, notices))
}

struct Server {
    addr: SocketAddr,
    state: State,
    shutdown: CancellationToken,
}

impl Server {
    async fn spawn() -> Self {
        let state = State::new();
        let shutdown = CancellationToken::new();
        let config = JsonRpcConfig {
            max_request_body_bytes: 4096,
            max_response_body_bytes: 64 * 1024,
            max_subscriptions_per_connection: 2,
            max_batch_size: 4,
            shutdown: shutdown.clone(),
            ..JsonRpcConfig::default()
        };
        let router = jsonrpc_router(Arc::new(registry()), state.clone(), config);
        Self {
            addr: serve(router).await,
            state,
            shutdown,
        }
    }

    fn http(&self) -> HttpClient {
        HttpClientBuilder::default()
            .build(format!("http://{}/rpc", self.addr))
            .unwrap()
    }

    async fn ws(&self) -> WsClient {
        WsClientBuilder::default()
            .build(format!("ws://{}/rpc", self.addr))
            .await
            .unwrap()
    }

    /// POSTs raw JSON text; returns the status and the body exactly as sent.
    async fn post_text(&self, body: impl Into<String>) -> (u16, String) {
        let url = format!("http://{}/rpc", self.addr);
        let request = client::post_json(&reqwest::Client::new(), &url, body.into());
        client::send(request).await
    }

    /// POSTs raw JSON text; returns the status and the body (`Null` when empty).
    async fn post(&self, body: impl Into<String>) -> (u16, Value) {
        let (status, text) = self.post_text(body).await;
        let body = if text.is_empty() {
            Value::Null
        } else {
            parse_json(&text)
        };
        (status, body)
    }

    async fn wait_watching(&self, wanted: usize) {
        wait_for("watching", wanted, || {
            self.state.watching.load(Ordering::SeqCst)
        })
        .await;
    }
}

fn call_error(error: ClientError) -> (i32, String, Value) {
    match error {
        Error::Call(e) => (
            e.code(),
            e.message().to_owned(),
            e.data()
                .map(|d| serde_json::from_str(d.get()).unwrap())
                .unwrap_or(Value::Null),
        ),
        other => panic!("not a call error: {other:?}"),
    }
}

#[tokio::test]
async fn http_calls_take_input_by_name_by_position_or_none() {
    let server = Server::spawn().await;
    let client = server.http();
    let all: Vec<String> = client
        .request("things.getAll", rpc_params![])
        .await
        .unwrap();
    assert_eq!(all, ["a", "b"]);
    let mut by_name = ObjectParams::new();
    by_name.insert("id", "a").unwrap();
    let one: Value = client.request("things.getById", by_name).await.unwrap();
    assert_eq!(one, json!({ "id": "a" }));
    let one: Value = client
        .request("things.getById", rpc_params![json!({ "id": "b" })])
        .await
        .unwrap();
    assert_eq!(one, json!({ "id": "b" }));
    let created: Value = client
        .request("things.create", rpc_params![json!({ "name": "n" })])
        .await
        .unwrap();
    assert_eq!(created, json!({ "name": "n" }));
    assert_eq!(server.state.created.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn handlers_see_the_request_headers() {
    let server = Server::spawn().await;
    let mut headers = http::HeaderMap::new();
    headers.insert("x-client", "tests".parse().unwrap());
    let client = HttpClientBuilder::default()
        .set_headers(headers)
        .build(format!("http://{}/rpc", server.addr))
        .unwrap();
    let agent: Option<String> = client
        .request("things.client", rpc_params![])
        .await
        .unwrap();
    assert_eq!(agent.as_deref(), Some("tests"));
}

#[tokio::test]
async fn batch_answers_each_call() {
    let server = Server::spawn().await;
    let mut batch = BatchRequestBuilder::new();
    batch.insert("things.getAll", rpc_params![]).unwrap();
    batch
        .insert("things.getById", rpc_params![json!({ "id": "nope" })])
        .unwrap();
    batch
        .insert("things.getById", rpc_params![json!({ "id": "z" })])
        .unwrap();
    let answers = server.http().batch_request::<Value>(batch).await.unwrap();
    assert_eq!(answers.num_successful_calls(), 2);
    let answers: Vec<_> = answers.into_iter().collect();
    assert_eq!(answers[0].as_ref().unwrap(), &json!(["a", "b"]));
    assert_eq!(answers[1].as_ref().unwrap_err().code(), -32004);
    assert_eq!(answers[2].as_ref().unwrap(), &json!({ "id": "z" }));
}

#[tokio::test]
async fn standard_error_codes() {
    let server = Server::spawn().await;
    let (_, body) = server.post("{bad").await;
    assert_eq!(body["error"]["code"], -32700, "{body}");
    let (_, body) = server.post(r#"{"jsonrpc":"2.0","id":1}"#).await;
    assert_eq!(body["error"]["code"], -32600, "{body}");
    let (_, body) = server.post("[]").await;
    assert_eq!(body["error"]["code"], -32600, "{body}");
    let (_, body) = server
        .post(r#"{"jsonrpc":"2.0","id":1,"method":"things.nope"}"#)
        .await;
    assert_eq!(body["error"]["code"], -32601, "{body}");
    assert_eq!(body["id"], 1);

    let client = server.http();
    let error = client
        .request::<Value, _>("things.getById", rpc_params![json!({ "id": 7 })])
        .await
        .unwrap_err();
    let (code, message, data) = call_error(error);
    assert_eq!(code, -32602);
    assert!(message.contains("\"id\""), "{message}");
    assert_eq!(data["code"], "BAD_REQUEST");
    let error = client
        .request::<Value, _>("things.getById", rpc_params![])
        .await
        .unwrap_err();
    assert_eq!(call_error(error).0, -32602);
    let error = client
        .request::<Value, _>("things.getById", rpc_params![1, 2])
        .await
        .unwrap_err();
    assert_eq!(call_error(error).0, -32602);
    let error = client
        .request::<Value, _>("debug.crash", rpc_params![])
        .await
        .unwrap_err();
    let (code, message, data) = call_error(error);
    assert_eq!(code, -32603);
    assert!(!message.contains("secret"), "{message}");
    assert_eq!(
        data,
        json!({ "code": "INTERNAL_SERVER_ERROR", "httpStatus": 500, "path": "debug.crash" })
    );
}

#[tokio::test]
async fn application_errors_follow_the_error_table() {
    let server = Server::spawn().await;
    let error = server
        .http()
        .request::<Value, _>("things.getById", rpc_params![json!({ "id": "nope" })])
        .await
        .unwrap_err();
    let (code, message, data) = call_error(error);
    assert_eq!(code, -32004);
    assert_eq!(message, "Thing nope not found");
    assert_eq!(
        data,
        json!({ "code": "NOT_FOUND", "httpStatus": 404, "path": "things.getById" })
    );
}

#[tokio::test]
async fn notifications_run_without_a_reply() {
    let server = Server::spawn().await;
    // JSON-RPC 2.0: nothing is returned for a notification, nor for a batch of only
    // notifications; over HTTP that is 204 No Content with an empty body.
    let answer = server
        .post_text(r#"{"jsonrpc":"2.0","method":"things.create","params":{"name":"n"}}"#)
        .await;
    assert_eq!(answer, (204, String::new()));
    assert_eq!(server.state.created.load(Ordering::SeqCst), 1);
    let answer = server
        .post_text(
            r#"[{"jsonrpc":"2.0","method":"things.create","params":{"name":"k"}},
                {"jsonrpc":"2.0","method":"things.create","params":[{"name":"l"}]}]"#,
        )
        .await;
    assert_eq!(answer, (204, String::new()));
    assert_eq!(server.state.created.load(Ordering::SeqCst), 3);
    let (_, body) = server
        .post(
            r#"[{"jsonrpc":"2.0","method":"things.create","params":[{"name":"m"}]},
                {"jsonrpc":"2.0","id":"q","method":"things.getAll"}]"#,
        )
        .await;
    assert_eq!(
        body,
        json!([{ "jsonrpc": "2.0", "id": "q", "result": ["a", "b"] }])
    );
    assert_eq!(server.state.created.load(Ordering::SeqCst), 4);
    server
        .http()
        .notification("things.create", rpc_params![json!({ "name": "o" })])
        .await
        .unwrap();
    assert_eq!(server.state.created.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn a_call_whose_id_jsonrpsee_cannot_hold_is_refused_not_run_unanswered() {
    let server = Server::spawn().await;
    for id in ["-1", "1.5", "true", "[1]", "18446744073709551616"] {
        let (status, body) = server
            .post(format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"things.create","params":{{"name":"n"}}}}"#
            ))
            .await;
        assert_eq!(status, 400, "{id}: {body}");
        assert_eq!(body["error"]["code"], -32600, "{id}: {body}");
        assert_eq!(body["id"], Value::Null);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid request id"),
            "{body}"
        );
    }
    assert_eq!(
        server.state.created.load(Ordering::SeqCst),
        0,
        "nothing ran"
    );
}

#[tokio::test]
async fn size_and_batch_limits() {
    let server = Server::spawn().await;
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"things.create","params":{{"name":"{}"}}}}"#,
        "x".repeat(5000)
    );
    let (status, body) = server.post(big).await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (413, Some(-32007))
    );
    let (_, body) = server
        .post(r#"{"jsonrpc":"2.0","id":2,"method":"things.big"}"#)
        .await;
    assert_eq!(body["error"]["code"], -32008, "{body}");
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"things.getAll"}"#;
    let (_, body) = server.post(format!("[{}]", [call; 5].join(","))).await;
    assert_eq!(body["error"]["code"], -32010, "{body}");
    let (_, body) = server.post(format!("[{}]", [call; 4].join(","))).await;
    assert_eq!(body.as_array().map(Vec::len), Some(4), "{body}");
}

#[tokio::test]
async fn websocket_subscription_receives_notices_and_unsubscribes() {
    let server = Server::spawn().await;
    let client = server.ws().await;
    let mut sub: Subscription<Value> = client
        .subscribe("things.watch", rpc_params![], "things.unsubscribe")
        .await
        .unwrap();
    server.wait_watching(1).await;
    let _: Value = client
        .request("things.create", rpc_params![json!({ "name": "n" })])
        .await
        .unwrap();
    let notice = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(notice, json!({ "id": "1", "data": { "name": "n" } }));
    sub.unsubscribe().await.unwrap();
    server.wait_watching(0).await;
}

#[tokio::test]
async fn notifications_are_named_after_the_subscription() {
    let server = Server::spawn().await;
    // A bare WebSocket, to see the envelope the jsonrpsee client hides.
    let url = format!("ws://{}/rpc", server.addr).parse().unwrap();
    let (mut tx, mut rx) = WsTransportClientBuilder::default()
        .build(url)
        .await
        .unwrap();
    let subscribe = r#"{"jsonrpc":"2.0","id":1,"method":"things.watch","params":{}}"#;
    tx.send(subscribe.to_owned()).await.unwrap();
    let accepted = next_json(&mut rx).await;
    let sub = accepted["result"].clone();
    assert!(sub.is_string() || sub.is_number(), "{accepted}");
    server.wait_watching(1).await;
    let create = r#"{"jsonrpc":"2.0","id":2,"method":"things.create","params":{"name":"w"}}"#;
    tx.send(create.to_owned()).await.unwrap();
    let seen = [next_json(&mut rx).await, next_json(&mut rx).await];
    let notification = seen
        .iter()
        .find(|m| m.get("method").is_some())
        .unwrap_or_else(|| panic!("{seen:?}"));
    assert_eq!(
        notification,
        &json!({
            "jsonrpc": "2.0",
            "method": "things.notice",
            "params": { "subscription": sub, "result": { "id": "1", "data": { "name": "w" } } },
        })
    );
}

#[tokio::test]
async fn subscription_errors() {
    let server = Server::spawn().await;
    let client = server.ws().await;
    let error = client
        .subscribe::<Value, _>(
            "things.watch",
            rpc_params![json!({ "prefix": "forbidden" })],
            "things.unsubscribe",
        )
        .await
        .unwrap_err();
    let (code, _, data) = call_error(error);
    assert_eq!((code, data["code"].as_str()), (-32003, Some("FORBIDDEN")));
    let error = client
        .subscribe::<Value, _>(
            "things.watch",
            rpc_params![json!({ "prefix": 3 })],
            "things.unsubscribe",
        )
        .await
        .unwrap_err();
    assert_eq!(call_error(error).0, -32602);
}

#[tokio::test]
async fn too_many_subscriptions_on_one_socket() {
    let server = Server::spawn().await;
    let client = server.ws().await;
    let mut subs = Vec::new();
    for _ in 0..2 {
        let sub: Subscription<Value> = client
            .subscribe("things.watch", rpc_params![], "things.unsubscribe")
            .await
            .unwrap();
        subs.push(sub);
    }
    let error = client
        .subscribe::<Value, _>("things.watch", rpc_params![], "things.unsubscribe")
        .await
        .unwrap_err();
    assert_eq!(call_error(error).0, -32006);
    // Another socket has its own allowance.
    let other = server.ws().await;
    let _sub: Subscription<Value> = other
        .subscribe("things.watch", rpc_params![], "things.unsubscribe")
        .await
        .unwrap();
    server.wait_watching(3).await;
}

#[tokio::test]
async fn subscriptions_end_when_their_socket_closes() {
    let server = Server::spawn().await;
    let client = server.ws().await;
    let mut subs = Vec::new();
    for _ in 0..2 {
        let sub: Subscription<Value> = client
            .subscribe("things.watch", rpc_params![], "things.unsubscribe")
            .await
            .unwrap();
        subs.push(sub);
    }
    server.wait_watching(2).await;
    drop(subs);
    drop(client);
    server.wait_watching(0).await;
}

#[tokio::test]
async fn shutdown_ends_subscriptions() {
    let server = Server::spawn().await;
    let client = server.ws().await;
    let _sub: Subscription<Value> = client
        .subscribe("things.watch", rpc_params![], "things.unsubscribe")
        .await
        .unwrap();
    server.wait_watching(1).await;
    server.shutdown.cancel();
    server.wait_watching(0).await;
}

#[tokio::test]
async fn discover_returns_an_openrpc_document() {
    let server = Server::spawn().await;
    let doc: Value = server
        .http()
        .request("rpc.discover", rpc_params![])
        .await
        .unwrap();
    assert!(doc["openrpc"].as_str().unwrap().starts_with("1."));
    let methods = doc["methods"].as_array().unwrap();
    let method = |name: &str| {
        methods
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let by_id = method("things.getById");
    assert_eq!(by_id["params"][0]["name"], "input");
    assert_eq!(by_id["params"][0]["required"], true);
    assert_eq!(
        by_id["params"][0]["schema"],
        json!({ "$ref": "#/components/schemas/ById" })
    );
    assert_eq!(
        doc["components"]["schemas"]["ById"],
        json!({ "type": "object", "properties": { "id": { "type": "string" } }, "required": ["id"] })
    );
    assert_eq!(method("things.getAll")["params"], json!([]));
    assert_eq!(
        method("things.getAll")["result"]["schema"],
        json!({ "type": "array", "items": { "type": "string" } })
    );
    let watch = method("things.watch");
    assert_eq!(watch["params"][0]["required"], false);
    assert_eq!(watch["x-notification"]["method"], "things.notice");
    assert_eq!(
        watch["x-notification"]["params"]["properties"]["result"]["properties"]["data"],
        json!({ "$ref": "#/components/schemas/Created" })
    );
    assert_eq!(
        doc["components"]["schemas"]["WatchInput"]["properties"]["prefix"],
        json!({ "anyOf": [{ "type": "string" }, { "type": "null" }] })
    );
    assert!(doc["components"]["schemas"]["WatchInput"]["required"].is_null());
    method("things.unsubscribe");
}

/// The next JSON message of a bare WebSocket.
async fn next_json<R: TransportReceiverT>(rx: &mut R) -> Value
where
    R::Error: std::fmt::Debug,
{
    loop {
        match rx.receive().await.unwrap() {
            ReceivedMessage::Text(text) => return serde_json::from_str(&text).unwrap(),
            ReceivedMessage::Bytes(bytes) => return serde_json::from_slice(&bytes).unwrap(),
            ReceivedMessage::Pong => continue,
        }
    }
}

/// `error.data` of jsonrpsee's own limit errors is the same object as every other error's:
/// the table's key, its HTTP status, and the method (`null` for a whole request).
#[tokio::test]
async fn limit_errors_carry_the_error_data_object() {
    let server = Server::spawn().await;
    let whole =
        |code: &str, status: u16| json!({ "code": code, "httpStatus": status, "path": null });

    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"things.create","params":{{"name":"{}"}}}}"#,
        "x".repeat(5000)
    );
    let (status, body) = server.post(big).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], -32007, "{body}");
    assert_eq!(
        body["error"]["data"],
        whole("PAYLOAD_TOO_LARGE", 413),
        "{body}"
    );

    let call = r#"{"jsonrpc":"2.0","id":1,"method":"things.getAll"}"#;
    let batch = format!("[{}]", [call; 5].join(","));
    let (_, body) = server.post(batch.clone()).await;
    assert_eq!(body["error"]["code"], -32010, "{body}");
    assert_eq!(
        body["error"]["data"],
        whole("PAYLOAD_TOO_LARGE", 413),
        "{body}"
    );

    // The same batch over a WebSocket.
    let url = format!("ws://{}/rpc", server.addr).parse().unwrap();
    let (mut tx, mut rx) = WsTransportClientBuilder::default()
        .build(url)
        .await
        .unwrap();
    tx.send(batch).await.unwrap();
    let body = next_json(&mut rx).await;
    assert_eq!(body["error"]["code"], -32010, "{body}");
    assert_eq!(
        body["error"]["data"],
        whole("PAYLOAD_TOO_LARGE", 413),
        "{body}"
    );

    // One subscription past the socket's allowance (2), named by its method.
    for id in 1..=3 {
        let subscribe = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"things.watch"}}"#);
        tx.send(subscribe).await.unwrap();
        let body = next_json(&mut rx).await;
        assert_eq!(body["id"], id, "{body}");
        if id < 3 {
            assert!(body.get("result").is_some(), "{body}");
            continue;
        }
        assert_eq!(body["error"]["code"], -32006, "{body}");
        assert_eq!(
            body["error"]["data"],
            json!({ "code": "TOO_MANY_REQUESTS", "httpStatus": 429, "path": "things.watch" }),
            "{body}"
        );
    }

    // The one exception (docs/api.md says so): a WebSocket message over the size limit is
    // refused by jsonrpsee before any of this code sees it, its `data` a plain string.
    tx.send(format!(
        r#"{{"jsonrpc":"2.0","id":9,"method":"{}"}}"#,
        "x".repeat(5000)
    ))
    .await
    .unwrap();
    let body = next_json(&mut rx).await;
    assert_eq!(body["error"]["code"], -32007, "{body}");
    assert_eq!(
        body["error"]["data"], "Exceeded max limit of 4096",
        "{body}"
    );
}
