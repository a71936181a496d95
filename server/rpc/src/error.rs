//! The one error table: every error a procedure or transport can produce, with its tRPC shape,
//! its HTTP status and its JSON-RPC code.

use std::fmt;

use serde::Serialize;

/// The error keys of tRPC v11 (`TRPC_ERROR_CODES_BY_KEY`), the single source of truth for how an
/// error looks on every transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The request could not be parsed (transport level).
    ParseError,
    /// The input or request is invalid.
    BadRequest,
    /// A bug or an unexpected failure on the server.
    InternalServerError,
    /// The operation exists but is not implemented by this server.
    NotImplemented,
    /// An upstream answered with something unusable.
    BadGateway,
    /// The server or an upstream is temporarily unavailable.
    ServiceUnavailable,
    /// An upstream did not answer in time.
    GatewayTimeout,
    /// No valid credentials.
    Unauthorized,
    /// Payment required (kept for completeness of the table).
    PaymentRequired,
    /// Credentials are valid but not allowed to do this.
    Forbidden,
    /// The procedure or the resource does not exist.
    NotFound,
    /// Wrong HTTP method for the procedure.
    MethodNotSupported,
    /// The request took too long.
    Timeout,
    /// The resource is in a state that conflicts with the request.
    Conflict,
    /// A precondition failed.
    PreconditionFailed,
    /// The body is larger than allowed.
    PayloadTooLarge,
    /// The content type is not supported.
    UnsupportedMediaType,
    /// The input is well-formed but cannot be processed.
    UnprocessableContent,
    /// A precondition is required.
    PreconditionRequired,
    /// Rate limited.
    TooManyRequests,
    /// The client went away before the answer.
    ClientClosedRequest,
}

impl ErrorCode {
    /// The JSON-RPC error number tRPC puts in `error.code`.
    pub const fn json_rpc_code(self) -> i32 {
        use ErrorCode::*;
        match self {
            ParseError => -32700,
            BadRequest => -32600,
            InternalServerError | NotImplemented | BadGateway | ServiceUnavailable
            | GatewayTimeout => -32603,
            Unauthorized => -32001,
            PaymentRequired => -32002,
            Forbidden => -32003,
            NotFound => -32004,
            MethodNotSupported => -32005,
            Timeout => -32008,
            Conflict => -32009,
            PreconditionFailed => -32012,
            PayloadTooLarge => -32013,
            UnsupportedMediaType => -32015,
            UnprocessableContent => -32022,
            PreconditionRequired => -32028,
            TooManyRequests => -32029,
            ClientClosedRequest => -32099,
        }
    }

    /// The HTTP status tRPC uses for this key (`data.httpStatus`).
    pub const fn http_status(self) -> u16 {
        use ErrorCode::*;
        match self {
            ParseError | BadRequest => 400,
            InternalServerError => 500,
            NotImplemented => 501,
            BadGateway => 502,
            ServiceUnavailable => 503,
            GatewayTimeout => 504,
            Unauthorized => 401,
            PaymentRequired => 402,
            Forbidden => 403,
            NotFound => 404,
            MethodNotSupported => 405,
            Timeout => 408,
            Conflict => 409,
            PreconditionFailed => 412,
            PayloadTooLarge => 413,
            UnsupportedMediaType => 415,
            UnprocessableContent => 422,
            PreconditionRequired => 428,
            TooManyRequests => 429,
            ClientClosedRequest => 499,
        }
    }

    /// The key as tRPC spells it (`data.code`).
    pub fn key(self) -> &'static str {
        use ErrorCode::*;
        match self {
            ParseError => "PARSE_ERROR",
            BadRequest => "BAD_REQUEST",
            InternalServerError => "INTERNAL_SERVER_ERROR",
            NotImplemented => "NOT_IMPLEMENTED",
            BadGateway => "BAD_GATEWAY",
            ServiceUnavailable => "SERVICE_UNAVAILABLE",
            GatewayTimeout => "GATEWAY_TIMEOUT",
            Unauthorized => "UNAUTHORIZED",
            PaymentRequired => "PAYMENT_REQUIRED",
            Forbidden => "FORBIDDEN",
            NotFound => "NOT_FOUND",
            MethodNotSupported => "METHOD_NOT_SUPPORTED",
            Timeout => "TIMEOUT",
            Conflict => "CONFLICT",
            PreconditionFailed => "PRECONDITION_FAILED",
            PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            UnprocessableContent => "UNPROCESSABLE_CONTENT",
            PreconditionRequired => "PRECONDITION_REQUIRED",
            TooManyRequests => "TOO_MANY_REQUESTS",
            ClientClosedRequest => "CLIENT_CLOSED_REQUEST",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// An error a procedure returns to its caller.
///
/// `message` is sent to the client; anything internal goes to the log via
/// [`RpcError::internal`], which sends a generic message instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// The error key, which decides status and codes on every transport.
    pub code: ErrorCode,
    /// The client-facing message.
    pub message: String,
}

impl RpcError {
    /// An error with a client-facing message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// An error whose message is the key itself (tRPC's default when no message is given).
    pub fn code(code: ErrorCode) -> Self {
        Self::new(code, code.key())
    }

    /// `BAD_REQUEST` with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// `NOT_FOUND` with a message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// `INTERNAL_SERVER_ERROR` for an unexpected failure: the cause is logged here, and only a
    /// generic message is sent.
    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::InternalServerError, "Internal server error")
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for RpcError {}

/// The tRPC error shape: `{"message","code","data":{"code","httpStatus","path"?}}`, keys in
/// tRPC's order.
#[derive(Debug, Serialize)]
pub struct ErrorShape<'a> {
    /// Client-facing message.
    pub message: &'a str,
    /// JSON-RPC number.
    pub code: i32,
    /// Details.
    pub data: ErrorData<'a>,
}

/// The `data` member of [`ErrorShape`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorData<'a> {
    /// The key.
    pub code: ErrorCode,
    /// The HTTP status of this error.
    pub http_status: u16,
    /// The procedure path, when the error belongs to one call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<&'a str>,
}

impl RpcError {
    /// This error's tRPC shape, tied to `path` when given.
    pub fn shape<'a>(&'a self, path: Option<&'a str>) -> ErrorShape<'a> {
        ErrorShape {
            message: &self.message,
            code: self.code.json_rpc_code(),
            data: ErrorData {
                code: self.code,
                http_status: self.code.http_status(),
                path,
            },
        }
    }

    /// The shape as JSON bytes.
    pub fn shape_json(&self, path: Option<&str>) -> Vec<u8> {
        serde_json::to_vec(&self.shape(path)).unwrap_or_else(|_| b"{}".to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_matches_trpc_key_order_and_codes() {
        let e = RpcError::not_found("Project nope not found");
        let json = String::from_utf8(e.shape_json(Some("projects.getById"))).unwrap();
        assert_eq!(
            json,
            r#"{"message":"Project nope not found","code":-32004,"data":{"code":"NOT_FOUND","httpStatus":404,"path":"projects.getById"}}"#
        );
    }

    #[test]
    fn shared_json_rpc_codes_keep_distinct_statuses() {
        for (code, status) in [
            (ErrorCode::InternalServerError, 500),
            (ErrorCode::NotImplemented, 501),
            (ErrorCode::BadGateway, 502),
            (ErrorCode::ServiceUnavailable, 503),
            (ErrorCode::GatewayTimeout, 504),
        ] {
            assert_eq!(code.json_rpc_code(), -32603);
            assert_eq!(code.http_status(), status);
        }
    }

    #[test]
    fn serde_key_equals_key() {
        let s = serde_json::to_string(&ErrorCode::UnprocessableContent).unwrap();
        assert_eq!(s, format!("\"{}\"", ErrorCode::UnprocessableContent.key()));
    }
}
