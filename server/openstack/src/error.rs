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

/// Longest message kept.
const MAX_MESSAGE_CHARS: usize = 200;

/// Extracts the human message from an OpenStack error body.
///
/// Nova and Cinder wrap it as `{"itemNotFound": {"message": ..}}` (the key names the fault),
/// Keystone as `{"error": {"message": ..}}`, Neutron as `{"NeutronError": {"message": ..}}`;
/// Glance and keystonemiddleware answer with webob's error pages: `{"message": ..}` to a
/// client that accepts JSON, else HTML or plain text, and the message carries webob's markup
/// either way (`No image found with ID x<br /><br />`, a schema error's detail after a blank
/// line). What comes out is the explanation alone, on one line, markup and entities gone.
pub(crate) fn error_message(body: &[u8]) -> String {
    let message = json_message(body).unwrap_or_else(|| page_text(&String::from_utf8_lossy(body)));
    tidy(&message)
}

fn json_message(body: &[u8]) -> Option<String> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) else {
        return None;
    };
    if let Some(serde_json::Value::String(message)) = map.get("message") {
        return Some(message.clone());
    }
    map.values().find_map(|value| match value {
        serde_json::Value::Object(inner) => match inner.get("message") {
            Some(serde_json::Value::String(message)) => Some(message.clone()),
            _ => None,
        },
        serde_json::Value::String(message) if map.len() == 1 => Some(message.clone()),
        _ => None,
    })
}

/// The text of a webob error page: after the `<h1>` of an HTML one (its title and heading
/// are the status), or after the status line of a plain one (`404 Not Found\n\n…`).
fn page_text(text: &str) -> String {
    let text = text.trim();
    if text.starts_with('<') {
        let body = text.split_once("</h1>").map_or(text, |(_, rest)| rest);
        let body = body
            .split_once("</body>")
            .map_or(body, |(inside, _)| inside);
        return decode_entities(&strip_tags(body));
    }
    match text.split_once("\n\n") {
        Some((status, rest)) if is_status_line(status) => rest.to_owned(),
        _ => text.to_owned(),
    }
}

/// `404 Not Found`: three digits and a reason.
fn is_status_line(line: &str) -> bool {
    let (code, reason) = line.split_once(' ').unwrap_or((line, ""));
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) && !reason.is_empty()
}

/// Tags removed, `<br>` kept as a line break.
fn strip_tags(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[open + 1..open + close];
        if tag.trim_start().to_ascii_lowercase().starts_with("br") {
            text.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    text
}

/// The entities webob's HTML escaping writes (`&#x27;`, `&quot;`, `&amp;`, …).
fn decode_entities(text: &str) -> String {
    let mut decoded = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        decoded.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let entity = rest[1..].find(';').map(|end| &rest[1..=end]);
        let character = entity.and_then(|entity| match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => {
                let number = entity.strip_prefix('#')?;
                let code = match number.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => number.parse().ok()?,
                };
                char::from_u32(code)
            }
        });
        match (character, entity) {
            (Some(character), Some(entity)) => {
                decoded.push(character);
                rest = &rest[entity.len() + 2..];
            }
            _ => {
                decoded.push('&');
                rest = &rest[1..];
            }
        }
    }
    decoded.push_str(rest);
    decoded
}

/// The explanation only (webob puts the detail after a blank line, `<br />` included), on one
/// line, at most [`MAX_MESSAGE_CHARS`].
fn tidy(message: &str) -> String {
    let message = strip_br(message);
    let first = message
        .trim_start()
        .split("\n\n")
        .next()
        .unwrap_or_default();
    let line = first.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().take(MAX_MESSAGE_CHARS).collect()
}

/// `<br />` (any spelling) as a line break; other text unchanged.
fn strip_br(message: &str) -> std::borrow::Cow<'_, str> {
    if message.contains("<br") {
        std::borrow::Cow::Owned(
            message
                .replace("<br />", "\n")
                .replace("<br/>", "\n")
                .replace("<br>", "\n"),
        )
    } else {
        std::borrow::Cow::Borrowed(message)
    }
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
        assert_eq!(error_message(glance), "404 Not Found");
    }

    /// What a real Glance (33.0.0, webob) sent for a missing image and a bad disk format: to
    /// `Accept: application/json`, with no Accept, and to `*/*`.
    #[test]
    fn webob_pages_of_glance_come_out_as_their_explanation() {
        let missing = "No image found with ID 00000000-0000-0000-0000-000000000000";
        let json = br#"{"message": "No image found with ID 00000000-0000-0000-0000-000000000000<br /><br />\n\n\n", "code": "404 Not Found", "title": "Not Found"}"#;
        assert_eq!(error_message(json), missing);
        let plain =
            b"404 Not Found\n\nNo image found with ID 00000000-0000-0000-0000-000000000000\n\n   ";
        assert_eq!(error_message(plain), missing);
        let html = b"<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  No image found with ID 00000000-0000-0000-0000-000000000000<br /><br />\n\n\n\n </body>\n</html>";
        assert_eq!(error_message(html), missing);
        let schema = b"<html>\n <head>\n  <title>400 Bad Request</title>\n </head>\n <body>\n  <h1>400 Bad Request</h1>\n  Provided object does not match schema &#x27;image&#x27;: &#x27;bogus&#x27; is not one of [None, &#x27;raw&#x27;]\n\nFailed validating &#x27;enum&#x27; in schema[&#x27;properties&#x27;]:\n    {&#x27;type&#x27;: [&#x27;null&#x27;]}<br /><br />\n\n\n\n </body>\n</html>";
        assert_eq!(
            error_message(schema),
            "Provided object does not match schema 'image': 'bogus' is not one of [None, 'raw']"
        );
        assert_eq!(
            decode_entities("a &amp; b &lt;c&gt; &#39;d&#x27; &bogus; & e"),
            "a & b <c> 'd' &bogus; & e"
        );
        assert_eq!(error_message(b"  plain words  "), "plain words");
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
