//! The provisioning steps' PostgreSQL connections: a bounded pool of their own
//! (`TENANTRY_PROVISIONING_ADMIN_CONNECTIONS`), apart from the pool that serves requests, so that
//! however many tenants are driven at once provisioning holds at most that many connections,
//! and a step that finds them all busy waits for one instead of opening another (which, on a
//! server with its connection slots taken, fails with "too many clients already").
//!
//! While this process leads the saga ([`AdminPool::keep_full`]) the connections are opened at
//! once, or as soon as the server has a slot for them, and kept open (no idle timeout, no maximum
//! lifetime): once the other pools of the process and of other processes have taken every other
//! slot of the server, provisioning still has its own. (A pool that shrank when idle would have
//! to win a slot back from pools that never give theirs up.) When the process stops leading they
//! are closed ([`AdminPool::shrink`]): a process that does not lead holds no provisioning
//! connection, so the leader can have them. Elsewhere (`tenantry doctor`, the reconciler) they
//! are opened as needed.
//!
//! Every admin connection takes one of the pool's permits for as long as it is held: pooled ones
//! to the control-plane database (roles, schemas, `CREATE`/`DROP DATABASE`, template copies, the
//! template lock) and the direct ones a database-model tenant's migrations open to its own
//! database. The pool's own filling takes permits too, so pooled and direct connections together
//! never exceed the bound, and the pool never races the steps for a slot. A direct one takes the
//! slot of an idle pooled connection, closed just before, and gives it back to the pool when it
//! is done. (Only a rebuild of the tenant template opens one more, to migrate the new template:
//! it happens once per migration set.)
//!
//! Waiting for a permit, or for the server to accept a connection, gives up after the acquire
//! timeout with [`sqlx::Error::PoolTimedOut`] (or the server's own refusal), which the saga treats
//! as a dependency that is unavailable: retried without spending a try.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgConnection, PgPool, Postgres};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::outage;

/// The default of `TENANTRY_PROVISIONING_ADMIN_CONNECTIONS`.
pub const DEFAULT_ADMIN_CONNECTIONS: u32 = 4;
/// The fewest admin connections: a template copy holds one (with the template lock) while the
/// database step's other work needs none, but two steps must be able to go on side by side.
pub const MIN_ADMIN_CONNECTIONS: u32 = 2;
/// How long a step waits for an admin connection by default before it fails (transiently).
pub const DEFAULT_ADMIN_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a fill waits for each missing connection before it leaves the rest for later.
const FILL_WAIT: Duration = Duration::from_millis(300);

/// The bounded pool. Cheap to clone.
#[derive(Clone)]
pub(crate) struct AdminPool {
    pool: PgPool,
    permits: Arc<Semaphore>,
    acquire_timeout: Duration,
    /// Whether a [`AdminPool::fill`] is under way.
    filling: Arc<AtomicBool>,
    /// Whether the pool is kept full (while this process leads the saga).
    full: Arc<AtomicBool>,
    /// Direct connections open, each in the slot of a pooled one: the pool is full at its maximum
    /// less these.
    direct: Arc<AtomicU32>,
}

/// An admin connection: pooled, or direct to another database. Derefs to the connection; holds
/// its permit until dropped.
pub(crate) struct AdminConnection {
    conn: Held,
    /// Taken by the refill of a direct connection's slot when dropped.
    permit: Option<OwnedSemaphorePermit>,
}

enum Held {
    Pooled(Option<PoolConnection<Postgres>>),
    /// With the pool whose slot it took: given back once the connection is closed.
    Direct(
        Option<PgConnection>,
        AdminPool,
        // Held for its `Drop`: the slot counts until the connection is gone.
        #[allow(dead_code)] DirectSlot,
    ),
}

/// One of [`AdminPool`]'s direct connections, counted until dropped.
struct DirectSlot(Arc<AtomicU32>);

impl Drop for DirectSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl AdminPool {
    /// `max` connections (at least [`MIN_ADMIN_CONNECTIONS`]) to the database of `options`,
    /// opened when first needed.
    pub(crate) fn new(options: PgConnectOptions, max: u32, acquire_timeout: Duration) -> Self {
        let max = max.max(MIN_ADMIN_CONNECTIONS);
        let pool = PgPoolOptions::new()
            .max_connections(max)
            .min_connections(0)
            .acquire_timeout(acquire_timeout)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_lazy_with(options.application_name("tenantry-provisioning"));
        Self {
            pool,
            permits: Arc::new(Semaphore::new(max as usize)),
            acquire_timeout,
            filling: Arc::new(AtomicBool::new(false)),
            full: Arc::new(AtomicBool::new(false)),
            direct: Arc::new(AtomicU32::new(0)),
        }
    }

    /// From now on the pool is kept full: its missing connections are opened now, and again
    /// whenever one is missing (while this process leads the saga).
    pub(crate) fn keep_full(&self) {
        self.full.store(true, Ordering::Release);
        self.fill();
    }

    /// No longer kept full: closes the idle connections (the process stopped leading; those in
    /// use close as they come back, see [`AdminPool::acquire`]).
    pub(crate) async fn shrink(&self) {
        self.full.store(false, Ordering::Release);
        while let Some(idle) = self.pool.try_acquire() {
            idle.close().await.ok();
        }
    }

    /// The connections the pool may hold now: its maximum less the direct ones open.
    fn room(&self) -> u32 {
        self.pool
            .options()
            .get_max_connections()
            .saturating_sub(self.direct.load(Ordering::Acquire))
    }

    /// Opens the pool's missing connections in the background, as far as the server has slots for
    /// them (one fill at a time; the next acquire tries again for the rest). Each is opened under
    /// a free permit (none is waited for: a step holding one opens its own), so a fill never takes
    /// the slot a step is about to use.
    fn fill(&self) {
        if self.filling.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            // Held until every one is open (so that each acquire opens another), but briefly: the
            // steps wait for them meanwhile.
            while this.pool.size() < this.room() {
                let Ok(permit) = this.permits.clone().try_acquire_owned() else {
                    break;
                };
                match tokio::time::timeout(FILL_WAIT, this.pool.acquire()).await {
                    Ok(Ok(conn)) => held.push((conn, permit)),
                    Ok(Err(error)) => {
                        tracing::debug!(%error, "could not open every provisioning connection yet");
                        break;
                    }
                    Err(_) => break,
                }
            }
            drop(held);
            this.filling.store(false, Ordering::Release);
        });
    }

    /// A connection to the control-plane database, once one is free (and the server accepts it).
    pub(crate) async fn acquire(&self) -> Result<AdminConnection, sqlx::Error> {
        let deadline = tokio::time::Instant::now() + self.acquire_timeout;
        let permit = self.permit(deadline).await?;
        if self.full.load(Ordering::Acquire) && self.pool.size() < self.room() {
            self.fill();
        }
        let mut conn = tokio::time::timeout_at(deadline, self.pool.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)??;
        if !self.full.load(Ordering::Acquire) {
            // Not kept full (this process does not lead the saga): closed when given back, so
            // that a process that only now and then provisions holds no slot meanwhile.
            conn.close_on_drop();
        }
        Ok(AdminConnection {
            conn: Held::Pooled(Some(conn)),
            permit: Some(permit),
        })
    }

    /// A connection to database `name` on the same server, within the bound: an idle pooled
    /// connection is closed first. A server that refuses it for now (no slot left, starting up,
    /// unreachable) is asked again until the acquire timeout.
    pub(crate) async fn connect_to(&self, name: &str) -> Result<AdminConnection, sqlx::Error> {
        let deadline = tokio::time::Instant::now() + self.acquire_timeout;
        let permit = self.permit(deadline).await?;
        // From here the direct connection counts (a fill leaves its slot alone) until dropped.
        let slot = DirectSlot(self.direct.clone());
        slot.0.fetch_add(1, Ordering::AcqRel);
        // Every connection open is held under a permit, or idle: if the pool has no room for
        // this one, one of its connections is idle.
        while self.pool.size() > self.room() {
            match self.pool.try_acquire() {
                Some(idle) => {
                    idle.close().await.ok();
                }
                None => break,
            }
        }
        let conn = self.connect_retrying(name, deadline).await?;
        Ok(AdminConnection {
            conn: Held::Direct(Some(conn), self.clone(), slot),
            permit: Some(permit),
        })
    }

    /// A connection to database `name` outside the bound (only to migrate a new tenant template,
    /// see `template.rs`), asked again like [`AdminPool::connect_to`]'s until the acquire timeout:
    /// under a full server a slot frees now and then, and the build must not give up at once.
    pub(crate) async fn connect_unbounded(&self, name: &str) -> Result<PgConnection, sqlx::Error> {
        let deadline = tokio::time::Instant::now() + self.acquire_timeout;
        self.connect_retrying(name, deadline).await
    }

    /// Connects to `name`, asking again while the server refuses for now (no slot left, starting
    /// up, unreachable), until `deadline`. A slot freed by a connection just closed goes within
    /// milliseconds: asked again at once, and often, before the server's other clients take it,
    /// then less and less often.
    async fn connect_retrying(
        &self,
        name: &str,
        deadline: tokio::time::Instant,
    ) -> Result<PgConnection, sqlx::Error> {
        let options = (*self.pool.connect_options()).clone().database(name);
        let mut attempts = 0u32;
        loop {
            match options.connect().await {
                Ok(conn) => return Ok(conn),
                Err(error) if outage::of_sqlx(&error).is_some() => {
                    attempts += 1;
                    let wait = if attempts <= 50 {
                        Duration::from_millis(2)
                    } else {
                        Duration::from_millis(50 << (attempts - 50).min(4))
                    };
                    if tokio::time::Instant::now() + wait >= deadline {
                        return Err(error);
                    }
                    tokio::time::sleep(wait).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    async fn permit(
        &self,
        deadline: tokio::time::Instant,
    ) -> Result<OwnedSemaphorePermit, sqlx::Error> {
        match tokio::time::timeout_at(deadline, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(sqlx::Error::PoolClosed),
            Err(_elapsed) => Err(sqlx::Error::PoolTimedOut),
        }
    }
}

impl AdminConnection {
    /// Makes sure the connection is closed, not given back to the pool, when dropped: its
    /// session may hold state (an advisory lock) that could not be undone.
    pub(crate) fn close_on_drop(&mut self) {
        if let Held::Pooled(Some(conn)) = &mut self.conn {
            conn.close_on_drop();
        }
    }

    /// Closes the connection instead of giving it back to the pool (for one whose session state,
    /// an advisory lock, may not have been undone).
    pub(crate) async fn close(mut self) {
        match &mut self.conn {
            Held::Pooled(conn) => {
                if let Some(conn) = conn.take() {
                    conn.close().await.ok();
                }
            }
            // Dropping `self` then gives the slot back to the pool.
            Held::Direct(conn, _, _) => {
                if let Some(conn) = conn.take() {
                    sqlx::Connection::close(conn).await.ok();
                }
            }
        }
    }
}

impl Drop for AdminConnection {
    /// A direct connection's slot goes back to the pool of a leader: one pooled connection is
    /// opened again under the same permit (the pool stays as full as the server lets it).
    fn drop(&mut self) {
        if let Held::Direct(conn, admin, _) = &mut self.conn {
            drop(conn.take());
            let (admin, permit) = (admin.clone(), self.permit.take());
            tokio::spawn(async move {
                // The server frees the slot a moment after the connection closed.
                tokio::time::sleep(Duration::from_millis(2)).await;
                // This connection's slot no longer counts once `self` is dropped.
                if admin.full.load(Ordering::Acquire) && admin.pool.size() < admin.room() {
                    // Briefly: the permit is held meanwhile.
                    let _refilled = tokio::time::timeout(FILL_WAIT, admin.pool.acquire()).await;
                }
                drop(permit);
            });
        }
    }
}

impl std::ops::Deref for AdminConnection {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        match &self.conn {
            Held::Pooled(conn) => conn.as_ref().expect("open until dropped"),
            Held::Direct(conn, _, _) => conn.as_ref().expect("open until dropped"),
        }
    }
}

impl std::ops::DerefMut for AdminConnection {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match &mut self.conn {
            Held::Pooled(conn) => conn.as_mut().expect("open until dropped"),
            Held::Direct(conn, _, _) => conn.as_mut().expect("open until dropped"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_step_waits_for_a_permit_then_times_out_as_unavailable() {
        // Nothing listens there: only the permits are exercised.
        let options: PgConnectOptions = "postgres://postgres@127.0.0.1:1/none".parse().unwrap();
        let pool = AdminPool::new(options, 2, Duration::from_millis(200));
        let _a = pool.permits.clone().acquire_owned().await.unwrap();
        let _b = pool.permits.clone().acquire_owned().await.unwrap();
        let started = std::time::Instant::now();
        let error = pool.acquire().await.err().expect("no permit left");
        assert!(matches!(error, sqlx::Error::PoolTimedOut), "{error}");
        assert!(started.elapsed() >= Duration::from_millis(190));
        assert!(outage::of_sqlx(&error).is_some(), "unavailable: {error}");
    }
}
