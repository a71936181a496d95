//! tRPC over WebSocket: one fuzz input is one text frame. It is decoded as the connection
//! decodes it (a `connectionParams` frame, then a message or an array of messages), and every
//! decoded message must agree with the JSON it came from; the replies the server would render
//! for it must be JSON echoing its id.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tidings_rpc::fuzzing::{self, WsMessage};
use tidings_rpc::{ErrorCode, RpcError};
use tidings_rpc_fuzz::check_error_shape;

fuzz_target!(|data: &[u8]| {
    // Text frames are UTF-8 by the WebSocket protocol; others never reach the decoders.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let value = serde_json::from_str::<Value>(text).ok();
    check_connection_params(text, value.as_ref());
    check_frame(text, value.as_ref());
});

/// `{"method":"connectionParams","data":{…strings…} | null}`, or a `PARSE_ERROR`.
fn check_connection_params(text: &str, value: Option<&Value>) {
    match fuzzing::ws_connection_params(text) {
        Ok(params) => {
            let Some(value) = value else { return }; // nested deeper than serde_json's limit
            let data = &value["data"];
            match params {
                None => assert!(data.is_null(), "no params from {text}"),
                Some(params) => {
                    let expected: Option<Vec<(&str, &str)>> = data.as_object().map(|o| {
                        o.iter()
                            .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("\u{0}!")))
                            .collect()
                    });
                    let got: Vec<(&str, &str)> = params
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    let mut expected = expected.expect("params come from an object");
                    expected.sort();
                    assert_eq!(got, expected, "params of {text}");
                }
            }
        }
        Err(error) => assert_eq!(error.code, ErrorCode::ParseError, "{error:?}"),
    }
}

/// One frame: as many elements as the array (or one), each consistent with its JSON.
fn check_frame(text: &str, value: Option<&Value>) {
    let elements = match fuzzing::ws_frame(text) {
        Ok(elements) => elements,
        Err(_) => {
            assert!(value.is_none(), "valid JSON refused: {text}");
            return;
        }
    };
    let Some(value) = value else { return };
    let raws: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    assert_eq!(elements.len(), raws.len(), "one element per message");
    for (element, raw) in elements.iter().zip(raws) {
        match &element.message {
            Ok(message) => check_message(message, raw, element.request_id.as_ref()),
            Err(reason) => assert!(!reason.is_empty()),
        }
    }
}

fn check_message(message: &WsMessage, raw: &Value, request_id: Option<&(String, bool)>) {
    let id = message.id_json();
    match &id {
        Some(id) => {
            let id_value: Value = serde_json::from_str(id).expect("an id is JSON");
            assert!(id_value.is_number() || id_value.is_string(), "id {id}");
            assert_eq!(id_value, raw["id"], "id of {raw}");
        }
        None => assert!(raw["id"].is_null()),
    }
    assert_eq!(
        message.jsonrpc,
        raw.get("jsonrpc").is_some(),
        "jsonrpc of {raw}"
    );
    match (&message.call, &id) {
        (Some(_), Some(id)) => {
            assert_eq!(
                request_id,
                Some(&(id.clone(), message.jsonrpc)),
                "request id of {raw}"
            )
        }
        _ => assert_eq!(request_id, None, "request id of {raw}"),
    }
    let path = message.call.as_ref().map(|call| {
        assert_eq!(raw["params"]["path"].as_str(), Some(call.path.as_str()));
        if let Some(input) = &call.input.json {
            let input: Value = serde_json::from_slice(input).expect("the input is JSON");
            assert_eq!(input, raw["params"]["input"]);
        }
        call.path.as_str()
    });
    let reply = |text: String| {
        let reply: Value = serde_json::from_str(&text).expect("a reply is JSON");
        let echoed = id
            .as_deref()
            .map_or(Value::Null, |id| serde_json::from_str(id).unwrap());
        assert_eq!(reply["id"], echoed, "reply id: {text}");
        assert_eq!(reply.get("jsonrpc").is_some(), message.jsonrpc, "{text}");
        reply
    };
    let error = reply(message.error_reply(&RpcError::bad_request("refused"), path));
    check_error_shape(&error["error"], path);
    let data = reply(message.data_reply(br#"{"ok":[1]}"#));
    assert_eq!(data["result"]["data"]["ok"][0], 1);
}
