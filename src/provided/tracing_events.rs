//! The default audit sink: `tracing` events.

use async_trait::async_trait;

use crate::model::event::Event;
use crate::model::status::Method;
use crate::ports::EventSink;

/// The default [`EventSink`]: a `tracing` event at target `twofactor::audit`,
/// at `WARN` for failures and `INFO` otherwise.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingEvents;

#[async_trait]
impl EventSink for TracingEvents {
    async fn record(&self, e: &Event) {
        let method = e.method.map(Method::display_name);
        let (actor, reason) = (e.actor.as_deref(), e.reason.as_deref());
        if e.kind.is_failure() {
            tracing::warn!(target: "twofactor::audit", account = %e.account, kind = e.kind.as_str(), method, actor, reason, at = %e.at);
        } else {
            tracing::info!(target: "twofactor::audit", account = %e.account, kind = e.kind.as_str(), method, actor, reason, at = %e.at);
        }
    }
}
