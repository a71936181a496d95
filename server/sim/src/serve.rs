//! The HTTP/1.1 accept loop. It is hand-rolled rather than `axum::serve` so that the `drop`
//! fault can close a connection without answering: each connection carries a [`DropHook`].

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tracing::{debug, warn};

/// Lets a handler close its own connection without an answer.
#[derive(Clone, Default)]
pub(crate) struct DropHook(Arc<Notify>);

impl DropHook {
    /// Asks the connection task to close the connection now.
    pub(crate) fn fire(&self) {
        self.0.notify_one();
    }
}

/// Serves `router` on `listener` until `cancel` fires; open connections are closed then too.
pub(crate) async fn accept_loop(listener: TcpListener, router: Router, cancel: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            () = cancel.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                debug!(%peer, "connection accepted");
                tokio::spawn(connection(stream, router.clone(), cancel.clone()));
            }
            Err(error) => warn!(error = ?error, "accept failed"),
        }
    }
}

async fn connection(stream: tokio::net::TcpStream, router: Router, cancel: CancellationToken) {
    let hook = DropHook::default();
    let per_request = hook.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(per_request.clone());
        router.clone().oneshot(request.map(Body::new))
    });
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                debug!(error = ?error, "connection ended with an error");
            }
        }
        () = hook.0.notified() => debug!("connection dropped by fault"),
        () = cancel.cancelled() => {}
    }
}
