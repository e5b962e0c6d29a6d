-- Service tokens (issue 12 §2, §4): how the application's own services (its backend, a TLS
-- proxy's resolver) call the control plane without a staff account. Only a SHA-256 of each token
-- is kept: the token itself is shown once, by `tenantry service-token create`.
CREATE TABLE service_tokens (
    id           uuid        PRIMARY KEY,
    name         text        NOT NULL,
    token_hash   bytea       NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    -- `credentials:read`, `directory:read`.
    scopes       text[]      NOT NULL CHECK (cardinality(scopes) > 0),
    -- When set, the token reaches this tenant's credentials only.
    tenant_id    uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);
