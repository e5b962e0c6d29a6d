-- The admin panel's most common filter is status and plan together. Without this index, before
-- the table's statistics exist (or when they are stale) the planner estimates that filter as a
-- handful of rows and fetches every match to sort it; with it, a page is one index range scan.
CREATE INDEX ON read.tenant_panel (status, plan, created_at DESC, tenant_id DESC);
