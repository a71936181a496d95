//! The request decoders of every transport, callable without a server, for the fuzz targets
//! (`server/rpc/fuzz`) and the property tests. They are the functions the transports call, not
//! copies; what they return is flattened into plain types so the engine's own stay private.
//! Not a stable API.

use std::collections::BTreeMap;

use crate::error::RpcError;
use crate::procedure::{ProcedureKind, RawInput};
use crate::trpc::request;
use crate::trpc::ws::frame::Head;
use crate::trpc::ws::message::{self, Body, Id};

/// The query parameters of a tRPC HTTP request, as the handler reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrpcQuery {
    /// `batch=1` exactly.
    pub batch: bool,
    /// `input=` (empty counts as absent).
    pub input: Option<String>,
    /// `connectionParams=`.
    pub connection_params: Option<String>,
    /// `lastEventId=`, else `Last-Event-Id=`.
    pub last_event_id: Option<String>,
}

/// Parses a tRPC request's query string (without the `?`).
pub fn trpc_query(query: Option<&str>) -> TrpcQuery {
    let q = request::Query::parse(query);
    TrpcQuery {
        batch: q.batch,
        input: q.input,
        connection_params: q.connection_params,
        last_event_id: q.last_event_id,
    }
}

/// The procedure paths of a tRPC request: `rest` is the URL path after the mount point.
pub fn trpc_paths(rest: &str, batch: bool) -> Result<Vec<String>, RpcError> {
    request::paths(rest, batch)
}

/// `?connectionParams=` (HTTP) or a WebSocket `connectionParams` frame's `data`.
pub fn trpc_connection_params(
    raw: Option<&str>,
) -> Result<Option<BTreeMap<String, String>>, RpcError> {
    request::connection_params(raw)
}

/// What one element of a tRPC WebSocket text frame asks for.
#[derive(Debug)]
pub struct WsMessage {
    id: Option<Id>,
    /// Whether the message carried `"jsonrpc":"2.0"`.
    pub jsonrpc: bool,
    /// The call; `None` for `subscription.stop`.
    pub call: Option<WsCall>,
}

/// A query, mutation or subscription sent over the WebSocket.
#[derive(Debug)]
pub struct WsCall {
    /// The method.
    pub kind: ProcedureKind,
    /// The procedure path.
    pub path: String,
    /// The input, with `params.lastEventId`.
    pub input: RawInput,
}

impl WsMessage {
    /// The request id as the replies echo it (JSON text); `None` for `"id":null`.
    pub fn id_json(&self) -> Option<String> {
        self.id.as_ref().map(Id::to_json)
    }

    /// The error frame the server sends for this message (`id:null` when it has none).
    pub fn error_reply(&self, error: &RpcError, path: Option<&str>) -> String {
        self.head().error(error, path)
    }

    /// The data frame the server sends for this message with a call's JSON output.
    pub fn data_reply(&self, json: &[u8]) -> String {
        self.head().data(json)
    }

    fn head(&self) -> Head {
        match &self.id {
            Some(id) => Head::new(id, self.jsonrpc),
            None => Head::null(self.jsonrpc),
        }
    }
}

/// One element of a decoded WebSocket frame.
#[derive(Debug)]
pub struct WsElement {
    /// The message, or the message of the first check it failed.
    pub message: Result<WsMessage, String>,
    /// The id and `jsonrpc` flag the server answers an over-long array's element with.
    pub request_id: Option<(String, bool)>,
}

/// Decodes a WebSocket text frame (one message or an array of them) element by element; `Err`
/// when the frame is not JSON at all.
pub fn ws_frame(text: &str) -> Result<Vec<WsElement>, String> {
    let raws = message::parse_array(text)?;
    Ok(raws
        .into_iter()
        .map(|raw| WsElement {
            message: message::parse_message(raw).map(|request| WsMessage {
                id: request.id,
                jsonrpc: request.jsonrpc,
                call: match request.body {
                    Body::Stop => None,
                    Body::Call { kind, path, input } => Some(WsCall { kind, path, input }),
                },
            }),
            request_id: message::request_id(raw).map(|(id, jsonrpc)| (id.to_json(), jsonrpc)),
        })
        .collect())
}

/// The first frame of a `?connectionParams=1` WebSocket.
pub fn ws_connection_params(text: &str) -> Result<Option<BTreeMap<String, String>>, RpcError> {
    message::parse_connection_params(text)
}

/// JSON-RPC `params` (the raw JSON text jsonrpsee hands over) to a procedure's input; `Err`
/// carries the `-32602` message.
pub fn jsonrpc_params(params: Option<&str>) -> Result<RawInput, &'static str> {
    crate::jsonrpc::params::to_input(params).map_err(|e| e.0)
}
