//! Answering a refused connection: read its request line (briefly), answer `ok` if the process
//! is full and it asks for the health path, the refusal otherwise, then close without resetting
//! the answer away.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{ErrorCode, RpcError};

/// How long a refused connection may take to send its request line; one that sends nothing
/// is answered with the refusal after it.
const REQUEST_LINE_WAIT: Duration = Duration::from_millis(500);

/// How long answering one refused connection may take in all.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// Most bytes of a refused client's request read (and dropped) before closing, so the close
/// does not reset the connection before the client has read the answer.
const MAX_DRAINED: usize = 64 << 10;

/// Longest request line looked at.
const MAX_REQUEST_LINE: usize = 1024;

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// The process holds its most connections.
    Full {
        /// The process cap.
        max: usize,
    },
    /// The client's address holds its most connections.
    PerAddress {
        /// The per-address cap.
        max: usize,
    },
}

impl Refused {
    /// The whole HTTP/1.1 answer: a tRPC-shaped JSON error with the table's status.
    fn answer(self) -> Vec<u8> {
        let (code, message) = match self {
            Refused::Full { max } => (
                ErrorCode::ServiceUnavailable,
                format!("The server holds its most open connections ({max}); retry shortly"),
            ),
            Refused::PerAddress { max } => (
                ErrorCode::TooManyRequests,
                format!("Too many open connections from this address (at most {max})"),
            ),
        };
        let error = RpcError::new(code, message);
        let mut body = b"{\"error\":".to_vec();
        body.extend_from_slice(&error.shape_json(None));
        body.push(b'}');
        let status = match code {
            ErrorCode::ServiceUnavailable => "503 Service Unavailable",
            _ => "429 Too Many Requests",
        };
        let mut answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\nretry-after: 1\r\n\r\n",
            body.len()
        )
        .into_bytes();
        answer.extend_from_slice(&body);
        answer
    }
}

/// The answer to a health check, whatever the caps.
const HEALTHY: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\n\
    content-length: 2\r\nconnection: close\r\n\r\nok";

/// Answers `io` (refused for `refused`) and closes it, within [`ANSWER_TIMEOUT`].
pub(super) async fn answer<Io>(mut io: Io, refused: Refused, health_path: Option<&str>)
where
    Io: AsyncRead + AsyncWrite + Unpin,
{
    let _ = tokio::time::timeout(ANSWER_TIMEOUT, async {
        let line = request_line(&mut io).await;
        // Only a full process answers health checks: they must not fail an instance because
        // of a flood, while an address over its own cap is refused like any other request.
        let full = matches!(refused, Refused::Full { .. });
        let answer = if full && health_path.is_some_and(|path| asks_for(&line, path)) {
            HEALTHY.to_vec()
        } else {
            refused.answer()
        };
        answer_and_close(io, &answer).await
    })
    .await;
}

/// What the client sent within [`REQUEST_LINE_WAIT`], up to its first line feed.
async fn request_line<Io: AsyncRead + Unpin>(io: &mut Io) -> Vec<u8> {
    let mut line = vec![0u8; MAX_REQUEST_LINE];
    let mut len = 0;
    let _ = tokio::time::timeout(REQUEST_LINE_WAIT, async {
        while len < line.len() && !line[..len].contains(&b'\n') {
            match io.read(&mut line[len..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => len += n,
            }
        }
    })
    .await;
    line.truncate(len);
    line
}

/// Whether `line` is `GET <path>` or `HEAD <path>` (a query string allowed).
fn asks_for(line: &[u8], path: &str) -> bool {
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_ascii_whitespace();
    let (Some(method), Some(target)) = (words.next(), words.next()) else {
        return false;
    };
    matches!(method, "GET" | "HEAD") && target.split('?').next() == Some(path)
}

/// Writes `answer`, ends the sending side, and reads what the client sent until it closes (or
/// enough was read), so that closing does not discard the answer with a reset.
async fn answer_and_close<Io: AsyncRead + AsyncWrite + Unpin>(
    mut io: Io,
    answer: &[u8],
) -> io::Result<()> {
    io.write_all(answer).await?;
    io.shutdown().await?;
    let mut drained = 0;
    let mut buf = [0u8; 4096];
    while drained < MAX_DRAINED {
        match io.read(&mut buf).await? {
            0 => break,
            n => drained += n,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(answer: &[u8]) -> (String, serde_json::Value) {
        let answer = String::from_utf8(answer.to_vec()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        (head.to_owned(), serde_json::from_str(body).unwrap())
    }

    #[test]
    fn a_full_address_is_answered_429() {
        let (head, body) = split(&Refused::PerAddress { max: 3 }.answer());
        assert!(head.starts_with("HTTP/1.1 429 Too Many Requests\r\n"));
        assert_eq!(body["error"]["data"]["code"], "TOO_MANY_REQUESTS");
        assert_eq!(body["error"]["data"]["httpStatus"], 429);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("at most 3")
        );
    }

    #[test]
    fn a_full_process_is_answered_503() {
        let (head, body) = split(&Refused::Full { max: 9 }.answer());
        assert!(head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert_eq!(body["error"]["data"]["code"], "SERVICE_UNAVAILABLE");
        assert_eq!(body["error"]["data"]["httpStatus"], 503);
    }

    #[test]
    fn health_checks_are_recognized() {
        assert!(asks_for(b"GET /healthz HTTP/1.1\r\n", "/healthz"));
        assert!(asks_for(b"HEAD /healthz?probe=1 HTTP/1.1\r\n", "/healthz"));
        assert!(!asks_for(b"GET /healthzz HTTP/1.1\r\n", "/healthz"));
        assert!(!asks_for(b"POST /healthz HTTP/1.1\r\n", "/healthz"));
        assert!(!asks_for(b"GET", "/healthz"));
        assert!(!asks_for(b"", "/healthz"));
    }

    #[tokio::test]
    async fn a_refused_health_check_gets_ok_and_anything_else_the_refusal() {
        for (request, expected) in [
            (
                &b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n"[..],
                "HTTP/1.1 200 OK",
            ),
            (b"GET /trpc/x HTTP/1.1\r\nhost: x\r\n\r\n", "HTTP/1.1 503"),
        ] {
            let (mut client, server) = tokio::io::duplex(4096);
            client.write_all(request).await.unwrap();
            let task = tokio::spawn(answer(server, Refused::Full { max: 1 }, Some("/healthz")));
            let mut got = String::new();
            client.read_to_string(&mut got).await.unwrap();
            assert!(got.starts_with(expected), "{got}");
            drop(client);
            task.await.unwrap();
        }
        // An address over its own cap is refused whatever it asks for.
        let (mut client, server) = tokio::io::duplex(4096);
        client
            .write_all(b"GET /healthz HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        let task = tokio::spawn(answer(
            server,
            Refused::PerAddress { max: 1 },
            Some("/healthz"),
        ));
        let mut got = String::new();
        client.read_to_string(&mut got).await.unwrap();
        assert!(got.starts_with("HTTP/1.1 429"), "{got}");
        drop(client);
        task.await.unwrap();
    }
}
