//! tRPC over HTTP: one fuzz input is a request written the way it travels, split on its
//! structure:
//!
//! ```text
//! METHOD /trpc/a.b,c.d?batch=1&input=…     (the request line; a target without `/` goes under /trpc/)
//! header: value                             (any number of header lines)
//!                                           (a blank line, then the body, if any)
//! {"0":…}
//! ```
//!
//! It goes through the real router, and the answer must be well formed: JSON envelopes whose
//! error shapes carry the right path, one envelope per path of a batch, the status the
//! envelopes imply, JSONL with one line per call, SSE events of known types; echo procedures
//! return exactly the input the decoders found for their index.

#![no_main]

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tidings_rpc::fuzzing::{self, TrpcQuery};
use tidings_rpc_fuzz::{
    ECHO_MUTATE, ECHO_QUERY, Reply, check_envelope, check_error_shape, json, same_json, send, trpc,
};

fuzz_target!(|data: &[u8]| {
    let Some((request, body)) = parse(data) else {
        return;
    };
    let sent = Sent::of(&request, body);
    let reply = send(trpc(), request);
    check(&sent, &reply);
});

/// Splits the input into a request; `None` when it is not one hyper would pass on.
fn parse(data: &[u8]) -> Option<(Request<Body>, Vec<u8>)> {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &[][..]),
    };
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.split('\n');
    let first = lines.next()?;
    let (method, target) = first.split_once(' ').unwrap_or(("GET", first));
    let uri = if target.starts_with('/') {
        target.to_owned()
    } else {
        format!("/trpc/{target}")
    };
    let mut builder = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).ok()?)
        .uri(uri.parse::<http::Uri>().ok()?);
    for line in lines {
        let (name, value) = line.split_once(':')?;
        builder = builder.header(name.trim(), value.trim());
    }
    let request = builder.body(Body::from(body.to_vec())).ok()?;
    Some((request, body.to_vec()))
}

/// What the request asked for, as the engine's own decoders read it.
struct Sent {
    method: Method,
    /// `None` when the request is not for the tRPC routes.
    rest: Option<String>,
    query: TrpcQuery,
    jsonl: bool,
    upgrade: bool,
    conditional: bool,
    body: Vec<u8>,
}

impl Sent {
    fn of(request: &Request<Body>, body: Vec<u8>) -> Self {
        let path = request.uri().path();
        let rest = if path == "/trpc" {
            Some(String::new())
        } else {
            path.strip_prefix("/trpc/").map(str::to_owned)
        };
        let has = |name: header::HeaderName, needle: &str| {
            request
                .headers()
                .get_all(name)
                .iter()
                .any(|v| v.to_str().is_ok_and(|s| s.contains(needle)))
        };
        let jsonl = has(
            header::HeaderName::from_static("trpc-accept"),
            "application/jsonl",
        ) || has(header::ACCEPT, "application/jsonl");
        Sent {
            method: request.method().clone(),
            rest,
            query: fuzzing::trpc_query(request.uri().query()),
            jsonl,
            upgrade: request.headers().contains_key(header::UPGRADE),
            conditional: request.headers().contains_key(header::IF_NONE_MATCH),
            body,
        }
    }

    /// The input text the handler reads: `?input=` for GET, the body for POST.
    fn input(&self) -> Option<&[u8]> {
        let text = match self.method {
            Method::GET => self.query.input.as_deref().map(str::as_bytes),
            Method::POST => Some(&self.body[..]),
            _ => None,
        };
        text.filter(|t| !t.is_empty())
    }

    /// The input an echo procedure at `index` must return (`null` when it got none).
    fn echoed(&self, index: usize) -> Value {
        let Some(text) = self.input() else {
            return Value::Null;
        };
        let value = json(text, "an input an echo procedure accepted");
        if self.query.batch {
            value[index.to_string()].clone()
        } else {
            value
        }
    }
}

fn check(sent: &Sent, reply: &Reply) {
    let Some(rest) = &sent.rest else { return };
    if sent.method == Method::HEAD {
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        assert!(reply.body.is_empty());
        return;
    }
    let content_type = reply.headers.get(header::CONTENT_TYPE);
    if sent.upgrade && content_type.is_none_or(|v| v != "application/json") {
        return; // a refused WebSocket upgrade: axum's own plain-text rejection
    }
    if content_type.is_some_and(|v| v == "text/event-stream") {
        let paths = fuzzing::trpc_paths(rest, false).expect("an SSE path was decoded");
        return check_sse(&reply.body, &paths[0]);
    }
    if reply.status == StatusCode::NOT_MODIFIED {
        assert!(sent.conditional, "304 without if-none-match");
        return assert!(reply.body.is_empty());
    }
    assert_eq!(
        content_type.map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
    let paths = fuzzing::trpc_paths(rest, sent.query.batch);
    match serde_json::from_slice::<Value>(&reply.body) {
        Ok(value) => check_json(sent, reply.status, &value, paths.ok()),
        Err(_) => {
            assert!(
                sent.jsonl && sent.query.batch,
                "body is not JSON: {reply:?}"
            );
            check_jsonl(sent, reply, &paths.expect("JSONL paths were decoded"));
        }
    }
}

/// A whole-request error (one object, no path), a single call's envelope, or a batch array.
fn check_json(sent: &Sent, status: StatusCode, value: &Value, paths: Option<Vec<String>>) {
    if let Some(error) = value.get("error")
        && error["data"].get("path").is_none()
    {
        assert_eq!(check_error_shape(error, None), status.as_u16());
        return;
    }
    let paths = paths.expect("calls ran, so their paths were decoded");
    let envelopes: Vec<&Value> = match value {
        Value::Array(items) => {
            assert!(sent.query.batch, "array answer to a single call");
            items.iter().collect()
        }
        _ => {
            assert!(!sent.query.batch, "bare envelope answer to a batch");
            vec![value]
        }
    };
    assert_eq!(envelopes.len(), paths.len(), "one envelope per path");
    let mut statuses = Vec::new();
    for (index, (envelope, path)) in envelopes.iter().zip(&paths).enumerate() {
        match check_envelope(envelope, path) {
            Ok(data) => {
                statuses.push(200);
                if path == ECHO_QUERY || path == ECHO_MUTATE {
                    let echoed = sent.echoed(index);
                    assert!(
                        same_json(data, &echoed),
                        "echo of call {index}: {data} != {echoed}"
                    );
                }
            }
            Err(status) => statuses.push(status),
        }
    }
    let expected = if statuses.iter().all(|s| *s == statuses[0]) {
        statuses[0]
    } else {
        207
    };
    assert_eq!(status.as_u16(), expected, "status of {value}");
}

/// `httpBatchStreamLink`: a head line promising every call, then one line per call.
fn check_jsonl(sent: &Sent, reply: &Reply, paths: &[String]) {
    assert_eq!(reply.status, StatusCode::OK);
    let text = std::str::from_utf8(&reply.body).expect("JSONL is UTF-8");
    let lines: Vec<&str> = text
        .strip_suffix('\n')
        .expect("ends a line")
        .split('\n')
        .collect();
    let head = json(lines[0].as_bytes(), "the JSONL head");
    assert_eq!(
        head.as_object().map(|o| o.len()),
        Some(paths.len()),
        "{head}"
    );
    assert_eq!(lines.len(), paths.len() + 1, "one line per call");
    let mut seen = vec![false; paths.len()];
    for line in &lines[1..] {
        let line = json(line.as_bytes(), "a JSONL line");
        let index = line[0].as_u64().expect("line index") as usize;
        assert!(
            !std::mem::replace(&mut seen[index], true),
            "index {index} twice"
        );
        assert_eq!(line[1], 0);
        if let Ok(data) = check_envelope(&line[2][0][0], &paths[index])
            && (paths[index] == ECHO_QUERY || paths[index] == ECHO_MUTATE)
        {
            let echoed = sent.echoed(index);
            assert!(
                same_json(data, &echoed),
                "JSONL echo {index}: {data} != {echoed}"
            );
        }
    }
}

/// Server-Sent Events: `connected` first; then notices (JSON data), `serialized-error`,
/// `restore-id` or `return`, and nothing else (no field or event the client's input injected).
fn check_sse(body: &[u8], path: &str) {
    let text = std::str::from_utf8(body).expect("SSE is UTF-8");
    // A CR ends an SSE line as well; the server writes LF only, so a CR is injected framing.
    assert!(!text.contains('\r'), "CR in {text:?}");
    let mut events = Vec::new();
    let (mut kind, mut data, mut id): (Option<&str>, Vec<&str>, Option<&str>) =
        (None, vec![], None);
    for line in text.split('\n') {
        if line.is_empty() {
            if !data.is_empty() {
                events.push((kind.unwrap_or("message"), data.join("\n"), id));
            }
            (kind, data) = (None, vec![]);
            continue;
        }
        let (field, value) = line.split_once(": ").unwrap_or((line, ""));
        match field {
            "event" => kind = Some(value),
            "data" => data.push(value),
            "id" => id = Some(value),
            other => panic!("unknown SSE field {other:?} in {text:?}"),
        }
    }
    assert_eq!(events.first().map(|e| e.0), Some("connected"), "{text:?}");
    for (kind, data, _) in &events[1..] {
        match *kind {
            "message" => drop(json(data.as_bytes(), "an SSE notice")),
            "serialized-error" => drop(check_error_shape(
                &json(data.as_bytes(), "an SSE error"),
                Some(path),
            )),
            "restore-id" | "return" => assert!(data.is_empty(), "{text:?}"),
            other => panic!("unknown SSE event {other:?} in {text:?}"),
        }
    }
}
