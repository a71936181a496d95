//! Mapping upstream failures onto the one error table: what the client may learn, and what is
//! only logged.

use tidings_openstack::{Error as UpstreamError, ErrorKind};
use tidings_rpc::{ErrorCode, RpcError};

/// An OpenStack failure as the client sees it. Messages that describe the client's own request
/// (not found, conflict, bad request) pass through; internals are logged only.
pub fn upstream(error: UpstreamError) -> RpcError {
    let service = error.service().map(|s| s.as_str()).unwrap_or("upstream");
    let message = match &error {
        UpstreamError::Status { message, .. } if !message.is_empty() => message.clone(),
        other => other.to_string(),
    };
    let passthrough = |code| RpcError::new(code, message.clone());
    match error.kind() {
        ErrorKind::NotFound => passthrough(ErrorCode::NotFound),
        ErrorKind::Conflict => passthrough(ErrorCode::Conflict),
        ErrorKind::BadRequest => passthrough(ErrorCode::BadRequest),
        ErrorKind::Forbidden => passthrough(ErrorCode::Forbidden),
        ErrorKind::OverLimit => passthrough(ErrorCode::TooManyRequests),
        ErrorKind::Timeout => {
            tracing::warn!(service, error = %error, "upstream call timed out");
            RpcError::new(
                ErrorCode::GatewayTimeout,
                format!("{service} did not answer in time"),
            )
        }
        ErrorKind::Refused => {
            // The client logged the refusal when it began.
            tracing::debug!(service, error = %error, "upstream refuses the tokens");
            RpcError::new(
                ErrorCode::BadGateway,
                format!(
                    "{service} refuses this server's tokens (401 Unauthorized): an upstream \
                     configuration problem"
                ),
            )
        }
        ErrorKind::Unavailable => {
            tracing::warn!(service, error = %error, "upstream unavailable");
            RpcError::new(
                ErrorCode::ServiceUnavailable,
                format!("{service} is unavailable"),
            )
        }
        _ => {
            tracing::error!(service, error = %error, "upstream call failed");
            RpcError::new(
                ErrorCode::BadGateway,
                format!("{service} answered with an error"),
            )
        }
    }
}
