-- Suspension means suspended (issue 12): the tenant panel keeps the operator's reason and when,
-- which accesses the suspension has switched off (`["database_login", "redis_user"]`), and
-- whether the saga still has access to switch off (while suspended) or on (while active), which
-- is how the saga finds that work again after a restart.
ALTER TABLE read.tenant_panel
    ADD COLUMN suspension_reason text,
    ADD COLUMN suspended_at      timestamptz,
    ADD COLUMN access_suspended  jsonb   NOT NULL DEFAULT '[]',
    ADD COLUMN access_pending    boolean NOT NULL DEFAULT false;

-- Tenants suspended before this version kept their access: the saga switches it off now.
UPDATE read.tenant_panel SET access_pending = true WHERE status = 'suspended';

-- The saga's sweep looks for these besides the tenants in flight.
CREATE INDEX ON read.tenant_panel (tenant_id) WHERE access_pending;
