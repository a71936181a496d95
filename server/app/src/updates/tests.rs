//! Unit tests of the update bus: ids, replay, resync, filtering, coalescing and fan-out.

use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use serde_json::{Value, json};
use tidings_rpc::{Event, Notice};

use super::*;

/// A bus without coalescing, so every notify is emitted at once.
fn bus(log_capacity: usize, subscriber_queue: usize) -> UpdateService {
    UpdateService::new(UpdateConfig {
        log_capacity,
        log_max_age: Duration::from_secs(300),
        subscriber_queue,
        coalesce_window: Duration::ZERO,
    })
}

fn resume_from(id: &str) -> SubscribeRequest {
    SubscribeRequest {
        last_event_id: Some(id.to_owned()),
        types: None,
    }
}

fn notice(event: Event) -> Arc<Notice> {
    match event {
        Event::Notice(notice) => notice,
        Event::Error(error) => panic!("unexpected error event: {error:?}"),
    }
}

/// Every notice the subscription can yield right now, as (id, JSON value).
fn drain(subscription: &mut Subscription) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    while let Some(Some(event)) = subscription.next().now_or_never() {
        let notice = notice(event);
        let value = serde_json::from_slice(notice.json()).expect("notices are JSON");
        out.push((notice.id().expect("notices are tracked").to_owned(), value));
    }
    out
}

fn ids(notices: &[(String, Value)]) -> Vec<&str> {
    notices.iter().map(|(id, _)| id.as_str()).collect()
}

#[test]
fn notice_bytes_are_exactly_the_wire_format() {
    let scoped = wire::change(7, UpdateType::Volumes, Some("p1"));
    assert_eq!(
        scoped.json().as_ref(),
        br#"{"type":"volumes","scope":"p1"}"#
    );
    assert_eq!(scoped.id(), Some("7"));
    let global = wire::change(8, UpdateType::Images, None);
    assert_eq!(global.json().as_ref(), br#"{"type":"images"}"#);
    let lagged = wire::resync(9, ResyncReason::Lagged);
    assert_eq!(
        lagged.json().as_ref(),
        br#"{"type":"resync","reason":"lagged"}"#
    );
    assert_eq!(lagged.id(), Some("9"));
    let gap = wire::resync(9, ResyncReason::Gap);
    assert_eq!(gap.json().as_ref(), br#"{"type":"resync","reason":"gap"}"#);
}

#[test]
fn wire_names_match_as_str_and_round_trip() {
    for ty in UpdateType::ALL {
        assert_eq!(serde_json::to_value(ty).unwrap(), json!(ty.as_str()));
        assert_eq!(
            serde_json::to_value(NoticeType::from(ty)).unwrap(),
            json!(ty.as_str())
        );
        let back: UpdateType = serde_json::from_value(json!(ty.as_str())).unwrap();
        assert_eq!(back, ty);
    }
    assert_eq!(
        serde_json::to_value(NoticeType::Resync).unwrap(),
        json!("resync")
    );
    let parsed: UpdateNotice = serde_json::from_str(r#"{"type":"compute","scope":"p"}"#).unwrap();
    assert_eq!(parsed.ty, NoticeType::Compute);
    assert_eq!(parsed.scope.as_deref(), Some("p"));
    let request: SubscribeRequest =
        serde_json::from_str(r#"{"lastEventId":"4","types":["volumes"]}"#).unwrap();
    assert_eq!(request.last_event_id.as_deref(), Some("4"));
    assert_eq!(request.types, Some(vec![UpdateType::Volumes]));
}

#[test]
fn notify_works_without_a_runtime() {
    let updates = UpdateService::new(UpdateConfig::default());
    updates.notify(UpdateType::Volumes, Some("p1"));
    updates.notify(UpdateType::Volumes, Some("p1"));
    assert_eq!(updates.last_event_id(), 2);
}

#[tokio::test]
async fn ids_increase_from_one_and_live_notices_arrive_in_order() {
    let updates = bus(16, 16);
    let mut live = updates.subscribe(SubscribeRequest::default());
    assert_eq!(updates.last_event_id(), 0);
    updates.notify(UpdateType::Projects, None);
    updates.notify(UpdateType::Volumes, Some("p1"));
    updates.notify(UpdateType::Compute, Some("p2"));
    assert_eq!(updates.last_event_id(), 3);
    let got = drain(&mut live);
    assert_eq!(ids(&got), ["1", "2", "3"]);
    assert_eq!(got[0].1, json!({"type": "projects"}));
    assert_eq!(got[1].1, json!({"type": "volumes", "scope": "p1"}));
    assert_eq!(got[2].1, json!({"type": "compute", "scope": "p2"}));
    assert_eq!(updates.stats().emitted, 3);
}

#[tokio::test]
async fn every_subscriber_shares_one_encoded_notice() {
    let updates = bus(16, 16);
    let mut a = updates.subscribe(SubscribeRequest::default());
    let mut b = updates.subscribe(SubscribeRequest::default());
    updates.notify(UpdateType::Images, None);
    let from_a = notice(a.next().await.unwrap());
    let from_b = notice(b.next().await.unwrap());
    assert!(Arc::ptr_eq(&from_a, &from_b));
}

#[tokio::test]
async fn replay_from_an_id_then_live_without_gap_or_duplicate() {
    let updates = bus(16, 16);
    for _ in 0..5 {
        updates.notify(UpdateType::Volumes, Some("p1"));
    }
    let mut resumed = updates.subscribe(resume_from("2"));
    updates.notify(UpdateType::Images, None);
    assert_eq!(ids(&drain(&mut resumed)), ["3", "4", "5", "6"]);
    let mut caught_up = updates.subscribe(resume_from("6"));
    updates.notify(UpdateType::Images, None);
    assert_eq!(ids(&drain(&mut caught_up)), ["7"]);
}

#[tokio::test]
async fn an_id_older_than_the_log_gets_a_gap_resync_then_live() {
    let updates = bus(3, 16);
    for _ in 0..6 {
        updates.notify(UpdateType::Volumes, None);
    }
    // The log holds 4..=6: resuming after 3 is still complete, after 2 is not.
    assert_eq!(
        ids(&drain(&mut updates.subscribe(resume_from("3")))),
        ["4", "5", "6"]
    );
    let mut gapped = updates.subscribe(resume_from("2"));
    updates.notify(UpdateType::Images, None);
    let got = drain(&mut gapped);
    assert_eq!(ids(&got), ["6", "7"]);
    assert_eq!(got[0].1, json!({"type": "resync", "reason": "gap"}));
    assert_eq!(got[1].1, json!({"type": "images"}));
    assert_eq!(updates.stats().resyncs, 1);
}

#[tokio::test(start_paused = true)]
async fn events_older_than_the_replay_window_are_not_replayed() {
    let updates = UpdateService::new(UpdateConfig {
        log_capacity: 16,
        log_max_age: Duration::from_secs(60),
        subscriber_queue: 16,
        coalesce_window: Duration::ZERO,
    });
    updates.notify(UpdateType::Volumes, None); // 1 at 0 s
    tokio::time::sleep(Duration::from_secs(30)).await;
    updates.notify(UpdateType::Images, None); // 2 at 30 s
    tokio::time::sleep(Duration::from_secs(30)).await;
    // At 60 s, event 1 is exactly as old as the window: still replayed.
    assert_eq!(
        ids(&drain(&mut updates.subscribe(resume_from("0")))),
        ["1", "2"]
    );
    tokio::time::sleep(Duration::from_millis(1)).await;
    // Just after, it is gone (no notify since: evicted by the resume itself).
    let got = drain(&mut updates.subscribe(resume_from("0")));
    assert_eq!(
        got,
        [("2".to_owned(), json!({"type": "resync", "reason": "gap"}))]
    );
    assert_eq!(ids(&drain(&mut updates.subscribe(resume_from("1")))), ["2"]);
    // Once everything is older than the window, only a client that saw the latest id resumes
    // without a resync; it then gets what follows, live.
    tokio::time::sleep(Duration::from_secs(120)).await;
    let mut gapped = updates.subscribe(resume_from("1"));
    let mut current = updates.subscribe(resume_from("2"));
    updates.notify(UpdateType::Networks, None);
    let got = drain(&mut gapped);
    assert_eq!(ids(&got), ["2", "3"]);
    assert_eq!(got[0].1, json!({"type": "resync", "reason": "gap"}));
    assert_eq!(ids(&drain(&mut current)), ["3"]);
    assert_eq!(ids(&drain(&mut updates.subscribe(resume_from("2")))), ["3"]);
}

#[tokio::test]
async fn a_future_or_malformed_id_gets_a_gap_resync() {
    let updates = bus(16, 16);
    updates.notify(UpdateType::Volumes, None);
    updates.notify(UpdateType::Volumes, None);
    for bad in ["3", "999", "abc", "", "-1"] {
        let got = drain(&mut updates.subscribe(resume_from(bad)));
        assert_eq!(got.len(), 1, "resuming from {bad:?}");
        assert_eq!(
            got[0],
            ("2".to_owned(), json!({"type": "resync", "reason": "gap"}))
        );
    }
}

#[tokio::test]
async fn the_types_filter_applies_to_replay_and_live_but_not_to_resync() {
    let updates = bus(16, 2);
    updates.notify(UpdateType::Compute, None);
    updates.notify(UpdateType::Volumes, Some("p1"));
    let request = SubscribeRequest {
        last_event_id: Some("0".to_owned()),
        types: Some(vec![UpdateType::Volumes]),
    };
    let mut filtered = updates.subscribe(request);
    updates.notify(UpdateType::Images, None);
    updates.notify(UpdateType::Volumes, Some("p2"));
    let got = drain(&mut filtered);
    assert_eq!(ids(&got), ["2", "4"]);

    let only_images = SubscribeRequest {
        last_event_id: None,
        types: Some(vec![UpdateType::Images]),
    };
    let mut lagging = updates.subscribe(only_images);
    for _ in 0..5 {
        updates.notify(UpdateType::Compute, None);
    }
    let got = drain(&mut lagging);
    assert_eq!(
        got,
        [(
            "9".to_owned(),
            json!({"type": "resync", "reason": "lagged"})
        )]
    );
}

#[tokio::test]
async fn a_stalled_subscriber_gets_one_resync_while_others_receive_everything() {
    let updates = bus(64, 4);
    let mut stalled = updates.subscribe(SubscribeRequest::default());
    let mut attentive = updates.subscribe(SubscribeRequest::default());
    let mut received = Vec::new();
    for _ in 0..20 {
        updates.notify(UpdateType::Compute, Some("p1"));
        received.extend(drain(&mut attentive));
    }
    let expected: Vec<String> = (1..=20).map(|id| id.to_string()).collect();
    assert_eq!(ids(&received), expected);

    updates.notify(UpdateType::Images, None);
    let got = drain(&mut stalled);
    // One resync tracked with the latest id, then only what comes after it.
    assert_eq!(ids(&got), ["21"]);
    assert_eq!(got[0].1, json!({"type": "resync", "reason": "lagged"}));
    updates.notify(UpdateType::Images, None);
    assert_eq!(ids(&drain(&mut stalled)), ["22"]);
    assert_eq!(ids(&drain(&mut attentive)), ["21", "22"]);
    assert_eq!(updates.stats().resyncs, 1);
}

#[tokio::test]
async fn subscriber_count_follows_live_subscriptions() {
    let updates = bus(16, 16);
    let a = updates.subscribe(SubscribeRequest::default());
    let b = updates.subscribe(resume_from("nope"));
    assert_eq!(updates.subscriber_count(), 2);
    drop(a);
    assert_eq!(updates.subscriber_count(), 1);
    drop(b);
    assert_eq!(updates.subscriber_count(), 0);
    assert_eq!(updates.stats().subscribers, 0);
}

#[tokio::test(start_paused = true)]
async fn bursts_coalesce_into_a_leading_and_one_trailing_notice() {
    let window = Duration::from_millis(50);
    let updates = UpdateService::new(UpdateConfig {
        coalesce_window: window,
        ..UpdateConfig::default()
    });
    let mut live = updates.subscribe(SubscribeRequest::default());
    let step = Duration::from_millis(10);

    updates.notify(UpdateType::Volumes, Some("p1"));
    assert_eq!(drain(&mut live).len(), 1, "the leading notice is immediate");
    for _ in 0..3 {
        tokio::time::sleep(step).await;
        updates.notify(UpdateType::Volumes, Some("p1"));
    }
    // Another key is never delayed by p1's window.
    updates.notify(UpdateType::Volumes, Some("p2"));
    let got = drain(&mut live);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, json!({"type": "volumes", "scope": "p2"}));

    tokio::time::sleep(window).await;
    let got = drain(&mut live);
    assert_eq!(got.len(), 1, "exactly one trailing notice");
    assert_eq!(got[0].1, json!({"type": "volumes", "scope": "p1"}));

    // A quiet window closes the burst; the next notify leads again at once.
    tokio::time::sleep(window * 3).await;
    assert!(drain(&mut live).is_empty());
    updates.notify(UpdateType::Volumes, Some("p1"));
    assert_eq!(drain(&mut live).len(), 1);

    let stats = updates.stats();
    assert_eq!(stats.emitted, 4);
    assert_eq!(stats.coalesced, 2, "six notify calls, four notices");
}

#[tokio::test(start_paused = true)]
async fn a_sustained_burst_yields_one_notice_per_window() {
    let window = Duration::from_millis(50);
    let updates = UpdateService::new(UpdateConfig {
        coalesce_window: window,
        ..UpdateConfig::default()
    });
    let mut live = updates.subscribe(SubscribeRequest::default());
    // A notify every 10 ms for 200 ms, then silence.
    for _ in 0..20 {
        updates.notify(UpdateType::Progress, Some("op"));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(window * 4).await;
    let got = drain(&mut live);
    assert_eq!(
        got.len(),
        5,
        "leading at 0, then one per window: 50, 100, 150, 200"
    );
    assert!(
        got.iter()
            .all(|(_, value)| *value == json!({"type": "progress", "scope": "op"}))
    );
}
