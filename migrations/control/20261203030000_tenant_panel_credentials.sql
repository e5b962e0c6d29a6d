-- Where each tenant's credential rotation stands (`TenantCredentialsRotated`, `…Applied`,
-- `…Retired`, `CredentialsChangeFailed`): the latest rotation asked for, applied and retired
-- (0: none), when its grace period ends, and the last failure of the change in progress.
-- `access_pending` now also covers a rotation not yet retired (the saga's work).
ALTER TABLE read.tenant_panel
    ADD COLUMN credentials_rotation    integer NOT NULL DEFAULT 0,
    ADD COLUMN credentials_applied     integer NOT NULL DEFAULT 0,
    ADD COLUMN credentials_retired     integer NOT NULL DEFAULT 0,
    ADD COLUMN credentials_grace_until timestamptz,
    ADD COLUMN credentials_error       text;
