//! The lag gauges: every few seconds, how far behind the log each projector this process leads
//! is. Only the leader reports a projector, so each appears once across instances.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tenantry_application::event_store::EventStore;
use tokio::sync::watch;

use super::Leading;

pub(super) async fn monitor(
    pool: PgPool,
    store: Arc<dyn EventStore>,
    leading: Leading,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
        let names: Vec<&str> = {
            let set = leading.lock().unwrap_or_else(|e| e.into_inner());
            set.iter().copied().collect()
        };
        if names.is_empty() {
            continue;
        }
        match crate::status(&pool, &*store, &names).await {
            Ok(statuses) => {
                for s in statuses {
                    let labels = [("projector", s.name)];
                    metrics::gauge!("tenantry_projector_lag_events", &labels)
                        .set(s.lag_events as f64);
                    metrics::gauge!("tenantry_projector_lag_seconds", &labels).set(s.lag_seconds);
                }
            }
            Err(error) => tracing::warn!(%error, "failed to measure projector lag"),
        }
    }
}
