//! The plan catalog: the plans this installation offers and which one a tenant gets when the
//! request names none. It is configuration, handed to whoever turns a request's `"plan": "pro"`
//! into a [`Plan`]; the aggregate never looks plans up itself.

use serde::{Deserialize, Serialize};

use super::{FieldError, IsolationModel, Plan, PlanLimits, PlanName};

/// A non-empty set of plans with distinct names, one of which is the default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CatalogConfig", into = "CatalogConfig")]
pub struct PlanCatalog {
    /// In the configured order, which is the order the admin panel lists them in.
    plans: Vec<Plan>,
    /// Index into `plans`.
    default: usize,
}

/// The input names no configured plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown plan {name:?}; the plans are {}", known.join(", "))]
pub struct PlanError {
    pub name: String,
    /// The configured plan names, so the message can list them.
    pub known: Vec<String>,
}

impl FieldError for PlanError {
    fn field(&self) -> &'static str {
        "plan"
    }

    fn code(&self) -> &'static str {
        "unknown_plan"
    }
}

/// A catalog's configuration is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanCatalogError {
    #[error("the plan catalog must contain at least one plan")]
    Empty,
    #[error("plan {name:?} is configured twice")]
    Duplicate { name: String },
    #[error("default plan {name:?} is not one of the configured plans")]
    UnknownDefault { name: String },
}

impl PlanCatalog {
    /// Builds a catalog from `plans`, of which `default_plan` must be one.
    pub fn new(plans: Vec<Plan>, default_plan: &PlanName) -> Result<Self, PlanCatalogError> {
        if plans.is_empty() {
            return Err(PlanCatalogError::Empty);
        }
        for (i, plan) in plans.iter().enumerate() {
            if plans[..i].iter().any(|earlier| earlier.name == plan.name) {
                return Err(PlanCatalogError::Duplicate {
                    name: plan.name.to_string(),
                });
            }
        }
        let default = plans
            .iter()
            .position(|plan| &plan.name == default_plan)
            .ok_or_else(|| PlanCatalogError::UnknownDefault {
                name: default_plan.to_string(),
            })?;
        Ok(Self { plans, default })
    }

    /// The plan named `name` (exactly, as the API spells it).
    pub fn plan(&self, name: &str) -> Result<&Plan, PlanError> {
        self.plans
            .iter()
            .find(|plan| plan.name.as_str() == name)
            .ok_or_else(|| PlanError {
                name: name.to_owned(),
                known: self.plans.iter().map(|p| p.name.to_string()).collect(),
            })
    }

    /// The plan named `name`, or the default plan when the request named none.
    pub fn plan_or_default(&self, name: Option<&str>) -> Result<&Plan, PlanError> {
        match name {
            Some(name) => self.plan(name),
            None => Ok(self.default_plan()),
        }
    }

    pub fn default_plan(&self) -> &Plan {
        &self.plans[self.default]
    }

    pub fn plans(&self) -> &[Plan] {
        &self.plans
    }
}

impl Default for PlanCatalog {
    /// `free`, `basic` (the default), `pro` and `enterprise`, as API.md describes them.
    fn default() -> Self {
        let plan = |name: &str, default_isolation, limits| Plan {
            name: PlanName::parse(name).expect("built-in plan names are valid"),
            default_isolation,
            limits,
        };
        let limits = |workers, domains, queues, members| PlanLimits {
            max_workers: Some(workers),
            max_domains: Some(domains),
            max_queues: Some(queues),
            max_members: Some(members),
        };
        let plans = vec![
            plan("free", IsolationModel::SharedSchema, limits(1, 0, 1, 3)),
            plan("basic", IsolationModel::SharedSchema, limits(2, 1, 3, 10)),
            plan("pro", IsolationModel::SchemaPerTenant, limits(5, 5, 10, 50)),
            plan(
                "enterprise",
                IsolationModel::DatabasePerTenant,
                PlanLimits::UNLIMITED,
            ),
        ];
        let basic = plans[1].name.clone();
        Self::new(plans, &basic).expect("the built-in catalog is consistent")
    }
}

/// How a catalog is written in a configuration file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogConfig {
    default_plan: PlanName,
    plans: Vec<Plan>,
}

impl TryFrom<CatalogConfig> for PlanCatalog {
    type Error = PlanCatalogError;

    fn try_from(config: CatalogConfig) -> Result<Self, Self::Error> {
        Self::new(config.plans, &config.default_plan)
    }
}

impl From<PlanCatalog> for CatalogConfig {
    fn from(catalog: PlanCatalog) -> Self {
        Self {
            default_plan: catalog.default_plan().name.clone(),
            plans: catalog.plans,
        }
    }
}
