//! Admitting TCP connections before any HTTP is read. Two caps hold every connection, WebSockets
//! and streams included, from accept until its socket is dropped: one on the whole process
//! (derived from `RLIMIT_NOFILE`, so file descriptors are left for upstream sockets, Redis and
//! files) and one on each client address. A connection past either is answered at once by a
//! small pool of tasks (`503` when the process is full, `429` when its address is, each with a
//! JSON body; a full process still answers `ok` to `GET /healthz`, so that health checks do
//! not fail an instance because of a flood) and closed. Refusing costs
//! a bounded number of sockets, and the connections already open are never disturbed.

mod accept;
mod refusal;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Semaphore;

pub use accept::{AcceptBackoff, accept};
use refusal::Refused;

/// Most refused connections being answered at once; beyond it, refused connections are closed
/// without an answer, so a flood of them costs no more than that many sockets.
pub const MAX_ANSWERING: usize = 256;

/// File descriptors kept out of the connection cap at least, whatever the open-files limit:
/// upstream and Redis connections, the listener, epoll, the console's files.
const MIN_HEADROOM: u64 = 256;

/// How often the cap being reached is logged at most.
const FULL_LOG_EVERY: Duration = Duration::from_secs(10);

/// The two caps on open connections (0: no cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Most open connections in all.
    pub max_connections: usize,
    /// Most open connections from one client address.
    pub max_per_ip: usize,
}

impl ConnectionLimits {
    /// The caps derived from the process's open-files limit (see [`default_max_connections`]),
    /// either replaced by `max_connections` / `max_per_ip` when given.
    pub fn derived(max_connections: Option<usize>, max_per_ip: Option<usize>) -> Self {
        let max_connections = max_connections
            .unwrap_or_else(|| open_files_limit().map_or(0, default_max_connections));
        let max_per_ip = max_per_ip.unwrap_or_else(|| default_max_per_ip(max_connections));
        Self {
            max_connections,
            max_per_ip,
        }
    }
}

/// The soft `RLIMIT_NOFILE` of this process (`None` where it cannot be read or is unlimited).
pub fn open_files_limit() -> Option<u64> {
    let (soft, _hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).ok()?;
    (soft != rlimit::INFINITY).then_some(soft)
}

/// The connection cap for `open_files` descriptors: a tenth of them (at least 256, at most
/// half) is headroom for everything that is not a client connection, and the pool answering
/// refused connections ([`MAX_ANSWERING`]) comes off too. 20,000 files give 17,744 connections.
pub fn default_max_connections(open_files: u64) -> usize {
    let headroom = (open_files / 10).max(MIN_HEADROOM).min(open_files / 2);
    let cap = open_files.saturating_sub(headroom + MAX_ANSWERING as u64);
    usize::try_from(cap.max(1)).unwrap_or(usize::MAX)
}

/// The per-address cap for a process cap of `max_connections`: a quarter of it, so one address
/// cannot take the whole process (0, no process cap, gives no per-address cap either).
pub fn default_max_per_ip(max_connections: usize) -> usize {
    if max_connections == 0 {
        0
    } else {
        (max_connections / 4).max(1)
    }
}

/// What is open now: per client address, and in all.
#[derive(Debug, Default)]
struct Open {
    per_ip: HashMap<IpAddr, usize>,
    total: usize,
}

/// The open connections of each client address; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ConnectionCounts(Arc<Mutex<Open>>);

impl ConnectionCounts {
    fn open(&self) -> std::sync::MutexGuard<'_, Open> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Open connections from `ip`.
    pub fn open_from(&self, ip: IpAddr) -> usize {
        self.open().per_ip.get(&canonical(ip)).copied().unwrap_or(0)
    }

    /// Open connections from every address.
    pub fn total(&self) -> usize {
        self.open().total
    }

    /// Addresses with at least one open connection.
    pub fn addresses(&self) -> usize {
        self.open().per_ip.len()
    }

    /// Counts one more connection from `ip`, unless that would break a cap of `limits`.
    fn try_open(&self, ip: IpAddr, limits: ConnectionLimits) -> Result<Slot, Refused> {
        let cap = |max: usize| if max == 0 { usize::MAX } else { max };
        let mut open = self.open();
        if open.total >= cap(limits.max_connections) {
            return Err(Refused::Full {
                max: limits.max_connections,
            });
        }
        let from_ip = open.per_ip.entry(ip).or_insert(0);
        if *from_ip >= cap(limits.max_per_ip) {
            if *from_ip == 0 {
                open.per_ip.remove(&ip);
            }
            return Err(Refused::PerAddress {
                max: limits.max_per_ip,
            });
        }
        *from_ip += 1;
        open.total += 1;
        Ok(Slot {
            counts: self.clone(),
            ip,
        })
    }

    fn close(&self, ip: IpAddr) {
        let mut open = self.open();
        if let Some(from_ip) = open.per_ip.get_mut(&ip) {
            *from_ip -= 1;
            if *from_ip == 0 {
                open.per_ip.remove(&ip);
            }
            open.total -= 1;
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

/// Decides, for each accepted connection, whether it is served or refused.
#[derive(Debug)]
pub struct Admission {
    limits: ConnectionLimits,
    counts: ConnectionCounts,
    answering: Arc<Semaphore>,
    /// The path answered `ok` on refused connections (`/healthz`).
    health_path: Option<Arc<str>>,
    /// When the process cap was last logged as reached.
    full_logged: Mutex<Option<Instant>>,
}

impl Admission {
    /// Admits connections within `limits`; past the process cap, `GET health_path` is still
    /// answered `200 ok`.
    pub fn new(limits: ConnectionLimits, health_path: Option<&str>) -> Self {
        Self {
            limits,
            counts: ConnectionCounts::default(),
            answering: Arc::new(Semaphore::new(MAX_ANSWERING)),
            health_path: health_path.map(Arc::from),
            full_logged: Mutex::new(None),
        }
    }

    /// The caps applied.
    pub fn limits(&self) -> ConnectionLimits {
        self.limits
    }

    /// The live counts (for tests and metrics).
    pub fn counts(&self) -> ConnectionCounts {
        self.counts.clone()
    }

    /// `io`, counted, when it fits both caps; otherwise `None`, and it is answered and closed
    /// in a task of its own so accepting goes on.
    pub fn admit<Io>(&self, io: Io, addr: SocketAddr) -> Option<Counted<Io>>
    where
        Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let ip = canonical(addr.ip());
        match self.counts.try_open(ip, self.limits) {
            Ok(slot) => Some(Counted { io, _slot: slot }),
            Err(refused) => {
                self.log(&refused, ip);
                self.refuse(io, refused);
                None
            }
        }
    }

    fn log(&self, refused: &Refused, ip: IpAddr) {
        match refused {
            Refused::PerAddress { max } => {
                tracing::debug!(%ip, max, "too many connections from one address");
            }
            Refused::Full { max } => {
                let mut last = self
                    .full_logged
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if last.is_none_or(|at| at.elapsed() >= FULL_LOG_EVERY) {
                    *last = Some(Instant::now());
                    tracing::warn!(max, "connection cap reached; refusing new connections");
                }
            }
        }
    }

    fn refuse<Io>(&self, io: Io, refused: Refused)
    where
        Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Ok(permit) = self.answering.clone().try_acquire_owned() else {
            return;
        };
        let health = self.health_path.clone();
        tokio::spawn(async move {
            refusal::answer(io, refused, health.as_deref()).await;
            drop(permit);
        });
    }
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

    const PER_IP_2: ConnectionLimits = ConnectionLimits {
        max_connections: 0,
        max_per_ip: 2,
    };

    #[test]
    fn counts_go_back_to_nothing() {
        let counts = ConnectionCounts::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let a = counts.try_open(ip, PER_IP_2).unwrap();
        let b = counts.try_open(ip, PER_IP_2).unwrap();
        assert!(counts.try_open(ip, PER_IP_2).is_err());
        assert_eq!(counts.open_from(ip), 2);
        drop(a);
        let c = counts.try_open(ip, PER_IP_2).unwrap();
        drop((b, c));
        assert_eq!(counts.total(), 0);
        assert_eq!(counts.addresses(), 0);
    }

    #[test]
    fn the_process_cap_counts_every_address() {
        let counts = ConnectionCounts::default();
        let limits = ConnectionLimits {
            max_connections: 2,
            max_per_ip: 0,
        };
        let a = counts
            .try_open("10.0.0.1".parse().unwrap(), limits)
            .unwrap();
        let _b = counts
            .try_open("10.0.0.2".parse().unwrap(), limits)
            .unwrap();
        let third = counts.try_open("10.0.0.3".parse().unwrap(), limits);
        assert!(matches!(third, Err(Refused::Full { max: 2 })));
        assert_eq!(counts.addresses(), 2, "a refused address is not remembered");
        drop(a);
        assert!(counts.try_open("10.0.0.3".parse().unwrap(), limits).is_ok());
    }

    #[test]
    fn mapped_ipv4_counts_as_ipv4() {
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(canonical(mapped), "10.0.0.1".parse::<IpAddr>().unwrap());
        let v6: IpAddr = "::1".parse().unwrap();
        assert_eq!(canonical(v6), v6);
    }

    #[test]
    fn caps_derived_from_the_open_files_limit_leave_headroom() {
        assert_eq!(default_max_connections(20_000), 17_744);
        assert_eq!(default_max_connections(1024), 512);
        assert_eq!(default_max_connections(300), 1);
        assert_eq!(default_max_per_ip(17_744), 4_436);
        assert_eq!(default_max_per_ip(0), 0);
        let explicit = ConnectionLimits::derived(Some(100), None);
        assert_eq!(explicit.max_per_ip, 25);
        let explicit = ConnectionLimits::derived(Some(100), Some(0));
        assert_eq!(explicit.max_per_ip, 0);
    }
}
