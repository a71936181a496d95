//! tRPC over WebSocket (§8 of the wire description), checked frame by frame over a real socket
//! against a small domain-free registry: every error row, subscription lifecycles, arrays,
//! connectionParams, shutdown, the limits, and that streams end with their sockets.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use futures::{SinkExt, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use specta::Type;
use tidings_rpc::{
    Ctx, ErrorCode, Event, EventStream, Notice, Registry, RpcError, Trpc, TrpcConfig, WsConfig,
};
use tidings_rpc_test_support::fixtures::{
    CountInput, CountsCreated, Sleep, count_events, create, fail_events, get_all, get_by_id,
};
use tidings_rpc_test_support::{WAIT, WsClient, counted_in, notice, serve, wait_for};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

#[derive(Deserialize, Type)]
struct Firehose {
    bytes: usize,
}

#[derive(Serialize, Type)]
struct WhoAmI {
    params: Option<BTreeMap<String, String>>,
    transport: String,
}

#[derive(Clone, Default)]
struct State {
    /// Subscription streams alive right now.
    streams: Arc<AtomicUsize>,
    /// Subscription streams ever created.
    opened: Arc<AtomicUsize>,
    /// Mutations run.
    created: Arc<AtomicU64>,
}

impl CountsCreated for State {
    fn created(&self) -> &AtomicU64 {
        &self.created
    }
}

/// `stream`, counted in `state.streams` while it exists.
fn counted(state: &State, stream: impl Stream<Item = Event> + Send + 'static) -> EventStream {
    let stream = counted_in(&state.streams, stream);
    state.opened.fetch_add(1, Ordering::SeqCst);
    stream
}

fn registry() -> Registry<State> {
    let mut r = Registry::new();
    r.query("things.getAll", get_all);
    r.query("things.getById", get_by_id);
    r.query("things.sleep", |_: Ctx<State>, input: Sleep| async move {
        input.sleep().await;
        Ok(input.ms)
    });
    r.query("whoami", |ctx: Ctx<State>, _: ()| async move {
        Ok(WhoAmI {
            params: ctx.meta.connection_params.clone(),
            transport: serde_json::to_value(ctx.meta.transport)
                .map_err(RpcError::internal)?
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        })
    });
    r.mutation("things.create", create);
    r.subscription::<CountInput, u64, _, _>(
        "things.count",
        |ctx: Ctx<State>, input: CountInput| async move {
            let events = count_events(input)?;
            Ok(counted(&ctx.state, futures::stream::iter(events)))
        },
    );
    r.subscription::<(), u64, _, _>("things.fail", |ctx: Ctx<State>, _: ()| async move {
        Ok(counted(&ctx.state, futures::stream::iter(fail_events())))
    });
    r.subscription::<(), u64, _, _>("things.forever", |ctx: Ctx<State>, _: ()| async move {
        Ok(counted(&ctx.state, futures::stream::pending()))
    });
    r.subscription::<(), u64, _, _>("things.ticks", |ctx: Ctx<State>, _: ()| async move {
        let ticks = futures::stream::unfold(0u64, |i| async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Some((notice(Some(i.to_string()), &i), i + 1))
        });
        Ok(counted(&ctx.state, ticks))
    });
    r.subscription::<Firehose, String, _, _>(
        "things.firehose",
        |ctx: Ctx<State>, input: Firehose| async move {
            let big = Arc::new(Notice::new(None, &"x".repeat(input.bytes)).expect("encode"));
            let events = futures::stream::unfold(big, |big| async move {
                tokio::task::yield_now().await;
                Some((Event::Notice(big.clone()), big))
            });
            Ok(counted(&ctx.state, events))
        },
    );
    r
}

/// A server on `127.0.0.1:0`, with the handles tests inspect.
struct TestApp {
    url: String,
    state: State,
    shutdown: CancellationToken,
    trpc: Arc<Trpc<State>>,
}

impl TestApp {
    async fn start() -> Self {
        Self::with(WsConfig::default()).await
    }

    async fn with(ws: WsConfig) -> Self {
        let state = State::default();
        let shutdown = CancellationToken::new();
        let config = TrpcConfig {
            ws,
            shutdown: shutdown.clone(),
            ..TrpcConfig::default()
        };
        let trpc = Trpc::new(Arc::new(registry()), state.clone(), config);
        let addr = serve(trpc.router()).await;
        Self {
            url: format!("ws://{addr}/trpc"),
            state,
            shutdown,
            trpc,
        }
    }

    async fn connect(&self) -> WsClient {
        self.connect_to(&self.url).await
    }

    async fn connect_to(&self, url: &str) -> WsClient {
        WsClient::connect(url).await
    }

    fn streams(&self) -> usize {
        self.state.streams.load(Ordering::SeqCst)
    }

    /// Waits until the live-stream count is `n`.
    async fn streams_become(&self, n: usize) {
        wait_for("live streams", n, || self.streams()).await;
    }
}

fn query(id: u64, path: &str, input: Option<Value>) -> Value {
    let mut params = json!({ "path": path });
    if let Some(input) = input {
        params["input"] = input;
    }
    json!({ "id": id, "method": "query", "params": params })
}

fn subscription(id: u64, path: &str, input: Value) -> Value {
    json!({ "id": id, "method": "subscription", "params": { "path": path, "input": input } })
}

fn stop(id: u64) -> Value {
    json!({ "id": id, "method": "subscription.stop" })
}

fn error(id: Value, message: &str, code: ErrorCode, path: Option<&str>) -> Value {
    let mut data = json!({ "code": code.key(), "httpStatus": code.http_status() });
    if let Some(path) = path {
        data["path"] = json!(path);
    }
    json!({ "id": id, "error": { "message": message, "code": code.json_rpc_code(), "data": data } })
}

#[tokio::test]
async fn query_mutation_and_typed_error() {
    let app = TestApp::start().await;
    let mut c = app.connect().await;
    c.send_json(query(1, "things.getAll", None)).await;
    assert_eq!(
        c.recv().await,
        r#"{"id":1,"result":{"type":"data","data":["a","b"]}}"#
    );
    c.send(
        r#"{"id":3,"method":"mutation","params":{"input":{"name":"x"},"path":"things.create"}}"#,
    )
    .await;
    assert_eq!(
        c.recv().await,
        r#"{"id":3,"result":{"type":"data","data":{"name":"x"}}}"#
    );
    c.send_json(query(5, "things.getById", Some(json!({"id":"nope"}))))
        .await;
    assert_eq!(
        c.recv_json().await,
        error(
            json!(5),
            "Thing nope not found",
            ErrorCode::NotFound,
            Some("things.getById")
        )
    );
    c.send_json(query(6, "things.getById", Some(json!({"id":1}))))
        .await;
    assert_eq!(c.recv_json().await["error"]["data"]["code"], "BAD_REQUEST");
}

#[tokio::test]
async fn jsonrpc_is_echoed_and_string_ids_work() {
    let app = TestApp::start().await;
    let mut c = app.connect().await;
    c.send(r#"{"id":2,"jsonrpc":"2.0","method":"query","params":{"path":"things.getById","input":{"id":"p1"}}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"id":2,"jsonrpc":"2.0","result":{"type":"data","data":{"id":"p1"}}}"#
    );
    c.send(r#"{"id":"a","jsonrpc":"2.0","method":"subscription","params":{"path":"things.fail"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"id":"a","jsonrpc":"2.0","result":{"type":"started"}}"#
    );
    assert_eq!(
        c.recv().await,
        r#"{"id":"a","jsonrpc":"2.0","result":{"type":"data","data":1}}"#
    );
    assert_eq!(c.recv_json().await["jsonrpc"], "2.0");
    assert_eq!(
        c.recv().await,
        r#"{"id":"a","jsonrpc":"2.0","result":{"type":"stopped"}}"#
    );
}

#[tokio::test]
async fn parse_errors_have_a_null_id() {
    let app = TestApp::start().await;
    let mut c = app.connect().await;
    let null_error = |message: &str| error(Value::Null, message, ErrorCode::ParseError, None);

    c.send("{not json").await;
    let reply = c.recv_json().await;
    assert_eq!(reply["id"], Value::Null);
    assert_eq!(reply["error"]["code"], -32700);
    assert_eq!(
        reply["error"]["data"],
        json!({"code":"PARSE_ERROR","httpStatus":400})
    );

    c.send(r#"{"id":10,"method":"bogus","params":{}}"#).await;
    assert_eq!(c.recv_json().await, null_error("Invalid procedure type"));

    c.send(r#"{"id":null,"method":"query","params":{"path":"things.getAll"}}"#)
        .await;
    assert_eq!(c.recv_json().await, null_error("`id` is required"));

    c.socket
        .send(Message::Binary(vec![1u8, 2, 3].into()))
        .await
        .unwrap();
    assert_eq!(c.recv_json().await["error"]["data"]["code"], "PARSE_ERROR");

    // One bad message fails its whole array: nothing of it runs.
    c.send(format!(
        r#"[{},{{"id":12}}]"#,
        json!({"id":11,"method":"mutation","params":{"path":"things.create","input":{"name":"n"}}})
    ))
    .await;
    assert_eq!(c.recv_json().await, null_error("Invalid procedure type"));
    c.silence().await;
    assert_eq!(app.state.created.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn unknown_paths_and_kind_mismatches_are_not_found() {
    let app = TestApp::start().await;
    let mut c = app.connect().await;
    c.send_json(query(6, "nope", None)).await;
    assert_eq!(
        c.recv().await,
        r#"{"id":6,"error":{"message":"No \"query\"-procedure on path \"nope\"","code":-32004,"data":{"code":"NOT_FOUND","httpStatus":404,"path":"nope"}}}"#
    );
    c.send_json(query(7, "things.create", None)).await;
    assert_eq!(
        c.recv_json().await,
        error(
            json!(7),
            r#"No "query"-procedure on path "things.create""#,
            ErrorCode::NotFound,
            Some("things.create")
        )
    );
    c.send_json(subscription(8, "things.getAll", json!({})))
        .await;
    assert_eq!(
        c.recv_json().await,
        error(
            json!(8),
            r#"No "subscription"-procedure on path "things.getAll""#,
            ErrorCode::NotFound,
            Some("things.getAll")
        )
    );
    c.send(r#"{"id":9,"method":"mutation","params":{"path":"things.forever"}}"#)
        .await;
    assert_eq!(c.recv_json().await["error"]["data"]["code"], "NOT_FOUND");
    c.silence().await;
}

#[tokio::test]
async fn tracked_subscription_lifecycle() {
    let app = TestApp::start().await;
    let mut c = app.connect().await;
    c.send_json(subscription(20, "things.count", json!({"from":7})))
        .await;
    assert_eq!(c.recv().await, r#"{"id":20,"result":{"type":"started"}}"#);
    for i in 7..10 {
        assert_eq!(
            c.recv().await,
            format!(
                r#"{{"id":20,"result":{{"type":"data","data":{{"id":"{i}","data":{i}}},"id":"{i}"}}}}"#
            )
        );
    }
    assert_eq!(c.recv().await, r#"{"id":20,"result":{"type":"stopped"}}"#);
    app.streams_become(0).await;
    // The id is free again once stopped.
    c.send_json(subscription(20, "things.count", json!({"from":1})))
        .await;
    assert_eq!(c.recv().await, r#"{"id":20,"result":{"type":"started"}}"#);
}

#[tokio::test]
async fn iteration_error_is_followed_by_stopped() {
    let app = TestApp::start().await;
    let mut c = app.connect().await;
    c.send_json(subscription(22, "things.fail", Value::Null))
        .await;
    assert_eq!(c.recv().await, r#"{"id":22,"result":{"type":"started"}}"#);
    assert_eq!(
        c.recv().await,
        r#"{"id":22,"result":{"type":"data","data":1}}"#
    );
    assert_eq!(
        c.recv_json().await,
        error(
            json!(22),
            "failed at 1",
            ErrorCode::Conflict,
            Some("things.fail")
        )
    );
    assert_eq!(c.recv().await, r#"{"id":22,"result":{"type":"stopped"}}"#);
}

#[tokio::test]
async fn setup_error_is_an_error_alone() {
    let app = TestApp::start().await;
    let mut c = app.connect().await;
    c.send_json(subscription(23, "things.count", json!({"from":"x"})))
        .await;
    let reply = c.recv_json().await;
    assert_eq!(reply["id"], 23);
    assert_eq!(reply["error"]["data"]["code"], "BAD_REQUEST");
    assert_eq!(reply["error"]["data"]["path"], "things.count");
    c.silence().await;
}

#[tokio::test]
async fn last_event_id_in_params_resumes() {
    let app = TestApp::start().await;
    let mut c = app.connect().await;
    c.send(r#"{"id":1,"method":"subscription","params":{"path":"things.count","input":{"from":1},"lastEventId":"5"}}"#)
        .await;
    assert_eq!(c.recv_json().await["result"]["type"], "started");
    assert_eq!(c.recv_json().await["result"]["id"], "6");
}

#[tokio::test]
async fn stop_ends_the_stream_and_unknown_ids_are_ignored() {
    let app = TestApp::start().await;
    let mut c = app.connect().await;
    c.send_json(subscription(30, "things.forever", Value::Null))
        .await;
    assert_eq!(c.recv().await, r#"{"id":30,"result":{"type":"started"}}"#);
    assert_eq!(app.streams(), 1);
    c.send_json(stop(30)).await;
    assert_eq!(c.recv().await, r#"{"id":30,"result":{"type":"stopped"}}"#);
    app.streams_become(0).await;
    c.send_json(stop(31)).await;
    c.silence().await;
}

#[tokio::test]
async fn duplicate_subscription_ids_are_refused() {
    let app = TestApp::start().await;
    let mut c = app.connect().await;
    c.send_json(subscription(40, "things.forever", Value::Null))
        .await;
    assert_eq!(c.recv_json().await["result"]["type"], "started");
    c.send_json(subscription(40, "things.forever", Value::Null))
        .await;
    assert_eq!(
        c.recv_json().await,
        error(
            json!(40),
            "Duplicate id 40",
            ErrorCode::BadRequest,
            Some("things.forever")
        )
    );
    // The first one is untouched.
    assert_eq!(app.streams(), 1);
    c.send_json(stop(40)).await;
    assert_eq!(c.recv_json().await["result"]["type"], "stopped");
}

#[tokio::test]
async fn ping_gets_pong() {
    let app = TestApp::start().await;
    let mut c = app.connect().await;
    c.send("PING").await;
    assert_eq!(c.recv().await, "PONG");
    c.send("PONG").await;
    c.silence().await;
}

#[tokio::test]
async fn arrays_run_concurrently_and_replies_come_one_by_one() {
    let app = TestApp::start().await;
    let mut c = app.connect().await;
    c.send(format!(
        "[{},{}]",
        query(8, "things.sleep", Some(json!({"ms":300}))),
        query(9, "things.getAll", None)
    ))
    .await;
    let first = c.recv_json().await;
    let second = c.recv_json().await;
    assert_eq!(
        first["id"], 9,
        "the quick call is not held up by the slow one"
    );
    assert_eq!(second, json!({"id":8,"result":{"type":"data","data":300}}));
}

#[tokio::test]
async fn over_long_arrays_fail_every_request() {
    let app = TestApp::with(WsConfig {
        max_batch_len: 2,
        ..WsConfig::default()
    })
    .await;
    let mut c = app.connect().await;
    let create = |id: u64| json!({"id":id,"jsonrpc":"2.0","method":"mutation","params":{"path":"things.create","input":{"name":"n"}}});
    c.send(json!([create(1), create(2), stop(3)]).to_string())
        .await;
    for id in [1, 2] {
        let mut expected = error(
            json!(id),
            "Batch call exceeds maximum size",
            ErrorCode::BadRequest,
            None,
        );
        expected["jsonrpc"] = json!("2.0");
        assert_eq!(c.recv_json().await, expected);
    }
    c.silence().await;
    assert_eq!(app.state.created.load(Ordering::SeqCst), 0);
    c.send(json!([create(4), create(5)]).to_string()).await;
    c.recv_json().await;
    c.recv_json().await;
    assert_eq!(app.state.created.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn connection_params_come_first_when_asked_for() {
    let app = TestApp::start().await;
    let mut plain = app.connect().await;
    plain.send_json(query(1, "whoami", None)).await;
    assert_eq!(
        plain.recv_json().await["result"]["data"],
        json!({"params":null,"transport":"trpc-ws"})
    );

    let mut c = app
        .connect_to(&format!("{}?connectionParams=1", app.url))
        .await;
    c.send("PING").await;
    assert_eq!(c.recv().await, "PONG");
    c.send(r#"{"method":"connectionParams","data":{"token":"abc"}}"#)
        .await;
    c.silence().await;
    c.send_json(query(1, "whoami", None)).await;
    assert_eq!(
        c.recv_json().await["result"]["data"],
        json!({"params":{"token":"abc"},"transport":"trpc-ws"})
    );
}

#[tokio::test]
async fn bad_connection_params_close_the_socket() {
    let app = TestApp::start().await;
    let mut c = app
        .connect_to(&format!("{}?connectionParams=1", app.url))
        .await;
    c.send(r#"{"method":"connectionParams","data":{"token":1}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"id":null,"error":{"message":"Invalid connection params shape","code":-32700,"data":{"code":"PARSE_ERROR","httpStatus":400}}}"#
    );
    assert_eq!(c.closed().await, 1008);
}

#[tokio::test]
async fn shutdown_sends_reconnect_then_closes() {
    let app = TestApp::start().await;
    let mut a = app.connect().await;
    let mut b = app.connect().await;
    for c in [&mut a, &mut b] {
        c.send_json(subscription(1, "things.forever", Value::Null))
            .await;
        assert_eq!(c.recv_json().await["result"]["type"], "started");
    }
    assert_eq!(app.streams(), 2);
    app.shutdown.cancel();
    for c in [&mut a, &mut b] {
        assert_eq!(c.recv().await, r#"{"id":null,"method":"reconnect"}"#);
        assert_eq!(c.closed().await, 1001);
    }
    tokio::time::timeout(WAIT, app.trpc.sockets_closed())
        .await
        .expect("sockets closed");
    assert_eq!(app.streams(), 0);
}

#[tokio::test]
async fn oversized_messages_are_refused_and_close_the_socket() {
    let app = TestApp::with(WsConfig {
        max_message_bytes: 1024,
        ..WsConfig::default()
    })
    .await;
    let mut c = app.connect().await;
    let big = query(1, "things.getById", Some(json!({"id": "x".repeat(1500)})));
    c.send_json(big).await;
    assert_eq!(
        c.recv_json().await,
        error(
            Value::Null,
            "Message exceeds the limit of 1024 bytes",
            ErrorCode::PayloadTooLarge,
            None
        )
    );
    assert_eq!(c.closed().await, 1009);
}

#[tokio::test]
async fn subscriptions_per_connection_are_limited() {
    let app = TestApp::with(WsConfig {
        max_subscriptions: 2,
        ..WsConfig::default()
    })
    .await;
    let mut c = app.connect().await;
    for id in [1, 2] {
        c.send_json(subscription(id, "things.forever", Value::Null))
            .await;
        assert_eq!(c.recv_json().await["result"]["type"], "started");
    }
    c.send_json(subscription(3, "things.forever", Value::Null))
        .await;
    let reply = c.recv_json().await;
    assert_eq!(reply["id"], 3);
    assert_eq!(reply["error"]["data"]["code"], "TOO_MANY_REQUESTS");
    assert_eq!(reply["error"]["code"], -32029);
    // Another connection has its own allowance.
    let mut other = app.connect().await;
    other
        .send_json(subscription(3, "things.forever", Value::Null))
        .await;
    assert_eq!(other.recv_json().await["result"]["type"], "started");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_and_others_keep_receiving() {
    let app = TestApp::with(WsConfig {
        max_queued_frames: 64,
        max_queued_bytes: 256 << 10,
        ..WsConfig::default()
    })
    .await;
    let mut reader = app.connect().await;
    reader
        .send_json(subscription(1, "things.ticks", Value::Null))
        .await;
    assert_eq!(reader.recv_json().await["result"]["type"], "started");

    let mut stalled = app.connect().await;
    stalled
        .send_json(subscription(
            1,
            "things.firehose",
            json!({"bytes": 64 << 10}),
        ))
        .await;
    while app.state.opened.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // `stalled` never reads: once the kernel buffers and its queue are full, it is dropped.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.streams() > 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "stalled client kept"
        );
        assert_eq!(reader.recv_json().await["result"]["type"], "data");
    }
    // The reader's stream goes on, in order.
    let mut last = None;
    for _ in 0..20 {
        let event = reader.recv_json().await;
        let n = event["result"]["data"]["data"].as_u64().expect("tick");
        assert!(last.is_none_or(|last| n == last + 1), "{n} after {last:?}");
        last = Some(n);
    }
    // What the stalled client finds when it finally reads: some data, then the end.
    let mut frames = 0usize;
    loop {
        match tokio::time::timeout(WAIT, stalled.socket.next()).await {
            Ok(Some(Ok(Message::Text(_)))) => frames += 1,
            Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) => break,
            Ok(Some(Ok(_))) => {}
            Err(_) => panic!("stalled socket still open after {frames} frames"),
        }
    }
}

#[tokio::test]
async fn streams_end_when_their_sockets_close() {
    let app = TestApp::start().await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut c = app.connect().await;
        c.send(format!(
            "[{},{}]",
            subscription(1, "things.forever", Value::Null),
            subscription(2, "things.ticks", Value::Null)
        ))
        .await;
        clients.push(c);
    }
    app.streams_become(6).await;
    // One closes politely, one vanishes without a close frame, one stays.
    let mut polite = clients.remove(0);
    polite.socket.close(None).await.unwrap();
    drop(clients.remove(0));
    app.streams_become(2).await;
    drop(clients);
    app.streams_become(0).await;
}

#[tokio::test]
async fn other_requests_to_the_prefix_keep_their_behaviour() {
    let app = TestApp::start().await;
    let http_url = app.url.replace("ws://", "http://");
    let reply = reqwest::get(&http_url).await.unwrap();
    assert_eq!(reply.status(), 404);
    let reply = reqwest::get(format!("{http_url}/things.getAll"))
        .await
        .unwrap();
    assert_eq!(
        reply.text().await.unwrap(),
        r#"{"result":{"data":["a","b"]}}"#
    );
}
