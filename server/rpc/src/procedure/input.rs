//! Decoding a procedure's input: JSON text parsed lazily, only for procedures that declare an
//! input, with the subscription's last event id merged in as tRPC does, and errors that name
//! the offending field.

use std::any::TypeId;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::error::RpcError;

/// A procedure's raw input as it arrived: JSON text (absent when the client sent none), and for
/// subscriptions the last event id the transport found outside the input.
#[derive(Debug, Default, Clone)]
pub struct RawInput {
    /// The input as JSON text; `None` means `undefined`.
    pub json: Option<Bytes>,
    /// A `Last-Event-ID` to merge into the input as `lastEventId` (subscriptions only).
    pub last_event_id: Option<String>,
}

impl RawInput {
    /// Input from JSON text.
    pub fn json(json: impl Into<Bytes>) -> Self {
        Self {
            json: Some(json.into()),
            last_event_id: None,
        }
    }

    /// Deserializes into `I`. A procedure whose input type is `()` ignores its input entirely
    /// (tRPC parses input lazily, only for procedures that declare one).
    pub fn decode<I: DeserializeOwned + 'static>(&self) -> Result<I, RpcError> {
        if TypeId::of::<I>() == TypeId::of::<()>() {
            return serde_json::from_str("null").map_err(RpcError::internal);
        }
        match &self.last_event_id {
            Some(id) => decode_value(self.merged_value(id)?),
            None => decode_text(self.json.as_deref().unwrap_or(b"null")),
        }
    }

    /// tRPC's merge: object input gains `lastEventId`; `undefined`/`null` becomes
    /// `{lastEventId}`; other inputs are left alone.
    fn merged_value(&self, id: &str) -> Result<serde_json::Value, RpcError> {
        let mut value = match &self.json {
            Some(text) => serde_json::from_slice(text).map_err(syntax_error)?,
            None => serde_json::Value::Null,
        };
        match &mut value {
            serde_json::Value::Object(map) => {
                map.insert("lastEventId".into(), id.into());
            }
            serde_json::Value::Null => value = serde_json::json!({ "lastEventId": id }),
            _ => {}
        }
        Ok(value)
    }
}

fn syntax_error(e: serde_json::Error) -> RpcError {
    RpcError::bad_request(format!("Invalid JSON input: {e}"))
}

fn invalid_input<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> RpcError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if path == "." {
        RpcError::bad_request(format!("Invalid input: {inner}"))
    } else {
        RpcError::bad_request(format!("Invalid input at \"{path}\": {inner}"))
    }
}

fn decode_text<I: DeserializeOwned>(text: &[u8]) -> Result<I, RpcError> {
    // Syntax errors first, so that malformed JSON is reported as such, not as a type mismatch.
    let value: serde_json::Value = serde_json::from_slice(text).map_err(syntax_error)?;
    decode_value(value)
}

fn decode_value<I: DeserializeOwned>(value: serde_json::Value) -> Result<I, RpcError> {
    serde_path_to_error::deserialize(value).map_err(invalid_input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_event_id_merges_into_input() {
        let raw = RawInput {
            json: Some(Bytes::from_static(b"{\"a\":1}")),
            last_event_id: Some("7".into()),
        };
        let v: serde_json::Value = raw.decode().unwrap();
        assert_eq!(v, serde_json::json!({"a":1,"lastEventId":"7"}));
        let raw = RawInput {
            json: None,
            last_event_id: Some("7".into()),
        };
        let v: serde_json::Value = raw.decode().unwrap();
        assert_eq!(v, serde_json::json!({"lastEventId":"7"}));
    }
}
