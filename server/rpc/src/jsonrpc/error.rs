//! The one error table on the JSON-RPC wire: engine errors become JSON-RPC error objects whose
//! `code` is the table's JSON-RPC number and whose `data` mirrors tRPC's (`{code, httpStatus,
//! path}`), except input that does not deserialize, which is JSON-RPC's own `-32602`, and
//! jsonrpsee's own limits, which keep their numbers with the same `data`.

use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::types::error::INVALID_PARAMS_CODE;
use serde::Serialize;

use crate::error::{ErrorCode, RpcError};

/// `data` of an application error: the tRPC key, the HTTP status and the method (`null` for
/// a limit on a whole request).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorData<'a> {
    code: ErrorCode,
    http_status: u16,
    path: Option<&'a str>,
}

/// The JSON-RPC error object for `error` raised by the procedure at `path`.
///
/// The engine words every input that fails to deserialize (and the applications word their
/// own input validation) as `Invalid input…`/`Invalid JSON input…` with `BAD_REQUEST`; those
/// are JSON-RPC's "invalid params" (`-32602`). Every other error keeps its number from the
/// table; `data.code` tells apart keys that share a number.
pub(crate) fn to_error_object(error: &RpcError, path: &str) -> ErrorObjectOwned {
    let code = if is_invalid_input(error) {
        INVALID_PARAMS_CODE
    } else {
        error.code.json_rpc_code()
    };
    object(code, error, path)
}

/// Params whose shape JSON-RPC itself rejects (not an object or array, or too many
/// positional values): `-32602`, with the tRPC key `BAD_REQUEST` in `data`.
pub(crate) fn invalid_params(message: impl Into<String>, path: &str) -> ErrorObjectOwned {
    object(INVALID_PARAMS_CODE, &RpcError::bad_request(message), path)
}

fn object(code: i32, error: &RpcError, path: &str) -> ErrorObjectOwned {
    limit_error(code, &error.message, error.code, Some(path))
}

/// One of jsonrpsee's limit errors (its `code` and `message`, e.g. -32010 "The batch request
/// was too large") with the table's `key` and the method at `path` in `data`, instead of
/// jsonrpsee's plain-string `data`.
pub(crate) fn limit_error(
    code: i32,
    message: &str,
    key: ErrorCode,
    path: Option<&str>,
) -> ErrorObjectOwned {
    let data = ErrorData {
        code: key,
        http_status: key.http_status(),
        path,
    };
    ErrorObjectOwned::owned(code, message.to_owned(), Some(data))
}

fn is_invalid_input(error: &RpcError) -> bool {
    error.code == ErrorCode::BadRequest
        && (error.message.starts_with("Invalid input")
            || error.message.starts_with("Invalid JSON input"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_errors_keep_their_table_number_and_key() {
        let e = to_error_object(&RpcError::not_found("no such thing"), "things.getById");
        assert_eq!(e.code(), -32004);
        assert_eq!(e.message(), "no such thing");
        assert_eq!(
            e.data().unwrap().get(),
            r#"{"code":"NOT_FOUND","httpStatus":404,"path":"things.getById"}"#
        );
    }

    #[test]
    fn input_errors_are_invalid_params() {
        let e = to_error_object(
            &RpcError::bad_request("Invalid input at \"id\": invalid type"),
            "things.getById",
        );
        assert_eq!(e.code(), INVALID_PARAMS_CODE);
        let other = to_error_object(&RpcError::bad_request("volume is busy"), "v");
        assert_eq!(other.code(), -32600);
    }
}
