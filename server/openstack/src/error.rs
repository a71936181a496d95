//! The one error type of the client, and the coarse kinds the BFF maps onto its error table.

use std::fmt;
use std::time::Duration;

/// The OpenStack service a request went to; named in errors and in tracing fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Keystone (identity v3).
    Identity,
    /// Nova (compute v2.1).
    Compute,
    /// Cinder (block storage v3).
    Volume,
    /// Glance (image v2).
    Image,
    /// Neutron (networking v2.0).
    Network,
}

impl Service {
    /// The project name of the service, as it appears in logs and error messages.
    pub const fn as_str(self) -> &'static str {
        match self {
            Service::Identity => "keystone",
            Service::Compute => "nova",
            Service::Volume => "cinder",
            Service::Image => "glance",
            Service::Network => "neutron",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong talking to OpenStack.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The service did not answer within the configured time-out.
    #[error("{service} did not answer within {timeout:?}")]
    Timeout {
        /// The service that was called.
        service: Service,
        /// The time-out that elapsed.
        timeout: Duration,
    },
    /// The service could not be reached, or dropped the connection.
    #[error("{service} is unavailable: {detail}")]
    Unavailable {
        /// The service that was called.
        service: Service,
        /// What the transport reported.
        detail: String,
    },
    /// The service answered with an error status.
    #[error("{service} answered {status}: {message}")]
    Status {
        /// The service that answered.
        service: Service,
        /// The HTTP status code.
        status: u16,
        /// The message from OpenStack's error body (or a short excerpt of the body).
        message: String,
    },
    /// The service answered 2xx with a body that does not have the documented shape.
    #[error("{service} sent an unusable answer: {detail}")]
    Decode {
        /// The service that answered.
        service: Service,
        /// Where and why parsing failed.
        detail: String,
    },
    /// Keystone refused the credentials.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The service refused a freshly issued token: Keystone accepts the credentials but the
    /// service does not accept its tokens (its token validation, or its policy for this user's
    /// roles), which is the upstream's configuration, not a passing failure.
    #[error("{service} refuses freshly issued tokens (401): {message}")]
    Refused {
        /// The service that refused.
        service: Service,
        /// The message from its error body.
        message: String,
    },
    /// The configuration or the service catalog does not allow the call.
    #[error("configuration: {0}")]
    Config(String),
    /// The call was refused before anything was sent: an id without the shape of its kind, or
    /// a path segment that could leave its place in the URL.
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl From<crate::ids::InvalidId> for Error {
    fn from(error: crate::ids::InvalidId) -> Self {
        Error::Invalid(error.to_string())
    }
}

/// The coarse classes of [`Error`] that the BFF maps onto its own error table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The upstream did not answer in time (gateway time-out).
    Timeout,
    /// The upstream is down or unreachable (service unavailable).
    Unavailable,
    /// The request was rejected as malformed (400).
    BadRequest,
    /// The credentials may not do this (403).
    Forbidden,
    /// The resource does not exist (404).
    NotFound,
    /// The resource is in a conflicting state (409).
    Conflict,
    /// A quota or rate limit was hit (413, 429).
    OverLimit,
    /// The upstream failed in another way (other statuses, bad gateway).
    Upstream,
    /// The upstream answered something unusable (bad gateway).
    Decode,
    /// Authentication failed (unauthorized).
    Auth,
    /// A service refuses tokens Keystone issued: the upstream's configuration.
    Refused,
    /// The client is misconfigured (internal error).
    Config,
}

impl Error {
    /// The class of this error, for the BFF's error table.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Unavailable { .. } => ErrorKind::Unavailable,
            Error::Status { status, .. } => match status {
                400 => ErrorKind::BadRequest,
                401 => ErrorKind::Auth,
                403 => ErrorKind::Forbidden,
                404 => ErrorKind::NotFound,
                409 => ErrorKind::Conflict,
                413 | 429 => ErrorKind::OverLimit,
                503 => ErrorKind::Unavailable,
                504 => ErrorKind::Timeout,
                _ => ErrorKind::Upstream,
            },
            Error::Decode { .. } => ErrorKind::Decode,
            Error::Auth(_) => ErrorKind::Auth,
            Error::Refused { .. } => ErrorKind::Refused,
            Error::Config(_) => ErrorKind::Config,
            Error::Invalid(_) => ErrorKind::BadRequest,
        }
    }

    /// True when the upstream said the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// The HTTP status the upstream answered with, when it answered with an error status.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The service involved, when the error came from one.
    pub fn service(&self) -> Option<Service> {
        match self {
            Error::Timeout { service, .. }
            | Error::Unavailable { service, .. }
            | Error::Status { service, .. }
            | Error::Decode { service, .. }
            | Error::Refused { service, .. } => Some(*service),
            Error::Auth(_) | Error::Config(_) | Error::Invalid(_) => None,
        }
    }
}

/// Longest excerpt of a non-JSON error body kept as the message.
const MAX_MESSAGE_CHARS: usize = 200;

/// Extracts the human message from an OpenStack error body.
///
/// Nova and Cinder wrap it as `{"itemNotFound": {"message": ..}}` (the key names the fault),
/// Keystone as `{"error": {"message": ..}}`, Neutron as `{"NeutronError": {"message": ..}}`;
/// some services answer `{"message": ..}` or plain text / HTML.
pub(crate) fn error_message(body: &[u8]) -> String {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) {
        if let Some(serde_json::Value::String(message)) = map.get("message") {
            return message.clone();
        }
        for value in map.values() {
            match value {
                serde_json::Value::Object(inner) => {
                    if let Some(serde_json::Value::String(message)) = inner.get("message") {
                        return message.clone();
                    }
                }
                serde_json::Value::String(message) if map.len() == 1 => return message.clone(),
                _ => {}
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.chars().take(MAX_MESSAGE_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_out_of_each_services_error_shape() {
        let nova =
            br#"{"itemNotFound": {"code": 404, "message": "Instance x could not be found."}}"#;
        assert_eq!(error_message(nova), "Instance x could not be found.");
        let keystone = br#"{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"#;
        assert_eq!(
            error_message(keystone),
            "The request you have made requires authentication."
        );
        let neutron = br#"{"NeutronError": {"type": "NetworkNotFound", "message": "Network n could not be found.", "detail": ""}}"#;
        assert_eq!(error_message(neutron), "Network n could not be found.");
        let cinder = br#"{"badRequest": {"code": 400, "message": "Invalid volume: bad size"}}"#;
        assert_eq!(error_message(cinder), "Invalid volume: bad size");
        let glance = b"<html>\n <head><title>404 Not Found</title></head>\n</html>";
        assert_eq!(
            error_message(glance),
            "<html> <head><title>404 Not Found</title></head> </html>"
        );
    }

    #[test]
    fn kinds_follow_the_status() {
        let status = |status| Error::Status {
            service: Service::Compute,
            status,
            message: String::new(),
        };
        assert_eq!(status(404).kind(), ErrorKind::NotFound);
        assert!(status(404).is_not_found());
        assert_eq!(status(409).kind(), ErrorKind::Conflict);
        assert_eq!(status(413).kind(), ErrorKind::OverLimit);
        assert_eq!(status(500).kind(), ErrorKind::Upstream);
        assert_eq!(status(500).status(), Some(500));
    }
}
