//! A listener that caps the open TCP connections of each client address, at accept time: a
//! client over its cap is answered `429 Too Many Requests` with a JSON body and closed, and its
//! other connections are not disturbed. Every connection is counted until its socket is dropped,
//! WebSockets and streams included, whatever the HTTP layer does with it.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::Semaphore;

use crate::error::{ErrorCode, RpcError};

/// Most refused connections being answered at once; beyond it, refused connections are closed
/// without an answer, so a flood of them costs no more than that many sockets.
const MAX_ANSWERING: usize = 256;

/// How long a refused connection may take to receive its answer and close.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(1);

/// Most bytes of a refused client's request read (and dropped) before closing, so the close
/// does not reset the connection before the client has read the answer.
const MAX_DRAINED: usize = 64 << 10;

/// The open connections of each client address; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ConnectionCounts(Arc<Mutex<HashMap<IpAddr, usize>>>);

impl ConnectionCounts {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Open connections from `ip`.
    pub fn open_from(&self, ip: IpAddr) -> usize {
        self.map().get(&canonical(ip)).copied().unwrap_or(0)
    }

    /// Open connections from every address.
    pub fn total(&self) -> usize {
        self.map().values().sum()
    }

    /// Addresses with at least one open connection.
    pub fn addresses(&self) -> usize {
        self.map().len()
    }

    /// Counts one more connection from `ip`, unless it already has `max`.
    fn try_open(&self, ip: IpAddr, max: usize) -> Option<Slot> {
        let mut map = self.map();
        let open = map.entry(ip).or_insert(0);
        if *open >= max {
            return None;
        }
        *open += 1;
        Some(Slot {
            counts: self.clone(),
            ip,
        })
    }

    fn close(&self, ip: IpAddr) {
        let mut map = self.map();
        if let Some(open) = map.get_mut(&ip) {
            *open -= 1;
            if *open == 0 {
                map.remove(&ip);
            }
        }
    }
}

/// One counted connection; dropping it uncounts it.
#[derive(Debug)]
struct Slot {
    counts: ConnectionCounts,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.counts.close(self.ip);
    }
}

/// IPv4 clients reaching a dual-stack socket count as their IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Wraps a listener so each client address has at most `max_per_ip` open connections.
#[derive(Debug)]
pub struct PerIpLimit<L> {
    inner: L,
    max_per_ip: usize,
    counts: ConnectionCounts,
    answering: Arc<Semaphore>,
}

impl<L> PerIpLimit<L> {
    /// At most `max_per_ip` open connections per client address (0: no limit, only counting).
    pub fn new(inner: L, max_per_ip: usize) -> Self {
        Self {
            inner,
            max_per_ip: if max_per_ip == 0 {
                usize::MAX
            } else {
                max_per_ip
            },
            counts: ConnectionCounts::default(),
            answering: Arc::new(Semaphore::new(MAX_ANSWERING)),
        }
    }

    /// The live counts (for tests and metrics).
    pub fn counts(&self) -> ConnectionCounts {
        self.counts.clone()
    }
}

impl<L> Listener for PerIpLimit<L>
where
    L: Listener<Addr = SocketAddr>,
{
    type Io = Counted<L::Io>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (io, addr) = self.inner.accept().await;
            let ip = canonical(addr.ip());
            match self.counts.try_open(ip, self.max_per_ip) {
                Some(slot) => return (Counted { io, _slot: slot }, addr),
                None => self.refuse(io, ip),
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// The client address of a connection [`PerIpLimit`] accepted, as axum's `ConnectInfo`:
/// serve with `router.into_make_service_with_connect_info::<Peer>()` and the engine finds it
/// ([`crate::procedure::meta::peer_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

impl<L> Connected<IncomingStream<'_, PerIpLimit<L>>> for Peer
where
    L: Listener<Addr = SocketAddr>,
{
    fn connect_info(stream: IncomingStream<'_, PerIpLimit<L>>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl<L: Listener> PerIpLimit<L> {
    /// Answers 429 and closes, in a task of its own so accepting goes on.
    fn refuse(&self, io: L::Io, ip: IpAddr) {
        tracing::debug!(%ip, max = self.max_per_ip, "too many connections from one address");
        let Ok(permit) = self.answering.clone().try_acquire_owned() else {
            return;
        };
        let answer = too_many(self.max_per_ip);
        tokio::spawn(async move {
            let _ = tokio::time::timeout(ANSWER_TIMEOUT, answer_and_close(io, &answer)).await;
            drop(permit);
        });
    }
}

/// The whole HTTP/1.1 answer to a refused connection.
fn too_many(max: usize) -> Vec<u8> {
    let error = RpcError::new(
        ErrorCode::TooManyRequests,
        format!("Too many open connections from this address (at most {max})"),
    );
    let mut body = b"{\"error\":".to_vec();
    body.extend_from_slice(&error.shape_json(None));
    body.push(b'}');
    let mut answer = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    answer
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

/// An accepted connection, counted against its address until dropped.
#[derive(Debug)]
pub struct Counted<Io> {
    io: Io,
    _slot: Slot,
}

impl<Io: AsyncRead + Unpin> AsyncRead for Counted<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Counted<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_go_back_to_nothing() {
        let counts = ConnectionCounts::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let a = counts.try_open(ip, 2).unwrap();
        let b = counts.try_open(ip, 2).unwrap();
        assert!(counts.try_open(ip, 2).is_none());
        assert_eq!(counts.open_from(ip), 2);
        drop(a);
        let c = counts.try_open(ip, 2).unwrap();
        drop((b, c));
        assert_eq!(counts.total(), 0);
        assert_eq!(counts.addresses(), 0);
    }

    #[test]
    fn mapped_ipv4_counts_as_ipv4() {
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(canonical(mapped), "10.0.0.1".parse::<IpAddr>().unwrap());
        let v6: IpAddr = "::1".parse().unwrap();
        assert_eq!(canonical(v6), v6);
    }

    #[test]
    fn the_answer_is_a_complete_response() {
        let answer = String::from_utf8(too_many(3)).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 429 Too Many Requests\r\n"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["data"]["code"], "TOO_MANY_REQUESTS");
        assert_eq!(body["error"]["data"]["httpStatus"], 429);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("at most 3")
        );
    }
}
