-- Provisioning: the shared tenant tables (the `shared_schema` isolation model), the secret store,
-- and the control-plane database closed to tenant roles.

-- Tenant roles (`tenant_{hex}`, made by provisioning) live in the same PostgreSQL cluster, and
-- `schema_per_tenant` roles hold privileges in this database. PUBLIC's default USAGE on `public`
-- would let them resolve the control plane's own tables and functions; they get their own schema
-- and nothing else. (Tables here grant nothing to PUBLIC anyway; this closes the schema too.)
REVOKE ALL ON SCHEMA public FROM PUBLIC;

-- `shared_schema` tenants: one schema shared by all of them, every row carrying its tenant's id,
-- and row-level security so that a connection that set `app.tenant_id` (per transaction:
-- `SET LOCAL app.tenant_id = '…'`) sees and writes only that tenant's rows, whatever its WHERE
-- says. A connection that did not set it sees nothing and can write nothing.
CREATE SCHEMA shared;

-- The role the SaaS application uses for shared-schema tenants' data (a login that is a member of
-- it, or `SET ROLE tenantry_shared_app`). It must not be a superuser or the tables' owner with
-- BYPASSRLS: those skip row-level security. Roles are cluster-wide, so several control-plane
-- databases (tests) may create it concurrently; whoever comes second keeps the first one's.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tenantry_shared_app') THEN
        CREATE ROLE tenantry_shared_app NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

-- The tenant's id in the current transaction, or NULL when none is set (`missing_ok`, and '' after
-- a `SET LOCAL` has ended).
CREATE FUNCTION shared.current_tenant_id() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('app.tenant_id', true), '')::uuid
$$;

-- One row per registered shared-schema tenant (the `register_shared_tenant` step).
CREATE TABLE shared.tenants (
    tenant_id     uuid        PRIMARY KEY,
    slug          text        NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now()
);

-- Tenant data. Every table of this schema with a `tenant_id` column gets the same policy, and
-- releasing a tenant deletes its rows from all of them (the provisioner finds them by that column).
CREATE TABLE shared.tenant_records (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  uuid        NOT NULL DEFAULT shared.current_tenant_id()
                           REFERENCES shared.tenants (tenant_id) ON DELETE CASCADE,
    kind       text        NOT NULL,
    body       jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX tenant_records_tenant_id ON shared.tenant_records (tenant_id);

ALTER TABLE shared.tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE shared.tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON shared.tenants
    USING (tenant_id = shared.current_tenant_id())
    WITH CHECK (tenant_id = shared.current_tenant_id());

ALTER TABLE shared.tenant_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE shared.tenant_records FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON shared.tenant_records
    USING (tenant_id = shared.current_tenant_id())
    WITH CHECK (tenant_id = shared.current_tenant_id());

GRANT USAGE ON SCHEMA shared TO tenantry_shared_app;
GRANT EXECUTE ON FUNCTION shared.current_tenant_id() TO tenantry_shared_app;
-- Tenants are registered by the control plane; the application only reads its own row.
GRANT SELECT ON shared.tenants TO tenantry_shared_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON shared.tenant_records TO tenantry_shared_app;

-- The secret store: generated passwords (tenant database logins, tenant Redis users), encrypted
-- with XChaCha20-Poly1305 under TENANTRY_SECRET_KEY. `reference` is bound to the ciphertext as
-- associated data, so a value copied to another reference does not decrypt.
CREATE TABLE secrets (
    reference  text        PRIMARY KEY,
    -- a fingerprint of the key that encrypted it, to tell "wrong key" from "tampered"
    key_id     text        NOT NULL,
    nonce      bytea       NOT NULL,
    ciphertext bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
