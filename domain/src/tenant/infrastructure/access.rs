//! A tenant's access: the ways its application gets into its infrastructure, which a suspension
//! cuts and a reactivation gives back. Derived from what the isolation model makes (see
//! [`IsolationModel::access_resources`]), so a model whose roles come to log in gets its login
//! cut without another list to keep.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{ResourceKind, TenantSecret};
use crate::{IsolationModel, ProvisioningStep};

/// One way into a tenant's infrastructure that suspension switches off. Serialized in snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessResource {
    /// The tenant's PostgreSQL roles that log in: `NOLOGIN` while suspended, their sessions
    /// ended.
    DatabaseLogin,
    /// The tenant's Redis ACL user: `off` while suspended, its clients killed.
    RedisUser,
}

/// Which way an access change goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessAction {
    /// Switch the access off (the tenant is suspended).
    Suspend,
    /// Switch it on again (the tenant was reactivated).
    Restore,
}

impl AccessResource {
    pub const ALL: [Self; 2] = [Self::DatabaseLogin, Self::RedisUser];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DatabaseLogin => "database_login",
            Self::RedisUser => "redis_user",
        }
    }

    /// The provisioning step whose apply makes this access (and switches it on), in `isolation`.
    pub fn made_by(self, isolation: IsolationModel) -> Option<ProvisioningStep> {
        match self {
            Self::DatabaseLogin => isolation.step_making(ResourceKind::Role),
            Self::RedisUser => isolation.step_making(ResourceKind::RedisUser),
        }
    }
}

impl AccessAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Suspend => "suspend",
            Self::Restore => "restore",
        }
    }
}

impl fmt::Display for AccessResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for AccessAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl IsolationModel {
    /// Whether this model's tenant role logs in: the step that makes the role also generates its
    /// password (`database_per_tenant` today; `schema_per_tenant` roles are `NOLOGIN`, reached by
    /// the application's own login with `SET ROLE`, until their step generates a password too).
    pub fn role_logs_in(self) -> bool {
        let makes_role = self.step_making(ResourceKind::Role);
        makes_role.is_some() && makes_role == self.step_making_secret(TenantSecret::Postgres)
    }

    /// The accesses a suspension of a tenant of this model switches off, in the order it does
    /// (a reactivation restores them in the same order): its database login when its role logs
    /// in, then its Redis user.
    pub fn access_resources(self) -> Vec<AccessResource> {
        AccessResource::ALL
            .into_iter()
            .filter(|access| match access {
                AccessResource::DatabaseLogin => self.role_logs_in(),
                AccessResource::RedisUser => access.made_by(self).is_some(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_models_whose_role_logs_in_have_a_database_login_to_suspend() {
        use AccessResource::*;
        assert_eq!(
            IsolationModel::DatabasePerTenant.access_resources(),
            vec![DatabaseLogin, RedisUser]
        );
        assert_eq!(
            IsolationModel::SchemaPerTenant.access_resources(),
            vec![DatabaseLogin, RedisUser]
        );
        assert_eq!(
            IsolationModel::SharedSchema.access_resources(),
            vec![RedisUser]
        );
    }
}
