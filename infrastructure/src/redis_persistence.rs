//! Whether the Redis that holds the tenants' ACL users and queues keeps them across a restart:
//! an ACL file (`aclfile`, which provisioning saves with `ACL SAVE` after each change) for the
//! users, and an append-only file or RDB snapshots (`appendonly`, `save`) for the queues. Without
//! them a restart loses every tenant's Redis user, and `tenantry doctor --fix` has to make them
//! again from the stored passwords.

use redis::aio::ConnectionLike;

/// What the server keeps across a restart, as `CONFIG GET` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisPersistence {
    /// `aclfile` is set: ACL users are saved to it (and loaded from it at start).
    pub acl_file: bool,
    /// `appendonly yes`.
    pub append_only: bool,
    /// `save` is not empty: RDB snapshots.
    pub snapshots: bool,
}

impl RedisPersistence {
    /// Keys survive a restart (AOF or snapshots).
    pub fn keeps_data(&self) -> bool {
        self.append_only || self.snapshots
    }

    /// What a restart would lose, for a warning; `None` when it keeps both users and data.
    pub fn what_a_restart_loses(&self) -> Option<String> {
        let mut lost = Vec::new();
        if !self.acl_file {
            lost.push("every tenant's ACL user (no aclfile)");
        }
        if !self.keeps_data() {
            lost.push("every tenant's keys and queues (appendonly no, save \"\")");
        }
        (!lost.is_empty()).then(|| lost.join(" and "))
    }
}

/// Reads `aclfile`, `appendonly` and `save` with `CONFIG GET`.
pub async fn inspect(conn: &mut impl ConnectionLike) -> redis::RedisResult<RedisPersistence> {
    let get = |name: &'static str| {
        let mut cmd = redis::cmd("CONFIG");
        cmd.arg("GET").arg(name);
        cmd
    };
    let value = |pairs: Vec<String>| pairs.into_iter().nth(1).unwrap_or_default();
    let acl_file = value(get("aclfile").query_async(conn).await?);
    let append_only = value(get("appendonly").query_async(conn).await?);
    let save = value(get("save").query_async(conn).await?);
    Ok(RedisPersistence {
        acl_file: !acl_file.trim().is_empty(),
        append_only: append_only.eq_ignore_ascii_case("yes"),
        snapshots: !save.trim().is_empty(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_loses_what_is_not_kept() {
        let none = RedisPersistence {
            acl_file: false,
            append_only: false,
            snapshots: false,
        };
        let lost = none.what_a_restart_loses().expect("loses");
        assert!(
            lost.contains("ACL user") && lost.contains("queues"),
            "{lost}"
        );
        let kept = RedisPersistence {
            acl_file: true,
            append_only: true,
            snapshots: false,
        };
        assert_eq!(kept.what_a_restart_loses(), None);
        let users_only = RedisPersistence {
            acl_file: true,
            ..none
        };
        assert!(!users_only.what_a_restart_loses().unwrap().contains("ACL"));
    }
}
