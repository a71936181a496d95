//! Password guessing against `auth.login` and the `admin.notify` token, over every transport and
//! as much concurrency as one client can muster; and using the throttle itself to lock the real
//! user out. Each test counts the guesses that reached Keystone (the simulator's password checks).

use std::net::IpAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tidings_tests::logins::{login_batch, outcome};
use tidings_tests::{ADMIN_TOKEN, TestApp, client_from};
use tokio_tungstenite::tungstenite::Message;

/// How many guesses each attack sends at once (the largest batch the transports accept).
const GUESSES: usize = 64;
/// Failed logins one (user name, address) may have per window by default.
const PER_PAIR: u64 = 5;
/// The attacker's address (the test client's default).
const ATTACKER: &str = "127.0.0.1";
/// The real user's address, another loopback address.
const REAL_USER: &str = "127.0.0.2";

fn ip(text: &str) -> IpAddr {
    text.parse().expect("address")
}

/// Checks that every answer is a wrong password or a refusal, and how many of each.
fn tally(outcomes: &[String]) -> (usize, usize) {
    let wrong = outcomes.iter().filter(|o| *o == "UNAUTHORIZED").count();
    let refused = outcomes
        .iter()
        .filter(|o| *o == "TOO_MANY_REQUESTS")
        .count();
    assert_eq!(wrong + refused, outcomes.len(), "{outcomes:?}");
    (wrong, refused)
}

/// How many wrong passwords for `user` Keystone was asked to check.
fn guesses_checked(app: &TestApp, user: &str) -> u64 {
    app.sim.stats().password_checks(user).refused
}

/// Keystone was asked about at most one (user, address) pair's worth of bob's guesses.
fn keystone_checked_at_most_a_pair(app: &TestApp) {
    assert!(
        guesses_checked(app, "bob") <= PER_PAIR,
        "{:?}",
        app.sim.stats()
    );
}

/// Of `outcomes`, at most a pair's worth were wrong passwords (the rest refused), and Keystone
/// checked no more than that.
fn at_most_a_pair_got_through(app: &TestApp, outcomes: &[String]) {
    let (wrong, _) = tally(outcomes);
    assert!(wrong as u64 <= PER_PAIR, "{outcomes:?}");
    keystone_checked_at_most_a_pair(app);
}

fn wrong_passwords(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("guess-{i}")).collect()
}

/// One `auth.login` over tRPC HTTP from `http`; its outcome.
async fn login_once(http: &reqwest::Client, app: &TestApp, user: &str, password: &str) -> Value {
    let response = http
        .post(format!("{}/trpc/auth.login", app.base))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await
        .expect("login");
    response.json().await.expect("JSON")
}

#[tokio::test]
async fn a_trpc_batch_of_64_logins_reaches_keystone_at_most_five_times() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let answers = login_batch(&http, &app.base, "bob", &wrong_passwords(GUESSES)).await;
    let (wrong, refused) = tally(&answers.iter().map(outcome).collect::<Vec<_>>());
    keystone_checked_at_most_a_pair(&app);
    assert!(wrong as u64 <= PER_PAIR && refused >= GUESSES - PER_PAIR as usize);
    let refusal = answers
        .iter()
        .find(|a| outcome(a) == "TOO_MANY_REQUESTS")
        .expect("a refusal");
    let message = refusal["error"]["message"].as_str().unwrap();
    assert!(message.contains("try again in"), "{message}");
}

#[tokio::test]
async fn a_trpc_websocket_message_array_of_logins_reaches_keystone_at_most_five_times() {
    let app = TestApp::spawn().await;
    let url = format!("{}/trpc", app.base.replacen("http://", "ws://", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("upgrade");
    let calls: Vec<Value> = wrong_passwords(GUESSES)
        .iter()
        .enumerate()
        .map(|(i, password)| {
            json!({
                "id": i + 1,
                "method": "mutation",
                "params": { "path": "auth.login", "input": { "username": "bob", "password": password } },
            })
        })
        .collect();
    socket
        .send(Message::text(Value::from(calls).to_string()))
        .await
        .expect("send");
    let mut outcomes = Vec::new();
    while outcomes.len() < GUESSES {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("an answer")
            .expect("open")
            .expect("frame");
        let Ok(text) = frame.to_text() else { continue };
        let answer: Value = serde_json::from_str(text).expect("JSON");
        match answer {
            Value::Array(answers) => outcomes.extend(answers.iter().map(outcome)),
            one => outcomes.push(outcome(&one)),
        }
    }
    at_most_a_pair_got_through(&app, &outcomes);
}

#[tokio::test]
async fn sixty_four_parallel_jsonrpc_posts_reach_keystone_at_most_five_times() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let posts = wrong_passwords(GUESSES)
        .into_iter()
        .enumerate()
        .map(|(i, password)| {
            let request = http.post(format!("{}/rpc", app.base)).json(&json!({
                "jsonrpc": "2.0",
                "id": i,
                "method": "auth.login",
                "params": { "username": "bob", "password": password },
            }));
            async move {
                let body: Value = request.send().await.expect("post").json().await.unwrap();
                assert_eq!(body["jsonrpc"], "2.0", "{body}");
                outcome(&body)
            }
        });
    let outcomes = futures::future::join_all(posts).await;
    at_most_a_pair_got_through(&app, &outcomes);
}

#[tokio::test]
async fn several_batches_at_once_reach_keystone_at_most_five_times() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let guesses = wrong_passwords(GUESSES);
    let batches = (0..4).map(|_| login_batch(&http, &app.base, "bob", &guesses));
    let outcomes: Vec<String> = futures::future::join_all(batches)
        .await
        .iter()
        .flatten()
        .map(outcome)
        .collect();
    at_most_a_pair_got_through(&app, &outcomes);
}

#[tokio::test]
async fn a_batch_of_wrong_guesses_ending_in_the_right_one_neither_logs_in_nor_resets() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let mut guesses = wrong_passwords(GUESSES - 1);
    guesses.push("bob".to_owned());
    let answers = login_batch(&http, &app.base, "bob", &guesses).await;
    assert_eq!(
        outcome(&answers[GUESSES - 1]),
        "TOO_MANY_REQUESTS",
        "{answers:?}"
    );
    tally(&answers.iter().map(outcome).collect::<Vec<_>>());
    assert_eq!(app.sim.stats().password_checks("bob").accepted, 0);
    // The counter was not reset: the next guess, right or wrong, is still refused.
    let after = login_once(&http, &app, "bob", "guess-again").await;
    assert_eq!(outcome(&after), "TOO_MANY_REQUESTS", "{after}");
    let right = login_once(&http, &app, "bob", "bob").await;
    assert_eq!(outcome(&right), "TOO_MANY_REQUESTS", "{right}");
    keystone_checked_at_most_a_pair(&app);
}

#[tokio::test]
async fn a_flood_from_one_address_does_not_lock_the_user_out_of_another() {
    let app = TestApp::spawn().await;
    let attacker = client_from(ip(ATTACKER));
    let answers = login_batch(&attacker, &app.base, "bob", &wrong_passwords(GUESSES)).await;
    tally(&answers.iter().map(outcome).collect::<Vec<_>>());
    let (more, real_user) = (wrong_passwords(GUESSES), client_from(ip(REAL_USER)));
    let flooding = login_batch(&attacker, &app.base, "bob", &more);
    let real = login_once(&real_user, &app, "bob", "bob");
    let (flooded, real) = tokio::join!(flooding, real);
    assert_eq!(outcome(&real), "OK", "{real}");
    // The real user's success reset nothing of the attacker's.
    tally(&flooded.iter().map(outcome).collect::<Vec<_>>());
    let again = login_once(&attacker, &app, "bob", "bob").await;
    assert_eq!(outcome(&again), "TOO_MANY_REQUESTS", "{again}");
    keystone_checked_at_most_a_pair(&app);
}

#[tokio::test]
async fn a_flood_through_a_trusted_proxy_does_not_lock_out_another_client_behind_it() {
    let app = TestApp::spawn_with(&["--trusted-proxies", "127.0.0.1"]).await;
    let http = reqwest::Client::new();
    let attacker = |password: String| {
        http.post(format!("{}/trpc/auth.login", app.base))
            .header("x-forwarded-for", "203.0.113.7")
            .json(&json!({ "username": "bob", "password": password }))
            .send()
    };
    let flood = wrong_passwords(GUESSES).into_iter().map(attacker);
    let outcomes =
        futures::future::join_all(flood.map(|sent| async {
            outcome(&sent.await.expect("post").json::<Value>().await.unwrap())
        }))
        .await;
    tally(&outcomes);
    keystone_checked_at_most_a_pair(&app);
    let real: Value = http
        .post(format!("{}/trpc/auth.login", app.base))
        .header("x-forwarded-for", "198.51.100.20")
        .json(&json!({ "username": "bob", "password": "bob" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(outcome(&real), "OK", "{real}");
}

#[tokio::test]
async fn forged_x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    // Each guess claims to come from somewhere new, and from the real user's address.
    let flood = wrong_passwords(GUESSES)
        .into_iter()
        .enumerate()
        .map(|(i, password)| {
            let request = http
                .post(format!("{}/trpc/auth.login", app.base))
                .header("x-forwarded-for", format!("{REAL_USER}, 198.51.100.{i}"))
                .json(&json!({ "username": "bob", "password": password }));
            async move { outcome(&request.send().await.unwrap().json::<Value>().await.unwrap()) }
        });
    let outcomes = futures::future::join_all(flood).await;
    at_most_a_pair_got_through(&app, &outcomes);
    // The real user's address was not charged with the forger's guesses.
    let real = login_once(&client_from(ip(REAL_USER)), &app, "bob", "bob").await;
    assert_eq!(outcome(&real), "OK", "{real}");
}

#[tokio::test]
async fn guessing_the_admin_notify_token_is_throttled_per_address() {
    let app = TestApp::spawn().await;
    let attacker = client_from(ip(ATTACKER));
    let notify = |client: &reqwest::Client, token: String| {
        let request = client
            .post(format!("{}/trpc/admin.notify", app.base))
            .bearer_auth(token)
            .json(&json!({ "type": "images" }));
        async move { outcome(&request.send().await.unwrap().json::<Value>().await.unwrap()) }
    };
    let guesses = (0..GUESSES).map(|i| notify(&attacker, format!("guess-{i}")));
    let outcomes = futures::future::join_all(guesses).await;
    let (wrong, _) = tally(&outcomes);
    assert!(wrong as u64 <= PER_PAIR, "{outcomes:?}");
    // Refused before comparing: the right token from the guessing address is refused too...
    assert_eq!(
        notify(&attacker, ADMIN_TOKEN.to_owned()).await,
        "TOO_MANY_REQUESTS"
    );
    // ...while the operator elsewhere is not locked out.
    let operator = client_from(ip(REAL_USER));
    assert_eq!(notify(&operator, ADMIN_TOKEN.to_owned()).await, "OK");
}
