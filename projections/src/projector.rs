//! The projector: a named function from batches of events to rows in the tables it owns. The
//! runtime decides which events it sees and when; the projector only turns them into rows.

use async_trait::async_trait;
use sqlx::{Postgres, Transaction};
use tenantry_application::event_store::RecordedEvent;

/// Which event types a projector handles. The runtime passes it only those (its checkpoint still
/// moves past the others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventTypes {
    /// Every event, of any type (the audit log).
    All,
    Only(&'static [&'static str]),
}

impl EventTypes {
    pub fn contains(&self, event_type: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(types) => types.contains(&event_type),
        }
    }
}

/// A projector builds one read model: a set of tables it alone writes.
///
/// **Table names.** [`Projector::apply`] must write its tables by their *unqualified* names
/// (`tenant_panel`, not `read.tenant_panel`), and touch no other table: the runtime sets the
/// connection's `search_path` to `read` for live projection, and to a rebuild's own schema when
/// [`rebuild`](crate::rebuild()) replays the log into fresh copies of [`Projector::tables`].
///
/// **Effects.** `apply` runs inside the transaction that also moves the projector's checkpoint,
/// so its writes happen exactly once per event; it must have no other side effect (no HTTP, no
/// provisioning), and may be called again with the same events after a rolled-back attempt.
#[async_trait]
pub trait Projector: Send + Sync {
    /// A stable identifier (`[a-z][a-z0-9_]*`): the key of its checkpoint and advisory lock.
    fn name(&self) -> &'static str;

    /// The event types it handles.
    fn event_types(&self) -> EventTypes;

    /// The tables it owns, unqualified, each existing in schema `read` (by a migration).
    fn tables(&self) -> &'static [&'static str];

    /// Applies `events` (non-empty, in log order, only of [`Projector::event_types`]) to its
    /// tables, within `tx`.
    async fn apply(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        events: &[RecordedEvent],
    ) -> anyhow::Result<()>;
}

/// Whether `name` is usable as a projector name (it becomes part of SQL identifiers).
pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 40
}
