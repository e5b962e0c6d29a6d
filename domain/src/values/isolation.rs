//! How a tenant's data is kept apart from every other tenant's. Chosen per tenant (by default from
//! its plan) and fixed when it is created: it decides which provisioning steps the tenant gets and
//! how the SaaS application reaches its data. See ARCHITECTURE.md, "Isolation models".

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::FieldError;

/// One of the three isolation models. Serialized in snake_case, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IsolationModel {
    /// Rows in shared tables, kept apart by row-level security on `tenant_id`.
    SharedSchema,
    /// A PostgreSQL schema of its own, and a role that can use only that schema.
    SchemaPerTenant,
    /// A PostgreSQL database and login of its own.
    DatabasePerTenant,
}

/// The input names no isolation model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown isolation model {value:?}; expected one of shared_schema, schema_per_tenant, database_per_tenant"
)]
pub struct IsolationModelError {
    pub value: String,
}

impl FieldError for IsolationModelError {
    fn field(&self) -> &'static str {
        "isolation"
    }

    fn code(&self) -> &'static str {
        "unknown_isolation"
    }
}

impl IsolationModel {
    pub const ALL: [Self; 3] = [
        Self::SharedSchema,
        Self::SchemaPerTenant,
        Self::DatabasePerTenant,
    ];

    /// Parses the API's spelling (`"schema_per_tenant"`), exactly.
    pub fn parse(input: &str) -> Result<Self, IsolationModelError> {
        Self::ALL
            .into_iter()
            .find(|model| model.as_str() == input)
            .ok_or_else(|| IsolationModelError {
                value: input.to_owned(),
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SharedSchema => "shared_schema",
            Self::SchemaPerTenant => "schema_per_tenant",
            Self::DatabasePerTenant => "database_per_tenant",
        }
    }
}

impl FromStr for IsolationModel {
    type Err = IsolationModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for IsolationModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
