//! The tRPC HTTP rules of the wire description, checked one by one against the engine with a
//! small domain-free registry.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::body::Body;
use bytes::Bytes;
use futures::StreamExt;
use http::{Method, Request};
use serde_json::{Value, json};
use tidings_rpc::{Ctx, Registry, Trpc, TrpcConfig};
use tidings_rpc_test_support::fixtures::{
    ById, CountInput, CountsCreated, count_events, crash, create, fail_events, get_all, get_by_id,
};
use tidings_rpc_test_support::{Reply, encode as enc, oneshot, serve};

#[derive(Clone, Default)]
struct State {
    created: Arc<AtomicU64>,
}

impl CountsCreated for State {
    fn created(&self) -> &AtomicU64 {
        &self.created
    }
}

fn registry() -> Registry<State> {
    let mut r = Registry::new();
    r.query("things.getAll", get_all);
    r.query("things.getById", get_by_id);
    r.query("things.big", |_: Ctx<State>, _: ()| async {
        let json = serde_json::to_vec(&vec!["some repeated content"; 5_000]).expect("encode");
        let hash = xxhash_rust::xxh3::xxh3_64(&json);
        Ok(tidings_rpc::Encoded::<Vec<String>>::with_hash(
            Bytes::from(json),
            hash,
        ))
    });
    r.query(
        "things.optional",
        |_: Ctx<State>, input: Option<ById>| async move { Ok(input.map(|i| i.id)) },
    );
    r.mutation("things.create", create);
    r.query("debug.crash", crash);
    r.subscription::<CountInput, u64, _, _>(
        "things.count",
        |_: Ctx<State>, input: CountInput| async move {
            Ok(futures::stream::iter(count_events(input)?).boxed())
        },
    );
    r.subscription::<(), u64, _, _>("things.fail", |_: Ctx<State>, _: ()| async {
        Ok(futures::stream::iter(fail_events()).boxed())
    });
    r
}

fn app() -> axum::Router {
    let config = TrpcConfig {
        max_body_bytes: 1024,
        max_batch_size: 4,
        ..TrpcConfig::default()
    };
    Trpc::new(Arc::new(registry()), State::default(), config).router()
}

async fn send(req: Request<Body>) -> Reply {
    oneshot::send(app(), req).await
}

async fn get(uri: &str) -> Reply {
    send(oneshot::get(uri)).await
}

async fn post(uri: &str, body: &str) -> Reply {
    send(oneshot::post_json(uri, body.to_owned())).await
}

#[tokio::test]
async fn query_without_input_and_vary_header() {
    let r = get("/trpc/things.getAll").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), r#"{"result":{"data":["a","b"]}}"#);
    assert_eq!(r.headers["vary"], "trpc-accept, accept, accept-encoding");
    assert_eq!(r.headers["content-type"], "application/json");
    let r = post("/trpc/things.create", r#"{"name":"x"}"#).await;
    assert_eq!(r.headers["vary"], "trpc-accept, accept");
    assert!(
        r.headers.get("etag").is_none(),
        "mutations are not cacheable"
    );
}

async fn get_with(uri: &str, headers: &[(&str, &str)]) -> Reply {
    send(oneshot::get_with(uri, headers)).await
}

#[tokio::test]
async fn etag_and_304_revalidation() {
    let r = get("/trpc/things.big").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let tag = r.headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(r.headers["cache-control"], "private, no-cache");
    let again = get_with("/trpc/things.big", &[("if-none-match", &tag)]).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.headers["etag"], tag.as_str());
    let other = get_with(
        "/trpc/things.big",
        &[("if-none-match", "\"something-else\"")],
    )
    .await;
    assert_eq!(other.status, 200);
    let batch = get("/trpc/things.big?batch=1").await;
    assert_ne!(
        batch.headers["etag"].to_str().unwrap(),
        tag,
        "a batch is another representation"
    );
    let small = get("/trpc/things.getAll").await;
    assert_ne!(small.headers["etag"].to_str().unwrap(), tag);
    let missing = get(&format!(
        "/trpc/things.getById?input={}",
        enc(r#"{"id":"nope"}"#)
    ))
    .await;
    assert!(
        missing.headers.get("etag").is_none(),
        "errors are not cacheable"
    );
}

#[tokio::test]
async fn compressed_variants_decode_to_the_same_body() {
    let plain = get("/trpc/things.big").await;
    assert!(plain.headers.get("content-encoding").is_none());
    for (accept, token) in [
        ("gzip", "gzip"),
        ("br, gzip", "br"),
        ("gzip, br, zstd", "zstd"),
    ] {
        let r = get_with("/trpc/things.big", &[("accept-encoding", accept)]).await;
        assert_eq!(r.headers["content-encoding"], token);
        assert!(
            r.body.len() < plain.body.len() / 4,
            "{token}: {} bytes",
            r.body.len()
        );
        let decoded = match token {
            "gzip" => {
                let mut out = Vec::new();
                std::io::Read::read_to_end(
                    &mut flate2::read::GzDecoder::new(&r.body[..]),
                    &mut out,
                )
                .unwrap();
                out
            }
            "br" => {
                let mut out = Vec::new();
                brotli::BrotliDecompress(&mut &r.body[..], &mut out).unwrap();
                out
            }
            _ => zstd::decode_all(&r.body[..]).unwrap(),
        };
        assert_eq!(decoded, plain.body.to_vec(), "{token}");
    }
    let small = get_with("/trpc/things.getAll", &[("accept-encoding", "gzip")]).await;
    assert!(
        small.headers.get("content-encoding").is_none(),
        "tiny bodies go as they are"
    );
}

#[tokio::test]
async fn query_with_input_and_trailing_slash_and_escaped_path() {
    let r = get(&format!(
        "/trpc/things%2EgetById/?input={}",
        enc(r#"{"id":"x"}"#)
    ))
    .await;
    assert_eq!(r.json(), json!({"result":{"data":{"id":"x"}}}));
}

#[tokio::test]
async fn not_found_error_envelope() {
    let r = get(&format!(
        "/trpc/things.getById?input={}",
        enc(r#"{"id":"nope"}"#)
    ))
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.text(),
        r#"{"error":{"message":"Thing nope not found","code":-32004,"data":{"code":"NOT_FOUND","httpStatus":404,"path":"things.getById"}}}"#
    );
}

#[tokio::test]
async fn unknown_path_is_not_found() {
    let r = get("/trpc/does.not.exist").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json()["error"]["message"],
        r#"No procedure found on path "does.not.exist""#
    );
    assert_eq!(r.json()["error"]["data"]["path"], "does.not.exist");
    let r = get("/trpc/").await;
    assert_eq!(
        r.json()["error"]["message"],
        r#"No procedure found on path """#
    );
}

#[tokio::test]
async fn batch_in_order_with_207() {
    let input = enc(r#"{"1":{"id":"y"},"2":{"id":"nope"}}"#);
    let r = get(&format!(
        "/trpc/things.getAll,things.getById,things.getById?batch=1&input={input}"
    ))
    .await;
    assert_eq!(r.status, 207);
    let v = r.json();
    assert_eq!(v[0]["result"]["data"], json!(["a", "b"]));
    assert_eq!(v[1]["result"]["data"]["id"], "y");
    assert_eq!(v[2]["error"]["data"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn batch_status_is_the_common_status() {
    let input = enc(r#"{"0":{"id":"nope"},"1":{"id":"nope"}}"#);
    let r = get(&format!(
        "/trpc/things.getById,things.getById?batch=1&input={input}"
    ))
    .await;
    assert_eq!(r.status, 404);
    let r = get("/trpc/things.getAll?batch=1&input=%7B%7D").await;
    assert_eq!(r.status, 200);
    assert!(r.json().is_array(), "a batch of one is still an array");
    let r = get("/trpc/things.getAll?batch=true").await;
    assert!(r.json().is_object(), "only batch=1 enables batching");
}

#[tokio::test]
async fn mutation_over_post_and_405_with_allow() {
    let r = post("/trpc/things.create", r#"{"name":"x"}"#).await;
    assert_eq!(r.json(), json!({"result":{"data":{"name":"x"}}}));
    let r = get(&format!(
        "/trpc/things.create?input={}",
        enc(r#"{"name":"x"}"#)
    ))
    .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.headers["allow"], "POST");
    assert_eq!(
        r.json()["error"]["message"],
        r#"Unsupported GET-request to mutation procedure at path "things.create""#
    );
    let r = post("/trpc/things.getAll", "").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.headers["allow"], "GET");
}

#[tokio::test]
async fn batch_mutation_keyed_body() {
    let r = post(
        "/trpc/things.create,things.create?batch=1",
        r#"{"0":{"name":"a"},"1":{"name":"b"}}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()[1]["result"]["data"]["name"], "b");
}

#[tokio::test]
async fn malformed_input_is_bad_request_per_call_but_lazy() {
    let r = get("/trpc/things.getById?input=%7Bbad").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], -32600);
    assert_eq!(r.json()["error"]["data"]["path"], "things.getById");
    let r = get("/trpc/things.getAll?input=%7Bbad").await;
    assert_eq!(r.status, 200, "procedures without input never parse it");
}

#[tokio::test]
async fn wrong_input_type_names_the_field() {
    let r = get(&format!(
        "/trpc/things.getById?input={}",
        enc(r#"{"id":5}"#)
    ))
    .await;
    assert_eq!(r.status, 400);
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("\"id\""), "{message}");
    let r = get("/trpc/things.getById").await;
    assert_eq!(r.status, 400, "missing input");
    let r = get("/trpc/things.optional").await;
    assert_eq!(r.json(), json!({"result":{"data":null}}));
}

#[tokio::test]
async fn batch_input_must_be_an_object() {
    let r = get("/trpc/things.getById,things.getAll?batch=1&input=%5B1%5D").await;
    assert_eq!(r.status, 207);
    assert_eq!(
        r.json()[0]["error"]["message"],
        "\"input\" needs to be an object when doing a batch call"
    );
    assert!(r.json()[1]["result"].is_object());
}

#[tokio::test]
async fn whole_request_errors_are_one_object_without_path() {
    let r = get("/trpc/things.getAll,things.create?batch=1").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"error":{"message":"Cannot mix procedure types in call: query, mutation","code":-32600,"data":{"code":"BAD_REQUEST","httpStatus":400}}}"#
    );
    let r = get("/trpc/a,b,c,d,e?batch=1").await;
    assert_eq!(
        r.json()["error"]["message"],
        "Batch call exceeds maximum size"
    );
    let r = get("/trpc/things.getAll?connectionParams=%7B%22a%22%3A1%7D").await;
    assert_eq!(r.json()["error"]["data"]["code"], "PARSE_ERROR");
}

#[tokio::test]
async fn payload_too_large_and_media_types() {
    let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(2000));
    let r = post("/trpc/things.create", &big).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"]["data"]["code"], "PAYLOAD_TOO_LARGE");
    let r = send(
        Request::post("/trpc/things.create")
            .header("content-type", "text/plain")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 415);
    assert_eq!(r.json()["error"]["code"], -32015);
    let r = send(
        Request::post("/trpc/things.create")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.json()["error"]["message"], "Missing content-type header");
}

#[tokio::test]
async fn head_is_204_without_body() {
    let r = send(
        Request::head("/trpc/things.getAll")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn panic_is_internal_error_for_that_call_only() {
    let r = get("/trpc/debug.crash,things.getAll?batch=1").await;
    assert_eq!(r.status, 207);
    let v = r.json();
    assert_eq!(v[0]["error"]["data"]["code"], "INTERNAL_SERVER_ERROR");
    assert!(
        !r.text().contains("secret"),
        "internal causes are never sent"
    );
    assert_eq!(v[1]["result"]["data"], json!(["a", "b"]));
}

#[tokio::test]
async fn subscription_in_batch_is_per_call_error() {
    let r = get("/trpc/things.count?batch=1").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()[0]["error"]["message"],
        "Cannot batch subscription calls"
    );
}

#[tokio::test]
async fn jsonl_stream_batch() {
    let input = enc(r#"{"1":{"id":"nope"}}"#);
    let req = Request::get(format!(
        "/trpc/things.getAll,things.getById?batch=1&input={input}"
    ))
    .header("trpc-accept", "application/jsonl")
    .body(Body::empty())
    .unwrap();
    let r = send(req).await;
    assert_eq!(r.status, 200);
    let text = r.text();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        r#"{"0":[[0],[null,0,0]],"1":[[0],[null,0,1]]}"#
    );
    let mut rest: Vec<Value> = lines.map(|l| serde_json::from_str(l).unwrap()).collect();
    rest.sort_by_key(|v| v[0].as_u64());
    assert_eq!(rest[0], json!([0, 0, [[{"result":{"data":["a","b"]}}]]]));
    assert_eq!(rest[1][2][0][0]["error"]["data"]["code"], "NOT_FOUND");
    let req = Request::get("/trpc/things.getAll")
        .header("trpc-accept", "application/jsonl")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(req).await.status, 400);
}

async fn sse(uri: &str, headers: &[(&str, &str)]) -> Reply {
    let accept = [("accept", "text/event-stream")];
    send(oneshot::get_with(uri, &[&accept, headers].concat())).await
}

#[tokio::test]
async fn sse_connected_tracked_events_and_return() {
    let r = sse(
        &format!("/trpc/things.count?input={}", enc(r#"{"from":1}"#)),
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "text/event-stream");
    assert_eq!(r.headers["cache-control"], "no-cache, no-transform");
    assert_eq!(
        r.text(),
        "event: connected\ndata: {\"reconnectAfterInactivityMs\":30000}\n\n\n\
         data: 1\nid: 1\n\n\ndata: 2\nid: 2\n\n\ndata: 3\nid: 3\n\n\n\
         event: return\ndata: \n\n\n"
    );
}

#[tokio::test]
async fn sse_resumes_from_header_query_or_input() {
    let input = enc(r#"{"from":1}"#);
    let r = sse(
        &format!("/trpc/things.count?input={input}"),
        &[("last-event-id", "5")],
    )
    .await;
    assert!(r.text().contains("data: 6\nid: 6\n"), "{}", r.text());
    let r = sse(
        &format!("/trpc/things.count?input={input}&lastEventId=9"),
        &[],
    )
    .await;
    assert!(r.text().contains("data: 10\nid: 10\n"), "{}", r.text());
    let r = sse(
        &format!(
            "/trpc/things.count?input={}",
            enc(r#"{"from":1,"lastEventId":"20"}"#)
        ),
        &[],
    )
    .await;
    assert!(r.text().contains("data: 21\nid: 21\n"), "{}", r.text());
}

#[tokio::test]
async fn sse_errors_are_200_with_serialized_error() {
    let r = sse("/trpc/things.count?input=%7B%7D", &[]).await;
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(text.starts_with("event: connected\n"), "{text}");
    assert!(
        text.contains("event: serialized-error\ndata: {\"message\":"),
        "{text}"
    );
    assert!(!text.contains("event: return"), "{text}");
    let r = sse("/trpc/things.fail", &[]).await;
    assert_eq!(
        r.text(),
        "event: connected\ndata: {\"reconnectAfterInactivityMs\":30000}\n\n\ndata: 1\n\n\n\
         event: serialized-error\ndata: {\"message\":\"failed at 1\",\"code\":-32009,\"data\":{\"code\":\"CONFLICT\",\"httpStatus\":409,\"path\":\"things.fail\"}}\n\n\n"
    );
    let r = send(
        Request::post("/trpc/things.fail")
            .header("content-type", "application/json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["allow"], "GET");
    assert!(r.text().contains("METHOD_NOT_SUPPORTED"));
}

#[tokio::test]
async fn sse_over_a_real_socket_pings_when_idle() {
    let mut r = Registry::new();
    r.subscription::<(), u64, _, _>("idle.forever", |_: Ctx<()>, _: ()| async {
        Ok(futures::stream::pending().boxed())
    });
    let mut config = TrpcConfig::default();
    config.sse.ping_interval = Some(std::time::Duration::from_millis(50));
    config.sse.reconnect_after_inactivity = Some(std::time::Duration::from_millis(500));
    let app = Trpc::new(Arc::new(r), (), config).router();
    let addr = serve(app).await;
    let res = reqwest::get(format!("http://{addr}/trpc/idle.forever"))
        .await
        .unwrap();
    let mut body = res.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("event: ping\ndata: \n\n\n") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(2), body.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(seen.starts_with("event: connected\ndata: {\"reconnectAfterInactivityMs\":500}\n\n\n"));
}

#[tokio::test]
async fn method_mismatch_put_is_405() {
    let r = send(
        Request::builder()
            .method(Method::PUT)
            .uri("/trpc/things.getAll")
            .header("content-type", "application/json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 405);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Unsupported PUT-request")
    );
}
