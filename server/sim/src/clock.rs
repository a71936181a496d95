//! The loop around `Sim::tick_now`: it owns the timing and the shutdown, the step owns the logic.

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::sim::Sim;

/// Ticks `sim` every `config.tick` until `cancel` fires.
pub(crate) async fn run(sim: Sim, cancel: CancellationToken) {
    let mut interval = tokio::time::interval(sim.config().tick);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval.tick().await;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = interval.tick() => {
                let outcome = sim.tick_now();
                if outcome != Default::default() {
                    debug!(transitions = outcome.transitions, actions = outcome.actions, "simulator tick");
                }
            }
        }
    }
}
