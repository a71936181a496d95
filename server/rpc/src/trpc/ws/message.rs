//! Decoding what a `wsLink` client sends: request ids, methods, params, arrays of messages and
//! the `connectionParams` frame, with the checks (and messages) of tRPC's `parseTRPCMessage`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use bytes::Bytes;
use serde_json::value::RawValue;

use crate::error::{ErrorCode, RpcError};
use crate::procedure::{ProcedureKind, RawInput};
use crate::trpc::request;

/// A request id: a JSON number or string, echoed verbatim in every reply to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Id {
    /// A numeric id (what the real client sends).
    Number(serde_json::Number),
    /// A string id.
    String(String),
}

impl Id {
    /// The id as JSON text.
    pub(crate) fn to_json(&self) -> String {
        match self {
            Id::Number(n) => n.to_string(),
            Id::String(s) => serde_json::Value::String(s.clone()).to_string(),
        }
    }
}

/// As JavaScript interpolates it (`Duplicate id ${id}`).
impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Number(n) => write!(f, "{n}"),
            Id::String(s) => f.write_str(s),
        }
    }
}

/// One decoded client message.
#[derive(Debug)]
pub(crate) struct Request {
    /// `None` when the client sent `"id":null` (answered with "`id` is required").
    pub id: Option<Id>,
    /// Whether the message carried `"jsonrpc":"2.0"`, which every reply then repeats.
    pub jsonrpc: bool,
    /// What the client asks for.
    pub body: Body,
}

/// What a message asks for.
#[derive(Debug)]
pub(crate) enum Body {
    /// `subscription.stop`.
    Stop,
    /// A query, mutation or subscription.
    Call {
        /// The method, which must match the procedure's kind.
        kind: ProcedureKind,
        /// The procedure path.
        path: String,
        /// The input, with `params.lastEventId` to merge into it.
        input: RawInput,
    },
}

type Object<'a> = HashMap<String, &'a RawValue>;

/// Decodes a text frame: one message or an array of them. Any invalid message fails the whole
/// frame, as in tRPC, with the message of the first failed check.
#[cfg(test)]
fn parse_frame(text: &str) -> Result<Vec<Request>, String> {
    let raws = parse_array(text)?;
    raws.into_iter().map(parse_message).collect()
}

/// The frame's messages, still raw: an array's elements, or the frame itself.
pub(crate) fn parse_array(text: &str) -> Result<Vec<&RawValue>, String> {
    let top: &RawValue = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if top.get().starts_with('[') {
        serde_json::from_str(top.get()).map_err(|e| e.to_string())
    } else {
        Ok(vec![top])
    }
}

/// The id and `jsonrpc` flag of a raw message, if it has a usable id and is not a stop; used
/// to answer each request of an over-long array.
pub(crate) fn request_id(raw: &RawValue) -> Option<(Id, bool)> {
    let object: Object<'_> = serde_json::from_str(raw.get()).ok()?;
    if object.get("method").map(|m| m.get()) == Some("\"subscription.stop\"") {
        return None;
    }
    let id = parse_id(object.get("id").copied()).ok()??;
    let jsonrpc = object.get("jsonrpc").map(|v| v.get()) == Some("\"2.0\"");
    Some((id, jsonrpc))
}

/// Decodes one message with `parseTRPCMessage`'s checks; the error is the failed check's message.
pub(crate) fn parse_message(raw: &RawValue) -> Result<Request, String> {
    let object: Object<'_> = as_object(raw)?;
    let id = parse_id(object.get("id").copied())?;
    let jsonrpc = match object.get("jsonrpc") {
        None => false,
        Some(v) if v.get() == "\"2.0\"" => true,
        Some(_) => return Err("Must be JSONRPC 2.0".into()),
    };
    let method = object.get("method").and_then(|m| as_string(m));
    let kind = match method.as_deref() {
        Some("subscription.stop") => {
            return Ok(Request {
                id,
                jsonrpc,
                body: Body::Stop,
            });
        }
        Some("query") => ProcedureKind::Query,
        Some("mutation") => ProcedureKind::Mutation,
        Some("subscription") => ProcedureKind::Subscription,
        _ => return Err("Invalid procedure type".into()),
    };
    let params = as_object(object.get("params").copied().ok_or("Not an object")?)?;
    let path = params
        .get("path")
        .and_then(|p| as_string(p))
        .ok_or("Invalid string")?;
    let last_event_id = match params.get("lastEventId") {
        None => None,
        Some(raw) => Some(as_string(raw).ok_or("Invalid string")?),
    };
    let input = RawInput {
        json: params
            .get("input")
            .map(|raw| Bytes::copy_from_slice(raw.get().as_bytes())),
        last_event_id,
    };
    Ok(Request {
        id,
        jsonrpc,
        body: Body::Call { kind, path, input },
    })
}

/// `null` ⇒ `Ok(None)`; a number or string ⇒ the id; anything else (or no id) is invalid.
fn parse_id(raw: Option<&RawValue>) -> Result<Option<Id>, String> {
    let invalid = || "Invalid request id".to_owned();
    let value: serde_json::Value =
        serde_json::from_str(raw.ok_or_else(invalid)?.get()).map_err(|_| invalid())?;
    match value {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Number(n) => Ok(Some(Id::Number(n))),
        serde_json::Value::String(s) => Ok(Some(Id::String(s))),
        _ => Err(invalid()),
    }
}

fn as_object<'a>(raw: &'a RawValue) -> Result<Object<'a>, String> {
    if !raw.get().starts_with('{') {
        return Err("Not an object".into());
    }
    serde_json::from_str(raw.get()).map_err(|_| "Not an object".into())
}

fn as_string(raw: &RawValue) -> Option<String> {
    serde_json::from_str::<String>(raw.get()).ok()
}

/// The first frame of a `?connectionParams=1` connection:
/// `{"method":"connectionParams","data":{…string values…} | null}`.
pub(crate) fn parse_connection_params(
    text: &str,
) -> Result<Option<BTreeMap<String, String>>, RpcError> {
    let malformed = || {
        RpcError::new(
            ErrorCode::ParseError,
            "Malformed TRPCConnectionParamsMessage",
        )
    };
    let top: &RawValue = serde_json::from_str(text).map_err(|_| malformed())?;
    let object = as_object(top).map_err(|_| malformed())?;
    match object.get("data") {
        Some(data) => request::connection_params(Some(data.get())),
        None => Err(RpcError::new(
            ErrorCode::ParseError,
            "Invalid connection params shape",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<Request, String> {
        parse_frame(text).map(|mut v| v.remove(0))
    }

    #[test]
    fn query_with_input_and_jsonrpc() {
        let r = one(r#"{"id":2,"jsonrpc":"2.0","method":"query","params":{"path":"p.get","input":{"id":"p1"}}}"#)
            .unwrap();
        assert_eq!(r.id.unwrap().to_json(), "2");
        assert!(r.jsonrpc);
        let Body::Call { kind, path, input } = r.body else {
            panic!("not a call")
        };
        assert_eq!(kind, ProcedureKind::Query);
        assert_eq!(path, "p.get");
        assert_eq!(input.json.unwrap(), Bytes::from_static(br#"{"id":"p1"}"#));
    }

    #[test]
    fn ids_and_methods() {
        assert!(
            one(r#"{"id":null,"method":"subscription.stop"}"#)
                .unwrap()
                .id
                .is_none()
        );
        let r = one(r#"{"id":"a\"b","method":"subscription.stop"}"#).unwrap();
        assert_eq!(r.id.as_ref().unwrap().to_json(), r#""a\"b""#);
        assert_eq!(r.id.unwrap().to_string(), "a\"b");
        assert_eq!(
            one(r#"{"method":"query","params":{"path":"a"}}"#).unwrap_err(),
            "Invalid request id"
        );
        assert_eq!(
            one(r#"{"id":true,"method":"query"}"#).unwrap_err(),
            "Invalid request id"
        );
        assert_eq!(
            one(r#"{"id":10,"method":"bogus","params":{}}"#).unwrap_err(),
            "Invalid procedure type"
        );
        assert_eq!(
            one(r#"{"id":1,"jsonrpc":"1.0","method":"query"}"#).unwrap_err(),
            "Must be JSONRPC 2.0"
        );
    }

    #[test]
    fn params_checks() {
        assert_eq!(
            one(r#"{"id":1,"method":"query"}"#).unwrap_err(),
            "Not an object"
        );
        assert_eq!(
            one(r#"{"id":1,"method":"query","params":{}}"#).unwrap_err(),
            "Invalid string"
        );
        assert_eq!(
            one(r#"{"id":1,"method":"subscription","params":{"path":"a","lastEventId":3}}"#)
                .unwrap_err(),
            "Invalid string"
        );
        assert_eq!(one("[1]").unwrap_err(), "Not an object");
    }

    #[test]
    fn arrays_fail_as_a_whole() {
        let ok = r#"{"id":1,"method":"query","params":{"path":"a"}}"#;
        assert_eq!(parse_frame(&format!("[{ok},{ok}]")).unwrap().len(), 2);
        assert!(parse_frame(&format!("[{ok},{{}}]")).is_err());
        assert!(parse_frame("{not json").is_err());
    }

    #[test]
    fn request_ids_of_an_array() {
        let raws = parse_array(
            r#"[{"id":1,"jsonrpc":"2.0"},{"id":2,"method":"subscription.stop"},{"id":null},"x"]"#,
        )
        .unwrap();
        let ids: Vec<_> = raws.iter().map(|r| request_id(r)).collect();
        assert_eq!(ids[0].as_ref().unwrap().0.to_json(), "1");
        assert!(ids[0].as_ref().unwrap().1);
        assert!(ids[1..].iter().all(Option::is_none));
    }

    #[test]
    fn connection_params_frame() {
        let p = parse_connection_params(r#"{"method":"connectionParams","data":{"token":"abc"}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(p["token"], "abc");
        assert!(
            parse_connection_params(r#"{"method":"connectionParams","data":null}"#)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            parse_connection_params(r#"{"data":{"a":1}}"#)
                .unwrap_err()
                .message,
            "Invalid connection params shape"
        );
        assert_eq!(
            parse_connection_params("nope").unwrap_err().message,
            "Malformed TRPCConnectionParamsMessage"
        );
    }
}
