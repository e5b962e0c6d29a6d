//! The tenant's identity: a UUID chosen by the caller when the tenant is created, and the name of
//! its event stream. The names of its infrastructure, also derived from the id, are
//! [`TenantNames`](super::TenantNames)'.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A tenant's id (a UUID; new ones are v7, chosen by the application layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(Uuid);

impl TenantId {
    /// Prefix of the tenant aggregate's stream names.
    pub const STREAM_PREFIX: &'static str = "tenant-";

    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// The tenant aggregate's event stream: `tenant-{uuid}`.
    pub fn stream_id(&self) -> String {
        format!("{}{}", Self::STREAM_PREFIX, self.0)
    }

    /// The id in a stream name made by [`TenantId::stream_id`], if it is one.
    pub fn from_stream_id(stream_id: &str) -> Option<Self> {
        let uuid = stream_id.strip_prefix(Self::STREAM_PREFIX)?;
        Uuid::parse_str(uuid).ok().map(Self)
    }
}

impl From<Uuid> for TenantId {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl From<TenantId> for Uuid {
    fn from(id: TenantId) -> Self {
        id.0
    }
}

impl FromStr for TenantId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
