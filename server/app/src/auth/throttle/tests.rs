//! The throttle's rules, with time given explicitly.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;

const MINUTE: Duration = Duration::from_secs(60);

fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

fn login(config: &ThrottleConfig, user: &str, from: &str) -> Attempt {
    let client = ClientKey::of(ip(from));
    Attempt {
        id: rand::random(),
        budgets: vec![
            budget(
                Scope::UserAt(Arc::from(user), client),
                config.per_user_ip,
                true,
                true,
            ),
            budget(Scope::Client(client), config.per_ip, true, false),
            budget(Scope::Everyone, config.global, false, false),
        ],
    }
}

fn fail_times(ledger: &MemoryLedger, attempt: &Attempt, n: u32, now: Instant) {
    for _ in 0..n {
        ledger.reserve_at(attempt, now).expect("room");
        ledger.settle_at(attempt, Outcome::Failure, now);
    }
}

#[test]
fn attempts_in_flight_count_against_the_budget() {
    let config = ThrottleConfig::default();
    let ledger = MemoryLedger::new(&config);
    let bob = login(&config, "bob", "192.0.2.1");
    let now = Instant::now();
    for _ in 0..5 {
        ledger.reserve_at(&bob, now).expect("within the budget");
    }
    let refused = ledger.reserve_at(&bob, now).unwrap_err();
    assert!(matches!(refused.scope, Scope::UserAt(..)));
    // Settling neutrally gives the room back; failing does not.
    ledger.settle_at(&bob, Outcome::Neutral, now);
    ledger.reserve_at(&bob, now).expect("room again");
    for _ in 0..5 {
        ledger.settle_at(&bob, Outcome::Failure, now);
    }
    assert_eq!(
        ledger.reserve_at(&bob, now).unwrap_err().retry_after,
        MINUTE
    );
}

#[test]
fn a_success_clears_its_own_address_only() {
    let config = ThrottleConfig::default();
    let ledger = MemoryLedger::new(&config);
    let (here, there) = (
        login(&config, "bob", "192.0.2.1"),
        login(&config, "bob", "192.0.2.2"),
    );
    let now = Instant::now();
    fail_times(&ledger, &here, 4, now);
    fail_times(&ledger, &there, 4, now);
    ledger.reserve_at(&here, now).unwrap();
    ledger.settle_at(&here, Outcome::Success, now);
    fail_times(&ledger, &here, 4, now);
    // `there` kept its four failures: one more locks it.
    fail_times(&ledger, &there, 1, now);
    assert!(ledger.reserve_at(&there, now).is_err());
    assert!(ledger.reserve_at(&here, now).is_ok());
}

#[test]
fn lockouts_double_up_to_the_longest() {
    let config = ThrottleConfig {
        max_lockout: 4 * MINUTE,
        ..ThrottleConfig::default()
    };
    let ledger = MemoryLedger::new(&config);
    let bob = login(&config, "bob", "192.0.2.1");
    let mut now = Instant::now();
    for expected in [1, 2, 4, 4] {
        fail_times(&ledger, &bob, 5, now);
        let refusal = ledger.reserve_at(&bob, now).unwrap_err();
        assert_eq!(refusal.retry_after, expected * MINUTE);
        let almost = now + refusal.retry_after - Duration::from_millis(1);
        assert!(ledger.reserve_at(&bob, almost).is_err());
        now += refusal.retry_after;
    }
    // Quiet for the longest lockout: back to one window.
    now += 4 * MINUTE;
    fail_times(&ledger, &bob, 5, now);
    assert_eq!(
        ledger.reserve_at(&bob, now).unwrap_err().retry_after,
        MINUTE
    );
}

#[test]
fn one_address_spraying_user_names_runs_out_while_others_do_not() {
    let config = ThrottleConfig::default();
    let ledger = MemoryLedger::new(&config);
    let now = Instant::now();
    for n in 0..config.per_ip {
        fail_times(
            &ledger,
            &login(&config, &format!("user{n}"), "192.0.2.1"),
            1,
            now,
        );
    }
    let refusal = ledger
        .reserve_at(&login(&config, "fresh", "192.0.2.1"), now)
        .unwrap_err();
    assert!(matches!(refusal.scope, Scope::Client(_)));
    assert!(
        ledger
            .reserve_at(&login(&config, "fresh", "192.0.2.9"), now)
            .is_ok()
    );
}

#[test]
fn the_global_budget_ends_with_its_window() {
    let config = ThrottleConfig {
        global: 3,
        ..ThrottleConfig::default()
    };
    let ledger = MemoryLedger::new(&config);
    let now = Instant::now();
    for n in 0..3 {
        fail_times(
            &ledger,
            &login(&config, "bob", &format!("192.0.2.{n}")),
            1,
            now,
        );
    }
    let elsewhere = login(&config, "bob", "198.51.100.1");
    let refusal = ledger.reserve_at(&elsewhere, now).unwrap_err();
    assert_eq!(refusal.scope, Scope::Everyone);
    assert!(ledger.reserve_at(&elsewhere, now + MINUTE).is_ok());
}

#[test]
fn ipv6_clients_are_counted_per_slash_64() {
    assert_eq!(
        ClientKey::of(ip("2001:db8:1:2:aaaa::1")),
        ClientKey::of(ip("2001:db8:1:2:bbbb::2"))
    );
    assert_ne!(
        ClientKey::of(ip("2001:db8:1:2::1")),
        ClientKey::of(ip("2001:db8:1:3::1"))
    );
    assert_ne!(
        ClientKey::of(ip("192.0.2.1")),
        ClientKey::of(ip("192.0.2.2"))
    );
}

#[test]
fn cycling_names_and_addresses_cannot_grow_memory_past_the_bound() {
    let config = ThrottleConfig {
        max_records: 1000,
        global: u32::MAX,
        ..ThrottleConfig::default()
    };
    let ledger = MemoryLedger::new(&config);
    let now = Instant::now();
    for n in 0..20_000u32 {
        let [a, b, c, d] = n.to_be_bytes();
        let from = format!("{}.{b}.{c}.{d}", a + 10);
        let attempt = login(&config, &format!("user{n}"), &from);
        if ledger.reserve_at(&attempt, now).is_ok() {
            ledger.settle_at(&attempt, Outcome::Failure, now);
        }
        assert!(ledger.len() <= 1000, "{} records", ledger.len());
    }
    // Records with nothing left to remember are dropped as they settle.
    let fresh = MemoryLedger::new(&config);
    let quiet = login(&config, "quiet", "203.0.113.1");
    fresh.reserve_at(&quiet, now).unwrap();
    assert_eq!(fresh.len(), 3);
    fresh.settle_at(&quiet, Outcome::Success, now);
    assert!(fresh.is_empty());
}

#[tokio::test]
async fn a_dropped_reservation_counts_as_a_failure() {
    let throttle = Throttle::new(ThrottleConfig::default());
    for _ in 0..5 {
        drop(throttle.login("bob", ip("192.0.2.1")).await.unwrap());
    }
    let refused = throttle.login("bob", ip("192.0.2.1")).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::TooManyRequests);
    assert!(
        refused.message.contains("try again in 60 s"),
        "{}",
        refused.message
    );
    // A success elsewhere changes nothing here.
    let there = throttle.login("bob", ip("192.0.2.2")).await.unwrap();
    there.settle(Outcome::Success);
    assert!(throttle.login("bob", ip("192.0.2.1")).await.is_err());
}

#[tokio::test]
async fn admin_tokens_are_throttled_per_address() {
    let throttle = Throttle::new(ThrottleConfig::default());
    for _ in 0..5 {
        let check = throttle.admin_token(ip("192.0.2.1")).await.unwrap();
        check.settle(Outcome::Failure);
    }
    assert!(throttle.admin_token(ip("192.0.2.1")).await.is_err());
    let elsewhere = throttle.admin_token(ip("192.0.2.2")).await.unwrap();
    elsewhere.settle(Outcome::Success);
    // Logins are counted apart.
    assert!(throttle.login("bob", ip("192.0.2.1")).await.is_ok());
}
