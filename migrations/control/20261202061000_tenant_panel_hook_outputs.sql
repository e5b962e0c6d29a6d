-- The outputs of each tenant's hook steps (issue 12): the JSON body each hook answered to its
-- `apply`, by hook name, shown on the tenant. A released hook's entry is removed.
ALTER TABLE read.tenant_panel ADD COLUMN hook_outputs json NOT NULL DEFAULT '{}';
