-- Verify contextinject:schema/connectors on pg
BEGIN;

SELECT id, tenant_id, project_id, type, name, status, config, encrypted_credentials, sync_state,
       last_synced_at, next_sync_at, error_message, metadata, created_at, updated_at
FROM public.connectors
WHERE FALSE;

SET LOCAL expect.relation = 'public.connectors';
SET LOCAL expect.constraints = 'connectors_pkey, connectors_tenant_id_project_id_id_key, '
    'connectors_tenant_id_fkey, connectors_tenant_id_project_id_fkey';
SET LOCAL expect.indexes = 'connectors_next_sync_idx';
SET LOCAL expect.triggers = 'connectors_set_updated_at';
\ir ../../lib/expect_table.sql

ROLLBACK;
