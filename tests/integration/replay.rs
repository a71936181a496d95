//! Replay for clients that were offline: a client that reconnects with the id of the last
//! notice it saw receives exactly the notices it missed, in order, without duplicates; past the
//! replay window (`--replay-events`, `--replay-window`) it receives one resync instead.
//!
//! The disconnect tests are randomized: each run draws a seed (or takes `REPLAY_SEED`) and
//! every assertion names it, so a failure can be replayed exactly.

use std::collections::VecDeque;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tidings::updates::UpdateType;
use tidings_sim::RunningSim;
use tidings_tests::{Caller, RedisServer, SseReader, TestApp, quiet_sim};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

/// A notice as a client sees it: its id and its JSON.
type Seen = (u64, Value);

/// How long a client waits for a notice it is owed.
const PATIENCE: Duration = Duration::from_secs(5);

/// The seed of a randomized test: `REPLAY_SEED` when set, else a fresh one; printed, so that
/// a failure names it.
fn seed() -> u64 {
    let seed = std::env::var("REPLAY_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("replay seed: {seed} (rerun with REPLAY_SEED={seed})");
    seed
}

/// What subscribers see for a notice of `ty` in `scope`.
fn change(id: u64, ty: UpdateType, scope: Option<&str>) -> Seen {
    let mut value = json!({ "type": ty.as_str() });
    if let Some(scope) = scope {
        value["scope"] = json!(scope);
    }
    (id, value)
}

/// Emits a notice of `ty` in `scope` through `app` and waits until the bus has numbered it
/// (at once in-process; on a Redis bus, once it came back from Redis). Nothing else emits in
/// these tests, so it is the event after the latest one.
async fn emit(app: &TestApp, ty: UpdateType, scope: Option<&str>) -> Seen {
    let before = app.state.updates.last_event_id();
    if scope.is_none() {
        // Global notices go through the operators' procedure, as a client would trigger them.
        let reply = app.admin_notify(ty.as_str()).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    } else {
        app.state.updates.notify(ty, scope);
    }
    let id = before + 1;
    for _ in 0..1000 {
        let latest = app.state.updates.last_event_id();
        if latest >= id {
            assert_eq!(latest, id, "only this test emits");
            return change(id, ty, scope);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("notice {id} was never numbered");
}

/// Waits until `app`'s bus has seen event `id` (an instance on a Redis bus follows the others
/// a moment later).
async fn caught_up(app: &TestApp, id: u64) {
    for _ in 0..1000 {
        if app.state.updates.last_event_id() >= id {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the bus never reached event {id}");
}

/// Emits a random notice through a random one of `apps`, once it is up to date.
async fn emit_random(apps: &[TestApp], rng: &mut StdRng, scopes: &[String], latest: u64) -> Seen {
    let app = &apps[rng.random_range(0..apps.len())];
    let (ty, scope) = random_notice(rng, scopes);
    caught_up(app, latest).await;
    emit(app, ty, scope).await
}

/// The next notice on `stream`, owed within [`PATIENCE`].
async fn read(stream: &mut SseReader) -> Seen {
    let event = stream.next_message(PATIENCE).await.expect("a notice");
    let id = event
        .id
        .as_deref()
        .expect("tracked")
        .parse()
        .expect("an id");
    (id, event.json())
}

/// Reconnects to `app` after `last`, sending it the way EventSource does (the
/// `Last-Event-ID` header) or the way tRPC's client does after a while (`lastEventId` in the
/// input).
async fn reconnect(app: &TestApp, last: u64, by_header: bool) -> SseReader {
    resubscribe(&app.admin(), last, by_header).await
}

/// [`reconnect`] as `caller`.
async fn resubscribe(caller: &Caller, last: u64, by_header: bool) -> SseReader {
    let last = last.to_string();
    if by_header {
        caller.subscribe(None, Some(&last)).await
    } else {
        caller
            .subscribe(Some(json!({ "lastEventId": last })), None)
            .await
    }
}

/// A random notice: any type, global or scoped to one of `scopes`.
fn random_notice<'a>(rng: &mut StdRng, scopes: &'a [String]) -> (UpdateType, Option<&'a str>) {
    let ty = UpdateType::ALL[rng.random_range(0..UpdateType::ALL.len())];
    let scope = rng.random_range(0..=scopes.len());
    (ty, scopes.get(scope).map(String::as_str))
}

/// Who subscribes in [`random_disconnects`].
enum Viewer {
    /// The administrator, who sees every notice.
    Admin,
    /// A user without a role in project `hidden`: its notices are not theirs to see.
    User {
        /// The seeded user's name.
        name: &'static str,
        /// The name of the project they have no role in.
        hidden: &'static str,
    },
}

/// One client that reads a random number of notices, is cut off at random points while
/// notices keep being emitted, and reconnects (to a random one of `apps`) with the id of the
/// last notice it read; `steps` actions in all. Everything it read, concatenated, must be
/// exactly what was emitted that `viewer` may see, except that when the log moved on by more
/// than `window` events since the last one it read (the apps' `--replay-events`), what it
/// missed is replaced by one resync.
async fn random_disconnects(
    apps: &[TestApp],
    seed: u64,
    steps: usize,
    window: u64,
    viewer: Viewer,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let scopes = [apps[0].project_id("demo"), apps[0].project_id("ops")];
    let mut callers = Vec::new();
    for app in apps {
        callers.push(match viewer {
            Viewer::Admin => app.admin(),
            Viewer::User { name, .. } => app.user(name).await,
        });
    }
    let hidden = match viewer {
        Viewer::Admin => None,
        Viewer::User { hidden, .. } => Some(apps[0].project_id(hidden)),
    };
    let visible =
        |notice: &Seen| hidden.is_none() || notice.1["scope"].as_str() != hidden.as_deref();
    // What the client should see, all in all, and what it is owed on this connection.
    let mut expected: Vec<Seen> = Vec::new();
    let mut owed: VecDeque<Seen> = VecDeque::new();
    let mut received: Vec<Seen> = Vec::new();
    let mut latest = 0;
    let (mut reconnects, mut resyncs) = (0, 0);
    // "0": the client has seen nothing, and wants everything from the first notice on.
    let mut stream = resubscribe(&callers[0], 0, true).await;
    for step in 0..steps {
        let roll = rng.random_range(0..100);
        if roll < 10 {
            // Cut off, wherever it is: notices may be in flight, unread.
            drop(stream);
            reconnects += 1;
            for _ in 0..rng.random_range(0..=6) {
                let notice = emit_random(apps, &mut rng, &scopes, latest).await;
                latest = notice.0;
                if visible(&notice) {
                    expected.push(notice.clone());
                    owed.push_back(notice);
                }
            }
            let last = received.last().map_or(0, |(id, _)| *id);
            if latest - last > window {
                expected.truncate(expected.len() - owed.len());
                let resync = (latest, json!({ "type": "resync", "reason": "gap" }));
                expected.push(resync.clone());
                owed = VecDeque::from([resync]);
                resyncs += 1;
            }
            let at = rng.random_range(0..apps.len());
            caught_up(&apps[at], latest).await;
            stream = resubscribe(&callers[at], last, rng.random_bool(0.5)).await;
        } else if roll < 55 && !owed.is_empty() {
            let seen = read(&mut stream).await;
            let want = owed.pop_front();
            assert_eq!(
                Some(&seen),
                want.as_ref(),
                "seed {seed}, step {step}: notice {} of {}",
                received.len() + 1,
                expected.len()
            );
            received.push(seen);
        } else {
            let notice = emit_random(apps, &mut rng, &scopes, latest).await;
            latest = notice.0;
            if visible(&notice) {
                expected.push(notice.clone());
                owed.push_back(notice);
            }
        }
    }
    while received.len() < expected.len() {
        received.push(read(&mut stream).await);
    }
    assert_eq!(received, expected, "seed {seed}");
    assert!(
        received.windows(2).all(|pair| pair[1].0 > pair[0].0),
        "seed {seed}: ids strictly increasing"
    );
    if resyncs == 0 && hidden.is_none() {
        assert!(
            received.windows(2).all(|pair| pair[1].0 == pair[0].0 + 1),
            "seed {seed}: none missing"
        );
    }
    // Nothing owed is left, not even a duplicate: the next notice is the next one emitted.
    caught_up(&apps[0], latest).await;
    let next = emit(&apps[0], UpdateType::Images, None).await;
    assert_eq!(read(&mut stream).await, next, "seed {seed}");
    eprintln!(
        "seed {seed}: {} notices over {} connections, {resyncs} resyncs",
        received.len(),
        reconnects + 1
    );
}

/// Resumes after `last` on `app` and expects exactly one gap resync, then live notices only.
async fn expect_one_resync(app: &TestApp, last: u64) {
    let mut stream = reconnect(app, last, true).await;
    let (id, notice) = read(&mut stream).await;
    assert_eq!(notice, json!({ "type": "resync", "reason": "gap" }));
    assert_eq!(
        id,
        app.state.updates.last_event_id(),
        "tracked at the latest id"
    );
    let next = emit(app, UpdateType::Networks, None).await;
    assert_eq!(
        read(&mut stream).await,
        next,
        "nothing between the resync and live"
    );
}

#[tokio::test]
async fn replay_after_random_disconnects_delivers_exactly_what_was_emitted() {
    let app = TestApp::spawn_with(&["--coalesce-window", "0ms"]).await;
    random_disconnects(std::slice::from_ref(&app), seed(), 400, 1024, Viewer::Admin).await;
}

#[tokio::test]
async fn random_disconnects_with_a_small_count_window_resync_exactly_when_it_is_exceeded() {
    let app = TestApp::spawn_with(&["--coalesce-window", "0ms", "--replay-events", "12"]).await;
    random_disconnects(std::slice::from_ref(&app), seed(), 400, 12, Viewer::Admin).await;
}

#[tokio::test]
async fn a_member_replays_exactly_the_notices_it_may_see() {
    let app = TestApp::spawn_with(&["--coalesce-window", "0ms", "--replay-events", "24"]).await;
    // alice has a role in demo, none in ops: demo's notices and global ones, nothing of ops'.
    let alice = Viewer::User {
        name: "alice",
        hidden: "ops",
    };
    random_disconnects(std::slice::from_ref(&app), seed(), 300, 24, alice).await;
}

#[tokio::test]
async fn resuming_past_the_count_window_gets_exactly_one_resync() {
    let app = TestApp::spawn_with(&["--coalesce-window", "0ms", "--replay-events", "8"]).await;
    let (last, _) = emit(&app, UpdateType::Projects, None).await;
    let mut missed = Vec::new();
    for _ in 0..8 {
        missed.push(emit(&app, UpdateType::Volumes, None).await);
    }
    // Exactly the window: replayed in full.
    let mut stream = reconnect(&app, last, true).await;
    for notice in &missed {
        assert_eq!(read(&mut stream).await, *notice);
    }
    drop(stream);
    // One more, and the first missed notice is out of the window.
    emit(&app, UpdateType::Images, None).await;
    expect_one_resync(&app, last).await;
}

#[tokio::test]
async fn resuming_past_the_age_window_gets_exactly_one_resync() {
    let app = TestApp::spawn_with(&["--coalesce-window", "0ms", "--replay-window", "1s"]).await;
    let (last, _) = emit(&app, UpdateType::Projects, None).await;
    let missed = emit(&app, UpdateType::Volumes, None).await;
    let mut stream = reconnect(&app, last, false).await;
    assert_eq!(read(&mut stream).await, missed, "within the window");
    drop(stream);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    // No notice since: the resume itself finds the missed one too old.
    expect_one_resync(&app, last).await;
    // A client that saw the latest notice missed nothing: no resync.
    let latest = app.state.updates.last_event_id();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let mut stream = reconnect(&app, latest, true).await;
    let next = emit(&app, UpdateType::Compute, None).await;
    assert_eq!(read(&mut stream).await, next);
}

#[tokio::test]
async fn replay_over_the_trpc_websocket() {
    let app = TestApp::spawn_with(&["--coalesce-window", "0ms"]).await;
    let demo = app.project_id("demo");
    let (last, _) = emit(&app, UpdateType::Projects, None).await;
    let missed = [
        emit(&app, UpdateType::Volumes, Some(&demo)).await,
        emit(&app, UpdateType::Images, None).await,
    ];
    let mut socket = app.admin().websocket("/trpc").await;
    let subscribe = json!({
        "id": 1,
        "method": "subscription",
        "params": { "path": "updates.subscribe", "lastEventId": last.to_string() },
    });
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .unwrap();
    let mut got = Vec::new();
    while got.len() < missed.len() {
        let frame = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("a frame")
            .expect("open")
            .unwrap();
        let frame: Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
        let result = &frame["result"];
        if result["type"] == "data" {
            let id = result["data"]["id"].as_str().expect("tracked");
            got.push((id.parse().unwrap(), result["data"]["data"].clone()));
        }
    }
    assert_eq!(got, missed);
}

/// An instance on `redis` over `sim`, without coalescing, with `extra` flags.
async fn instance(sim: &RunningSim, redis: &RedisServer, extra: &[&str]) -> TestApp {
    let url = redis.url();
    let mut flags = vec!["--bus", url.as_str(), "--coalesce-window", "0ms"];
    flags.extend_from_slice(extra);
    TestApp::spawn_on(sim, &flags).await
}

/// The stream id of the oldest entry of the shared log, asked of Redis directly.
async fn oldest_log_entry(redis: &RedisServer) -> String {
    let port = redis.url().rsplit(':').next().unwrap().to_owned();
    let mut connection = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .expect("redis");
    connection
        .write_all(b"XRANGE {tidings}:log - + COUNT 1\r\n")
        .await
        .unwrap();
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    // `*1 *2 $n <id> …`: the id is on the fourth line; read until it is complete.
    while String::from_utf8_lossy(&reply).lines().count() < 5 {
        let n = tokio::time::timeout(PATIENCE, connection.read(&mut chunk))
            .await
            .expect("a reply")
            .unwrap();
        assert!(n > 0, "redis closed");
        reply.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&reply);
    text.lines().nth(3).expect("an entry").to_owned()
}

#[tokio::test]
async fn replay_after_random_disconnects_across_two_instances_on_redis() {
    let redis = RedisServer::start().await;
    let sim = quiet_sim().await;
    let apps = [
        instance(&sim, &redis, &[]).await,
        instance(&sim, &redis, &[]).await,
    ];
    random_disconnects(&apps, seed(), 150, 1024, Viewer::Admin).await;
}

#[tokio::test]
async fn on_redis_the_age_window_holds_in_the_stream_and_on_a_cold_instance() {
    let redis = RedisServer::start().await;
    let sim = quiet_sim().await;
    let window = ["--replay-window", "1s"];
    let a = instance(&sim, &redis, &window).await;
    let (last, _) = emit(&a, UpdateType::Projects, None).await;
    let missed = emit(&a, UpdateType::Volumes, None).await;
    let mut stream = reconnect(&a, last, true).await;
    assert_eq!(read(&mut stream).await, missed, "within the window");
    drop(stream);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    // An instance that joins now loads the stream's entries with their ages: all too old.
    let b = instance(&sim, &redis, &window).await;
    expect_one_resync(&b, last).await;
    caught_up(&a, b.state.updates.last_event_id()).await;
    expect_one_resync(&a, last).await;
    // Appending trimmed the stream itself: no entry older than the window is left (what
    // remains starts at the notices just emitted, or a snapshot mark between them).
    let latest = a.state.updates.last_event_id();
    let oldest = oldest_log_entry(&redis).await;
    let (seq, _) = oldest.split_once('-').expect("a stream id");
    assert!(
        seq.parse::<u64>().unwrap() + 2 >= latest,
        "oldest entry {oldest}, latest notice {latest}"
    );
}
