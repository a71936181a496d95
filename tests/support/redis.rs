//! A real `redis-server` for tests: started on a free port in a temporary directory, without
//! persistence (`--save '' --appendonly no`, so a restart loses everything, like a crash of
//! a cache), stopped by pid. `./dev test` installs Debian's package when it is missing; without
//! it these tests fail, saying how to install it. Also: the quiet simulator and the
//! instance flags the cluster tests share, and a raw look at what Redis holds.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tidings_sim::{RunningSim, SimConfig};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::TestApp;

/// The poll lease of cluster test instances: short, so a take-over fits in a test.
pub const LEASE_TTL: &str = "1s";

/// A quiet simulator (no background activity, ticks on demand) that instances share.
pub async fn quiet_sim() -> RunningSim {
    tidings_sim::spawn(SimConfig {
        activity_per_sec: 0.0,
        tick: Duration::from_secs(3600),
        ..SimConfig::default()
    })
    .await
    .expect("simulator")
}

/// An instance on `redis` over `sim`, without coalescing, with a [`LEASE_TTL`] poll lease.
pub async fn redis_instance(sim: &RunningSim, redis: &RedisServer) -> TestApp {
    redis_instance_with(sim, redis, &[]).await
}

/// [`redis_instance`] with `extra` flags.
pub async fn redis_instance_with(sim: &RunningSim, redis: &RedisServer, extra: &[&str]) -> TestApp {
    let url = redis.url();
    let mut flags = vec![
        "--bus",
        url.as_str(),
        "--lease-ttl",
        LEASE_TTL,
        "--coalesce-window",
        "0ms",
    ];
    flags.extend_from_slice(extra);
    TestApp::spawn_on(sim, &flags).await
}

/// A Redis reply, as RESP2 sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`.
    Status(String),
    /// `-ERR …`.
    Error(String),
    /// `:1`.
    Int(i64),
    /// A bulk string (`None`: nil).
    Bulk(Option<Vec<u8>>),
    /// An array (`None`: nil).
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The bulk strings of an array reply (or of a bulk reply), as bytes.
    pub fn bulks(&self) -> Vec<Vec<u8>> {
        match self {
            Reply::Bulk(Some(bytes)) => vec![bytes.clone()],
            Reply::Array(Some(items)) => items.iter().flat_map(Reply::bulks).collect(),
            _ => Vec::new(),
        }
    }
}

/// A running redis-server.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one on a free port and waits until it answers PING.
    pub async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("tidings-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("redis temp dir");
        let mut server = Self {
            port,
            dir,
            child: None,
        };
        server.launch().await;
        server
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Runs one command on a connection of its own.
    pub async fn command(&self, args: &[&[u8]]) -> Reply {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("redis connection");
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            request.extend_from_slice(arg);
            request.extend_from_slice(b"\r\n");
        }
        stream.write_all(&request).await.expect("redis write");
        read_reply(&mut BufReader::new(stream)).await
    }

    /// Every key Redis holds, with every byte of its value (strings, hashes, sorted sets,
    /// streams), for tests that check what an onlooker of Redis could read.
    pub async fn dump(&self) -> Vec<(String, Vec<u8>)> {
        let keys = self.command(&[b"KEYS", b"*"]).await.bulks();
        let mut dump = Vec::new();
        for key in keys {
            let Reply::Status(kind) = self.command(&[b"TYPE", &key]).await else {
                panic!("TYPE answers a status");
            };
            let value: &[&[u8]] = match kind.as_str() {
                "string" => &[b"GET"],
                "hash" => &[b"HGETALL"],
                "zset" => &[b"ZRANGE", b"0", b"-1", b"WITHSCORES"],
                "set" => &[b"SMEMBERS"],
                "list" => &[b"LRANGE", b"0", b"-1"],
                "stream" => &[b"XRANGE", b"-", b"+"],
                other => panic!("unexpected key type {other}"),
            };
            let mut args = vec![value[0], &key];
            args.extend_from_slice(&value[1..]);
            let bytes = self.command(&args).await.bulks().concat();
            dump.push((String::from_utf8_lossy(&key).into_owned(), bytes));
        }
        dump
    }

    /// Kills the server (SIGKILL by pid: no goodbye to clients) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills it and starts a new, empty one on the same port.
    pub async fn restart(&mut self) {
        self.stop();
        self.launch().await;
    }

    async fn launch(&mut self) {
        let spawned = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(error) => panic!(
                "cannot start redis-server ({error}); the Redis bus tests need it: \
                 `apt-get install -y redis-server` (./dev test installs it when run as root)"
            ),
        };
        self.child = Some(child);
        for _ in 0..200 {
            if self.ping().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("redis-server on port {} never answered PING", self.port);
    }

    async fn ping(&self) -> bool {
        let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        if stream.write_all(b"PING\r\n").await.is_err() {
            return false;
        }
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply).await.is_ok() && &reply == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Reads one RESP2 reply.
fn read_reply<R: AsyncBufRead + Unpin + Send>(
    reader: &mut R,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Reply> + Send + '_>> {
    Box::pin(async move {
        let mut line = String::new();
        reader.read_line(&mut line).await.expect("redis reply");
        let (kind, rest) = line.trim_end().split_at(1);
        match kind {
            "+" => Reply::Status(rest.to_owned()),
            "-" => Reply::Error(rest.to_owned()),
            ":" => Reply::Int(rest.parse().expect("integer")),
            "$" => {
                let Ok(len) = usize::try_from(rest.parse::<i64>().expect("length")) else {
                    return Reply::Bulk(None);
                };
                let mut bytes = vec![0; len + 2];
                reader.read_exact(&mut bytes).await.expect("bulk");
                bytes.truncate(len);
                Reply::Bulk(Some(bytes))
            }
            "*" => {
                let Ok(len) = usize::try_from(rest.parse::<i64>().expect("length")) else {
                    return Reply::Array(None);
                };
                let mut items = Vec::with_capacity(len);
                for _ in 0..len {
                    items.push(read_reply(reader).await);
                }
                Reply::Array(Some(items))
            }
            other => panic!("unexpected RESP type {other:?}"),
        }
    })
}
