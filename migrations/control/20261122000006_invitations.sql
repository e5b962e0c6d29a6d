-- Invitations for a tenant's first admin, issued by `POST /api/tenants/provision`. Only a hash of
-- the token is kept: the token itself is shown once, to the caller that provisioned the tenant.
CREATE TABLE tenant_invitations (
    id          uuid PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    email       text        NOT NULL,
    token_hash  bytea       NOT NULL UNIQUE,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    accepted_at timestamptz
);

CREATE INDEX tenant_invitations_tenant ON tenant_invitations (tenant_id);
