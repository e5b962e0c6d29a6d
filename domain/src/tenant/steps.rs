//! Provisioning steps: the units of work that give a tenant its infrastructure. Which of them each
//! isolation model needs, in order, and what each makes, is in `infrastructure`
//! ([`ProvisioningStep::sequence`], [`ProvisioningStep::output`]). The provisioning saga runs them;
//! the aggregate checks that their outcomes arrive in that order and remembers what each one made,
//! so that a rollback or a deletion knows what to release.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One provisioning step. Serialized in snake_case (`register_shared_tenant`, …).
///
/// The variants are declared in the one order that every isolation model's sequence follows, so
/// sorting the built-in steps sorts them in provisioning order, and reversing that gives the
/// release order. [`ProvisioningStep::Hook`]s (an operator's own steps, declared per plan) come
/// after every built-in step, in the order the plan declares them, which sorting does not keep:
/// the attempt's step list does (see [`Tenant::resources_to_release`](crate::Tenant)).
///
/// Serialized as its name: the built-in steps in snake_case, a hook as `hook:{name}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProvisioningStep {
    /// `shared_schema`: a row for the tenant in the shared tenant tables.
    RegisterSharedTenant,
    /// `schema_per_tenant`: the tenant's schema and a role that can use only it.
    Schema,
    /// `database_per_tenant`: the tenant's role (with a generated password) and database.
    Database,
    /// The per-tenant migration set, applied to the tenant's schema or database.
    TenantMigrations,
    /// A Redis ACL user that can touch only the tenant's `tenant:{id}:` keys.
    RedisNamespace,
    /// The tenant's default job queue, in its Redis namespace.
    Queue,
    /// An operator's own step: an HTTP hook declared in the plan, called after the built-in ones.
    Hook(HookName),
}

impl ProvisioningStep {
    pub const ALL: [Self; 6] = [
        Self::RegisterSharedTenant,
        Self::Schema,
        Self::Database,
        Self::TenantMigrations,
        Self::RedisNamespace,
        Self::Queue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RegisterSharedTenant => "register_shared_tenant",
            Self::Schema => "schema",
            Self::Database => "database",
            Self::TenantMigrations => "tenant_migrations",
            Self::RedisNamespace => "redis_namespace",
            Self::Queue => "queue",
            Self::Hook(hook) => hook.step_name(),
        }
    }

    /// The step named `name` (as [`ProvisioningStep::as_str`] spells it).
    pub fn parse(name: &str) -> Option<Self> {
        if let Some(hook) = name.strip_prefix(HOOK_PREFIX) {
            return HookName::parse(hook).ok().map(Self::Hook);
        }
        Self::ALL.into_iter().find(|step| step.as_str() == name)
    }

    /// The hook, if this is an operator's step.
    pub fn hook(self) -> Option<HookName> {
        match self {
            Self::Hook(hook) => Some(hook),
            _ => None,
        }
    }
}

impl Serialize for ProvisioningStep {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ProvisioningStep {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::parse(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown provisioning step {name:?}: neither a built-in step nor hook:NAME"
            ))
        })
    }
}

const HOOK_PREFIX: &str = "hook:";

/// The name of a hook step: 1 to 40 of `a-z`, `0-9`, `_` and `-`, starting with a letter. Cheap
/// to copy: the names are interned (the set of them is the configured hooks plus those in the
/// log, a handful), so that [`ProvisioningStep`] stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HookName {
    /// `hook:{name}`, interned.
    step: &'static str,
}

/// A hook name breaks the rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a valid hook name: 1 to 40 characters of a-z, 0-9, '_' and '-', starting with a letter"
)]
pub struct HookNameError(pub String);

impl HookName {
    pub const MAX_LEN: usize = 40;

    pub fn parse(name: &str) -> Result<Self, HookNameError> {
        let valid = (1..=Self::MAX_LEN).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !valid {
            return Err(HookNameError(name.to_owned()));
        }
        Ok(Self {
            step: intern(&format!("{HOOK_PREFIX}{name}")),
        })
    }

    /// The hook's name, as the plan declares it.
    pub fn as_str(self) -> &'static str {
        &self.step[HOOK_PREFIX.len()..]
    }

    /// The step's name: `hook:{name}`.
    pub fn step_name(self) -> &'static str {
        self.step
    }
}

impl fmt::Debug for HookName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HookName({:?})", self.as_str())
    }
}

impl fmt::Display for HookName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for HookName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for HookName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// The one copy of `text` kept for the life of the process.
fn intern(text: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<BTreeSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(&known) = names.get(text) {
        return known;
    }
    let leaked: &'static str = Box::leak(text.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

impl fmt::Display for ProvisioningStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hook_step_is_named_hook_colon_name_and_reads_back() {
        let step = ProvisioningStep::Hook(HookName::parse("whatsapp").unwrap());
        assert_eq!(step.as_str(), "hook:whatsapp");
        let json = serde_json::to_string(&step).unwrap();
        assert_eq!(json, "\"hook:whatsapp\"");
        assert_eq!(
            serde_json::from_str::<ProvisioningStep>(&json).unwrap(),
            step
        );
        assert_eq!(
            serde_json::to_string(&ProvisioningStep::RegisterSharedTenant).unwrap(),
            "\"register_shared_tenant\""
        );
        assert!(serde_json::from_str::<ProvisioningStep>("\"hook:Bad Name\"").is_err());
        assert!(serde_json::from_str::<ProvisioningStep>("\"nope\"").is_err());
        // After every built-in step.
        assert!(
            ProvisioningStep::ALL
                .iter()
                .all(|built_in| *built_in < step)
        );
    }
}
