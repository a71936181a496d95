//! Attacks on connections themselves, below any procedure: headers sent slowly or not at all,
//! WebSockets opened and left idle without a session, floods of idle connections past the
//! process cap or from one address. Each is refused by a limit of its own, and the clients
//! already connected go on being served.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tidings_tests::{TestApp, WebSocket, closed_within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

/// Long enough for any deadline under test (all are well below a second) on a loaded machine.
const WITHIN: Duration = Duration::from_secs(4);

#[tokio::test]
async fn slow_request_headers_are_cut_off() {
    let app = TestApp::spawn_with(&["--header-read-timeout", "300ms"]).await;
    let (mut read, mut write) = app.raw().await.into_split();
    // A request whose headers trickle in, a byte every 50 ms, never finishing: each byte
    // arrives in time, the whole never does.
    let trickle = tokio::spawn(async move {
        write.write_all(b"GET /healthz HTTP/1.1\r\n").await?;
        for byte in b"x-slow: ".iter().cycle().take(200) {
            write.write_all(&[*byte]).await?;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        std::io::Result::Ok(())
    });
    let started = Instant::now();
    let mut got = Vec::new();
    let closed = tokio::time::timeout(WITHIN, read.read_to_end(&mut got)).await;
    assert!(
        closed.is_ok(),
        "still open after {WITHIN:?} of trickled headers"
    );
    assert!(started.elapsed() >= Duration::from_millis(250));
    trickle.abort();

    // A prompt client is served as before.
    let mut prompt = app.raw().await;
    prompt
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = closed_within(&mut prompt, WITHIN).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_cut_off() {
    let app = TestApp::spawn_with(&["--header-read-timeout", "300ms"]).await;
    let mut silent = app.raw().await;
    assert!(
        closed_within(&mut silent, WITHIN).await.is_some(),
        "a silent connection was still open after {WITHIN:?}"
    );
}

#[tokio::test]
async fn idle_unauthenticated_trpc_websocket_is_closed() {
    let app = TestApp::spawn_with(&["--ws-auth-timeout", "300ms"]).await;
    let mut anonymous = app.anonymous_websocket("/trpc").await;
    // Until the deadline its calls are answered (the guard refuses them).
    let query = json!({"id": 1, "method": "query", "params": {"path": "projects.getAll"}});
    anonymous
        .send(Message::text(query.to_string()))
        .await
        .unwrap();
    let (frames, code) = until_closed(&mut anonymous).await;
    assert_eq!(frames[0]["id"], 1, "{frames:?}");
    assert_eq!(frames[0]["error"]["data"]["code"], "UNAUTHORIZED");
    // Then it is told why, as tRPC rejects a connection, and closed.
    let last = frames.last().unwrap();
    assert!(last["id"].is_null(), "{frames:?}");
    assert_eq!(last["error"]["data"]["code"], "UNAUTHORIZED", "{last}");
    assert_eq!(code, Some(1008));

    // Waiting for connectionParams that never come, or that carry no session, ends the same way.
    let mut waiting = app.anonymous_websocket("/trpc?connectionParams=1").await;
    let (frames, code) = until_closed(&mut waiting).await;
    assert_eq!(
        frames.last().unwrap()["error"]["data"]["code"],
        "UNAUTHORIZED"
    );
    assert_eq!(code, Some(1008));
    let mut forged = app.anonymous_websocket("/trpc?connectionParams=1").await;
    let params = json!({"method": "connectionParams", "data": {"token": "f".repeat(64)}});
    forged
        .send(Message::text(params.to_string()))
        .await
        .unwrap();
    let (_, code) = until_closed(&mut forged).await;
    assert_eq!(code, Some(1008));

    // A session at the upgrade or in connectionParams keeps a socket open past the deadline.
    let mut by_header = app.admin().websocket("/trpc").await;
    let mut by_params = app.anonymous_websocket("/trpc?connectionParams=1").await;
    let params = json!({"method": "connectionParams", "data": {"token": app.token}});
    by_params
        .send(Message::text(params.to_string()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    for socket in [&mut by_header, &mut by_params] {
        socket.send(Message::text("PING")).await.unwrap();
        assert_eq!(next_text(socket).await, "PONG");
    }
}

#[tokio::test]
async fn idle_unauthenticated_jsonrpc_websocket_is_closed() {
    let app = TestApp::spawn_with(&["--ws-auth-timeout", "300ms"]).await;
    let mut anonymous = app.anonymous_websocket("/rpc").await;
    let started = Instant::now();
    let (_, code) = until_closed(&mut anonymous).await;
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(code, Some(1000), "jsonrpsee's close");

    // With a session it stays open and keeps answering.
    let mut admin = app.admin().websocket("/rpc").await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "auth.me"});
    admin.send(Message::text(call.to_string())).await.unwrap();
    let answer: Value = serde_json::from_str(&next_text(&mut admin).await).unwrap();
    assert_eq!(answer["result"]["userName"], "admin", "{answer}");
}

#[tokio::test]
async fn connection_flood_past_the_cap_is_refused_and_existing_clients_still_served() {
    let app =
        TestApp::spawn_with(&["--max-connections", "32", "--max-connections-per-ip", "0"]).await;
    let mut kept = app.raw().await;
    assert_eq!(exchange(&mut kept, &app.token).await, 200);
    let mut socket = app.admin().websocket("/trpc").await;

    // 64 connections that send nothing: the cap is reached, the rest are answered 503 at once.
    let mut flood = Vec::new();
    for _ in 0..64 {
        flood.push(app.raw().await);
    }
    let started = Instant::now();
    let answers = futures::future::join_all(flood.iter_mut().map(|s| async {
        let answer = closed_within(s, WITHIN).await;
        answer.map(|a| (a, started.elapsed()))
    }))
    .await;
    let refused: Vec<&String> = answers.iter().flatten().map(|(a, _)| a).collect();
    assert!(
        (32..64).contains(&refused.len()),
        "{} of 64 refused",
        refused.len()
    );
    let slowest = answers.iter().flatten().map(|(_, t)| *t).max().unwrap();
    assert!(
        slowest < Duration::from_secs(2),
        "a refusal took {slowest:?}"
    );
    for answer in &refused {
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    }
    let body: Value = serde_json::from_str(refused[0].split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["error"]["data"]["code"], "SERVICE_UNAVAILABLE");

    // Those already connected are served throughout.
    assert_eq!(exchange(&mut kept, &app.token).await, 200);
    socket.send(Message::text("PING")).await.unwrap();
    assert_eq!(next_text(&mut socket).await, "PONG");

    // Once the flood is gone, new clients are served again.
    drop(flood);
    let mut served = false;
    for _ in 0..50 {
        let mut fresh = app.raw().await;
        if exchange(&mut fresh, &app.token).await == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "new clients still refused after the flood");
}

#[tokio::test]
async fn healthz_answers_during_a_flood() {
    let app =
        TestApp::spawn_with(&["--max-connections", "16", "--max-connections-per-ip", "0"]).await;
    let mut flood = Vec::new();
    for _ in 0..32 {
        flood.push(app.raw().await);
    }
    for _ in 0..3 {
        let mut api = app.raw().await;
        api.write_all(b"GET /trpc/projects.getAll HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let answer = closed_within(&mut api, WITHIN).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        let mut probe = app.raw().await;
        probe
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let answer = closed_within(&mut probe, WITHIN).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nok"), "{answer}");
    }
    drop(flood);
}

#[tokio::test]
async fn one_address_cannot_take_the_whole_cap() {
    // No per-address flag: the default is a quarter of the process cap (10 of 40).
    let app = TestApp::spawn_with(&["--max-connections", "40"]).await;
    let mut held = Vec::new();
    for _ in 0..16 {
        held.push(app.raw().await);
    }
    let answers =
        futures::future::join_all(held.iter_mut().map(|s| closed_within(s, WITHIN))).await;
    let refused: Vec<&String> = answers.iter().flatten().collect();
    assert!(refused.len() >= 6, "{} of 16 refused", refused.len());
    for answer in refused {
        assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    }
}

/// `GET /trpc/auth.me` with `token` on a kept-alive connection; the status.
async fn exchange(stream: &mut TcpStream, token: &str) -> u16 {
    let request =
        format!("GET /trpc/auth.me HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return 0;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            let text = String::from_utf8_lossy(&got).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .and_then(|n| n.trim().parse::<usize>().ok());
                if length.is_none_or(|n| body.len() >= n) {
                    return text;
                }
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return text,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    let text = tokio::time::timeout(WITHIN, read).await.unwrap_or_default();
    text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// The JSON text frames a socket receives until the server closes it, and the close code.
async fn until_closed(socket: &mut WebSocket) -> (Vec<Value>, Option<u16>) {
    let mut frames = Vec::new();
    let read = async {
        while let Some(Ok(message)) = socket.next().await {
            match message {
                Message::Text(text) => frames.push(serde_json::from_str(&text).unwrap()),
                Message::Close(frame) => return frame.map(|f| u16::from(f.code)),
                _ => {}
            }
        }
        None
    };
    let code = tokio::time::timeout(WITHIN, read)
        .await
        .expect("the socket was still open");
    (frames, code)
}

/// The next text frame.
async fn next_text(socket: &mut WebSocket) -> String {
    loop {
        let message = tokio::time::timeout(WITHIN, socket.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("a frame");
        if let Message::Text(text) = message {
            return text.to_string();
        }
    }
}
