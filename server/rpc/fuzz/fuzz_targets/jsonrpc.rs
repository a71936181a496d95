//! JSON-RPC 2.0: one fuzz input is one request body, POSTed to the real router (jsonrpsee with
//! the engine's methods), exactly as a client's request arrives. Every answer must be a
//! JSON-RPC response (or batch of them) whose errors carry the shared table's data; echo
//! methods return the input their params held. The params of every request object are also
//! decoded directly and checked against the by-position / by-name rules.

#![no_main]

use axum::body::Body;
use http::{Request, StatusCode, header};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use serde_json::value::RawValue;
use tidings_rpc::fuzzing;
use tidings_rpc_fuzz::{ECHO_MUTATE, ECHO_QUERY, MAX_BODY_BYTES, json, jsonrpc, same_json, send};

fuzz_target!(|data: &[u8]| {
    check_params(data);
    let request = Request::post("/rpc")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(data.to_vec()))
        .expect("a request");
    let reply = send(jsonrpc(), request);
    if data.len() > MAX_BODY_BYTES {
        assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
        return;
    }
    if reply.status == StatusCode::BAD_REQUEST {
        // jsonrpsee answers a body that is no request at all with one error and HTTP 400.
        let response = json(&reply.body, "a JSON-RPC error");
        check_response(&response);
        let code = response["error"]["code"].as_i64();
        assert!(matches!(code, Some(-32700 | -32600)), "{response}");
        return;
    }
    if reply.status == StatusCode::NO_CONTENT {
        // Only notifications go unanswered: 204 and no body.
        assert!(reply.body.is_empty(), "{reply:?}");
        assert!(
            only_notifications(data),
            "unanswered: {}",
            String::from_utf8_lossy(data)
        );
        return;
    }
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    if reply.body.is_empty() || reply.body[..] == b"null"[..] {
        // A call jsonrpsee reads as no request object at all (members repeated, strings not
        // UTF-8) is run as a notification before the engine sees it, and left unanswered.
        assert!(
            only_notifications(data),
            "unanswered: {}",
            String::from_utf8_lossy(data)
        );
        return;
    }
    match json(&reply.body, "a JSON-RPC answer") {
        Value::Array(responses) => {
            assert!(!responses.is_empty(), "empty batch answer");
            responses.iter().for_each(check_response);
        }
        response => {
            check_response(&response);
            check_echo(data, &response);
        }
    }
});

/// Whether `data` holds nothing but calls without an `id` member. jsonrpsee reads a call that
/// is no valid request object to it as a notification (run, never answered): members repeated
/// or strings not UTF-8. (An id it cannot hold — `-1`, `1.5` — is refused before it with
/// -32600 and HTTP 400, so such calls are never silently run.)
fn only_notifications(data: &[u8]) -> bool {
    if std::str::from_utf8(data).is_err() {
        return true;
    }
    // jsonrpsee reads a body with any ASCII whitespace around it (form feed included).
    let data = data.trim_ascii();
    #[derive(serde::Deserialize)]
    struct Call {
        #[serde(default)]
        id: Option<Value>,
        #[serde(default)]
        #[allow(dead_code)]
        jsonrpc: Option<serde::de::IgnoredAny>,
        #[serde(default)]
        #[allow(dead_code)]
        method: Option<serde::de::IgnoredAny>,
        #[serde(default)]
        #[allow(dead_code)]
        params: Option<serde::de::IgnoredAny>,
    }
    let notification = |raw: &RawValue| match serde_json::from_str::<Call>(raw.get()) {
        Ok(call) => call.id.is_none(),
        Err(_) => true,
    };
    match serde_json::from_slice::<Vec<&RawValue>>(data) {
        Ok(calls) => !calls.is_empty() && calls.into_iter().all(notification),
        Err(_) => serde_json::from_slice::<&RawValue>(data).is_ok_and(notification),
    }
}

/// `{"jsonrpc":"2.0","id":…,"result":…}` or `{…,"error":{code,message,data?}}`.
fn check_response(response: &Value) {
    let object = response
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {response}"));
    assert_eq!(
        object.get("jsonrpc"),
        Some(&Value::from("2.0")),
        "{response}"
    );
    let id = object
        .get("id")
        .unwrap_or_else(|| panic!("no id: {response}"));
    assert!(
        id.is_null() || id.is_number() || id.is_string(),
        "{response}"
    );
    match (object.get("result"), object.get("error")) {
        (Some(_), None) => {}
        (None, Some(error)) => {
            assert!(error["code"].is_i64(), "{response}");
            assert!(error["message"].is_string(), "{response}");
            if let Some(data) = error.get("data").filter(|d| d.get("httpStatus").is_some()) {
                assert!(data["code"].is_string(), "{response}");
                assert!(data["path"].is_string(), "{response}");
            }
        }
        _ => panic!("neither result nor error: {response}"),
    }
}

/// A well-formed call of an echo method answers with the input its params hold.
fn check_echo(data: &[u8], response: &Value) {
    /// A request object; members may not repeat.
    #[derive(serde::Deserialize)]
    struct Call {
        jsonrpc: String,
        id: Value,
        method: String,
        #[serde(default)]
        params: Value,
    }
    let Ok(sent) = serde_json::from_slice::<Call>(data) else {
        return;
    };
    if sent.jsonrpc != "2.0"
        || !(sent.method == ECHO_QUERY || sent.method == ECHO_MUTATE)
        || !(sent.id.is_u64() || sent.id.is_string())
    {
        return;
    }
    assert_eq!(response["id"], sent.id, "{response}");
    let input = match sent.params {
        Value::Null => Value::Null,
        params @ Value::Object(_) => params,
        Value::Array(items) if items.len() <= 1 => items.into_iter().next().unwrap_or(Value::Null),
        _ => return assert!(response.get("error").is_some(), "{response}"),
    };
    let result = &response["result"];
    assert!(
        same_json(result, &input),
        "echo of {}: {result}",
        String::from_utf8_lossy(data)
    );
}

/// The by-name / by-position rules, applied to the raw `params` text as jsonrpsee hands it on.
fn check_params(data: &[u8]) {
    #[derive(serde::Deserialize)]
    struct Call<'a> {
        #[serde(borrow)]
        params: Option<&'a RawValue>,
    }
    let Ok(call) = serde_json::from_slice::<Call<'_>>(data) else {
        return;
    };
    let text = call.params.map(RawValue::get);
    let input = fuzzing::jsonrpc_params(text);
    let Some(params) = text.and_then(|t| serde_json::from_str::<Value>(t).ok()) else {
        return; // absent, or nested deeper than serde_json's limit
    };
    let expected = match &params {
        Value::Null => Ok(None),
        Value::Object(_) => Ok(Some(params.clone())),
        Value::Array(items) if items.len() <= 1 => Ok(items.first().cloned()),
        _ => Err(()),
    };
    let got = input.map_err(drop).map(|input| {
        input
            .json
            .map(|json| serde_json::from_slice::<Value>(&json).expect("an input is JSON"))
    });
    assert_eq!(got, expected, "params {params}");
}
