//! A procedure's raw input: one fuzz input is
//!
//! ```text
//! id 42                 (the last event id the transport found; any other first line: none)
//! {"types":["volumes"]} (after the first line break: the input JSON; no line break: no input)
//! ```
//!
//! decoded as procedures decode it, untyped and typed. The `lastEventId` merge must follow
//! tRPC's rule, errors must be the engine's BAD_REQUEST input errors, and an input-less
//! procedure must accept anything.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::{Value, json};
use tidings_rpc::{ErrorCode, RawInput, RpcError};

/// An input shaped like a resumable subscription's.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Resume {
    #[serde(default)]
    last_event_id: Option<String>,
    #[serde(default)]
    types: Option<Vec<String>>,
}

fuzz_target!(|data: &[u8]| {
    let (first, json_text) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], Some(&data[at + 1..])),
        None => (data, None),
    };
    let last_event_id = first
        .strip_prefix(b"id ")
        .map(|id| String::from_utf8_lossy(id).into_owned());
    let raw = RawInput {
        json: json_text.map(Bytes::copy_from_slice),
        last_event_id: last_event_id.clone(),
    };
    raw.decode::<()>()
        .expect("an input-less procedure takes anything");
    let untyped = raw.decode::<Value>();
    if let Err(error) = &untyped {
        check_error(error);
    }
    let parsed = serde_json::from_slice::<Value>(json_text.unwrap_or(b"null"));
    match (&last_event_id, parsed) {
        (_, Err(_)) => assert!(untyped.is_err(), "accepted invalid JSON"),
        (None, Ok(value)) => assert_eq!(untyped.expect("valid JSON decodes"), value),
        (Some(id), Ok(value)) => {
            let expected = match value {
                Value::Object(mut map) => {
                    map.insert("lastEventId".into(), id.as_str().into());
                    Value::Object(map)
                }
                Value::Null => json!({ "lastEventId": id }),
                other => other,
            };
            assert_eq!(untyped.expect("valid JSON decodes"), expected);
        }
    }
    match raw.decode::<Resume>() {
        Ok(resume) => {
            if let Some(id) = &last_event_id
                && (json_text.is_none()
                    || json_text.is_some_and(|t| t.trim_ascii().starts_with(b"{")))
            {
                assert_eq!(resume.last_event_id.as_ref(), Some(id), "merged id");
            }
        }
        Err(error) => check_error(&error),
    }
});

fn check_error(error: &RpcError) {
    assert_eq!(error.code, ErrorCode::BadRequest, "{error:?}");
    assert!(
        error.message.starts_with("Invalid JSON input")
            || error.message.starts_with("Invalid input"),
        "{error:?}"
    );
}
