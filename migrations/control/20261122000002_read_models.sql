-- The read side: tables that projectors build from the event log (schema `read`), and the
-- projectors' checkpoints. Each table is owned by exactly one projector, which writes it together
-- with its checkpoint in one transaction; every table can be thrown away and rebuilt by replaying
-- the log (`tenantry projections rebuild NAME`).
--
-- How a rebuild copies these tables, and what that asks of them: it creates fresh copies with
-- `CREATE TABLE … (LIKE read.x INCLUDING ALL)` in a schema of its own, replays the log into them,
-- then drops the live tables and moves the copies into `read`, in one transaction. So:
--   * no foreign keys between read tables (LIKE does not copy them, and each projector rebuilds
--     alone), no identity or serial columns (LIKE would give the copy a sequence of its own);
--   * indexes are left unnamed: LIKE names an index as PostgreSQL names an unnamed one, so a
--     rebuilt table has exactly the index names this migration gives.
-- Projectors write with unqualified table names; the runtime's `search_path` says which copy.

CREATE SCHEMA read;

-- Where each projector stands in the log. `commit`/`position` is the `Checkpoint` (readers walk
-- the log by `(tx_id, position)`, see 20261122000001): the projector's tables hold the effect of
-- every event up to it, and of none after it.
CREATE TABLE read.projector_checkpoints (
    name       text PRIMARY KEY,
    commit     bigint      NOT NULL DEFAULT 0,
    position   bigint      NOT NULL DEFAULT 0,
    -- Bumped by every rebuild that swaps in new tables, so a running projector that was about to
    -- write to the replaced ones notices and starts again from the new checkpoint.
    generation bigint      NOT NULL DEFAULT 0,
    state      text        NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'stalled')),
    -- When stalled: the position of the event it failed on, and why.
    stalled_at bigint,
    last_error text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The tenant panel (projector `tenant_panel`): one row per tenant, as the admin panel's tenant
-- table shows it. Deleted tenants keep their row, with status `deleted`.
CREATE TABLE read.tenant_panel (
    tenant_id            uuid PRIMARY KEY,
    name                 text        NOT NULL,
    slug                 text        NOT NULL,
    plan                 text        NOT NULL,
    isolation            text        NOT NULL,
    status               text        NOT NULL,
    -- The version of the tenant's stream that this row shows (its last event's).
    version              bigint      NOT NULL,
    -- The global position of that event.
    last_position        bigint      NOT NULL,
    created_at           timestamptz NOT NULL,
    -- The time (`at`) of the tenant's last event.
    updated_at           timestamptz NOT NULL,
    -- Infrastructure that exists now: set when a step makes it, cleared when it is released.
    database             text,
    schema_name          text,
    redis_namespace      text,
    queues               jsonb       NOT NULL DEFAULT '[]',
    -- [{"host", "status": "pending"|"active", "tls_expires_at": null|time}]
    domains              jsonb       NOT NULL DEFAULT '[]',
    -- The ids of the workers started and not stopped; `active_workers` is how many.
    workers              jsonb       NOT NULL DEFAULT '[]',
    active_workers       integer     NOT NULL DEFAULT 0,
    -- not_started, running, retrying, completed, rolling_back, failed
    provisioning_status  text        NOT NULL,
    provisioning_attempt integer     NOT NULL DEFAULT 0,
    -- The first step of the attempt that has not succeeded yet, while one runs.
    provisioning_step    text,
    -- The attempt's steps that have not succeeded yet, in order (what `provisioning_step` is
    -- taken from).
    remaining_steps      jsonb       NOT NULL DEFAULT '[]'
);
-- The panel lists newest first, optionally by status or plan, in pages (keyset pagination).
CREATE INDEX ON read.tenant_panel (created_at DESC, tenant_id DESC);
CREATE INDEX ON read.tenant_panel (status, created_at DESC, tenant_id DESC);
CREATE INDEX ON read.tenant_panel (plan, created_at DESC, tenant_id DESC);

-- Provisioning steps (projector `provisioning_steps`): one row per tenant and step of its current
-- (or last) provisioning attempt. The provisioning saga reads its state here.
CREATE TABLE read.provisioning_steps (
    tenant_id     uuid        NOT NULL,
    step          text        NOT NULL,
    -- The step's place in the attempt's sequence, from 1.
    ordinal       integer     NOT NULL,
    -- The provisioning attempt (run) this row belongs to.
    attempt       integer     NOT NULL,
    status        text        NOT NULL CHECK (status IN ('pending', 'running', 'failed',
                      'retry_scheduled', 'succeeded', 'skipped', 'released')),
    -- Tries of the step in this attempt, failed ones and the one that succeeded.
    attempts      integer     NOT NULL DEFAULT 0,
    last_error    text,
    started_at    timestamptz,
    finished_at   timestamptz,
    next_retry_at timestamptz,
    PRIMARY KEY (tenant_id, step)
);
-- The saga's "which retries are due" query.
CREATE INDEX ON read.provisioning_steps (next_retry_at) WHERE next_retry_at IS NOT NULL;

-- The audit log (projector `audit_log`): every event of the log, flattened. Listed in log order,
-- `(commit, position)`, the order in which events become visible, so that paging with a cursor
-- never misses an event that committed late.
CREATE TABLE read.audit_log (
    commit         bigint      NOT NULL,
    position       bigint      NOT NULL,
    recorded_at    timestamptz NOT NULL,
    stream_id      text        NOT NULL,
    stream_version bigint      NOT NULL,
    event_id       uuid        NOT NULL,
    event_type     text        NOT NULL,
    -- From the metadata, else from a `tenant-{uuid}` stream name.
    tenant_id      uuid,
    -- The actor as displayed: `staff:ops@example.com`, `saga:provisioning`, `user:{id}`, `system`.
    actor          text        NOT NULL,
    correlation_id uuid        NOT NULL,
    causation_id   uuid,
    ip             text,
    user_agent     text,
    -- json like the log's own column: copied as text, shown as stored, never queried inside.
    payload        json        NOT NULL,
    PRIMARY KEY (commit, position)
);
-- One per filter of `/platform/api/audit`, each ending in the listing order.
CREATE INDEX ON read.audit_log (tenant_id, commit, position);
CREATE INDEX ON read.audit_log (actor, commit, position);
CREATE INDEX ON read.audit_log (event_type, commit, position);
CREATE INDEX ON read.audit_log (recorded_at);

-- The tenant directory (projector `tenant_directory`): how to reach each tenant's data, and which
-- hosts lead to it. A tenant's own host `{slug}.{base domain}` is not stored: the base domain is
-- configuration, so the lookup matches the slug (see `queries::directory`). Other hosts (custom
-- domains, `chat.`/`api.` subdomains) come from `DomainRegistered` and route once activated.
-- Deleted tenants are removed, which frees their slug and hosts.
CREATE TABLE read.tenant_directory (
    tenant_id             uuid PRIMARY KEY,
    slug                  text NOT NULL,
    status                text NOT NULL,
    isolation             text NOT NULL,
    database              text,
    database_role         text,
    -- A secret *reference* (where the password is kept), never a password.
    database_secret       text,
    schema_name           text,
    schema_role           text,
    redis_namespace       text,
    redis_acl_user        text,
    redis_secret          text,
    queue                 text
);
CREATE INDEX ON read.tenant_directory (slug);

CREATE TABLE read.tenant_hosts (
    host      text PRIMARY KEY,
    tenant_id uuid    NOT NULL,
    -- Proven (e.g. by DNS) and routing; an unproven host resolves to nothing.
    active    boolean NOT NULL
);
CREATE INDEX ON read.tenant_hosts (tenant_id);
