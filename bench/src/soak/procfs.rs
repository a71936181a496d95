//! What a process holds, from `/proc`: resident memory, threads, and its open file
//! descriptors sorted by what they are (client connections, upstream connections, the rest).

use std::collections::HashMap;

/// One look at the server process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// `VmRSS`, in KiB.
    pub rss_kib: u64,
    /// `Threads`.
    pub threads: u64,
    /// Every open file descriptor.
    pub fds: u64,
    /// TCP connections accepted on the server's port (clients).
    pub clients: u64,
    /// TCP connections to the upstream's port.
    pub upstream: u64,
    /// Everything else: listeners, other sockets, epoll, eventfd, pipes, files.
    pub other: u64,
}

/// Reads `pid`'s usage; `server_port` is the port it listens on, `upstream_port` the port of
/// its upstream. `None` when the process is gone.
pub fn usage(pid: u32, server_port: u16, upstream_port: u16) -> Option<Usage> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let sockets = sockets(pid);
    let mut usage = Usage {
        rss_kib: field("VmRSS:"),
        threads: field("Threads:"),
        ..Usage::default()
    };
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        usage.fds += 1;
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        let target = target.to_string_lossy();
        let inode = target
            .strip_prefix("socket:[")
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|n| n.parse::<u64>().ok());
        match inode.and_then(|i| sockets.get(&i)) {
            Some(s) if s.local_port == server_port && s.remote_port != 0 => usage.clients += 1,
            Some(s) if s.remote_port == upstream_port => usage.upstream += 1,
            _ => usage.other += 1,
        }
    }
    Some(usage)
}

/// A TCP socket's ports.
#[derive(Debug, Clone, Copy)]
struct Socket {
    local_port: u16,
    remote_port: u16,
}

/// Every TCP socket of `pid`'s network namespace, by inode.
fn sockets(pid: u32) -> HashMap<u64, Socket> {
    let mut out = HashMap::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            if let Some((inode, socket)) = parse_line(line) {
                out.insert(inode, socket);
            }
        }
    }
    out
}

/// `sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …`.
fn parse_line(line: &str) -> Option<(u64, Socket)> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let port = |address: &str| {
        let (_, hex) = address.rsplit_once(':')?;
        u16::from_str_radix(hex, 16).ok()
    };
    Some((
        fields.get(9)?.parse().ok()?,
        Socket {
            local_port: port(fields.get(1)?)?,
            remote_port: port(fields.get(2)?)?,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_proc_net_tcp_line() {
        let line = "   3: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  \
                    1000        0 123456 1 0000000000000000 20 4 30 10 -1";
        let (inode, socket) = parse_line(line).unwrap();
        assert_eq!(inode, 123456);
        assert_eq!((socket.local_port, socket.remote_port), (8080, 50000));
    }

    #[test]
    fn reads_this_process() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (_accepted, _) = listener.accept().unwrap();
        let usage = usage(std::process::id(), port, 1).unwrap();
        assert!(usage.rss_kib > 0 && usage.threads >= 1);
        assert_eq!(usage.clients, 1);
        assert_eq!(usage.fds, usage.clients + usage.upstream + usage.other);
    }
}
