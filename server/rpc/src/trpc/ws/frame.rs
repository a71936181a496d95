//! Rendering what the server sends a `wsLink` client. Every reply starts with the request's
//! head (`{"id":7` or `{"id":7,"jsonrpc":"2.0"`); a notice's tail is rendered once per notice
//! and shared by every subscription on every socket.

use bytes::Bytes;

use super::message::Id;
use crate::error::RpcError;
use crate::event::{Frame, Notice};

/// Sent to every open socket before a shutdown closes it.
pub(super) const RECONNECT: &str = r#"{"id":null,"method":"reconnect"}"#;

/// The start of every reply to one request: its id, and `jsonrpc` when the request had it.
#[derive(Debug, Clone)]
pub(crate) struct Head(String);

impl Head {
    /// The head for replies to `id`.
    pub(crate) fn new(id: &Id, jsonrpc: bool) -> Self {
        Self::with_id(&id.to_json(), jsonrpc)
    }

    /// The head of replies that belong to no request.
    pub(crate) fn null(jsonrpc: bool) -> Self {
        Self::with_id("null", jsonrpc)
    }

    fn with_id(id: &str, jsonrpc: bool) -> Self {
        let jsonrpc = if jsonrpc { r#","jsonrpc":"2.0""# } else { "" };
        Self(format!("{{\"id\":{id}{jsonrpc}"))
    }

    /// `{…head,"result":{"type":"data","data":<json>}}`.
    pub(crate) fn data(&self, json: &[u8]) -> String {
        self.join(&[r#","result":{"type":"data","data":"#, utf8(json), "}}"])
    }

    /// `{…head,"error":<shape>}`, tied to `path` when given.
    pub(crate) fn error(&self, error: &RpcError, path: Option<&str>) -> String {
        self.join(&[r#","error":"#, utf8(&error.shape_json(path)), "}"])
    }

    /// `{…head,"result":{"type":"started"}}`.
    pub(super) fn started(&self) -> String {
        self.join(&[r#","result":{"type":"started"}}"#])
    }

    /// `{…head,"result":{"type":"stopped"}}`.
    pub(super) fn stopped(&self) -> String {
        self.join(&[r#","result":{"type":"stopped"}}"#])
    }

    /// A subscription event: the notice's shared tail after this head.
    pub(super) fn notice(&self, notice: &Notice) -> String {
        let tail = notice.frame(Frame::TrpcWs, notice_tail);
        self.join(&[utf8(&tail)])
    }

    fn join(&self, parts: &[&str]) -> String {
        let len = self.0.len() + parts.iter().map(|p| p.len()).sum::<usize>();
        let mut out = String::with_capacity(len);
        out.push_str(&self.0);
        parts.iter().for_each(|p| out.push_str(p));
        out
    }
}

/// Everything after the head: tracked events carry `{id,data}` as data and repeat the id as
/// `result.id` (the client resubscribes with it as `lastEventId`).
fn notice_tail(notice: &Notice) -> Bytes {
    let data = utf8(notice.json());
    Bytes::from(match notice.id() {
        Some(id) => {
            let id = serde_json::Value::String(id.to_owned()).to_string();
            format!(r#","result":{{"type":"data","data":{{"id":{id},"data":{data}}},"id":{id}}}}}"#)
        }
        None => format!(r#","result":{{"type":"data","data":{data}}}}}"#),
    })
}

/// Encoded JSON is UTF-8 by construction; anything else would be a bug upstream.
fn utf8(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("null")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::error::ErrorCode;

    fn id(n: u64) -> Id {
        Id::Number(n.into())
    }

    #[test]
    fn results_and_lifecycle() {
        let head = Head::new(&id(1), false);
        assert_eq!(
            head.data(b"[1]"),
            r#"{"id":1,"result":{"type":"data","data":[1]}}"#
        );
        assert_eq!(head.started(), r#"{"id":1,"result":{"type":"started"}}"#);
        assert_eq!(
            Head::new(&Id::String("x".into()), true).stopped(),
            r#"{"id":"x","jsonrpc":"2.0","result":{"type":"stopped"}}"#
        );
    }

    #[test]
    fn errors() {
        let e = RpcError::new(
            ErrorCode::NotFound,
            "No \"query\"-procedure on path \"nope\"",
        );
        assert_eq!(
            Head::new(&id(6), false).error(&e, Some("nope")),
            r#"{"id":6,"error":{"message":"No \"query\"-procedure on path \"nope\"","code":-32004,"data":{"code":"NOT_FOUND","httpStatus":404,"path":"nope"}}}"#
        );
        let e = RpcError::new(ErrorCode::ParseError, "`id` is required");
        assert_eq!(
            Head::null(true).error(&e, None),
            r#"{"id":null,"jsonrpc":"2.0","error":{"message":"`id` is required","code":-32700,"data":{"code":"PARSE_ERROR","httpStatus":400}}}"#
        );
    }

    #[test]
    fn tracked_and_untracked_notices() {
        let tracked = Arc::new(Notice::from_json(
            Some("7".into()),
            Bytes::from_static(br#"{"type":"networks"}"#),
        ));
        assert_eq!(
            Head::new(&id(20), false).notice(&tracked),
            r#"{"id":20,"result":{"type":"data","data":{"id":"7","data":{"type":"networks"}},"id":"7"}}"#
        );
        // The tail is shared: another subscription id reuses it.
        assert_eq!(
            Head::new(&id(3), true).notice(&tracked),
            r#"{"id":3,"jsonrpc":"2.0","result":{"type":"data","data":{"id":"7","data":{"type":"networks"}},"id":"7"}}"#
        );
        let untracked = Notice::from_json(None, Bytes::from_static(br#"{"type":"compute"}"#));
        assert_eq!(
            Head::new(&id(22), false).notice(&untracked),
            r#"{"id":22,"result":{"type":"data","data":{"type":"compute"}}}"#
        );
    }
}
