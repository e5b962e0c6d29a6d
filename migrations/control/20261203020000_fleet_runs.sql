-- The fleet migration's runs (`tenantry migrations apply|resume|pause`, `GET
-- /platform/api/migrations`): a record of each run for operators, its options and counts. It is
-- not the truth of any tenant's version (that stays each tenant's own `_sqlx_migrations`); a run
-- `running` whose process is gone is taken over by `resume` (the live run holds an advisory lock).
CREATE TABLE fleet_runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The newest tenant migration version the run brings tenants to.
    target_version bigint NOT NULL,
    -- canary, wave, max_parallel, pause_on_failure, as the last `apply`/`resume` gave them.
    options jsonb NOT NULL,
    status text NOT NULL CHECK (status IN ('running', 'paused', 'completed', 'failed')),
    -- Tenants behind when the run started (a resume adds those found behind since).
    total integer NOT NULL DEFAULT 0 CHECK (total >= 0),
    migrated integer NOT NULL DEFAULT 0 CHECK (migrated >= 0),
    -- Tenants that failed in the run's latest pass (a resume tries them again).
    failed integer NOT NULL DEFAULT 0 CHECK (failed >= 0),
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    -- PostgreSQL's message for the latest failed tenant (it names objects, never a secret).
    last_error text
);

-- At most one run is going (running) or waiting to be resumed (paused).
CREATE UNIQUE INDEX fleet_runs_one_open ON fleet_runs ((true)) WHERE status IN ('running', 'paused');
