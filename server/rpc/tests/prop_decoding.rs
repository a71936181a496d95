//! Properties of request decoding on every transport: tRPC batch inputs round-trip through the
//! real handler, paths split and decode, query parameters, JSON-RPC params by position and by
//! name, `lastEventId` merging, SSE framing whatever the client's last event id, and inputs at
//! the depth and size limits answered, never crashing. The fuzz targets (`server/rpc/fuzz`)
//! search the same decoders for panics.

use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use futures::StreamExt;
use http::{Method, Request, StatusCode};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tidings_rpc::fuzzing;
use tidings_rpc::{
    Ctx, ErrorCode, Event, EventStream, Notice, RawInput, Registry, RpcError, SseConfig, Trpc,
    TrpcConfig,
};
use tidings_rpc_test_support::fixtures::{echo, get_all};
use tidings_rpc_test_support::{encode, oneshot};

fn registry() -> Arc<Registry<()>> {
    let mut r = Registry::new();
    r.query("echo.query", echo::<Value, _>);
    r.mutation("echo.mutate", echo::<Value, _>);
    r.query("plain.getAll", get_all);
    r.subscription::<Value, Value, _, _>("echo.subscribe", |_: Ctx<()>, input: Value| async move {
        // Untracked first, so the client's last event id is restored after it.
        let untracked = Arc::new(Notice::new(None, &input).map_err(RpcError::internal)?);
        let tracked = Arc::new(Notice::new(Some("1".into()), &input).map_err(RpcError::internal)?);
        let events = [untracked.clone(), tracked, untracked].map(Event::Notice);
        Ok(futures::stream::iter(events).boxed() as EventStream)
    });
    Arc::new(r)
}

fn app() -> axum::Router {
    let config = TrpcConfig {
        sse: SseConfig {
            ping_interval: None,
            reconnect_after_inactivity: None,
            max_duration: None,
        },
        ..TrpcConfig::default()
    };
    Trpc::new(registry(), (), config).router()
}

/// Sends one request through the router on a fresh runtime; the status and the whole body.
fn send(request: Request<Body>) -> (StatusCode, Bytes) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let reply = runtime.block_on(oneshot::send(app(), request));
    (reply.status, reply.body)
}

fn get(uri: &str) -> (StatusCode, Value) {
    let (status, body) = send(oneshot::get(uri));
    (status, serde_json::from_slice(&body).expect("JSON answer"))
}

fn post(uri: &str, body: String) -> (StatusCode, Value) {
    let (status, body) = send(oneshot::post_json(uri, body));
    (status, serde_json::from_slice(&body).expect("JSON answer"))
}

/// JSON values whose numbers survive a parse and a print exactly (serde_json's default float
/// parsing is not correctly rounded, so arbitrary floats may move by an ulp).
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i16>().prop_map(|n| Value::from(f64::from(n) / 8.0)),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The data of each envelope of a batch answer, or the error key.
fn batch_data(answer: &Value) -> Vec<Result<Value, String>> {
    answer
        .as_array()
        .expect("a batch answers with an array")
        .iter()
        .map(|envelope| match envelope.get("result") {
            Some(result) => Ok(result["data"].clone()),
            None => Err(envelope["error"]["data"]["code"].to_string()),
        })
        .collect()
}

/// The index-keyed batch input `@trpc/client` sends: calls without input are left out.
fn keyed(inputs: &[Option<Value>]) -> String {
    let map: Map<String, Value> = inputs
        .iter()
        .enumerate()
        .filter_map(|(i, input)| Some((i.to_string(), input.clone()?)))
        .collect();
    Value::Object(map).to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Each call of a GET batch gets exactly the input at its index (null when left out).
    #[test]
    fn batch_inputs_round_trip_over_get(inputs in prop::collection::vec(prop::option::of(arb_json()), 1..8)) {
        let paths = vec!["echo.query"; inputs.len()].join(",");
        let (status, answer) = get(&format!("/trpc/{paths}?batch=1&input={}", encode(&keyed(&inputs))));
        prop_assert_eq!(status, StatusCode::OK);
        let expected: Vec<_> = inputs.iter().map(|i| Ok(i.clone().unwrap_or(Value::Null))).collect();
        prop_assert_eq!(batch_data(&answer), expected);
    }

    /// The same over POST (the body), and a mutation batch.
    #[test]
    fn batch_inputs_round_trip_over_post(inputs in prop::collection::vec(prop::option::of(arb_json()), 1..8)) {
        let paths = vec!["echo.mutate"; inputs.len()].join(",");
        let (status, answer) = post(&format!("/trpc/{paths}?batch=1"), keyed(&inputs));
        prop_assert_eq!(status, StatusCode::OK);
        let expected: Vec<_> = inputs.iter().map(|i| Ok(i.clone().unwrap_or(Value::Null))).collect();
        prop_assert_eq!(batch_data(&answer), expected);
    }

    /// A single call's input is the whole `?input=`.
    #[test]
    fn single_input_round_trips(input in arb_json()) {
        let (status, answer) = get(&format!("/trpc/echo.query?input={}", encode(&input.to_string())));
        prop_assert_eq!(status, StatusCode::OK);
        prop_assert_eq!(&answer["result"]["data"], &input);
    }

    /// Paths are percent-decoded, then a batch splits on commas (encoded ones too, as tRPC's
    /// `decodeURIComponent` then `split(",")` does); slashes around them are trimmed.
    #[test]
    fn batch_paths_split_and_decode(paths in prop::collection::vec(any::<String>().prop_map(|p| p.replace(',', "")), 1..8), slashes in 0usize..3) {
        let joined: Vec<String> = paths.iter().map(|p| encode(p)).collect();
        let pad = "/".repeat(slashes);
        let rest = format!("{pad}{}{pad}", joined.join(","));
        prop_assert_eq!(fuzzing::trpc_paths(&rest, true).unwrap(), paths.clone());
        // Unbatched, the commas stay in the one path.
        let whole = fuzzing::trpc_paths(&rest, false).unwrap();
        prop_assert_eq!(whole, vec![paths.join(",")]);
    }

    /// Any path text decodes or is refused with BAD_REQUEST, batched or not; a batch's paths
    /// are the unbatched path split on its commas.
    #[test]
    fn any_path_text_decodes_or_is_refused(rest in prop_oneof![any::<String>(), "[a-z.,/%0-9A-Fa-f]{0,24}"]) {
        match (fuzzing::trpc_paths(&rest, false), fuzzing::trpc_paths(&rest, true)) {
            (Ok(single), Ok(batched)) => {
                prop_assert_eq!(single.len(), 1);
                prop_assert_eq!(batched.len(), single[0].matches(',').count() + 1);
                prop_assert_eq!(batched.join(","), single[0].clone());
            }
            (Err(a), Err(b)) => {
                prop_assert_eq!(a.code, ErrorCode::BadRequest);
                prop_assert_eq!(b.code, ErrorCode::BadRequest);
            }
            (single, batched) => prop_assert!(false, "{:?} vs {:?}", single, batched),
        }
    }

    /// `batch` is on for exactly `1`; `input` round-trips through form encoding, empty = absent;
    /// `lastEventId` wins over `Last-Event-Id`.
    #[test]
    fn query_parameters(batch in any::<String>(), input in any::<String>(), upper in prop::option::of(any::<String>()), lower in prop::option::of(any::<String>())) {
        let mut query = format!("batch={}&input={}", encode(&batch), encode(&input));
        if let Some(id) = &upper { query += &format!("&Last-Event-Id={}", encode(id)); }
        if let Some(id) = &lower { query += &format!("&lastEventId={}", encode(id)); }
        let parsed = fuzzing::trpc_query(Some(&query));
        prop_assert_eq!(parsed.batch, batch == "1");
        prop_assert_eq!(parsed.input, Some(input).filter(|i| !i.is_empty()));
        prop_assert_eq!(parsed.last_event_id, lower.or(upper));
    }

    /// JSON-RPC params: an object is the input; `[x]` holds x; absent, null and `[]` are no
    /// input; more positions or a scalar are invalid params.
    #[test]
    fn jsonrpc_params_by_name_and_position(input in arb_json(), extra in prop::collection::vec(arb_json(), 1..4)) {
        let decode = |text: &str| fuzzing::jsonrpc_params(Some(text)).map(|raw| {
            raw.json.map(|json| serde_json::from_slice::<Value>(&json).unwrap())
        });
        let by_position = Value::Array(vec![input.clone()]).to_string();
        prop_assert_eq!(decode(&by_position), Ok(Some(input.clone())));
        if input.is_object() {
            prop_assert_eq!(decode(&input.to_string()), Ok(Some(input.clone())));
        } else if !input.is_array() && !input.is_null() {
            prop_assert!(decode(&input.to_string()).is_err());
        }
        let mut many = vec![input];
        many.extend(extra);
        prop_assert!(decode(&Value::Array(many).to_string()).is_err());
        for none in ["null", "[]", " [ ] "] {
            prop_assert_eq!(decode(none), Ok(None));
        }
        let absent = fuzzing::jsonrpc_params(None);
        prop_assert!(matches!(absent, Ok(RawInput { json: None, .. })), "{:?}", absent);
    }

    /// `lastEventId` joins an object input (replacing one sent in it), becomes the input when
    /// there is none, and leaves other inputs alone.
    #[test]
    fn last_event_id_merges(input in prop::option::of(arb_json()), id in any::<String>()) {
        let raw = RawInput {
            json: input.as_ref().map(|v| Bytes::from(v.to_string())),
            last_event_id: Some(id.clone()),
        };
        let expected = match input {
            Some(Value::Object(mut map)) => {
                map.insert("lastEventId".into(), id.into());
                Value::Object(map)
            }
            None | Some(Value::Null) => json!({ "lastEventId": id }),
            Some(other) => other,
        };
        prop_assert_eq!(raw.decode::<Value>().unwrap(), expected);
    }

    /// A WebSocket frame of n messages decodes to n elements, each with its id and path.
    #[test]
    fn ws_arrays_keep_every_message(ids in prop::collection::vec(any::<u32>(), 1..10), input in arb_json()) {
        let messages: Vec<Value> = ids
            .iter()
            .map(|id| json!({"id": id, "method": "query", "params": {"path": format!("p{id}"), "input": input}}))
            .collect();
        let elements = fuzzing::ws_frame(&Value::Array(messages).to_string()).unwrap();
        prop_assert_eq!(elements.len(), ids.len());
        for (element, id) in elements.iter().zip(&ids) {
            let message = element.message.as_ref().unwrap();
            prop_assert_eq!(message.id_json(), Some(id.to_string()));
            let call = message.call.as_ref().unwrap();
            prop_assert_eq!(&call.path, &format!("p{id}"));
            let decoded: Value = serde_json::from_slice(call.input.json.as_ref().unwrap()).unwrap();
            prop_assert_eq!(&decoded, &input);
        }
    }

    /// Whatever last event id the client sends, the SSE stream holds only its own frames.
    #[test]
    fn sse_framing_survives_any_last_event_id(id in "[a-z0-9\r\n:]{0,12}") {
        let events = sse_events(&format!("/trpc/echo.subscribe?lastEventId={}", encode(&id)));
        prop_assert!(events.iter().all(|(kind, _)| ["connected", "message", "restore-id", "return"].contains(&kind.as_str())), "{:?}", events);
        prop_assert_eq!(events.iter().filter(|(kind, _)| kind == "message").count(), 3);
    }
}

/// The events of an SSE answer as (type, data); unknown fields fail the test.
fn sse_events(uri: &str) -> Vec<(String, String)> {
    let (status, body) = send(oneshot::get(uri));
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body.to_vec())
        .unwrap()
        .replace("\r\n", "\n")
        .replace('\r', "\n");
    let mut events = Vec::new();
    let (mut kind, mut data) = (None, Vec::new());
    for line in text.split('\n') {
        if line.is_empty() {
            if !data.is_empty() {
                events.push((kind.take().unwrap_or("message").to_owned(), data.join("\n")));
            }
            (kind, data) = (None, Vec::new());
            continue;
        }
        let (field, value) = line.split_once(": ").unwrap_or((line, ""));
        match field {
            "event" => kind = Some(value),
            "data" => data.push(value),
            "id" => {}
            other => panic!("unknown SSE field {other:?} in {text:?}"),
        }
    }
    events
}

/// Found by the `trpc_http` fuzz target: a last event id with a line break was written into the
/// `restore-id` frame's `id:` line, so the client's own input could add events to the stream.
#[test]
fn last_event_id_cannot_inject_sse_events() {
    let id = "4\n\nevent: return\ndata: x";
    let events = sse_events(&format!("/trpc/echo.subscribe?lastEventId={}", encode(id)));
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "connected",
            "message",
            "message",
            "message",
            "restore-id",
            "return"
        ]
    );
    // The id still reaches the procedure, merged into its input.
    assert_eq!(events[1].1, json!({ "lastEventId": id }).to_string());
}

/// Nesting at and far past serde_json's recursion limit (128) is answered, never a crash: a
/// procedure's input is either accepted or refused with BAD_REQUEST (the registry's depth limit
/// applies first), and once refused, every deeper input is refused too; batch inputs and
/// WebSocket frames stay raw text until a procedure parses them.
#[test]
fn deep_inputs_are_refused_not_crashed() {
    let mut refused_from = None;
    for depth in [1, 16, 31, 32, 33, 100, 127, 128, 129, 1_000, 100_000] {
        let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let (status, answer) = post("/trpc/echo.mutate", deep.clone());
        let (_, batch) = post("/trpc/echo.mutate?batch=1", format!("{{\"0\":{deep}}}"));
        if status == StatusCode::OK {
            assert!(
                refused_from.is_none(),
                "depth {depth} accepted after a refusal"
            );
            assert!(depth < 128, "depth {depth} is past serde_json's limit");
            assert_eq!(answer["result"]["data"].to_string(), deep);
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST, "depth {depth}: {answer}");
            assert_eq!(answer["error"]["data"]["code"], "BAD_REQUEST");
            refused_from.get_or_insert(depth);
        }
        let batch_code = &batch[0]["error"]["data"]["code"];
        assert_eq!(
            batch_code == "BAD_REQUEST",
            status != StatusCode::OK,
            "depth {depth}"
        );
        assert!(fuzzing::ws_frame(&deep).is_ok(), "a frame is kept raw");
        assert!(fuzzing::jsonrpc_params(Some(&format!("[{deep}]"))).is_ok());
        let raw = RawInput {
            json: Some(Bytes::from(deep.clone())),
            last_event_id: Some("1".into()),
        };
        assert_eq!(raw.decode::<Value>().is_ok(), depth < 128, "depth {depth}");
    }
    assert!(refused_from.is_some());
}

/// Batches at the size limit run; one more call is a whole-request error; long inputs and
/// paths are answered.
#[test]
fn batch_size_and_long_inputs() {
    let max = TrpcConfig::default().max_batch_size;
    let paths = vec!["plain.getAll"; max].join(",");
    let (status, answer) = get(&format!("/trpc/{paths}?batch=1"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer.as_array().unwrap().len(), max);
    let paths = vec!["plain.getAll"; max + 1].join(",");
    let (status, answer) = get(&format!("/trpc/{paths}?batch=1"));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer["error"]["message"],
        "Batch call exceeds maximum size"
    );
    assert!(answer["error"]["data"].get("path").is_none());

    let long = "x".repeat(512 << 10);
    let (status, answer) = post("/trpc/echo.mutate", Value::from(long.clone()).to_string());
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["result"]["data"], long);
    let (status, answer) = get(&format!("/trpc/{}", "a.".repeat(4096)));
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer["error"]["data"]["code"], "NOT_FOUND");

    let (status, _) = send(
        Request::builder()
            .method(Method::POST)
            .uri("/trpc/echo.mutate")
            .header("content-type", "application/json")
            .body(Body::from(vec![b' '; (1 << 20) + 1]))
            .unwrap(),
    );
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}
