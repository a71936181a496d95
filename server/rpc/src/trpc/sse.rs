//! tRPC subscriptions over Server-Sent Events, as `httpSubscriptionLink` expects: `connected`
//! first, tracked events with `id:`, `ping` when idle, `serialized-error` on failure, `return` on
//! completion. Frames of tracked notices are rendered once per notice and shared.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::{BufMut, Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use http::{StatusCode, header};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Trpc, VARY, allowed_methods};
use crate::error::RpcError;
use crate::event::{Event, Frame, Notice};
use crate::metrics::SubscriberGuard;
use crate::procedure::{Ctx, EventStream, ProcedureKind, RawInput, Transport};

enum Phase {
    Setup(BoxFuture<'static, Result<EventStream, RpcError>>),
    Running(EventStream),
    Done,
}

struct State {
    phase: Phase,
    path: Arc<str>,
    /// The id the browser's EventSource currently holds (see [`untracked_frame`]).
    last_id: Option<String>,
    ping: Option<Duration>,
    deadline: Option<Instant>,
    shutdown: CancellationToken,
    /// Counts this stream as an open subscriber until it is dropped.
    _subscriber: SubscriberGuard,
}

pub(super) fn respond<S: Clone + Send + Sync + 'static>(
    trpc: Arc<Trpc<S>>,
    ctx: Ctx<S>,
    path: String,
    input: RawInput,
    method_check: Result<(), RpcError>,
) -> Response {
    let config = &trpc.config.sse;
    let connected = connected_frame(config.reconnect_after_inactivity);
    // Restored with `restore-id` after untracked values. The id a browser holds came from an
    // `id:` line, so it has no line break; one that has (only a hand-made URL sends it) would
    // break the stream's framing, and there is nothing to restore.
    let last_id = input
        .last_event_id
        .clone()
        .filter(|id| !id.contains(['\n', '\r']));
    let allow = method_check
        .is_err()
        .then(|| allowed_methods(&trpc, ProcedureKind::Subscription));
    let setup = {
        let (trpc, path) = (trpc.clone(), path.clone());
        async move {
            method_check?;
            trpc.registry.subscribe(ctx, &path, input).await
        }
        .boxed()
    };
    let state = State {
        phase: Phase::Setup(setup),
        path: path.into(),
        last_id,
        ping: config.ping_interval,
        deadline: config.max_duration.map(|d| Instant::now() + d),
        shutdown: trpc.config.shutdown.clone(),
        _subscriber: trpc.config.metrics.subscriber(Transport::TrpcHttp),
    };
    let frames =
        futures::stream::once(async move { connected }).chain(futures::stream::unfold(state, step));
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache, no-transform")
        .header("x-accel-buffering", "no")
        .header(header::VARY, VARY);
    if let Some(allow) = allow {
        builder = builder.header(header::ALLOW, allow);
    }
    builder
        .body(Body::from_stream(
            frames.map(Ok::<_, std::convert::Infallible>),
        ))
        .unwrap_or_default()
}

/// Produces the next frame, or ends the stream.
async fn step(mut state: State) -> Option<(Bytes, State)> {
    loop {
        match std::mem::replace(&mut state.phase, Phase::Done) {
            Phase::Done => return None,
            Phase::Setup(setup) => match setup.await {
                Ok(stream) => state.phase = Phase::Running(stream),
                Err(error) => return Some((error_frame(&error, &state.path), state)),
            },
            Phase::Running(mut stream) => {
                let ping = async {
                    match state.ping {
                        Some(interval) => tokio::time::sleep(interval).await,
                        None => std::future::pending().await,
                    }
                };
                let deadline = async {
                    match state.deadline {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    event = stream.next() => {
                        let frame = match event {
                            Some(Event::Notice(notice)) => {
                                let frame = notice_frame(&notice, state.last_id.as_deref());
                                if let Some(id) = notice.id() {
                                    state.last_id = Some(id.to_owned());
                                }
                                state.phase = Phase::Running(stream);
                                frame
                            }
                            Some(Event::Error(error)) => error_frame(&error, &state.path),
                            None => Bytes::from_static(b"event: return\ndata: \n\n\n"),
                        };
                        return Some((frame, state));
                    }
                    () = ping => {
                        state.phase = Phase::Running(stream);
                        return Some((Bytes::from_static(b"event: ping\ndata: \n\n\n"), state));
                    }
                    // `maxDuration` or shutdown: end without `return`, so the client reconnects
                    // and resumes.
                    () = deadline => return None,
                    () = state.shutdown.cancelled() => return None,
                }
            }
        }
    }
}

fn connected_frame(reconnect_after_inactivity: Option<Duration>) -> Bytes {
    let data = match reconnect_after_inactivity {
        Some(d) => format!("{{\"reconnectAfterInactivityMs\":{}}}", d.as_millis()),
        None => "{}".to_owned(),
    };
    Bytes::from(format!("event: connected\ndata: {data}\n\n\n"))
}

fn error_frame(error: &RpcError, path: &str) -> Bytes {
    let mut out = BytesMut::new();
    out.put_slice(b"event: serialized-error\n");
    put_data(&mut out, &error.shape_json(Some(path)));
    out.put_slice(b"\n\n");
    out.freeze()
}

/// A tracked notice's frame is the same for every subscriber: rendered once. An untracked value
/// after an id needs the per-connection `restore-id` dance, because browsers attach the last id
/// to every later event.
fn notice_frame(notice: &Notice, last_id: Option<&str>) -> Bytes {
    match (notice.id(), last_id) {
        (Some(_), _) | (None, None) => notice.frame(Frame::TrpcSse, |n| {
            let mut out = BytesMut::with_capacity(n.json().len() + 32);
            put_data(&mut out, n.json());
            if let Some(id) = n.id() {
                out.put_slice(b"id: ");
                out.put_slice(id.as_bytes());
                out.put_u8(b'\n');
            }
            out.put_slice(b"\n\n");
            out.freeze()
        }),
        (None, Some(last)) => untracked_frame(notice, last),
    }
}

fn untracked_frame(notice: &Notice, last_id: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(notice.json().len() + 64);
    put_data(&mut out, notice.json());
    out.put_slice(b"id: \n\n\nevent: restore-id\ndata: \nid: ");
    out.put_slice(last_id.as_bytes());
    out.put_slice(b"\n\n\n");
    out.freeze()
}

/// `data: ` lines; text with line breaks becomes several `data:` lines, which SSE joins again.
fn put_data(out: &mut BytesMut, json: &[u8]) {
    for line in json.split(|b| *b == b'\n') {
        out.put_slice(b"data: ");
        out.put_slice(line.strip_suffix(b"\r").unwrap_or(line));
        out.put_u8(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracked_frame_bytes() {
        let n = Notice::from_json(
            Some("7".into()),
            Bytes::from_static(br#"{"type":"images"}"#),
        );
        assert_eq!(
            &notice_frame(&n, None)[..],
            b"data: {\"type\":\"images\"}\nid: 7\n\n\n"
        );
    }

    #[test]
    fn untracked_after_id_restores_it() {
        let n = Notice::from_json(None, Bytes::from_static(br#"{"type":"images"}"#));
        assert_eq!(
            &notice_frame(&n, Some("7"))[..],
            &b"data: {\"type\":\"images\"}\nid: \n\n\nevent: restore-id\ndata: \nid: 7\n\n\n"[..]
        );
        assert_eq!(
            &notice_frame(&n, None)[..],
            b"data: {\"type\":\"images\"}\n\n\n"
        );
    }

    #[test]
    fn connected_is_json() {
        assert_eq!(
            &connected_frame(None)[..],
            b"event: connected\ndata: {}\n\n\n"
        );
        assert_eq!(
            &connected_frame(Some(Duration::from_secs(30)))[..],
            b"event: connected\ndata: {\"reconnectAfterInactivityMs\":30000}\n\n\n"
        );
    }
}
