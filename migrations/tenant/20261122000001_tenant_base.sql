-- The base every tenant gets, in its own schema (`schema_per_tenant`, run with the search_path set
-- to that schema) or its own database (`database_per_tenant`, in `public`). Names are unqualified
-- on purpose: the same files serve both. The control plane runs these; the tenant's role is
-- granted the use of every table and sequence afterwards.

-- The tenant application's records.
CREATE TABLE records (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       text        NOT NULL,
    body       jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX records_kind ON records (kind, created_at);

-- Jobs the tenant's workers ran or are running, beside its Redis queue (which holds only what is
-- waiting): their outcome is kept here.
CREATE TABLE jobs (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    queue       text        NOT NULL DEFAULT 'default',
    payload     jsonb       NOT NULL,
    status      text        NOT NULL DEFAULT 'queued'
                            CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    attempts    integer     NOT NULL DEFAULT 0,
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

CREATE INDEX jobs_status ON jobs (queue, status, created_at);
