//! The BFF's metrics at `/metrics`: the engine's series (subscribers by transport, call
//! latency by procedure, response cache outcomes) plus the update bus and the upstream calls.

use std::time::Duration;

use tidings_openstack::{Observer, Service};
use tidings_rpc::Metrics;
use tidings_rpc::metrics::prometheus_client::collector::Collector;
use tidings_rpc::metrics::prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use tidings_rpc::metrics::prometheus_client::metrics::counter::{ConstCounter, Counter};
use tidings_rpc::metrics::prometheus_client::metrics::family::Family;
use tidings_rpc::metrics::prometheus_client::metrics::gauge::ConstGauge;
use tidings_rpc::metrics::prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

use crate::updates::UpdateService;

/// The metrics of one Tidings, every series named `tidings_*`.
pub fn new() -> Metrics {
    Metrics::new("tidings")
}

/// Records every upstream HTTP attempt: latency by service, and failures (an error status or no
/// answer) by service and kind.
pub fn upstream_observer(metrics: &Metrics) -> Observer {
    let latency =
        Family::<[(&'static str, &'static str); 1], Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
    let errors = Family::<[(&'static str, &'static str); 2], Counter>::default();
    metrics.register_with(|registry| {
        registry.register(
            "upstream_duration_seconds",
            "Time of each upstream HTTP attempt, by service",
            latency.clone(),
        );
        registry.register(
            "upstream_errors",
            "Upstream attempts that failed, by service and kind (status class or no answer)",
            errors.clone(),
        );
    });
    std::sync::Arc::new(
        move |service: Service, status: Option<u16>, elapsed: Duration| {
            let name = service.as_str();
            latency
                .get_or_create(&[("service", name)])
                .observe(elapsed.as_secs_f64());
            let kind = match status {
                None => Some("no_answer"),
                Some(s) if s >= 500 => Some("5xx"),
                Some(s) if s >= 400 => Some("4xx"),
                Some(_) => None,
            };
            if let Some(kind) = kind {
                errors
                    .get_or_create(&[("service", name), ("kind", kind)])
                    .inc();
            }
        },
    )
}

/// Adds the update bus's counters, read at each scrape.
pub fn register_bus(metrics: &Metrics, updates: &UpdateService) {
    let collector = BusCollector {
        updates: updates.clone(),
    };
    metrics.register_with(|registry| registry.register_collector(Box::new(collector)));
}

/// Reads [`UpdateService::stats`] when scraped.
struct BusCollector {
    updates: UpdateService,
}

impl std::fmt::Debug for BusCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusCollector").finish_non_exhaustive()
    }
}

impl Collector for BusCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.updates.stats();
        let counters = [
            (
                "notices_emitted",
                "Notices emitted on the bus (each encoded once for every subscriber)",
                stats.emitted,
            ),
            (
                "notices_coalesced",
                "Notify calls absorbed into another notice by coalescing",
                stats.coalesced,
            ),
            (
                "resyncs",
                "Resync notices sent to subscribers that lagged or resumed from a gap",
                stats.resyncs,
            ),
            (
                "subscriber_queue_drops",
                "Notices dropped from the queues of subscribers that fell behind",
                stats.dropped,
            ),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        let gauges = [
            (
                "bus_subscribers",
                "Live subscriptions on the update bus, all transports",
                stats.subscribers as i64,
            ),
            (
                "last_event_id",
                "The id of the latest notice",
                i64::try_from(stats.last_event_id).unwrap_or(i64::MAX),
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::updates::{UpdateConfig, UpdateType};

    #[test]
    fn bus_and_upstream_series() {
        let metrics = new();
        let observe = upstream_observer(&metrics);
        observe(Service::Compute, Some(200), Duration::from_millis(3));
        observe(Service::Compute, Some(503), Duration::from_millis(3));
        observe(Service::Volume, None, Duration::from_secs(10));
        let updates = UpdateService::new(UpdateConfig {
            coalesce_window: Duration::ZERO,
            ..UpdateConfig::default()
        });
        register_bus(&metrics, &updates);
        updates.notify(UpdateType::Images, None);
        let text = metrics.render();
        for series in [
            "tidings_notices_emitted_total 1",
            "tidings_subscriber_queue_drops_total 0",
            "tidings_last_event_id 1",
            r#"tidings_upstream_duration_seconds_count{service="nova"} 2"#,
            r#"tidings_upstream_errors_total{service="nova",kind="5xx"} 1"#,
            r#"tidings_upstream_errors_total{service="cinder",kind="no_answer"} 1"#,
        ] {
            assert!(text.contains(series), "{series} in\n{text}");
        }
    }
}
