//! Observers of appends: parts of this process that want to hear at once of what a repository
//! appended (the saga runner hears of the work commands give it), instead of waiting to read it
//! from the log. Only a shortcut: whatever an observer misses, the log still has.

use crate::event_store::EventMetadata;

/// What one successful append wrote.
#[derive(Debug, Clone, Copy)]
pub struct Appended<'a> {
    pub stream_id: &'a str,
    /// The appended events' types, in order.
    pub event_types: &'a [&'static str],
    /// The metadata every event of the append carries (its `tenant_id` aside).
    pub metadata: &'a EventMetadata,
}

/// Told of every append a [`Repository`](super::Repository) makes, once it is stored. Must not
/// block: it runs on the appending task.
pub trait AppendObserver: Send + Sync {
    fn appended(&self, appended: Appended<'_>);
}
