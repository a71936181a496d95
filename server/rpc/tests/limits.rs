//! The registry's limits on every transport, against a real server on port 0 serving a small
//! domain-free registry over tRPC (HTTP, SSE, WebSocket) and JSON-RPC: input nested too deeply
//! is a bad request (even a megabyte of `[`), and a call past its deadline times out alone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tidings_rpc::{
    Ctx, EventStream, JsonRpcConfig, Limits, Registry, Trpc, TrpcConfig, jsonrpc_router,
};
use tidings_rpc_test_support::fixtures::{Sleep, echo};
use tidings_rpc_test_support::{WsClient, client, notice, parse_json, serve};

/// The deadline every call of the test registry gets.
const DEADLINE: Duration = Duration::from_millis(300);

fn registry() -> Registry<()> {
    let mut r = Registry::new();
    r.query("echo.get", echo::<Value, _>);
    r.mutation("echo.put", echo::<Value, _>);
    r.query("time.sleep", |_: Ctx<()>, input: Sleep| async move {
        input.sleep().await;
        Ok("awake")
    });
    r.subscription::<Sleep, u64, _, _>("time.after", |_: Ctx<()>, input: Sleep| async move {
        input.sleep().await;
        Ok(futures::stream::iter([notice(None, &1u64)]).boxed() as EventStream)
    });
    r.set_limits(Limits {
        max_input_depth: 32,
        call_timeout: Some(DEADLINE),
    });
    r
}

/// `depth` nested arrays around `1`.
fn nested(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

struct Server {
    base: String,
    http: reqwest::Client,
}

impl Server {
    async fn start() -> Self {
        let registry = Arc::new(registry());
        let trpc = Trpc::new(registry.clone(), (), TrpcConfig::default());
        let router = trpc
            .router()
            .merge(jsonrpc_router(registry, (), JsonRpcConfig::default()));
        let addr = serve(router).await;
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let (status, text) = client::send(request).await;
        (status, parse_json(&text))
    }

    async fn trpc_get(&self, paths: &str, query: &[(&str, &str)]) -> (u16, Value) {
        let url = format!("{}/trpc/{paths}", self.base);
        self.send(self.http.get(url).query(query)).await
    }

    async fn trpc_post(&self, path: &str, body: String) -> (u16, Value) {
        let url = format!("{}/trpc/{path}", self.base);
        self.send(client::post_json(&self.http, &url, body)).await
    }

    async fn jsonrpc(&self, body: String) -> Value {
        let url = format!("{}/rpc", self.base);
        self.send(client::post_json(&self.http, &url, body)).await.1
    }

    async fn ws(&self) -> WsClient {
        WsClient::connect(&format!("{}/trpc", self.base.replace("http", "ws"))).await
    }

    /// The SSE stream of `path` with `input`, read to its end.
    async fn sse(&self, path: &str, input: &str) -> String {
        let url = format!("{}/trpc/{path}", self.base);
        let response = self
            .http
            .get(url)
            .query(&[("input", input)])
            .send()
            .await
            .expect("subscribe");
        tokio::time::timeout(Duration::from_secs(5), response.text())
            .await
            .expect("stream ends")
            .expect("text")
    }
}

/// Sends a tRPC query frame whose input is raw JSON text (deeper than `serde_json` would build
/// a value) and reads the answer.
async fn query(ws: &mut WsClient, id: u32, path: &str, input: &str) -> Value {
    let frame =
        format!(r#"{{"id":{id},"method":"query","params":{{"path":"{path}","input":{input}}}}}"#);
    ws.send(frame).await;
    ws.recv_json().await
}

fn assert_too_deep(error: &Value) {
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("nested deeper than 32 levels"), "{error}");
}

#[tokio::test]
async fn trpc_http_refuses_input_nested_past_the_limit() {
    let server = Server::start().await;
    let (status, body) = server.trpc_post("echo.put", nested(32)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["data"],
        serde_json::from_str::<Value>(&nested(32)).unwrap()
    );

    let (status, body) = server.trpc_post("echo.put", nested(33)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["data"]["code"], "BAD_REQUEST");
    assert_eq!(body["error"]["data"]["path"], "echo.put");
    assert_too_deep(&body["error"]);

    let deep = nested(33);
    let (status, body) = server.trpc_get("echo.get", &[("input", &deep)]).await;
    assert_eq!(status, 400, "{body}");
    assert_too_deep(&body["error"]);

    // In a batch, only the deep call fails.
    let inputs = format!(r#"{{"0":{},"1":{deep}}}"#, nested(2));
    let (status, body) = server
        .trpc_get("echo.get,echo.get", &[("batch", "1"), ("input", &inputs)])
        .await;
    assert_eq!(status, 207, "{body}");
    assert_eq!(body[0]["result"]["data"], json!([[1]]));
    assert_eq!(body[1]["error"]["data"]["code"], "BAD_REQUEST");
    assert_too_deep(&body[1]["error"]);
}

#[tokio::test]
async fn a_megabyte_of_brackets_is_a_bad_request_on_every_transport() {
    let server = Server::start().await;
    let open = "[".repeat(1_000_000);
    let balanced = nested(499_000);

    for body in [open.clone(), balanced.clone()] {
        let started = Instant::now();
        let (status, reply) = server.trpc_post("echo.put", body).await;
        assert_eq!(status, 400, "{reply}");
        assert_too_deep(&reply["error"]);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    let batch = format!(r#"{{"0":{balanced}}}"#);
    let (status, reply) = server.trpc_post("echo.put?batch=1", batch).await;
    assert_eq!(status, 400, "{reply}");
    assert_too_deep(&reply[0]["error"]);

    // JSON-RPC: deep params are invalid params; a body of brackets is not a request at all.
    let call = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"echo.put","params":[{balanced}]}}"#);
    let reply = server.jsonrpc(call).await;
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    assert_too_deep(&reply["error"]);
    let reply = server.jsonrpc(open.clone()).await;
    assert_eq!(reply["error"]["code"], -32700, "{reply}");

    // tRPC WebSocket: the deep call gets its error, a frame of brackets a parse error, and the
    // socket keeps serving.
    let mut ws = server.ws().await;
    let reply = query(&mut ws, 1, "echo.get", &balanced).await;
    assert_eq!(reply["id"], 1);
    assert_eq!(reply["error"]["data"]["code"], "BAD_REQUEST");
    assert_too_deep(&reply["error"]);
    ws.send(open).await;
    assert_eq!(ws.recv_json().await["error"]["data"]["code"], "PARSE_ERROR");
    let reply = query(&mut ws, 2, "echo.get", &nested(3)).await;
    assert_eq!(reply["result"]["data"], json!([[[1]]]));

    // And the server is still there.
    let (status, _) = server.trpc_post("echo.put", "1".into()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn jsonrpc_and_subscriptions_refuse_deep_input() {
    let server = Server::start().await;
    let call = |params: String| {
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"echo.put","params":[{params}]}}"#)
    };
    let reply = server.jsonrpc(call(nested(32))).await;
    assert!(reply.get("result").is_some(), "{reply}");
    let reply = server.jsonrpc(call(nested(33))).await;
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    assert_eq!(reply["error"]["data"]["code"], "BAD_REQUEST");
    assert_too_deep(&reply["error"]);

    // A subscription's input is held to the same limit, before its setup runs.
    let deep = format!(r#"{{"ms":1,"extra":{}}}"#, nested(40));
    let stream = server.sse("time.after", &deep).await;
    assert!(stream.contains("nested deeper than 32 levels"), "{stream}");
    let mut ws = server.ws().await;
    let frame = format!(
        r#"{{"id":7,"method":"subscription","params":{{"path":"time.after","input":{deep}}}}}"#
    );
    ws.send(frame).await;
    let reply = ws.recv_json().await;
    assert_eq!(reply["id"], 7);
    assert_too_deep(&reply["error"]);
}

#[tokio::test]
async fn a_call_past_its_deadline_times_out_alone() {
    let server = Server::start().await;
    let slow = r#"{"ms":60000}"#;
    let fast = r#"{"ms":1}"#;

    let started = Instant::now();
    let (status, body) = server.trpc_get("time.sleep", &[("input", slow)]).await;
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["error"]["data"]["code"], "TIMEOUT");
    assert_eq!(body["error"]["code"], -32008);
    assert_eq!(
        body["error"]["message"],
        "\"time.sleep\" did not finish within 300ms"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    let inputs = format!(r#"{{"0":{fast},"1":{slow}}}"#);
    let (status, body) = server
        .trpc_get(
            "time.sleep,time.sleep",
            &[("batch", "1"), ("input", &inputs)],
        )
        .await;
    assert_eq!(status, 207, "{body}");
    assert_eq!(body[0]["result"]["data"], "awake");
    assert_eq!(body[1]["error"]["data"]["code"], "TIMEOUT");

    let call = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"time.sleep","params":{slow}}}"#);
    let reply = server.jsonrpc(call).await;
    assert_eq!(reply["error"]["code"], -32008, "{reply}");
    assert_eq!(reply["error"]["data"]["code"], "TIMEOUT");
    assert_eq!(reply["error"]["data"]["httpStatus"], 408);

    let mut ws = server.ws().await;
    let reply = query(&mut ws, 1, "time.sleep", slow).await;
    assert_eq!(reply["error"]["data"]["code"], "TIMEOUT", "{reply}");
    let reply = query(&mut ws, 2, "time.sleep", fast).await;
    assert_eq!(reply["result"]["data"], "awake");
}

#[tokio::test]
async fn subscription_setup_is_bounded_by_the_deadline() {
    let server = Server::start().await;
    let stream = server.sse("time.after", r#"{"ms":60000}"#).await;
    assert!(stream.contains("\"TIMEOUT\""), "{stream}");
    let stream = server.sse("time.after", r#"{"ms":1}"#).await;
    assert!(!stream.contains("TIMEOUT"), "{stream}");

    let mut ws = server.ws().await;
    let frame =
        r#"{"id":3,"method":"subscription","params":{"path":"time.after","input":{"ms":60000}}}"#;
    ws.send(frame).await;
    let reply = ws.recv_json().await;
    assert_eq!(reply["id"], 3);
    assert_eq!(reply["error"]["data"]["code"], "TIMEOUT", "{reply}");
}
