//! Unit tests of the worker with fake sources (shared state, no network) and paused time.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use futures::{FutureExt, StreamExt};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tidings_rpc::Event;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::updates::{SubscribeRequest, Subscription, UpdateConfig, UpdateType};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Volume {
    id: String,
    project: Option<String>,
    size: u32,
}

fn project_of(volume: &Volume) -> Option<&str> {
    volume.project.as_deref()
}

fn volume(id: &str, project: Option<&str>, size: u32) -> Volume {
    Volume {
        id: id.to_owned(),
        project: project.map(str::to_owned),
        size,
    }
}

/// An upstream whose answer the test sets, counting and timing its fetches.
struct Fake {
    answer: Mutex<Result<Vec<Volume>, String>>,
    latency: Duration,
    fetches: Mutex<Vec<Instant>>,
}

impl Fake {
    fn new(answer: Vec<Volume>) -> Arc<Self> {
        Self::slow(answer, Duration::ZERO)
    }

    fn slow(answer: Vec<Volume>, latency: Duration) -> Arc<Self> {
        Arc::new(Self {
            answer: Mutex::new(Ok(answer)),
            latency,
            fetches: Mutex::default(),
        })
    }

    fn answer(&self, answer: Result<Vec<Volume>, &str>) {
        *self.answer.lock().unwrap() = answer.map_err(str::to_owned);
    }

    fn calls(&self) -> usize {
        self.fetches.lock().unwrap().len()
    }

    async fn fetch(&self) -> Result<Vec<Volume>, String> {
        self.fetches.lock().unwrap().push(Instant::now());
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        self.answer.lock().unwrap().clone()
    }

    fn spec(self: &Arc<Self>) -> SourceSpec<Volume> {
        let fake = Arc::clone(self);
        SourceSpec::new("volumes", UpdateType::Volumes, project_of, move || {
            let fake = Arc::clone(&fake);
            async move { fake.fetch().await }
        })
    }
}

/// A worker with one fake source, and a subscription to what it announces.
fn setup(fake: &Arc<Fake>) -> (Worker, SourceHandle<Volume>, Subscription) {
    let config = UpdateConfig {
        coalesce_window: Duration::ZERO,
        ..UpdateConfig::default()
    };
    let updates = UpdateService::new(config);
    let subscription = updates.subscribe(SubscribeRequest::default());
    let mut worker = Worker::new(updates, WorkerConfig::default());
    let handle = worker.add(fake.spec());
    (worker, handle, subscription)
}

/// The notices announced so far.
fn announced(subscription: &mut Subscription) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(Some(Event::Notice(notice))) = subscription.next().now_or_never() {
        out.push(serde_json::from_slice(notice.json()).unwrap());
    }
    out
}

/// Captures formatted log lines for the current thread while the guard lives.
fn capture_logs() -> (Arc<Mutex<Vec<u8>>>, tracing::subscriber::DefaultGuard) {
    #[derive(Clone)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl io::Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = Sink(Arc::clone(&buffer));
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .without_time()
        .finish();
    (buffer, tracing::subscriber::set_default(subscriber))
}

fn lines_with(logs: &Mutex<Vec<u8>>, needle: &str) -> Vec<String> {
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    text.lines()
        .filter(|line| line.contains(needle))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn the_first_fetch_is_stored_silently() {
    let fake = Fake::new(vec![volume("a", Some("p1"), 1)]);
    let (worker, handle, mut subscription) = setup(&fake);
    assert_eq!(handle.current(), None);
    assert!(!handle.health().up);
    assert_eq!(worker.tick_all().await, [("volumes", TickOutcome::First)]);
    assert_eq!(
        handle.current().unwrap().as_slice(),
        [volume("a", Some("p1"), 1)]
    );
    assert!(announced(&mut subscription).is_empty());
    assert!(handle.health().up);
}

#[tokio::test(start_paused = true)]
async fn unchanged_or_reordered_data_announces_nothing() {
    let fake = Fake::new(vec![volume("a", Some("p1"), 1), volume("b", Some("p1"), 2)]);
    let (worker, handle, mut subscription) = setup(&fake);
    worker.tick_all().await;
    let first = handle.current().unwrap();
    assert_eq!(
        worker.tick_all().await,
        [("volumes", TickOutcome::Unchanged)]
    );
    fake.answer(Ok(vec![
        volume("b", Some("p1"), 2),
        volume("a", Some("p1"), 1),
    ]));
    assert_eq!(handle.refresh().await, TickOutcome::Unchanged);
    assert!(announced(&mut subscription).is_empty());
    assert!(Arc::ptr_eq(&first, &handle.current().unwrap()));
}

#[tokio::test(start_paused = true)]
async fn a_change_is_announced_once_per_changed_scope() {
    let fake = Fake::new(vec![
        volume("a", Some("p1"), 1),
        volume("b", Some("p2"), 1),
        volume("c", None, 1),
    ]);
    let (worker, handle, mut subscription) = setup(&fake);
    worker.tick_all().await;

    fake.answer(Ok(vec![
        volume("a", Some("p1"), 1),
        volume("b", Some("p2"), 9),
        volume("c", None, 1),
    ]));
    assert_eq!(handle.refresh().await, TickOutcome::Changed { scopes: 1 });
    assert_eq!(
        announced(&mut subscription),
        [json!({"type": "volumes", "scope": "p2"})]
    );
    assert_eq!(handle.current().unwrap()[1].size, 9);

    // A scope that disappears is a change too; so is the unscoped group.
    fake.answer(Ok(vec![volume("b", Some("p2"), 9), volume("c", None, 2)]));
    assert_eq!(handle.refresh().await, TickOutcome::Changed { scopes: 2 });
    let mut got = announced(&mut subscription);
    got.sort_by_key(Value::to_string);
    assert_eq!(
        got,
        [
            json!({"type": "volumes", "scope": "p1"}),
            json!({"type": "volumes"})
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failure_keeps_the_last_good_value_and_logs_each_transition_once() {
    let (logs, _guard) = capture_logs();
    let good = vec![volume("a", Some("p1"), 1)];
    let fake = Fake::new(good.clone());
    let (worker, handle, mut subscription) = setup(&fake);
    worker.tick_all().await;

    fake.answer(Err("connection refused"));
    for consecutive in 1..=3 {
        assert_eq!(
            worker.tick_all().await,
            [("volumes", TickOutcome::Failed { consecutive })]
        );
    }
    assert_eq!(handle.current().unwrap().as_slice(), good);
    assert_eq!(handle.get().await.unwrap().as_slice(), good);
    let health = handle.health();
    assert!(!health.up);
    assert_eq!(health.consecutive_failures, 3);
    assert_eq!(health.last_error.as_deref(), Some("connection refused"));
    let down = lines_with(&logs, "upstream source down");
    assert_eq!(down.len(), 1, "logged once, not per failure: {down:?}");
    assert!(down[0].contains("WARN") && down[0].contains("connection refused"));

    fake.answer(Ok(good));
    assert_eq!(handle.refresh().await, TickOutcome::Unchanged);
    let recovered = lines_with(&logs, "upstream source recovered");
    assert_eq!(recovered.len(), 1);
    assert!(recovered[0].contains("failures=3"), "{recovered:?}");
    assert!(handle.health().up);
    assert_eq!(handle.health().consecutive_failures, 0);
    assert!(announced(&mut subscription).is_empty());

    // Only the transition is logged again on the next outage.
    fake.answer(Err("timed out"));
    worker.tick_all().await;
    worker.tick_all().await;
    assert_eq!(lines_with(&logs, "upstream source down").len(), 2);
}

#[tokio::test(start_paused = true)]
async fn get_on_a_source_that_never_answered_returns_the_error() {
    let fake = Fake::new(Vec::new());
    fake.answer(Err("no route to host"));
    let (_worker, handle, _subscription) = setup(&fake);
    let error = handle.get().await.unwrap_err();
    assert_eq!(error.name, "volumes");
    assert_eq!(&*error.message, "no route to host");
    assert_eq!(handle.health().consecutive_failures, 1);
}

#[tokio::test(start_paused = true)]
async fn concurrent_readers_share_one_fetch() {
    let fake = Fake::slow(vec![volume("a", None, 1)], Duration::from_millis(100));
    let (worker, handle, _subscription) = setup(&fake);
    let readers = join_all((0..10).map(|_| handle.get()));
    let (values, ticks, refreshed) = tokio::join!(readers, worker.tick_all(), handle.refresh());
    assert_eq!(fake.calls(), 1);
    let first = values[0].as_ref().unwrap();
    assert!(
        values
            .iter()
            .all(|value| Arc::ptr_eq(value.as_ref().unwrap(), first))
    );
    assert_eq!(ticks, [("volumes", TickOutcome::First)]);
    assert_eq!(refreshed, TickOutcome::First);

    // Once it is done, the next refresh fetches again.
    handle.refresh().await;
    assert_eq!(fake.calls(), 2);
}

#[test]
fn backoff_doubles_per_failure_up_to_the_cap() {
    let second = Duration::from_secs(1);
    let max = Duration::from_secs(60);
    let delays: Vec<u64> = (0..9)
        .map(|n| backoff(second * 2, n, max).as_secs())
        .collect();
    assert_eq!(delays, [2, 4, 8, 16, 32, 60, 60, 60, 60]);
    assert_eq!(backoff(second, u32::MAX, max), max);
    assert_eq!(
        backoff(second * 90, 3, max),
        second * 90,
        "never shorter than the interval"
    );
}

#[test]
fn jitter_stays_within_its_fraction() {
    let mut rng = StdRng::seed_from_u64(7);
    let base = Duration::from_secs(10);
    let delays: Vec<Duration> = (0..200).map(|_| jittered(base, 0.1, &mut rng)).collect();
    assert!(
        delays
            .iter()
            .all(|d| *d >= base.mul_f64(0.9) && *d <= base.mul_f64(1.1))
    );
    assert!(
        delays.iter().any(|d| *d != base),
        "jitter actually varies the delay"
    );
    assert_eq!(jittered(base, 0.0, &mut rng), base);
    assert_eq!(jittered(base, f64::NAN, &mut rng), base);
}

/// Starts a worker polling `fake` every second, with no jitter and an 8 s back-off cap.
fn start(fake: &Arc<Fake>) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let updates = UpdateService::new(UpdateConfig::default());
    let config = WorkerConfig {
        jitter: 0.0,
        max_backoff: Duration::from_secs(8),
    };
    let mut worker = Worker::new(updates, config);
    worker.add(fake.spec().with_interval(Duration::from_secs(1)));
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(worker.run(shutdown.clone()));
    (shutdown, running)
}

/// The gaps between `fake`'s fetches, in whole seconds.
fn fetch_gaps(fake: &Fake) -> Vec<u64> {
    let fetches = fake.fetches.lock().unwrap();
    fetches
        .windows(2)
        .map(|pair| (pair[1] - pair[0]).as_secs())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn back_off_grows_while_a_source_fails_and_resets_when_it_recovers() {
    let fake = Fake::new(Vec::new());
    fake.answer(Err("503"));
    let (shutdown, running) = start(&fake);
    // Fetches at 0, 2, 6, 14, 22, 30, 38 s: the interval doubles up to the cap.
    tokio::time::sleep(Duration::from_millis(38_500)).await;
    assert_eq!(fetch_gaps(&fake), [2, 4, 8, 8, 8, 8]);
    // Upstream comes back; the fetch at 46 s succeeds and the interval is 1 s again.
    fake.answer(Ok(Vec::new()));
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(fetch_gaps(&fake), [2, 4, 8, 8, 8, 8, 8, 1, 1, 1]);
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(1), running)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn run_polls_until_cancelled_and_then_stops() {
    let fake = Fake::new(vec![volume("a", None, 1)]);
    let (worker, handle, _subscription) = setup(&fake);
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(worker.run(shutdown.clone()));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(fake.calls() >= 3, "polled every ~2 s: {}", fake.calls());
    assert!(handle.current().is_some());
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(1), running)
        .await
        .unwrap()
        .unwrap();
    let calls = fake.calls();
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(fake.calls(), calls, "no poll after cancellation");
}

#[tokio::test]
async fn json_is_serialized_once_per_value() {
    let fake = Fake::new(vec![volume("v1", Some("p1"), 1)]);
    let (_worker, handle, _subscription) = setup(&fake);
    let first = handle.get_json().await.unwrap();
    let again = handle.get_json().await.unwrap();
    assert_eq!(
        first.bytes.as_ptr(),
        again.bytes.as_ptr(),
        "the same bytes, not a new serialization"
    );
    assert_eq!(first.hash, xxhash_rust::xxh3::xxh3_64(&first.bytes));
    assert_eq!(
        serde_json::from_slice::<Value>(&first.bytes).unwrap(),
        json!([{"id":"v1","project":"p1","size":1}])
    );
    handle.refresh().await;
    assert_eq!(
        handle.get_json().await.unwrap().bytes.as_ptr(),
        first.bytes.as_ptr(),
        "unchanged data keeps its bytes"
    );
    fake.answer(Ok(vec![volume("v1", Some("p1"), 2)]));
    handle.refresh().await;
    let changed = handle.get_json().await.unwrap();
    assert_ne!(changed.hash, first.hash);
    assert_eq!(
        serde_json::from_slice::<Value>(&changed.bytes).unwrap()[0]["size"],
        2
    );
}

static RAW_PARSES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn parse_counted(bytes: &[u8]) -> Result<Vec<Volume>, FetchError> {
    RAW_PARSES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Ok(serde_json::from_slice(bytes)?)
}

#[tokio::test]
async fn a_raw_source_parses_only_answers_whose_bytes_changed() {
    let answer = Arc::new(Mutex::new(json!([volume("a", Some("p1"), 1)]).to_string()));
    let updates = UpdateService::new(UpdateConfig {
        coalesce_window: Duration::ZERO,
        ..UpdateConfig::default()
    });
    let mut subscription = updates.subscribe(SubscribeRequest::default());
    let mut worker = Worker::new(updates, WorkerConfig::default());
    let upstream = Arc::clone(&answer);
    let handle = worker.add(SourceSpec::raw(
        "volumes",
        UpdateType::Volumes,
        project_of,
        move || {
            let body = upstream.lock().unwrap().clone();
            async move { Ok::<_, FetchError>(bytes::Bytes::from(body)) }
        },
        parse_counted,
    ));
    let parses = || RAW_PARSES.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(handle.refresh().await, TickOutcome::First);
    assert_eq!(parses(), 1);
    let first = handle.current().unwrap();
    assert_eq!(handle.refresh().await, TickOutcome::Unchanged);
    assert_eq!(parses(), 1, "the same bytes are not parsed again");
    assert!(Arc::ptr_eq(&first, &handle.current().unwrap()));
    *answer.lock().unwrap() = json!([volume("a", Some("p1"), 2)]).to_string();
    assert_eq!(handle.refresh().await, TickOutcome::Changed { scopes: 1 });
    assert_eq!(parses(), 2);
    assert_eq!(handle.current().unwrap()[0].size, 2);
    assert_eq!(
        announced(&mut subscription),
        [json!({ "type": "volumes", "scope": "p1" })]
    );
    *answer.lock().unwrap() = "not json".into();
    assert!(matches!(
        handle.refresh().await,
        TickOutcome::Failed { consecutive: 1 }
    ));
    assert_eq!(
        handle.current().unwrap()[0].size,
        2,
        "the last good value is kept"
    );
}

#[test]
fn failures_are_told_apart_by_what_the_upstream_did() {
    use tidings_openstack::{Error, Service};
    let of = |error: Error| Cause::of(&error);
    let refused = Error::Refused {
        service: Service::Compute,
        message: "The request you have made requires authentication.".to_owned(),
    };
    assert_eq!(of(refused), Cause::Unauthorized);
    assert_eq!(
        of(Error::Auth("wrong password".to_owned())),
        Cause::Unauthorized
    );
    let unavailable = Error::Unavailable {
        service: Service::Volume,
        detail: "cannot connect: connection refused".to_owned(),
    };
    assert_eq!(of(unavailable), Cause::Unreachable);
    let timeout = Error::Timeout {
        service: Service::Image,
        timeout: Duration::from_secs(10),
    };
    assert_eq!(of(timeout), Cause::Unreachable);
    let status = Error::Status {
        service: Service::Network,
        status: 500,
        message: String::new(),
    };
    assert_eq!(of(status), Cause::Failing);
    assert_eq!(
        Cause::of(&io::Error::other("not OpenStack's")),
        Cause::Failing
    );
}
