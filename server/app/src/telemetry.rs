//! Structured logging: `RUST_LOG`-style filtering (default `info`), pretty or JSON lines on
//! stderr, with the libraries that log credentials held below the level where they do.
//!
//! No level prints a password, a session token, a stream ticket or a Keystone token. Our own
//! events never carry them (their `Debug` impls hide them); some libraries log whole requests
//! at DEBUG or TRACE: jsonrpsee its HTTP bodies (`auth.login`'s password), request headers
//! (`Authorization`) and JSON-RPC calls, tungstenite and soketto every WebSocket message
//! (connection parameters, logins over JSON-RPC). Their targets are capped at INFO whatever
//! `RUST_LOG` says; per-call logs come from our own spans instead.

use tracing::{Level, Metadata};
use tracing_subscriber::filter::{EnvFilter, FilterFn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use crate::config::LogFormat;

/// Targets (and their children) that log request bodies, headers or WebSocket messages below
/// INFO.
const CREDENTIAL_LOGGING_TARGETS: [&str; 3] = ["jsonrpsee", "tungstenite", "soketto"];

/// Installs the global subscriber, filtered by `RUST_LOG` (default `info`); a second call
/// (tests) is a no-op.
pub fn init(format: LogFormat) {
    let directives = std::env::var(EnvFilter::DEFAULT_ENV).unwrap_or_else(|_| "info".to_owned());
    let _ = subscriber(format, &directives, std::io::stderr).try_init();
}

/// The subscriber [`init`] installs, filtered by `directives` (`RUST_LOG` syntax; invalid ones
/// are ignored), writing to `writer`.
pub fn subscriber<W>(
    format: LogFormat,
    directives: &str,
    writer: W,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::builder().parse_lossy(directives);
    let fmt = tracing_subscriber::fmt::layer().with_writer(writer);
    let fmt = match format {
        LogFormat::Pretty => fmt.boxed(),
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
    };
    Registry::default().with(fmt.with_filter(FilterFn::new(may_log)).with_filter(filter))
}

/// Whether an event or span may be logged at all: not below INFO for the targets that log
/// credentials there.
fn may_log(metadata: &Metadata<'_>) -> bool {
    *metadata.level() <= Level::INFO || !logs_credentials(metadata.target())
}

fn logs_credentials(target: &str) -> bool {
    CREDENTIAL_LOGGING_TARGETS.iter().any(|prefix| {
        target
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '_', ':']))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_logging_targets_and_their_children_are_matched() {
        for target in [
            "jsonrpsee",
            "jsonrpsee-http",
            "jsonrpsee-server",
            "jsonrpsee_core::server::rpc_module",
            "tungstenite::protocol",
            "soketto::connection",
        ] {
            assert!(logs_credentials(target), "{target}");
        }
        for target in [
            "tidings::server",
            "tokio_tungstenite",
            "hyper::proto",
            "jsonrpseex",
        ] {
            assert!(!logs_credentials(target), "{target}");
        }
    }
}
