//! Sessions across instances on one Redis: a session opened on one instance works on any
//! other, outlives the instance it was opened on, and ends everywhere when it ends anywhere;
//! Redis holds token hashes and ciphertext, neither of which opens a session; and the login
//! throttle counts the guesses sent to every instance together.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::json;
use tidings_tests::logins::{login_batch, outcome};
use tidings_tests::{
    Caller, RedisServer, SseEvent, SseReader, quiet_sim, redis_instance, redis_instance_with,
};
use tokio_tungstenite::tungstenite::Message;

/// The same client (same token) talking to the instance at `base`.
fn at(caller: &Caller, base: &str) -> Caller {
    Caller {
        base: base.to_owned(),
        ..caller.clone()
    }
}

/// A client presenting `token` to the instance at `base`.
fn bearer(base: &str, token: &str) -> Caller {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("header"),
    );
    Caller {
        base: base.to_owned(),
        http: reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .expect("client"),
        token: token.to_owned(),
    }
}

/// The event a stream ends with (pings skipped), within 5 s.
async fn ending(stream: &mut SseReader) -> SseEvent {
    loop {
        let event = stream
            .next_within(Duration::from_secs(5))
            .await
            .expect("the stream says why it ends");
        if event.event != "ping" {
            return event;
        }
    }
}

#[tokio::test]
async fn a_session_opened_on_one_instance_works_on_another_and_outlives_it() {
    let redis = RedisServer::start().await;
    let sim = quiet_sim().await;
    let a = redis_instance(&sim, &redis).await;
    let b = redis_instance(&sim, &redis).await;
    let alice = a.user("alice").await;
    let demo = a.project_id("demo");

    // B has never seen alice's token: it answers her query and opens her stream.
    let on_b = at(&alice, &b.base);
    let me = on_b.query("auth.me", None).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.data()["userName"], "alice");
    let volumes = on_b
        .query("volumes.getAll", Some(json!({ "projectId": demo })))
        .await;
    assert_eq!(volumes.status, 200, "{}", volumes.body);
    // Her roles came along: a project she has no role on is still refused.
    let ops = a.project_id("ops");
    let refused = on_b
        .query("volumes.getAll", Some(json!({ "projectId": ops })))
        .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
    let mut stream = on_b.subscribe(None, None).await;

    // A goes away; B and an instance started afterwards both still serve the session.
    a.stop().await;
    let c = redis_instance(&sim, &redis).await;
    for base in [&b.base, &c.base] {
        let me = at(&alice, base).query("auth.me", None).await;
        assert_eq!(me.status, 200, "{base}: {}", me.body);
    }
    // Her own OpenStack client works on C too: a change as alice, in her project.
    let created = at(&alice, &c.base)
        .mutate(
            "volumes.create",
            json!({ "projectId": demo, "name": "from-c", "sizeGb": 1 }),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    // B's stream delivers C's notice: still open.
    let notice = stream
        .next_message(Duration::from_secs(5))
        .await
        .expect("a notice");
    assert_eq!(notice.json(), json!({ "type": "volumes", "scope": demo }));
}

#[tokio::test]
async fn logging_out_on_one_instance_ends_the_sessions_streams_on_every_instance() {
    let redis = RedisServer::start().await;
    let sim = quiet_sim().await;
    let a = redis_instance(&sim, &redis).await;
    let b = redis_instance(&sim, &redis).await;
    let alice = a.user("alice").await;
    let mut on_a = alice.subscribe(None, None).await;
    let mut on_b = at(&alice, &b.base).subscribe(None, None).await;

    let out = at(&alice, &b.base).mutate("auth.logout", json!(null)).await;
    assert_eq!(out.status, 200, "{}", out.body);
    for stream in [&mut on_a, &mut on_b] {
        let end = ending(stream).await;
        assert_eq!(end.event, "serialized-error");
        assert_eq!(end.json()["data"]["code"], "UNAUTHORIZED");
    }
    for base in [&a.base, &b.base] {
        let me = at(&alice, base).query("auth.me", None).await;
        assert_eq!(me.error_code(), "UNAUTHORIZED", "{base}");
    }
    // An instance that never saw the session does not find it either.
    let c = redis_instance(&sim, &redis).await;
    let me = at(&alice, &c.base).query("auth.me", None).await;
    assert_eq!(me.error_code(), "UNAUTHORIZED");
}

/// The next text frame of a tRPC WebSocket, as JSON, within 5 s.
async fn frame<S>(socket: &mut S) -> serde_json::Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 s")
            .expect("the socket is open")
            .expect("a frame");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).expect("JSON");
        }
    }
}

#[tokio::test]
async fn a_websocket_on_another_instance_logs_in_with_connection_params_and_ends_with_the_session()
{
    let redis = RedisServer::start().await;
    let sim = quiet_sim().await;
    let a = redis_instance(&sim, &redis).await;
    let b = redis_instance(&sim, &redis).await;
    let bob = a.user("bob").await;

    // No header, no cookie: the token arrives in the socket's first frame, on B.
    let url = format!(
        "{}/trpc?connectionParams=1",
        b.base.replacen("http", "ws", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("upgrade");
    let params = json!({ "method": "connectionParams", "data": { "token": bob.token } });
    let subscribe =
        json!({ "id": 1, "method": "subscription", "params": { "path": "updates.subscribe" } });
    for message in [params, subscribe] {
        socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }
    let started = frame(&mut socket).await;
    assert_eq!(started["result"]["type"], "started", "{started}");

    let out = bob.mutate("auth.logout", json!(null)).await;
    assert_eq!(out.status, 200, "{}", out.body);
    let end = loop {
        let next = frame(&mut socket).await;
        if next.get("error").is_some() {
            break next;
        }
    };
    assert_eq!(end["error"]["data"]["code"], "UNAUTHORIZED", "{end}");
}

#[tokio::test]
async fn the_idle_time_out_holds_across_instances_and_open_streams_keep_a_session_in_use() {
    let redis = RedisServer::start().await;
    let sim = quiet_sim().await;
    let idle = ["--session-idle", "1s"];
    let a = redis_instance_with(&sim, &redis, &idle).await;
    let b = redis_instance_with(&sim, &redis, &idle).await;
    let alice = a.user("alice").await;
    let _stream = alice.subscribe(None, None).await;
    let bob = a.user("bob").await;
    assert_eq!(at(&bob, &b.base).query("auth.me", None).await.status, 200);

    // Bob does nothing: his record runs out in Redis (no request here, which would use it).
    let key = format!(
        "{{tidings}}:session:{}",
        tidings::auth::session_id(&bob.token)
    );
    let mut gone = false;
    for _ in 0..100 {
        let exists = redis.command(&[b"EXISTS", key.as_bytes()]).await;
        if exists == tidings_tests::redis::Reply::Int(0) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "bob's record outlived the idle time-out");
    // Neither the instance he logged in on nor the one that held a copy serves it.
    for base in [&a.base, &b.base] {
        let me = at(&bob, base).query("auth.me", None).await;
        assert_eq!(me.error_code(), "UNAUTHORIZED", "{base}");
    }
    // Alice was idle as long, but her stream on A kept her session in use, for B too.
    let me = at(&alice, &b.base).query("auth.me", None).await;
    assert_eq!(me.status, 200, "{}", me.body);
}

#[tokio::test]
async fn a_users_session_cap_counts_logins_on_every_instance() {
    let redis = RedisServer::start().await;
    let sim = quiet_sim().await;
    let a = redis_instance(&sim, &redis).await;
    let b = redis_instance(&sim, &redis).await;
    // 64 sessions per user; the 65th login, on either instance, ends the oldest.
    let first = a.user("carol").await;
    let mut stream = first.subscribe(None, None).await;
    for i in 1..64 {
        let on = if i % 2 == 0 { &a } else { &b };
        on.user("carol").await;
    }
    assert_eq!(first.query("auth.me", None).await.status, 200);
    let newest = b.user("carol").await;
    let end = ending(&mut stream).await;
    assert_eq!(end.json()["data"]["code"], "UNAUTHORIZED");
    for base in [&a.base, &b.base] {
        let me = at(&first, base).query("auth.me", None).await;
        assert_eq!(me.error_code(), "UNAUTHORIZED", "{base}");
        assert_eq!(at(&newest, base).query("auth.me", None).await.status, 200);
    }
}

#[tokio::test]
async fn redis_holds_token_hashes_and_ciphertext_that_open_no_session() {
    let redis = RedisServer::start().await;
    let sim = quiet_sim().await;
    let a = redis_instance(&sim, &redis).await;
    let b = redis_instance(&sim, &redis).await;
    let carol = a.user("carol").await;
    assert_eq!(at(&carol, &b.base).query("auth.me", None).await.status, 200);

    let dump = redis.dump().await;
    for (key, value) in &dump {
        let text = String::from_utf8_lossy(value);
        assert!(
            !key.contains(&carol.token) && !text.contains(&carol.token),
            "{key}"
        );
        for admin in [&a.token, &b.token] {
            assert!(
                !key.contains(admin.as_str()) && !text.contains(admin.as_str()),
                "{key}"
            );
        }
        if key.contains("session") {
            // The password is the user name here: neither shows in any session key.
            assert!(!text.contains("carol"), "{key}: {text}");
            assert!(!text.contains("\"admin\""), "{key}: {text}");
        }
    }
    let prefix = "{tidings}:session:";
    let ids: Vec<&str> = dump
        .iter()
        .filter_map(|(key, _)| key.strip_prefix(prefix))
        .collect();
    assert_eq!(ids.len(), 3, "the admin's on A and on B, carol's: {ids:?}");
    let carols = tidings::auth::session_id(&carol.token);
    assert!(ids.contains(&carols.as_str()), "{ids:?}");

    // Someone who read Redis: the hash presented as a token is no session.
    for base in [&a.base, &b.base] {
        let me = bearer(base, &carols).query("auth.me", None).await;
        assert_eq!(me.error_code(), "UNAUTHORIZED", "{base}");
    }
    // …nor is her record copied to where that hash would be looked up (Redis writable too):
    // it does not open without her token.
    let record = dump
        .iter()
        .find(|(key, _)| key.ends_with(&carols))
        .map(|(_, value)| value.clone())
        .unwrap();
    let forged_key = format!("{prefix}{}", tidings::auth::session_id(&carols));
    let set = redis
        .command(&[b"SET", forged_key.as_bytes(), &record, b"PX", b"60000"])
        .await;
    assert_eq!(set, tidings_tests::redis::Reply::Status("OK".into()));
    let me = bearer(&b.base, &carols).query("auth.me", None).await;
    assert_eq!(me.error_code(), "UNAUTHORIZED");
    // Carol herself is unaffected.
    assert_eq!(at(&carol, &b.base).query("auth.me", None).await.status, 200);
}

/// The outcomes of one tRPC batch of `auth.login` calls for `user` at `base`.
async fn login_outcomes(
    http: &reqwest::Client,
    base: &str,
    user: &str,
    passwords: &[&str],
) -> Vec<String> {
    let answers = login_batch(http, base, user, passwords).await;
    answers.iter().map(outcome).collect()
}

#[tokio::test]
async fn guesses_spread_over_two_instances_share_one_throttle() {
    let redis = RedisServer::start().await;
    let sim = quiet_sim().await;
    let a = redis_instance(&sim, &redis).await;
    let b = redis_instance(&sim, &redis).await;
    let guesses: Vec<String> = (0..32).map(|i| format!("guess-{i}")).collect();
    let guesses: Vec<&str> = guesses.iter().map(String::as_str).collect();
    let attacker = reqwest::Client::new();
    let (on_a, on_b) = tokio::join!(
        login_outcomes(&attacker, &a.base, "bob", &guesses),
        login_outcomes(&attacker, &b.base, "bob", &guesses),
    );
    let refused = on_a
        .iter()
        .chain(&on_b)
        .filter(|c| *c == "TOO_MANY_REQUESTS")
        .count();
    assert!(refused >= 64 - 5, "{on_a:?} {on_b:?}");
    // Five per (user name, address) per window, over both instances together.
    assert!(sim.sim.stats().password_checks("bob").refused <= 5);
    // The pair is locked on every instance, even for the right password ...
    for base in [&a.base, &b.base] {
        let right = login_outcomes(&attacker, base, "bob", &["bob"]).await;
        assert_eq!(right, ["TOO_MANY_REQUESTS"], "{base}");
    }
    // ... but not for the real user at another address.
    let real = tidings_tests::client_from("127.0.0.2".parse().unwrap());
    assert_eq!(
        login_outcomes(&real, &b.base, "bob", &["bob"]).await,
        ["OK"]
    );
    // Redis names neither the user nor the address.
    for (key, value) in redis.dump().await {
        let text = format!("{key} {}", String::from_utf8_lossy(&value));
        assert!(!text.contains("bob") && !text.contains("127.0.0"), "{text}");
    }
}
