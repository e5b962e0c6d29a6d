//! A shortcut from the commands that give the saga work to the saga runner in the same process.

use tenantry_domain::TenantId;
use tokio::sync::mpsc;

use super::STARTERS;
use crate::event_store::Actor;
use crate::kernel::{AppendObserver, Appended};

/// Hints kept for a runner that is not reading them (it does not hold the lease); more are
/// dropped, which costs nothing but the shortcut.
const CAPACITY: usize = 1024;

/// Tenants that a command in this process just gave saga work to (created, asked to provision,
/// asked to delete): an [`AppendObserver`] of the tenant repository, told of every append. The local runner drives them at once, instead of when it reads the starting
/// event from the log: a subscription reads only below the transaction horizon, so any long
/// transaction on the server (tenant migrations, `CREATE DATABASE`) would hold the start back.
/// Only a shortcut: the runner still finds every starting event in the log, and a runner in
/// another process relies on that alone.
#[derive(Debug, Clone)]
pub struct SagaHints {
    sender: mpsc::Sender<TenantId>,
}

impl SagaHints {
    /// The hints and their receiving end, for [`SagaRunner::with_hints`](super::SagaRunner).
    pub fn channel() -> (Self, mpsc::Receiver<TenantId>) {
        let (sender, receiver) = mpsc::channel(CAPACITY);
        (Self { sender }, receiver)
    }

    /// `tenant` has saga work (its starting event is committed).
    pub fn wanted(&self, tenant: TenantId) {
        let _ = self.sender.try_send(tenant);
    }
}

impl AppendObserver for SagaHints {
    fn appended(&self, appended: Appended<'_>) {
        // The saga's own appends need no hint: it is driving that tenant already.
        if matches!(appended.metadata.actor, Actor::Saga { .. }) {
            return;
        }
        if appended.event_types.iter().any(|t| STARTERS.contains(t))
            && let Some(tenant) = TenantId::from_stream_id(appended.stream_id)
        {
            self.wanted(tenant);
        }
    }
}
