//! Tenantry's application layer: the ports (async traits) that adapters implement, and the command
//! handlers and process managers that drive the domain through them. It knows ports, never
//! adapters: only the composition root (`api/src/main.rs`) wires an adapter into a port.

pub mod clock;
pub mod doctor;
pub mod event_store;
pub mod fleet;
pub mod invitations;
pub mod kernel;
pub mod provisioning;
pub mod reconcile;
pub mod sagas;
pub mod staff;
pub mod tenants;
