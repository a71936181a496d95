//! tRPC response envelopes, assembled from shared byte chunks.

use bytes::Bytes;

use crate::body::Chunks;
use crate::error::RpcError;

const RESULT_OPEN: &[u8] = b"{\"result\":{\"data\":";
const RESULT_CLOSE: &[u8] = b"}}";

/// `{"result":{"data":<json>}}` as one buffer (for transports that need a single frame).
pub fn result_envelope(json: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(RESULT_OPEN.len() + json.len() + RESULT_CLOSE.len());
    out.extend_from_slice(RESULT_OPEN);
    out.extend_from_slice(json);
    out.extend_from_slice(RESULT_CLOSE);
    out.into()
}

/// `{"error":<shape>}`.
pub(super) fn error_envelope(error: &RpcError, path: Option<&str>) -> Bytes {
    let shape = error.shape_json(path);
    let mut out = Vec::with_capacity(shape.len() + 10);
    out.extend_from_slice(b"{\"error\":");
    out.extend_from_slice(&shape);
    out.push(b'}');
    out.into()
}

/// Appends one call's envelope to `body` without copying a successful output.
pub(super) fn push_envelope(body: &mut Chunks, path: &str, result: Result<&Bytes, &RpcError>) {
    match result {
        Ok(json) => {
            body.push(Bytes::from_static(RESULT_OPEN));
            body.push(json.clone());
            body.push(Bytes::from_static(RESULT_CLOSE));
        }
        Err(error) => body.push(error_envelope(error, Some(path))),
    }
}
