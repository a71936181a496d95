//! Sessions and permissions: login against the simulator's Keystone, every procedure guarded,
//! data and notices filtered by the user's projects on every transport, the Origin check.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use jsonrpsee::core::client::{Subscription, SubscriptionClientT};
use jsonrpsee::rpc_params;
use serde_json::{Value, json};
use tidings::routers::registry;
use tidings_rpc::ProcedureKind;
use tidings_tests::{Caller, TestApp};
use tokio_tungstenite::tungstenite::Message;

/// `admin.notify` for `ty` scoped to `scope` (global when `None`).
async fn notify(app: &TestApp, ty: &str, scope: Option<&str>) {
    assert_eq!(app.admin_notify_in(ty, scope).await.status, 200);
}

#[tokio::test]
async fn every_procedure_but_login_requires_a_session() {
    let app = TestApp::spawn().await;
    let anonymous = reqwest::Client::new();
    for procedure in registry().procedures() {
        let path = procedure.path();
        if procedure.is_public() {
            continue;
        }
        let url = format!("{}/trpc/{path}", app.base);
        let response = match procedure.kind() {
            ProcedureKind::Query => anonymous.get(&url).send().await,
            ProcedureKind::Mutation => anonymous.post(&url).json(&json!({})).send().await,
            ProcedureKind::Subscription => {
                anonymous
                    .get(&url)
                    .header("accept", "text/event-stream")
                    .send()
                    .await
            }
        }
        .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(text.contains("\"UNAUTHORIZED\""), "{path}: {status} {text}");
        if procedure.kind() != ProcedureKind::Subscription {
            assert_eq!(status, 401, "{path}");
        }
    }
    let public: Vec<&str> = registry()
        .procedures()
        .filter(|p| p.is_public())
        .map(|p| p.path())
        .collect();
    // `admin.notify` checks the operator's token instead.
    assert_eq!(public, ["admin.notify", "auth.login", "auth.logout"]);
}

#[tokio::test]
async fn login_sets_an_http_only_cookie_that_works_and_logout_ends_it() {
    let app = TestApp::spawn().await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = browser
        .post(format!("{}/trpc/auth.login", app.base))
        .json(&json!({ "username": "alice", "password": "alice" }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    for part in ["tidings_session=", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let body: Value = login.json().await.unwrap();
    let me = &body["result"]["data"]["me"];
    assert_eq!(me["userName"], "alice");
    assert_eq!(me["admin"], false);
    assert_eq!(me["projects"].as_array().unwrap().len(), 1);
    assert_eq!(me["projects"][0]["name"], "demo");
    assert_eq!(me["projects"][0]["roles"], json!(["member"]));

    let who: Value = browser
        .get(format!("{}/trpc/auth.me", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(who["result"]["data"]["userName"], "alice");

    let logout = browser
        .post(format!("{}/trpc/auth.logout", app.base))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 200);
    assert!(
        logout.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    // The server forgot the session: the old token is refused even if a client kept it.
    let token = cookie
        .split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .unwrap()
        .1;
    let replay = reqwest::Client::new()
        .get(format!("{}/trpc/auth.me", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);
}

#[tokio::test]
async fn behind_tls_the_cookie_is_secure() {
    let login_cookie = |app: &TestApp| {
        let request = reqwest::Client::new()
            .post(format!("{}/trpc/auth.login", app.base))
            .header("x-forwarded-proto", "https")
            .json(&json!({ "username": "bob", "password": "bob" }))
            .send();
        async move {
            let login = request.await.unwrap();
            login.headers()["set-cookie"].to_str().unwrap().to_owned()
        }
    };
    let behind_proxy = TestApp::spawn_with(&["--trusted-proxies", "127.0.0.1"]).await;
    let cookie = login_cookie(&behind_proxy).await;
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    // From a peer that is not a trusted proxy the header is the client's own claim.
    let direct = TestApp::spawn().await;
    let cookie = login_cookie(&direct).await;
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn bad_credentials_and_foreign_projects_are_refused() {
    let app = TestApp::spawn().await;
    let anonymous = reqwest::Client::new();
    let login = |body: Value| {
        anonymous
            .post(format!("{}/trpc/auth.login", app.base))
            .json(&body)
            .send()
    };
    let wrong: Value = login(json!({ "username": "alice", "password": "nope" }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(wrong["error"]["data"]["code"], "UNAUTHORIZED", "{wrong}");
    assert_eq!(wrong["error"]["message"], "invalid username or password");
    let nobody: Value = login(json!({ "username": "mallory", "password": "x" }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(nobody["error"]["message"], "invalid username or password");
    let foreign: Value =
        login(json!({ "username": "alice", "password": "alice", "project": "ops" }))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(foreign["error"]["data"]["code"], "FORBIDDEN", "{foreign}");
    let scoped: Value =
        login(json!({ "username": "admin", "password": "admin", "project": "demo" }))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let projects = &scoped["result"]["data"]["me"]["projects"];
    assert_eq!(projects.as_array().unwrap().len(), 1, "{scoped}");
    assert_eq!(projects[0]["name"], "demo");
}

/// The ids of the `projectId`s in a list answer.
fn project_ids(reply: &Value) -> Vec<String> {
    let mut ids: Vec<String> = reply
        .as_array()
        .unwrap_or_else(|| panic!("a list: {reply}"))
        .iter()
        .filter_map(|item| item["projectId"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[tokio::test]
async fn queries_return_only_what_the_user_may_see() {
    let app = TestApp::spawn().await;
    let (demo, ops) = (app.project_id("demo"), app.project_id("ops"));
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);

    let everything = app.query("compute.instances.getAll", None).await;
    let all_projects = project_ids(everything.data());
    assert!(
        all_projects.contains(&demo) && all_projects.contains(&ops),
        "the seed has instances in demo and ops: {all_projects:?}"
    );
    for (user, own) in [(&alice, &demo), (&bob, &ops)] {
        for path in ["compute.instances.getAll", "volumes.getAll"] {
            let seen = user.query(path, None).await;
            assert_eq!(
                project_ids(seen.data()),
                std::slice::from_ref(own),
                "{path}"
            );
        }
        let projects = user.query("projects.getAll", None).await;
        let names: Vec<&str> = projects
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        assert_eq!(names, [own.as_str()]);
    }

    // Another project's data: FORBIDDEN when named, NOT_FOUND when reached by id.
    let named = alice
        .query("volumes.getAll", Some(json!({ "projectId": ops })))
        .await;
    assert_eq!(named.error_code(), "FORBIDDEN");
    let quotas = alice
        .query("projects.getQuotas", Some(json!({ "projectId": ops })))
        .await;
    assert_eq!(quotas.error_code(), "FORBIDDEN");
    let ops_instance = everything
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["projectId"] == json!(ops))
        .unwrap()["id"]
        .clone();
    let by_id = alice
        .query(
            "compute.instances.getById",
            Some(json!({ "id": ops_instance })),
        )
        .await;
    assert_eq!(by_id.error_code(), "NOT_FOUND");
    let stop = alice
        .mutate("compute.instances.stop", json!({ "id": ops_instance }))
        .await;
    assert_eq!(stop.error_code(), "NOT_FOUND");

    // Public images are everyone's.
    let images = bob.query("images.getAll", None).await;
    assert!(
        images
            .data()
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["visibility"] == "public"),
        "{}",
        images.body
    );
}

#[tokio::test]
async fn mutations_need_a_writer_role_and_run_as_the_user() {
    let app = TestApp::spawn().await;
    let (demo, ops) = (app.project_id("demo"), app.project_id("ops"));
    let (alice, carol) = (app.user("alice").await, app.user("carol").await);
    let create = |project: &str| json!({ "projectId": project, "name": "mine", "sizeGb": 1 });

    let reader = carol.mutate("volumes.create", create(&demo)).await;
    assert_eq!(reader.error_code(), "FORBIDDEN", "{}", reader.body);
    let elsewhere = alice.mutate("volumes.create", create(&ops)).await;
    assert_eq!(elsewhere.error_code(), "FORBIDDEN");

    let created = alice.mutate("volumes.create", create(&demo)).await;
    let volume = created.data().clone();
    assert_eq!(volume["projectId"], json!(demo));
    // The reader sees it, and still may not delete it.
    let seen = carol
        .query("volumes.getById", Some(json!({ "id": volume["id"] })))
        .await;
    assert_eq!(seen.data()["name"], "mine");
    let delete = carol
        .mutate("volumes.delete", json!({ "id": volume["id"] }))
        .await;
    assert_eq!(delete.error_code(), "FORBIDDEN");
    // Once it is available, the member who made it may delete it.
    for _ in 0..20 {
        app.sim.tick_now();
        let now = alice
            .query("volumes.getById", Some(json!({ "id": volume["id"] })))
            .await;
        if now.status == 200 && now.data()["status"] == "available" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deleted = alice
        .mutate("volumes.delete", json!({ "id": volume["id"] }))
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
}

/// Reads SSE notices for `wait`, returning their `(id, scope)`.
async fn sse_notices(stream: &mut tidings_tests::SseReader, wait: Duration) -> Vec<(u64, Value)> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, stream.next()).await {
        if !event.event.is_empty() {
            continue;
        }
        let data = event.json();
        seen.push((
            event.id.as_deref().unwrap().parse().unwrap(),
            data["scope"].clone(),
        ));
    }
    seen
}

/// Opens a tRPC WebSocket subscription to `updates.subscribe` as `caller`.
async fn trpc_ws(
    caller: &Caller,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut socket = caller.websocket("/trpc").await;
    let subscribe =
        json!({"id": 1, "method": "subscription", "params": {"path": "updates.subscribe"}});
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .unwrap();
    let started = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        started.to_text().unwrap().contains("started"),
        "{started:?}"
    );
    socket
}

/// Reads tRPC WebSocket notices for `wait`, returning their `(id, scope)`.
async fn ws_notices(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    wait: Duration,
) -> Vec<(u64, Value)> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, socket.next()).await {
        let Ok(text) = frame.to_text() else { continue };
        let message: Value = serde_json::from_str(text).unwrap();
        let result = &message["result"];
        if result["type"] == "data" {
            seen.push((
                result["data"]["id"].as_str().unwrap().parse().unwrap(),
                result["data"]["data"]["scope"].clone(),
            ));
        }
    }
    seen
}

async fn jsonrpc_subscribe(client: &jsonrpsee::ws_client::WsClient) -> Subscription<Value> {
    client
        .subscribe(
            "updates.subscribe",
            rpc_params![json!({})],
            "updates.unsubscribe",
        )
        .await
        .expect("subscribe")
}

/// Reads JSON-RPC notices for `wait`, returning their `(id, scope)`.
async fn jsonrpc_notices(sub: &mut Subscription<Value>, wait: Duration) -> Vec<(u64, Value)> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(Ok(notice))) = tokio::time::timeout_at(deadline, sub.next()).await {
        seen.push((
            notice["id"].as_str().unwrap().parse().unwrap(),
            notice["data"]["scope"].clone(),
        ));
    }
    seen
}

#[tokio::test]
async fn no_notice_leaks_to_another_project_over_sse_websocket_or_json_rpc() {
    let app = TestApp::spawn().await;
    let (demo, ops) = (app.project_id("demo"), app.project_id("ops"));
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);

    let mut alice_sse = alice.subscribe(None, None).await;
    let mut bob_sse = bob.subscribe(None, None).await;
    let mut alice_ws = trpc_ws(&alice).await;
    let mut bob_ws = trpc_ws(&bob).await;
    let (alice_rpc, bob_rpc) = (alice.jsonrpc_ws().await, bob.jsonrpc_ws().await);
    let mut alice_sub = jsonrpc_subscribe(&alice_rpc).await;
    let mut bob_sub = jsonrpc_subscribe(&bob_rpc).await;

    let emitted = [
        Some(demo.as_str()),
        Some(ops.as_str()),
        None,
        Some(ops.as_str()),
        Some(demo.as_str()),
    ];
    for (i, scope) in emitted.iter().enumerate() {
        // Distinct types, so that coalescing keeps every one.
        let ty = ["volumes", "compute", "images", "networks", "progress"][i];
        notify(&app, ty, *scope).await;
    }
    let wait = Duration::from_millis(1500);
    let expect = |own: &str| -> Vec<Value> {
        emitted
            .iter()
            .filter(|s| s.is_none_or(|s| s == own))
            .map(|s| s.map_or(Value::Null, |s| json!(s)))
            .collect()
    };
    for (who, own, sse, ws, rpc) in [
        (
            "alice",
            &demo,
            &mut alice_sse,
            &mut alice_ws,
            &mut alice_sub,
        ),
        ("bob", &ops, &mut bob_sse, &mut bob_ws, &mut bob_sub),
    ] {
        let got = [
            ("sse", sse_notices(sse, wait).await),
            ("trpc ws", ws_notices(ws, wait).await),
            ("json-rpc", jsonrpc_notices(rpc, wait).await),
        ];
        for (transport, notices) in got {
            let scopes: Vec<Value> = notices.iter().map(|(_, s)| s.clone()).collect();
            assert_eq!(scopes, expect(own), "{who} over {transport}");
            assert!(
                notices.windows(2).all(|w| w[0].0 < w[1].0),
                "{who} over {transport}: ids increase"
            );
        }
    }
}

#[tokio::test]
async fn replay_after_a_disconnect_carries_only_what_the_user_may_see() {
    let app = TestApp::spawn().await;
    let (demo, ops) = (app.project_id("demo"), app.project_id("ops"));
    let alice = app.user("alice").await;
    let mut stream = alice.subscribe(None, None).await;
    notify(&app, "volumes", Some(&demo)).await;
    let first = sse_notices(&mut stream, Duration::from_millis(600)).await;
    assert_eq!(first.len(), 1);
    drop(stream);
    for (ty, scope) in [
        ("compute", Some(ops.as_str())),
        ("images", None),
        ("networks", Some(demo.as_str())),
        ("progress", Some(ops.as_str())),
    ] {
        notify(&app, ty, scope).await;
    }
    let last = first[0].0.to_string();
    let mut resumed = alice.subscribe(None, Some(&last)).await;
    let replayed = sse_notices(&mut resumed, Duration::from_millis(600)).await;
    let scopes: Vec<Value> = replayed.iter().map(|(_, s)| s.clone()).collect();
    assert_eq!(scopes, [Value::Null, json!(demo)]);
}

#[tokio::test]
async fn ending_a_session_ends_its_streams_with_unauthorized() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let mut stream = alice.subscribe(None, None).await;
    let out = alice.mutate("auth.logout", json!(null)).await;
    assert_eq!(out.status, 200, "{}", out.body);
    let end = loop {
        let event = stream
            .next_within(Duration::from_secs(5))
            .await
            .expect("the stream says why it ends");
        if event.event != "ping" {
            break event;
        }
    };
    assert_eq!(end.event, "serialized-error");
    assert_eq!(end.json()["data"]["code"], "UNAUTHORIZED");
    assert_eq!(
        alice.query("auth.me", None).await.error_code(),
        "UNAUTHORIZED"
    );
}

#[tokio::test]
async fn a_session_holds_a_bounded_number_of_streams() {
    let app = TestApp::spawn_with(&["--max-streams-per-session", "2"]).await;
    let bob = app.user("bob").await;
    let _one = bob.subscribe(None, None).await;
    let two = bob.subscribe(None, None).await;
    let mut three = bob.subscribe(None, None).await;
    let refused = three
        .next_within(Duration::from_secs(5))
        .await
        .expect("an answer");
    assert_eq!(refused.event, "serialized-error");
    assert_eq!(refused.json()["data"]["code"], "TOO_MANY_REQUESTS");
    // Closing one frees its slot.
    drop(two);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = bob.subscribe(None, None).await;
    let next = tokio::time::timeout(Duration::from_millis(300), again.next()).await;
    assert!(
        next.is_err(),
        "accepted and idle after a slot freed: {next:?}"
    );
}

#[tokio::test]
async fn cross_site_requests_are_refused_in_each_protocols_envelope() {
    let app = TestApp::spawn().await;
    let evil = "http://evil.example";
    let trpc = app
        .http
        .post(format!("{}/trpc/auth.logout", app.base))
        .header("origin", evil)
        .send()
        .await
        .unwrap();
    assert_eq!(trpc.status(), 403);
    let body: Value = trpc.json().await.unwrap();
    assert_eq!(body["error"]["data"]["code"], "FORBIDDEN", "{body}");

    let rpc = app
        .http
        .post(format!("{}/rpc", app.base))
        .header("origin", evil)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "auth.me"}))
        .send()
        .await
        .unwrap();
    assert_eq!(rpc.status(), 403);
    let body: Value = rpc.json().await.unwrap();
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["error"]["data"]["code"], "FORBIDDEN", "{body}");

    // A WebSocket from another site never opens.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{}/trpc", app.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", evil.parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_err());

    // The server's own origin passes.
    let own = app
        .http
        .get(format!("{}/trpc/auth.me", app.base))
        .header("origin", app.base.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_without_asking_keystone() {
    let app = TestApp::spawn().await;
    let anonymous = reqwest::Client::new();
    let attempt = |password: &'static str| {
        anonymous
            .post(format!("{}/trpc/auth.login", app.base))
            .json(&json!({ "username": "bob", "password": password }))
            .send()
    };
    for _ in 0..5 {
        let wrong: Value = attempt("guess").await.unwrap().json().await.unwrap();
        assert_eq!(wrong["error"]["data"]["code"], "UNAUTHORIZED");
    }
    // Counted per user name: the worker polls the simulator meanwhile.
    let keystone_before = app.sim.stats().password_checks("bob");
    let refused = attempt("bob").await.unwrap();
    assert_eq!(refused.status(), 429);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["data"]["code"], "TOO_MANY_REQUESTS", "{body}");
    assert_eq!(
        app.sim.stats().password_checks("bob"),
        keystone_before,
        "refused before reaching Keystone"
    );
    // Other users are not affected.
    app.user("alice").await;
}
