//! Accepting with back-off: when `accept` fails for want of resources (`EMFILE`, `ENFILE`,
//! `ENOBUFS`, `ENOMEM`: the connection stays queued in the kernel) the loop waits, doubling from
//! 10 ms to 1 s, instead of spinning on an error that is still there; it logs once when the
//! trouble starts and once when a connection is accepted again.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

/// The first wait after a failed accept.
const FIRST_WAIT: Duration = Duration::from_millis(10);

/// The longest wait between two attempts.
const LONGEST_WAIT: Duration = Duration::from_secs(1);

/// The state of the accept loop: how many accepts in a row have failed.
#[derive(Debug, Default)]
pub struct AcceptBackoff {
    failures: u32,
}

impl AcceptBackoff {
    /// How long to wait after `error` before accepting again: nothing for an error of the one
    /// connection (it was reset before it was accepted), a growing wait otherwise. Logs the
    /// first failure of a run.
    pub fn failed(&mut self, error: &io::Error) -> Duration {
        if is_connection_error(error) {
            return Duration::ZERO;
        }
        if self.failures == 0 {
            tracing::warn!(
                error = %error,
                "accept failed (out of file descriptors?); backing off until it works again"
            );
        }
        self.failures = self.failures.saturating_add(1);
        let doublings = (self.failures - 1).min(16);
        FIRST_WAIT.saturating_mul(1 << doublings).min(LONGEST_WAIT)
    }

    /// A connection was accepted: the run of failures (if any) is over.
    pub fn accepted(&mut self) {
        if self.failures > 0 {
            tracing::info!(failures = self.failures, "accepting connections again");
            self.failures = 0;
        }
    }

    /// Accepts in a row that failed.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// Errors of a single connection, which say nothing about the listener.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// The next connection of `listener`, waiting as `backoff` says after each failure.
pub async fn accept(
    listener: &TcpListener,
    backoff: &mut AcceptBackoff,
) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => {
                backoff.accepted();
                return accepted;
            }
            Err(error) => {
                let wait = backoff.failed(&error);
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emfile() -> io::Error {
        io::Error::from_raw_os_error(24)
    }

    #[test]
    fn out_of_files_waits_longer_each_time_up_to_a_second() {
        let mut backoff = AcceptBackoff::default();
        let waits: Vec<u128> = (0..10)
            .map(|_| backoff.failed(&emfile()).as_millis())
            .collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        assert_eq!(backoff.failures(), 10);
        backoff.accepted();
        assert_eq!(backoff.failures(), 0);
        assert_eq!(backoff.failed(&emfile()), FIRST_WAIT);
    }

    #[test]
    fn a_reset_connection_is_retried_at_once() {
        let mut backoff = AcceptBackoff::default();
        let reset = io::Error::from(io::ErrorKind::ConnectionAborted);
        assert_eq!(backoff.failed(&reset), Duration::ZERO);
        assert_eq!(backoff.failures(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn many_failures_cost_few_attempts() {
        // In 10 s of (paused) time, an accept loop that hits EMFILE tries about 17 times,
        // not millions.
        let mut backoff = AcceptBackoff::default();
        let started = tokio::time::Instant::now();
        let mut attempts = 0;
        while started.elapsed() < Duration::from_secs(10) {
            attempts += 1;
            tokio::time::sleep(backoff.failed(&emfile())).await;
        }
        assert!(attempts < 20, "{attempts} attempts");
    }
}
