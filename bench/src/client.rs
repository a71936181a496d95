//! A lean HTTP/1.1 load client: one hyper connection per simulated client, requests in turn on
//! it (keep-alive), bodies counted rather than kept. And an SSE subscriber that timestamps each
//! benchmark notice the moment its bytes arrive.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

mod ws;

pub use ws::{WsProtocol, WsSubscriber};

/// One keep-alive connection; every request on it carries its `authorization` (a session's
/// bearer token) unless the request names its own.
pub struct Conn {
    send: SendRequest<Full<Bytes>>,
    host: String,
    auth: Option<Arc<str>>,
}

/// What a request got back: status, body size, ETag.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: StatusCode,
    /// Body bytes received (as sent: compressed when compressed).
    pub body_bytes: usize,
    /// The `etag` header, if any.
    pub etag: Option<String>,
    /// The `content-encoding` header, if any.
    pub encoding: Option<String>,
    /// The body, when asked to keep it.
    pub body: Option<Bytes>,
}

impl Conn {
    /// Connects to `addr`, without credentials.
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        Self::open_as(addr, None).await
    }

    /// Connects to `addr`; `auth` is the `authorization` header value every request sends.
    pub async fn open_as(addr: SocketAddr, auth: Option<Arc<str>>) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect {addr}"))?;
        stream.set_nodelay(true)?;
        let (send, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Self {
            send,
            host: addr.to_string(),
            auth,
        })
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> anyhow::Result<Request<Full<Bytes>>> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.host);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        if let Some(auth) = &self.auth
            && !headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        {
            builder = builder.header(header::AUTHORIZATION, auth.as_ref());
        }
        Ok(builder.body(Full::new(body))?)
    }

    /// Sends a request and reads the whole answer, counting its body (kept if `keep`).
    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
        keep: bool,
    ) -> anyhow::Result<Reply> {
        let request = self.request(method, path, headers, body)?;
        self.send.ready().await?;
        let response = self.send.send_request(request).await?;
        let status = response.status();
        let text = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (etag, encoding) = (text(header::ETAG), text(header::CONTENT_ENCODING));
        let mut body = response.into_body();
        let mut body_bytes = 0;
        let mut kept = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                body_bytes += data.len();
                if keep {
                    kept.extend_from_slice(&data);
                }
            }
        }
        Ok(Reply {
            status,
            body_bytes,
            etag,
            encoding,
            body: keep.then(|| Bytes::from(kept)),
        })
    }

    /// A GET, body counted.
    pub async fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> anyhow::Result<Reply> {
        self.call(Method::GET, path, headers, Bytes::new(), false)
            .await
    }

    /// A JSON POST, body kept.
    pub async fn post_json(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        json: &serde_json::Value,
    ) -> anyhow::Result<Reply> {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        let reply = self
            .call(
                Method::POST,
                path,
                &all,
                Bytes::from(json.to_string()),
                true,
            )
            .await?;
        if !reply.status.is_success() {
            let body = reply.body.clone().unwrap_or_default();
            bail!(
                "POST {path}: {} {}",
                reply.status,
                String::from_utf8_lossy(&body)
            );
        }
        Ok(reply)
    }
}

/// When each benchmark notice was triggered, by sequence number (its scope is `b<seq>`).
#[derive(Debug)]
pub struct Triggers {
    sent: Vec<OnceLock<Instant>>,
}

impl Triggers {
    /// Room for `count` notices.
    pub fn new(count: usize) -> Arc<Self> {
        Arc::new(Self {
            sent: (0..count).map(|_| OnceLock::new()).collect(),
        })
    }

    /// Records that notice `seq` is being triggered now.
    pub fn mark(&self, seq: usize) {
        if let Some(slot) = self.sent.get(seq) {
            let _ = slot.set(Instant::now());
        }
    }

    pub(crate) fn sent(&self, seq: usize) -> Option<Instant> {
        self.sent.get(seq).and_then(|s| s.get().copied())
    }
}

/// The scope a benchmark notice carries: `b<seq>`.
pub fn scope(run: &str, seq: usize) -> String {
    format!("{run}{seq}")
}

/// The sequence number in a `data:` line's `"scope":"<run><seq>"`, if it is one of ours.
pub(crate) fn notice_seq(line: &[u8], run: &str) -> Option<usize> {
    let needle = format!("\"scope\":\"{run}");
    let at = find(line, needle.as_bytes())? + needle.len();
    let digits = line[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&line[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

/// What a resync notice carries.
pub(crate) const RESYNC: &[u8] = b"\"type\":\"resync\"";

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An open SSE subscription: the response has started (headers and first bytes arrived).
pub struct Subscriber {
    body: hyper::body::Incoming,
    _send: SendRequest<Full<Bytes>>,
    buffer: Vec<u8>,
}

impl Subscriber {
    /// Connects and subscribes with GET `path` (sending `auth` as `authorization`), waiting
    /// for the first bytes of the stream.
    pub async fn open(
        addr: SocketAddr,
        path: &str,
        auth: Option<Arc<str>>,
    ) -> anyhow::Result<Self> {
        let mut conn = Conn::open_as(addr, auth).await?;
        let request = conn.request(
            Method::GET,
            path,
            &[("accept", "text/event-stream")],
            Bytes::new(),
        )?;
        conn.send.ready().await?;
        let response = conn.send.send_request(request).await?;
        if response.status() != StatusCode::OK {
            bail!("subscribe: {}", response.status());
        }
        let mut subscriber = Self {
            body: response.into_body(),
            _send: conn.send,
            buffer: Vec::new(),
        };
        // The first event (tRPC's `connected`, the ceiling's comment) proves the stream is live.
        match subscriber.body.frame().await {
            Some(frame) => {
                if let Ok(data) = frame?.into_data() {
                    subscriber.buffer.extend_from_slice(&data);
                }
            }
            None => bail!("subscribe: the stream ended at once"),
        }
        Ok(subscriber)
    }

    /// Reads until `deadline` (or the end), calling `on_notice(seq, latency)` for each of the
    /// run's notices as it arrives; returns how many resync notices came (the server's word
    /// that this subscriber fell behind and lost notices).
    pub async fn listen(
        mut self,
        run: &str,
        triggers: &Triggers,
        deadline: Instant,
        mut on_notice: impl FnMut(usize, Duration),
    ) -> u64 {
        let mut resyncs = 0;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.body.frame()).await;
            let data = match frame {
                Ok(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => data,
                    Err(_) => continue,
                },
                _ => return resyncs,
            };
            let now = Instant::now();
            self.buffer.extend_from_slice(&data);
            let mut consumed = 0;
            while let Some(end) = self.buffer[consumed..].iter().position(|b| *b == b'\n') {
                let line = &self.buffer[consumed..consumed + end];
                if line.starts_with(b"data:")
                    && let Some(seq) = notice_seq(line, run)
                    && let Some(sent) = triggers.sent(seq)
                {
                    on_notice(seq, now.saturating_duration_since(sent));
                } else if line.starts_with(b"data:") && find(line, RESYNC).is_some() {
                    resyncs += 1;
                }
                consumed += end + 1;
            }
            self.buffer.drain(..consumed);
        }
    }

    /// Waits for the next notice (a `data:` line carrying a `"type"`); `false` at `deadline` or
    /// the end of the stream.
    pub async fn next_notice(&mut self, deadline: Instant) -> bool {
        loop {
            let mut consumed = 0;
            let mut found = false;
            while let Some(end) = self.buffer[consumed..].iter().position(|b| *b == b'\n') {
                let line = &self.buffer[consumed..consumed + end];
                consumed += end + 1;
                if line.starts_with(b"data:") && find(line, b"\"type\":\"").is_some() {
                    found = true;
                    break;
                }
            }
            self.buffer.drain(..consumed);
            if found {
                return true;
            }
            match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.extend_from_slice(&data);
                    }
                }
                _ => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sequence_in_a_data_line() {
        assert_eq!(
            notice_seq(br#"data: {"type":"images","scope":"b17"}"#, "b"),
            Some(17)
        );
        assert_eq!(
            notice_seq(
                br#"data: {"id":"3","data":{"type":"images","scope":"b4"}}"#,
                "b"
            ),
            Some(4)
        );
        assert_eq!(notice_seq(br#"data: {"type":"images"}"#, "b"), None);
        assert_eq!(scope("b", 3), "b3");
    }
}
