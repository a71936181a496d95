//! The registry's behaviour on its own: decoding, encoding, panics, limits, the guard, the
//! gate, what request metadata shows of itself, and the derived UPDATE_QUERY_MAP.

use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;
use serde::Deserialize;
use specta::Type;

use super::*;
use crate::error::{ErrorCode, RpcError};
use crate::limits::Limits;

#[derive(Deserialize, Type)]
struct ById {
    id: String,
}

fn ctx() -> Ctx<()> {
    Ctx {
        state: (),
        meta: Arc::new(RequestMeta::local()),
    }
}

fn registry() -> Registry<()> {
    let mut r = Registry::new();
    r.query("things.getById", |_: Ctx<()>, input: ById| async move {
        Ok(input.id)
    })
    .invalidated_by_types(["things"]);
    r.query("things.getAll", |_: Ctx<()>, _: ()| async {
        Ok(vec![1u32, 2])
    })
    .invalidated_by_types(["things", "other"]);
    r.mutation("things.crash", |_: Ctx<()>, _: ()| async {
        if true {
            panic!("boom");
        }
        Ok(())
    });
    r
}

#[tokio::test]
async fn decodes_input_and_encodes_output() {
    let out = registry()
        .call(ctx(), "things.getById", RawInput::json(r#"{"id":"a"}"#))
        .await;
    assert_eq!(out.unwrap(), Bytes::from_static(b"\"a\""));
}

#[tokio::test]
async fn names_the_offending_field() {
    let err = registry()
        .call(ctx(), "things.getById", RawInput::json(r#"{"id":1}"#))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadRequest);
    assert!(err.message.contains("\"id\""), "{}", err.message);
    let err = registry()
        .call(ctx(), "things.getById", RawInput::default())
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadRequest);
}

#[tokio::test]
async fn input_less_procedures_ignore_bad_json() {
    let out = registry()
        .call(ctx(), "things.getAll", RawInput::json("{bad"))
        .await;
    assert_eq!(out.unwrap(), Bytes::from_static(b"[1,2]"));
}

#[tokio::test]
async fn malformed_json_is_bad_request() {
    let err = registry()
        .call(ctx(), "things.getById", RawInput::json("{bad"))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadRequest);
    assert!(
        err.message.starts_with("Invalid JSON input"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn panics_become_internal_errors() {
    let err = registry()
        .call(ctx(), "things.crash", RawInput::default())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        RpcError::new(ErrorCode::InternalServerError, "Internal server error")
    );
}

#[tokio::test]
async fn input_nested_too_deeply_is_refused_before_parsing() {
    let mut r = registry();
    r.set_limits(Limits {
        max_input_depth: 3,
        ..Limits::default()
    });
    let deep = RawInput::json(r#"{"id":[[["x"]]]}"#);
    let err = r.call(ctx(), "things.getById", deep).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::BadRequest);
    assert!(err.message.contains("deeper than 3"), "{}", err.message);
    // A megabyte of brackets: refused by the scan, no recursion anywhere.
    let brackets = RawInput::json("[".repeat(1 << 20));
    let err = r.call(ctx(), "things.getById", brackets).await.unwrap_err();
    assert!(err.message.contains("deeper than 3"), "{}", err.message);
    // Procedures without input never look at it.
    let out = r
        .call(ctx(), "things.getAll", RawInput::json("[[[[[["))
        .await;
    assert_eq!(out.unwrap(), Bytes::from_static(b"[1,2]"));
}

#[tokio::test]
async fn calls_past_the_deadline_time_out_alone() {
    let mut r = registry();
    r.query("things.slow", |_: Ctx<()>, _: ()| async {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        Ok(())
    });
    r.set_limits(Limits {
        call_timeout: Some(std::time::Duration::from_millis(50)),
        ..Limits::default()
    });
    let err = r
        .call(ctx(), "things.slow", RawInput::default())
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Timeout);
    assert_eq!(err.message, "\"things.slow\" did not finish within 50ms");
    let out = r.call(ctx(), "things.getAll", RawInput::default()).await;
    assert_eq!(out.unwrap(), Bytes::from_static(b"[1,2]"));
}

#[tokio::test]
async fn the_guard_runs_before_input_decoding_except_for_public_procedures() {
    let mut r = registry();
    r.query("things.open", |_: Ctx<()>, input: ById| async move {
        Ok(input.id)
    })
    .public();
    r.set_guard(|ctx, procedure| {
        if ctx.meta.headers.contains_key("x-pass") {
            Ok(())
        } else {
            Err(RpcError::new(
                ErrorCode::Unauthorized,
                format!("{} needs a pass", procedure.path()),
            ))
        }
    });
    // Refused before its (malformed) input is looked at, so the error says nothing of it.
    let err = r
        .call(ctx(), "things.getById", RawInput::json("{bad"))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Unauthorized);
    assert_eq!(err.message, "things.getById needs a pass");
    let open = r
        .call(ctx(), "things.open", RawInput::json(r#"{"id":"x"}"#))
        .await;
    assert_eq!(open.unwrap(), Bytes::from_static(b"\"x\""));
    let mut meta = RequestMeta::local();
    meta.headers.insert("x-pass", HeaderValue::from_static("1"));
    let passed = Ctx {
        state: (),
        meta: Arc::new(meta),
    };
    let out = r
        .call(passed, "things.getById", RawInput::json(r#"{"id":"a"}"#))
        .await;
    assert_eq!(out.unwrap(), Bytes::from_static(b"\"a\""));
}

#[tokio::test]
async fn an_async_guard_is_awaited_before_the_call_runs() {
    let mut r = registry();
    let (gate, opened) = tokio::sync::oneshot::channel::<()>();
    let opened = Arc::new(tokio::sync::Mutex::new(Some(opened)));
    r.set_async_guard(move |_, _| {
        let opened = Arc::clone(&opened);
        async move {
            // The first call waits for the gate; later ones find it open.
            if let Some(opened) = opened.lock().await.take() {
                opened
                    .await
                    .map_err(|_| RpcError::new(ErrorCode::Unauthorized, "closed"))?;
            }
            Ok(())
        }
        .boxed()
    });
    let call = r.call(ctx(), "things.getAll", RawInput::default());
    tokio::pin!(call);
    assert!(
        futures::poll!(call.as_mut()).is_pending(),
        "the call waits for its guard"
    );
    gate.send(()).unwrap();
    assert_eq!(call.await.unwrap(), Bytes::from_static(b"[1,2]"));
}

#[tokio::test]
async fn the_gate_holds_its_admission_while_the_call_runs_and_skips_public_procedures() {
    let mut r = Registry::<()>::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(1));
    let (started, mut running) = tokio::sync::mpsc::unbounded_channel::<()>();
    let release = Arc::new(tokio::sync::Notify::new());
    let (hold, notified) = (started.clone(), release.clone());
    r.query("things.slow", move |_: Ctx<()>, _: ()| {
        let (hold, notified) = (hold.clone(), notified.clone());
        async move {
            let _ = hold.send(());
            notified.notified().await;
            Ok(1u32)
        }
    });
    r.query("things.open", |_: Ctx<()>, _: ()| async { Ok(2u32) })
        .public();
    let gate_slots = slots.clone();
    r.set_gate(move |_, _| {
        let slots = gate_slots.clone();
        async move {
            let permit = slots
                .try_acquire_owned()
                .map_err(|_| RpcError::new(ErrorCode::TooManyRequests, "no slot"))?;
            Ok(Box::new(permit) as Admission)
        }
        .boxed()
    });
    let r = Arc::new(r);
    let first = tokio::spawn({
        let r = r.clone();
        async move { r.call(ctx(), "things.slow", RawInput::default()).await }
    });
    running.recv().await.expect("the first call runs");
    let refused = r.call(ctx(), "things.slow", RawInput::default()).await;
    assert_eq!(refused.unwrap_err().code, ErrorCode::TooManyRequests);
    let open = r.call(ctx(), "things.open", RawInput::default()).await;
    assert_eq!(open.unwrap(), Bytes::from_static(b"2"), "public: no gate");
    release.notify_one();
    assert!(first.await.unwrap().is_ok());
    assert_eq!(
        slots.available_permits(),
        1,
        "given back when the call ended"
    );
}

#[test]
fn request_metadata_debug_hides_credentials() {
    let mut meta = RequestMeta::local();
    for (name, value) in [
        ("authorization", "Bearer secret-1"),
        ("cookie", "tidings_session=secret-2"),
        ("accept", "text/event-stream"),
    ] {
        meta.headers.insert(name, HeaderValue::from_static(value));
    }
    meta.connection_params = Some([("token".to_owned(), "secret-3".to_owned())].into());
    let shown = format!("{meta:?}");
    assert!(!shown.contains("secret"), "{shown}");
    assert!(
        shown.contains("text/event-stream") && shown.contains("token"),
        "{shown}"
    );
}

#[test]
fn update_query_map_is_derived() {
    let map = registry().update_query_map();
    assert_eq!(map["things"], vec!["things.getAll", "things.getById"]);
    assert_eq!(map["other"], vec!["things.getAll"]);
}
