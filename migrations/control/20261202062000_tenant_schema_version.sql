-- The version of the tenant migrations the tenant's schema or database is at, as its events tell
-- (`TenantMigrationsApplied` at provisioning, `TenantMigrated` by the fleet migration); null
-- while none is recorded (and for `shared_schema` tenants, whose tables are shared).
ALTER TABLE read.tenant_panel ADD COLUMN schema_version bigint;
